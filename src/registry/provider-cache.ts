import { deepFreeze } from '../common/freeze.js';
import { cachedRead } from '../store/cached-read.js';
import type { Store } from '../store/store.js';
import { listProviders } from './registry.js';
import type { RegisteredProvider } from './types.js';

/** The parsed provider list of one registry state. */
interface CachedRegistry {
  providers: readonly RegisteredProvider[];
  byId: ReadonlyMap<string, RegisteredProvider>;
}

/**
 * Every provider at its current version, like `listProviders`, without reading and parsing the
 * records on every call: read again only when `providers` or `provider_versions` may have changed
 * (`cachedRead`: this connection's writes at once, another process's within 5 ms, never a state
 * that was rolled back). The returned objects are frozen and shared: never mutate them.
 */
export function currentProviders(store: Store): readonly RegisteredProvider[] {
  return registryState(store).providers;
}

/** One provider at its current version (retired ones included), from the same cache. */
export function currentProvider(store: Store, id: string): RegisteredProvider | undefined {
  return registryState(store).byId.get(id);
}

const registryState = cachedRead(['providers', 'provider_versions'], (store): CachedRegistry => {
  const providers = listProviders(store).map((provider) => deepFreeze(provider));
  return { providers: Object.freeze(providers), byId: new Map(providers.map((provider) => [provider.id, provider])) };
});
