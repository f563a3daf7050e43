import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

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
    await scenario.register({ id: 'slow', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  it('is said by route --explain', async () => {
    const explained = await scenario.cli(['route', '--explain', 'Name the capital of France.']);
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toContain('workflow interactive: prefer fastest, priority; each attempt given up after 700 ms');
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
