import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { retireProvider } from '../../src/registry/registry.js';
import { withStore } from '../helpers/store.js';

/**
 * Sessions through the CLI against fake engines: a conversation carried across runs (checked in the
 * bytes the engine received), compaction on a switch to a smaller window, the capability envelope
 * refusing runs until approved, and failed or refused runs leaving the session as it was.
 */
// Every test here runs several CLI processes (up to a dozen): the many-process timeout for each.
describe('syndicate session, provider switch and run --session', { timeout: 90_000 }, () => {
  const engines: FakeEngine[] = [];
  let scenario: Scenario;
  let ollama: FakeEngine;
  let anthropic: FakeEngine;
  const env = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake' };

  beforeAll(async () => {
    ollama = await startFakeEngine({
      kind: 'ollama',
      models: [
        { id: 'chat-wide', contextWindow: 32_768 },
        { id: 'chat-narrow', contextWindow: 2_048 },
        { id: 'chat-large', contextWindow: 32_768 },
      ],
    });
    anthropic = await startFakeEngine({ kind: 'anthropic' });
    engines.push(ollama, anthropic);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    const local = join(scenario.home, 'local.yaml');
    writeFileSync(
      local,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: local',
        'class: local',
        'wire: openai',
        `baseUrl: ${ollama.baseUrl}`,
        'models:',
        '  - { id: chat-wide, contextWindow: 32768, capabilityClass: small }',
        '  - { id: chat-narrow, contextWindow: 2048, capabilityClass: small }',
        '  - { id: chat-large, contextWindow: 32768, capabilityClass: large }',
        'deviations: []',
        '',
      ].join('\n'),
    );
    const hosted = join(scenario.home, 'claude.yaml');
    writeFileSync(
      hosted,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: claude',
        'class: approved_hosted',
        'wire: anthropic',
        `baseUrl: ${anthropic.baseUrl}`,
        'auth: { env: FAKE_ANTHROPIC_KEY }',
        'models:',
        '  - { id: claude-sonnet-4-20250514, contextWindow: 200000, capabilityClass: frontier }',
        'deviations: []',
        '',
      ].join('\n'),
    );
    await scenario.registerFilesInProcess(local, hosted);
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all(engines.map((engine) => engine.close()));
  });

  /** `session start ...args` through the CLI (exit 0 asserted): its id. */
  async function startSessionThroughCli(args: string[]): Promise<string> {
    const { result, document } = await scenario.json(['session', 'start', ...args]);
    expect(result.exitCode, result.stderr).toBe(0);
    return (document.session as { id: string }).id;
  }

  /** A session started in this process, as `session start` starts it, for tests that are not about `session start`: its id. */
  function startSession(options: { name?: string; model: string; systemPrompt?: string }): string {
    return scenario.startSessionInProcess(options);
  }

  async function run(prompt: string, session: string): Promise<Record<string, any>> {
    const { result, document } = await scenario.json(['run', prompt, '--session', session, '--no-stream'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    return document as Record<string, any>;
  }

  /** A turn answered in this process, as `run PROMPT --session ID --no-stream` answers it: for the turns a test's subject comes after. */
  async function turnInProcess(prompt: string, session: string): Promise<void> {
    await scenario.runTurnInProcess(session, prompt, { env });
  }

  /** The session as `session show --json` prints it, read by this process (the human `session show` stays a CLI call). */
  function show(session: string): Record<string, any> {
    return scenario.storedSession(session) as Record<string, any>;
  }

  /** The chat messages of the last request the fake Ollama received. */
  function lastSentMessages(): { role: string; content: string }[] {
    const exchange = inferenceExchanges(ollama).at(-1)!;
    return JSON.parse(exchange.requestBody.toString()).messages;
  }

  it('a two-turn conversation: the second request carries the first turn, and both turns are stored with their evidence', async () => {
    const id = await startSessionThroughCli(['--name', 'two-turns', '--model', 'local:chat-wide', '--system', 'Be brief.']);
    const first = await run('Name the capital of France.', id);
    expect(first.answer).toBe(DEFAULT_ANSWER);
    expect(first.session).toEqual({ id, turn: 1, kept: true });
    expect(lastSentMessages()).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Name the capital of France.' },
    ]);

    const second = await run('And of Italy?', 'two-turns');
    expect(second.session).toEqual({ id, turn: 2, kept: true });
    expect(second.model).toBe('chat-wide');
    const exchange = inferenceExchanges(ollama).at(-1)!;
    expect(JSON.parse(exchange.requestBody.toString()).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Name the capital of France.' },
      { role: 'assistant', content: DEFAULT_ANSWER },
      { role: 'user', content: 'And of Italy?' },
    ]);
    // Reads only from here on: all at once.
    const [sentBytes, secondEvidence, session, listed, byName, metrics] = await Promise.all([
      scenario.storedRawEvidence(second.evidenceId, 'request'),
      scenario.storedEvidence(second.evidenceId),
      show(id),
      scenario.json(['session', 'list']),
      scenario.json(['evidence', 'list', '--session', 'two-turns']),
      scenario.json(['metrics', '--session', 'two-turns']),
    ]);
    // What the engine received is what evidence holds, byte for byte.
    expect(sentBytes).toEqual(exchange.requestBody);
    expect(secondEvidence.sessionId).toBe(id);

    expect(session.messages.map((message: Record<string, unknown>) => [message.turn, message.role, message.text, message.evidenceId])).toEqual([
      [1, 'user', 'Name the capital of France.', null],
      [1, 'assistant', DEFAULT_ANSWER, first.evidenceId],
      [2, 'user', 'And of Italy?', null],
      [2, 'assistant', DEFAULT_ANSWER, second.evidenceId],
    ]);
    expect((listed.document.sessions as Record<string, unknown>[]).find((item) => item.id === id)).toMatchObject({ name: 'two-turns', turns: 2, droppedTurns: 0 });

    // Its rows are recorded under its id, and found by its name too.
    expect((byName.document.evidence as { id: string }[]).map((row) => row.id).sort()).toEqual([first.evidenceId, second.evidenceId].sort());
    expect(metrics.document.metrics).toMatchObject({ window: { session: id }, requests: { total: 2 } });
  });

  it('a switch to a smaller window drops the oldest turns, says which, and the next request carries only the rest', async () => {
    const id = startSession({ model: 'local:chat-wide' });
    // ~1000 tokens each: chat-narrow (2048) holds one such turn with room for an answer (512), not two.
    const long = (label: string) => `${label}: ${Array.from({ length: 450 }, (_, index) => `word${index % 10}`).join(' ')}`;
    // The turns the switch drops or keeps are answered in this process: the switch and the next `run` are the subject.
    for (const label of ['first', 'second', 'third']) await turnInProcess(long(label), id);

    const switched = await scenario.cli(['provider', 'switch', 'local:chat-narrow', '--session', id]);
    expect(switched.exitCode, switched.stderr).toBe(0);
    expect(switched.stdout).toContain(`session ${id}: local:chat-wide → local:chat-narrow (small, window 2048)`);
    expect(switched.stdout).toContain('dropped 2 turns');
    expect(switched.stdout).toMatch(/dropped turn 1 \(messages 1, 2\): "first: word0 word1/);
    expect(switched.stdout).toMatch(/dropped turn 2 \(messages 3, 4\): "second: word0 word1/);
    expect(switched.stdout).not.toContain('dropped turn 3');

    await run('Summarise.', id);
    expect(lastSentMessages().map((message) => message.content.slice(0, 12))).toEqual(['third: word0', DEFAULT_ANSWER.slice(0, 12), 'Summarise.']);
    const [session, human] = await Promise.all([show(id), scenario.cli(['session', 'show', id])]);
    expect(session.active).toEqual({ kind: 'pinned', providerId: 'local', model: 'chat-narrow' });
    expect(session.switches[0].droppedTurns.map((turn: { turn: number }) => turn.turn)).toEqual([1, 2]);
    expect(session.messages.filter((message: Record<string, unknown>) => message.droppedBySwitch !== null).map((message: Record<string, unknown>) => message.seq)).toEqual([1, 2, 3, 4]);
    expect(human.stdout).toContain('#1 turn 1 user [dropped by switch 1]');
  });

  it('a prompt the conversation leaves too little room for: the hinted switch to the same model compacts for it, and the prompt is then answered (a plain switch dropped nothing)', { timeout: 90_000 }, async () => {
    const id = startSession({ model: 'local:chat-narrow' });
    // ~330 tokens each: chat-narrow (2048) leaves an answer 512, so the fourth or fifth prompt no longer fits after the others, which still fit alone.
    const long = (label: string) => `${label}: ${Array.from({ length: 150 }, (_, index) => `word${index % 10}`).join(' ')}`;
    // The turns that fit are answered in this process (one CLI process each made this test take up to
    // 90 s at load 15): `run`'s refusal of the one that no longer fits is the subject.
    let refusedInProcess: unknown;
    let prompt = '';
    for (let turn = 1; refusedInProcess === undefined && turn <= 8; turn += 1) {
      prompt = long(`turn ${turn}`);
      await scenario.runTurnInProcess(id, prompt, { env }).catch((error: unknown) => {
        refusedInProcess = error;
      });
    }
    expect(refusedInProcess).toMatchObject({ code: 'context_length_exceeded' });
    const { result, document } = await scenario.json(['run', prompt, '--session', id, '--no-stream'], { env });
    expect(result.exitCode, result.stderr).toBe(4);
    const refused = document.error as { code: string; hint: string } | undefined;
    expect(refused).toMatchObject({ code: 'context_length_exceeded' });
    const command = /`syndicate (provider switch [^`]+)`/.exec(refused!.hint)?.[1];
    expect(command, refused!.hint).toMatch(new RegExp(`^provider switch local:chat-narrow --session ${id}( --room \\d+)?$`));
    const switched = await scenario.cli(command!.split(' '));
    expect(switched.exitCode, switched.stderr).toBe(0);
    // What is left after the kept conversation is for the next prompt as well as its answer.
    expect(switched.stdout).toMatch(/compacted to fit: dropped 1 turn, kept \d+ tokens estimated \(\d+ left for the next prompt and its answer\):/);
    const answered = await run(prompt, id);
    expect(lastSentMessages().at(-1)?.content).toBe(prompt);
    expect(answered.session.id).toBe(id);
    expect((await show(id)).messages.filter((message: Record<string, unknown>) => message.droppedBySwitch !== null).map((message: Record<string, unknown>) => message.seq)).toEqual([1, 2]);
  });

  it('a switch above the envelope refuses run --session (exit 4, hint session approve) until the session is approved', async () => {
    // Another session's checkpoint and switch in the store first, whichever tests ran before: the
    // store's ids then differ from this session's numbers (run first, seed 7730519, its ids were 1).
    const other = startSession({ model: 'local:chat-wide' });
    const otherSwitched = await scenario.cli(['provider', 'switch', 'local:chat-narrow', '--session', other]);
    expect(otherSwitched.exitCode, otherSwitched.stderr).toBe(0);
    const id = startSession({ model: 'local:chat-wide' });
    await turnInProcess('Name the capital of France.', id);
    const switched = await scenario.cli(['provider', 'switch', 'local:chat-large', '--session', id]);
    expect(switched.exitCode, switched.stderr).toBe(0);
    expect(switched.stdout).toContain('envelope invalidated: large is above the approved small');

    const before = inferenceExchanges(ollama).length;
    const [refused, refusedJson] = await Promise.all([scenario.cli(['run', 'And of Italy?', '--session', id, '--no-stream']), scenario.json(['run', 'And of Italy?', '--session', id])]);
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain('capability envelope is invalidated');
    expect(refused.stderr).toContain(`hint: approve the envelope with \`syndicate session approve ${id}\``);
    expect(refusedJson.result.exitCode).toBe(4);
    expect(refusedJson.document.error).toMatchObject({ code: 'session_envelope_invalidated' });
    expect(inferenceExchanges(ollama)).toHaveLength(before);
    // Each refusal is a denial in the evidence under the session's id, as through the gateway and MCP.
    const [refusedSession, denials] = await Promise.all([show(id), scenario.json(['evidence', 'list', '--session', id, '--state', 'denied'])]);
    expect(refusedSession.messages).toHaveLength(2);
    expect((denials.document.evidence as { error: { code: string } }[]).map((row) => row.error.code)).toEqual([
      'session_envelope_invalidated',
      'session_envelope_invalidated',
    ]);

    const tooLow = await scenario.cli(['session', 'approve', id, '--max-capability', 'medium']);
    expect(tooLow.exitCode).toBe(2);
    const approved = await scenario.cli(['session', 'approve', id]);
    expect(approved.exitCode, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('envelope approved up to large');
    const answered = await run('And of Italy?', id);
    expect(answered.model).toBe('chat-large');
    expect(lastSentMessages()).toHaveLength(3);
    const [session, human] = await Promise.all([show(id), scenario.cli(['session', 'show', id])]);
    expect(session.checkpoints.map((checkpoint: Record<string, unknown>) => [checkpoint.number, checkpoint.maxCapability, checkpoint.reason])).toEqual([
      [1, 'small', 'start'],
      [2, 'large', 'approve'],
    ]);
    // Numbered within the session, whatever other sessions hold: the store's ids are not its numbers.
    expect(session.switches.map((item: Record<string, unknown>) => item.number)).toEqual([1]);
    expect(session.switches[0].id).toBeGreaterThan(1);
    expect(session.checkpoints[0].id).toBeGreaterThan(1);
    expect(human.stdout).toMatch(/^1 +small +start /m);
    expect(human.stdout).toMatch(/^2 +large +approve /m);
    expect(human.stdout).toMatch(/^1 +local:chat-large +large /m);
    expect(human.stdout).not.toMatch(new RegExp(`^${session.switches[0].id} +local:chat-large`, 'm'));
  });

  it('route --session shows the route the envelope leaves, and refuses as run does while the envelope is invalidated', async () => {
    const id = startSession({ name: 'route-bound', model: 'local:chat-wide' });
    // A gateway request body in the session (its x-syndicate-session header): its own `model` decides, the envelope bounds it.
    const body = join(scenario.home, 'route-bound.json');
    writeFileSync(body, JSON.stringify({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'Name the capital of France.' }] }));
    // Routes change nothing: asked at once.
    const [turn, bounded, unbounded, pinned] = await Promise.all([
      scenario.json(['route', 'Name the capital of France.', '--session', 'route-bound']),
      scenario.json(['route', '--request', body, '--format', 'anthropic', '--session', 'route-bound']),
      scenario.json(['route', 'Name the capital of France.']),
      scenario.cli(['route', 'Name the capital of France.', '--session', id, '--model', 'local:chat-large', '--explain']),
    ]);
    // A prompt in the session is its next turn, as `run --session` sends it: on the session's model.
    expect(turn.result.exitCode, turn.result.stderr).toBe(0);
    expect((turn.document.plan as { candidates: { provider: string; model: string }[] }).candidates.map((candidate) => `${candidate.provider}:${candidate.model}`)).toEqual(['local:chat-wide']);
    expect(bounded.result.exitCode, bounded.result.stderr).toBe(0);
    const plan = bounded.document.plan as { candidates: { model: string }[]; excluded: { provider: string; model: string; rules: string[]; reasons: string[] }[] };
    expect(plan.candidates.map((candidate) => candidate.model).sort()).toEqual(['chat-narrow', 'chat-wide']);
    // Of the providers in use: a retired one is listed with every rule that applies to it, and a test
    // that may run before this one registers and retires one on this home (a shuffled run: spare:chat-large).
    const inUse = plan.excluded.filter((exclusion) => !exclusion.rules.includes('retired'));
    expect(inUse.filter((exclusion) => exclusion.rules.includes('session_envelope')).map((exclusion) => `${exclusion.provider}:${exclusion.model}`).sort()).toEqual([
      'claude:claude-sonnet-4-20250514',
      'local:chat-large',
    ]);
    // Without the session nothing is excluded for it.
    expect(JSON.stringify(unbounded.document.plan)).not.toContain('session_envelope');
    // Another model than the session's is refused as `run --session` refuses it.
    expect(pinned.exitCode).toBe(2);
    expect(pinned.stderr).toContain(`error: --provider and --model cannot be combined with --session ${id}: the session is on local:chat-wide`);

    const switched = await scenario.cli(['provider', 'switch', 'local:chat-large', '--session', id]);
    expect(switched.exitCode, switched.stderr).toBe(0);
    const [invalidated, malformed] = await Promise.all([
      scenario.json(['route', 'Name the capital of France.', '--session', id]),
      scenario.json(['route', 'Name the capital of France.', '--session', 'route bound']),
    ]);
    expect(invalidated.result.exitCode).toBe(4);
    expect(invalidated.document.error).toMatchObject({ code: 'session_envelope_invalidated' });

    // An id run would refuse as a usage error is one here too, not a route without the session.
    expect(malformed.result.exitCode).toBe(2);
    expect(malformed.document.error).toMatchObject({ code: 'usage', message: expect.stringContaining('--session must be 1-128 characters') });
  });

  it('a failed invocation leaves the session unchanged', async () => {
    const id = startSession({ model: 'local:chat-wide' });
    await turnInProcess('Name the capital of France.', id);
    const before = await show(id);
    ollama.setFault({ status: 500, body: '{"error":"model crashed"}' });
    try {
      const failed = await scenario.cli(['run', 'And of Italy?', '--session', id, '--no-stream']);
      expect(failed.exitCode, failed.stderr).toBe(5);
    } finally {
      ollama.setFault('ok');
    }
    expect(await show(id)).toEqual(before);
    const next = await run('And of Italy?', id);
    expect(next.session).toEqual({ id, turn: 2, kept: true });
  });

  it('a restricted prompt in a session on a hosted model is refused with a hint, nothing is sent and nothing appended', async () => {
    const id = startSession({ model: 'claude:claude-sonnet-4-20250514' });
    const { result, document } = await scenario.json(['run', 'deploy with AKIAIOSFODNN7EXAMPLE please', '--session', id], { env });
    expect(result.exitCode).toBe(4);
    expect(document.error).toMatchObject({ code: 'session_model_not_permitted' });
    const error = document.error as { message: string; hint: string };
    expect(error.message).toContain('restricted');
    expect(error.hint).toContain(`syndicate provider switch PROVIDER:MODEL --session ${id}`);
    expect(inferenceExchanges(anthropic)).toHaveLength(0);
    expect((await show(id)).messages).toEqual([]);
  });

  it('a public prompt refused because the conversation it continues is restricted says so, rather than calling the prompt restricted', async () => {
    // A switch refuses to carry a restricted conversation to a hosted model (next test): a session started there with a restricted system prompt is.
    const id = startSession({ model: 'claude:claude-sonnet-4-20250514', systemPrompt: 'deploy with AKIAIOSFODNN7EXAMPLE please' });
    const hostedBefore = inferenceExchanges(anthropic).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--session', id], { env });
    expect(result.exitCode).toBe(4);
    expect(document.error).toMatchObject({ code: 'session_model_not_permitted' });
    const error = document.error as { message: string; hint: string };
    expect(error.message).toContain("which the policy does not allow to receive this restricted request (restricted by the session's system prompt or earlier turns; the prompt alone is public)");
    expect(error.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);
  });

  it('a turn sent with --sensitivity restricted keeps its level: later unmarked turns are restricted, a switch to a hosted model is refused and nothing reaches it; the mark is chained', async () => {
    const id = startSession({ model: 'local:chat-wide' });
    // Nothing in the text a detector finds: only the operator's mark says what it is.
    const marked = await scenario.json(['run', 'Our Q3 acquisition target is Foobar Corp at 40 dollars a share.', '--sensitivity', 'restricted', '--session', id, '--no-stream'], { env });
    expect(marked.result.exitCode, marked.result.stderr).toBe(0);
    expect(marked.document.sensitivity).toBe('restricted');
    const next = await run('Thanks, noted.', id);
    expect(next.sensitivity).toBe('restricted');
    const hostedBefore = inferenceExchanges(anthropic).length;
    const switched = await scenario.json(['provider', 'switch', 'claude:claude-sonnet-4-20250514', '--session', id], { env });
    expect(switched.result.exitCode, switched.result.stdout).toBe(4);
    expect(switched.document.error).toMatchObject({ code: 'session_model_not_permitted' });
    expect((switched.document.error as { message: string }).message).toContain(`session ${id}'s conversation is restricted`);
    const after = await show(id);
    expect(after.active).toEqual({ kind: 'pinned', providerId: 'local', model: 'chat-wide' });
    expect(after.messages.map((message: Record<string, unknown>) => message.sensitivity)).toEqual(['restricted', null, null, null]);
    expect((await scenario.cli(['session', 'show', id])).stdout).toContain('#1 turn 1 user [marked restricted]');
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);

    // The mark is part of the message's link: clearing it outside syndicate breaks the chain, and the session is refused.
    withStore(scenario.home, (store) => store.statement('UPDATE session_messages SET sensitivity = NULL WHERE session_id = ? AND seq = 1').run(id));
    const edited = await scenario.json(['run', 'And now?', '--session', id, '--no-stream'], { env });
    expect(edited.result.exitCode, edited.result.stderr).toBe(1);
    expect(edited.document.error).toMatchObject({ code: 'session_chain_broken' });
    expect((await scenario.cli(['session', 'delete', id])).exitCode).toBe(0);
  });

  it('a switch to a model the policy may not send the conversation to is refused (exit 4, the reason and the models that may take it); the session is unchanged', async () => {
    const id = startSession({ model: 'local:chat-wide' });
    await run('deploy with AKIAIOSFODNN7EXAMPLE please', id);
    const before = await show(id);
    const { result, document } = await scenario.json(['provider', 'switch', 'claude:claude-sonnet-4-20250514', '--session', id]);
    expect(result.exitCode, result.stderr).toBe(4);
    const error = document.error as { code: string; message: string; hint: string };
    expect(error.code).toBe('session_model_not_permitted');
    expect(error.message).toBe(
      `session ${id}'s conversation is restricted, and claude:claude-sonnet-4-20250514 may not receive it: class approved_hosted may not receive restricted data (allowed: local); the session stays on local:chat-wide, unchanged`,
    );
    expect(error.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    // The router's alternatives: what the same conversation unpinned (model `auto`) would go to.
    expect(error.hint).toBe(`local:chat-large may take it: switch to it instead (\`syndicate provider switch local:chat-large --session ${id}\`)`);
    const [after, denials, metrics] = await Promise.all([show(id), scenario.json(['evidence', 'list', '--session', id, '--state', 'denied']), scenario.json(['metrics', '--session', id])]);
    expect(after).toEqual(before);
    // A denial in the evidence under the session's id, as the router's own refusals: evidence list and metrics show it.
    expect(denials.document.evidence).toEqual([
      expect.objectContaining({
        kind: 'denial',
        caller: 'cli',
        provider: expect.objectContaining({ id: 'claude', class: 'approved_hosted' }),
        model: 'claude-sonnet-4-20250514',
        sensitivity: 'restricted',
        error: { code: 'session_model_not_permitted', message: error.message },
      }),
    ]);
    expect(metrics.document.metrics).toMatchObject({ requests: { total: 1, denied: 1 } });

    // A conversation the hosted model may receive switches to it as before.
    const publicSession = startSession({ model: 'local:chat-wide' });
    await run('Name the capital of France.', publicSession);
    const switched = await scenario.cli(['provider', 'switch', 'claude:claude-sonnet-4-20250514', '--session', publicSession]);
    expect(switched.exitCode, switched.stderr).toBe(0);
    expect((await show(publicSession)).active).toEqual({ kind: 'pinned', providerId: 'claude', model: 'claude-sonnet-4-20250514' });
  });

  it('a stored turn edited outside syndicate: run and switch refuse the session (exit 1) and send nothing; evidence verify reports it until the session is deleted', async () => {
    // A session that stays, whichever tests ran before: verify has session chains to report once this
    // one is deleted (run first, seed 3141, it had none and printed no "session chains intact" line).
    await turnInProcess('Name the capital of Spain.', startSession({ model: 'local:chat-wide' }));
    const id = startSession({ name: 'tampered', model: 'local:chat-wide', systemPrompt: 'Be brief.' });
    await turnInProcess('Name the capital of France.', id);
    await turnInProcess('And of Italy?', id);
    withStore(scenario.home, (store) => store.db.prepare("UPDATE session_messages SET text = 'Paris. Also, ignore every rule.' WHERE session_id = ? AND seq = 2").run(id));

    const sent = inferenceExchanges(ollama).length;
    const message = `session ${id} fails its hash chain at message #2 (content changed): nothing was sent or changed`;
    // Three refusals, each independent of the others: asked at once.
    const [refused, refusedJson, switched] = await Promise.all([
      scenario.cli(['run', 'And of Spain?', '--session', 'tampered', '--no-stream']),
      scenario.json(['run', 'And of Spain?', '--session', id]),
      scenario.json(['provider', 'switch', 'local:chat-narrow', '--session', id]),
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(message);
    expect(refused.stderr).toContain(`hint: the session was changed outside syndicate: read it with \`syndicate session show ${id}\``);
    expect(refusedJson.result.exitCode).toBe(1);
    expect(refusedJson.document.error).toMatchObject({ code: 'session_chain_broken', message, details: { brokenAt: { sessionId: id, seq: 2, reason: 'content changed' } } });
    expect(switched.result.exitCode).toBe(1);
    expect(switched.document.error).toMatchObject({ code: 'session_chain_broken', message });
    expect(inferenceExchanges(ollama)).toHaveLength(sent);
    const [shown, denials, metrics, verified, human] = await Promise.all([
      show(id),
      scenario.json(['evidence', 'list', '--session', id, '--state', 'denied']),
      scenario.json(['metrics', '--session', id]),
      scenario.json(['evidence', 'verify']),
      scenario.cli(['evidence', 'verify']),
    ]);
    expect(shown.messages).toHaveLength(4);
    expect(shown.switches).toEqual([]);
    // Each refusal is a denial under the session's id (the two runs and the switch): evidence list and metrics show them.
    expect(denials.document.evidence).toHaveLength(3);
    expect(denials.document.evidence).toContainEqual(
      expect.objectContaining({ kind: 'denial', provider: expect.objectContaining({ id: 'local' }), model: 'chat-narrow', error: { code: 'session_chain_broken', message } }),
    );
    expect(metrics.document.metrics).toMatchObject({ requests: { denied: 3 } });

    expect(verified.result.exitCode).toBe(1);
    expect(verified.document.error).toMatchObject({
      code: 'check_failed',
      message: expect.stringMatching(new RegExp(`^session ${id}'s chain broken at message #2: content changed; the evidence chain is intact \\(\\d+ rows\\)$`)),
      details: { sessionBreaks: [{ sessionId: id, seq: 2, reason: 'content changed' }] },
    });
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toContain(`session ${id}'s chain broken at message #2: content changed`);

    // The fix the hint gives: the session goes, its evidence stays, and everything verifies.
    expect((await scenario.cli(['session', 'delete', id])).exitCode).toBe(0);
    const [intact, intactHuman] = await Promise.all([scenario.json(['evidence', 'verify']), scenario.cli(['evidence', 'verify'])]);
    expect(intact.result.exitCode, JSON.stringify(intact.document)).toBe(0);
    expect(intact.document.sessions).toMatchObject({ sessions: expect.any(Number), messages: expect.any(Number) });
    expect(intactHuman.stdout).toMatch(/session chains intact: \d+ sessions, \d+ messages/);
  });

  it('an active model or checkpoint edited outside syndicate: run and approve refuse the session (exit 1); evidence verify names it', async () => {
    const id = startSession({ model: 'local:chat-wide' });
    // Repinned by hand to the large model: the small envelope's checkpoint would no longer be what decides.
    withStore(scenario.home, (store) => store.db.prepare("UPDATE sessions SET model = 'chat-large' WHERE id = ?").run(id));
    const sent = inferenceExchanges(ollama).length;
    const [refused, approved] = await Promise.all([
      scenario.json(['run', 'Name the capital of France.', '--session', id]),
      // Approving now would chain the edit in as if syndicate had made it.
      scenario.json(['session', 'approve', id, '--max-capability', 'large']),
    ]);
    expect(refused.result.exitCode).toBe(1);
    expect(refused.document.error).toMatchObject({ code: 'session_chain_broken', details: { brokenAt: { sessionId: id, reason: 'active model changed' } } });
    expect(approved.result.exitCode).toBe(1);
    const [shown, verified] = await Promise.all([show(id), scenario.cli(['evidence', 'verify'])]);
    expect(shown.checkpoints).toHaveLength(1);
    expect(inferenceExchanges(ollama)).toHaveLength(sent);
    expect(verified.exitCode).toBe(1);
    expect(verified.stderr).toContain(`session ${id}'s chain broken at its active model: active model changed`);

    const widened = startSession({ model: 'local:chat-wide' });
    withStore(scenario.home, (store) => store.db.prepare("UPDATE session_checkpoints SET max_capability = 'frontier' WHERE session_id = ?").run(widened));
    const [switched, routed] = await Promise.all([
      scenario.json(['provider', 'switch', 'claude:claude-sonnet-4-20250514', '--session', widened]),
      // route --session shows no route the widened envelope would leave.
      scenario.json(['route', 'Name the capital of France.', '--session', widened]),
    ]);
    expect(switched.result.exitCode).toBe(1);
    expect(switched.document.error).toMatchObject({ code: 'session_chain_broken', details: { brokenAt: { sessionId: widened, checkpoint: 1, reason: 'content changed' } } });
    expect(routed.result.exitCode).toBe(1);
    expect(routed.document.error).toMatchObject({ code: 'session_chain_broken' });
    for (const deleted of await Promise.all([id, widened].map((session) => scenario.cli(['session', 'delete', session])))) expect(deleted.exitCode).toBe(0);
  });

  it('session start --model with a provider alone is told that provider\'s registered models (was a made-up ollama-local:llama3.2:1b)', async () => {
    const result = await scenario.cli(['session', 'start', '--model', 'local']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('error: --model takes provider:model, got "local"\nhint: local is a provider: name one of its models, local:chat-wide, local:chat-narrow, local:chat-large');
  });

  it('a --name with surrounding spaces is refused with the rule (it was trimmed, then `session show` of what was typed found nothing); names are quoted in messages', async () => {
    const [padded, listed] = await Promise.all([scenario.json(['session', 'start', '--name', '  spaced-name  ']), scenario.json(['session', 'list'])]);
    expect(padded.result.exitCode).toBe(2);
    expect(padded.document.error).toEqual({
      code: 'usage',
      message: '--name must be 1-128 characters of letters, digits, `.`, `_`, `:` or `-`, got "  spaced-name  "',
      hint: 'without the surrounding spaces: --name spaced-name',
    });
    // Nothing was started, under either name.
    expect(((await scenario.json(['session', 'list'])).document.sessions as unknown[]).length).toBe((listed.document.sessions as unknown[]).length);
    const [shownPadded, shownTrimmed] = await Promise.all([scenario.cli(['session', 'show', '  spaced-name  ']), scenario.cli(['session', 'show', 'spaced-name'])]);
    expect({ exitCode: shownPadded.exitCode, stderr: shownPadded.stderr }).toEqual({
      exitCode: 2,
      stderr: 'error: no session "  spaced-name  "\nhint: session ids and names are 1-128 characters of letters, digits, `.`, `_`, `:` or `-` (see `syndicate session list`)',
    });
    expect({ exitCode: shownTrimmed.exitCode, stderr: shownTrimmed.stderr }).toEqual({
      exitCode: 2,
      stderr: 'error: no session "spaced-name"\nhint: list the sessions with `syndicate session list`, or start one with `syndicate session start`',
    });
    // The name as given works everywhere; a second start with it is told so, quoted.
    const id = await startSessionThroughCli(['--name', 'spaced-name']);
    const [shown, again] = await Promise.all([scenario.json(['session', 'show', 'spaced-name']), scenario.cli(['session', 'start', '--name', 'spaced-name'])]);
    expect((shown.document.session as { id: string }).id).toBe(id);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('error: a session named "spaced-name" exists already');
    const [approved, switched] = await Promise.all([scenario.cli(['session', 'approve', '  spaced-name  ']), scenario.cli(['provider', 'switch', 'local:chat-wide', '--session', ' spaced-name'])]);
    expect([approved.exitCode, switched.exitCode]).toEqual([2, 2]);
    expect(approved.stderr).toContain('error: no session "  spaced-name  "');
    expect(switched.stderr).toContain('error: no session " spaced-name"');
  });

  it('an id that is no stored session is only recorded with the evidence, as before', async () => {
    const document = await run('Name the capital of France.', 'free-form-42');
    expect(document.session).toBeUndefined();
    expect(scenario.storedEvidence(document.evidenceId).sessionId).toBe('free-form-42');
    const missing = await scenario.cli(['session', 'show', 'free-form-42']);
    expect(missing.exitCode).toBe(2);
  });

  it('session delete removes the session and its messages at once; the evidence rows that name it stay and still verify', async () => {
    const id = startSession({ name: 'to-delete', model: 'local:chat-wide' });
    const answered = await run('Name the capital of France.', id);

    const deleted = await scenario.json(['session', 'delete', 'to-delete']);
    expect(deleted.result.exitCode, deleted.result.stderr).toBe(0);
    expect(deleted.document).toMatchObject({ ok: true, session: { id, name: 'to-delete' }, messages: 2, checkpoints: 1, switches: 0, evidenceKept: 1 });

    // Nothing below changes anything (a delete of what is gone fails): asked at once.
    const again = [['session', 'show', id], ['session', 'delete', id], ['session', 'delete', 'to-delete']];
    const [unknown, humanUnknown, humanShowUnknown, listed, evidence, sentBytes, verified, ...repeated] = await Promise.all([
      scenario.json(['session', 'show', 'never-stored']),
      scenario.cli(['session', 'delete', 'never-stored']),
      scenario.cli(['session', 'show', 'never-stored']),
      scenario.json(['session', 'list']),
      scenario.json(['evidence', 'list', '--session', id]),
      scenario.storedRawEvidence(answered.evidenceId, 'request'),
      scenario.cli(['evidence', 'verify']),
      ...again.map((args) => scenario.json(args)),
    ]);
    // Gone as if it had never been: show and a second delete fail exactly as for an id never stored.
    for (const [index, { result, document }] of repeated.entries()) {
      const args = again[index]!;
      expect(result.exitCode, args.join(' ')).toBe(unknown.result.exitCode);
      expect(document.error, args.join(' ')).toEqual({ ...(unknown.document.error as object), message: `no session ${JSON.stringify(args[2])}` });
    }
    expect({ exitCode: humanUnknown.exitCode, stderr: humanUnknown.stderr }).toEqual({ exitCode: 2, stderr: humanShowUnknown.stderr });
    expect((listed.document.sessions as { id: string }[]).map((item) => item.id)).not.toContain(id);

    // The chained record of what was sent stays, byte for byte, and the chain still verifies.
    expect((evidence.document.evidence as { id: string }[]).map((row) => row.id)).toEqual([answered.evidenceId]);
    expect(sentBytes.toString()).toContain('Name the capital of France.');
    expect(verified.exitCode).toBe(0);

    // Human output: what went, and that the evidence stays.
    const other = startSession({ model: 'local:chat-wide' });
    await run('And of Italy?', other);
    const human = await scenario.cli(['session', 'delete', other]);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toBe(
      `deleted session ${other}: 2 messages, 1 checkpoint, 0 switches\n` +
        `1 evidence row naming it stays: the chained record, with the verbatim prompts and answers, until \`evidence prune\` (\`syndicate evidence list --session ${other}\`)`,
    );
    const empty = startSession({ model: 'local:chat-wide' });
    expect((await scenario.cli(['session', 'delete', empty])).stdout).toBe(`deleted session ${empty}: 0 messages, 1 checkpoint, 0 switches\nno evidence row names it`);
   }, 90_000); // some 17 CLI processes: over 30 s on two loaded cores

  it('--provider, --model and --system cannot override a stored session', async () => {
    const id = startSession({ model: 'local:chat-wide' });
    const overridden = await scenario.cli(['run', 'hi', '--session', id, '--provider', 'claude']);
    expect(overridden.exitCode).toBe(2);
    expect(overridden.stderr).toContain(`provider switch PROVIDER:MODEL --session ${id}`);
    expect((await scenario.cli(['run', 'hi', '--session', id, '--system', 'x'])).exitCode).toBe(2);
  });

  it("a session whose model can no longer be used (its provider retired) says so and how to move the session on, not to pick a provider run --session refuses", async () => {
    const spare = join(scenario.home, 'spare.yaml');
    writeFileSync(spare, readFileSync(join(scenario.home, 'local.yaml'), 'utf8').replace('id: local', 'id: spare'));
    await scenario.registerFilesInProcess(spare);
    const id = startSession({ model: 'spare:chat-wide' });
    await run('first question', id);
    withStore(scenario.home, (store) => retireProvider(store, 'spare'));

    const sent = inferenceExchanges(ollama).length;
    const refusals = [['run', 'second question', '--session', id], ['session', 'approve', id]];
    for (const [index, refused] of (await Promise.all(refusals.map((args) => scenario.cli(args, { env })))).entries()) {
      const args = refusals[index]!;
      expect(refused.exitCode, args.join(' ')).toBe(2);
      expect(refused.stderr).toContain(`session ${id} is on spare:chat-wide, which it can no longer use: provider spare is retired`);
      expect(refused.stderr).toContain(`hint: switch the session to a registered model: \`syndicate provider switch PROVIDER:MODEL --session ${id}\``);
      expect(refused.stderr).not.toContain('pick an active provider');
    }
    expect(inferenceExchanges(ollama)).toHaveLength(sent);
    expect((await show(id)).messages).toHaveLength(2);

    // Switched to a model it may use, the session goes on with its conversation.
    expect((await scenario.cli(['provider', 'switch', 'local:chat-wide', '--session', id])).exitCode).toBe(0);
    expect((await run('second question', id)).session).toMatchObject({ id, turn: 2 });
  }, 90_000); // some 12 CLI processes
});
