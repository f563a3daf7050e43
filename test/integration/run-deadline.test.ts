import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

interface AttemptReport {
  provider: { id: string };
  error?: { code: string };
}

/**
 * `run --timeout` ("give up after this long") bounds the whole invocation, fallback hops included:
 * each hop got the whole time again, so two hanging engines took twice what the caller allowed (and
 * four with `fallback.maxHops` 3).
 */
describe('run --timeout over a fallback walk', () => {
  let scenario: Scenario;
  let first: FakeEngine;
  let second: FakeEngine;

  beforeAll(async () => {
    [first, second] = await Promise.all([startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'llama.cpp' })]);
    scenario = await Scenario.create();
    await scenario.register({ id: 'first', engine: first }, { id: 'second', engine: second });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([first?.close(), second?.close()]);
  });

  it('a hop that used up the time allowed is the last: the next candidate is not called, and the hint says why', async () => {
    first.setFault('hang');
    second.setFault('hang');
    const before = inferenceExchanges(first).length + inferenceExchanges(second).length;
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--timeout', '500ms']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; hint: string; details: { attempts: AttemptReport[] } };
    expect(error.code).toBe('inference_unavailable');
    // One call, cut at the time allowed; the other candidate was never sent the request.
    expect(error.details.attempts.map((attempt) => attempt.error?.code)).toEqual(['upstream_total_timeout']);
    expect(inferenceExchanges(first).length + inferenceExchanges(second).length - before).toBe(1);
    expect(error.hint).toBe('the 500ms allowed ran out before the next candidate could be tried; allow more (`syndicate run --timeout 1s`) or ask for fewer tokens');
  });
});
