/** Group commit: one IMMEDIATE transaction per event-loop turn, a savepoint per unit. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFERRED_COMMIT_MS, GroupCommitter } from '../../../src/store/group-commit.js';
import { openStore, type Store } from '../../../src/store/store.js';

let directory: string;
let store: Store;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-group-commit-'));
  store = openStore(join(directory, 'store.db'));
  store.db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)');
});

afterEach(() => {
  store.close();
  rmSync(directory, { recursive: true, force: true });
});

/** What another connection (another process, say) sees committed. */
function committedNotes(): string[] {
  const reader = new Database(join(directory, 'store.db'), { readonly: true });
  try {
    return (reader.prepare('SELECT text FROM notes ORDER BY id').all() as { text: string }[]).map((row) => row.text);
  } finally {
    reader.close();
  }
}

const insert = (text: string) => () => store.db.prepare('INSERT INTO notes (text) VALUES (?)').run(text).lastInsertRowid;

describe('GroupCommitter', () => {
  it('runs every unit queued in one turn in one transaction, in order, and resolves each after the commit', async () => {
    const commits = new GroupCommitter(store);
    const seenAtResolution: string[][] = [];
    const units = ['a', 'b', 'c', 'd', 'e'].map((text) =>
      commits.run(insert(text)).then((rowId) => {
        seenAtResolution.push(committedNotes());
        return rowId;
      }),
    );
    expect(committedNotes()).toEqual([]);
    expect(commits.pending).toBe(5);
    expect(await Promise.all(units)).toEqual([1, 2, 3, 4, 5]);
    expect(commits.stats).toEqual({ batches: 1, units: 5, largestBatch: 5 });
    // Every promise settled only once all five rows were visible to another connection.
    for (const seen of seenAtResolution) expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('rolls back only the unit that throws: its writes are gone, the others commit', async () => {
    const commits = new GroupCommitter(store);
    const first = commits.run(insert('first'));
    const failing = commits.run(() => {
      insert('half-written')();
      insert('first')(); // UNIQUE violation: the unit fails after one write of its own
    });
    const last = commits.run(insert('last'));
    const [firstOutcome, failingOutcome, lastOutcome] = await Promise.allSettled([first, failing, last]);
    expect(firstOutcome).toEqual({ status: 'fulfilled', value: 1 });
    expect(failingOutcome).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_UNIQUE' } });
    expect(lastOutcome).toMatchObject({ status: 'fulfilled', value: expect.any(Number) });
    expect(committedNotes()).toEqual(['first', 'last']);
    expect(commits.stats.batches).toBe(1);
  });

  it('rejects every unit of a batch whose transaction cannot start, writing nothing', async () => {
    const blocker = new Database(join(directory, 'store.db'));
    blocker.pragma('busy_timeout = 0');
    store.db.pragma('busy_timeout = 0');
    blocker.exec('BEGIN IMMEDIATE');
    try {
      const commits = new GroupCommitter(store);
      const outcomes = await Promise.allSettled([commits.run(insert('x')), commits.run(insert('y'))]);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'store_failure', message: expect.stringContaining('SQLITE_BUSY') } });
      }
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(committedNotes()).toEqual([]);
  });

  it('lets a unit use store.transaction (a nested savepoint) and batches later turns separately', async () => {
    const commits = new GroupCommitter(store);
    await commits.run(() => store.transaction(insert('nested')));
    await commits.run(insert('second turn'));
    expect(commits.stats).toEqual({ batches: 2, units: 2, largestBatch: 1 });
    expect(committedNotes()).toEqual(['nested', 'second turn']);
  });

  it('idle() waits for what is queued', async () => {
    const commits = new GroupCommitter(store);
    await commits.idle();
    void commits.run(insert('queued'));
    const idle = commits.idle();
    expect(committedNotes()).toEqual([]);
    await idle;
    expect(committedNotes()).toEqual(['queued']);
    expect(commits.pending).toBe(0);
  });

  it("idle() also waits for a unit queued by a settled unit's own continuation", async () => {
    const commits = new GroupCommitter(store);
    const chained = commits.run(insert('first')).then(() => commits.run(insert('second')));
    await commits.idle();
    expect(committedNotes()).toEqual(['first', 'second']);
    expect(commits.pending).toBe(0);
    await chained;
  });

  it('rejects every unit and goes idle when the store was closed before its first batch (nothing prepared yet)', async () => {
    const commits = new GroupCommitter(store);
    const outcomes = Promise.allSettled([commits.run(insert('x')), commits.run(insert('y'))]);
    store.close();
    const idle = commits.idle();
    for (const outcome of await outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'store_failure', message: expect.stringContaining('closed') } });
    }
    await idle;
    expect(commits.pending).toBe(0);
  });

  it('rejects every unit and goes idle when the store was closed after earlier batches', async () => {
    const commits = new GroupCommitter(store);
    await commits.run(insert('before'));
    const outcome = commits.run(insert('after'));
    store.close();
    await expect(outcome).rejects.toMatchObject({ code: 'store_failure', message: expect.stringContaining('closed') });
    await commits.idle();
    expect(committedNotes()).toEqual(['before']);
  });

  it('a deferred unit joins the next batch another unit starts, in queue order: one transaction for both', async () => {
    // Its own DEFERRED_COMMIT_MS timer must not fire first: on a loaded machine a loop turn can take longer.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const commits = new GroupCommitter(store);
      const finish = commits.runDeferred(insert('finish of request 1'));
      await new Promise((resolve) => setImmediate(resolve));
      // Nothing started a batch: the deferred unit is still waiting, uncommitted.
      expect(commits.pending).toBe(1);
      expect(committedNotes()).toEqual([]);
      const start = commits.run(insert('start of request 2'));
      expect(await Promise.all([finish, start])).toEqual([1, 2]);
      expect(commits.stats).toEqual({ batches: 1, units: 2, largestBatch: 2 });
      expect(committedNotes()).toEqual(['finish of request 1', 'start of request 2']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a deferred unit commits on its own when no batch starts within DEFERRED_COMMIT_MS', async () => {
    const commits = new GroupCommitter(store);
    const queuedAt = performance.now();
    await commits.runDeferred(insert('alone'));
    expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(DEFERRED_COMMIT_MS - 1);
    expect(commits.stats).toEqual({ batches: 1, units: 1, largestBatch: 1 });
    expect(committedNotes()).toEqual(['alone']);
  });

  it('idle() commits deferred units at once instead of waiting out their delay', async () => {
    const commits = new GroupCommitter(store);
    void commits.runDeferred(insert('deferred'));
    await commits.idle();
    expect(committedNotes()).toEqual(['deferred']);
    expect(commits.pending).toBe(0);
  });
});
