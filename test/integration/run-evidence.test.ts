import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { defaultModel, inferenceExchanges, launchedEngineYaml, Scenario } from '../helpers/scenario.js';

/**
 * `syndicate run` end to end against fake engines that speak the real wire formats: the
 * evidence must hold exactly the bytes the engine received and sent, and say honestly what
 * could not be measured.
 */
describe('syndicate run: verbatim evidence and fidelity', () => {
  const engines: FakeEngine[] = [];
  let scenario: Scenario;
  let llama: FakeEngine;
  let lmstudio: FakeEngine;
  let anthropic: FakeEngine;

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    // A release before 0.3.18, whose streams carry no usage whatever the request asks.
    lmstudio = await startFakeEngine({ kind: 'lmstudio', lmStudioVersion: '0.3.17' });
    anthropic = await startFakeEngine({ kind: 'anthropic' });
    engines.push(llama, lmstudio, anthropic);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.registerInProcess(
      { id: 'llama', engine: llama },
      { id: 'studio', engine: lmstudio, deviations: ['approximate_token_counts'] },
      { id: 'claude', engine: anthropic, class: 'approved_hosted', authEnv: 'FAKE_ANTHROPIC_KEY', price: { inputPerMTok: 3, outputPerMTok: 15 } },
    );
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all(engines.map((engine) => engine.close()));
  });

  async function runJson(args: string[], env: Record<string, string> = {}) {
    const { result, document } = await scenario.json(['run', ...args], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    return document as Record<string, any>;
  }

  it('non-streaming OpenAI-compatible call with usage: exact accounting, request and response bytes byte for byte', async () => {
    const before = inferenceExchanges(llama).length;
    const document = await runJson(['Name the capital of France.', '--provider', 'llama', '--no-stream']);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    expect(document.fidelity).toEqual({ tokenAccounting: 'exact', verbatimCapture: 'full', toolCallFidelity: 'not_applicable' });
    expect(document.provider).toMatchObject({ id: 'llama', version: 1, class: 'local' });
    const exchanges = inferenceExchanges(llama);
    expect(exchanges).toHaveLength(before + 1);
    const exchange = exchanges.at(-1)!;
    expect(await scenario.rawEvidence(document.evidenceId, 'request')).toEqual(exchange.requestBody);
    expect(await scenario.rawEvidence(document.evidenceId, 'response')).toEqual(exchange.responseBody);
    const usage = JSON.parse(exchange.responseBody.toString()).usage;
    // The engine's prompt cache hits when an earlier test sent the same prompt: the tests may run in any order.
    const cached = usage.prompt_tokens_details?.cached_tokens as number | undefined;
    expect(document.tokens).toEqual({ inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, ...(cached ? { cachedInputTokens: cached } : {}) });
    const envelope = await scenario.evidence(document.evidenceId);
    expect(envelope).toMatchObject({ state: 'completed', kind: 'invocation', sensitivity: 'public', status: 200 });
  });

  it('streaming with usage only in the last chunk (llama.cpp): raw SSE bytes with per-chunk timings, exact accounting', async () => {
    const document = await runJson(['Name the capital of France.', '--provider', 'llama', '--stream']);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    expect(document.fidelity.tokenAccounting).toBe('exact');
    const exchange = inferenceExchanges(llama).at(-1)!;
    const sent = JSON.parse(exchange.requestBody.toString());
    expect(sent.stream_options).toEqual({ include_usage: true });
    const raw = scenario.storedRawEvidence(document.evidenceId, 'response');
    expect(raw).toEqual(exchange.responseBody);
    expect(raw.toString()).toContain('data: [DONE]');
    expect(raw.toString()).toContain('"timings"');
    const envelope = scenario.storedEvidence(document.evidenceId) as Record<string, any>;
    const chunks = envelope.response.chunks as { atMs: number; bytes: number }[];
    expect(chunks.reduce((sum, chunk) => sum + chunk.bytes, 0)).toBe(raw.length);
    for (let index = 1; index < chunks.length; index += 1) expect(chunks[index]!.atMs).toBeGreaterThanOrEqual(chunks[index - 1]!.atMs);
    expect(envelope.streamed).toBe(true);
  });

  it('a stream without usage (LM Studio before 0.3.18 ignores include_usage): approximate accounting from a real tokenizer', async () => {
    const document = await runJson(['Name the capital of France.', '--provider', 'studio', '--stream']);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    expect(document.fidelity.tokenAccounting).toBe('approximate');
    expect(document.tokens.outputTokens).toBeGreaterThan(0);
    const exchange = inferenceExchanges(lmstudio).at(-1)!;
    expect(exchange.responseBody.toString()).not.toContain('"usage":{');
    expect(scenario.storedRawEvidence(document.evidenceId, 'response')).toEqual(exchange.responseBody);
  });

  it("a prompt quoting a tokenizer's special token (<|endoftext|>) is counted as the text it is when the engine reports no usage", async () => {
    const document = await runJson(['Why does my GPT-2 sample end with <|endoftext|> and what is <|fim_prefix|>?', '--provider', 'studio', '--stream']);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    expect(document.fidelity.tokenAccounting).toBe('approximate');
    expect(document.tokens.inputTokens).toBeGreaterThan(10);
  });

  it('Anthropic Messages API: x-api-key redacted in evidence, SSE events byte for byte, exact usage and cost', async () => {
    const key = 'sk-ant-api03-fake-key-for-tests-only-0000000000';
    const document = await runJson(['Name the capital of France.', '--provider', 'claude', '--stream'], { FAKE_ANTHROPIC_KEY: key });
    expect(document.answer).toBe(DEFAULT_ANSWER);
    expect(document.fidelity.tokenAccounting).toBe('exact');
    expect(document.costUsd).toBeGreaterThan(0);
    const exchange = inferenceExchanges(anthropic).at(-1)!;
    expect(exchange.requestHeaders['x-api-key']).toBe(key);
    expect(exchange.requestHeaders['anthropic-version']).toBe('2023-06-01');
    const raw = scenario.storedRawEvidence(document.evidenceId, 'response');
    expect(raw).toEqual(exchange.responseBody);
    expect(raw.toString()).toContain('event: message_stop');
    const envelope = scenario.storedEvidence(document.evidenceId) as Record<string, any>;
    expect(envelope.request.headers['x-api-key']).toBe('[redacted]');
    expect(JSON.stringify(envelope)).not.toContain(key);
  });

  it('a hosted provider whose key is not set is skipped, and the answer says so', async () => {
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--provider', 'claude']);
    expect(result.exitCode).toBe(5);
    expect((document.error as { message: string }).message).toContain('FAKE_ANTHROPIC_KEY is not set');
    // The hint names the variable to export, not "start the local engine".
    expect((document.error as { hint: string }).hint).toBe('set the key in the environment syndicate runs in (export FAKE_ANTHROPIC_KEY=…), then retry');
  });

  it('a model or provider nothing serves is a usage error (exit 2) naming what exists; nothing is sent or recorded', async () => {
    const sentBefore = inferenceExchanges(llama).length + inferenceExchanges(lmstudio).length;
    const studioModel = defaultModel(lmstudio);
    // Three refusals that change nothing: asked at once.
    const [model, provider, mismatch] = await Promise.all([
      scenario.json(['run', 'Name the capital of France.', '--model', 'gpt-4o']),
      scenario.json(['run', 'Name the capital of France.', '--provider', 'nope']),
      scenario.json(['run', 'Name the capital of France.', '--provider', 'llama', '--model', studioModel]),
    ]);
    expect(model.result.exitCode).toBe(2);
    expect(model.document.error).toMatchObject({ code: 'model_not_found', message: 'unknown model "gpt-4o": no registered model or alias matches' });
    expect((model.document.error as { hint: string }).hint).toMatch(/^name no model \(`--model auto`, the default\) to let the policy choose, or one of: llama:\S+, studio:\S+, claude:\S+ \(key FAKE_ANTHROPIC_KEY not set\);/);
    expect(provider.result.exitCode).toBe(2);
    expect(provider.document.error).toMatchObject({ code: 'usage', message: 'no provider nope is registered' });
    expect((provider.document.error as { hint: string }).hint).toContain('name one of: claude, llama, studio');
    // A model another provider serves, pinned to one that does not: unknown for that provider (it
    // used to read as a policy refusal, exit 4, with a denial recorded).
    expect(mismatch.result.exitCode).toBe(2);
    expect(mismatch.document.error).toMatchObject({ code: 'model_not_found', message: `unknown model "${studioModel}": no model or alias of provider llama matches` });
    expect((mismatch.document.error as { hint: string }).hint).toMatch(/one of: llama:\S+;/);
    expect(inferenceExchanges(llama).length + inferenceExchanges(lmstudio).length).toBe(sentBefore);
  });

  it('human output: the answer on stdout, a one-line summary on stderr', async () => {
    const result = await scenario.cli(['run', 'Name the capital of France.', '--provider', 'llama', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(DEFAULT_ANSWER); // execa strips the final newline
    expect(result.stderr).toMatch(/llama@v1 .*\(exact\) .* evidence ev_/);
  });

  it('bad numeric flags are usage errors (exit 2) with an example, and nothing is sent', async () => {
    const sentBefore = inferenceExchanges(llama).length;
    await Promise.all(
      (
        [
          ['--max-tokens', '-3', 'for example --max-tokens 512'],
          ['--max-tokens', '2.5', 'for example --max-tokens 512'],
          ['--temperature', 'warm', 'for example --temperature 0.7'],
        ] as const
      ).map(async ([flag, value, example]) => {
        const result = await scenario.cli(['run', 'Name the capital of France.', '--provider', 'llama', flag, value]);
        expect(result.exitCode).toBe(2);
        expect(result.stderr).toContain(`${flag} must be`);
        expect(result.stderr).toContain(`hint: ${example}`);
      }),
    );
    expect(inferenceExchanges(llama)).toHaveLength(sentBefore);
  });

  it('a --session the gateway would refuse (empty, spaces, too long) is a usage error (exit 2): nothing sent, no row recorded', async () => {
    const sentBefore = inferenceExchanges(llama).length;
    const rowsBefore = (await scenario.json(['evidence', 'list', '--limit', '1000'])).document.total as number;
    // The empty one used to pass the route and be refused at the permit: exit 2, yet a `denied` row.
    // Refusals that record nothing: asked at once.
    await Promise.all(
      ['', ' ', 'my session', 'x'.repeat(129)].map(async (session) => {
        const [{ result, document }, issued] = await Promise.all([
          scenario.json(['run', 'Name the capital of France.', '--provider', 'llama', '--session', session]),
          scenario.cli(['permit', 'issue', '--provider', 'llama', '--model', defaultModel(llama), '--session', session]),
        ]);
        expect(result.exitCode, result.stdout).toBe(2);
        expect(document.error).toMatchObject({
          code: 'usage',
          message: `--session must be 1-128 characters of letters, digits, \`.\`, \`_\`, \`:\` or \`-\`, got ${JSON.stringify(session)}`,
        });
        expect(issued.exitCode).toBe(2);
        expect(issued.stdout).toBe('');
      }),
    );
    expect(inferenceExchanges(llama)).toHaveLength(sentBefore);
    expect((await scenario.json(['evidence', 'list', '--limit', '1000'])).document.total).toBe(rowsBefore);
    const answered = await runJson(['Name the capital of France.', '--provider', 'llama', '--no-stream', '--session', 'ci-build_7.2:a']);
    expect(scenario.storedEvidence(answered.evidenceId as string).sessionId).toBe('ci-build_7.2:a');
  });

  it('--max-tokens larger than the window leaves is lowered for the model, as through the gateway, and said on stderr', async () => {
    const result = await scenario.cli(['run', 'Name the capital of France.', '--provider', 'llama', '--no-stream', '--max-tokens', '40000']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(DEFAULT_ANSWER);
    const sent = JSON.parse(inferenceExchanges(llama).at(-1)!.requestBody.toString()).max_tokens as number;
    expect(sent).toBeLessThan(32_768 - 136);
    expect(sent).toBeGreaterThan(32_768 - 136 - 20);
    expect(result.stderr).toContain(`maxTokens: lowered from 40000 to ${sent}: the context window of llama:qwen2.5-0.5b-instruct-q4_k_m.gguf (32768 tokens) holds the prompt but not the requested output`);
  });

  it('a --timeout of 0, below 0 or beyond what a timer holds is a usage error (exit 2) naming the range, and nothing is sent', async () => {
    const sentBefore = inferenceExchanges(llama).length;
    // 25d used to overflow Node's timer (fired after 1 ms); 0 used to make real calls that failed (exit 5).
    await Promise.all(
      ['0', '-5s', '25d'].map(async (value) => {
        const result = await scenario.cli(['run', 'Name the capital of France.', '--provider', 'llama', `--timeout=${value}`]);
        expect(result.exitCode, result.stderr).toBe(2);
        expect(result.stderr).toContain(`--timeout must be between 1ms and 24d, got "${value}"`);
      }),
    );
    expect(inferenceExchanges(llama)).toHaveLength(sentBefore);
  });

  it('reads the prompt from stdin', async () => {
    const { result, document } = await scenario.json(['run', '-', '--provider', 'llama', '--no-stream'], { input: 'Name the capital of France.' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    const sent = JSON.parse(inferenceExchanges(llama).at(-1)!.requestBody.toString());
    expect(JSON.stringify(sent.messages)).toContain('Name the capital of France.');
  });
});

describe('syndicate run: a request that fails before any call is on the chain too', () => {
  let scenario: Scenario;
  let gone: FakeEngine;
  let hosted: FakeEngine;
  let live: FakeEngine;
  /** Not set in any environment the tests run in. */
  const KEY = 'SYNDICATE_TEST_KEY_NEVER_SET';

  beforeAll(async () => {
    gone = await startFakeEngine({ kind: 'llama.cpp' });
    hosted = await startFakeEngine({ kind: 'anthropic' });
    live = await startFakeEngine({ kind: 'vllm' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.registerInProcess(
      { id: 'dead', engine: gone },
      { id: 'keyless', engine: hosted, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } },
      { id: 'live', engine: live },
    );
    // Registered while it listened; nothing listens there now.
    await gone.close();
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([hosted.close(), live.close()]);
  });

  async function rows(): Promise<Record<string, any>[]> {
    const { result, document } = await scenario.json(['evidence', 'list']);
    expect(result.exitCode, result.stderr).toBe(0);
    return document.evidence as Record<string, any>[];
  }

  it('a local engine that is down: exit 5, and a failed row holds the route decision and why', async () => {
    const before = (await rows()).length;
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'dead']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; hint: string; details: { requestId: string; evidenceId: string } };
    expect(error.code).toBe('inference_unavailable');
    // Nothing answers: start it or fix its address. Nothing about a wait: the next run probes afresh.
    expect(error.hint).toBe('nothing answers at dead: start the engine or fix the baseUrl in its provider record (`syndicate doctor` checks each local engine), then retry');
    const after = await rows();
    expect(after).toHaveLength(before + 1);
    const envelope = scenario.storedEvidence(error.details.evidenceId) as Record<string, any>;
    expect(envelope).toMatchObject({ kind: 'invocation', state: 'failed', requestId: error.details.requestId, permitId: null, verbatimCapture: 'none' });
    expect(envelope.error.code).toBe('inference_unavailable');
    expect(envelope.error.message).toMatch(/dead:\S+: engine unreachable/);
    const excluded = (envelope.route as { excluded: { provider: string; rules: string[] }[] }).excluded;
    expect(excluded.find((exclusion) => exclusion.provider === 'dead')?.rules).toEqual(['unhealthy']);
  });

  it('a hosted provider whose key is not set: exit 5 naming the variable, and a failed row with no permit and no bytes', async () => {
    const before = (await rows()).length;
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'keyless']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { hint: string; details: { attempts: { outcome: string; evidenceId: string }[] } };
    expect(error.hint).toContain(`export ${KEY}=`);
    expect(error.details.attempts).toHaveLength(1);
    expect(error.details.attempts[0]!.outcome).toBe('skipped');
    expect(await rows()).toHaveLength(before + 1);
    const envelope = scenario.storedEvidence(error.details.attempts[0]!.evidenceId) as Record<string, any>;
    expect(envelope).toMatchObject({ kind: 'invocation', state: 'failed', provider: { id: 'keyless', version: 1, class: 'approved_hosted' }, permitId: null, verbatimCapture: 'none' });
    expect(envelope.error).toEqual({ code: 'credential_missing', message: `${KEY} is not set, so keyless cannot be called` });
    expect(envelope.request.body).toBeNull();
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  });

  it('route marks a candidate whose key is not set, as run would skip it, and fails as run does when it is the only one (exit 5)', async () => {
    const [human, { result, document }, withKey] = await Promise.all([
      scenario.cli(['route', 'hello', '--provider', 'keyless']),
      scenario.json(['route', 'hello', '--provider', 'keyless']),
      scenario.json(['route', 'hello', '--provider', 'keyless'], { env: { [KEY]: 'test-key' } }),
    ]);
    expect(human.exitCode, human.stderr).toBe(5);
    expect(human.stdout).toContain(`#1 keyless:claude-sonnet-4-20250514: key ${KEY} not set: would be skipped (export ${KEY}=… to use it)`);
    expect(result.exitCode).toBe(5);
    const error = document.error as { code: string; details: { skipped: unknown[] } };
    expect(error.code).toBe('inference_unavailable');
    expect(error.details.skipped).toEqual([{ rank: 1, provider: 'keyless', model: 'claude-sonnet-4-20250514', missingKey: KEY, reason: `key ${KEY} not set: would be skipped` }]);
    expect(withKey.result.exitCode, withKey.result.stderr).toBe(0);
    expect(withKey.document.skipped).toEqual([]);
  });

  it('an unknown model: the hint lists the models that can be served first, and marks the others with why', async () => {
    const { result, document } = await scenario.json(['run', 'hello', '--model', 'gpt-4o']);
    expect(result.exitCode, result.stderr).toBe(2);
    const hint = (document.error as { hint: string }).hint;
    expect(hint).toMatch(
      new RegExp(`^name no model \\(\`--model auto\`, the default\\) to let the policy choose, or one of: live:${defaultModel(live)}, dead:${defaultModel(gone)} \\(down\\), keyless:claude-sonnet-4-20250514 \\(key ${KEY} not set\\);`),
    );
  });

  it('the metrics count both as failed attempts, and the chain verifies', { timeout: 90_000 }, async () => {
    const requests = async (): Promise<{ failedAttempts: number; denied: number }> =>
      ((await scenario.json(['metrics', '--since', '1h'])).document.metrics as { requests: { failedAttempts: number; denied: number } }).requests;
    // Both failures of its own, counted from what the earlier tests left: the tests may run in any order.
    const before = await requests();
    expect((await scenario.json(['run', 'hello', '--provider', 'dead'])).result.exitCode).toBe(5);
    expect((await scenario.json(['run', 'hello', '--provider', 'keyless'])).result.exitCode).toBe(5);
    expect(await requests()).toMatchObject({ failedAttempts: before.failedAttempts + 2, denied: 0 });
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  });
});

describe('syndicate run: a hosted provider without its key ranks after every callable candidate', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let hosted: FakeEngine;
  /** Not set in any environment the tests run in. */
  const KEY = 'SYNDICATE_TEST_KEY_NEVER_SET';

  /** A home with a local engine and the keyless hosted provider. The policy prefers hosted: with its key set, keyless would be called first. */
  async function keylessBesideLocal(local: FakeEngine, keyless: FakeEngine): Promise<Scenario> {
    const home = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: 'workflows:\n  interactive:\n    prefer: [hosted]' });
    await home.registerInProcess({ id: 'llama', engine: local }, { id: 'keyless', engine: keyless, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } });
    return home;
  }

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    hosted = await startFakeEngine({ kind: 'anthropic' });
    scenario = await keylessBesideLocal(llama, hosted);
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([llama.close(), hosted.close()]);
  });

  async function evidenceRows(): Promise<{ id: string; provider: { id: string } | null }[]> {
    const { result, document } = await scenario.json(['evidence', 'list']);
    expect(result.exitCode, result.stderr).toBe(0);
    return document.evidence as { id: string; provider: { id: string } | null }[];
  }

  it('route ranks it last and says why', async () => {
    const { result, document } = await scenario.json(['route', 'hello']);
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = document.plan as { candidates: { provider: string; reasons: string[]; missingKey?: string }[]; explanation: string };
    expect(plan.candidates.map((candidate) => candidate.provider)).toEqual(['llama', 'keyless']);
    expect(plan.candidates[1]!.missingKey).toBe(KEY);
    expect(plan.candidates[1]!.reasons[0]).toBe(`key ${KEY} not set: ranked after every candidate that can be called`);
    // After the first attempt it is passed over without a hop, in the words `run` uses (`passedOver`).
    expect(document.skipped).toEqual([{ rank: 2, provider: 'keyless', model: 'claude-sonnet-4-20250514', missingKey: KEY, reason: `not called: no key: set ${KEY}` }]);
    const withKey = await scenario.json(['route', 'hello'], { env: { [KEY]: 'test-key' } });
    expect((withKey.document.plan as typeof plan).candidates.map((candidate) => candidate.provider)).toEqual(['keyless', 'llama']);
  });

  it('a successful request writes exactly one attempt row, the local one, and no failed row for the keyless provider', async () => {
    const before = await evidenceRows();
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.provider).toMatchObject({ id: 'llama' });
    expect(document.attempts).toHaveLength(1);
    const added = (await evidenceRows()).filter((row) => !before.some((earlier) => earlier.id === row.id));
    expect(added.map((row) => row.provider?.id)).toEqual(['llama']);
  });

  it('with nothing else left it is still tried, and the failure names the variable as before', async () => {
    // A home of its own whose local engine is gone: the other tests of this block keep theirs, whatever their order.
    const [gone, unkeyed] = await Promise.all([startFakeEngine({ kind: 'llama.cpp' }), startFakeEngine({ kind: 'anthropic' })]);
    const alone = await keylessBesideLocal(gone, unkeyed);
    try {
      await gone.close();
      const { result, document } = await alone.json(['run', 'Name the capital of France.', '--no-stream']);
      expect(result.exitCode, result.stderr).toBe(5);
      const error = document.error as { message: string; hint: string; details: { attempts: { outcome: string; provider: { id: string } }[] } };
      expect(error.message).toContain(`${KEY} is not set, so keyless cannot be called`);
      expect(error.hint).toBe(`set the key in the environment syndicate runs in (export ${KEY}=…), then retry`);
      expect(error.details.attempts.map((attempt) => [attempt.provider.id, attempt.outcome])).toEqual([['keyless', 'skipped']]);
      expect(inferenceExchanges(unkeyed)).toHaveLength(0);
    } finally {
      alone.cleanup();
      await unkeyed.close();
    }
  });
});

