/**
 * An upgrade whose migration fails: the store stays whole at the schema it had (every pending
 * migration is one transaction), and the error says so — which migration failed, from which schema
 * to which — with the fix. It was `store write failed (SQLITE_ERROR): table tools_refusals already
 * exists` on whichever command first opened the store, its hint to run `doctor`, which said the same.
 * The old-shaped store is made by this build's own migrations up to 20 (what a build of that
 * time made), not a committed database file: the migrations never change once released.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeOpenFailure } from '../../../src/doctor/doctor.js';
import { ExitCode, StoreError } from '../../../src/errors.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';

const KNOWN = Math.max(...MIGRATIONS.map((migration) => migration.version));

describe('an upgrade whose migration fails on an object made outside syndicate', () => {
  let directory: string;
  let path: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-migration-failure-'));
    path = join(directory, 'syndicate.db');
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  /** Runs `sql` through a connection of its own, as an operator's sqlite3 shell or another tool would. */
  const editOutside = (sql: string): void => {
    const db = new Database(path);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  };
  const inspect = <T>(read: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };

  it('leaves the store at its schema with its rows, names the migration and the fix, and the next open after the fix migrates it', () => {
    const old = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version <= 20) });
    old.db.prepare("INSERT INTO sessions (id, created_at, updated_at) VALUES ('ses_kept', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')").run();
    old.close();
    // Migration 23 creates tools_refusals; 21 and 22 run before it in the same transaction.
    editOutside('CREATE TABLE tools_refusals (note TEXT)');

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
      `the store at ${path} could not be upgraded from schema 20 to ${KNOWN}: migration 23 (tools-refusals) failed: table tools_refusals already exists; nothing was changed, the store is still at schema 20`,
    );
    expect(error.hint).toBe(
      `the store holds a table, index or column of that name that syndicate did not make (added by hand or by another tool): copy ${path} aside (it holds the evidence chain), then rename or drop that object with the sqlite3 shell, or restore the store from a backup; the next command migrates it again`,
    );
    // doctor shows that fix, not its generic one.
    expect(storeOpenFailure(error).hint).toBe(error.hint);

    // Nothing of 21 and 22 was kept: no chain column, no migration recorded.
    expect(inspect((db) => db.prepare('SELECT max(version) FROM schema_migrations').pluck(true).get())).toBe(20);
    expect(inspect((db) => db.prepare("SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'chain_hash'").pluck(true).get())).toBe(0);
    expect(inspect((db) => db.prepare('SELECT id FROM sessions').pluck(true).all())).toEqual(['ses_kept']);

    editOutside('DROP TABLE tools_refusals');
    const upgraded = openStore(path);
    try {
      expect(Math.max(...upgraded.appliedMigrations())).toBe(KNOWN);
      expect(upgraded.db.prepare('SELECT id FROM sessions').pluck(true).all()).toEqual(['ses_kept']);
    } finally {
      upgraded.close();
    }
  });
});
