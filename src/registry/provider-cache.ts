import { performance } from 'node:perf_hooks';
import type { Store } from '../store/store.js';
import { listProviders } from './registry.js';
import type { RegisteredProvider } from './types.js';

/** The parsed provider list of one registry state, and the state it was read at. */
interface CachedRegistry {
  /** `data_version:ownWrites` when it was read. */
  key: string;
  providers: readonly RegisteredProvider[];
  byId: ReadonlyMap<string, RegisteredProvider>;
}

/** How one connection notices registry changes. */
interface RegistryWatch {
  /** Changes whenever the registry may have changed since the last call that returned the same key. */
  key(): string;
  cached: CachedRegistry | undefined;
}

const watches = new WeakMap<Store, RegistryWatch>();

/** How stale another process's registry change may be when it is read (e.g. a provider blocked with the CLI while the gateway runs). */
export const OTHER_WRITERS_RECHECK_MS = 5;

/**
 * Every provider at its current version, like `listProviders`, without reading and parsing the
 * records on every call. The cache is checked on every call against the registry's state:
 * `PRAGMA data_version` moves when another connection commits (read at most every
 * OTHER_WRITERS_RECHECK_MS, so such a change shows within 5 ms), and temporary triggers on this
 * connection count its own writes to `providers` and `provider_versions` (in a JS counter,
 * which a rollback does not turn back, so a key never names two states); what is read inside a
 * transaction is never kept. The triggers are only ever created outside a transaction: a
 * rollback would drop them with it. The returned objects are frozen and shared: never mutate them.
 */
export function currentProviders(store: Store): readonly RegisteredProvider[] {
  return registryState(store).providers;
}

/** One provider at its current version (retired ones included), from the same cache. */
export function currentProvider(store: Store, id: string): RegisteredProvider | undefined {
  return registryState(store).byId.get(id);
}

function registryState(store: Store): CachedRegistry {
  const watch = watchOf(store);
  if (watch === undefined) return readRegistry(store, '');
  const key = watch.key();
  if (watch.cached !== undefined && watch.cached.key === key) return watch.cached;
  const fresh = readRegistry(store, key);
  // Inside a transaction the list may hold writes that are rolled back later, which neither the
  // counter nor data_version would reveal: used for this read only, never kept.
  if (!store.db.inTransaction) watch.cached = fresh;
  return fresh;
}

function readRegistry(store: Store, key: string): CachedRegistry {
  const providers = listProviders(store).map((provider) => deepFreeze(provider));
  return { key, providers: Object.freeze(providers), byId: new Map(providers.map((provider) => [provider.id, provider])) };
}

/**
 * The connection's watch, created on the first call made outside a transaction. Undefined when
 * there is none yet and a transaction is open: TEMP triggers created inside it would be dropped
 * by its rollback while the watch stayed, and this connection's later writes would go unseen.
 */
function watchOf(store: Store): RegistryWatch | undefined {
  let watch = watches.get(store);
  if (watch !== undefined) return watch;
  if (store.db.inTransaction) return undefined;
  let ownWrites = 0;
  const { db } = store;
  db.function('syndicate_registry_written', { varargs: false }, () => {
    ownWrites += 1;
    return null;
  });
  const triggers: string[] = [];
  for (const table of ['providers', 'provider_versions']) {
    for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
      triggers.push(
        `CREATE TEMP TRIGGER IF NOT EXISTS syndicate_watch_${table}_${event.toLowerCase()} AFTER ${event} ON main.${table} BEGIN SELECT syndicate_registry_written(); END;`,
      );
    }
  }
  db.exec(triggers.join('\n'));
  const dataVersion = db.prepare('PRAGMA data_version').pluck(true);
  // Outside a transaction every read of data_version opens a read transaction (file and shared
  // memory locks: ~20-50 µs under a gateway's load), so other connections' commits are looked
  // for at most every OTHER_WRITERS_RECHECK_MS; this connection's own writes count at once.
  let version = dataVersion.get();
  let checkedAt = performance.now();
  watch = {
    key: () => {
      const now = performance.now();
      if (now - checkedAt >= OTHER_WRITERS_RECHECK_MS) {
        version = dataVersion.get();
        checkedAt = now;
      }
      return `${String(version)}:${ownWrites}`;
    },
    cached: undefined,
  };
  watches.set(store, watch);
  return watch;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
