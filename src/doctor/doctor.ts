import { existsSync } from 'node:fs';
import { countProblems, formatInputProblem, InvalidInputError } from '../errors.js';
import { fileMode, type HomePaths } from '../home/home.js';
import { loadPolicy } from '../policy/load.js';
import { listProviders } from '../registry/registry.js';
import { healthUrl } from '../router/health.js';
import { openStore, type Store } from '../store/store.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { fetchEngineJson } from '../transport/engine-info.js';

export type CheckStatus = 'pass' | 'fail' | 'warn';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

const MINIMUM_NODE = [20, 19] as const;

/**
 * The embedded engine is optional: absent is a warning with the install command; installed but
 * unable to load its bindings is a failure. Loading the bindings (no model) tells the backend.
 */
async function checkEmbeddedEngine(): Promise<DoctorCheck> {
  const name = 'embedded engine';
  const { checkEngineReadiness, findEngine } = await import('../engines/runtime.js');
  if (findEngine() === undefined) {
    return { name, status: 'warn', detail: 'not installed (optional: `engine serve` runs GGUF models with it)', hint: 'run `syndicate engine install`' };
  }
  try {
    const readiness = await checkEngineReadiness();
    return {
      name,
      status: 'pass',
      detail: `node-llama-cpp ${readiness.installation.version}, backend ${readiness.backend}, binaries ${readiness.installation.binaryPackages.join(', ')} (${readiness.installation.directory})`,
    };
  } catch (error) {
    return { name, status: 'fail', detail: (error as Error).message, hint: 'run `syndicate engine install --force`' };
  }
}

/** The policy file exists and validates: an invalid one makes every command refuse to run (and a running gateway fail closed). */
function checkPolicyFile(path: string): DoctorCheck {
  const name = 'policy file';
  if (!existsSync(path)) return { name, status: 'fail', detail: `missing: ${path}`, hint: 'run `syndicate init`' };
  try {
    loadPolicy(path);
    return { name, status: 'pass', detail: `${path} (valid)` };
  } catch (error) {
    const problems = error instanceof InvalidInputError ? error.problems : [];
    const first = problems[0];
    const detail = first === undefined ? (error as Error).message : `${formatInputProblem(first)}${countProblems(problems) > 1 ? ` (and ${countProblems(problems) - 1} more)` : ''}`;
    return { name, status: 'fail', detail, hint: 'run `syndicate policy check` to list every problem' };
  }
}

/** Runs every health check without creating or changing any state. */
export async function runDoctor(home: HomePaths): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [checkNodeVersion(process.versions.node), await checkEmbeddedEngine()];
  checks.push(checkPrivateFile(home.permitKeyPath, 'permit key'));
  checks.push(checkPrivateFile(home.gatewayTokenPath, 'gateway token'));
  checks.push(checkPolicyFile(home.policyPath));
  if (!existsSync(home.storePath)) {
    checks.push({ name: 'store', status: 'fail', detail: `missing: ${home.storePath}`, hint: 'run `syndicate init`' });
    return checks;
  }
  checks.push(checkPrivateFile(home.storePath, 'store file'));
  let store: Store;
  try {
    store = openStore(home.storePath, { mustExist: true });
  } catch (error) {
    checks.push({ name: 'store', status: 'fail', detail: (error as Error).message, hint: 'restore the store from a backup or move it aside and run `syndicate init`' });
    return checks;
  }
  try {
    checks.push(checkStoreHealth(store));
    checks.push(...(await checkLocalEngines(store)));
  } finally {
    store.close();
  }
  return checks;
}

export function checkNodeVersion(version: string): DoctorCheck {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]);
  return ok
    ? { name: 'node version', status: 'pass', detail: `v${version}` }
    : { name: 'node version', status: 'fail', detail: `v${version} < v${MINIMUM_NODE.join('.')}`, hint: 'install Node.js 20.19 or newer' };
}

function checkPrivateFile(path: string, what: string): DoctorCheck {
  const mode = fileMode(path);
  if (mode === undefined) return { name: `${what} permissions`, status: 'fail', detail: `missing: ${path}`, hint: 'run `syndicate init`' };
  const octal = mode.toString(8).padStart(3, '0');
  return (mode & 0o077) === 0
    ? { name: `${what} permissions`, status: 'pass', detail: `${octal} ${path}` }
    : { name: `${what} permissions`, status: 'fail', detail: `${octal} ${path} is readable by others`, hint: `chmod 600 ${path}` };
}

function checkStoreHealth(store: Store): DoctorCheck {
  const integrity = store.db.pragma('quick_check', { simple: true }) as string;
  const journal = store.db.pragma('journal_mode', { simple: true }) as string;
  const applied = store.appliedMigrations();
  const expected = MIGRATIONS.length;
  if (integrity !== 'ok') return { name: 'store', status: 'fail', detail: `integrity check: ${integrity}`, hint: 'restore the store from a backup' };
  return {
    name: 'store',
    status: 'pass',
    detail: `integrity ok, journal ${journal}, schema ${applied.length}/${expected} migrations`,
  };
}

async function checkLocalEngines(store: Store): Promise<DoctorCheck[]> {
  const locals = listProviders(store).filter((provider) => provider.retiredAt === null && provider.record.class === 'local');
  return Promise.all(
    locals.map(async (provider): Promise<DoctorCheck> => {
      const url = healthUrl(provider.record);
      try {
        await fetchEngineJson(url, { timeoutMs: 2000 });
        return { name: `engine ${provider.id}`, status: 'pass', detail: `${url} answers` };
      } catch (error) {
        return {
          name: `engine ${provider.id}`,
          status: 'fail',
          detail: (error as Error).message,
          hint: `start the engine behind ${provider.record.baseUrl}, or retire it with \`syndicate provider remove ${provider.id}\``,
        };
      }
    }),
  );
}
