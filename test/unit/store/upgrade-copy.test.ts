/**
 * The copy an upgrade keeps of a store an older syndicate left (`syndicate.db.schema-N.bak`), at
 * the edges the CLI test does not reach: an upgrade that fails leaves no copy of a store that is
 * still what it holds; a copy of that schema already there is kept, never made again; a new store
 * gets none; without a copy when asked; refused when its name is taken by something else.
 * Old-shaped stores are made by this build's own migrations up to that schema.
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/errors.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';
import { storeUpgradeNotice, type StoreUpgrade } from '../../../src/store/upgrade-copy.js';

const KNOWN = Math.max(...MIGRATIONS.map((migration) => migration.version));

describe('the copy an upgrade keeps of the store', () => {
  let directory: string;
  let path: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-upgrade-copy-'));
    path = join(directory, 'syndicate.db');
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const olderStore = (schema: number): void => {
    const store = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version <= schema) });
    store.db.prepare("INSERT INTO sessions (id, created_at, updated_at) VALUES ('ses_kept', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')").run();
    store.close();
  };
  const upgrade = (options: { copyBeforeUpgrade?: boolean } = {}): StoreUpgrade[] => {
    const upgrades: StoreUpgrade[] = [];
    openStore(path, { ...options, onUpgrade: (done) => upgrades.push(done) }).close();
    return upgrades;
  };
  const schemaOf = (file: string): number => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT max(version) FROM schema_migrations').pluck(true).get() as number;
    } finally {
      db.close();
    }
  };
  const beside = (): string[] => readdirSync(directory).filter((name) => !['syndicate.db', 'syndicate.db-wal', 'syndicate.db-shm'].includes(name));

  it('is removed when the upgrade then fails: the store is still what it holds (and would go stale); the next upgrade makes it again', () => {
    olderStore(20);
    const outside = new Database(path);
    outside.exec('CREATE TABLE tools_refusals (note TEXT)');
    outside.close();

    expect(() => upgrade()).toThrow(StoreError);
    expect(schemaOf(path)).toBe(20);
    expect(beside()).toEqual([]);

    const fixed = new Database(path);
    fixed.exec('DROP TABLE tools_refusals');
    fixed.close();
    const [done] = upgrade();
    expect(done).toMatchObject({ path, from: 20, to: KNOWN, copy: { path: `${path}.schema-20.bak`, made: true } });
    expect(beside()).toEqual(['syndicate.db.schema-20.bak']);
    expect(schemaOf(`${path}.schema-20.bak`)).toBe(20);
  });

  it('of a schema already copied is kept as it is, not made again, and the notice says since when', () => {
    olderStore(KNOWN - 1);
    const copy = `${path}.schema-${KNOWN - 1}.bak`;
    writeFileSync(copy, 'an earlier copy');
    utimesSync(copy, new Date('2026-11-30T10:00:00.000Z'), new Date('2026-11-30T10:00:00.000Z'));

    const [done] = upgrade();
    expect(done).toEqual({ path, from: KNOWN - 1, to: KNOWN, copy: { path: copy, made: false, writtenAt: new Date('2026-11-30T10:00:00.000Z') } });
    expect(readFileSync(copy, 'utf8')).toBe('an earlier copy');
    expect(schemaOf(path)).toBe(KNOWN);
    expect(storeUpgradeNotice(done as StoreUpgrade)[0]).toBe(
      `upgraded the store ${path} from schema ${KNOWN - 1} to ${KNOWN}; the copy of it at schema ${KNOWN - 1} already at ${copy} (written 2026-11-30T10:00:00.000Z) was kept, not made again: what was recorded since then is not in it`,
    );
  });

  it('is not made for a new store, nor for one at this build’s schema', () => {
    expect(upgrade()).toEqual([]);
    expect(upgrade()).toEqual([]);
    expect(beside()).toEqual([]);
  });

  it('is not made when the caller says so (SYNDICATE_UPGRADE_WITHOUT_COPY): the upgrade says there is none', () => {
    olderStore(KNOWN - 1);
    expect(upgrade({ copyBeforeUpgrade: false })).toEqual([{ path, from: KNOWN - 1, to: KNOWN, copy: undefined }]);
    expect(beside()).toEqual([]);
    expect(schemaOf(path)).toBe(KNOWN);
  });

  it('refuses the upgrade when something else has its name (a directory), migrating nothing', () => {
    olderStore(KNOWN - 1);
    const copy = `${path}.schema-${KNOWN - 1}.bak`;
    mkdirSync(copy);
    expect(() => upgrade()).toThrow(
      `cannot upgrade the store at ${path} from schema ${KNOWN - 1} to ${KNOWN}: ${copy}, where its copy as it is now goes, is not a file; nothing was changed, the store is still at schema ${KNOWN - 1}`,
    );
    expect(schemaOf(path)).toBe(KNOWN - 1);
    expect(beside()).toEqual([`syndicate.db.schema-${KNOWN - 1}.bak`]);
  });
});
