import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Store } from './store.js';

/**
 * Moves WAL checkpoints of a long-running process (the gateway) off its event loop.
 * SQLite normally checkpoints inside the commit that crosses `wal_autocheckpoint`, which
 * stalls every request in flight for tens of milliseconds; here the store's own connection
 * stops auto-checkpointing and a worker thread, with its own connection to the same file,
 * runs PASSIVE checkpoints (they never block writers) on a timer.
 */
export interface BackgroundCheckpoint {
  /** Stops the worker and checkpoints once more on the calling thread. */
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -512');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage({ error: String(error) }); }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export function startBackgroundCheckpoint(store: Store, options: { intervalMs?: number } = {}): BackgroundCheckpoint {
  if (store.path === ':memory:') return { stop: async () => {} };
  const driver = fileURLToPath(import.meta.resolve('better-sqlite3'));
  store.db.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path: store.path, driver, intervalMs: options.intervalMs ?? 1000 },
  });
  worker.unref();
  let stopped = false;
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref(); // keep the process alive until the worker has closed its connection
      worker.postMessage('stop');
      await exited;
      if (store.db.open) {
        store.db.pragma('wal_autocheckpoint = 1000');
        store.db.pragma('wal_checkpoint(PASSIVE)');
      }
    },
  };
}
