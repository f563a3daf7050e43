import { existsSync } from 'node:fs';
import { counted } from '../common/counted.js';
import { shellWord } from '../common/shell-word.js';
import { StoreError, UsageError } from '../errors.js';
import { checkDirectories, fixesOf, checkGatewayToken, checkPermitKey, checkPolicyFile, checkStoreCompanionFiles, checkStoreFile, currentUserId, type HomeCheck } from '../home/checks.js';
import { initCommandFor, type HomePaths } from '../home/home.js';
import { SAVINGS_REFERENCE_FIX, savingsReference } from '../metrics/savings-reference.js';
import { loadPolicy } from '../policy/load.js';
import { unknownProviderReferences } from '../policy/references.js';
import type { Policy } from '../policy/types.js';
import { engineCredentialHeaders } from '../registry/credentials.js';
import { listProviders } from '../registry/registry.js';
import type { ProviderRecord } from '../registry/types.js';
import { arrayMember, member, stringMember } from '../engines/control/http.js';
import { healthUrl } from '../router/health.js';
import { holdsInForce, type HoldReport } from '../router/shared-holds.js';
import { DEFAULT_BUSY_TIMEOUT_MS, openStore, restrictStoreFileMode, storeErrorFrom, storeFailureReason, storeFilePaths, type Store, type StoreModeChange } from '../store/store.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import type { StoreUpgrade } from '../store/upgrade-copy.js';
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
 * Downloads a killed install left behind are a warning, shown only when there are any.
 */
async function checkEmbeddedEngine(): Promise<DoctorCheck[]> {
  const { abandonedInstalls, engineDirectory } = await import('../engines/runtime.js');
  let directory: string;
  try {
    directory = engineDirectory();
  } catch (error) {
    // No home directory to find it under (HOME unset, a uid with no password entry): the engine is optional.
    if (!(error instanceof UsageError)) throw error;
    return [{ name: 'embedded engine', status: 'warn', detail: `not looked for: ${error.message}`, ...(error.hint === undefined ? {} : { hint: error.hint }) }];
  }
  const abandoned = abandonedInstalls(directory);
  const leftovers: DoctorCheck[] =
    abandoned.length === 0
      ? []
      : [
          {
            name: 'embedded engine downloads',
            status: 'warn',
            detail: `left by an \`engine install\` that was killed before it finished: ${abandoned.join(', ')}`,
            hint: 'run `syndicate engine install`, which removes them first, or delete them',
          },
        ];
  return [await checkEmbeddedEngineLoads(), ...leftovers];
}

