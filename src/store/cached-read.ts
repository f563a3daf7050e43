import { performance } from 'node:perf_hooks';
import type { Store } from './store.js';

/** How stale another process's commit may be when a cached read is used (e.g. a provider blocked with the CLI while the gateway runs). */
export const OTHER_WRITERS_RECHECK_MS = 5;

/** What one connection last read of `PRAGMA data_version`, and when. */
interface OtherWriters {
  /** The data version now, read again when the last read is OTHER_WRITERS_RECHECK_MS old. */
  version(): number;
}

/**
 * How one connection notices changes to the tables one cached read depends on: the state they
 * were read at is other connections' data version and this connection's writes to them, which
 * both change whenever the tables may have changed.
 */
interface TableWatch<T> {
  otherWriters: OtherWriters;
  ownWrites: number;
  cached: { version: number; ownWrites: number; value: T } | undefined;
}

const otherWritersByStore = new WeakMap<Store, OtherWriters>();
let watchSequence = 0;

/**
 * `read`, made to run again only when one of `tables` may have changed, per connection: the
 * value is checked on every call against the tables' state — `PRAGMA data_version` moves when
 * another connection commits (read at most every OTHER_WRITERS_RECHECK_MS, so such a change shows
 * within 5 ms; inside a transaction on every call, so at once), and temporary triggers on this
 * connection count its own writes to the tables (in a JS counter, which a rollback does not turn
 * back, so a key never names two states). What is
 * read inside a transaction is never kept. The triggers are only ever created outside a
 * transaction: a rollback would drop them with it. The value is shared by every caller: never
 * mutate it.
 */
export function cachedRead<T>(tables: readonly string[], read: (store: Store) => T): (store: Store) => T {
  const watches = new WeakMap<Store, TableWatch<T>>();
  const id = ++watchSequence;
  return (store) => {
    const watch = watchOf(store, watches, id, tables);
    if (watch === undefined) return read(store);
    const version = watch.otherWriters.version();
    const { cached, ownWrites } = watch;
    if (cached !== undefined && cached.version === version && cached.ownWrites === ownWrites) return cached.value;
    const value = read(store);
    // Inside a transaction the value may hold writes that are rolled back later, which neither the
    // counter nor data_version would reveal: used for this read only, never kept.
    if (!store.db.inTransaction) watch.cached = { version, ownWrites, value };
    return value;
  };
}

/**
 * The connection's watch of `tables` for one cached read, created on the first call made outside
 * a transaction. Undefined when there is none yet and a transaction is open: TEMP triggers
 * created inside it would be dropped by its rollback while the watch stayed, and this
 * connection's later writes would go unseen.
 */
function watchOf<T>(store: Store, watches: WeakMap<Store, TableWatch<T>>, id: number, tables: readonly string[]): TableWatch<T> | undefined {
  const existing = watches.get(store);
  if (existing !== undefined) return existing;
  if (store.db.inTransaction) return undefined;
  const watch: TableWatch<T> = { otherWriters: otherWritersOf(store), ownWrites: 0, cached: undefined };
  const { db } = store;
  const written = `syndicate_tables_written_${id}`;
  db.function(written, { varargs: false }, () => {
    watch.ownWrites += 1;
    return null;
  });
  const triggers: string[] = [];
  for (const table of tables) {
    for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
      triggers.push(`CREATE TEMP TRIGGER IF NOT EXISTS syndicate_watch_${id}_${table}_${event.toLowerCase()} AFTER ${event} ON main.${table} BEGIN SELECT ${written}(); END;`);
    }
  }
  db.exec(triggers.join('\n'));
  watches.set(store, watch);
  return watch;
}

/**
 * The connection's view of other connections' commits, shared by its cached reads. Outside a
 * transaction every read of data_version opens a read transaction (file and shared memory locks:
 * ~20-50 µs under a gateway's load), so it is read at most every OTHER_WRITERS_RECHECK_MS.
 */
function otherWritersOf(store: Store): OtherWriters {
  let otherWriters = otherWritersByStore.get(store);
  if (otherWriters !== undefined) return otherWriters;
  const dataVersion = store.db.prepare('PRAGMA data_version').pluck(true);
  let version = dataVersion.get() as number;
  let checkedAt = performance.now();
  otherWriters = {
    version: () => {
      const now = performance.now();
      // Inside a transaction the read is cheap (the locks are held) and must be exact: what a write
      // transaction reads decides what it writes (a checkpoint records the model it read).
      if (store.db.inTransaction || now - checkedAt >= OTHER_WRITERS_RECHECK_MS) {
        version = dataVersion.get() as number;
        checkedAt = now;
      }
      return version;
    },
  };
  otherWritersByStore.set(store, otherWriters);
  return otherWriters;
}
