import { InvalidInputError } from '../errors.js';
import type { Store } from '../store/store.js';
import { validateAgainstSchema } from '../validation/validate.js';
import { credentialProblems, loopbackProblemsWithoutResolving, normalizeProviderRecord, structuralProblems } from './checks.js';
import type { Deviation } from '../common/vocabulary.js';
import type {
  DroppedDiscovery,
  PreparedProvider,
  ProviderChange,
  ProviderRecord,
  ProviderVersion,
  RegisteredProvider,
  RegistrationOutcome,
} from './types.js';
import { unknownProviderError } from './unknown-provider.js';
import { contentHash, describeChanges, diffRecords } from './versioning.js';

interface ProviderRow {
  id: string;
  current_version: number;
  retired_at: string | null;
  record_json: string;
  content_hash: string;
  version_created_at: string;
}

interface VersionRow {
  provider_id: string;
  version: number;
  content_hash: string;
  record_json: string;
  source_path: string | null;
  reason: string;
  changes_json: string;
  created_at: string;
}

const SELECT_CURRENT = `SELECT p.id, p.current_version, p.retired_at, v.record_json, v.content_hash, v.created_at AS version_created_at
  FROM providers p JOIN provider_versions v ON v.provider_id = p.id AND v.version = p.current_version`;

function toRegistered(row: ProviderRow): RegisteredProvider {
  return {
    id: row.id,
    currentVersion: row.current_version,
    retiredAt: row.retired_at,
    record: JSON.parse(row.record_json) as ProviderRecord,
    contentHash: row.content_hash,
    versionCreatedAt: row.version_created_at,
  };
}

function toVersion(row: VersionRow): ProviderVersion {
  return {
    providerId: row.provider_id,
    version: row.version,
    contentHash: row.content_hash,
    record: JSON.parse(row.record_json) as ProviderRecord,
    sourcePath: row.source_path,
    reason: row.reason,
    changes: JSON.parse(row.changes_json) as ProviderChange[],
    createdAt: row.created_at,
  };
}

/** Every provider with its current version, ordered by id. Retired ones are included (check `retiredAt`). */
export function listProviders(store: Store): RegisteredProvider[] {
  const rows = store.statement(`${SELECT_CURRENT} ORDER BY p.id`).all() as ProviderRow[];
  return rows.map(toRegistered);
}

/** One provider at its current version, or undefined. */
export function findProvider(store: Store, id: string): RegisteredProvider | undefined {
  const row = store.statement(`${SELECT_CURRENT} WHERE p.id = ?`).get(id) as ProviderRow | undefined;
  return row === undefined ? undefined : toRegistered(row);
}

/** Like findProvider, but an unknown id is a usage error (exit 2) whose hint lists the known ids. */
export function requireProvider(store: Store, id: string): RegisteredProvider {
  const provider = findProvider(store, id);
  if (provider === undefined) throw unknownProviderError(id, listProviders(store).map((registered) => registered.id));
  return provider;
}

/** One stored version (retired providers' versions included), or undefined. */
export function getProviderVersion(store: Store, id: string, version: number): ProviderVersion | undefined {
  const row = store.db
    .prepare('SELECT * FROM provider_versions WHERE provider_id = ? AND version = ?')
    .get(id, version) as VersionRow | undefined;
  return row === undefined ? undefined : toVersion(row);
}

/** Every version of a provider, oldest first; empty for an unknown id. */
export function providerHistory(store: Store, id: string): ProviderVersion[] {
  const rows = store.db
    .prepare('SELECT * FROM provider_versions WHERE provider_id = ? ORDER BY version')
    .all(id) as VersionRow[];
  return rows.map(toVersion);
}

/**
 * Retires a provider: no new invocations, every version kept so evidence still resolves.
 * Idempotent: retiring a retired provider keeps its original retirement time.
 */
export function retireProvider(store: Store, id: string): { id: string; version: number; retiredAt: string; alreadyRetired: boolean } {
  return store.transaction(() => {
    const provider = requireProvider(store, id);
    if (provider.retiredAt !== null) {
      return { id, version: provider.currentVersion, retiredAt: provider.retiredAt, alreadyRetired: true };
    }
    const now = new Date().toISOString();
    store.db.prepare('UPDATE providers SET retired_at = ?, updated_at = ? WHERE id = ?').run(now, now, id);
    return { id, version: provider.currentVersion, retiredAt: now, alreadyRetired: false };
  });
}

/**
 * Writes validated records in ONE transaction: all land or none does. Identical content is
 * `unchanged`; any change is a new version with its changed pointers; a retired id comes back
 * as a new version (`reactivated`).
 */
export function registerPreparedProviders(store: Store, prepared: PreparedProvider[]): RegistrationOutcome[] {
  return store.transaction(() => prepared.map((item) => writeVersion(store, item.record, item.sourcePath, undefined)));
}

/**
 * Records a new version of an existing provider from code, e.g. when a probe discovers an
 * undeclared deviation: `recordNewVersion(store, id, { ...record, deviations: [...] }, 'probe discovered weak_json_adherence')`.
 * The record is validated (schema, credentials, uniqueness, local-class rule without DNS);
 * identical content returns `unchanged` and writes nothing.
 */
