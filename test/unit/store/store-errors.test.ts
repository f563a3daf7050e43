/** Store errors carry the fix their SQLite code calls for: a store this user cannot write is not damaged. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/errors.js';
import { openStore, sqliteDriverFailure, Store, storeFailureReason } from '../../../src/store/store.js';

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-store-errors-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe('storeFailureReason', () => {
  it('reads every SQLITE_READONLY* code, SQLITE_CANTOPEN and EACCES/EPERM as access, never as damage', () => {
    for (const code of ['SQLITE_READONLY', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_READONLY_CANTINIT', 'SQLITE_READONLY_RECOVERY', 'SQLITE_CANTOPEN', 'SQLITE_PERM', 'EACCES', 'EPERM', 'EROFS']) {
      expect(storeFailureReason(code), code).toBe('access');
    }
    expect(storeFailureReason('SQLITE_CORRUPT')).toBe('damaged');
    expect(storeFailureReason('SQLITE_NOTADB')).toBe('damaged');
    expect(storeFailureReason('SQLITE_BUSY_SNAPSHOT')).toBe('busy');
    expect(storeFailureReason('SQLITE_FULL')).toBe('full');
    expect(storeFailureReason('SQLITE_CONSTRAINT_UNIQUE')).toBe('other');
  });
});

describe('a write to a store this connection cannot write', () => {
  it('is a StoreError (exit 6) whose hint names the path and the permissions fix, and keeps the store', () => {
    const path = join(directory, 'syndicate.db');
    openStore(path).close();
    const readOnly = new Store(new Database(path, { readonly: true }), path);
    try {
      let failure: unknown;
      try {
        readOnly.transaction(() => readOnly.db.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'x', 'now')"));
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(StoreError);
      const storeError = failure as StoreError;
      expect(storeError).toMatchObject({ exitCode: 6, reason: 'access', message: expect.stringContaining('SQLITE_READONLY') });
      expect(storeError.hint).toContain(`the store ${path} or its directory ${directory} is not writable`);
      expect(storeError.hint).not.toMatch(/move it aside/);
    } finally {
      readOnly.close();
    }
  });
});

describe('sqliteDriverFailure', () => {
  it('reads a native module built for another Node.js (an upgrade since the install) as a rebuild, naming the Node.js', () => {
    const abi = Object.assign(
      new Error('/p/better_sqlite3.node: was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling or re-installing'),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    const failure = sqliteDriverFailure(abi, 'cannot open the store at /h/syndicate.db');
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure?.exitCode).toBe(6);
    expect(failure?.message).toBe(
      `cannot open the store at /h/syndicate.db: the SQLite driver (better-sqlite3's native module) does not load in Node.js ${process.version}: /p/better_sqlite3.node: was compiled against a different Node.js version using`,
    );
    expect(failure?.hint).toMatch(/^its install script did not run .*, or Node\.js changed since: run `cd \S+ && npm rebuild better-sqlite3`$/);
  });

  it('leaves every other error to the store’s own reading', () => {
    expect(sqliteDriverFailure(Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' }), 'x')).toBeUndefined();
    expect(sqliteDriverFailure('not an error', 'x')).toBeUndefined();
  });
});
