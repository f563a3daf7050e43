import { listProviders } from '../registry/registry.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { Store } from '../store/store.js';

/** The parsed provider list of one registry state, and the state it was read at. */
interface CachedRegistry {
  /** `id@version[!retired]` of every provider, in id order: the registry state. */
  key: string;
  providers: readonly RegisteredProvider[];
  byId: ReadonlyMap<string, RegisteredProvider>;
}

const caches = new WeakMap<Store, CachedRegistry>();

/**
 * Every provider at its current version, like `listProviders`, without reading and parsing the
 * records on every call: the registry state — each provider's id, current version and
 * retirement — is read on every call (one small query over `providers`, any process's or this
 * connection's writes included), and the records are parsed again only when it changed. A
 * stored version is never modified (a change is a new version), so the state names the records
 * exactly. The returned objects are frozen and shared: never mutate them.
 */
export function currentProviders(store: Store): readonly RegisteredProvider[] {
  return registryState(store).providers;
}

/** One provider at its current version (retired ones included), from the same cache. */
export function currentProvider(store: Store, id: string): RegisteredProvider | undefined {
  return registryState(store).byId.get(id);
}

function registryState(store: Store): CachedRegistry {
  const rows = store.statement('SELECT id, current_version, retired_at FROM providers ORDER BY id').raw(true).all() as [string, number, string | null][];
  let key = '';
  for (const [id, version, retiredAt] of rows) key += `${id}@${version}${retiredAt === null ? '' : `!${retiredAt}`}\n`;
  const cached = caches.get(store);
  if (cached !== undefined && cached.key === key) return cached;
  const providers = listProviders(store).map((provider) => deepFreeze(provider));
  const fresh: CachedRegistry = { key: stateKey(providers), providers: Object.freeze(providers), byId: new Map(providers.map((provider) => [provider.id, provider])) };
  caches.set(store, fresh);
  return fresh;
}

/** The same key, from what `listProviders` returned (it may have read a newer state than the query above). */
function stateKey(providers: readonly RegisteredProvider[]): string {
  let key = '';
  for (const provider of providers) key += `${provider.id}@${provider.currentVersion}${provider.retiredAt === null ? '' : `!${provider.retiredAt}`}\n`;
  return key;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
