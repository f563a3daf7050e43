import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { DEFAULT_POLICY_YAML } from '../policy/default-policy.js';
import { openStore } from '../store/store.js';
import { ensureDirectory, writeFileAtomically, writeFileOnce, type HomePaths } from './home.js';

export interface InitResult {
  dataDir: string;
  configDir: string;
  created: string[];
  kept: string[];
}

/**
 * Creates the data directory, the store, the default policy, the permit signing key and the
 * gateway bearer token. Idempotent: existing files are kept untouched (a key is never rotated here).
 */
export function initializeHome(home: HomePaths): InitResult {
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

  return { dataDir: home.dataDir, configDir: home.configDir, created, kept };
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
