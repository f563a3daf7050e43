/**
 * A local engine that accepts the connection and never answers, with calls to it already waiting
 * in several processes (parallel `syndicate run`s, a gateway's concurrent requests): once another
 * process finds it hung and records its hold in the store (here this test's process: a call through
 * the real pipeline on the store whose first-byte timeout is 1 s, where every request of a CLI or
 * gateway process waits 120 s), each waiting call is cut and falls back to the second engine —
 * none waits out its own 120 s first-byte timeout, which no test here could outlive. The cut
 * attempt's evidence says it was cut by the hold, and the hold is not counted again: it stays the
 * one this process recorded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { SyndicateError } from '../../src/errors.js';
import { resolveHome } from '../../src/home/home.js';
import { createPipelineContext } from '../../src/invoke/context.js';
import { invoke } from '../../src/invoke/pipeline.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { withStore, withStoreAsync } from '../helpers/store.js';

const PARALLEL = 3;
const QUESTION = 'Name the capital of France.';

interface HoldRow {
  provider_id: string;
  model: string | null;
  holder: string;
  recorded_at: string;
  held_until: string;
  reason: string;
}

interface AttemptReport {
  hop: number;
  provider: { id: string };
  outcome: string;
  error?: { code: string; message: string };
}

function storedHolds(home: string): HoldRow[] {
  return withStore(home, (store) => store.db.prepare('SELECT provider_id, model, holder, recorded_at, held_until, reason FROM health_holds').all() as HoldRow[]);
}

describe('calls waiting on an engine another process finds hung', () => {
  let scenario: Scenario;
  let hung: FakeEngine;
  let good: FakeEngine;
  let gateway: RunningServe | undefined;

  beforeAll(async () => {
    [hung, good] = await Promise.all([startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'llama.cpp' })]);
  });
  // A data directory of its own per test: what one test's calls recorded (holds, first-token times) does not route the other's.
  beforeEach(async () => {
    scenario = await Scenario.create();
    await scenario.registerInProcess({ id: 'first', engine: hung }, { id: 'second', engine: good });
  });
  afterEach(async () => {
    hung.setFault('ok');
    if (gateway !== undefined) {
      gateway.server.kill('SIGTERM');
      await gateway.server.catch(() => undefined);
      gateway = undefined;
    }
    scenario.cleanup();
  });
  afterAll(async () => {
    await Promise.all([hung?.close(), good?.close()]);
  });

  /**
   * Waits until the hung engine holds `count` more calls than `before`, then finds it hung in this
   * process (a call of its own, through the pipeline on the store, with a 1 s first-byte timeout):
   * the hold it records.
   */
  async function holdRecordedWhileWaiting(before: number, count: number): Promise<HoldRow> {
    await vi.waitFor(() => expect(inferenceExchanges(hung).length - before).toBeGreaterThanOrEqual(count), { timeout: 60_000, interval: 50 });
    const failure = await withStoreAsync(scenario.home, (store) =>
      invoke(createPipelineContext(resolveHome({ home: scenario.home }), store, {}), {
        request: { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }], stream: false },
        caller: 'cli',
        provider: 'first',
        timeouts: { firstByteMs: 1000 },
      }).then(
        () => expect.fail('the hung engine answered'),
        (error: unknown) => error as SyndicateError,
      ),
    );
    expect(failure.message).toContain('sent no response within 1000 ms');
    const holds = storedHolds(scenario.home).filter((hold) => hold.provider_id === 'first');
    expect(holds, JSON.stringify(holds)).toHaveLength(1);
    expect(holds[0]?.reason).toBe('first failed (upstream_first_byte_timeout)');
    return holds[0] as HoldRow;
  }

  it(`${PARALLEL} parallel runs waiting on it are cut when the hold is recorded, fall back, and count no second failure`, async () => {
    hung.setFault('hang');
    const before = inferenceExchanges(hung).length;
    // Each given longer than the test's own time: a run still waiting on the engine fails the test by timing out, not by being killed.
    const runs = Array.from({ length: PARALLEL }, () => scenario.json(['run', QUESTION, '--no-stream'], { timeoutMs: 120_000 }));
    // Awaited below; a test that fails before leaves none unhandled.
    for (const run of runs) run.catch(() => undefined);
    const hold = await holdRecordedWhileWaiting(before, PARALLEL);
    const finished = await Promise.all(runs);
    for (const { result, document } of finished) {
      expect(result.exitCode, result.stderr).toBe(0);
      expect(document.answer).toBe(DEFAULT_ANSWER);
      expect((document.provider as { id: string }).id).toBe('second');
      const attempts = document.attempts as AttemptReport[];
      expect(attempts.map((attempt) => [attempt.hop, attempt.provider.id, attempt.outcome])).toEqual([
        [0, 'first', 'failed'],
        [1, 'second', 'completed'],
      ]);
      // Cut by the hold, in the class of its own timeout, and saying so.
      expect(attempts[0]?.error?.code).toBe('upstream_first_byte_timeout');
      expect(attempts[0]?.error?.message).toContain('the call was cut then, not left to its own first-byte timeout: another syndicate process found first hung');
      expect(attempts[0]?.error?.message).toContain('first failed (upstream_first_byte_timeout)');
    }
    // Not counted again: the hold is still the one `provider test` recorded, not one per cut run.
    expect(storedHolds(scenario.home).filter((row) => row.provider_id === 'first')).toEqual([hold]);
    expect(inferenceExchanges(hung).length - before).toBe(PARALLEL + 1);
  }, 90_000);

  it(`${PARALLEL} concurrent gateway requests waiting on it are cut when the hold is recorded, and fall back`, async () => {
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 90_000);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim(), maxRetries: 0, timeout: 85_000 });
    hung.setFault('hang');
    const before = inferenceExchanges(hung).length;
    const requests = Array.from({ length: PARALLEL }, () => client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] }));
    for (const request of requests) request.catch(() => undefined);
    const hold = await holdRecordedWhileWaiting(before, PARALLEL);
    const answers = await Promise.all(requests);
    expect(answers.map((answer) => answer.choices[0]?.message.content)).toEqual(Array.from({ length: PARALLEL }, () => DEFAULT_ANSWER));
    expect(storedHolds(scenario.home).filter((row) => row.provider_id === 'first')).toEqual([hold]);
    const cut = await scenario.json(['evidence', 'list', '--provider', 'first']);
    const rows = (cut.document.evidence as { state: string; error?: { code: string; message: string } }[]).filter((row) => row.error?.message.includes('the call was cut then') === true);
    expect(rows).toHaveLength(PARALLEL);
    for (const row of rows) expect(row).toMatchObject({ state: 'failed', error: { code: 'upstream_first_byte_timeout' } });
  }, 90_000);
});
