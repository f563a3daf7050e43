import { SyndicateError } from '../errors.js';
import type { Store } from '../store/store.js';
import { pruneEvidence, type PruneResult } from './retention.js';

const DAY_MS = 24 * 3600 * 1000;

export interface RetentionScheduleOptions {
  /** The policy's `evidence.retentionDays` now (read at each run: a running gateway follows edits). */
  retentionDays: () => number | undefined;
  /** A run that deleted something. */
  onPrune: (result: PruneResult, retentionDays: number) => void;
  /** A run that failed (the store busy or full): reported, and tried again at the next interval. */
  onError: (error: SyndicateError) => void;
  /** Between runs; default one day. */
  intervalMs?: number;
  now?: () => number;
}

export interface RetentionSchedule {
  /** Runs a prune now (what the schedule does at each interval); undefined when no retention is set. */
  runNow(): PruneResult | undefined;
  stop(): void;
}

/**
 * The policy's evidence retention, applied by a long-running process (`syndicate serve`): a
 * prune at once, then one per interval, each deleting the envelopes older than `retentionDays`
 * in batches that each commit on their own (`pruneEvidence`), so requests in flight wait one
 * batch at most. The timer never keeps the process alive.
 */
export function scheduleRetention(store: Store, options: RetentionScheduleOptions): RetentionSchedule {
  const now = options.now ?? Date.now;
  const runNow = (): PruneResult | undefined => {
    const days = options.retentionDays();
    if (days === undefined) return undefined;
    try {
      const result = pruneEvidence(store, { olderThan: new Date(now() - days * DAY_MS) });
      if (result.envelopes > 0 || result.permits > 0) options.onPrune(result, days);
      return result;
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      options.onError(error);
      return undefined;
    }
  };
  runNow();
  const timer = setInterval(runNow, options.intervalMs ?? DAY_MS);
  timer.unref();
  return { runNow, stop: () => clearInterval(timer) };
}