describe('syndicate run: a model the hosted provider says does not exist', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let hosted: FakeEngine;
  /** Registered for the hosted provider, which answers 404 `model: …` for it (retired upstream). */
  const RETIRED = 'claude-3-opus-20240229';
  const KEY = 'FAKE_ANTHROPIC_KEY';

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    hosted = await startFakeEngine({ kind: 'anthropic' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: 'workflows:\n  interactive:\n    prefer: [hosted]' });
    await scenario.registerInProcess({ id: 'llama', engine: llama }, { id: 'claude', engine: hosted, class: 'approved_hosted', model: RETIRED, authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([llama.close(), hosted.close()]);
  });

  it('falls back to the next candidate (exit 0) instead of failing; both attempts are on the chain', async () => {
    // The 404 of a test before this one holds the model back for every process: this one starts without it.
    await scenario.releaseHolds();
    const hostedBefore = inferenceExchanges(hosted).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream'], { env: { [KEY]: 'test-key' } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.provider).toMatchObject({ id: 'llama' });
    const attempts = document.attempts as { provider: { id: string }; model: string; outcome: string; status?: number; evidenceId: string }[];
    expect(attempts.map((attempt) => [attempt.provider.id, attempt.model, attempt.outcome, attempt.status])).toEqual([
      ['claude', RETIRED, 'failed', 404],
      ['llama', defaultModel(llama), 'completed', 200],
    ]);
    expect(scenario.storedEvidence(attempts[0]!.evidenceId)).toMatchObject({ state: 'failed', status: 404, error: { message: `claude answered HTTP 404: model: ${RETIRED}` } });
    expect(scenario.storedEvidence(attempts[1]!.evidenceId)).toMatchObject({ state: 'completed', markers: ['fallback'] });
    expect(inferenceExchanges(hosted)).toHaveLength(hostedBefore + 1);
  });

  it('pinned to it: exit 5, and the hint says the provider does not serve it, not to retry later', async () => {
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--model', `claude:${RETIRED}`], { env: { [KEY]: 'test-key' } });
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; hint: string };
    expect(error.code).toBe('inference_unavailable');
    // The failure holds the model for every process (shared holds), so the hint says for how long.
    expect(error.hint).toMatch(new RegExp(`^claude:${RETIRED} is not served by its provider \\(it answered that the model does not exist\\): fix the model id in the provider record; syndicate tries it again in \\d+ s$`));
  });
});

