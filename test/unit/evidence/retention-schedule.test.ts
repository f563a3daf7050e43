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

  it('prunes at once, then at each interval, with the retention read at each run; none set: nothing is touched', () => {
    vi.useFakeTimers();
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
    expect(count()).toBe(3);
    retentionDays = 30;
    vi.advanceTimersByTime(1000);
    expect(pruned).toEqual([{ envelopes: 1, days: 30 }]);
    retentionDays = 7;
    vi.advanceTimersByTime(1000);
    expect(pruned).toEqual([
      { envelopes: 1, days: 30 },
      { envelopes: 1, days: 7 },
    ]);
    vi.advanceTimersByTime(5000);
    expect(pruned).toHaveLength(2);
    expect(count()).toBe(1);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    schedule.stop();
  });

  it('a run that fails is reported and the schedule goes on', () => {
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
    expect(errors).toEqual(['database is locked']);
    fail = false;
    expect(schedule.runNow()).toMatchObject({ envelopes: 0 });
    schedule.stop();
  });
});
