import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

/**
 * Every call answered 503 with a Retry-After (an engine loading its model, an overloaded provider):
 * the gateway passes the wait on in its header; `run`'s hint said only "then retry".
 */
describe('run: every call answered with how long to wait', () => {
  let scenario: Scenario;
  let engine: FakeEngine;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'local', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  it('the hint says how long the engine asked to wait', { timeout: 90_000 }, async () => {
    engine.setFault({ status: 503, body: 'loading model', headers: { 'retry-after': '7' } });
    const { result, document } = await scenario.json(['run', 'Name the capital of France.']);
    expect(result.exitCode, result.stderr).toBe(5);
    const error = document.error as { code: string; hint: string };
    expect(error.code).toBe('inference_unavailable');
    expect(error.hint).toContain('asked to be called again in 7 s (Retry-After)');
  });
});