export function recordNewVersion(store: Store, id: string, record: ProviderRecord, reason: string): RegistrationOutcome {
  const label = `provider ${id}`;
  if (record.id !== id) {
    throw new InvalidInputError(`record id "${record.id}" does not match provider "${id}"`, [
      { file: label, pointer: '/id', message: `must be "${id}"`, hint: 'a new version keeps the provider id' },
    ]);
  }
  const schemaProblems = validateAgainstSchema('provider', record, label);
  const secrets = credentialProblems(record, label);
  if (schemaProblems.length + secrets.length > 0) {
    throw new InvalidInputError(`the new version of ${id} is invalid`, [...secrets, ...schemaProblems]);
  }
  const normalized = normalizeProviderRecord(record);
  return store.transaction(() => {
    const current = requireProvider(store, id);
    const acceptedHost = safeHostname(current.record.baseUrl);
    const problems = [...structuralProblems(normalized, label), ...loopbackProblemsWithoutResolving(normalized, label, acceptedHost)];
    if (problems.length > 0) throw new InvalidInputError(`the new version of ${id} is invalid`, problems);
    return writeVersion(store, normalized, null, reason);
  });
}

/** Writes one version inside the caller's transaction. */
function writeVersion(store: Store, record: ProviderRecord, sourcePath: string | null, explicitReason: string | undefined): RegistrationOutcome {
  const hash = contentHash(record);
  const now = new Date().toISOString();
  const current = findProvider(store, record.id);
  if (current === undefined) {
    const reason = explicitReason ?? 'registered';
    store.db
      .prepare('INSERT INTO providers (id, current_version, retired_at, created_at, updated_at) VALUES (?, 1, NULL, ?, ?)')
      .run(record.id, now, now);
    insertVersion(store, record, 1, hash, sourcePath, reason, [], now);
    return { id: record.id, status: 'registered', version: 1, previousVersion: null, contentHash: hash, reason, changes: [], sourcePath };
  }
  const retired = current.retiredAt !== null;
  if (current.contentHash === hash && !retired) {
    return {
      id: record.id,
      status: 'unchanged',
      version: current.currentVersion,
      previousVersion: current.currentVersion,
      contentHash: hash,
      reason: `unchanged (v${current.currentVersion})`,
      changes: [],
      sourcePath,
    };
  }
  const changes = diffRecords(current.record, record);
  const described = changes.length === 0 ? undefined : describeChanges(changes);
  const reason =
    explicitReason === undefined
      ? retired
        ? `re-registered after retirement${described === undefined ? '' : `; ${described}`}`
        : (described ?? 'changed')
      : `${explicitReason}${described === undefined ? '' : ` (${described})`}`;
  const version = current.currentVersion + 1;
  insertVersion(store, record, version, hash, sourcePath, reason, changes, now);
  store.db.prepare('UPDATE providers SET current_version = ?, retired_at = NULL, updated_at = ? WHERE id = ?').run(version, now, record.id);
  // Only content the operator registers can drop a discovery by mistake; discoveries write explicit reasons.
  const dropped = explicitReason === undefined ? droppedDiscoveries(store, current.record, record) : [];
  return {
    id: record.id,
    status: retired ? 'reactivated' : 'updated',
    version,
    previousVersion: current.currentVersion,
    contentHash: hash,
    reason,
    changes,
    sourcePath,
    ...(dropped.length === 0 ? {} : { droppedDiscoveries: dropped }),
  };
}

/**
 * The deviations `before` declares and `after` does not, among those a discovery added to the
 * record (`deviation_discoveries` rows with a recorded version), each with its latest discovery.
 */
function droppedDiscoveries(store: Store, before: ProviderRecord, after: ProviderRecord): DroppedDiscovery[] {
  const kept = new Set<Deviation>(after.deviations ?? []);
  const dropped = (before.deviations ?? []).filter((deviation) => !kept.has(deviation));
  if (dropped.length === 0) return [];
  const rows = store.db
    .prepare(
      `SELECT deviation, recorded_version, source, evidence_id FROM deviation_discoveries
        WHERE provider_id = ? AND recorded_version IS NOT NULL ORDER BY recorded_version DESC, rowid DESC`,
    )
    .all(before.id) as { deviation: string; recorded_version: number; source: string; evidence_id: string | null }[];
  return dropped.flatMap((deviation) => {
    const row = rows.find((candidate) => candidate.deviation === deviation);
    return row === undefined ? [] : [{ deviation, addedInVersion: row.recorded_version, source: row.source, evidenceId: row.evidence_id }];
  });
}

function insertVersion(
  store: Store,
  record: ProviderRecord,
  version: number,
  hash: string,
  sourcePath: string | null,
  reason: string,
  changes: ProviderChange[],
  now: string,
): void {
  store.db
    .prepare(
      `INSERT INTO provider_versions (provider_id, version, content_hash, record_json, source_path, reason, changes_json, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(record.id, version, hash, JSON.stringify(record), sourcePath, reason, JSON.stringify(changes), now);
}

function safeHostname(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}
