import { resolveHome } from '../../src/home/home.js';
import { openStore, type Store } from '../../src/store/store.js';

/** Runs `work` on the store of the data directory `home` (opened in this process), then closes it. */
export function withStore<T>(home: string, work: (store: Store) => T): T {
  const store = openStore(resolveHome({ home }).storePath);
  try {
    return work(store);
  } finally {
    store.close();
  }
}

/** As withStore, for `work` that returns a promise: the store is closed once it settles. */
export async function withStoreAsync<T>(home: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(resolveHome({ home }).storePath);
  try {
    return await work(store);
  } finally {
    store.close();
  }
}