async function checkEmbeddedEngineLoads(): Promise<DoctorCheck> {
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

/**
 * What a `doctor` run with failed checks says as its error: how many failed and which, and the hint
 * of each — one hint when every failed check has the same (a home not yet initialised: `run
 * syndicate init`), else a line per hint naming the checks it fixes. Undefined when none failed.
 */
export function doctorFailure(checks: readonly DoctorCheck[]): { message: string; hint?: string } | undefined {
  const failed = checks.filter((check) => check.status === 'fail');
  if (failed.length === 0) return undefined;
  const message = `${failed.length} of ${counted(checks.length, 'check')} failed: ${failed.map((check) => check.name).join(', ')}`;
  // A failed check without a hint has its detail in the table (and `details.checks`) and nothing to add here.
  const hint = fixesOf(failed, 'for each failed check:');
  return hint === undefined ? { message } : { message, hint };
}

/** What `doctor` found: its checks, and what every syndicate process on the store holds out of routes now. */
export interface DoctorReport {
  checks: DoctorCheck[];
  /** Holds are not failures (a rate limit is the provider's to lift): reported beside the checks. */
  holds: HoldReport[];
}

export interface DoctorOptions {
  /** The user the files must belong to (tests inject another); undefined skips owner and mode rules. Default: this process's user. */
  userId?: number | undefined;
  /** Called when opening the store upgraded it (an older syndicate's store): see `OpenStoreOptions.onUpgrade`. */
  onStoreUpgrade?: (upgrade: StoreUpgrade) => void;
}

/**
 * Runs every health check without creating any state. The changes it makes are the ones every
 * command makes: a store file (or its -wal, -shm) with another mode than 0600 is set to 0600
 * (reported as a warning), and a store an older syndicate left is upgraded, a copy of it kept.
 */
export async function runDoctor(home: HomePaths, options: DoctorOptions = {}): Promise<DoctorReport> {
  const userId = 'userId' in options ? options.userId : currentUserId();
  const checks: DoctorCheck[] = [checkNodeVersion(process.versions.node), ...(await checkEmbeddedEngine())];
  const doctorCheck = (check: HomeCheck): DoctorCheck => asDoctorCheck(check, home);
  checks.push(...checkDirectories(home, userId).map(doctorCheck));
  checks.push(doctorCheck(checkPermitKey(home.permitKeyPath, userId)));
  checks.push(doctorCheck(checkGatewayToken(home.gatewayTokenPath, userId)));
  checks.push(doctorCheck(checkPolicyFile(home.policyPath, userId)));
  if (!existsSync(home.storePath)) {
    checks.push({ name: 'store', status: 'fail', detail: `missing: ${home.storePath}`, hint: `run \`${initCommandFor(home)}\`` });
    return { checks, holds: [] };
  }
  const modeChanges: StoreModeChange[] = [];
  // Before opening, and each on its own: a store that then fails to open is still reported as found.
  for (const [index, path] of storeFilePaths(home.storePath).entries()) {
    try {
      const previousMode = restrictStoreFileMode(path, { ifExists: index > 0 });
      if (previousMode !== undefined) modeChanges.push({ path, previousMode });
    } catch {
      // Not this user's to change: the check names its owner and mode.
    }
  }
  checks.push(doctorCheck(checkStoreFile(home.storePath, userId, modeChanges.find((change) => change.path === home.storePath)?.previousMode)));
  checks.push(...checkStoreCompanionFiles(home.storePath, userId, modeChanges).map(doctorCheck));
  let store: Store;
  try {
    store = openStore(home.storePath, { mustExist: true, ...(options.onStoreUpgrade === undefined ? {} : { onUpgrade: options.onStoreUpgrade }) });
  } catch (error) {
    checks.push(storeOpenFailure(error));
    return { checks, holds: [] };
  }
  try {
    checks.push(checkStoreHealth(store));
    const policy = validPolicy(home.policyPath);
    if (policy !== undefined) checks.push(...checkPolicyReferences(policy, home.policyPath, store), ...checkSavingsReference(policy, home.policyPath, store));
    checks.push(...(await checkLocalEngines(store)));
    return { checks, holds: holdsInForce(store, listProviders(store)) };
  } finally {
    store.close();
  }
}

/**
 * The check for a store that would not open. The error's own hint names the fix for what went
 * wrong (a store or directory this user cannot write is fixed in place, never moved aside); an
 * error SQLite does not explain gets a hint that keeps the store.
 */
export function storeOpenFailure(error: unknown): DoctorCheck {
  const detail = (error as Error).message;
  const hint =
    error instanceof StoreError && error.hint !== undefined && error.reason !== 'other'
      ? error.hint
      : 'if the store is damaged, restore it from a backup; do not delete it, it holds the evidence chain';
  return { name: 'store', status: 'fail', detail, hint };
}

/** A home check as doctor reports it; a missing file's fix names this home (`syndicate init --home DIR`). */
function asDoctorCheck(check: HomeCheck, home: HomePaths): DoctorCheck {
  const hint = check.status === 'fail' && check.detail === `missing: ${check.path}` ? `run \`${initCommandFor(home)}\`` : check.hint;
  return { name: check.name, status: check.status, detail: check.detail, ...(hint === undefined ? {} : { hint }) };
}

export function checkNodeVersion(version: string): DoctorCheck {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]);
  return ok
    ? { name: 'node version', status: 'pass', detail: `v${version}` }
    : { name: 'node version', status: 'fail', detail: `v${version} < v${MINIMUM_NODE.join('.')}`, hint: 'install Node.js 20.19 or newer' };
}

function checkStoreHealth(store: Store): DoctorCheck {
  const integrity = store.db.pragma('quick_check', { simple: true }) as string;
  const journal = store.db.pragma('journal_mode', { simple: true }) as string;
  const applied = store.appliedMigrations();
  const expected = MIGRATIONS.length;
  if (integrity !== 'ok') return { name: 'store', status: 'fail', detail: `integrity check: ${integrity}`, hint: 'restore the store from a backup' };
  const detail = `integrity ok, journal ${journal}, schema ${applied.length}/${expected} migrations`;
  const lock = writeLock(store);
  if (lock === 'held') {
    return {
      name: 'store',
      status: 'fail',
      detail: `${detail}; another process held its write lock past the ${DEFAULT_BUSY_TIMEOUT_MS / 1000} s every write waits: writes fail while it lasts (a gateway's 503 store_failure, \`run\` exit 6)`,
      hint: `find what holds ${shellWord(store.path)} open (\`fuser -v ${shellWord(store.path)}\` or \`lsof ${shellWord(store.path)}\`: a backup, a \`sqlite3\` shell left in a transaction, a stuck \`evidence prune\`) and end it; do not delete the store or its -wal, they hold the evidence chain`,
    };
  }
  if (lock !== 'free') return storeOpenFailure(storeErrorFrom(lock, 'the store cannot be written', store.path));
  return { name: 'store', status: 'pass', detail };
}

/**
 * Whether a write could start now: the store's write lock taken and given back at once (nothing
 * written), waiting the store's busy timeout, as every write does — `held` when another process
 * kept it, or what else stopped it (a read-only file system). Reading never waits for it, so every
 * other check passes on a store whose writes all fail.
 */
function writeLock(store: Store): 'free' | 'held' | Error {
  try {
    store.db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    return storeFailureReason((error as NodeJS.ErrnoException).code ?? '') === 'busy' ? 'held' : (error as Error);
  }
  store.db.exec('ROLLBACK');
  return 'free';
}