describe('syndicate run: a keyless hosted candidate that fallback.maxHops cuts off', () => {
  let scenario: Scenario;
  let first: FakeEngine;
  let second: FakeEngine;
  let hosted: FakeEngine;
  /** Not set in any environment the tests run in. */
  const KEY = 'SYNDICATE_TEST_KEY_NEVER_SET';

  beforeAll(async () => {
    [first, second, hosted] = await Promise.all([startFakeEngine({ kind: 'llama.cpp' }), startFakeEngine({ kind: 'llama.cpp' }), startFakeEngine({ kind: 'anthropic' })]);
    // Both local engines answer their health probe, then HTTP 500: one hop each, and the walk ends before keyless.
    for (const engine of [first, second]) engine.setFault({ status: 500, body: '{"error":{"code":500,"message":"model crashed","type":"server_error"}}' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: 'fallback:\n  order: []\n  maxHops: 1' });
    await scenario.registerInProcess(
      { id: 'first', engine: first },
      { id: 'second', engine: second },
      { id: 'keyless', engine: hosted, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } },
    );
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([first, second, hosted].map((engine) => engine?.close()));
  });

  it('the failure hint says it could have served the request and names the variable; it is neither called nor recorded', async () => {
    const before = ((await scenario.json(['evidence', 'list'])).document.evidence as unknown[]).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; hint: string; details: { attempts: { provider: { id: string }; outcome: string }[] } };
    expect(error.code).toBe('inference_unavailable');
    expect(error.details.attempts.map((attempt) => [attempt.provider.id, attempt.outcome])).toEqual([
      ['first', 'failed'],
      ['second', 'failed'],
    ]);
    expect(error.hint).toMatch(/^first, second answer but their calls fail /);
    expect(error.hint).toContain(
      `; the hosted provider keyless could have served it, but its key ${KEY} is not set, so it ranks last, and the first attempt and 1 fallback (fallback.maxHops) were used before it: export ${KEY}=… to use it`,
    );
    // No row for keyless: only the two calls made.
    expect(((await scenario.json(['evidence', 'list'])).document.evidence as unknown[]).length).toBe(before + 2);
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  });

  it('route --explain agrees: past fallback.maxHops it would not be tried, with the variable to export', async () => {
    const human = await scenario.cli(['route', '--explain', 'hello']);
    expect(human.exitCode, human.stderr).toBe(0);
    const reason = `key ${KEY} not set, so ranked last, after the first attempt and 1 fallback (fallback.maxHops): would not be tried`;
    expect(human.stdout).toContain(`#3 keyless:claude-sonnet-4-20250514: ${reason} (export ${KEY}=… to use it)`);
    const { document } = await scenario.json(['route', 'hello']);
    expect(document.skipped).toEqual([{ rank: 3, provider: 'keyless', model: 'claude-sonnet-4-20250514', missingKey: KEY, reason, beyondMaxHops: true }]);
  });
});

