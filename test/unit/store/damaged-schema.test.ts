/** A store whose migrations say it is current but whose tables, columns or indexes were removed outside syndicate. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, StoreError } from '../../../src/errors.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';

let directory: string;
let path: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-damaged-schema-'));
  path = join(directory, 'syndicate.db');
  openStore(path).close();
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** Runs `sql` on the store file through a connection of its own, as an operator's sqlite3 shell would. */
function editOutside(sql: string): void {
  const db = new Database(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function openFailure(): StoreError {
  try {
    openStore(path).close();
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
  throw new Error('the store opened');
}

describe('openStore on a store with a damaged schema', () => {
  it('opens an intact store, and one with objects of its own beside syndicate\'s', () => {
    openStore(path).close();
    editOutside('CREATE TABLE notes (text TEXT); ALTER TABLE evidence ADD COLUMN reviewed INTEGER; CREATE INDEX evidence_model ON evidence(model)');
    openStore(path).close();
  });

  it('refuses a missing evidence table with a store error (exit 6) naming it and saying to restore a backup', () => {
    editOutside('DROP TABLE evidence_chain_head');
    const error = openFailure();
    expect(error.exitCode).toBe(ExitCode.store);
    expect(error.message).toBe(`the store at ${path} is damaged: its schema lacks table evidence_chain_head (it records every migration up to ${MIGRATIONS.length} as applied)`);
    expect(error.hint).toMatch(/^the store was changed outside syndicate: stop every syndicate process and restore syndicate\.db from a backup/);
    expect(error.details).toEqual({ missing: ['table evidence_chain_head'] });
  });

  it('names a missing column and index, and a missing table once (not its columns and indexes)', () => {
    editOutside('DROP INDEX evidence_priced; ALTER TABLE evidence DROP COLUMN cache_write_input_tokens; DROP TABLE engine_events');
    expect(openFailure().details).toEqual({ missing: expect.arrayContaining(['index evidence_priced', 'column evidence.cache_write_input_tokens', 'table engine_events']) });
    expect((openFailure().details as { missing: string[] }).missing).toHaveLength(3);
  });

  it('reports a pending migration that fails on a missing table as a damaged store too', () => {
    rmSync(path);
    openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version <= 8) }).close();
    editOutside('DROP TABLE evidence');
    // Migration 9 adds columns to `evidence`.
    const error = openFailure();
    expect(error.exitCode).toBe(ExitCode.store);
    expect(error.message).toMatch(/no such table: evidence/);
    expect(error.hint).toMatch(/^the store was changed outside syndicate/);
  });
});
