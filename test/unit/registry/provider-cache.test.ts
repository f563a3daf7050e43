/** The provider cache sees every registry change: this connection's, another connection's, a rollback. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentProvider, currentProviders } from '../../../src/registry/provider-cache.js';
import { pastOtherWritersRecheck } from '../../helpers/other-writers.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { registerFixtureProvider, retireFixtureProvider } from '../permits/provider-fixture.js';

let directory: string;
let store: Store;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-provider-cache-'));
  store = openStore(join(directory, 'store.db'));
});

afterEach(() => {
  store.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('currentProviders', () => {
  it('parses once per registry state and hands out frozen records', async () => {
    expect(currentProviders(store)).toEqual([]);
    await registerFixtureProvider(store, { id: 'engine' });
    const first = currentProviders(store);
    expect(first.map((provider) => `${provider.id}@${provider.currentVersion}`)).toEqual(['engine@1']);
    expect(currentProviders(store)).toBe(first);
    expect(Object.isFrozen(first[0]?.record.models[0])).toBe(true);
    expect(() => {
      (first[0]?.record as { baseUrl: string }).baseUrl = 'http://elsewhere.example/v1';
    }).toThrow(TypeError);
  });

  it("sees this connection's new versions and retirements at once", async () => {
    await registerFixtureProvider(store, { id: 'engine' });
    expect(currentProvider(store, 'engine')?.currentVersion).toBe(1);
    await registerFixtureProvider(store, { id: 'engine', baseUrl: 'http://127.0.0.1:8080/v1' });
    expect(currentProvider(store, 'engine')).toMatchObject({ currentVersion: 2, record: { baseUrl: 'http://127.0.0.1:8080/v1' } });
    retireFixtureProvider(store, 'engine');
    expect(currentProvider(store, 'engine')?.retiredAt).not.toBeNull();
  });

  it("sees another connection's (another process's) commits", async () => {
    await registerFixtureProvider(store, { id: 'engine' });
    expect(currentProviders(store)).toHaveLength(1);
    const other = openStore(join(directory, 'store.db'));
    try {
      await registerFixtureProvider(other, { id: 'second' });
      await registerFixtureProvider(other, { id: 'engine', baseUrl: 'http://127.0.0.1:9999/v1' });
    } finally {
      other.close();
    }
    // Other connections' commits are looked for at most every OTHER_WRITERS_RECHECK_MS.
    await pastOtherWritersRecheck();
    expect(currentProviders(store).map((provider) => `${provider.id}@${provider.currentVersion}`)).toEqual(['engine@2', 'second@1']);
  });

  it('never keeps a version that was rolled back', async () => {
    await registerFixtureProvider(store, { id: 'engine' });
    expect(currentProvider(store, 'engine')?.currentVersion).toBe(1);
    // Read inside a transaction that is then undone: the cache must not keep what it saw.
    store.db.exec('BEGIN IMMEDIATE');
    store.db.prepare('UPDATE providers SET retired_at = ? WHERE id = ?').run('2026-01-01T00:00:00.000Z', 'engine');
    expect(currentProvider(store, 'engine')?.retiredAt).toBe('2026-01-01T00:00:00.000Z');
    store.db.exec('ROLLBACK');
    expect(currentProvider(store, 'engine')?.retiredAt).toBeNull();
    // ...nor in the next transaction.
    store.db.exec('BEGIN IMMEDIATE');
    expect(currentProvider(store, 'engine')?.retiredAt).toBeNull();
    store.db.exec('ROLLBACK');
  });

  it("still sees this connection's writes when its first call ran in a transaction that rolled back", async () => {
    await registerFixtureProvider(store, { id: 'engine' });
    // The very first call on this connection, inside a transaction that is then undone: nothing
    // it sets up may depend on that transaction surviving.
    expect(() =>
      store.transaction(() => {
        expect(currentProvider(store, 'engine')?.currentVersion).toBe(1);
        throw new Error('undo');
      }),
    ).toThrow('undo');
    expect(currentProvider(store, 'engine')?.currentVersion).toBe(1);
    await registerFixtureProvider(store, { id: 'engine', baseUrl: 'http://127.0.0.1:8080/v1' });
    expect(currentProvider(store, 'engine')).toMatchObject({ currentVersion: 2, record: { baseUrl: 'http://127.0.0.1:8080/v1' } });
    retireFixtureProvider(store, 'engine');
    expect(currentProvider(store, 'engine')?.retiredAt).not.toBeNull();
  });
});
