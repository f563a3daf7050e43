import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, fchmodSync, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError, type StoreFailureReason } from '../errors.js';
import { ensureDirectory, FILE_IN_THE_WAY_HINT, firstNonDirectory } from '../home/home.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { shellWord } from '../common/shell-word.js';
import { busyStoreHint } from './busy-hint.js';
import { keepCopyBeforeUpgrade, removeUpgradeCopy, upgradeWithoutCopy, type StoreUpgrade } from './upgrade-copy.js';

export type SqliteDatabase = Database.Database;

/**
 * The one SQLite store (WAL). Every command's writes go through `transaction`, so a command
 * either lands whole or not at all.
 */
export class Store {
  readonly db: SqliteDatabase;
  readonly path: string;
  private readonly statements = new Map<string, Database.Statement>();
  /** The newest migration this build knows, once `watchSchema` was called (after the open migrated the store). */
  private knownSchema: number | undefined;
  /** The store's schema cookie (`PRAGMA schema_version`) when this connection last found its migrations known. */
  private schemaCookie = 0;
  private schemaCookieStatement: Database.Statement | undefined;

  /** Built once: better-sqlite3 makes a new wrapper function per `db.transaction` call. */
  private readonly runTransaction: Database.Transaction<(work: () => unknown, outermost: boolean) => unknown>;

  /**
   * The store files (the database, its `-wal`, its `-shm`) this open set to 0600 (see `openStore`),
   * with the permission bits each had: empty when every one already was 0600 or absent.
   */
  readonly modeChanges: readonly StoreModeChange[];

  /**
   * This open created the database file (exclusively: no other process did, or can have been
   * told it did). Only its creator may remove a store, and only while no one else could use it.
   */
  readonly created: boolean;

  constructor(db: SqliteDatabase, path: string, modeChanges: readonly StoreModeChange[] = [], created = false) {
    this.db = db;
    this.path = path;
    this.modeChanges = modeChanges;
    this.created = created;
    this.runTransaction = db.transaction((work: () => unknown, outermost: boolean) => {
      if (outermost) this.refuseNewerSchema();
      return work();
    });
  }

  /**
   * Runs `work` in one IMMEDIATE transaction (takes the write lock up front, so no upgrade
   * deadlock). Inside another transaction it is a savepoint: all-or-nothing within it. Refused,
   * before `work` runs, once a newer syndicate migrated the store (`refuseNewerSchema`).
   */
  transaction<T>(work: () => T): T {
    try {
      return this.immediateTransaction(work);
    } catch (error) {
      throw storeErrorFrom(error, 'store write failed', this.path);
    }
  }

  /**
   * `transaction` with SQLite's and `work`'s errors as they are thrown, for callers that say
   * themselves what failed (the evidence writers): the same IMMEDIATE transaction, or savepoint
   * inside another, refused before `work` runs once a newer syndicate migrated the store.
   */
  immediateTransaction<T>(work: () => T): T {
    return this.runTransaction.immediate(work, !this.db.inTransaction) as T;
  }

  /**
   * From now on, `refuseNewerSchema` refuses writes once another process has migrated the store
   * past `knownSchema`, the newest migration of this build (see `openStore`).
   */
  watchSchema(knownSchema: number): void {
    this.knownSchema = knownSchema;
    this.schemaCookie = this.readSchemaCookie();
  }

  private readSchemaCookie(): number {
    this.schemaCookieStatement ??= this.db.prepare('PRAGMA schema_version').pluck(true);
    return this.schemaCookieStatement.get() as number;
  }

  /**
   * At the start of a write transaction (under the write lock): a StoreError when a newer
   * syndicate migrated the store since this connection opened it — a package upgraded while a
   * gateway or an MCP server of the older build kept running. That process would go on writing
   * rows the newer schema reads differently (a session turn without the link or the mark a later
   * migration added, which `evidence verify` then reports as tampering), so it writes nothing
   * more. One read of SQLite's schema cookie when nothing changed; the migrations table only
   * when it did (every schema change, by any connection, bumps it).
   */
  refuseNewerSchema(): void {
    const newer = this.newerSchema();
    if (newer !== undefined) throw newerStoreError(this.path, newer, this.knownSchema ?? 0, true);
  }

