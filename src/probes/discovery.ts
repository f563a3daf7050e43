import { newId } from '../common/ids.js';
import { DEVIATIONS, type Deviation } from '../common/vocabulary.js';
import type { InvocationResult } from '../invoke/types.js';
import { currentProvider } from '../registry/provider-cache.js';
import { findProvider, recordNewVersion } from '../registry/registry.js';
import type { ProviderRecord } from '../registry/types.js';
import type { Store } from '../store/store.js';
import { deviationForObservation } from '../wire/observations.js';
import type { DiscoveryOutcome, ObservedDeviation } from './types.js';

/** One stored discovery (`deviation_discoveries` row). */
export interface DeviationDiscovery {
  id: string;
  providerId: string;
  /** The provider version the deviation was observed on. */
  observedVersion: number;
  model: string | null;
  deviation: Deviation;
  /** `probe:<name>` or `invocation`. */
  source: string;
  evidenceId: string | null;
  detail: string;
  /** The version that added the deviation to the record; null when the record was not updated. */
  recordedVersion: number | null;
  createdAt: string;
}

export interface RecordDiscoveryOptions {
  /** false (`--no-update`): keep the audit rows, leave the record as it is. */
  update: boolean;
  model?: string;
  /** The version the deviations were observed on (defaults to the current one). */
  observedVersion?: number;
}

/**
 * Records the undeclared deviations among `observed` (one row each, linked to its evidence) and,
 * when `update` is true, adds them to the provider record as ONE new version whose reason names
 * every discovery, e.g. `discovered deviation weak_json_adherence by probe json-mode (evidence ev_...)`.
 * Deviations the record already declares are ignored. All in one transaction. Returns undefined
 * when nothing undeclared was observed.
 */
export function recordDiscoveredDeviations(
  store: Store,
  providerId: string,
  observed: readonly ObservedDeviation[],
  options: RecordDiscoveryOptions,
): DiscoveryOutcome | undefined {
  return store.transaction(() => {
    const provider = findProvider(store, providerId);
    if (provider === undefined) return undefined;
    const declared = new Set<Deviation>(provider.record.deviations ?? []);
    // The first observation of each undeclared deviation is the one named in the reason.
    const firsts = new Map<Deviation, ObservedDeviation>();
    for (const item of observed) {
      if (!declared.has(item.deviation) && !firsts.has(item.deviation)) firsts.set(item.deviation, item);
    }
    if (firsts.size === 0) return undefined;
    const discoveries = [...firsts.values()];
    const deviations = discoveries.map((item) => item.deviation);

    let version = provider.currentVersion;
    let reason: string | undefined;
    let updated = false;
    if (options.update) {
      reason = discoveries.map(describeDiscovery).join('; ');
      const record: ProviderRecord = { ...provider.record, deviations: sortDeviations([...declared, ...deviations]) };
      const outcome = recordNewVersion(store, providerId, record, reason);
      updated = outcome.status === 'updated' || outcome.status === 'reactivated';
      version = outcome.version;
      reason = outcome.reason;
    }
    const now = new Date().toISOString();
    const insert = store.db.prepare(
      `INSERT INTO deviation_discoveries (id, provider_id, observed_version, model, deviation, source, evidence_id, detail, recorded_version, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const discoveryIds = discoveries.map((item) => {
      const id = newId('dev');
      insert.run(
        id,
        providerId,
        options.observedVersion ?? provider.currentVersion,
        options.model ?? null,
        item.deviation,
        item.source === 'invocation' ? 'invocation' : `probe:${item.source}`,
        item.evidenceId ?? null,
        item.detail,
        updated ? version : null,
        now,
      );
      return id;
    });
    return { discoveryIds, deviations, updated, version, ...(updated && reason !== undefined ? { reason } : {}) };
  });
}

/** `discovered deviation X by probe P (evidence ev_...)`, or `... during an invocation (...)`. */
export function describeDiscovery(item: ObservedDeviation): string {
  const by = item.source === 'invocation' ? 'during an invocation' : `by probe ${item.source}`;
  return `discovered deviation ${item.deviation} ${by}${item.evidenceId === undefined ? '' : ` (evidence ${item.evidenceId})`}`;
}

/**
 * Deviations an ordinary invocation shows: usage missing (token counts had to be approximated)
 * and decoder observations that map to a deviation (`deviationForObservation`). Declared ones are
 * included with `declared: true`. Pure.
 */
export function deviationsFromInvocation(record: ProviderRecord, result: InvocationResult): ObservedDeviation[] {
  const declared = new Set<Deviation>(record.deviations ?? []);
  const found = new Map<Deviation, string>();
  if (result.fidelity.tokenAccounting !== 'exact') {
    found.set('approximate_token_counts', `the response carried no usage, so tokens were counted ${result.fidelity.tokenAccounting === 'approximate' ? 'locally (approximate)' : 'nowhere'}`);
  }
  for (const observation of result.response.observations ?? []) {
    const deviation = deviationForObservation(observation);
    if (deviation !== undefined && !found.has(deviation)) found.set(deviation, `the wire adapter tolerated ${observation}`);
  }
  return [...found.entries()].map(([deviation, detail]) => ({
    deviation,
    declared: declared.has(deviation),
    source: 'invocation',
    evidenceId: result.evidenceId,
    detail,
  }));
}

/**
 * The invocation hook (called by the pipeline after a successful attempt of kind `invocation`):
 * records undeclared deviations the answer showed and updates the record as one new version.
 * Returns undefined when there was nothing to record. Most answers show nothing undeclared, so
 * this is checked against the cached provider record first (no store round trip);
 * `recordDiscoveredDeviations` checks again against the record it updates. Throws only on store
 * failures; the pipeline wraps the call so a failure here never fails the user's request.
 */
export function discoverFromInvocation(store: Store, result: InvocationResult): DiscoveryOutcome | undefined {
  const provider = currentProvider(store, result.provider.id);
  if (provider === undefined) return undefined;
  const undeclared = deviationsFromInvocation(provider.record, result).filter((item) => !item.declared);
  if (undeclared.length === 0) return undefined;
  return recordDiscoveredDeviations(store, provider.id, undeclared, {
    update: true,
    model: result.model,
    observedVersion: result.provider.version,
  });
}

/** Stored discoveries, newest first, optionally for one provider. */
export function listDiscoveries(store: Store, providerId?: string): DeviationDiscovery[] {
  const rows = (
    providerId === undefined
      ? store.db.prepare('SELECT * FROM deviation_discoveries ORDER BY created_at DESC, rowid DESC').all()
      : store.db.prepare('SELECT * FROM deviation_discoveries WHERE provider_id = ? ORDER BY created_at DESC, rowid DESC').all(providerId)
  ) as DiscoveryRow[];
  return rows.map((row) => ({
    id: row.id,
    providerId: row.provider_id,
    observedVersion: row.observed_version,
    model: row.model,
    deviation: row.deviation as Deviation,
    source: row.source,
    evidenceId: row.evidence_id,
    detail: row.detail,
    recordedVersion: row.recorded_version,
    createdAt: row.created_at,
  }));
}

interface DiscoveryRow {
  id: string;
  provider_id: string;
  observed_version: number;
  model: string | null;
  deviation: string;
  source: string;
  evidence_id: string | null;
  detail: string;
  recorded_version: number | null;
  created_at: string;
}

function sortDeviations(deviations: Deviation[]): Deviation[] {
  return [...new Set(deviations)].sort((left, right) => DEVIATIONS.indexOf(left) - DEVIATIONS.indexOf(right));
}
