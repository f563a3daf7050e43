import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFileAtomically } from '../common/atomic-file.js';
import { DEFAULT_POLICY_YAML } from '../policy/default-policy.js';
import { openStore } from '../store/store.js';
import { checkDirectories, checkGatewayToken, checkPermitKey, checkPolicyFile, checkStoreCompanionFiles, checkStoreFile, currentUserId, type HomeCheck } from './checks.js';
import { ensureDirectory, writeFileOnce, type HomePaths } from './home.js';

export interface InitResult {
  dataDir: string;
  configDir: string;
  created: string[];
  kept: string[];
  /**
   * Kept files syndicate cannot use as they are: invalid, not yours, or open to other users.
   * `syndicate init` exits 1 when there is any; it never rewrites or deletes a kept file.
   */
  problems: InitFinding[];
  /**
   * Existing directories that are not yours or are writable by group or others (reported, never
   * changed: the operator chose them), kept files readable by others that hold no secret, and a
   * kept store whose mode was not 0600 (opening it set it to 0600, as every command does).
   */
  warnings: InitFinding[];
}

/** Something wrong with a directory or a kept file, and how to fix it. */
export interface InitFinding {
  name: string;
  path: string;
  detail: string;
  hint?: string;
  /** What `detail` reports was already changed by syndicate (the store's mode set to 0600). */
  fixed?: boolean;
}

export interface InitOptions {
  /** The user the files must belong to (tests inject another); undefined skips owner and mode rules. Default: this process's user. */
  userId?: number | undefined;
}

/**
 * Creates the data directory, the store, the default policy, the permit signing key and the
 * gateway bearer token. Idempotent: existing files are kept untouched (a key is never rotated
 * here; only the store's mode is set to 0600, as every command opening it does), then checked as
 * `doctor` checks them, and so are existing directories.
 */
export function initializeHome(home: HomePaths, options: InitOptions = {}): InitResult {
  const userId = 'userId' in options ? options.userId : currentUserId();
  const created: string[] = [];
  const kept: string[] = [];
  const note = (path: string, wasCreated: boolean): void => {
    (wasCreated ? created : kept).push(path);
  };
  ensureDirectory(home.dataDir);
  ensureDirectory(home.configDir);

  note(home.permitKeyPath, writeFileOnce(home.permitKeyPath, randomBytes(32).toString('base64') + '\n', 0o600));
  note(home.gatewayTokenPath, writeFileOnce(home.gatewayTokenPath, newGatewayToken(), 0o600));
  note(home.policyPath, writeFileOnce(home.policyPath, DEFAULT_POLICY_YAML, 0o600));

  const storeExisted = existsSync(home.storePath);
  const store = openStore(home.storePath);
  store.close();
  note(home.storePath, !storeExisted);

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
  const problems = keptChecks.filter((check) => check.status === 'fail').map(finding);
  const warnings = [...directoryChecks.filter((check) => check.status !== 'pass'), ...keptChecks.filter((check) => check.status === 'warn')].map(finding);
  return { dataDir: home.dataDir, configDir: home.configDir, created, kept, problems, warnings };
}

function finding(check: HomeCheck): InitFinding {
  return {
    name: check.name,
    path: check.path,
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