  /**
   * The schema a newer syndicate migrated the store to since this connection opened it (see
   * `refuseNewerSchema`), or undefined while it has not: what the gateway's `/healthz` reports.
   */
  newerSchema(): number | undefined {
    if (this.knownSchema === undefined) return undefined;
    const cookie = this.readSchemaCookie();
    if (cookie === this.schemaCookie) return undefined;
    const newest = this.newestAppliedMigration();
    if (newest > this.knownSchema) return newest;
    this.schemaCookie = cookie;
    return undefined;
  }

  /**
   * Opens a read transaction for work of many reads that must see one state of the store — a
   * chain walk, an export — while other processes write it: their commits meanwhile are not seen,
   * and what they delete stays readable. Returns what ends it. Within a transaction of the
   * caller's, that one is the snapshot and nothing is opened. Nothing else should use this
   * connection until it ends: a write in it fails (busy) once another process wrote since it began.
   */
  readSnapshot(): () => void {
    const { db } = this;
    if (db.inTransaction) return () => undefined;
    db.exec('BEGIN');
    return () => {
      if (db.inTransaction) db.exec('COMMIT');
    };
  }

  /**
   * A prepared statement for `sql`, prepared once per connection: hot paths (routing, permits,
   * evidence) run the same few statements on every request.
   */
  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Applied migration versions, ascending. */
  appliedMigrations(): number[] {
    return [...this.appliedMigrationNames().keys()];
  }

  /** Applied migrations, version to the name the build that applied it gave it, ascending. */
  appliedMigrationNames(): Map<number, string> {
    const rows = this.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
    return new Map(rows.map((row) => [row.version, row.name]));
  }

