/**
 * The gateway's checkpoint worker opens its own connection to the store file. When it cannot (the
 * file was removed under the gateway before the worker opened it), the error it throws reached the
 * gateway as an unhandled 'error' event and ended the process (ERR_UNHANDLED_ERROR, SQLITE_CANTOPEN).
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBackgroundCheckpoint } from '../../../src/store/background-checkpoint.js';
import { openStore, type Store } from '../../../src/store/store.js';

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
      expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(40_000); // the backstop: 4 × 10 000
      await checkpoint.stop();
      expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      expect(failures).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('restarts the log again and again under writes that never pause (a passive checkpoint alone never lets it start over)', async () => {
    const path = join(directory, 'syndicate.db');
    const store = openStore(path);
    const checkpoint = startBackgroundCheckpoint(store, { intervalMs: 5, restartAbovePages: 2000 });
    try {
      const restarts = await writeWithoutPause(store, path, { rowBytes: 16 * 1024, untilRestarts: 3, atMostBytes: 256 * 1024 * 1024 });
      expect(restarts.count).toBeGreaterThanOrEqual(3);
    } finally {
      await checkpoint.stop();
      store.close();
    }
  }, 90_000);

  it("keeps the log bounded when the worker falls behind: the store's own commits checkpoint it past four times the restart limit", async () => {
    const path = join(directory, 'syndicate.db');
    const store = openStore(path);
    // A worker that never gets to run (a thread starved on a loaded machine, or one holding the
    // checkpoint lock), not one that failed: the store's connection is never handed checkpoints back.
    const checkpoint = startBackgroundCheckpoint(store, { intervalMs: 3_600_000, restartAbovePages: 2000 });
    try {
      const restarts = await writeWithoutPause(store, path, { rowBytes: 16 * 1024, untilRestarts: Infinity, atMostBytes: 64 * 1024 * 1024 });
      const pageSize = Number(store.db.pragma('page_size', { simple: true }));
      const frameBytes = pageSize + 24;
      // 8 000 frames and the commit that crossed them; without the backstop 64 MiB made an 86 MB log.
      expect(restarts.largestLogBytes).toBeLessThanOrEqual(32 + (4 * 2000 + 16 * 1024 / pageSize + 8) * frameBytes);
      expect(restarts.count).toBeGreaterThanOrEqual(3);
    } finally {
      await checkpoint.stop();
      store.close();
    }
  }, 90_000);
});

/**
 * One commit per turn of the event loop, as a busy gateway's group commits come: never a pause.
 * Counts the log's restarts by its header's checkpoint sequence number, which each one increments.
 */
async function writeWithoutPause(
  store: Store,
  path: string,
  limits: { rowBytes: number; untilRestarts: number; atMostBytes: number },
): Promise<{ count: number; largestLogBytes: number }> {
  store.db.exec('CREATE TABLE soak (bytes BLOB)');
  const insert = store.db.prepare('INSERT INTO soak (bytes) VALUES (?)');
  const row = Buffer.alloc(limits.rowBytes, 7);
  const header = Buffer.alloc(16);
  let firstSequence: number | undefined;
  let count = 0;
  let largestLogBytes = 0;
  for (let written = 0; written < limits.atMostBytes && count < limits.untilRestarts; written += row.length) {
    insert.run(row);
    const log = openSync(`${path}-wal`, 'r');
    try {
      largestLogBytes = Math.max(largestLogBytes, fstatSync(log).size);
      readSync(log, header, 0, 16, 0);
    } finally {
      closeSync(log);
    }
    const sequence = header.readUInt32BE(12);
    firstSequence ??= sequence;
    count = sequence - firstSequence;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { count, largestLogBytes };
}
