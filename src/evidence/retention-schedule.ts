import { StoreError, SyndicateError } from '../errors.js';
import type { Store } from '../store/store.js';
import { pruneEvidenceYielding, type PruneResult } from './retention.js';

const DAY_MS = 24 * 3600 * 1000;

/** The first retry after a run that found the store busy or full; each next one waits twice as long, up to the interval. */
export const RETENTION_FIRST_RETRY_MS = 5 * 60 * 1000;

export interface RetentionScheduleOptions {
  /** The policy's `evidence.retentionDays` now (read at each run: a running gateway follows edits). */
  retentionDays: () => number | undefined;
  /**
   * Why nothing may be deleted now, if so: the policy file is invalid (half-written, a typo). The
   * retention then in force is the last valid one, which the operator may be editing away from —
   * a deletion cannot be undone, so the run is skipped rather than made with it.
   */
  heldBack?: () => string | undefined;
  /** A run that deleted something. */
  onPrune: (result: PruneResult, retentionDays: number) => void;
  /** A run skipped because of `heldBack`. */
  onHeldBack?: (reason: string, retentionDays: number) => void;
  /**
   * A run that failed: reported with when it is tried again — a busy or full store after
   * `firstRetryMs`, then twice as long after each further failure, never later than the interval;
   * any other failure (a broken chain, a damaged store) at the next interval.
   */
  onError: (error: SyndicateError, retryInMs: number) => void;
  /** A run that succeeded after `failures` failed runs in a row (whether it deleted anything or not: `onPrune` says when it did). */
  onRecovered?: (failures: number, result: PruneResult, retentionDays: number) => void;
  /** Between runs; default one day. */
  intervalMs?: number;
  /** The first retry after a failed run; default `RETENTION_FIRST_RETRY_MS` (at most the interval). */
  firstRetryMs?: number;
  /** Envelopes per batch (`pruneEvidence`'s default when absent). */
  batchEnvelopes?: number;
  now?: () => number;
}

export interface RetentionSchedule {
  /**
   * Runs a prune now (what the schedule does at each interval), or waits for the one running;
   * undefined when no retention is set, it is held back, the run failed, or the schedule is stopped.
   */
  runNow(): Promise<PruneResult | undefined>;
  /** No more runs; a run under way ends after its current batch. Resolves once it has. */
  stop(): Promise<void>;
}

/**
 * The policy's evidence retention, applied by a long-running process (`syndicate serve`): a
 * prune at once, then one per interval, each deleting the envelopes older than `retentionDays`
 * in batches that each commit on their own, with the event loop let run between them
 * (`pruneEvidenceYielding`), so requests wait one batch at most even while a first prune works
 * through a big store. The first run starts without delaying the caller. The timer never keeps
 * the process alive.
 */
export function scheduleRetention(store: Store, options: RetentionScheduleOptions): RetentionSchedule {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? DAY_MS;
  const firstRetryMs = Math.min(options.firstRetryMs ?? RETENTION_FIRST_RETRY_MS, intervalMs);
  let stopped = false;
  let running: Promise<PruneResult | undefined> | undefined;
  /** Failed runs in a row, and the retry one of them scheduled. */
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  const prune = async (): Promise<PruneResult | undefined> => {
    const days = options.retentionDays();
    if (days === undefined || stopped) return undefined;
    const held = options.heldBack?.();
    if (held !== undefined) {
      options.onHeldBack?.(held, days);
      return undefined;
    }
    try {
      const result = await pruneEvidenceYielding(store, {
        olderThan: new Date(now() - days * DAY_MS),
        shouldStop: () => stopped,
        ...(options.batchEnvelopes === undefined ? {} : { batchEnvelopes: options.batchEnvelopes }),
      });
      if (result !== undefined && failures > 0) {
        options.onRecovered?.(failures, result, days);
        failures = 0;
        clearTimeout(retry);
      }
      if (result !== undefined && (result.envelopes > 0 || result.permits > 0)) options.onPrune(result, days);
      return result;
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      failures += 1;
      // A busy or full store frees itself (a transaction ends, space is freed): tried again soon. A
      // broken chain or a damaged store waits for the operator: the next interval's run, not a
      // warning every few minutes.
      const transient = error instanceof StoreError && (error.reason === 'busy' || error.reason === 'full');
      const retryInMs = transient ? Math.min(firstRetryMs * 2 ** (failures - 1), intervalMs) : intervalMs;
      clearTimeout(retry);
      if (transient && !stopped) {
        retry = setTimeout(() => void runNow(), retryInMs);
        retry.unref();
      }
      options.onError(error, retryInMs);
      return undefined;
    }
  };
  // One run at a time: a run still going when the next is due (a huge first prune) is that run.
  const runNow = (): Promise<PruneResult | undefined> => {
    running ??= prune().finally(() => {
      running = undefined;
    });
    return running;
  };
  void runNow();
  const timer = setInterval(() => void runNow(), intervalMs);
  timer.unref();
  return {
    runNow,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      clearTimeout(retry);
      await running;
    },
  };
}
