import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUSY_TIMEOUT_MS } from '../../src/store/store.js';
import { inferenceExchanges, registeredEngineScenario, type Scenario } from '../helpers/scenario.js';

/**
 * A CI job whose `syndicate run` meets a store another process holds (a long write of another
 * syndicate process, a backup tool): the command fails closed as a store failure whose hint says
 * what is wrong. The evidence write used to answer "run `syndicate doctor`", and doctor, which only
 * reads, passes on a store another writer holds.
 */
describe('syndicate run on a store another process holds', () => {
  const setup = registeredEngineScenario('llama', { kind: 'llama.cpp' });

  it('exits 6 saying another process holds the store, sends nothing, and leaves the chain whole', { timeout: 90_000 }, async () => {
    const { scenario, engine } = setup;
    const holder = new Database(join(scenario.home, 'syndicate.db'));
    holder.exec('BEGIN IMMEDIATE');
    let held: Awaited<ReturnType<Scenario['json']>>;
    let waitedMs: number;
    try {
      const started = performance.now();
      held = await scenario.json(['run', 'hello there'], { timeoutMs: 80_000 });
      waitedMs = performance.now() - started;
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(held.result.exitCode, held.result.stderr).toBe(6);
    const message = expect.stringContaining('(SQLITE_BUSY): database is locked: no permit was issued, and the refusal is not recorded (the store cannot be written)');
    expect(held.document).toEqual({
      ok: false,
      error: {
        code: 'store_failure',
        message,
        hint: 'another syndicate process holds the store; retry in a moment',
        // The attempt, with no evidence row: the store that failed could not take one.
        details: {
          requestId: expect.any(String),
          sensitivity: 'public',
          attempts: [{ hop: 0, provider: { id: 'llama', version: 1, class: 'local' }, model: expect.any(String), outcome: 'failed', error: { code: 'store_failure', message } }],
        },
      },
    });
    // One busy timeout, not two: the denial is not tried on the store that just failed (it waited again, then failed the same way).
    expect(waitedMs).toBeGreaterThanOrEqual(DEFAULT_BUSY_TIMEOUT_MS);
    expect(waitedMs).toBeLessThan(2 * DEFAULT_BUSY_TIMEOUT_MS);
    expect(inferenceExchanges(engine)).toEqual([]);

    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr).toBe(0);
    const again = await scenario.json(['run', 'hello there']);
    expect(again.result.exitCode, again.result.stderr).toBe(0);
  });
});