describe('syndicate run: every candidate keyless, more of them than fallback.maxHops reaches', () => {
  let scenario: Scenario;
  let hosted: FakeEngine;
  /** Not set in any environment the tests run in. */
  const KEY = 'SYNDICATE_TEST_KEY_NEVER_SET';

  beforeAll(async () => {
    hosted = await startFakeEngine({ kind: 'anthropic' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: 'fallback:\n  order: []\n  maxHops: 0' });
    await scenario.registerInProcess(
      { id: 'keyless-a', engine: hosted, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } },
      { id: 'keyless-b', engine: hosted, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } },
    );
  });
  afterAll(async () => {
    scenario?.cleanup();
    await hosted?.close();
  });

  it('run and route say to set the key, and not that the provider cut off "could have served it" after attempts that were as keyless as it', async () => {
    const [run, route] = await Promise.all([scenario.json(['run', 'Name the capital of France.', '--no-stream']), scenario.json(['route', 'Name the capital of France.'])]);
    for (const { result, document } of [run, route]) {
      expect(result.exitCode, result.stderr).toBe(5);
      const error = document.error as { code: string; hint: string };
      expect(error.code).toBe('inference_unavailable');
      expect(error.hint).toBe(`set the key in the environment syndicate runs in (export ${KEY}=…), then retry`);
    }
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  });
});

