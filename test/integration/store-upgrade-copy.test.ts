/**
 * Upgrading keeps a copy of the store as the older syndicate left it: the first command of this
 * build on a store of schema 26 copies it to `syndicate.db.schema-26.bak` before migrating it, and
 * says once on stderr where it is and how to go back; a copy that cannot fit is refused (exit 6)
 * with nothing migrated; of commands racing to upgrade it one copies. Before, nothing was kept: an
 * operator who had not copied the store by hand could not go back to the older build.
 *
 * The older store is made by this build — real rows of `run`s through a fake engine, a session's
 * chain among them — with migration 27 undone: it only adds two columns to `engine_processes`, so
 * what is left is what a build of schema 26 leaves (its tables, `schema_migrations` up to 26).
 */
import Database from 'better-sqlite3';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { parseJsonDocument, REPO_ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { registeredEngineScenario } from '../helpers/scenario.js';

const KNOWN = Math.max(...MIGRATIONS.map((migration) => migration.version));
const OLDER = 26;

/** How to undo each migration after `OLDER`, newest first: a new migration must add its own. */
const UNDO: Record<number, string> = {
  27: 'ALTER TABLE engine_processes DROP COLUMN supervisor_start_ticks; ALTER TABLE engine_processes DROP COLUMN supervisor_pid;',
  28: 'ALTER TABLE evidence_prunes DROP COLUMN hash; ALTER TABLE evidence_prunes DROP COLUMN prev_hash;',
};

const SMALL_DISK = join(REPO_ROOT, 'test', 'helpers', 'small-disk.cjs');

type Json = Record<string, unknown>;

function withDatabase<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function schemaOf(path: string): number {
  return withDatabase(path, (db) => db.prepare('SELECT max(version) FROM schema_migrations').pluck(true).get() as number);
}

/**
 * Every row of every table but `schema_migrations`, by table, with the evidence rows' row ids (the
 * order `evidence list` and `export` keep): what a copy must hold as the store held it.
 */
function contents(path: string): Record<string, unknown[]> {
  return withDatabase(path, (db) => {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations' ORDER BY name").pluck(true).all() as string[];
    const rows: Record<string, unknown[]> = {};
    for (const table of tables) {
      const all = db.prepare(`SELECT ${table === 'evidence' ? 'rowid AS row_id, ' : ''}* FROM "${table}"`).all();
      rows[table] = all.map((row) => JSON.stringify(row)).sort();
    }
    return rows;
  });
}

describe('a command of this build on a store an older syndicate (schema 26) left', () => {
  const setup = registeredEngineScenario('local', { kind: 'ollama' });
  /** What `evidence verify --json` says of the rows, before any upgrade. */
  let verified: Json;
  const homes: string[] = [];

  beforeAll(async () => {
    expect(KNOWN, 'a migration was added: add how to undo it to UNDO').toBe(Math.max(OLDER, ...Object.keys(UNDO).map(Number)));
    for (const prompt of ['What is the capital of France?', 'And of Italy?']) {
      const answered = await setup.scenario.cli(['run', prompt]);
      expect(answered.exitCode, answered.stderr).toBe(0);
    }
    const started = await setup.scenario.json(['session', 'start']);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const session = (started.document.session as Json).id as string;
    const turn = await setup.scenario.cli(['run', 'What is the capital of Spain?', '--session', session]);
    expect(turn.exitCode, turn.stderr).toBe(0);
    const verify = await setup.scenario.json(['evidence', 'verify']);
    expect(verify.result.exitCode, verify.result.stderr).toBe(0);
    verified = verify.document;
    expect(verified).toMatchObject({ ok: true, rows: 3 });
  }, 90_000);

  afterAll(() => {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  /** A copy of the scenario's home (its store closed: no command runs) with the store taken back to schema 26. */
  function olderHome(): { home: string; store: string; copy: string } {
    const home = mkdtempSync(join(tmpdir(), 'syndicate-upgrade-copy-'));
    homes.push(home);
    cpSync(setup.scenario.home, home, { recursive: true });
    const store = join(home, 'syndicate.db');
    const db = new Database(store, { fileMustExist: true });
    try {
      db.transaction(() => {
        for (let version = KNOWN; version > OLDER; version -= 1) db.exec(UNDO[version] as string);
        db.prepare('DELETE FROM schema_migrations WHERE version > ?').run(OLDER);
      })();
    } finally {
      db.close();
    }
    expect(schemaOf(store)).toBe(OLDER);
    return { home, store, copy: `${store}.schema-${OLDER}.bak` };
  }

  /** The names in `home` that are not the store's (its copies, a temporary file left). */
  function besideStore(home: string): string[] {
    return readdirSync(home)
      .filter((name) => name.startsWith('syndicate.db') || name.startsWith('.syndicate.db'))
      .filter((name) => !['syndicate.db', 'syndicate.db-wal', 'syndicate.db-shm'].includes(name))
      .sort();
  }

  function noteLines(result: CliResult): string[] {
    return result.stderr.split('\n').filter((line) => line.startsWith('note: '));
  }

  it('keeps a whole copy of it at schema 26 (its rows, row ids and chains as they were, mode 0600), says once where it is and how to go back, and the copy verifies as it did', { timeout: 90_000 }, async () => {
    const { home, store, copy } = olderHome();
    const before = contents(store);

    const listed = await runCli(['--json', 'evidence', 'list'], { home });
    expect(listed.exitCode, listed.stderr).toBe(0);
    // stdout holds the document only; the note is on stderr.
    expect(parseJsonDocument(listed.stdout)).toMatchObject({ ok: true });
    expect((parseJsonDocument(listed.stdout).evidence as unknown[]).length).toBe(3);
    expect(noteLines(listed)).toEqual([
      `note: upgraded the store ${store} from schema ${OLDER} to ${KNOWN}; a copy of it as it was (schema ${OLDER}, which the older syndicate opens) is ${copy}`,
      `note: to go back to the older syndicate: stop every syndicate process, move the upgraded store aside (\`mv ${store} ${store}.schema-${KNOWN}\`, with its -wal and -shm if any are left), ` +
        `then \`mv ${copy} ${store}\`; what is recorded from now on is not in the copy. Delete the copy (\`rm ${copy}\`) once you will not go back`,
    ]);

    expect(besideStore(home)).toEqual([`syndicate.db.schema-${OLDER}.bak`]);
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(withDatabase(copy, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
    expect(schemaOf(copy)).toBe(OLDER);
    expect(withDatabase(copy, (db) => db.prepare("SELECT count(*) FROM pragma_table_info('engine_processes') WHERE name = 'supervisor_pid'").pluck(true).get())).toBe(0);
    expect(contents(copy)).toEqual(before);
    expect(schemaOf(store)).toBe(KNOWN);

    // Once: the next command finds nothing to upgrade, says nothing, and leaves the copy as it is.
    const copied = readFileSync(copy);
    const again = await runCli(['evidence', 'verify'], { home });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(noteLines(again)).toEqual([]);
    expect(readFileSync(copy).equals(copied)).toBe(true);
    expect(besideStore(home)).toEqual([`syndicate.db.schema-${OLDER}.bak`]);

    // Gone back to: the copy in a home of its own is the store it was — its chains verify to the same head.
    const { home: restored } = olderHome();
    cpSync(copy, join(restored, 'syndicate.db'));
    const verify = await runCli(['--json', 'evidence', 'verify'], { home: restored, env: { SYNDICATE_UPGRADE_WITHOUT_COPY: '1' } });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(parseJsonDocument(verify.stdout)).toEqual(verified);
    // Asked to upgrade without a copy: it says so, and makes none.
    expect(noteLines(verify)).toEqual([
      `note: upgraded the store ${join(restored, 'syndicate.db')} from schema ${OLDER} to ${KNOWN} without keeping a copy of it (SYNDICATE_UPGRADE_WITHOUT_COPY is set): a syndicate of schema ${OLDER} cannot open it again`,
    ]);
    expect(besideStore(restored)).toEqual([]);
  });

  it('refuses to upgrade it when the copy cannot fit (exit 6, the room it needs and how to upgrade without one), leaving it at schema 26 with its rows and no file beside it', { timeout: 90_000 }, async () => {
    const { home, store, copy } = olderHome();
    const before = contents(store);
    const smallDisk = { NODE_OPTIONS: `--require ${JSON.stringify(SMALL_DISK)}`, SYNDICATE_TEST_FREE_BYTES: '4096' };

    const refused = await runCli(['evidence', 'list'], { home, env: smallDisk });
    expect(refused.exitCode, refused.stderr).toBe(6);
    expect(refused.stdout).toBe('');
    const [error, hint, ...rest] = refused.stderr.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(error).toMatch(
      new RegExp(
        `^error: cannot upgrade the store at ${escape(store)} from schema ${OLDER} to ${KNOWN}: there is no room for its copy as it is now \\(${escape(copy)}\\): ` +
          `it needs \\d+ KiB and the file system holding ${escape(home)} has 4 KiB free; nothing was changed, the store is still at schema ${OLDER}$`,
      ),
    );
    expect(hint).toMatch(
      new RegExp(
        `^hint: free at least \\d+ KiB there and run the command again, or upgrade without a copy: run it with SYNDICATE_UPGRADE_WITHOUT_COPY=1 ` +
          `\\(an older syndicate cannot open the store afterwards; to be able to go back, first copy ${escape(store)} to another disk with no syndicate process running\\)$`,
      ),
    );
    const json = await runCli(['--json', 'evidence', 'list'], { home, env: smallDisk });
    expect(json.exitCode).toBe(6);
    expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'store_failure', hint: expect.stringContaining('SYNDICATE_UPGRADE_WITHOUT_COPY=1') } });

    expect(schemaOf(store)).toBe(OLDER);
    expect(contents(store)).toEqual(before);
    expect(besideStore(home)).toEqual([]);

    // What the hint says to do when there is no room to free: the upgrade without a copy.
    const upgraded = await runCli(['evidence', 'list'], { home, env: { ...smallDisk, SYNDICATE_UPGRADE_WITHOUT_COPY: '1' } });
    expect(upgraded.exitCode, upgraded.stderr).toBe(0);
    expect(schemaOf(store)).toBe(KNOWN);
    expect(besideStore(home)).toEqual([]);
  });

  it('is kept and told of by init and doctor too, which open the store themselves', { timeout: 90_000 }, async () => {
    for (const command of ['init', 'doctor']) {
      const { home, store, copy } = olderHome();
      const result = await runCli(['--json', command], { home });
      expect(result.exitCode, `${command}: ${result.stderr}`).toBe(0);
      expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: true });
      expect(noteLines(result)[0], command).toBe(`note: upgraded the store ${store} from schema ${OLDER} to ${KNOWN}; a copy of it as it was (schema ${OLDER}, which the older syndicate opens) is ${copy}`);
      expect(noteLines(result).length, command).toBe(2);
      expect(schemaOf(copy), command).toBe(OLDER);
    }
  });

  it('of commands racing to upgrade it, one copies it and says so, and every one succeeds', { timeout: 90_000 }, async () => {
    const { home, store, copy } = olderHome();
    const before = contents(store);

    const results = await Promise.all([1, 2, 3, 4].map(() => runCli(['--json', 'evidence', 'list'], { home })));
    for (const result of results) {
      expect(result.exitCode, result.stderr).toBe(0);
      expect(parseJsonDocument(result.stdout)).toMatchObject({ ok: true });
    }
    const told = results.filter((result) => noteLines(result).length > 0);
    expect(told.length).toBe(1);
    expect(noteLines(told[0] as CliResult)[0]).toBe(`note: upgraded the store ${store} from schema ${OLDER} to ${KNOWN}; a copy of it as it was (schema ${OLDER}, which the older syndicate opens) is ${copy}`);

    expect(besideStore(home)).toEqual([`syndicate.db.schema-${OLDER}.bak`]);
    expect(withDatabase(copy, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
    expect(schemaOf(copy)).toBe(OLDER);
    expect(contents(copy)).toEqual(before);
    expect(schemaOf(store)).toBe(KNOWN);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