  /** The newest migration applied to the store (0 for none): its schema. */
  newestAppliedMigration(): number {
    return Math.max(0, ...this.appliedMigrations());
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export interface OpenStoreOptions {
  /** Open without creating the file (used by `doctor`, which must not create state). */
  mustExist?: boolean;
  /** The hint when `mustExist` finds no store (default: run `syndicate init`). */
  missingStoreHint?: string;
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
  /**
   * Before migrating a store an older syndicate left, keep a copy of it as it is beside it
   * (`keepCopyBeforeUpgrade`). Default: unless `SYNDICATE_UPGRADE_WITHOUT_COPY` is set.
   */
  copyBeforeUpgrade?: boolean;
  /** Called once the open migrated such a store (committed): to tell the operator where its copy is. */
  onUpgrade?: (upgrade: StoreUpgrade) => void;
}

/** The store file's mode: it holds verbatim prompts and responses. */
export const STORE_FILE_MODE = 0o600;

/** How long a write waits for another connection's write lock before failing busy (SQLite's busy_timeout), unless `busyTimeoutMs` says. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** A store file whose mode was set to 0600, and the permission bits it had. */
export interface StoreModeChange {
  path: string;
  previousMode: number;
}

/**
 * The store's files: the database, its write-ahead log (`-wal`: committed pages not yet copied into
 * the database, the same evidence bytes) and the log's shared-memory index (`-shm`). SQLite makes
 * the last two while a connection is open and removes them when the last one closes cleanly.
 */
export function storeFilePaths(path: string): [database: string, wal: string, sharedMemory: string] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Sets a store file's mode to 0600 when it has another; returns the permission bits it had then
 * (undefined when it already was 0600, is not a regular file — a directory in its place is
 * reported as such, never chmod-ed — or, with `ifExists`, when there is no such file). Other
 * file-system errors are thrown as they are.
 */
export function restrictStoreFileMode(path: string, options: { ifExists?: boolean } = {}): number | undefined {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    if (options.ifExists === true && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!stats.isFile()) return undefined;
  const mode = stats.mode & 0o777;
  if (mode === STORE_FILE_MODE) return undefined;
  try {
    chmodSync(path, STORE_FILE_MODE);
  } catch (error) {
    // A -wal or -shm removed in between (its last connection closed) has nothing left to expose.
    if (options.ifExists === true && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return mode;
}

/** What is at `path` when it is not a regular file (`is a directory`); undefined for a file or nothing. */
function notARegularFile(path: string): string | undefined {
  try {
    const stats = statSync(path);
    if (stats.isFile()) return undefined;
    return stats.isDirectory() ? 'is a directory' : 'is neither a file nor a directory';
  } catch {
    return undefined;
  }
}

function isEmptyFile(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch {
    return false;
  }
}

/** Whether the store's write-ahead log holds pages (committed writes SQLite copies into the database on opening it). */
function hasLoggedPages(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}

/**
 * `restrictStoreFileMode` for each store file (`storeFilePaths`): the database when it exists, its
 * `-wal` and `-shm` when they exist — never creating them. Returns what changed.
 */
function restrictStoreFileModes(path: string, databaseExists: boolean): StoreModeChange[] {
  const [database, ...companions] = storeFilePaths(path);
  const changes: StoreModeChange[] = [];
  const restrict = (file: string, ifExists: boolean): void => {
    const previousMode = restrictStoreFileMode(file, { ifExists });
    if (previousMode !== undefined) changes.push({ path: file, previousMode });
  };
  if (databaseExists) restrict(database, false);
  for (const companion of companions) restrict(companion, true);
  return changes;
}

/**
 * Opens (creating on first use) the store at `path`, or `:memory:` for tests, and migrates it.
 * An existing store file with another mode than 0600 is set to 0600 before SQLite opens it (so a
 * WAL it creates is 0600 too), and so are a `-wal` and `-shm` left from before, which SQLite would
 * keep using with their modes; `Store.modeChanges` says what each was, for the caller to report.
 */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const inMemory = path === ':memory:';
  let created = false;
  if (!inMemory && !existsSync(path)) {
    if (options.mustExist === true) {
      // A file where the data directory should be (`--home notes.txt`): `init` there would fail too, so not its hint.
      const inTheWay = firstNonDirectory(dirname(path));
      if (inTheWay !== undefined) throw new StoreError(`no store at ${path}: ${inTheWay} is a file, not a directory`, { hint: FILE_IN_THE_WAY_HINT });
      throw new StoreError(`no store at ${path}`, { hint: options.missingStoreHint ?? 'run `syndicate init` first' });
    }
    ensureDirectory(dirname(path));
    created = createStoreFile(path);
  }
  const existed = !created;
  const notAFile = existed && !inMemory ? notARegularFile(path) : undefined;
  if (notAFile !== undefined) {
    throw new StoreError(`the store ${path} ${notAFile}, not a file`, {
      hint: `move ${shellWord(path)} out of the way, then run \`syndicate init\`; if it holds a store of yours, it is the file to put there`,
    });
  }
  // SQLite reads an empty file as an empty database, and the migrations would then make it a new,
  // empty store: a store truncated to nothing would pass `evidence verify` as an intact chain of no
  // rows. A command that only uses an existing store refuses it instead; `init` makes a new one.
  if (existed && !inMemory && options.mustExist === true && isEmptyFile(path) && !hasLoggedPages(path)) {
    throw new StoreError(`the store ${path} is an empty file (0 bytes): it holds no store, not even an empty one`, {
      hint: `it was truncated or replaced outside syndicate: restore it from a backup; \`syndicate init\` makes a new, empty store there, without the evidence chain it held`,
    });
  }
  let modeChanges: StoreModeChange[] = [];
  try {
    // Companions left without their database (it was moved or deleted) are used by SQLite too.
    if (!inMemory) modeChanges = restrictStoreFileModes(path, existed);
  } catch (error) {
    if (created) removeCreatedStoreFile(path, error);
    throw storeErrorFrom(error, `cannot set the mode of the store at ${path} (or its -wal, -shm) to 0600`, path);
  }
  let db: SqliteDatabase;
  try {
    db = new Database(path, { fileMustExist: options.mustExist === true });
  } catch (error) {
    if (created) removeCreatedStoreFile(path, error);
    throw storeFileFailure(error, `cannot open the store at ${path}`, path);
  }
  try {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Only takes effect on a new file (before its first page is written). Every commit writes each
    // page it touched to the WAL; with 2 KB pages an evidence envelope writes 32 KB instead of
    // 60 KB, which bench/evidence.js measures as ~15 % more envelopes per CPU second.
    db.pragma('page_size = 2048');
    switchToWriteAheadLog(db, busyTimeoutMs);
    db.pragma('synchronous = NORMAL');
    // Checkpoint (and fsync) every ~40 MB of WAL instead of every 4 MB: evidence writes ~15 pages
    // per envelope, and fewer, larger checkpoints cost less per envelope (bench/evidence.js).
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('foreign_keys = ON');
    const store = new Store(db, path, modeChanges, created);
    const migrations = options.migrations ?? MIGRATIONS;
    const upgrade = migrate(store, migrations, {
      copyBeforeUpgrade: !inMemory && (options.copyBeforeUpgrade ?? !upgradeWithoutCopy()),
      busyTimeoutMs,
    });
    if (upgrade !== undefined) options.onUpgrade?.(upgrade);
    // A store this call created holds exactly what the migrations made; one that existed may not.
    if (existed && !inMemory) checkSchema(store, migrations);
    store.watchSchema(newestMigration(migrations));
    return store;
  } catch (error) {
    db.close();
    if (created) removeCreatedStoreFile(path, error);
    if (error instanceof StoreError) throw error;
    throw storeErrorFrom(error, 'store open failed', path);
  }
}

/**
 * Creates the empty database file with mode 0600, exclusively: true when this call made it, false
 * when another process did first (two `init`s of one CI job). SQLite would create it with the
 * umask's mode, which a second process could see — and copy to the -wal it makes — before the
 * first one set it to 0600.
 */
function createStoreFile(path: string): boolean {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'wx', STORE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storeFileFailure(error, `cannot create the store at ${path}`, path);
  }
  try {
    // The umask may have taken bits from the mode.
    fchmodSync(descriptor, STORE_FILE_MODE);
  } finally {
    closeSync(descriptor);
  }
  return true;
}

/** A StoreError for a failure to create or open the store file: `storeErrorFrom`'s, else one naming `what` failed. */
function storeFileFailure(error: unknown, what: string, path: string): StoreError {
  const failure = storeErrorFrom(error, what, path);
  if (failure instanceof StoreError) return failure;
  const driver = sqliteDriverFailure(error, what);
  if (driver !== undefined) return driver;
  return new StoreError(`${what}: ${(error as Error).message}`, {
    hint: 'check the file permissions, or choose another data directory with --home',
    cause: error,
  });
}

/** The directory syndicate is installed in (a checkout, or `<prefix>/lib/node_modules/syndicate`). */
const PACKAGE_DIRECTORY = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The StoreError for better-sqlite3's native module failing to load, or undefined for any other
 * error. Its install script builds or downloads that module: an install that skipped it (npm's
 * `--ignore-scripts`, an install script npm did not allow) leaves none ("Could not locate the
 * bindings file"), and a Node.js upgraded since leaves one built for another ABI
 * (NODE_MODULE_VERSION). Either way the store is fine and the fix is a rebuild, not its permissions.
 */
export function sqliteDriverFailure(error: unknown, what: string): StoreError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  const missing = error.message.startsWith('Could not locate the bindings file');
  if (!missing && code !== 'ERR_DLOPEN_FAILED' && !/NODE_MODULE_VERSION/.test(error.message)) return undefined;
  const firstLine = error.message.split('\n')[0] ?? error.message;
  const state = missing ? 'is not built' : `does not load in Node.js ${process.version}`;
  return new StoreError(`${what}: the SQLite driver (better-sqlite3's native module) ${state}: ${firstLine}`, {
    hint: `its install script did not run when syndicate was installed (npm's --ignore-scripts, or a script npm did not allow), or Node.js changed since: run \`cd ${shellWord(PACKAGE_DIRECTORY)} && npm rebuild better-sqlite3\``,
    reason: 'other',
    cause: error,
  });
}

/**
 * Removes the database file an `openStore` that then failed had created: a failed open leaves no
 * store behind. Not when it failed because another connection held the store (busy): that one
 * opened the new file too, and a store removed under a connection fails its next use
 * (SQLITE_IOERR_FSTAT when it opens the -wal). The -wal and -shm went with the last connection.
 */
function removeCreatedStoreFile(path: string, failure: unknown): void {
  const code = storeErrorCode(failure);
  if (code !== undefined && storeFailureReason(code) === 'busy') return;
  if (failure instanceof StoreError && failure.reason === 'busy') return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone: the failure is the error worth reporting.
  }
}

/**
 * `PRAGMA journal_mode = WAL`, waiting up to `busyTimeoutMs` while another connection holds the
 * write lock. On a new store (still in rollback mode) the switch writes the file header from inside
 * a read transaction, and SQLite answers SQLITE_BUSY at once, without its busy handler, when
 * another process switching the same new store holds the lock: parallel `init`s of a new home
 * failed so ("database is locked").
 */
function switchToWriteAheadLog(db: SqliteDatabase, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waitMs = 1; ; waitMs = Math.min(waitMs * 2, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = error instanceof Error && error.name === 'SqliteError' && storeFailureReason((error as NodeJS.ErrnoException).code ?? '') === 'busy';
      if (!busy || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, waitMs);
    }
  }
}