describe('syndicate run: upstream failures', () => {
  let scenario: Scenario;
  let engine: FakeEngine;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'vllm' });
    scenario = await Scenario.create();
    await scenario.registerInProcess({ id: 'vllm', engine });
  });
  afterEach(async () => {
    engine.setFault('ok');
    // The 429 and the reset hold vllm back (2 s, 5 s) for the next case's `run` too.
    await scenario.releaseHolds();
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine.close();
  });

  const cases: { name: string; fault: Parameters<FakeEngine['setFault']>[0]; stream: boolean; message: RegExp; markers: string[] }[] = [
    { name: '429', fault: { status: 429, body: '{"object":"error","message":"rate limited","type":"RateLimitError","code":429}' }, stream: false, message: /HTTP 429/, markers: ['rate_limited'] },
    { name: '500', fault: { status: 500, body: '{"object":"error","message":"boom","type":"InternalServerError","code":500}' }, stream: false, message: /HTTP 500/, markers: ['upstream_error'] },
    { name: 'connection reset', fault: 'reset', stream: false, message: /reset|closed/i, markers: [] },
    { name: 'malformed JSON', fault: 'malformed-json', stream: false, message: /not valid openai JSON/, markers: ['upstream_error'] },
    { name: 'truncated stream', fault: 'truncate-stream', stream: true, message: /broke after the answer had started|truncated/, markers: ['upstream_error', 'partial_response'] },
    // Under --json nothing was printed before the break, so it is a failed attempt like any other (a human --stream exits with "broke after the answer had started": scripting.test.ts).
    { name: 'reset mid-stream', fault: 'reset-mid-stream', stream: true, message: /reset the connection in the middle of the response/, markers: ['partial_response'] },
  ];

  const runWithFault = async (testCase: (typeof cases)[number]): ReturnType<Scenario['json']> => {
    engine.setFault(testCase.fault);
    const run = await scenario.json(['run', 'Name the capital of France.', '--provider', 'vllm', testCase.stream ? '--stream' : '--no-stream']);
    expect(run.result.exitCode, run.result.stderr).toBe(5);
    return run;
  };


  it('an engine that answers but fails: the hint says to look at its log, not to start it', async () => {
    engine.setFault({ status: 500, body: '{"object":"error","message":"boom","type":"InternalServerError","code":500}' });
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--provider', 'vllm', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(5);
    expect((document.error as { hint: string }).hint).toBe(
      "vllm answers but its calls fail (HTTP 5xx, broken or malformed answers, timeouts): look at the engine's own log or health endpoint, then retry",
    );
  });

  it('a hang before the first byte times out (exit 5, timeout marker) instead of hanging', async () => {
    engine.setFault('hang');
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--provider', 'vllm', '--no-stream', '--timeout', '500ms']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { hint: string; details: { attempts: { evidenceId: string }[] } };
    // The time the caller allowed ran out: the hint says how to allow more, not to start the engine.
    expect(error.hint).toBe('every candidate was still answering when the 500ms allowed ran out; allow more (`syndicate run --timeout 1s`) or ask for fewer tokens');
    const envelope = scenario.storedEvidence(error.details.attempts.at(-1)!.evidenceId) as Record<string, any>;
    expect(envelope.markers).toContain('timeout');
  });

  it('a stream that ends cleanly after its finish reason without [DONE] is a complete answer (exit 0), marked terminal_marker_missing', async () => {
    engine.setFault('omit-terminal-marker', 1);
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--provider', 'vllm', '--stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ answer: DEFAULT_ANSWER, markers: ['terminal_marker_missing'] });
    const envelope = scenario.storedEvidence(document.evidenceId as string) as Record<string, any>;
    expect(envelope).toMatchObject({ state: 'completed', markers: ['terminal_marker_missing'], verbatimCapture: 'full' });
    expect(envelope.error).toBeNull();
  });

  // One run per failure: each is checked, then evidence verify over the failed rows they left (a test
  // of each failure and a test of verify making its own failures again ran every failure twice).
  it(`${cases.map((testCase) => testCase.name).join(', ')} => each exits 5 with a clear message and the right markers, and evidence verify passes over the failed rows they leave`, async () => {
    for (const testCase of cases) {
      const { result, document } = await runWithFault(testCase);
      engine.setFault('ok');
      await scenario.releaseHolds();
      const error = document.error as { message: string; details: { attempts: { evidenceId: string }[] } };
      expect(error.message, testCase.name).toMatch(testCase.message);
      expect(result.stderr, testCase.name).not.toMatch(testCase.message);
      const evidenceId = error.details.attempts.at(-1)!.evidenceId;
      const envelope = scenario.storedEvidence(evidenceId) as Record<string, any>;
      expect(envelope.state, testCase.name).toBe('failed');
      for (const marker of testCase.markers) expect(envelope.markers, testCase.name).toContain(marker);
    }
    const result = await scenario.cli(['evidence', 'verify']);
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
  }, 90_000);
});

