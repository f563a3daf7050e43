import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { AtomicFile } from '../common/atomic-file.js';
import { shellWord } from '../common/shell-word.js';
import { StoreError } from '../errors.js';
import { busyStoreHint } from './busy-hint.js';

/**
 * Set (to anything but `0`) to upgrade a store without first keeping a copy of it as it was: for a
 * disk without room for one, once the operator has a copy of their own or needs none.
 */
export const UPGRADE_WITHOUT_COPY_VARIABLE = 'SYNDICATE_UPGRADE_WITHOUT_COPY';

/** Whether `environment` says to upgrade without a copy (`UPGRADE_WITHOUT_COPY_VARIABLE`). */
export function upgradeWithoutCopy(environment: NodeJS.ProcessEnv = process.env): boolean {
  const value = environment[UPGRADE_WITHOUT_COPY_VARIABLE];
  return value !== undefined && value !== '' && value !== '0';
}

/** An open that migrated a store an older syndicate had left: from which schema to which, and the copy kept of it. */
export interface StoreUpgrade {
  /** The store. */
  path: string;
  from: number;
  to: number;
  /** The copy of the store at schema `from`; undefined when the operator asked for none (`UPGRADE_WITHOUT_COPY_VARIABLE`). */
  copy: UpgradeCopy | undefined;
}

export interface UpgradeCopy {
  path: string;
  /**
   * Whether this upgrade made it. False: one of schema `from` was already there — an earlier
   * upgrade's, gone back from with a copy of the copy (`cp`, not `mv`) — and was kept as it is.
   */
  made: boolean;
  /** When it was written. */
  writtenAt: Date;
}

/** Where the copy of the store at `path` as schema `schema` left it is kept: beside it, named for that schema. */
export function upgradeCopyPath(path: string, schema: number): string {
  return `${path}.schema-${schema}.bak`;
}

/**
 * Keeps a copy of the store at `path` as it is — schema `from`, about to be migrated to `to` by
 * `db`, which holds its write lock (so no process writes or migrates it meanwhile, and of two
 * processes upgrading it at once one copies and migrates, the other then finds nothing to do).
 * A copy of that schema already there is kept, not made again. The copy is SQLite's `VACUUM
 * INTO` through a read-only connection of its own (the committed state, the write-ahead log's
 * pages included, with every row id), written to a temporary file beside it (0600), flushed to
 * disk and then linked to its name: a copy there is always whole. Refused, before anything is
 * written, when the file system has no room for it.
 */
export function keepCopyBeforeUpgrade(db: Database.Database, path: string, from: number, to: number, busyTimeoutMs: number): UpgradeCopy {
  const copyPath = upgradeCopyPath(path, from);
  const kept = statSync(copyPath, { throwIfNoEntry: false });
  if (kept !== undefined) {
    if (kept.isFile()) return { path: copyPath, made: false, writtenAt: kept.mtime };
    throw new StoreError(`cannot upgrade the store at ${path} from schema ${from} to ${to}: ${copyPath}, where its copy as it is now goes, is not a file; nothing was changed, the store is still at schema ${from}`, {
      hint: `move ${shellWord(copyPath)} out of the way and run the command again`,
    });
  }
  const directory = dirname(path);
  const needed = copyBytes(db);
  const free = freeBytes(directory);
  if (free !== undefined && free < needed) {
    throw noRoomForCopy(path, copyPath, from, to, `it needs ${sizeText(needed)} and the file system holding ${directory} has ${sizeText(free)} free`, `free at least ${sizeText(needed - free)} there`);
  }
  const file = AtomicFile.create(copyPath, 0o600);
  try {
    const reader = new Database(path, { readonly: true, fileMustExist: true });
    try {
      reader.pragma(`busy_timeout = ${busyTimeoutMs}`);
      reader.prepare('VACUUM INTO ?').run(file.temporaryPath);
    } finally {
      reader.close();
    }
    // Only this process can be copying (it holds the write lock): a copy there now was put there by hand.
    const made = file.commitIfAbsent();
    syncDirectory(directory);
    return { path: copyPath, made, writtenAt: statSync(copyPath).mtime };
  } catch (error) {
    file.discard();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
      throw noRoomForCopy(path, copyPath, from, to, `the file system holding ${directory} filled up while it was written (${(error as Error).message})`, `free at least ${sizeText(needed)} there`, error);
    }
    throw new StoreError(`cannot upgrade the store at ${path} from schema ${from} to ${to}: its copy as it is now (${copyPath}) could not be written: ${(error as Error).message}; nothing was changed, the store is still at schema ${from}`, {
      hint: `${copyFailureFix(code, path)}, or ${withoutCopyAdvice(path)}`,
      cause: error,
    });
  }
}

