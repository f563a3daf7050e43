/**
 * The gateway's checkpoint worker opens its own connection to the store file. When it cannot (the
 * file was removed under the gateway before the worker opened it), the error it throws reached the
 * gateway as an unhandled 'error' event and ended the process (ERR_UNHANDLED_ERROR, SQLITE_CANTOPEN).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBackgroundCheckpoint } from '../../../src/store/background-checkpoint.js';
import { openStore } from '../../../src/store/store.js';

describe('background checkpoint worker', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-checkpoint-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('a worker that cannot open the store is reported once, and the store checkpoints on its own connection again', async () => {
    const path = join(directory, 'syndicate.db');
    const store = openStore(path);
    try {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      const failures: string[] = [];
      const reported = new Promise<void>((resolve) => {
        const checkpoint = startBackgroundCheckpoint(store, {
          intervalMs: 10,
          onFailure: (message) => {
            failures.push(message);
            resolve();
            void checkpoint.stop();
          },
        });
      });
      await reported;
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatch(/unable to open database file/);
      expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      store.close();
    }
  });

  it('a worker that opened the store stops and hands checkpoints back', async () => {
    const store = openStore(join(directory, 'syndicate.db'));
    try {
      const failures: string[] = [];
      const checkpoint = startBackgroundCheckpoint(store, { intervalMs: 10, onFailure: (message) => failures.push(message) });
      expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      await checkpoint.stop();
      expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      expect(failures).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('keeps the WAL bounded under writes that never pause: a checkpoint that cannot catch up with the writer restarts the log once it holds enough', async () => {
    const path = join(directory, 'syndicate.db');
    const store = openStore(path);
    const checkpoint = startBackgroundCheckpoint(store, { intervalMs: 5, restartAbovePages: 2000 });
    try {
      store.db.exec('CREATE TABLE soak (bytes BLOB)');
      const insert = store.db.prepare('INSERT INTO soak (bytes) VALUES (?)');
      const row = Buffer.alloc(16 * 1024, 7);
      // Written until the log has stopped growing while 16 MiB more went through it (the worker,
      // a thread of its own, may start late on a loaded machine), and at least 64 MiB; without the
      // restart it never stops growing (86 MB with its frame headers for 64 MiB), up to 256 MiB.
      const atLeast = 64 * 1024 * 1024;
      const steadyFor = 16 * 1024 * 1024;
      const atMost = 256 * 1024 * 1024;
      let written = 0;
      let largest = 0;
      let grewAt = 0;
      while (written < atMost && (written < atLeast || written - grewAt < steadyFor)) {
        insert.run(row);
        written += row.length;
        const size = statSync(`${path}-wal`).size;
        if (size > largest) {
          largest = size;
          grewAt = written;
        }
        // One commit per turn of the event loop, as a busy gateway's group commits come: never a pause.
        await new Promise((resolve) => setImmediate(resolve));
      }
      // The log allowed 2 000 pages (~4 MiB) was started over, not kept growing.
      expect(written - grewAt).toBeGreaterThanOrEqual(steadyFor);
      expect(largest).toBeLessThan(written);
    } finally {
      await checkpoint.stop();
      store.close();
    }
  }, 90_000);
});
