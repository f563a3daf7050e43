import { Option } from 'commander';
import { formatDuration } from '../common/duration.js';
import type { StopSignal } from './interrupt.js';
import type { Output } from './output.js';

/**
 * How long the requests in flight get to finish after SIGTERM or Ctrl-C, unless `--drain-timeout`
 * says otherwise: long enough for a local engine to finish a long answer, and under systemd's
 * default 90 s stop timeout, after which a SIGKILL would leave the rows for the next start to recover.
 */
export const DEFAULT_DRAIN_TIMEOUT = '60s';

/** `--drain-timeout <duration>` of a server that drains on SIGTERM or Ctrl-C (`serve`, `engine serve`); parse it with `parseTimeout`. */
export function drainTimeoutOption(): Option {
  return new Option('--drain-timeout <duration>', 'after SIGTERM or Ctrl-C, how long the requests in flight get to finish before they are cancelled (a bare number is seconds)').default(DEFAULT_DRAIN_TIMEOUT);
}

/** What cut a drain short (a second signal, or `--drain-timeout`), and how many requests it cancelled. */
export interface CutShort {
  why: string;
  cancelled: number;
}

/** A server's side of a bounded drain. */
export interface BoundedDrainOptions {
  output: Output;
  /** The signal that began the drain. */
  stopSignal: StopSignal;
  /** `--drain-timeout`, parsed. */
  drainTimeoutMs: number;
  /** What is in flight, for `shutting down: …` on stderr. */
  inFlightNote: string;
  /** Waits for the requests in flight (each answered or cancelled), then closes the server. */
  close: () => Promise<void>;
  /**
   * Cancels the requests still in flight, `why` saying what cut them short; `secondSignal` when
   * the operator asked to stop at once (close every connection now). Returns how many it cancelled.
   */
  cancelInFlight: (why: string, secondSignal: boolean) => number;
}

/**
 * Drains a server after its first SIGTERM or Ctrl-C, for at most `--drain-timeout`: the requests
 * still in flight then, or at a second signal, are cancelled. Resolves once the server has closed,
 * with what cut the drain short (undefined for a clean drain); the caller exits 130 / 143
 * (`exitCodeFor`) when that cancelled any request.
 */
export async function drainWithin(options: BoundedDrainOptions): Promise<CutShort | undefined> {
  const { output, stopSignal, drainTimeoutMs } = options;
  let cutShort: CutShort | undefined;
  // A second signal after the deadline still closes every connection; the first cut names why.
  const cutInFlight = (why: string, secondSignal: boolean): void => {
    const cancelled = options.cancelInFlight(why, secondSignal);
    cutShort = { why: cutShort?.why ?? why, cancelled: (cutShort?.cancelled ?? 0) + cancelled };
  };
  const forceClose = (signal: StopSignal): void => {
    output.warn('second signal: cancelling the requests in flight and closing every connection now');
    cutInFlight(`a second ${signal}`, true);
  };
  process.once('SIGTERM', () => forceClose('SIGTERM'));
  process.once('SIGINT', () => forceClose('SIGINT'));
  const drainTimeout = formatDuration(drainTimeoutMs);
  const drainDeadline = setTimeout(() => {
    output.warn(`the requests in flight did not finish within --drain-timeout ${drainTimeout}: cancelling them`);
    cutInFlight(`${stopSignal}, and the requests in flight did not finish within --drain-timeout ${drainTimeout}`, false);
  }, drainTimeoutMs);
  output.info(`shutting down: ${options.inFlightNote} (at most ${drainTimeout})`);
  try {
    await options.close();
  } finally {
    clearTimeout(drainDeadline);
  }
  return cutShort;
}
