/** The store holds verbatim prompts: opening it makes it (and its -wal, -shm) 0600 and tells what it was. */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/store.js';

let directory: string;
let path: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-store-mode-'));
  path = join(directory, 'syndicate.db');
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const modeOf = (file: string): number => statSync(file).mode & 0o777;

describe('openStore and the store file mode', () => {
  it('creates the store 0600 with nothing to report', () => {
    const store = openStore(path);
    store.close();
    expect(modeOf(path)).toBe(0o600);
    expect(store.modeChanges).toEqual([]);
  });

  it('sets an existing store with another mode to 0600 and reports the mode it had, once', () => {
    openStore(path).close();
    for (const mode of [0o644, 0o666, 0o400]) {
      chmodSync(path, mode);
      const store = openStore(path, { mustExist: true });
      store.close();
      expect(store.modeChanges, mode.toString(8)).toEqual([{ path, previousMode: mode }]);
      expect(modeOf(path)).toBe(0o600);
      const again = openStore(path, { mustExist: true });
      again.close();
      expect(again.modeChanges).toEqual([]);
    }
  });

  it('sets a -wal and -shm left with wider modes to 0600 too, and reports each; absent ones are not created', () => {
    openStore(path).close();
    const wal = `${path}-wal`;
    const shm = `${path}-shm`;
    const quiet = openStore(path, { mustExist: true });
    quiet.close();
    expect(quiet.modeChanges).toEqual([]);
    expect([existsSync(wal), existsSync(shm)]).toEqual([false, false]);

    // Another connection (a gateway) keeps the WAL and its index in place, holding what it wrote.
    const other = new Database(path);
    try {
      other.exec("CREATE TABLE held_in_wal (note TEXT); INSERT INTO held_in_wal VALUES ('not yet checkpointed')");
      expect([existsSync(wal), existsSync(shm)]).toEqual([true, true]);
      chmodSync(wal, 0o644);
      chmodSync(shm, 0o664);
      const store = openStore(path, { mustExist: true });
      store.close();
      expect(store.modeChanges).toEqual([
        { path: wal, previousMode: 0o644 },
        { path: shm, previousMode: 0o664 },
      ]);
      expect([modeOf(path), modeOf(wal), modeOf(shm)]).toEqual([0o600, 0o600, 0o600]);
    } finally {
      other.close();
    }
  });
});
