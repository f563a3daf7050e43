import { SyndicateError } from '../errors.js';
import type { Store } from '../store/store.js';
import { pruneEvidenceYielding, type PruneResult } from './retention.js';

const DAY_MS = 24 * 3600 * 1000;

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
  /** A run that failed (the store busy or full): reported, and tried again at the next interval. */
  onError: (error: SyndicateError) => void;
  /** Between runs; default one day. */
  intervalMs?: number;
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
  let stopped = false;
  let running: Promise<PruneResult | undefined> | undefined;
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
      if (result !== undefined && (result.envelopes > 0 || result.permits > 0)) options.onPrune(result, days);
      return result;
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      options.onError(error);
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
  const timer = setInterval(() => void runNow(), options.intervalMs ?? DAY_MS);
  timer.unref();
  return {
    runNow,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
