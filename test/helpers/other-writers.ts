import { performance } from 'node:perf_hooks';
import { OTHER_WRITERS_RECHECK_MS } from '../../src/store/cached-read.js';

/**
 * Resolves once more than OTHER_WRITERS_RECHECK_MS have passed on the clock the store's recheck
 * reads (`performance.now()`), so a read after it sees another connection's commit. A bare
 * `setTimeout(OTHER_WRITERS_RECHECK_MS + 1)` is not enough: node counts a timer from the event
 * loop's cached time, which lags behind after a slow synchronous stretch (a loaded machine, a
 * SQLite write), and the timer then fires after less real time than it asked for.
 */
export async function pastOtherWritersRecheck(): Promise<void> {
  const until = performance.now() + OTHER_WRITERS_RECHECK_MS + 1;
  while (performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
}
