import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe } from '../helpers/serve.js';

/**
 * What an operator writes in policy.yaml by hand, read back through the CLI: each setting the
 * schema takes does what its description says, in `route --explain` and in `run` alike.
 */
describe('policy author: workflows.*.latencyBudget.totalMs', () => {
  let scenario: Scenario;
  let engine: FakeEngine;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    // The engine answers its health check and model list, never a chat request.
    engine.setFault('hang');
    scenario = await Scenario.create({
      policyExtra: ['workflows:', '  interactive:', '    prefer: [fastest, priority]', '    latencyBudget: { totalMs: 700 }'].join('\n'),
    });
    await scenario.registerInProcess({ id: 'slow', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  it('is said by route --explain', async () => {
    const explained = await scenario.cli(['route', '--explain', 'Name the capital of France.']);
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toContain('workflow interactive: prefer fastest, priority; given up after 700 ms in all (every attempt together)');
  });

  it('bounds each attempt of a run that sets no --timeout, and the hint names the setting', async () => {
    const { result, document } = await scenario.json(['run', 'Name the capital of France.']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; message: string; hint: string };
    expect(error.code).toBe('inference_unavailable');
    expect(error.message).toContain('took longer than 700 ms');
    expect(error.hint).toContain('the 700ms the policy allows (workflows.interactive.latencyBudget.totalMs) ran out');
    expect(error.hint).toContain('`syndicate run --timeout 1400ms`, or raise workflows.interactive.latencyBudget.totalMs in the policy');
  });

  it('bounds a gateway request alike: a 504 (every call ran out of time) whose message names the setting', async () => {
    const { server, url } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home });
    try {
      const token = readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
      const failure = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Name the capital of France.' }] }).catch((caught: unknown) => caught);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      const error = failure as InstanceType<typeof OpenAI.APIError>;
      expect(error.status).toBe(504);
      expect(error.message).toContain('took longer than 700 ms');
      expect(error.message).toContain('raise workflows.interactive.latencyBudget.totalMs in the policy or ask for fewer tokens');
    } finally {
      server.kill('SIGTERM');
      await server;
    }
  }, 90_000);

  it('gives way to the --timeout of the command line', async () => {
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--timeout', '900ms']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { message: string; hint: string };
    expect(error.message).toContain('took longer than 900 ms');
    expect(error.hint).not.toContain('latencyBudget');
  });

  it('is the batch workflow’s own: a batch run is not bounded by the interactive budget', async () => {
    const batch = await scenario.cli(['route', '--explain', 'Name the capital of France.', '--workflow', 'batch']);
    expect(batch.exitCode, batch.stderr).toBe(0);
    expect(batch.stdout).not.toContain('given up after');
  });
});

describe('policy author: fallback.order and fallback.maxHops', () => {
  let scenario: Scenario;
  let failing: FakeEngine;
  let hosted: FakeEngine;
  let spare: FakeEngine;
  const policy = (maxHops: number): string =>
    [
      'apiVersion: syndicate/v1',
      'kind: Policy',
      'egress:',
      '  allowHosts: [127.0.0.1]',
      // No ranking key: equal candidates rank by provider id, so a-failing, b-hosted, c-spare.
      'workflows:',
      '  interactive:',
      '    prefer: []',
      'fallback:',
      '  order: [c-spare]',
      `  maxHops: ${maxHops}`,
      '',
    ].join('\n');

  beforeAll(async () => {
    [failing, hosted, spare] = await Promise.all([startFakeEngine({ kind: 'vllm' }), startFakeEngine({ kind: 'openai' }), startFakeEngine({ kind: 'vllm' })]);
    failing.setFault({ status: 500, body: '{"error":{"message":"engine crashed"}}' });
    scenario = await Scenario.create();
    await scenario.registerInProcess(
      { id: 'a-failing', engine: failing },
      { id: 'b-hosted', engine: hosted, class: 'approved_hosted', authEnv: 'FAKE_HOSTED_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
      { id: 'c-spare', engine: spare },
    );
  });
  afterEach(() => {
    scenario.releaseHoldsInProcess();
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([failing?.close(), hosted?.close(), spare?.close()]);
  });

  it('route --explain gives the order run calls them in, not only their ranks', async () => {
    writeFileSync(join(scenario.home, 'policy.yaml'), policy(3), { mode: 0o600 });
    const env = { FAKE_HOSTED_KEY: 'test-key-not-a-secret' };
    const explained = await scenario.cli(['route', '--explain', 'Name the capital of France.'], { env });
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/1\. a-failing:.*\n {2}2\. b-hosted:.*\n {2}3\. c-spare:/);
    expect(explained.stdout).toContain('calls in this order: a-failing:Qwen/Qwen2.5-1.5B-Instruct, then on failure c-spare:Qwen/Qwen2.5-1.5B-Instruct (fallback.order), b-hosted:gpt-4o-mini');

    const hostedCalls = inferenceExchanges(hosted).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect((document.attempts as { provider: { id: string }; outcome: string }[]).map((attempt) => [attempt.provider.id, attempt.outcome])).toEqual([
      ['a-failing', 'failed'],
      ['c-spare', 'completed'],
    ]);
    expect(inferenceExchanges(hosted)).toHaveLength(hostedCalls);
  });

  it('a fallback.order id no provider has is said by route --explain and doctor, not silently ignored', async () => {
    writeFileSync(join(scenario.home, 'policy.yaml'), policy(3).replace('order: [c-spare]', 'order: [c-spar]'), { mode: 0o600 });
    const env = { FAKE_HOSTED_KEY: 'test-key-not-a-secret' };
    const note = 'fallback.order names "c-spar", which no registered provider is (did you mean "c-spare"?): it orders no fallback';
    const explained = await scenario.cli(['route', '--explain', 'Name the capital of France.'], { env });
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toContain(`note: ${note}`);
    const { result, document } = await scenario.json(['doctor'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.checks).toContainEqual({ name: 'policy references', status: 'warn', detail: note, hint: `fix the provider id in ${join(scenario.home, 'policy.yaml')}, or register that provider` });
  });

  it('route --explain names the candidates fallback.maxHops leaves untried, and run does not call them', async () => {
    writeFileSync(join(scenario.home, 'policy.yaml'), policy(0), { mode: 0o600 });
    const env = { FAKE_HOSTED_KEY: 'test-key-not-a-secret' };
    const explained = await scenario.cli(['route', '--explain', 'Name the capital of France.'], { env });
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toContain(
      'calls in this order: a-failing:Qwen/Qwen2.5-1.5B-Instruct only; never tried (fallback.maxHops 0): c-spare:Qwen/Qwen2.5-1.5B-Instruct, b-hosted:gpt-4o-mini',
    );
    const spareCalls = inferenceExchanges(spare).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.'], { env });
    expect(result.exitCode, result.stderr).toBe(5);
    expect(((document.error as { details: { attempts: { provider: { id: string } }[] } }).details.attempts).map((attempt) => attempt.provider.id)).toEqual(['a-failing']);
    expect(inferenceExchanges(spare)).toHaveLength(spareCalls);
  });
});
