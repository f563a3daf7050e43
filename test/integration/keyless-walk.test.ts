/**
 * A hosted candidate whose key is not set makes no call: after the first attempt the fallback walk
 * passes over it without using a hop (as it passes over a held one), naming it in `passedOver`
 * with why (`not called: no key: set VAR`) — no `skipped` attempt, no evidence row of its own. Only
 * a first candidate without its key (then every candidate lacks one) is still an attempt, recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

/** Not set in any environment the tests run in. */
const KEY = 'SYNDICATE_TEST_KEY_NEVER_SET';
const HOSTED = { class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } } as const;

interface Failure {
  code: string;
  message: string;
  hint: string;
  details: { attempts: { provider: { id: string }; outcome: string }[]; passedOver?: { provider: string; model: string; reason: string }[] };
}

async function rowCount(scenario: Scenario): Promise<number> {
  return (await scenario.json(['evidence', 'list', '--limit', '1000'])).document.total as number;
}

describe('keyless candidates in the fallback walk', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let hosted: FakeEngine;

  beforeAll(async () => {
    [local, hosted] = await Promise.all([startFakeEngine({ kind: 'llama.cpp' }), startFakeEngine({ kind: 'anthropic' })]);
    // The local engine answers its health probe, then HTTP 500: one call, then the keyless two.
    local.setFault({ status: 500, body: '{"error":{"code":500,"message":"model crashed","type":"server_error"}}' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: 'fallback:\n  order: []\n  maxHops: 1' });
    await scenario.register({ id: 'local', engine: local }, { id: 'keyless-a', engine: hosted, ...HOSTED }, { id: 'keyless-b', engine: hosted, ...HOSTED });
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([local?.close(), hosted?.close()]);
  });

  it('after a failed call, each is passed over without a hop and named with its key; only the call is recorded', async () => {
    const before = await rowCount(scenario);
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as Failure;
    expect(error.code).toBe('inference_unavailable');
    // One hop used, by the one call: neither keyless candidate took the other's place in the hop limit.
    expect(error.details.attempts.map((attempt) => [attempt.provider.id, attempt.outcome])).toEqual([['local', 'failed']]);
    expect(error.details.passedOver).toEqual([
      { provider: 'keyless-a', model: 'claude-sonnet-4-20250514', reason: `not called: no key: set ${KEY}` },
      { provider: 'keyless-b', model: 'claude-sonnet-4-20250514', reason: `not called: no key: set ${KEY}` },
    ]);
    expect(error.message).toContain(`keyless-a:claude-sonnet-4-20250514: not called: no key: set ${KEY}`);
    expect(error.hint).not.toContain('would not be tried');
    expect(await rowCount(scenario)).toBe(before + 1);
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  }, 90_000);

  it('route --explain says the walk run makes: each keyless one "not called: no key: set VAR", none "would not be tried" for fallback.maxHops', async () => {
    const human = await scenario.cli(['route', '--explain', 'Name the capital of France.']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain(`#2 keyless-a:claude-sonnet-4-20250514: not called: no key: set ${KEY} (export ${KEY}=… to use it)`);
    expect(human.stdout).toContain(`#3 keyless-b:claude-sonnet-4-20250514: not called: no key: set ${KEY} (export ${KEY}=… to use it)`);
    expect(human.stdout).not.toContain('would not be tried');
    const { document } = await scenario.json(['route', 'Name the capital of France.']);
    expect(document.skipped).toEqual(
      ['keyless-a', 'keyless-b'].map((provider, index) => ({ rank: index + 2, provider, model: 'claude-sonnet-4-20250514', missingKey: KEY, reason: `not called: no key: set ${KEY}` })),
    );
  }, 90_000);

  it('pinned to the keyless ones alone: the first is the recorded attempt, the other passed over, and the hint names the key', async () => {
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--no-stream', '--model', 'claude-sonnet-4-20250514']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as Failure;
    expect(error.details.attempts.map((attempt) => attempt.outcome)).toEqual(['skipped']);
    expect(error.details.passedOver?.map((skipped) => skipped.reason)).toEqual([`not called: no key: set ${KEY}`]);
    expect(error.hint).toBe(`set the key in the environment syndicate runs in (export ${KEY}=…), then retry`);
    expect(inferenceExchanges(hosted)).toHaveLength(0);
  }, 90_000);
});
