import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { idCreationRange } from '../common/ids.js';
import { CheckFailedError, StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import { MAX_BLOCK_BYTES } from './blocks.js';
import { CHUNK_KEY_SPAN, GENESIS_HASH, latestPrune, verifyChainRange, walkChainRange, type ChainBreak } from './chain.js';
import { chainPruneRecord } from './prune-links.js';

export interface PruneOptions {
  /** Envelopes created before this instant are deleted (a prefix of the chain: see `pruneEvidence`). */
  olderThan: Date;
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Envelopes per transaction, so a running gateway waits at most one batch for its writes. */
  batchEnvelopes?: number;
  /** Bytes per transaction at most (`PRUNE_BATCH_BYTES`), as `batchEnd` counts them. */
  batchBytes?: number;
  /**
   * Delete the rows even where their chain is broken (an edited or missing row), recording the
   * break in the prune's record. Without it a prune that finds a break deletes nothing of that
   * batch and fails (exit 1): deleting the rows would erase the only trace of the edit.
   */
  acceptBreak?: boolean;
  /** Called after each batch with the envelopes deleted so far and the total. */
  onProgress?: (done: number, total: number) => void;
  now?: () => Date;
}

export interface PruneResult {
  dryRun: boolean;
  olderThan: string;
  /** Chained envelopes deleted (or that would be). */
  envelopes: number;
  /** The chain sequence range deleted; undefined when nothing was old enough. */
  fromSeq?: number;
  throughSeq?: number;
  /** Hash of the last deleted link: where `evidence verify` starts from now. */
  throughHash?: string;
  /** Byte chunks, shared request blocks and expired permits deleted with them. */
  chunks: number;
  blocks: number;
  permits: number;
  /** Envelopes kept because a newer one was chained before them finished (the chain is cut only as a prefix). */
  keptOlder: number;
  /** The first break in the rows to delete (a dry run reports it; a prune goes past it only with `acceptBreak`). */
  brokenAt?: ChainBreak;
}

const DEFAULT_BATCH_ENVELOPES = 2000;

/**
 * The request and response bytes one batch proves at most (besides its envelopes): proving them is
 * what holds the write lock, and every other writer — a gateway, a `run` — waits for it, failing
 * busy after its 5 s busy timeout. By envelopes alone, a batch of 2 000 agent turns that each send
 * a long conversation (its bytes stored once, as shared blocks, but hashed whole for every turn)
 * held it for seconds: 2 000 envelopes of 470 KB, 2.4 s on an idle 2-core VM, 4.3 s under load.
 * At 32 MiB a batch takes ~0.1 s; 2 000 small envelopes stay one batch.
 */
export const PRUNE_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Retention: deletes the chained envelopes created before `olderThan` — their rows, their byte
 * chunks, the request blocks no kept chunk uses — and the permits that expired before it. Only a
 * prefix of the chain is ever cut (an envelope is chained when it ends, so an old long stream
 * chained after a newer envelope is kept, with everything after it), and the hash of the last
 * deleted link is recorded in `evidence_prunes` (each record chained to the one before it, see
 * prune-links.ts): `evidence verify` proves the kept chain from there. Pending envelopes (not chained yet) are never touched. The request blocks no kept chunk
 * names are deleted at the end, those an interrupted prune left behind included.
 *
 * Batches of `batchEnvelopes`, each one transaction that deletes a run of the chain and records how
 * far the prune has gone, so an interrupted prune leaves a verifiable chain and a gateway running
 * beside it waits one batch at most. The file keeps its size: SQLite reuses the freed pages.
 */
export function pruneEvidence(store: Store, options: PruneOptions): PruneResult {
  const steps = pruneSteps(store, options);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * How long `pruneEvidenceYielding` leaves the write lock free between two batches. Another process
 * waiting for it (a `run`, a gateway's group commit) is SQLite's busy handler polling the lock,
 * every 100 ms once it has waited a quarter of a second: a batch begun as soon as the last one
 * committed took the lock back before that poll, and the writer waited through every batch of a
 * long prune — past its 5 s busy timeout (exit 6; a gateway's 503). A pause of one poll interval
 * lets it in, and costs 0.1 s per batch (2 000 envelopes).
 */
export const PRUNE_BATCH_PAUSE_MS = 100;

/**
 * `pruneEvidence` for a process that serves requests meanwhile (`serve`'s retention): the same
 * batches, with the event loop let run between them, so requests wait one batch at most — a
 * synchronous prune of a big store would hold every request until its last batch. `shouldStop`
 * is asked between batches: true ends the prune there (what is deleted so far stays deleted, the
 * chain verifiable; the request blocks and expired permits go with the next prune); undefined
 * when it stopped before the first batch.
 */
export async function pruneEvidenceYielding(store: Store, options: PruneOptions & { shouldStop?: () => boolean }): Promise<PruneResult | undefined> {
  const steps = pruneSteps(store, options);
  let latest: PruneResult | undefined;
  for (;;) {
    // Before each batch, the first included: the caller goes on at once. After a committed batch,
    // the write lock is left free long enough for another process waiting for it to take it.
    if (latest === undefined || options.dryRun === true) await yieldToEventLoop();
    else await sleep(PRUNE_BATCH_PAUSE_MS);
    if (options.shouldStop?.() === true) return latest;
    const step = steps.next();
    if (step.done === true) return step.value;
    latest = step.value;
  }
}

/**
 * The prune as steps: yields the result so far after each committed batch (a dry run: after each
 * page of rows it verified, nothing counted yet), returns it when done.
 */
function* pruneSteps(store: Store, options: PruneOptions): Generator<PruneResult, PruneResult, void> {
  const olderThan = options.olderThan.toISOString();
  const previous = latestPrune(store);
  const fromSeq = (previous?.throughSeq ?? 0) + 1;
  const head = store.statement('SELECT seq FROM evidence_chain_head WHERE id = 1').pluck(true).get() as number | undefined;
  const firstNewer = store
    .statement('SELECT min(chain_seq) FROM evidence WHERE chain_seq >= ? AND created_at >= ?')
    .pluck(true)
    .get(fromSeq, olderThan) as number | null;
  const throughSeq = firstNewer === null ? (head ?? 0) : firstNewer - 1;
  const envelopes = Math.max(0, throughSeq - fromSeq + 1);
  const keptOlder =
    firstNewer === null
      ? 0
      : (store.statement('SELECT count(*) FROM evidence WHERE chain_seq > ? AND created_at < ?').pluck(true).get(throughSeq, olderThan) as number);
  const result: PruneResult = { dryRun: options.dryRun === true, olderThan, envelopes, chunks: 0, blocks: 0, permits: 0, keptOlder };
  if (envelopes > 0) {
    result.fromSeq = fromSeq;
    result.throughSeq = throughSeq;
  }
  const chainBefore = (): string => latestPrune(store)?.throughHash ?? GENESIS_HASH;
  if (options.dryRun === true) {
    // A page of rows at a time: a yielding prune (`evidence prune --dry-run` stopped by a signal) can stop between two.
    let brokenAt: ChainBreak | undefined;
    if (envelopes > 0) {
      const walk = walkChainRange(store, { fromSeq, throughSeq, previousHash: chainBefore() });
      for (let step = walk.next(); ; step = walk.next()) {
        if (step.done === true) {
          brokenAt = step.value;
          break;
        }
        yield result;
      }
    }
    if (brokenAt !== undefined) result.brokenAt = brokenAt;
    result.permits = store.statement('SELECT count(*) FROM permits WHERE expires_at < ?').pluck(true).get(olderThan) as number;
    if (envelopes > 0) {
      result.chunks = store
        .statement(
          `SELECT count(*) FROM evidence e JOIN evidence_chunks c ON c.key BETWEEN e.row_key * ${CHUNK_KEY_SPAN} AND e.row_key * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1} WHERE e.chain_seq BETWEEN ? AND ?`,
        )
        .pluck(true)
        .get(fromSeq, throughSeq) as number;
    }
    return result;
  }

  const batch = options.batchEnvelopes ?? DEFAULT_BATCH_ENVELOPES;
  const now = options.now ?? (() => new Date());
  const rowsOf = store.statement('SELECT row_key, hash FROM evidence WHERE chain_seq BETWEEN ? AND ? ORDER BY chain_seq');
  const deleteChunks = store.statement(`DELETE FROM evidence_chunks WHERE key BETWEEN ? * ${CHUNK_KEY_SPAN} AND ? * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1}`);
  const deleteRows = store.statement('DELETE FROM evidence WHERE chain_seq BETWEEN ? AND ?');
  const insertPrune = store.statement('INSERT INTO evidence_prunes (pruned_at, older_than, through_seq, through_hash, envelopes, pid, broken_json) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const updatePrune = store.statement('UPDATE evidence_prunes SET through_seq = ?, through_hash = ?, envelopes = ?, broken_json = coalesce(broken_json, ?) WHERE id = ?');
  let pruneId: number | bigint | undefined;
  let done = 0;
  const latestPruneId = store.statement('SELECT max(id) FROM evidence_prunes').pluck(true);
  const nextPrevHash = store.statement('SELECT prev_hash FROM evidence WHERE chain_seq = ?').pluck(true);
  const chainHead = store.statement('SELECT seq, hash FROM evidence_chain_head WHERE id = 1');
  const linkAfter = (seq: number): string => {
    const next = nextPrevHash.get(seq + 1) as string | undefined;
    if (next !== undefined) return next;
    const headRow = chainHead.get() as { seq: number; hash: string } | undefined;
    return headRow?.hash ?? GENESIS_HASH;
  };
  const batchBytes = options.batchBytes ?? PRUNE_BATCH_BYTES;
  for (let start = fromSeq, end = 0; start <= throughSeq; start = end + 1) {
    end = batchEnd(store, start, Math.min(throughSeq, start + batch - 1), batchBytes);
    store.transaction(() => {
      // Another prune (a second process) may have deleted part of this run since: go on after it.
      const first = Math.max(start, (latestPrune(store)?.throughSeq ?? 0) + 1);
      if (first > end) return;
      // Prove the rows before deleting them: once gone, an edit among them could never be shown.
      const brokenAt = verifyChainRange(store, { fromSeq: first, throughSeq: end, previousHash: chainBefore() });
      if (brokenAt !== undefined && options.acceptBreak !== true) throw chainBrokenError(brokenAt, done);
      if (brokenAt !== undefined) result.brokenAt ??= brokenAt;
      const broken = brokenAt === undefined ? null : JSON.stringify(brokenAt);
      const rows = rowsOf.all(first, end) as { row_key: number; hash: string }[];
      // The chain has no gaps: a missing row here means the store was edited behind our back.
      if (rows.length !== end - first + 1 && options.acceptBreak !== true) {
        throw new StoreError(`chained evidence rows ${first}–${end} are not all there (${rows.length} of ${end - first + 1} found): nothing of this batch was deleted`, {
          hint: 'run `syndicate evidence verify` to see where the chain is broken',
        });
      }
      for (const { row_key: rowKey } of rows) {
        result.chunks += deleteChunks.run(rowKey, rowKey).changes;
      }
      deleteRows.run(first, end);
      done += rows.length;
      // Past a break, the anchor is what the first kept row links to (the last deleted row may be
      // the edited or missing one), so `evidence verify` goes on proving the kept chain.
      const throughHash = brokenAt === undefined ? (rows.at(-1) as { hash: string }).hash : linkAfter(end);
      // The newest record is the anchor verify starts from: ours is updated only while it is the newest.
      if (pruneId !== undefined && latestPruneId.get() === Number(pruneId)) updatePrune.run(end, throughHash, done, broken, pruneId);
      else pruneId = insertPrune.run(now().toISOString(), olderThan, end, throughHash, done, process.pid, broken).lastInsertRowid;
      // Linked to the record before it, as written now: an edit of it later no longer hashes.
      chainPruneRecord(store.db, pruneId);
      result.throughHash = throughHash;
    });
    options.onProgress?.(done, envelopes);
    // So far: what a prune stopped here deleted.
    result.envelopes = done;
    result.throughSeq = end;
    yield result;
  }
  // What this run deleted itself (another prune running beside it may have taken a share).
  result.envelopes = done;
  store.transaction(() => {
    // Blocks are shared between the turns of a conversation: only those no kept chunk names go.
    // Every block no chunk names goes, not only those of this run's chunks: a prune stopped after a
    // batch committed left that batch's blocks behind, and they hold verbatim prompt bytes.
    if ((store.statement('SELECT count(*) FROM evidence_blocks').pluck(true).get() as number) > 0) {
      const named = new Set<number>();
      for (const ids of store.statement('SELECT block_ids FROM evidence_chunks WHERE block_ids IS NOT NULL').pluck(true).all() as string[]) {
        for (const id of ids.split(',')) named.add(Number(id));
      }
      const deleteBlock = store.statement('DELETE FROM evidence_blocks WHERE block_id = ?');
      for (const id of store.statement('SELECT block_id FROM evidence_blocks').pluck(true).all() as number[]) {
        if (!named.has(id)) result.blocks += deleteBlock.run(id).changes;
      }
    }
    // An expired permit is refused by its own expiry before its row is looked up: the row has no use left.
    result.permits = store.statement('DELETE FROM permits WHERE expires_at < ?').run(olderThan).changes;
  });
  return result;
}

/**
 * The last chain position of the batch that starts at `start`: at most `last`, and no further than
 * the envelopes whose bytes add up to `budget` (the first one always). Counted from the stored
 * lengths, a chunk stored as blocks as `MAX_BLOCK_BYTES` per block (an upper bound: their lengths
 * are not read). Read before the batch's transaction: chained rows do not change, and a row another
 * prune deleted meanwhile is skipped in it.
 */
function batchEnd(store: Store, start: number, last: number, budget: number): number {
  const sizes = store
    .statement(
      `SELECT e.chain_seq, (SELECT coalesce(sum(length(c.bytes) + CASE WHEN c.block_ids IS NULL THEN 0 ELSE (length(c.block_ids) - length(replace(c.block_ids, ',', '')) + 1) * ${MAX_BLOCK_BYTES} END), 0)
          FROM evidence_chunks c WHERE c.key BETWEEN e.row_key * ${CHUNK_KEY_SPAN} AND e.row_key * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1})
         FROM evidence e WHERE e.chain_seq BETWEEN ? AND ? ORDER BY e.chain_seq`,
    )
    .raw(true)
    .iterate(start, last) as IterableIterator<[number, number]>;
  let end: number | undefined;
  let bytes = 0;
  for (const [seq, size] of sizes) {
    bytes += size;
    if (bytes > budget && end !== undefined) break;
    end = seq;
  }
  return end ?? last;
}

function chainBrokenError(brokenAt: ChainBreak, deletedSoFar: number): CheckFailedError {
  const where = brokenAt.evidenceId === undefined ? `#${brokenAt.seq}` : `#${brokenAt.seq} (${brokenAt.evidenceId})`;
  const before =
    deletedSoFar === 0 ? 'nothing was deleted' : `${deletedSoFar === 1 ? 'the envelope' : `the ${deletedSoFar} envelopes`} before it ${deletedSoFar === 1 ? 'was' : 'were'} deleted, nothing from it on`;
  return new CheckFailedError(`evidence chain broken at ${where} (${brokenAt.reason}) in the part to prune: ${before}`, {
    hint:
      'deleting those rows would erase the only trace of the edit: look at it (`syndicate evidence verify`, `syndicate evidence show ID`), keep a copy (`syndicate evidence export`), ' +
      'then prune with --accept-break to delete them anyway (the prune record keeps the break, and `evidence verify` reports it)',
    details: { brokenAt, deleted: deletedSoFar },
  });
}

/** One `evidence prune` as `evidence_prunes` records it. */
export interface PruneRecord {
  prunedAt: string;
  /** Its cut-off: it deleted envelopes created before this instant, and none created later. */
  olderThan: string;
  /** Every chained envelope up to this sequence number is gone (by this prune or an earlier one). */
  throughSeq: number;
}

/**
 * The prune that deleted the envelope an evidence id (or a prefix of one) named, when the store no
 * longer holds it. An evidence id begins with its envelope's creation time (`newId`), and a prune
 * deletes only envelopes created before its cut-off, so an id created before a prune's cut-off that
 * the store does not hold went with the first such prune (an envelope that prune kept, chained after
 * a newer one, went with a later prune: the first is named all the same). An id created at or after
 * every cut-off — or anything that is not an evidence id — was never deleted by a prune: undefined.
 * Only the time part is judged: an id syndicate never made with an old time reads as pruned.
 */
export function pruneThatDeleted(store: Store, id: string): PruneRecord | undefined {
  const created = idCreationRange(id, 'ev');
  if (created === undefined) return undefined;
  const prunes = store.statement('SELECT pruned_at, older_than, through_seq FROM evidence_prunes ORDER BY id').all() as {
    pruned_at: string;
    older_than: string;
    through_seq: number;
  }[];
  // `created.latest`: every id with this prefix was created before the cut-off.
  const prune = prunes.find((candidate) => created.latest < Date.parse(candidate.older_than));
  return prune === undefined ? undefined : { prunedAt: prune.pruned_at, olderThan: prune.older_than, throughSeq: prune.through_seq };
}

/**
 * What `evidence list`, `evidence export`, `metrics` and the MCP `metrics` tool warn of a window
 * beginning at `sinceMs` (or with no start) when the prune of the latest cut-off is after it: the
 * window reads only the envelopes that prune kept, so an empty list or a count of 0 there does not
 * mean that nothing happened. Undefined when no prune reached into it.
 */
export function prunedWindowWarning(store: Store, sinceMs: number | undefined): string | undefined {
  const latest = store.statement('SELECT pruned_at, older_than FROM evidence_prunes ORDER BY older_than DESC, id DESC LIMIT 1').get() as
    | { pruned_at: string; older_than: string }
    | undefined;
  if (latest === undefined || (sinceMs !== undefined && sinceMs >= Date.parse(latest.older_than))) return undefined;
  return (
    `evidence created before ${latest.older_than} was deleted by \`evidence prune\` on ${latest.pruned_at}: this window begins before then, ` +
    'so what it held up to then is not here (an `evidence export` made before the prune holds it; `evidence verify --json` lists every prune)'
  );
}