/** The policy file as the pipeline reads it; undefined when it is missing or invalid (its own check says so). */
function validPolicy(policyPath: string): Policy | undefined {
  try {
    return loadPolicy(policyPath);
  } catch {
    return undefined;
  }
}

/** Providers the policy names that no registered provider is (`unknownProviderReferences`): a warning, since such an entry changes nothing. */
function checkPolicyReferences(policy: Policy, policyPath: string, store: Store): DoctorCheck[] {
  const unknown = unknownProviderReferences(policy, listProviders(store).map((provider) => provider.id));
  if (unknown.length === 0) return [];
  return [{ name: 'policy references', status: 'warn', detail: unknown.join('; '), hint: `fix the provider id in ${policyPath}, or register that provider` }];
}

/**
 * A `savings.referenceModel` named without rates that metrics cannot price (`savingsReference`: no
 * registered provider:model with a price): a warning, not a failure, since metrics then price
 * local tokens at the built-in rates and say so — but every savings figure is another model's.
 */
function checkSavingsReference(policy: Policy, policyPath: string, store: Store): DoctorCheck[] {
  const { unpriced, price } = savingsReference(store, policy.savings);
  if (unpriced === undefined) return [];
  return [
    {
      name: 'savings reference',
      status: 'warn',
      detail: `savings.referenceModel ${policy.savings.referenceModel} has no price metrics can use: ${unpriced}; \`metrics\` prices local tokens at the built-in rates ($${price.inputPerMTok}/$${price.outputPerMTok} per MTok in/out)`,
      hint: `in ${policyPath}, ${SAVINGS_REFERENCE_FIX.replace(' in the policy', '')}`,
    },
  ];
}

/**
 * The record's models an engine's `GET /v1/models` does not list, for the engines whose listing
 * names every model they serve: llama-swap (its config.yaml's models, and its peers') answers a
 * model it lacks with a 400, and LM Studio answers it with the one model it has loaded when it has
 * exactly one (so a wrong id goes unnoticed) — or, with JIT loading off, lists only the models it
 * has loaded. Undefined when every model is listed, or for another engine or listing.
 */
function unlistedModels(record: ProviderRecord, listing: unknown): { models: string[]; hint: string } | undefined {
  const kind = record.engine?.kind;
  if (kind !== 'llama-swap' && kind !== 'lmstudio') return undefined;
  if (!Array.isArray(member(listing, 'data'))) return undefined;
  const listed = new Set(arrayMember(listing, 'data').map((entry) => stringMember(entry, 'id')));
  const models = record.models.map((model) => model.id).filter((id) => !listed.has(id));
  if (models.length === 0) return undefined;
  const fix = `fix the model id in the provider record and \`syndicate provider register\` it (\`syndicate provider add ${kind}\` lists what the engine serves)`;
  return {
    models,
    hint:
      kind === 'llama-swap'
        ? `llama-swap refuses a model its config.yaml does not name (HTTP 400): add it to config.yaml (an alias is listed only with includeAliasesInList), or ${fix}`
        : `LM Studio answers a model it does not have with the one model it has loaded, if it has exactly one; with just-in-time loading off it lists only the models it has loaded (load it: \`syndicate engine load ${record.id}:MODEL\`); else download it (\`lms get MODEL\`) or ${fix}`,
  };
}

async function checkLocalEngines(store: Store): Promise<DoctorCheck[]> {
  const { managedProcess, isSameProcessAlive } = await import('../engines/processes.js');
  const { engineDownHint } = await import('../engines/manage.js');
  const locals = listProviders(store).filter((provider) => provider.retiredAt === null && provider.record.class === 'local');
  return Promise.all(
    locals.map(async (provider): Promise<DoctorCheck> => {
      const url = healthUrl(provider.record);
      const managed = managedProcess(store, provider.id);
      const alive = managed !== undefined && isSameProcessAlive(managed);
      try {
        const listing = await fetchEngineJson(url, { timeoutMs: 2000, headers: engineCredentialHeaders(provider.record, process.env) });
        const started = alive ? ` (started by syndicate, pid ${managed.pid})` : '';
        const unlisted = unlistedModels(provider.record, listing);
        if (unlisted !== undefined) {
          return { name: `engine ${provider.id}`, status: 'warn', detail: `${url} answers${started}, but lists no ${unlisted.models.join(', ')}`, hint: unlisted.hint };
        }
        return { name: `engine ${provider.id}`, status: 'pass', detail: `${url} answers${started}` };
      } catch (error) {
        // That the engine syndicate started has exited, and its log, is in the hint (`engineDownHint`).
        return {
          name: `engine ${provider.id}`,
          status: 'fail',
          detail: (error as Error).message,
          hint: `${engineDownHint(provider, managed)}; or retire it: \`syndicate provider remove ${provider.id}\``,
        };
      }
    }),
  );
}