/** The newest migration of `migrations` (0 for none). */
function newestMigration(migrations: readonly Migration[]): number {
  return Math.max(0, ...migrations.map((migration) => migration.version));
}

/**
 * The refusal of a store migrated past the `known` migrations of this build: at open (an older
 * syndicate run on an upgraded home), or while a process of this build kept it open.
 */
function newerStoreError(path: string, newest: number, known: number, whileOpen = false): StoreError {
  if (!whileOpen) {
    return new StoreError(`the store at ${path} was written by a newer syndicate (schema ${newest} > ${known})`, {
      hint: 'upgrade syndicate, or point --home at another data directory',
    });
  }
  return new StoreError(`the store at ${path} was upgraded by a newer syndicate while this process was running (schema ${newest} > ${known}): it writes nothing more to it until restarted with the newer syndicate`, {
    hint: 'stop this process (a gateway, an MCP server) and start it again with the newer syndicate',
  });
}

/**
 * The refusal of a store that records one of this build's migration versions under another name:
 * a development build numbered its migrations differently (two branches that each added one, put in
 * order when merged — 77746bba's 18 `health-releases` is 19 here). This build would take that
 * version for applied, so one of its own would never run, and fail on (or, worse, pass over) what
 * that build made under another number: it changes nothing. Never the case of a store a released
 * build migrated: a released migration keeps its version and name.
 */