describe('syndicate run: a local engine that is down and that syndicate knows how to start', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await Scenario.create();
  });
  afterAll(() => scenario?.cleanup());

  it('a local engine that is down and that syndicate knows how to start: the hint names `syndicate engine start ID`', async () => {
    const file = join(scenario.home, 'startable.yaml');
    writeFileSync(
      file,
      launchedEngineYaml({ id: 'startable', baseUrl: `http://127.0.0.1:${await freePort()}/v1`, kind: 'llama.cpp', command: 'llama-server', readyPath: '/health', model: 'tiny', contextWindow: 4096 }),
    );
    await scenario.registerFilesInProcess(file);
    const { result, document } = await scenario.json(['run', 'hello', '--provider', 'startable']);
    expect(result.exitCode, result.stderr).toBe(5);
    expect((document.error as { hint: string }).hint).toMatch(
      /^nothing answers at startable: start the engine \(`syndicate engine start startable`\) or fix the baseUrl in its provider record \(`syndicate doctor` checks each local engine\)/,
    );
    // `route` says the same once the failure holds the engine out.
    const routed = await scenario.json(['route', 'hello', '--provider', 'startable']);
    expect(routed.result.exitCode).toBe(5);
    expect((routed.document.error as { hint: string }).hint).toContain('start the engine (`syndicate engine start startable`)');
  });
});
