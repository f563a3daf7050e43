import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Store } from './store.js';

/**
 * Moves WAL checkpoints of a long-running process (the gateway) off its event loop.
 * SQLite normally checkpoints inside the commit that crosses `wal_autocheckpoint`, which
 * stalls every request in flight for tens of milliseconds; here the store's own connection
 * auto-checkpoints only as a backstop (see `restartAbovePages`) and a worker thread, with its
 * own connection to the same file, runs PASSIVE checkpoints (they never block writers) on a timer.
 */
export interface BackgroundCheckpoint {
  /** Stops the worker and checkpoints once more on the calling thread. */
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
} catch (error) {
  // Said in a message: an error thrown here reaches the parent as a bare { code } object.
  parentPort.postMessage({ failed: String(error) });
  process.exit(1);
}
// Short: a restart waiting for the writer holds the checkpoint lock, which keeps the store's own
// backstop checkpoint (see restartAbovePages) from running meanwhile.
db.pragma('busy_timeout = 10');
db.pragma('cache_size = -512');
let timer;
let stopped = false;
const pass = () => {
  try {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
    // A writer that never pauses leaves frames behind every passive pass, so the log never starts
    // over: past the limit, wait for the writer (briefly: the pass above copied nearly all) and
    // restart it. Not TRUNCATE: growing the file again cost ~10 % of evidence writes (bench/evidence.js).
    if (passive !== undefined && passive.log >= workerData.restartAbovePages) db.pragma('wal_checkpoint(RESTART)');
  } catch (error) { parentPort.postMessage({ error: String(error) }); }
  // A full interval after each pass, however long it took, in which the store's connection can
  // take the checkpoint lock.
  if (!stopped) timer = setTimeout(pass, workerData.intervalMs);
};
timer = setTimeout(pass, workerData.intervalMs);
parentPort.on('message', () => { stopped = true; clearTimeout(timer); db.close(); parentPort.close(); });
`;

export interface BackgroundCheckpointOptions {
  intervalMs?: number;
  /**
   * WAL pages past which a checkpoint also restarts the log, so the next commit writes it from
   * its start. Default 10 000 (~20 MB of 2 KiB pages, where a CLI process's own checkpoints run).
   * Passive checkpoints never block the writer, but under writes that never pause they never
   * catch up with it either, and the log (a file that never shrinks) grew by every byte written:
   * 180 MB in a minute of gateway traffic.
   *
   * The restart waits for the writer lock in SQLite's busy handler, which polls at growing
   * intervals: a writer holding the lock nearly all the time (one large commit per turn of the
   * event loop) kept it waiting ~2 s while the log grew by 150 MB. So the store's own connection
   * keeps a backstop at four times this: a commit that finds the log that long checkpoints it
   * itself, on the event loop, as SQLite does by default — a stall, but the log stays bounded.
   */
  restartAbovePages?: number;
  /**
   * The worker failed (it could not open the store: the file was removed under the process, or
   * it threw): the store's own connection checkpoints from then on, as SQLite does by default.
   * Called once; without it the failure is silent. A worker error must never end the process.
   */
  onFailure?: (message: string) => void;
}

/** SQLite's own checkpoint threshold, in pages, which the worker's checkpoints stand in for. */
const AUTOCHECKPOINT_PAGES = 1000;

/** See `BackgroundCheckpointOptions.restartAbovePages`: openStore's `wal_autocheckpoint`. */
const RESTART_ABOVE_PAGES = 10_000;

/** The store's own checkpoint threshold while the worker runs, in multiples of `restartAbovePages`. */
const BACKSTOP_MULTIPLE = 4;

export function startBackgroundCheckpoint(store: Store, options: BackgroundCheckpointOptions = {}): BackgroundCheckpoint {
  if (store.path === ':memory:') return { stop: async () => {} };
  const driver = fileURLToPath(import.meta.resolve('better-sqlite3'));
  const restartAbovePages = options.restartAbovePages ?? RESTART_ABOVE_PAGES;
  const backstopPages = restartAbovePages * BACKSTOP_MULTIPLE;
  store.db.pragma(`wal_autocheckpoint = ${backstopPages}`);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path: store.path, driver, intervalMs: options.intervalMs ?? 1000, restartAbovePages },
  });
  worker.unref();
  let stopped = false;
  let failed = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fail = (message: string): void => {
    if (failed || stopped) return;
    failed = true;
    if (store.db.open) store.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    options.onFailure?.(message);
  };
  // An error thrown in the worker (opening a store file that is gone) is emitted here: unhandled,
  // it would end the whole gateway.
  // (A checkpoint that fails on a timer tick — busy beside another process's — is tried again on the next.)
  worker.on('error', (error: unknown) => fail(errorText(error)));
  worker.on('message', (message: unknown) => {
    const failed = typeof message === 'object' && message !== null ? (message as { failed?: unknown }).failed : undefined;
    if (typeof failed === 'string') fail(failed);
  });
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      worker.ref(); // keep the process alive until the worker has closed its connection
      worker.postMessage('stop');
      await exited;
      if (store.db.open) {
        store.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        store.db.pragma('wal_checkpoint(PASSIVE)');
      }
    },
  };
}

/** An error from the worker: an Error, or what structured cloning left of one (SQLite's `{ code }`). */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    if (typeof message === 'string') return message;
    if (typeof code === 'string') return code;
  }
  return String(error);
}
