import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../../../src/errors.js';
import { verifyChain } from '../../../src/evidence/index.js';
import { scheduleRetention } from '../../../src/evidence/retention-schedule.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { seedCompleted } from './seed.js';

const DAY = 24 * 3600 * 1000;

describe('scheduleRetention (the policy\'s evidence.retentionDays in a long-running gateway)', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let store: Store;
  beforeEach(() => {
    temporary = makeTempHome();
    store = openStore(`${temporary.home}/evidence.db`);
  });
  afterEach(() => {
    vi.useRealTimers();
    store.close();
    temporary.cleanup();
  });

  const count = (): number => store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get() as number;

  it('prunes at once, then at each interval, with the retention read at each run; none set: nothing is touched', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    seedCompleted(store, { now: Date.now() - 40 * DAY });
    seedCompleted(store, { now: Date.now() - 20 * DAY });
    seedCompleted(store, { now: Date.now() - DAY });
    let retentionDays: number | undefined;
    const pruned: { envelopes: number; days: number }[] = [];
    const schedule = scheduleRetention(store, {
      retentionDays: () => retentionDays,
      onPrune: (result, days) => pruned.push({ envelopes: result.envelopes, days }),
      onError: (error) => {
        throw error;
      },
      intervalMs: 1000,
    });
    expect(await schedule.runNow()).toBeUndefined();
    expect(count()).toBe(3);
    retentionDays = 30;
    vi.advanceTimersByTime(1000);
    await schedule.runNow();
    expect(pruned).toEqual([{ envelopes: 1, days: 30 }]);
    retentionDays = 7;
    vi.advanceTimersByTime(1000);
    await schedule.runNow();
    expect(pruned).toEqual([
      { envelopes: 1, days: 30 },
      { envelopes: 1, days: 7 },
    ]);
    vi.advanceTimersByTime(5000);
    await schedule.runNow();
    expect(pruned).toHaveLength(2);
    expect(count()).toBe(1);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    await schedule.stop();
  });

  it('a big prune neither delays the caller nor holds the event loop: other work runs between its batches', async () => {
    for (let index = 0; index < 6; index += 1) seedCompleted(store, { now: Date.now() - 40 * DAY + index });
    const pruned: number[] = [];
    const schedule = scheduleRetention(store, {
      retentionDays: () => 30,
      onPrune: (result) => pruned.push(result.envelopes),
      onError: (error) => {
        throw error;
      },
      batchEnvelopes: 2,
    });
    // Nothing deleted yet when it returns: a gateway prints where it listens and serves at once.
    expect(count()).toBe(6);
    // What a request handler would see, one turn of the event loop after another.
    const seen: number[] = [];
    while (pruned.length === 0) {
      seen.push(count());
      await nextTurn();
    }
    expect(pruned).toEqual([6]);
    expect(seen).toContain(4);
    expect(seen).toContain(2);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0 });
    await schedule.stop();
  });

  it('stop ends a run under way after its current batch, the chain verifiable', async () => {
    for (let index = 0; index < 6; index += 1) seedCompleted(store, { now: Date.now() - 40 * DAY + index });
    seedCompleted(store, { now: Date.now() - DAY });
    const pruned: number[] = [];
    const schedule = scheduleRetention(store, { retentionDays: () => 30, onPrune: (result) => pruned.push(result.envelopes), onError: () => undefined, batchEnvelopes: 2 });
    while (count() === 7) await nextTurn();
    await schedule.stop();
    expect(count()).toBe(5);
    expect(pruned).toEqual([2]);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 5 });
    expect(await schedule.runNow()).toBeUndefined();
  });

  it('a run that fails is reported and the schedule goes on', async () => {
    let fail = true;
    const errors: string[] = [];
    const flaky = Object.create(store) as Store;
    flaky.statement = (sql: string) => {
      if (fail) throw new StoreError('database is locked', { reason: 'busy' });
      return store.statement(sql);
    };
    const schedule = scheduleRetention(
      flaky,
      { retentionDays: () => 30, onPrune: () => undefined, onError: (error) => errors.push(error.message), intervalMs: 60_000 },
    );
    expect(await schedule.runNow()).toBeUndefined();
    expect(errors).toEqual(['database is locked']);
    fail = false;
    expect(await schedule.runNow()).toMatchObject({ envelopes: 0 });
    await schedule.stop();
  });

  it('a run that meets a busy store is tried again after 5 min, then 10, doubling up to the interval (not a day later), and the success after is reported', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    let failuresLeft = 3;
    const errors: { message: string; retryInMs: number }[] = [];
    const recovered: { failures: number; envelopes: number; days: number }[] = [];
    const busy = Object.create(store) as Store;
    busy.statement = (sql: string) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new StoreError('database is locked', { reason: 'busy' });
      }
      return store.statement(sql);
    };
    seedCompleted(store, { now: Date.now() - 40 * DAY });
    const minute = 60_000;
    const schedule = scheduleRetention(busy, {
      retentionDays: () => 30,
      onPrune: () => undefined,
      onError: (error, retryInMs) => errors.push({ message: error.message, retryInMs }),
      onRecovered: (failures, result, days) => recovered.push({ failures, envelopes: result.envelopes, days }),
      intervalMs: 12 * minute,
    });
    const settle = async (): Promise<void> => {
      for (let turn = 0; turn < 20; turn += 1) await nextTurn();
    };
    await settle();
    expect(errors).toEqual([{ message: 'database is locked', retryInMs: 5 * minute }]);
    await vi.advanceTimersByTimeAsync(5 * minute - 1);
    await settle();
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(errors.map((error) => error.retryInMs)).toEqual([5 * minute, 10 * minute]);
    // Ten minutes would double to twenty: the interval (12) bounds it. The interval's own run, at 12, comes first.
    await vi.advanceTimersByTimeAsync(7 * minute);
    await settle();
    expect(errors.map((error) => error.retryInMs)).toEqual([5 * minute, 10 * minute, 12 * minute]);
    expect(recovered).toEqual([]);
    await vi.advanceTimersByTimeAsync(12 * minute);
    // The successful run pauses between its batches on a real timer (`PRUNE_BATCH_PAUSE_MS`).
    while (recovered.length === 0) await nextTurn();
    expect(recovered).toEqual([{ failures: 3, envelopes: 1, days: 30 }]);
    expect(count()).toBe(0);
    await schedule.stop();
  });

  it('a run that fails for a reason time does not mend (a broken chain, a damaged store) waits for the next interval, not the quick retries', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const errors: number[] = [];
    const damaged = Object.create(store) as Store;
    damaged.statement = () => {
      throw new StoreError('database disk image is malformed', { reason: 'damaged' });
    };
    const minute = 60_000;
    const schedule = scheduleRetention(damaged, {
      retentionDays: () => 30,
      onPrune: () => undefined,
      onError: (_error, retryInMs) => errors.push(retryInMs),
      intervalMs: 60 * minute,
    });
    for (let turn = 0; turn < 20; turn += 1) await nextTurn();
    expect(errors).toEqual([60 * minute]);
    await vi.advanceTimersByTimeAsync(60 * minute - 1);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    for (let turn = 0; turn < 20; turn += 1) await nextTurn();
    expect(errors).toEqual([60 * minute, 60 * minute]);
    await schedule.stop();
  });
});