/** Removes a copy this upgrade made when the upgrade then failed: the store is still what it holds, and it would go stale. */
export function removeUpgradeCopy(copy: UpgradeCopy | undefined): void {
  if (copy?.made !== true) return;
  try {
    unlinkSync(copy.path);
  } catch {
    // Gone already: the upgrade's failure is what to report.
  }
}

/**
 * What to tell the operator once the upgrade committed (on stderr, never in a command's JSON):
 * where the copy is and how to go back to the older syndicate with it, or that there is none.
 */
export function storeUpgradeNotice(upgrade: StoreUpgrade): string[] {
  const { path, from, to, copy } = upgrade;
  const upgraded = `upgraded the store ${path} from schema ${from} to ${to}`;
  if (copy === undefined) return [`${upgraded} without keeping a copy of it (${UPGRADE_WITHOUT_COPY_VARIABLE} is set): a syndicate of schema ${from} cannot open it again`];
  const first = copy.made
    ? `${upgraded}; a copy of it as it was (schema ${from}, which the older syndicate opens) is ${copy.path}`
    : `${upgraded}; the copy of it at schema ${from} already at ${copy.path} (written ${copy.writtenAt.toISOString()}) was kept, not made again: what was recorded since then is not in it`;
  return [
    first,
    `to go back to the older syndicate: stop every syndicate process, move the upgraded store aside (\`mv ${shellWord(path)} ${shellWord(`${path}.schema-${to}`)}\`, with its -wal and -shm if any are left), ` +
      `then \`mv ${shellWord(copy.path)} ${shellWord(path)}\`; what is recorded from now on is not in the copy. Delete the copy (\`rm ${shellWord(copy.path)}\`) once you will not go back`,
  ];
}

/** The bytes the copy takes: the store's pages in use (`VACUUM INTO` leaves out free ones). */
function copyBytes(db: Database.Database): number {
  const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
  return pages * (db.pragma('page_size', { simple: true }) as number);
}

/** The bytes this user may still write on the file system holding `directory`; undefined when it does not say. */
function freeBytes(directory: string): number | undefined {
  try {
    const { bavail, bsize } = statfsSync(directory);
    return bavail * bsize;
  } catch {
    return undefined;
  }
}

/** Makes a file linked into `directory` last through a crash: its own content was flushed before. */
function syncDirectory(directory: string): void {
  let descriptor: number;
  try {
    descriptor = openSync(directory, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(descriptor);
  } catch {
    // Some file systems refuse to flush a directory; the copy's content is on disk regardless.
  } finally {
    closeSync(descriptor);
  }
}

function noRoomForCopy(path: string, copyPath: string, from: number, to: number, why: string, room: string, cause?: unknown): StoreError {
  return new StoreError(`cannot upgrade the store at ${path} from schema ${from} to ${to}: there is no room for its copy as it is now (${copyPath}): ${why}; nothing was changed, the store is still at schema ${from}`, {
    hint: `${room} and run the command again, or ${withoutCopyAdvice(path)}`,
    reason: 'full',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The fix for a copy that could not be written, by the SQLite result code or errno of the failure. */
function copyFailureFix(code: string | undefined, path: string): string {
  if (code === undefined) return 'run the command again';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return busyStoreHint(path);
  const directory = dirname(path);
  if (['EACCES', 'EPERM', 'EROFS'].includes(code) || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY')) {
    return `make ${shellWord(directory)} writable by this user and run the command again`;
  }
  return 'run the command again';
}

function withoutCopyAdvice(path: string): string {
  return (
    `upgrade without a copy: run it with ${UPGRADE_WITHOUT_COPY_VARIABLE}=1 (an older syndicate cannot open the store afterwards; ` +
    `to be able to go back, first copy ${shellWord(path)} to another disk with no syndicate process running)`
  );
}

function sizeText(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
