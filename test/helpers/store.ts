import { envelopeToJson, listEvidence, readEvidence, type ListEvidenceOptions } from '../../src/evidence/index.js';
import { resolveHome } from '../../src/home/home.js';
import { computeMetrics } from '../../src/metrics/index.js';
import { issuePermitForProvider, loadPermitKey } from '../../src/permits/index.js';
import { loadPolicy } from '../../src/policy/load.js';
import { registerProviderFiles } from '../../src/registry/register.js';
import { listProviders, providerHistory } from '../../src/registry/registry.js';
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

/** Registers provider record files in the data directory `home` from this process, as `provider register FILE...` stores them (throws where it would fail). */
export function registerFilesInHome(home: string, ...paths: string[]): Promise<void> {
  return withStoreAsync(home, async (store) => {
    await registerProviderFiles(store, paths);
  });
}

/**
 * The rows `evidence list --json` prints (its `evidence`, newest first, no limit unless given),
 * read by this process with the same filters: for tests whose subject is what was recorded.
 */
export function storedEvidenceList(home: string, filters: ListEvidenceOptions = {}): Record<string, unknown>[] {
  return withStore(home, (store) => JSON.parse(JSON.stringify(listEvidence(store, filters))) as Record<string, unknown>[]);
}

/** An evidence row as `evidence show ID --json` prints it (`evidence`), read by this process; undefined where there is none. */
export function storedEnvelope(home: string, id: string): Record<string, unknown> | undefined {
  return withStore(home, (store) => {
    const envelope = readEvidence(store, id);
    return envelope === undefined ? undefined : (JSON.parse(JSON.stringify(envelopeToJson(envelope.record, envelope.unreadable))) as Record<string, unknown>);
  });
}

/** Every version of provider `id` as `provider history ID --json` prints them (`versions`), read by this process. */
export function storedProviderHistory(home: string, id: string): Record<string, unknown>[] {
  return withStore(home, (store) => JSON.parse(JSON.stringify(providerHistory(store, id))) as Record<string, unknown>[]);
}

/** The providers as the registry holds them (current version of each, by id), read by this process: what `provider list` lists. */
export function storedProviders(home: string): Record<string, unknown>[] {
  return withStore(home, (store) => JSON.parse(JSON.stringify(listProviders(store))) as Record<string, unknown>[]);
}

/** What `metrics --json` prints (`metrics`) for the last `sinceMs` (its default: 24 h), computed by this process over the home's store and policy. */
export function storedMetrics(home: string, sinceMs = 24 * 3600 * 1000): Record<string, unknown> {
  const policy = loadPolicy(resolveHome({ home }).policyPath);
  const now = Date.now();
  return withStore(home, (store) => JSON.parse(JSON.stringify(computeMetrics(store, policy, { sinceMs: now - sinceMs, untilMs: now + 1 }))) as Record<string, unknown>);
}

/**
 * A permit for `model` of provider `providerId` (public data, `ttlMs` default 60 s), issued by this
 * process with the home's permit key as `permit issue --provider ID --model M` issues it: its token,
 * for tests whose subject is what a command does with the permit.
 */
export function issuePermitInHome(home: string, providerId: string, model: string, ttlMs?: number): string {
  const key = loadPermitKey(resolveHome({ home }).permitKeyPath);
  return withStore(home, (store) => issuePermitForProvider(store, key, { providerId, model, maxSensitivity: 'public' }, ttlMs === undefined ? {} : { ttlMs }).token);
}
