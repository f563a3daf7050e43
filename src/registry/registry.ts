import type { Store } from '../store/store.js';
import type { ProviderRecord, RegisteredProvider } from './types.js';

interface ProviderRow {
  id: string;
  current_version: number;
  retired_at: string | null;
  record_json: string;
  content_hash: string;
}

const SELECT_CURRENT = `SELECT p.id, p.current_version, p.retired_at, v.record_json, v.content_hash
  FROM providers p JOIN provider_versions v ON v.provider_id = p.id AND v.version = p.current_version`;

function toRegistered(row: ProviderRow): RegisteredProvider {
  return {
    id: row.id,
    currentVersion: row.current_version,
    retiredAt: row.retired_at,
    record: JSON.parse(row.record_json) as ProviderRecord,
    contentHash: row.content_hash,
  };
}

/** Every provider with its current version, ordered by id. Retired ones are included (check `retiredAt`). */
export function listProviders(store: Store): RegisteredProvider[] {
  const rows = store.db.prepare(`${SELECT_CURRENT} ORDER BY p.id`).all() as ProviderRow[];
  return rows.map(toRegistered);
}

/** One provider at its current version, or undefined. */
export function findProvider(store: Store, id: string): RegisteredProvider | undefined {
  const row = store.db.prepare(`${SELECT_CURRENT} WHERE p.id = ?`).get(id) as ProviderRow | undefined;
  return row === undefined ? undefined : toRegistered(row);
}
