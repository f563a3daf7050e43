/**
 * A store a development build migrated, whose migrations were numbered differently from this
 * build's: the branch that recorded holds' releases (77746bba) numbered them migration 18
 * (`health-releases`); merged beside another branch's 18 (`engine-event-outcomes`), they became 19.
 * A store that build made records 18 as `health-releases`, so this build took 18 for applied (its
 * own 18 never ran) and failed on 19's `health_releases already exists`, with the hint for a table
 * made by hand or by another tool (QA over a home the old build made, 2026-12-07). It is refused
 * before anything runs, naming the migration recorded under another name. The old-shaped store is
 * made here by this build's migrations up to 17 and that build's 18 (the same SQL as today's 19).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeOpenFailure } from '../../../src/doctor/doctor.js';
import { ExitCode, StoreError } from '../../../src/errors.js';
import { MIGRATIONS, type Migration } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';

const KNOWN = Math.max(...MIGRATIONS.map((migration) => migration.version));

describe('a store a build with differently numbered migrations made', () => {
  let directory: string;
  let path: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-misnumbered-'));
    path = join(directory, 'syndicate.db');
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const inspect = <T>(read: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };

  it('is refused before any migration runs, naming the migration it records under another name; nothing changes', () => {
    const releases = MIGRATIONS.find((migration) => migration.name === 'health-releases')!;
    expect(releases.version).toBe(19);
    const branchBuild: Migration[] = [...MIGRATIONS.filter((migration) => migration.version <= 17), { ...releases, version: 18 }];
    const old = openStore(path, { migrations: branchBuild });
    old.db.prepare("INSERT INTO sessions (id, created_at, updated_at) VALUES ('ses_kept', '2026-12-05T00:00:00.000Z', '2026-12-05T00:00:00.000Z')").run();
    old.close();

    let failure: unknown;
    try {
      openStore(path).close();
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StoreError);
    const error = failure as StoreError;
    expect(error.exitCode).toBe(ExitCode.store);
    expect(error.message).toBe(
      `the store at ${path} cannot be upgraded from schema 18 to ${KNOWN}: its migration 18 is health-releases, this syndicate's 18 is engine-event-outcomes — a development build of syndicate, whose migrations were numbered differently, migrated it; nothing was changed, the store is still at schema 18`,
    );
    expect(error.hint).toContain('run the build that migrated it');
    // doctor shows that fix, not its generic one.
    expect(storeOpenFailure(error).hint).toBe(error.hint);
    // Nothing ran and no copy was kept: the store is as that build left it.
    expect(inspect((db) => db.prepare('SELECT version, name FROM schema_migrations WHERE version >= 17 ORDER BY version').all())).toEqual([
      { version: 17, name: 'health-holds' },
      { version: 18, name: 'health-releases' },
    ]);
    expect(inspect((db) => db.prepare("SELECT count(*) FROM pragma_table_info('engine_events') WHERE name = 'outcome'").pluck(true).get())).toBe(0);
    expect(inspect((db) => db.prepare('SELECT id FROM sessions').pluck(true).all())).toEqual(['ses_kept']);
    expect(readdirSync(directory).filter((name) => name.includes('.bak'))).toEqual([]);
  });

  it('a store whose every migration bears this build\'s name opens as before', () => {
    openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version <= 17) }).close();
    const upgraded = openStore(path);
    try {
      expect(Math.max(...upgraded.appliedMigrations())).toBe(KNOWN);
    } finally {
      upgraded.close();
    }
  });
});
