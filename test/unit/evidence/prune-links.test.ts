import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allPrunes, verifyChain } from '../../../src/evidence/index.js';
import { CHUNK_KEY_SPAN } from '../../../src/evidence/chain.js';
import { pruneEvidence } from '../../../src/evidence/retention.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { seedCompleted } from './seed.js';

const HOUR = 3600 * 1000;

/** Deletes the chained rows up to `throughSeq` with their bytes, as `evidence prune` does, and records nothing. */
function deleteOldestRows(store: Store, throughSeq: number): { throughHash: string } {
  const rows = store.db.prepare('SELECT row_key, hash FROM evidence WHERE chain_seq <= ? ORDER BY chain_seq').all(throughSeq) as { row_key: number; hash: string }[];
  for (const { row_key: rowKey } of rows) {
    store.db.prepare(`DELETE FROM evidence_chunks WHERE key BETWEEN ? * ${CHUNK_KEY_SPAN} AND ? * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1}`).run(rowKey, rowKey);
  }
  store.db.prepare('DELETE FROM evidence WHERE chain_seq <= ?').run(throughSeq);
  return { throughHash: (rows.at(-1) as { hash: string }).hash };
}

/** A prune as a store before migration 028 recorded it (or as an edit of the store fakes one): the oldest rows deleted, an unchained record of them. */
function recordPruneUnchained(store: Store, throughSeq: number, olderThan: string): void {
  const { throughHash } = deleteOldestRows(store, throughSeq);
  store.db
    .prepare('INSERT INTO evidence_prunes (pruned_at, older_than, through_seq, through_hash, envelopes, pid) VALUES (?, ?, ?, ?, ?, ?)')
    .run(new Date().toISOString(), olderThan, throughSeq, throughHash, throughSeq, process.pid);
}

describe('prune records under a hash chain', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let store: Store;
  let path: string;
  beforeEach(() => {
    temporary = makeTempHome();
    path = `${temporary.home}/evidence.db`;
    store = openStore(path);
  });
  afterEach(() => {
    store.close();
    temporary.cleanup();
  });

  const seedOldAndNew = (): void => {
    for (const hoursAgo of [6, 5, 4]) seedCompleted(store, { now: Date.now() - hoursAgo * HOUR });
    seedCompleted(store);
  };
  const prune = (hoursAgo: number, batchEnvelopes?: number): void => {
    pruneEvidence(store, { olderThan: new Date(Date.now() - hoursAgo * HOUR), ...(batchEnvelopes === undefined ? {} : { batchEnvelopes }) });
  };

  it("a prune's edited cut-off or date is caught, naming the prune", () => {
    seedOldAndNew();
    prune(3);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    const record = store.db.prepare('SELECT id, older_than, pruned_at FROM evidence_prunes').get() as { id: number; older_than: string; pruned_at: string };

    store.db.prepare('UPDATE evidence_prunes SET older_than = ?').run(new Date(Date.now() - 100 * HOUR).toISOString());
    expect(verifyChain(store)).toMatchObject({ ok: false, rows: 1, brokenAt: { seq: 3, reason: 'prune record changed', prune: { id: record.id, prunedAt: record.pruned_at, throughSeq: 3 } } });
    store.db.prepare('UPDATE evidence_prunes SET older_than = ?').run(record.older_than);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });

    store.db.prepare('UPDATE evidence_prunes SET pruned_at = ?').run('2020-01-01T00:00:00.000Z');
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { reason: 'prune record changed', prune: { id: record.id, prunedAt: '2020-01-01T00:00:00.000Z' } } });
  });

  it('a faked prune (the oldest rows deleted, a matching record inserted) is caught, on a store never pruned and after a real prune', () => {
    seedOldAndNew();
    recordPruneUnchained(store, 2, new Date(Date.now() - 4.5 * HOUR).toISOString());
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 2, reason: 'prune record not chained', prune: { id: 1, throughSeq: 2 } } });
  });

  it('a faked prune after a real one is caught', () => {
    seedOldAndNew();
    prune(5.5);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 3, prunedThrough: { throughSeq: 1 } });
    recordPruneUnchained(store, 2, new Date(Date.now() - 4.5 * HOUR).toISOString());
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 2, reason: 'prune record not chained', prune: { id: 2 } } });
  });

  it('a deleted prune record is caught at the record after it', () => {
    seedOldAndNew();
    prune(5.5);
    prune(4.5);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2, prunedThrough: { throughSeq: 2 } });
    store.db.prepare('DELETE FROM evidence_prunes WHERE id = 1').run();
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 2, reason: 'prune record missing', prune: { id: 2 } } });
  });

  it('a prune in several batches, and later prunes over everything, verify', () => {
    seedOldAndNew();
    prune(3, 1);
    expect(allPrunes(store)).toMatchObject([{ throughSeq: 3, envelopes: 3 }]);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    seedCompleted(store);
    prune(-1);
    prune(-1);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0, prunedThrough: { throughSeq: 5 } });
    expect(store.db.prepare('SELECT count(*) FROM evidence_prunes WHERE hash IS NULL').pluck(true).get()).toBe(0);
  });

  it('a store pruned before migration 028 verifies after it; its old records are chained as they are, and a new prune links after them', () => {
    store.close();
    path = `${temporary.home}/old.db`;
    const old = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version < 28) });
    for (const hoursAgo of [6, 5, 4]) seedCompleted(old, { now: Date.now() - hoursAgo * HOUR });
    seedCompleted(old);
    recordPruneUnchained(old, 1, new Date(Date.now() - 5.5 * HOUR).toISOString());
    recordPruneUnchained(old, 2, new Date(Date.now() - 4.5 * HOUR).toISOString());
    const before = allPrunes(old);
    old.close();

    store = openStore(path);
    expect(store.appliedMigrations()).toContain(28);
    expect(allPrunes(store)).toEqual(before);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2, prunedThrough: { throughSeq: 2 } });
    prune(3);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1, prunedThrough: { throughSeq: 3 } });
    store.db.prepare('UPDATE evidence_prunes SET envelopes = 7 WHERE id = 1').run();
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 1, reason: 'prune record changed', prune: { id: 1 } } });
  });
});
