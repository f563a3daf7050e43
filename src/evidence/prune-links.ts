import { hash as oneShotHash } from 'node:crypto';
import type { SqliteDatabase } from '../store/store.js';

/** `prev_hash` of the first prune record. */
const PRUNE_GENESIS_HASH = '0'.repeat(64);

/**
 * The columns of an `evidence_prunes` record its link hashes, in order: everything it says — when,
 * the cut-off, through which link, how many envelopes, which process, the break it went over — and
 * its `id`, so records cannot be swapped or renumbered.
 */
const PRUNE_LINK_COLUMNS = ['id', 'pruned_at', 'older_than', 'through_seq', 'through_hash', 'envelopes', 'pid', 'broken_json'] as const;

const SELECT_PRUNE_LINKS = `SELECT ${PRUNE_LINK_COLUMNS.join(', ')}, prev_hash, hash FROM evidence_prunes`;

/**
 * hash = sha256(prev_hash "\n" JSON(values in PRUNE_LINK_COLUMNS order)), values as SQLite returns
 * them (type included). The records are chained to one another in `id` order (migration 028): a
 * prune record edited (its date, cut-off, link or count), inserted or deleted outside syndicate no
 * longer links, as an evidence row edited does not.
 */
function pruneLinkHash(previousHash: string, values: readonly unknown[]): string {
  return oneShotHash('sha256', `${previousHash}\n${JSON.stringify(values)}`, 'hex');
}

/**
 * Inside the transaction that wrote it: chains prune record `id` after the record before it (the
 * newest before it: only the newest record is ever written, see `pruneSteps`). Rewrites its link
 * when the record was updated (a prune's next batch).
 */
export function chainPruneRecord(db: SqliteDatabase, id: number | bigint): void {
  const previous = db.prepare('SELECT hash FROM evidence_prunes WHERE id < ? ORDER BY id DESC LIMIT 1').pluck(true).get(id) as string | null | undefined;
  const row = db.prepare(`SELECT ${PRUNE_LINK_COLUMNS.join(', ')} FROM evidence_prunes WHERE id = ?`).raw(true).get(id) as unknown[];
  // After a record that is not chained (inserted outside syndicate) the link names it as such: verify reports that record.
  const previousHash = previous === undefined ? PRUNE_GENESIS_HASH : (previous ?? 'not chained');
  db.prepare('UPDATE evidence_prunes SET prev_hash = ?, hash = ? WHERE id = ?').run(previousHash, pruneLinkHash(previousHash, row), id);
}

/** Chains every prune record in `id` order, as it is (migration 028: records written before it). */
export function chainStoredPrunes(db: SqliteDatabase): void {
  for (const id of db.prepare('SELECT id FROM evidence_prunes ORDER BY id').pluck(true).all() as number[]) chainPruneRecord(db, id);
}

/** The first prune record that does not link, and why; see `ChainBreak`. */
export interface PruneRecordBreak {
  reason: 'prune record changed' | 'prune record missing' | 'prune record not chained';
  /** The record at fault (for `prune record missing`, the one after the gap). */
  prune: { id: number; prunedAt: string; olderThan: string; throughSeq: number };
}

/**
 * Proves the prune records in `id` order: each links to the one before it (the first to the
 * genesis hash) and hashes to what it stores. `not chained`: no link at all (inserted outside
 * syndicate, as a faked prune would be); `missing`: it links to another record than the one before
 * it (a record was deleted); `changed`: anything it says was edited. Undefined when all hold.
 */
export function verifyPruneRecords(db: SqliteDatabase): PruneRecordBreak | undefined {
  let previousHash = PRUNE_GENESIS_HASH;
  for (const row of db.prepare(`${SELECT_PRUNE_LINKS} ORDER BY id`).raw(true).iterate() as IterableIterator<unknown[]>) {
    const values = row.slice(0, PRUNE_LINK_COLUMNS.length);
    const [prev, stored] = row.slice(PRUNE_LINK_COLUMNS.length);
    const [id, prunedAt, olderThan, throughSeq] = values;
    const prune = { id: Number(id), prunedAt: String(prunedAt), olderThan: String(olderThan), throughSeq: Number(throughSeq) };
    if (stored === null || prev === null) return { reason: 'prune record not chained', prune };
    if (prev !== previousHash) return { reason: 'prune record missing', prune };
    if (pruneLinkHash(previousHash, values) !== stored) return { reason: 'prune record changed', prune };
    previousHash = String(stored);
  }
  return undefined;
}
