import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approveEnvelopeCheckpoint, deleteSession, switchSessionModel } from '../../src/sessions/index.js';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { toolText } from '../helpers/mcp.js';
import { freePort } from '../helpers/ports.js';
import { defaultModel, inferenceExchanges, registeredEngineScenario, Scenario } from '../helpers/scenario.js';
import { withStore, withStoreAsync } from '../helpers/store.js';

const SECRET = 's3cretPassw0rd';
const RESTRICTED_PROMPT = `Why does this fail? postgres://admin:${SECRET}@db.internal:5432/prod`;

/**
 * `syndicate mcp` as an agent's client starts it: a real process on stdio, driven by the official
 * MCP SDK client. Every tool goes through the same pipeline as `run`; sensitive data never reaches
 * a hosted provider; stdout carries only the protocol.
 */
describe('syndicate mcp: the MCP server over stdio', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let anthropic: FakeEngine;
  let client: Client;
  let transport: StdioClientTransport;
  let stderr = '';

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    anthropic = await startFakeEngine({ kind: 'anthropic' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register(
      { id: 'llama', engine: llama },
      {
        id: 'claude',
        engine: anthropic,
        class: 'approved_hosted',
        authEnv: 'FAKE_ANTHROPIC_KEY',
        price: { inputPerMTok: 3, outputPerMTok: 15 },
        capabilityClass: 'frontier',
      },
    );
    transport = serverOnTheHome();
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    client = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    scenario?.cleanup();
    await Promise.all([llama?.close(), anthropic?.close()]);
  });

  /** `syndicate mcp` on the scenario's home, the hosted provider's key set. */
  function serverOnTheHome(): StdioClientTransport {
    return new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: scenario.home, FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', NO_COLOR: '1' },
      stderr: 'pipe',
    });
  }
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result: CallToolResult): string => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');

  it('advertises a tool list that may change: over stdio the server can tell its client', () => {
    expect(client.getServerCapabilities()?.tools).toEqual({ listChanged: true });
  });

  it('says who it is and lists its five tools with input and output schemas', async () => {
    expect(client.getServerVersion()).toMatchObject({ name: 'syndicate', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['complete', 'classify', 'route_explain', 'providers', 'metrics']);
    const complete = tools.find((tool) => tool.name === 'complete')!;
    expect(complete.inputSchema.required).toEqual(['prompt']);
    expect(Object.keys(complete.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['prompt', 'system', 'model', 'provider', 'maxTokens', 'workflow', 'sensitivity', 'session']),
    );
    for (const tool of tools) expect(tool.outputSchema, tool.name).toBeDefined();
    expect(stderr).toContain('syndicate MCP server on stdio');
  });

  it('complete: one governed invocation, recorded as evidence with caller mcp', async () => {
    const before = inferenceExchanges(llama).length;
    const result = await call('complete', { prompt: 'Name the capital of France.', provider: 'llama', session: 'agent-session-1' });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toBe(DEFAULT_ANSWER);
    const structured = result.structuredContent as Record<string, any>;
    expect(structured).toMatchObject({ answer: DEFAULT_ANSWER, provider: { id: 'llama', class: 'local' }, sensitivity: 'public' });
    expect(structured.fidelity).toMatchObject({ tokenAccounting: 'exact', verbatimCapture: 'full' });
    expect(inferenceExchanges(llama)).toHaveLength(before + 1);
    const envelope = await scenario.evidence(structured.evidenceId);
    expect(envelope).toMatchObject({ state: 'completed', caller: 'mcp', sessionId: 'agent-session-1', permitId: structured.permitId });
  });

  it('complete: restricted data is answered locally, and never sent to the hosted provider even when the agent names it', async () => {
    const hostedBefore = inferenceExchanges(anthropic).length;
    const local = await call('complete', { prompt: RESTRICTED_PROMPT });
    expect(local.isError, text(local)).toBeFalsy();
    expect(local.structuredContent).toMatchObject({ sensitivity: 'restricted', provider: { id: 'llama', class: 'local' } });

    const refused = await call('complete', { prompt: RESTRICTED_PROMPT, provider: 'claude' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/restricted/);
    // The local provider the policy would have used is named; registering one is not asked for.
    expect(text(refused)).toMatch(/hint: llama may take it: name it instead, or let the policy choose/);
    expect(text(refused)).not.toMatch(/register a local provider/);
    expect(text(refused)).not.toContain(SECRET);
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);
  });

  it('a refusal says what made the request that sensitive (never the text found) and which evidence recorded it, as `run --json` details do', async () => {
    const refused = await call('complete', { prompt: `${RESTRICTED_PROMPT} See /home/me/notes.txt`, provider: 'claude' });
    expect(refused.isError).toBe(true);
    const lines = text(refused).split('\n');
    // The restricted finding made it restricted; the confidential path did not.
    expect(lines).toContain('classified restricted: database connection string with a password');
    expect(text(refused)).not.toContain('local file path');
    expect(text(refused)).not.toContain(SECRET);
    const evidenceId = /^evidence: `syndicate evidence show (ev_\w+)`$/.exec(lines.at(-1) ?? '')?.[1];
    expect(evidenceId, text(refused)).toBeDefined();
    expect(await scenario.evidence(evidenceId!)).toMatchObject({ state: 'denied', caller: 'mcp', sensitivity: 'restricted' });

    // A raise by the agent has no finding to name: only the evidence.
    const raised = await call('complete', { prompt: 'Name the capital of France.', provider: 'claude', sensitivity: 'restricted' });
    expect(raised.isError).toBe(true);
    expect(text(raised)).not.toContain('classified');
    expect(text(raised).split('\n').at(-1)).toMatch(/^evidence: `syndicate evidence show ev_\w+`$/);
  });

  it('complete: a hosted provider answers public prompts it is named for', async () => {
    const result = await call('complete', { prompt: 'Name the capital of France.', provider: 'claude' });
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ provider: { id: 'claude', class: 'approved_hosted' }, sensitivity: 'public' });
    expect((result.structuredContent as { costUsd: number }).costUsd).toBeGreaterThan(0);
  });

  it("complete: a stored session's conversation is continued on its model and the turn appended, as `run --session`; its envelope holds", { timeout: 90_000 }, async () => {
    const sessionId = await scenario.startSessionInProcess({ name: 'mcp-small', model: `llama:${defaultModel(llama)}`, systemPrompt: 'Answer in one word.' });
    const hostedBefore = inferenceExchanges(anthropic).length;

    // The session decides provider, model and system prompt: naming them is refused, nothing is sent.
    const overridden = await call('complete', { prompt: 'Name the capital of France.', provider: 'claude', session: 'mcp-small' });
    expect(overridden.isError).toBe(true);
    expect(text(overridden)).toContain(`\`provider\` and \`model\` cannot be combined with \`session\` ${sessionId}: the session is on llama:${defaultModel(llama)}`);
    expect(text(overridden)).toContain('syndicate provider switch PROVIDER:MODEL');
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);

    const llamaBefore = inferenceExchanges(llama).length;
    const first = await call('complete', { prompt: 'Name the capital of France.', session: 'mcp-small' });
    expect(first.isError, text(first)).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ provider: { id: 'llama' }, session: { id: sessionId, turn: 1 } });
    const second = await call('complete', { prompt: 'And of Italy?', session: sessionId });
    expect(second.isError, text(second)).toBeFalsy();
    const structured = second.structuredContent as Record<string, any>;
    expect(structured.session).toEqual({ id: sessionId, turn: 2, kept: true });
    expect(await scenario.evidence(structured.evidenceId)).toMatchObject({ sessionId, caller: 'mcp' });

    // The second request carried the system prompt and the first turn, answer included.
    const sent = inferenceExchanges(llama).slice(llamaBefore);
    expect(sent).toHaveLength(2);
    const messages = (JSON.parse(sent[1]!.requestBody.toString('utf8')) as { messages: { role: string; content: unknown }[] }).messages;
    expect(messages.map((message) => [message.role, message.content])).toEqual([
      ['system', 'Answer in one word.'],
      ['user', 'Name the capital of France.'],
      ['assistant', DEFAULT_ANSWER],
      ['user', 'And of Italy?'],
    ]);
    const shown = await scenario.json(['session', 'show', 'mcp-small']);
    expect((shown.document.session as { messages: unknown[] }).messages).toHaveLength(4);

    // Switched above its approved class, the envelope is invalidated: refused until approved, the session unchanged.
    // As `provider switch` and `session approve` do (set up in this process: sessions-cli tests the commands).
    const policy = scenario.policy();
    const switched = await withStoreAsync(scenario.home, (store) => switchSessionModel(store, policy, sessionId, `claude:${defaultModel(anthropic)}`));
    expect(switched.invalidatedEnvelope).toBe(true);
    const refused = await call('complete', { prompt: 'And of Spain?', session: 'mcp-small' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain('(session_envelope_invalidated)');
    expect(text(refused)).toContain('syndicate session approve');
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);
    const after = await scenario.json(['session', 'show', 'mcp-small']);
    expect((after.document.session as { messages: unknown[] }).messages).toHaveLength(4);

    // Approved on the hosted model, a restricted prompt is refused; the hint names the tool's argument, not run's flag.
    withStore(scenario.home, (store) => approveEnvelopeCheckpoint(store, policy, sessionId));
    const restricted = await call('complete', { prompt: RESTRICTED_PROMPT, session: 'mcp-small' });
    expect(restricted.isError).toBe(true);
    expect(text(restricted)).toContain('(session_model_not_permitted)');
    expect(text(restricted)).toContain('or send this prompt without `session`');
    expect(text(restricted)).not.toContain('--session`), or');
    expect(text(restricted)).not.toContain(SECRET);
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);

    // An id no session has is a label on the evidence only.
    const labelled = await call('complete', { prompt: 'Name the capital of France.', provider: 'llama', session: 'agent-label-7' });
    expect(labelled.isError, text(labelled)).toBeFalsy();
    expect(labelled.structuredContent).not.toHaveProperty('session');
    expect(await scenario.evidence((labelled.structuredContent as { evidenceId: string }).evidenceId)).toMatchObject({ sessionId: 'agent-label-7' });

    // A session id the gateway would refuse in x-syndicate-session is refused here too, and nothing is sent.
    const malformed = await call('complete', { prompt: 'Name the capital of France.', session: 'not a session id!' });
    expect(malformed.isError).toBe(true);
    expect(text(malformed)).toContain('1-128 characters of letters, digits');
  });

  it('complete and route_explain refuse a stored session whose conversation was edited outside syndicate: nothing is sent', async () => {
    const sessionId = await scenario.startSessionInProcess({ name: 'mcp-tampered', model: `llama:${defaultModel(llama)}` });
    const first = await call('complete', { prompt: 'Name the capital of France.', session: 'mcp-tampered' });
    expect(first.isError, text(first)).toBeFalsy();
    withStore(scenario.home, (store) => store.db.prepare("UPDATE session_messages SET role = 'user' WHERE session_id = ? AND seq = 2").run(sessionId));

    const sent = inferenceExchanges(llama).length;
    for (const tool of ['complete', 'route_explain']) {
      const refused = await call(tool, { prompt: 'And of Italy?', session: 'mcp-tampered' });
      expect(refused.isError, tool).toBe(true);
      expect(text(refused)).toContain(`session ${sessionId} fails its hash chain at message #2 (content changed): nothing was sent or changed`);
      expect(text(refused)).toContain('(session_chain_broken)');
    }
    expect(inferenceExchanges(llama)).toHaveLength(sent);
    // The refused complete is a denial under the session's id (route_explain only answers a question).
    const denials = await scenario.json(['evidence', 'list', '--session', sessionId, '--state', 'denied']);
    expect(denials.document.evidence).toEqual([expect.objectContaining({ kind: 'denial', caller: 'mcp', error: expect.objectContaining({ code: 'session_chain_broken' }) })]);
    // Deleted, its chain no longer stands in the way of `evidence verify`.
    withStore(scenario.home, (store) => deleteSession(store, sessionId));
  });

  it("route_explain with a stored session routes the question `complete` would send in it: its model, its system prompt, the conversation so far", async () => {
    // An auto session whose conversation holds a secret: every later turn carries it, so only local models may take it.
    const sessionId = await scenario.startSessionInProcess({ name: 'mcp-auto-secret' });
    const first = await call('complete', { prompt: RESTRICTED_PROMPT, session: 'mcp-auto-secret' });
    expect(first.structuredContent).toMatchObject({ sensitivity: 'restricted', provider: { id: 'llama' }, session: { id: sessionId, turn: 1 } });

    const explained = await call('route_explain', { prompt: 'Name the capital of France.', session: 'mcp-auto-secret' });
    expect(explained.isError, text(explained)).toBeFalsy();
    const structured = explained.structuredContent as { classification: { level: string }; plan: { candidates: { provider: string; class: string }[] } };
    expect(structured.classification.level).toBe('restricted');
    expect(structured.plan.candidates.map((entry) => entry.provider)).toEqual(['llama']);
    expect(JSON.stringify(explained)).not.toContain(SECRET);
    const hostedBefore = inferenceExchanges(anthropic).length;
    const second = await call('complete', { prompt: 'Name the capital of France.', session: 'mcp-auto-secret' });
    expect(second.structuredContent).toMatchObject({ sensitivity: 'restricted', provider: { id: 'llama' } });
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);

    // A pinned session: its model alone, as `complete` would send it; naming another is refused as `complete` refuses it.
    const local = `llama:${defaultModel(llama)}`;
    await scenario.startSessionInProcess({ name: 'mcp-pinned', model: local, systemPrompt: 'Answer in one word.' });
    const pinned = await call('route_explain', { prompt: 'Name the capital of France.', session: 'mcp-pinned' });
    expect(pinned.isError, text(pinned)).toBeFalsy();
    const candidates = (pinned.structuredContent as { plan: { candidates: { provider: string; model: string }[] } }).plan.candidates;
    expect(candidates.map((entry) => `${entry.provider}:${entry.model}`)).toEqual([local]);
    const overridden = await call('route_explain', { prompt: 'Name the capital of France.', session: 'mcp-pinned', provider: 'claude' });
    expect(overridden.isError).toBe(true);
    expect(text(overridden)).toContain('`provider` and `model` cannot be combined with `session`');
    const system = await call('route_explain', { prompt: 'Name the capital of France.', session: 'mcp-pinned', system: 'Be verbose.' });
    expect(system.isError).toBe(true);
    expect(text(system)).toContain("`system` cannot be combined with `session`");
  });

  it('classify: the level and masked findings, nothing sent anywhere', async () => {
    const result = await call('classify', { text: RESTRICTED_PROMPT });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toMatch(/^restricted/);
    const structured = result.structuredContent as { level: string; findings: { detector: string; excerpt: string }[] };
    expect(structured.level).toBe('restricted');
    expect(structured.findings.length).toBeGreaterThan(0);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('route_explain: the plan `route --json` gives, without calling any model', async () => {
    const before = inferenceExchanges(llama).length + inferenceExchanges(anthropic).length;
    const result = await call('route_explain', { prompt: RESTRICTED_PROMPT });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = result.structuredContent as Record<string, any>;
    const { document } = await scenario.json(['route', RESTRICTED_PROMPT], { env: { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key' } });
    expect(structured.plan.candidates.map((entry: { provider: string }) => entry.provider)).toEqual(
      (document.plan as any).candidates.map((entry: { provider: string }) => entry.provider),
    );
    expect(structured.plan.candidates.every((entry: { class: string }) => entry.class === 'local')).toBe(true);
    expect(structured.plan.excluded.map((entry: { provider: string }) => entry.provider)).toContain('claude');
    expect(text(result)).toBe(structured.plan.explanation);
    expect(inferenceExchanges(llama).length + inferenceExchanges(anthropic).length).toBe(before);
  });

  it('route_explain takes the question complete takes: a `provider:model` choice and a system prompt', async () => {
    const local = `llama:${defaultModel(llama)}`;
    const explained = await call('route_explain', { prompt: 'Name the capital of France.', provider: local });
    expect(explained.isError, text(explained)).toBeFalsy();
    const candidates = (explained.structuredContent as { plan: { candidates: { provider: string; model: string }[] } }).plan.candidates;
    expect(candidates.map((entry) => `${entry.provider}:${entry.model}`)).toEqual([local]);
    const completed = await call('complete', { prompt: 'Name the capital of France.', provider: local });
    expect(completed.structuredContent).toMatchObject({ provider: { id: 'llama' }, model: defaultModel(llama) });

    // A secret in the system prompt makes the request restricted for both: the hosted provider is not a candidate.
    const hostedBefore = inferenceExchanges(anthropic).length;
    const routed = await call('route_explain', { prompt: 'hello', system: RESTRICTED_PROMPT, provider: 'claude' });
    expect(routed.structuredContent).toMatchObject({ classification: { level: 'restricted' }, plan: { sensitivity: 'restricted', candidates: [] } });
    const refused = await call('complete', { prompt: 'hello', system: RESTRICTED_PROMPT, provider: 'claude' });
    expect(refused.isError).toBe(true);
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);
  });

  it('an argument a tool does not know is refused, not dropped: a misspelt sensitivity raise sends nothing to the hosted provider', async () => {
    const { tools } = await client.listTools();
    for (const tool of tools.filter((entry) => entry.name !== 'providers')) expect(tool.inputSchema.additionalProperties, tool.name).toBe(false);
    const hostedBefore = inferenceExchanges(anthropic).length;
    const misspelt = await call('complete', { prompt: 'Summarise our quarterly plan.', provider: 'claude', sensitivty: 'restricted' });
    expect(misspelt.isError).toBe(true);
    expect(text(misspelt)).toMatch(/sensitivty/);
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);
    const route = await call('route_explain', { prompt: 'hello', sytem: 'You are terse.' });
    expect(route.isError).toBe(true);
    expect(text(route)).toMatch(/sytem/);
  });

  it('providers and metrics: what `provider list --json` and `metrics --json` report', async () => {
    const providers = await call('providers');
    const listed = (providers.structuredContent as { providers: { id: string; status: string }[] }).providers;
    // The providers other tests register and remove stay listed, retired: the tests may run in any order.
    expect(listed.filter((entry) => entry.status === 'active').map((entry) => entry.id).sort()).toEqual(['claude', 'llama']);
    const requestsNow = async (): Promise<Record<string, number>> => {
      const metrics = await call('metrics', { since: '1h' });
      expect(metrics.isError, text(metrics)).toBeFalsy();
      return (metrics.structuredContent as { metrics: { requests: Record<string, number> } }).metrics.requests;
    };
    // A local answer, a hosted one and a denial of its own, counted from what the earlier tests left: the tests may run in any order.
    const before = await requestsNow();
    expect((await call('complete', { prompt: 'Name the capital of France.', provider: 'llama' })).isError).toBeFalsy();
    expect((await call('complete', { prompt: 'Name the capital of France.', provider: 'claude' })).isError).toBeFalsy();
    expect((await call('complete', { prompt: RESTRICTED_PROMPT, provider: 'claude' })).isError).toBe(true);
    const requests = await requestsNow();
    const { document } = await scenario.json(['metrics', '--since', '1h']);
    expect(requests).toEqual((document.metrics as { requests: Record<string, number> }).requests);
    expect(requests.local).toBe((before.local ?? 0) + 1);
    expect(requests.hosted).toBe((before.hosted ?? 0) + 1);
    expect(requests.denied).toBe((before.denied ?? 0) + 1);
  });

  it('metrics with `sensitivity`: only the requests of those levels, as `metrics --sensitivity --json` counts them; a level that is none is refused by the schema', async () => {
    const only = async (levels: string[]): Promise<{ window: { sensitivity?: string[] }; requests: Record<string, number> }> => {
      const metrics = await call('metrics', { since: '1h', sensitivity: levels });
      expect(metrics.isError, text(metrics)).toBeFalsy();
      return (metrics.structuredContent as { metrics: { window: { sensitivity?: string[] }; requests: Record<string, number> } }).metrics;
    };
    // Counted from what the earlier tests left: the tests may run in any order.
    const before = await only(['restricted', 'confidential']);
    expect((await call('complete', { prompt: 'Name the capital of France.', provider: 'llama' })).isError).toBeFalsy();
    expect((await call('complete', { prompt: RESTRICTED_PROMPT })).isError).toBeFalsy();
    expect((await call('complete', { prompt: RESTRICTED_PROMPT, provider: 'claude' })).isError).toBe(true);
    // Given in any order and twice, named in level order, as `--sensitivity restricted,confidential,restricted` is.
    const after = await only(['restricted', 'confidential', 'restricted']);
    expect(after.window.sensitivity).toEqual(['confidential', 'restricted']);
    expect(after.requests.local).toBe(before.requests.local! + 1);
    expect(after.requests.denied).toBe(before.requests.denied! + 1);
    expect(after.requests.hosted).toBe(before.requests.hosted);
    const { document } = await scenario.json(['metrics', '--since', '1h', '--sensitivity', 'restricted,confidential']);
    const cli = document.metrics as { window: { sensitivity: string[] }; requests: Record<string, number> };
    expect(cli.window.sensitivity).toEqual(after.window.sensitivity);
    expect(cli.requests).toEqual(after.requests);
    // The public answer is counted without the filter, and not with `public` left out.
    expect((await only(['public'])).requests.local).toBeGreaterThan(0);

    for (const wrong of [['secret'], [], 'restricted']) {
      const refused = await call('metrics', { since: '1h', sensitivity: wrong });
      expect(refused.isError, JSON.stringify(wrong)).toBe(true);
      expect(text(refused)).toMatch(/^MCP error -32602: Input validation error: Invalid arguments for tool metrics: .*sensitivity/s);
    }
    const { tools } = await client.listTools();
    const schema = tools.find((tool) => tool.name === 'metrics')!.inputSchema.properties!.sensitivity as { type: string; minItems: number; items: { enum: string[] } };
    expect(schema).toMatchObject({ type: 'array', minItems: 1, items: { enum: ['public', 'internal', 'confidential', 'restricted'] } });
  });

  it('bad arguments and unknown names are tool errors the agent can read, and the server keeps serving', async () => {
    const invalid = await call('complete', { prompt: 'hi', maxTokens: -5 });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toMatch(/maxTokens/);
    const unknownProvider = await call('complete', { prompt: 'hi', provider: 'nope' });
    expect(unknownProvider.isError).toBe(true);
    expect(text(unknownProvider)).toMatch(/nope/);
    const badWindow = await call('metrics', { since: 'yesterday' });
    expect(badWindow.isError).toBe(true);
    expect(text(badWindow)).toMatch(/hint: use a number with a unit/);
    // A bare number is a unit left out, as `metrics --since 30` is.
    const bareWindow = await call('metrics', { since: '30' });
    expect(bareWindow.isError).toBe(true);
    expect(text(bareWindow)).toMatch(/since "30" has no unit.*\nhint: write the unit: since 30d for 30 days/s);
    expect((await call('classify', { text: 'hello' })).structuredContent).toMatchObject({ level: 'public' });
  });

  it('route_explain of a whole request body: the plan `route --json --request` gives, and the refusal the gateway gives for a pinned forced tool', async () => {
    // A model that refuses a forced tool (models[].deviations), registered for this test only.
    const opusFile = join(scenario.home, 'opus.yaml');
    writeFileSync(
      opusFile,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: opus',
        'class: approved_hosted',
        'wire: anthropic',
        `baseUrl: ${anthropic.baseUrl}`,
        'auth: { env: FAKE_ANTHROPIC_KEY }',
        'models:',
        '  - id: claude-opus-5-5',
        '    contextWindow: 200000',
        '    capabilityClass: frontier',
        '    tags: [chat, tools]',
        '    price: { inputPerMTok: 3, outputPerMTok: 15 }',
        '    deviations: [forced_tool_choice_unsupported]',
        'deviations: []',
        '',
      ].join('\n'),
    );
    const { registerProviderFiles } = await import('../../src/registry/register.js');
    await withStoreAsync(scenario.home, (store) => registerProviderFiles(store, [opusFile]));
    try {
      const before = inferenceExchanges(llama).length + inferenceExchanges(anthropic).length;
      const body = {
        model: 'opus:claude-opus-5-5',
        max_tokens: 256,
        tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
        tool_choice: { type: 'any' },
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      };
      const explained = await call('route_explain', { request: body });
      expect(explained.isError, text(explained)).toBeFalsy();
      const structured = explained.structuredContent as { plan: { candidates: unknown[]; excluded: { provider: string; rules: string[] }[] } };
      expect(structured.plan.candidates).toEqual([]);
      expect(structured.plan.excluded).toContainEqual(expect.objectContaining({ provider: 'opus', rules: ['tool_choice'] }));

      const file = join(scenario.home, 'forced.json');
      writeFileSync(file, JSON.stringify(body));
      const { result, document } = await scenario.json(['route', '--request', file], { env: { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key' } });
      expect(result.exitCode).toBe(4);
      const error = document.error as { code: string; message: string; details: { param: string; plan: { excluded: unknown[] } } };
      expect(error).toMatchObject({ code: 'tool_choice_unsupported', details: { param: 'tool_choice' } });
      expect(structured.plan.excluded).toEqual(error.details.plan.excluded);
      expect(text(explained).split('\n')[0]).toBe(`${error.message} (tool_choice_unsupported, param tool_choice)`);
      // The hint ends where the agent reads every rule: the explanation under it, not a command that wants a prompt.
      const hint = text(explained).split('\n')[1] ?? '';
      expect(hint).toMatch(/^hint: .*let the model choose \(tool_choice auto\).*; the explanation below says why each provider was excluded$/);
      expect(hint).not.toContain('route --explain');

      // Letting the model choose leaves it a candidate, as for `route --request`.
      const free = await call('route_explain', { request: { ...body, tool_choice: { type: 'auto' } }, format: 'anthropic' });
      expect((free.structuredContent as { plan: { candidates: { provider: string }[] } }).plan.candidates.map((entry) => entry.provider)).toContain('opus');
      expect(inferenceExchanges(llama).length + inferenceExchanges(anthropic).length).toBe(before);
    } finally {
      scenario.retireInProcess('opus');
    }
  });

  it('route_explain of a request body: decoded by the gateway parsers (a tool error naming the JSON pointer), its anthropic-beta classified, what the body says refused beside it', async () => {
    const invalid = await call('route_explain', { request: { model: 'auto', messages: [{ role: 'user', content: 'hi' }] }, format: 'anthropic' });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toContain('request: invalid messages request: /max_tokens: is required by the Messages API (invalid_input)');

    const body = { model: 'auto', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] };
    const leaked = await call('route_explain', { request: body, anthropicBeta: `context-1m-2025-08-07,ghp_${'a1B2c3D4e5'.repeat(4)}` });
    expect(leaked.isError, text(leaked)).toBeFalsy();
    expect(leaked.structuredContent).toMatchObject({ classification: { level: 'restricted', findings: [expect.objectContaining({ detector: 'secret.github-token', location: 'anthropicBeta' })] } });
    expect(text(leaked)).not.toContain('a1B2c3D4e5a1B2c3D4e5');

    for (const [args, named] of [
      [{ prompt: 'hi', request: body }, 'either `prompt` or `request`'],
      [{ request: body, model: 'auto' }, '`model` does not apply to `request`'],
      [{ request: body, maxTokens: 10 }, '`maxTokens` does not apply to `request`'],
      [{ prompt: 'hi', format: 'openai' }, '`format` applies to `request` only'],
      [{ request: { model: 'auto', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hi' }] }, anthropicBeta: 'context-1m-2025-08-07' }, 'anthropicBeta (the anthropic-beta header) applies to an Anthropic Messages request'],
      [{ request: body, anthropicBeta: 'bad beta' }, 'anthropicBeta must be a comma-separated list'],
      [{}, 'needs a `prompt` or a `request`'],
    ] as const) {
      const refused = await call('route_explain', args);
      expect(refused.isError, JSON.stringify(args)).toBe(true);
      expect(text(refused)).toContain(named);
      // The tool's own argument names, never the CLI's flags.
      expect(text(refused)).not.toContain('--format');
    }
    // A body either API would take: the hint names the `format` argument that settles it.
    const either = await call('route_explain', { request: { model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] } });
    expect(either.isError).toBe(true);
    expect(text(either)).toContain('hint: name the API with format: "openai" or format: "anthropic"');
  });

  it('route_explain: a request only a down engine may take is unavailable (start it), not refused by the policy, as `route` says', async () => {
    const stopped = await startFakeEngine({ kind: 'llama.cpp' });
    await stopped.close();
    await scenario.registerInProcess({ id: 'gone', engine: stopped });
    try {
      const explained = await call('route_explain', { prompt: RESTRICTED_PROMPT, provider: 'gone' });
      expect(explained.isError, text(explained)).toBeFalsy();
      expect(text(explained)).toMatch(/^inference unavailable, try again later\nhint: .*start the engine/);
      expect(text(explained)).not.toContain('no provider may take');
      const routed = await scenario.json(['route', RESTRICTED_PROMPT, '--provider', 'gone']);
      expect(routed.document.error).toMatchObject({ code: 'inference_unavailable' });
    } finally {
      scenario.retireInProcess('gone');
    }
  });

  it('route_explain lists the holds that kept a target of the route out, as `route --json` does', async () => {
    // A hosted API where nothing listens: a run's call finds nothing answering and records the hold.
    const unreached = { kind: 'openai', baseUrl: `http://127.0.0.1:${await freePort()}/v1` } as FakeEngine;
    await scenario.registerInProcess({ id: 'unreached', engine: unreached, class: 'approved_hosted', authEnv: 'FAKE_ANTHROPIC_KEY', price: { inputPerMTok: 3, outputPerMTok: 15 } });
    const keys = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key' };
    try {
      expect((await scenario.cli(['run', 'Name the capital of France.', '--provider', 'unreached'], { env: keys })).exitCode).toBe(5);
      const explained = await call('route_explain', { prompt: 'Name the capital of France.', provider: 'unreached' });
      expect(explained.isError, text(explained)).toBeFalsy();
      const structured = explained.structuredContent as { holds: { retryInSeconds: number }[] };
      expect(structured.holds).toEqual([expect.objectContaining({ provider: 'unreached', state: 'down', cause: 'unreachable', reason: expect.stringMatching(/^cannot reach 127\.0\.0\.1:\d+/) })]);
      expect(text(explained)).toMatch(/\nheld back: unreached \(every model\) down \(unreachable\) until \S+Z \(\d+ s\): cannot reach 127\.0\.0\.1:\d+/);
      const routed = await scenario.json(['route', 'Name the capital of France.', '--provider', 'unreached'], { env: keys });
      const withoutTime = ({ retryInSeconds: _seconds, ...hold }: { retryInSeconds: number }): object => hold;
      expect(structured.holds.map(withoutTime)).toEqual((routed.document.error as { details: { holds: { retryInSeconds: number }[] } }).details.holds.map(withoutTime));
    } finally {
      // Its hold outlives the provider (30 s): the tests after this one would list it beside their routes.
      scenario.releaseHoldsInProcess();
      scenario.retireInProcess('unreached');
    }
  });

  it('an agent tier that may not send restricted data is told that its tier is the obstacle and which command sets it, not to register the local provider it has', async () => {
    const agentTransport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--trust-tier', 'agent'],
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: scenario.home, FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', NO_COLOR: '1' },
      stderr: 'pipe',
    });
    const agent = new Client({ name: 'syndicate-test-agent', version: '1.0.0' });
    await agent.connect(agentTransport);
    try {
      for (const args of [{ prompt: RESTRICTED_PROMPT }, { prompt: 'Name the capital of France.', provider: 'claude', sensitivity: 'restricted' }]) {
        const refused = (await agent.callTool({ name: 'complete', arguments: args })) as CallToolResult;
        expect(refused.isError).toBe(true);
        expect(text(refused)).toContain('(route_denied)');
        expect(text(refused)).toMatch(/\nhint: the caller's trust tier keeps it from these providers/);
        expect(text(refused)).toContain('`syndicate mcp --trust-tier`');
        expect(text(refused)).not.toContain('register a local provider');
      }
    } finally {
      await agent.close();
    }
  });

  it('started with --home, its hints name that home: the commands they quote work as an operator types them', async () => {
    const agentTransport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--home', scenario.home, 'mcp', '--trust-tier', 'agent'],
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: '', FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', NO_COLOR: '1' },
      stderr: 'pipe',
    });
    const agent = new Client({ name: 'syndicate-test-agent', version: '1.0.0' });
    await agent.connect(agentTransport);
    try {
      const refused = (await agent.callTool({ name: 'complete', arguments: { prompt: RESTRICTED_PROMPT } })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(text(refused)).toContain(`\`syndicate --home ${scenario.home} mcp --trust-tier`);
      expect(text(refused)).not.toMatch(/`syndicate (?!--home)/);
    } finally {
      await agent.close();
    }
  });

  it('stops when the client closes stdin, leaving a store whose chain verifies', { timeout: 90_000 }, async () => {
    // A server of its own on the same home: the shared one serves the tests that may run after this one.
    const ownTransport = serverOnTheHome();
    let ownStderr = '';
    ownTransport.stderr?.on('data', (chunk: Buffer) => (ownStderr += chunk.toString()));
    const ownClient = new Client({ name: 'syndicate-test-closing', version: '1.0.0' });
    await ownClient.connect(ownTransport);
    const answered = (await ownClient.callTool({ name: 'complete', arguments: { prompt: 'Name the capital of France.', provider: 'llama' } })) as CallToolResult;
    expect(answered.isError, text(answered)).toBeFalsy();
    const pid = ownTransport.pid!;
    await ownClient.close();
    await expect.poll(() => isRunning(pid), { timeout: 60_000 }).toBe(false);
    expect(ownStderr).toMatch(/stopping \(the client closed stdin\)/);
    // The store is consistent after the process went away: the chain verifies.
    const { result } = await scenario.json(['evidence', 'verify']);
    expect(result.exitCode, result.stdout).toBe(0);
  });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `syndicate mcp` in `home` as a script drives it: lines written to its stdin, the messages it wrote so far, its exit code once stdin ends. */
function rawServer(home: string): { write(line: string): void; answers(): Record<string, unknown>[]; end(): Promise<number | null> } {
  const server = spawn(process.execPath, [BIN, 'mcp'], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', PATH: process.env.PATH ?? '' } });
  let stdout = '';
  server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
  return {
    write: (line) => void server.stdin.write(`${line}\n`),
    answers: () => stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>),
    end: () => {
      server.stdin.end();
      return exited;
    },
  };
}

// One home and engine for the describes below (each resets the faults it sets): one registration, not one per describe.
describe('syndicate mcp on a home with one local engine', () => {
  const setup = registeredEngineScenario('llama', { kind: 'llama.cpp' });
  afterEach(() => setup.engine?.setFault('ok'));

  describe('syndicate mcp: a client that goes away mid-call', () => {
    it('with --json, an error before the server starts goes to stderr as the JSON document: stdout carries only the protocol', { timeout: 90_000 }, async () => {

      const { scenario } = setup;
      // The MCP client starts the server in its own environment (its configuration's `env`): a bare
      // `syndicate init` typed in a shell would create another home, so the hint names this one.
      const missing = join(scenario.home, 'never-initialised');
      const neverInitialised = await runCli(['--json', 'mcp'], { home: missing, input: '' });
      expect(neverInitialised.exitCode).toBe(6);
      expect(neverInitialised.stdout).toBe('');
      expect(JSON.parse(neverInitialised.stderr)).toMatchObject({
        ok: false,
        error: {
          code: 'store_failure',
          hint: `the MCP client set SYNDICATE_HOME to ${missing}, which init never created: create it with \`syndicate init --home ${missing}\`, or set SYNDICATE_HOME in the MCP client's configuration (its \`env\`) to the home \`syndicate init\` created`,
        },
      });
      // Without SYNDICATE_HOME (the client passes none of the shell's XDG variables either), the default home of its environment.
      const defaultHome = join(scenario.home, 'elsewhere', '.local', 'share', 'syndicate');
      const withoutVariable = await runCli(['--json', 'mcp'], { env: { HOME: join(scenario.home, 'elsewhere'), SYNDICATE_HOME: undefined, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined }, input: '' });
      expect(withoutVariable.exitCode).toBe(6);
      expect(JSON.parse(withoutVariable.stderr)).toMatchObject({ error: { hint: expect.stringMatching(new RegExp(`^in the MCP client's environment \\(no SYNDICATE_HOME\\) the home is ${defaultHome}, which init never created: create it with \`syndicate init --home ${defaultHome}\``)) } });
      // `serve` and every other command run in the operator's own shell: there a bare `syndicate init` finds the same home.
      const serve = await runCli(['--json', 'serve', '--port', '0'], { home: missing });
      expect(JSON.parse(serve.stdout)).toMatchObject({ ok: false, error: { code: 'store_failure', hint: 'run `syndicate init` first' } });
      const unknownTier = await runCli(['mcp', '--trust-tier', 'nobody', '--json'], { home: scenario.home, input: '' });
      expect(unknownTier.exitCode).toBe(2);
      expect(unknownTier.stdout).toBe('');
      expect(JSON.parse(unknownTier.stderr)).toMatchObject({ ok: false, error: { code: 'usage', message: 'unknown trust tier "nobody"' } });
      const badFlag = await runCli(['--json', 'mcp', '--bogus'], { home: scenario.home, input: '' });
      expect(badFlag.exitCode).toBe(2);
      expect(badFlag.stdout).toBe('');
      // Every other command keeps its error document on stdout.
      const run = await runCli(['--json', 'run', 'hi'], { home: join(scenario.home, 'never-initialised') });
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'store_failure' } });
    });

    it('a line that is not JSON gets a Parse error (-32700) and JSON that is not JSON-RPC an Invalid Request (-32600), id null; the session goes on', { timeout: 90_000 }, async () => {
      const server = rawServer(setup.scenario.home);
      server.write('this is not json');
      server.write('{"hello": "world"}');
      server.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }));
      await expect.poll(() => server.answers().length, { timeout: 60_000 }).toBe(3);
      const [parse, invalid, initialized] = server.answers();
      expect(parse).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error: /) } });
      expect(invalid).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
      expect(initialized).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'syndicate' } } });
      expect(await server.end()).toBe(0);
    });

    it('a tool call with `arguments: null` (a Go, Java or C# client with no arguments to send) is a call without arguments, not an Internal error (-32603)', { timeout: 90_000 }, async () => {
      const server = rawServer(setup.scenario.home);
      const send = (message: object): void => server.write(JSON.stringify({ jsonrpc: '2.0', ...message }));
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } });
      send({ method: 'notifications/initialized' });
      send({ id: 2, method: 'tools/call', params: { name: 'providers', arguments: null } });
      send({ id: 3, method: 'tools/call', params: { name: 'classify', arguments: null } });
      await expect.poll(() => server.answers().length, { timeout: 60_000 }).toBe(3);
      const answers = new Map(server.answers().map((answer) => [answer.id, answer as { result?: CallToolResult }]));
      // The tool that takes none answers; the one that needs some says which, as a tool error the agent can act on.
      expect(answers.get(2)).toMatchObject({ result: { structuredContent: { providers: [{ id: 'llama' }] } } });
      expect(answers.get(2)).not.toHaveProperty('error');
      expect(answers.get(3)).toMatchObject({ result: { isError: true } });
      expect(toolText(answers.get(3)!.result!)).toMatch(/Invalid arguments for tool classify: .* at text/);
      expect(await server.end()).toBe(0);
    });

    it('a call of a tool this server does not have is a JSON-RPC Invalid params error (-32602), as the MCP specification lists unknown tools, not a tool result; the session goes on', { timeout: 90_000 }, async () => {
      const server = rawServer(setup.scenario.home);
      const send = (message: object): void => server.write(JSON.stringify({ jsonrpc: '2.0', ...message }));
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } } });
      send({ method: 'notifications/initialized' });
      send({ id: 2, method: 'tools/call', params: { name: 'compleet', arguments: { prompt: 'hello' } } });
      send({ id: 3, method: 'tools/call', params: { name: 'providers' } });
      await expect.poll(() => server.answers().length, { timeout: 60_000 }).toBe(3);
      const answers = new Map(server.answers().map((answer) => [answer.id, answer as { result?: CallToolResult; error?: { code: number; message: string } }]));
      expect(answers.get(2)).not.toHaveProperty('result');
      expect(answers.get(2)?.error).toEqual({ code: -32602, message: 'MCP error -32602: Unknown tool: compleet (this server\'s tools: complete, classify, route_explain, providers, metrics)' });
      expect(answers.get(3)).toMatchObject({ result: { structuredContent: { providers: [{ id: 'llama' }] } } });
      expect(await server.end()).toBe(0);
    });

    it('closing only its end of stdout cancels the calls in flight: their evidence says so, none is left pending', { timeout: 90_000 }, async () => {

      const { scenario, engine: llama } = setup;
      // Frames 1 s apart: the answers go on well past the client going away (at 300 ms apart they
      // ended ~2 s in, short of what a loaded machine may take to get there), and each frame after it
      // is a write for the server to find stdout closed by.
      llama.setFault({ slowStreamMs: 1_000 });
      const server = spawn(process.execPath, [BIN, 'mcp'], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1', PATH: process.env.PATH ?? '' } });
      let stderr = '';
      server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      let stdout = '';
      server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const progressed = (): number[] =>
        [...new Set(stdout.split('\n').slice(0, -1).flatMap((line) => {
          const message = JSON.parse(line) as { method?: string; params?: { progressToken?: number } };
          return message.method === 'notifications/progress' && message.params?.progressToken !== undefined ? [message.params.progressToken] : [];
        }))].sort();
      const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
      const send = (message: object): boolean => server.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } });
      send({ method: 'notifications/initialized' });
      // Calls with a progress token: the server writes to stdout while they stream.
      for (let index = 0; index < 3; index += 1) {
        send({ id: 10 + index, method: 'tools/call', params: { name: 'complete', arguments: { prompt: `slow answer ${index}` }, _meta: { progressToken: index } } });
      }
      // 10 s was short: a loaded machine (load 12 on two cores) had the server send none of them by then.
      await expect.poll(() => inferenceExchanges(llama).length, { timeout: 60_000 }).toBe(3);
      // Each call has written to stdout while in flight (not a fixed 400 ms for it).
      await expect.poll(progressed, { timeout: 60_000, interval: 20 }).toEqual([0, 1, 2]);
      server.stdout.destroy();
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/stopping \(the client closed stdout\): cancelling 3 calls in flight/);
      llama.setFault('ok');

      const { document } = await scenario.json(['evidence', 'list', '--limit', '3']);
      const rows = document.evidence as { state: string; caller: string; error: { code: string; message: string } }[];
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect(row).toMatchObject({ state: 'failed', caller: 'mcp', error: { code: 'interrupted' } });
        expect(row.error.message).toMatch(/client went away/);
      }
    });
  });

  describe('syndicate mcp: a script piping its requests in', () => {
    it('a request sequence piped in (`printf … | syndicate mcp`: stdin ends right after the last line) gets every answer, a slow completion included, then it exits 0', { timeout: 90_000 }, async () => {
      const { scenario, engine: llama } = setup;
      // Frames 200 ms apart: the completion is still streaming well after stdin ended.
      llama.setFault({ slowStreamMs: 200 });
      const before = inferenceExchanges(llama).length;
      const input = [
        { id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } },
        { method: 'notifications/initialized' },
        { id: 2, method: 'tools/list' },
        { id: 3, method: 'tools/call', params: { name: 'complete', arguments: { prompt: 'Name the capital of France.', provider: 'llama' } } },
      ]
        .map((message) => `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`)
        .join('');
      const piped = await runCli(['mcp'], { home: scenario.home, input, timeoutMs: 80_000 });
      llama.setFault('ok');
      expect(piped.exitCode, piped.stderr).toBe(0);
      const answers = piped.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { id?: number; result?: { tools?: unknown[]; isError?: boolean; content?: { text: string }[] } });
      expect(answers.map((answer) => answer.id), piped.stdout).toEqual([1, 2, 3]);
      expect(answers[1]!.result?.tools?.length).toBeGreaterThan(0);
      expect(answers[2]!.result?.isError, piped.stdout).toBeFalsy();
      expect(answers[2]!.result?.content?.[0]?.text).toBe(DEFAULT_ANSWER);
      expect(inferenceExchanges(llama).length).toBe(before + 1);
      // Nothing was left in flight to cancel.
      expect(piped.stderr).toMatch(/stopping \(the client closed stdin\)$/);
      const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
      expect((document.evidence as { state: string; caller: string }[])[0]).toMatchObject({ state: 'completed', caller: 'mcp' });
    });
  });

  describe('syndicate mcp: stopped by the operator mid-call', () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal} cancels the calls in flight; their evidence names the signal, not the client`, { timeout: 90_000 }, async () => {
        const { scenario, engine: llama } = setup;
        llama.setFault('hang');
        const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, stderr: 'pipe' });
        const client = new Client({ name: 'syndicate-test', version: '1.0.0' });
        await client.connect(transport);
        const before = inferenceExchanges(llama).length;
        const pending = client.callTool({ name: 'complete', arguments: { prompt: `hang until ${signal}` } }).catch((error: unknown) => error);
        await expect.poll(() => inferenceExchanges(llama).length, { timeout: 60_000 }).toBe(before + 1);
        process.kill(transport.pid!, signal);
        await pending;
        llama.setFault('ok');
        await client.close();
        const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
        const [row] = document.evidence as { state: string; error: { code: string; message: string } }[];
        expect(row).toMatchObject({ state: 'failed', error: { code: 'interrupted', message: `the MCP server stopped (it received ${signal}) before the answer ended` } });
      });
    }
  });
});
