import { randomBytes } from 'node:crypto';
import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomically } from '../common/atomic-file.js';
import { DEFAULT_POLICY_YAML } from '../policy/default-policy.js';
import { openStore, storeFilePaths, type Store } from '../store/store.js';
import type { StoreUpgrade } from '../store/upgrade-copy.js';
import { checkDirectories, checkGatewayToken, checkPermitKey, checkPolicyFile, checkStoreCompanionFiles, checkStoreFile, currentUserId, type HomeCheck } from './checks.js';
import { ensureDirectory, writeFileOnce, type HomePaths } from './home.js';

export interface InitResult {
  dataDir: string;
  configDir: string;
  created: string[];
  kept: string[];
  /**
   * Kept files syndicate cannot use as they are (invalid, not yours, or open to other users), and
   * existing directories every command would refuse (not yours, or writable by group or others:
   * never changed, the operator chose them). `syndicate init` exits 1 when there is any; it never
   * rewrites or deletes a kept file.
   */
  problems: InitFinding[];
  /**
   * What `doctor` warns of and commands accept: kept files readable by others that hold no
   * secret, and a kept store whose mode was not 0600 (opening it set it to 0600, as every command does).
   */
  warnings: InitFinding[];
}

/** Something wrong with a directory or a kept file, and how to fix it. */
export interface InitFinding {
  name: string;
  path: string;
  kind: 'directory' | 'file';
  detail: string;
  hint?: string;
  /** What `detail` reports was already changed by syndicate (the store's mode set to 0600). */
  fixed?: boolean;
}

export interface InitOptions {
  /** The user the files must belong to (tests inject another); undefined skips owner and mode rules. Default: this process's user. */
  userId?: number | undefined;
  /** Called when opening the home's store upgraded it (an older syndicate's store): see `OpenStoreOptions.onUpgrade`. */
  onStoreUpgrade?: (upgrade: StoreUpgrade) => void;
}

/**
 * Creates the data directory, the store, the default policy, the permit signing key and the
 * gateway bearer token. Idempotent: existing files are kept untouched (a key is never rotated
 * here; only the store's mode is set to 0600, as every command opening it does), then checked as
 * `doctor` checks them, and so are existing directories. A failure to create any of them (the
 * store first) removes what this call had created: the home is left as it was found.
 */
export function initializeHome(home: HomePaths, options: InitOptions = {}): InitResult {
  const userId = 'userId' in options ? options.userId : currentUserId();
  const created: string[] = [];
  const kept: string[] = [];
  const note = (path: string, wasCreated: boolean): void => {
    (wasCreated ? created : kept).push(path);
  };
  const store = createMissing(home, note, options.onStoreUpgrade);

  const fileChecks: [string, (path: string, userId: number | undefined) => HomeCheck][] = [
    [home.permitKeyPath, checkPermitKey],
    [home.gatewayTokenPath, checkGatewayToken],
    [home.policyPath, checkPolicyFile],
    [home.storePath, (path, user) => checkStoreFile(path, user, store.modeChanges.find((change) => change.path === path)?.previousMode)],
  ];
  const keptChecks = fileChecks.filter(([path]) => kept.includes(path)).map(([path, check]) => check(path, userId));
  // A -wal or -shm another process keeps open (or a crash left) is the store's too; closing ours removed any it could.
  keptChecks.push(...checkStoreCompanionFiles(home.storePath, userId, store.modeChanges));
  const directoryChecks = checkDirectories(home, userId);
  // A directory doctor fails makes every command refuse the home (the permit key, policy and store
  // in it could be replaced): set up, but not usable, as a kept file that cannot be used.
  const checked = [...directoryChecks.map((check) => ({ check, kind: 'directory' as const })), ...keptChecks.map((check) => ({ check, kind: 'file' as const }))];
  const withStatus = (status: HomeCheck['status']): InitFinding[] => checked.filter(({ check }) => check.status === status).map(({ check, kind }) => finding(check, kind));
  const problems = withStatus('fail');
  const warnings = withStatus('warn');
  return { dataDir: home.dataDir, configDir: home.configDir, created, kept, problems, warnings };
}

/**
 * Creates what `home` lacks — directories, the store, the permit key, the gateway token, the
 * policy — and returns the store (closed: for its `modeChanges`). The store comes first: it is
 * what most often cannot be made (a directory or a damaged store in its place, a directory this
 * user cannot write), and the secrets are written only once it opened. A failure at any step
 * removes everything this call had created (kept files are never touched), so an `init` that
 * fails leaves the home as it found it.
 */
function createMissing(home: HomePaths, note: (path: string, wasCreated: boolean) => void, onStoreUpgrade: InitOptions['onStoreUpgrade']): Store {
  const undo: (() => void)[] = [];
  try {
    for (const directory of [home.dataDir, home.configDir]) {
      const first = ensureDirectory(directory);
      if (first !== undefined) undo.push(() => removeEmptyDirectories(directory, first));
    }
    // A -wal or -shm left without its database is the operator's: only what this open makes goes.
    const absent = storeFilePaths(home.storePath).filter((path) => lstatSync(path, { throwIfNoEntry: false }) === undefined);
    const store = openStore(home.storePath, onStoreUpgrade === undefined ? {} : { onUpgrade: onStoreUpgrade });
    store.close();
    // Only the store this call created (another `init` of the same new home may have, and may have
    // it open: removing it under that one made its next open fail with SQLITE_IOERR_FSTAT).
    if (store.created) undo.push(() => absent.forEach(removeQuietly));
    note(home.storePath, store.created);
    const secrets: [string, string][] = [
      [home.permitKeyPath, randomBytes(32).toString('base64') + '\n'],
      [home.gatewayTokenPath, newGatewayToken()],
      [home.policyPath, DEFAULT_POLICY_YAML],
    ];
    for (const [path, content] of secrets) {
      const wrote = writeFileOnce(path, content, 0o600);
      if (wrote) undo.push(() => removeQuietly(path));
      note(path, wrote);
    }
    return store;
  } catch (error) {
    for (const step of undo.reverse()) step();
    throw error;
  }
}

/** Removes `directory` and its parents up to `first` (the first one `ensureDirectory` created), while each is empty. */
function removeEmptyDirectories(directory: string, first: string): void {
  for (let current = directory; ; current = dirname(current)) {
    try {
      rmdirSync(current);
    } catch {
      return;
    }
    if (current === first || dirname(current) === current) return;
  }
}

/** Undoing a step of a failed init: the failure is the error worth reporting, not this one. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function finding(check: HomeCheck, kind: InitFinding['kind']): InitFinding {
  return {
    name: check.name,
    path: check.path,
    kind,
    detail: check.detail,
    ...(check.hint === undefined ? {} : { hint: check.hint }),
    ...(check.fixed === true ? { fixed: true } : {}),
  };
}

/**
 * Replaces the gateway token with a new random one (0600, written beside it and renamed into
 * place, so a reader never sees half a token). A running gateway accepts only the new one within
 * a second. Returns the token file's path; the token is never returned or printed here.
 */
export function rotateGatewayToken(home: HomePaths): string {
  ensureDirectory(home.dataDir);
  writeFileAtomically(home.gatewayTokenPath, newGatewayToken(), 0o600);
  return home.gatewayTokenPath;
}

function newGatewayToken(): string {
  return `syn_${randomBytes(24).toString('base64url')}\n`;
}
