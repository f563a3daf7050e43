import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';

describe('a run killed mid-stream', () => {
  let scenario: Scenario;
  let engine: FakeEngine;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama', answer: 'one two three four five six seven eight nine ten eleven twelve' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'slow', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine.close();
  });

  it('leaves an interrupted row with the partial bytes, and the chain verifies', async () => {
    engine.setFault({ slowStreamMs: 400 });
    const child = execa('node', [BIN, 'run', 'Count to twelve.', '--provider', 'slow', '--stream'], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' },
      reject: false,
    });
    // Wait until some of the answer has been printed, then kill without any chance to clean up.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no output from run within 15 s')), 15_000);
      child.stdout?.on('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');

    const { result, document } = await scenario.json(['evidence', 'list']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = document.evidence as { id: string; state: string; verbatimCapture: string | null }[];
    const row = rows.find((entry) => entry.state === 'interrupted');
    expect(row, JSON.stringify(rows)).toBeDefined();
    expect(row!.verbatimCapture).toBe('partial');
    const raw = await scenario.rawEvidence(row!.id, 'response');
    const sent = engine.exchanges.filter((exchange) => exchange.method === 'POST').at(-1)!;
    expect(raw.length).toBeGreaterThan(0);
    // What was kept is a prefix of what the engine sent, byte for byte, and not the whole of it.
    expect(sent.responseBody.subarray(0, raw.length)).toEqual(raw);
    expect(raw.toString()).not.toContain('[DONE]');
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  });
});