function misnumberedStoreError(path: string, migration: Migration, storedName: string, from: number, known: number): StoreError {
  return new StoreError(
    `the store at ${path} cannot be upgraded from schema ${from} to ${known}: its migration ${migration.version} is ${storedName}, this syndicate's ${migration.version} is ${migration.name} — a development build of syndicate, whose migrations were numbered differently, migrated it; nothing was changed, the store is still at schema ${from}`,
    {
      hint: `run the build that migrated it, or, to go on with this one, move the store aside (\`mv ${shellWord(path)} ${shellWord(`${path}.dev-schema-${from}`)}\`, with its -wal and -shm if any are left; it holds the evidence chain) so that the next command starts a new one`,
    },
  );
}

/**
 * Applies the pending `migrations`, all in one transaction. Of a store some were applied to before
 * (an older syndicate's), returns the upgrade, after keeping a copy of it as it was unless
 * `copyBeforeUpgrade` is false: a new store needs none.
 */
function migrate(store: Store, migrations: readonly Migration[], options: { copyBeforeUpgrade: boolean; busyTimeoutMs: number }): StoreUpgrade | undefined {
  const { db } = store;
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const known = newestMigration(migrations);
  const pendingMigrations = (): Migration[] => {
    const applied = store.appliedMigrationNames();
    const newest = Math.max(0, ...applied.keys());
    if (newest > known) throw newerStoreError(store.path, newest, known);
    const misnumbered = migrations.find((migration) => applied.has(migration.version) && applied.get(migration.version) !== migration.name);
    if (misnumbered !== undefined) throw misnumberedStoreError(store.path, misnumbered, applied.get(misnumbered.version)!, newest, known);
    return migrations.filter((migration) => !applied.has(migration.version)).sort((a, b) => a.version - b.version);
  };
  if (pendingMigrations().length === 0) return undefined;
  let upgrade: StoreUpgrade | undefined;
  try {
    store.transaction(() => {
      // Read again under the write lock: another process opening a new store at the same time (two
      // `init`s of one CI job, two commands of a newer build) may have applied them while this one
      // waited for the lock — and then made the copy too.
      const from = store.newestAppliedMigration();
      const pending = pendingMigrations();
      if (pending.length === 0) return;
      if (from > 0) {
        // Under the write lock: nothing is written to the store between its copy and its migration.
        const copy = options.copyBeforeUpgrade ? keepCopyBeforeUpgrade(db, store.path, from, known, options.busyTimeoutMs) : undefined;
        upgrade = { path: store.path, from, to: known, copy };
      }
      applyMigrations(store, pending, from, known);
    });
  } catch (error) {
    removeUpgradeCopy(upgrade?.copy);
    throw error;
  }
  return upgrade;
}

/** Applies `pending` in the caller's transaction; the first that fails is reported as the upgrade from `from` to `known` it interrupted. */
function applyMigrations(store: Store, pending: readonly Migration[], from: number, known: number): void {
  const { db } = store;
  for (const migration of pending) {
    try {
      db.exec(migration.sql);
      migration.backfill?.(db);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, new Date().toISOString());
    } catch (error) {
      throw migrationFailure(error, store.path, migration, from, known);
    }
  }
}

/**
 * A pending migration that failed, as the upgrade it interrupted: which one, and that the store
 * stays at the schema it had (the failure rolls back every migration of the transaction). It was
 * `store write failed (SQLITE_ERROR): table tools_refusals already exists` on whichever command
 * first opened the store after an upgrade, with `doctor` to run, which said the same. A table,
 * index or column of a migration's name made outside syndicate gets the fix for that; a bug in a
 * backfill stays one (exit 70).
 */
function migrationFailure(error: unknown, path: string, migration: Migration, from: number, to: number): unknown {
  const failure = storeErrorFrom(error, 'migration failed', path);
  if (!(failure instanceof StoreError)) return failure;
  const conflict = (error as NodeJS.ErrnoException).code === 'SQLITE_ERROR' && failure.reason === 'other';
  const hint = conflict
    ? `the store holds a table, index or column of that name that syndicate did not make (added by hand or by another tool): copy ${shellWord(path)} aside (it holds the evidence chain), then rename or drop that object with the sqlite3 shell, or restore the store from a backup; the next command migrates it again`
    : failure.hint;
  return new StoreError(
    `the store at ${path} could not be upgraded from schema ${from} to ${to}: migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}; nothing was changed, the store is still at schema ${from}`,
    // A conflict is syndicate's own diagnosis (no reason): `doctor` shows its hint as it is.
    { hint, reason: conflict ? undefined : failure.reason, cause: error },
  );
}

/**
 * A StoreError for a SQLite or file-system error raised while using the store at `path`, with
 * the fix its code calls for; anything else (a bug) is returned unchanged.
 */
export function storeErrorFrom(error: unknown, what: string, path: string): unknown {
  const code = storeErrorCode(error);
  if (code === undefined) return error;
  const message = (error as Error).message;
  // A table or column the migrations made is gone: the schema was changed outside syndicate.
  if (/^no such (table|column)/.test(message)) {
    return new StoreError(`${what} (${code}): ${message}`, { hint: DAMAGED_SCHEMA_HINT, reason: 'damaged', cause: error });
  }
  const reason = storeFailureReason(code);
  return new StoreError(`${what} (${code}): ${message}`, { hint: storeFailureHint(reason, path), reason, cause: error });
}

/** Which fix a SQLite result code or errno calls for. Permission problems are never `damaged`. */
export function storeFailureReason(code: string): StoreFailureReason {
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') return 'access';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'access';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'damaged';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'full';
  return 'other';
}

/**
 * The fix for each reason. Only a damaged store may be moved aside, and even then kept: it holds
 * the evidence chain. A store this user cannot write is a permissions problem, fixed in place.
 */
function storeFailureHint(reason: StoreFailureReason, path: string): string {
  const directory = dirname(path);
  switch (reason) {
    case 'access': {
      const uid = process.getuid?.();
      const user = uid === undefined ? 'this user' : `this user (uid ${uid})`;
      return (
        `the store ${path} or its directory ${directory} is not writable by ${user}: check their owner and mode (\`ls -ld ${shellWord(directory)} ${shellWord(path)}\`); ` +
        `both must belong to you, with \`chmod 700 ${shellWord(directory)}\` and \`chmod 600 ${shellWord(path)}\`; do not move or delete the store, it holds the evidence chain`
      );
    }
    case 'busy':
      return busyStoreHint(path);
    case 'damaged':
      return `the store ${path} is damaged: restore it from a backup; without one, move it aside (keep it: it holds the evidence chain) and run \`syndicate init\``;
    case 'full':
      return `the file system holding ${path} is full: free some space and retry`;
    case 'other':
      return 'run `syndicate doctor` to check the store';
  }
}

/** The SQLite result code of a better-sqlite3 error, or the errno of a file-system error about access. */
function storeErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (error.name === 'SqliteError') return code ?? 'SQLITE_ERROR';
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC' ? code : undefined;
}

/** What to do about a store whose schema is not the one its migrations made. */
const DAMAGED_SCHEMA_HINT =
  'the store was changed outside syndicate: stop every syndicate process and restore syndicate.db from a backup (or move it aside and run `syndicate init` for a new, empty store)';

/** A table, column or index the migrations create, as `checkSchema` compares them. */
interface SchemaObject {
  /** `table evidence`, `column evidence.hash`, `index evidence_chain_seq`. */
  name: string;
  table: string;
}

const SCHEMA_OBJECTS = `SELECT type || ' ' || name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
  UNION ALL
  SELECT 'column ' || m.name || '.' || c.name, m.name FROM sqlite_schema AS m JOIN pragma_table_xinfo(m.name) AS c
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`;

function schemaObjects(db: SqliteDatabase): SchemaObject[] {
  const rows = db.prepare(SCHEMA_OBJECTS).raw(true).all() as [string, string][];
  return rows.map(([name, table]) => ({ name, table }));
}

const expectedSchemas = new WeakMap<readonly Migration[], SchemaObject[]>();

/** The schema `migrations` make, from applying them to an empty in-memory database (once per list). */
function expectedSchema(migrations: readonly Migration[]): SchemaObject[] {
  let expected = expectedSchemas.get(migrations);
  if (expected === undefined) {
    const db = new Database(':memory:');
    try {
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) db.exec(migration.sql);
      expected = schemaObjects(db);
    } finally {
      db.close();
    }
    expectedSchemas.set(migrations, expected);
  }
  return expected;
}

/**
 * Fails with a StoreError when a table, column or index the applied migrations create is missing
 * (dropped or renamed outside syndicate): every command would otherwise fail later, on whichever
 * statement first names it, with SQLite's "no such table" as an internal error. What the store
 * has beyond them is left alone. Costs ~2.5 ms once per process (the in-memory migrations) and
 * ~0.5 ms per open of an existing store.
 */
function checkSchema(store: Store, migrations: readonly Migration[]): void {
  const present = new Set(schemaObjects(store.db).map((object) => object.name));
  const missing = expectedSchema(migrations).filter((object) => !present.has(object.name));
  if (missing.length === 0) return;
  // A missing table takes its columns and indexes with it: name the table only.
  const missingTables = new Set(missing.filter((object) => object.name === `table ${object.table}`).map((object) => object.table));
  const named = missing.filter((object) => object.name === `table ${object.table}` || !missingTables.has(object.table)).map((object) => object.name);
  const newest = store.newestAppliedMigration();
  throw new StoreError(`the store at ${store.path} is damaged: its schema lacks ${named.join(', ')} (it records every migration up to ${newest} as applied)`, {
    hint: DAMAGED_SCHEMA_HINT,
    details: { missing: named },
  });
}
