import { createHash, hash as oneShotHash, type Hash } from 'node:crypto';
import { runPausing, runToEnd } from '../common/pausing.js';
import type { Store } from '../store/store.js';
import { evidenceBlocks } from './blocks.js';
import { verifyPruneRecords, type PruneRecordBreak } from './prune-links.js';

/** `prev_hash` of the first link. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Every column of `evidence` except `hash`, in the order the chain hashes them: the 43 columns
 * of chain format v2, then the columns appended since. A new column is appended here and added
 * by a migration together; `linkHash` leaves appended columns out while they and every later
 * one are null, so a row written before a column existed (null there) hashes exactly as it did
 * when it was written, and giving such a row a value later breaks its link. The bytes live in
 * `evidence_chunks` (see `ChunkLedger`).
 */
export const HASHED_COLUMNS = [
  'row_key',
  'id',
  'chain_seq',
  'request_id',
  'hop',
  'kind',
  'state',
  'pid',
  'created_at',
  'finished_at',
  'provider_id',
  'provider_version',
  'provider_class',
  'model',
  'permit_id',
  'permit_json',
  'permit_token',
  'session_id',
  'caller',
  'sensitivity',
  'route_json',
  'streamed',
  'request_method',
  'request_url',
  'request_headers_json',
  'request_started_at',
  'response_status',
  'response_headers_json',
  'response_started_ms',
  'response_ended_ms',
  'response_complete',
  'first_token_ms',
  'total_ms',
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'token_accounting',
  'verbatim_capture',
  'tool_call_fidelity',
  'markers_json',
  'warnings_json',
  'error_json',
  'prev_hash',
  // Appended (migration 9): prompt-cache reads and writes, both counted in input_tokens too.
  'cached_input_tokens',
  'cache_write_input_tokens',
] as const;

/** How many of HASHED_COLUMNS chain format v2 hashes always; the rest only when not trailing nulls. */
const CHAIN_V2_COLUMNS = 43;

export type HashedColumn = (typeof HASHED_COLUMNS)[number];

/** Position of each column in a raw `SELECT_HASHED` row (and in an in-memory row). */
export const COLUMN_INDEX = Object.fromEntries(HASHED_COLUMNS.map((column, index) => [column, index])) as Record<HashedColumn, number>;

/** The values of one `evidence` row in HASHED_COLUMNS order (what is inserted, updated and hashed). */
export type RowValues = unknown[];

/** `SELECT <hashed columns>, hash FROM evidence` — rows read with `.raw()` line up with HASHED_COLUMNS. */
export const SELECT_HASHED = `SELECT ${HASHED_COLUMNS.join(', ')}, hash FROM evidence`;

/** `seq` of the request body in `evidence_chunks`; response chunks follow from 1 in arrival order. */
export const REQUEST_SEQ = 0;

/** Chunk keys are `row_key * CHUNK_KEY_SPAN + seq`: an envelope holds at most this many chunks. */
export const CHUNK_KEY_SPAN = 2 ** 24;

/**
 * The bytes side of a link: every `evidence_chunks` row of an envelope, in `seq` order. Keeps the
 * list of `[seq, at_ms, length]` and a running SHA-256 of the bytes, so each byte is hashed once,
 * when it arrives (the recorder) or when it is read back (recovery, verification).
 */
export class ChunkLedger {
  private readonly entries: [unknown, unknown, number | string][] = [];
  /** Running digest of bytes given as they arrive (`add`). */
  private digest: Hash | undefined;
  /** Bytes read back from the store (`addStored`), hashed in one go by `seal`. */
  private readonly parts: Buffer[] = [];

  /** A chunk as it arrives: hashed now, not kept. */
  add(seq: number, atMs: number | null, bytes: Uint8Array): void {
    this.entries.push([seq, atMs, bytes.byteLength]);
    this.runningDigest().update(bytes);
  }

  /**
   * A chunk as read back from the store (from the envelope's key range). Bytes are always written
   * as a BLOB: a value of another type (text with the same bytes, say) is recorded as its type,
   * and a chunk naming another envelope is recorded as such, so the link no longer matches.
   */
  addStored(seq: unknown, atMs: unknown, bytes: unknown, evidenceIdMatches = true): void {
    if (!evidenceIdMatches) {
      this.entries.push([seq, atMs, 'evidence_id of another envelope']);
    } else if (Buffer.isBuffer(bytes)) {
      this.entries.push([seq, atMs, bytes.byteLength]);
      if (this.digest === undefined) this.parts.push(bytes);
      else this.digest.update(bytes);
    } else {
      this.entries.push([seq, atMs, `not bytes: ${typeof bytes}`]);
    }
  }

  get count(): number {
    return this.entries.length;
  }

  /** `JSON([[seq, at_ms, length], ...])` and the hex SHA-256 of the bytes in order. Call once. */
  seal(): { chunksJson: string; bytesDigest: string } {
    // One part: the one-shot hash. Several: fed in order, not concatenated first (a copy of every
    // byte cost more than the hash object: 7.0 against 4.1 µs for a 2 + 2 KB envelope).
    const bytesDigest =
      this.digest === undefined && this.parts.length === 1 ? oneShotHash('sha256', this.parts[0] as Buffer, 'hex') : this.runningDigest().digest('hex');
    return { chunksJson: JSON.stringify(this.entries), bytesDigest };
  }

  private runningDigest(): Hash {
    if (this.digest === undefined) {
      this.digest = createHash('sha256');
      for (const part of this.parts.splice(0)) this.digest.update(part);
    }
    return this.digest;
  }
}

/**
 * hash = sha256(prev_hash "\n" JSON(row values) "\n" JSON([[seq, at_ms, length], ...]) "\n" sha256hex(bytes)).
 * The row values are every column but `hash`, in HASHED_COLUMNS order, as SQLite returns them
 * (type included: `12` and `"12"` differ; trailing nulls in appended columns left out); the chunk list and the digest cover every
 * `evidence_chunks` row of the envelope — request and response bytes, their order, arrival times
 * and lengths — so adding, removing, moving or editing a chunk breaks the link too.
 */
export function linkHash(previousHash: string, row: RowValues, ledger: ChunkLedger): string {
  const { chunksJson, bytesDigest } = ledger.seal();
  const length = hashedLength(row);
  const values = length === row.length ? row : row.slice(0, length);
  return oneShotHash('sha256', `${previousHash}\n${JSON.stringify(values)}\n${chunksJson}\n${bytesDigest}`, 'hex');
}

/** The values of a row (read by column name) that its link hashes, in HASHED_COLUMNS order: what an export carries to be verified without the store. */
export function hashedValues(row: Readonly<Record<string, unknown>>): RowValues {
  const values = HASHED_COLUMNS.map((column) => row[column] ?? null);
  values.length = hashedLength(values);
  return values;
}

/**
 * A link recomputed from what an export carries (`verifyExport`): the row's hashed values, its
 * chunk list `[[seq, at_ms, length], ...]` and the bytes of those chunks in order.
 */
export function exportedLinkHash(values: RowValues, chunks: readonly (readonly unknown[])[], bytes: Buffer): string {
  return leftOutLinkHash(values, chunks, oneShotHash('sha256', bytes, 'hex'));
}

/**
 * A link recomputed from the hex SHA-256 of its bytes instead of the bytes: what a filtered
 * export carries of a chain position its filter left out (the bytes, verbatim prompts, stay home).
 */
export function leftOutLinkHash(values: RowValues, chunks: readonly (readonly unknown[])[], bytesDigest: string): string {
  const previousHash = String(values[PREV_INDEX]);
  return oneShotHash('sha256', `${previousHash}\n${JSON.stringify(values)}\n${JSON.stringify(chunks)}\n${bytesDigest}`, 'hex');
}

/** How many of the row's values the chain hashes: appended columns only up to the last one holding a value. */
function hashedLength(row: RowValues): number {
  let length = row.length;
  while (length > CHAIN_V2_COLUMNS && row[length - 1] === null) length -= 1;
  return length;
}

/** The last prune (`evidence prune`): every chained envelope up to `throughSeq` is gone; the next link's `prev_hash` is `throughHash`. */
export interface PruneAnchor {
  throughSeq: number;
  throughHash: string;
  prunedAt: string;
}

/** The newest prune of `store`, if it was ever pruned. */
export function latestPrune(store: Store): PruneAnchor | undefined {
  const row = store.statement('SELECT through_seq, through_hash, pruned_at FROM evidence_prunes ORDER BY id DESC LIMIT 1').get() as
    | { through_seq: number; through_hash: string; pruned_at: string }
    | undefined;
  return row === undefined ? undefined : { throughSeq: row.through_seq, throughHash: row.through_hash, prunedAt: row.pruned_at };
}

/** One `evidence prune` (or `serve`'s retention) as recorded: what it deleted, up to which link. */
export interface PruneRecordEntry extends PruneAnchor {
  /** The cut-off: envelopes created before it were deleted. */
  olderThan: string;
  /** How many envelopes it deleted. */
  envelopes: number;
}

/** Every prune of `store`, oldest first: the trail `evidence verify --json` gives as `prunes`. */
export function allPrunes(store: Store): PruneRecordEntry[] {
  const rows = store.statement('SELECT pruned_at, older_than, through_seq, through_hash, envelopes FROM evidence_prunes ORDER BY id').all() as {
    pruned_at: string;
    older_than: string;
    through_seq: number;
    through_hash: string;
    envelopes: number;
  }[];
  return rows.map((row) => ({ prunedAt: row.pruned_at, olderThan: row.older_than, throughSeq: row.through_seq, throughHash: row.through_hash, envelopes: row.envelopes }));
}

/** A prune told to delete rows whose chain was broken (`evidence prune --accept-break`), and the break it found. */
export interface PruneOverBreak {
  prunedAt: string;
  throughSeq: number;
  brokenAt: ChainBreak;
}

/** Every prune that deleted a broken part of the chain, oldest first: the deleted rows are gone, the record of their break is not. */
export function prunesOverBreaks(store: Store): PruneOverBreak[] {
  const rows = store.statement('SELECT pruned_at, through_seq, broken_json FROM evidence_prunes WHERE broken_json IS NOT NULL ORDER BY id').all() as {
    pruned_at: string;
    through_seq: number;
    broken_json: string;
  }[];
  return rows.map((row) => ({ prunedAt: row.pruned_at, throughSeq: row.through_seq, brokenAt: JSON.parse(row.broken_json) as ChainBreak }));
}

/** Where and why the chain broke. */
export interface ChainBreak {
  /** The sequence number at which the chain breaks (for `row missing`, the missing number; 0 for `not chained`). */
  seq: number;
  /** The row at fault, when there is one (absent for a missing row). */
  evidenceId?: string;
  /**
   * `anchor mismatch`: the row at a recorded head (`VerifyOptions.from`) no longer hashes to it.
   * `pruned`: that head lies in the part of the chain `evidence prune` deleted (before `prunedThrough`).
   * `not chained`: a finished row (not `pending`) outside the chain — every finished row is chained
   * by the update that finishes it, so only a write outside syndicate leaves one (a row inserted, or
   * its `chain_seq` cleared), and `list`, `export` and `metrics` would count it.
   * `prune record …`: a prune record (`prune`) no longer links (see `verifyPruneRecords`): edited,
   * inserted outside syndicate (a faked prune), or the record before it deleted; `seq` is its `throughSeq`.
   */
  reason: 'content changed' | 'link broken' | 'row missing' | 'head mismatch' | 'anchor mismatch' | 'pruned' | 'not chained' | PruneRecordBreak['reason'];
  /** The prune record at fault, for a `prune record …` reason. */
  prune?: PruneRecordBreak['prune'];
}

/** `prunedThrough`: the chain was verified from the last prune's anchor (the rows before it were deleted by `evidence prune`). */
export type VerifyResult =
  | { ok: true; rows: number; head: { seq: number; hash: string }; prunedThrough?: PruneAnchor }
  | { ok: false; rows: number; brokenAt: ChainBreak; prunedThrough?: PruneAnchor };

export interface VerifyOptions {
  /**
   * A head recorded by an earlier verification (kept outside the store): only that row and the
   * rows chained after it are checked — the row must still hash to `hash` — so a daily check of a
   * large store costs the day's rows. What lies before it was proven by the verification that
   * printed it; a full run (without `from`) proves it again.
   */
  from?: { seq: number; hash: string };
  /** Called every `progressEvery` rows (default 5000) and once at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

const VERIFY_PAGE_ROWS = 1000;
/**
 * Verification reads every byte of the store once; through a memory map SQLite skips a read()
 * copy per page (about a third of the time spent reading chunks). A map is safe because the
 * store's file never shrinks under a reader (syndicate never runs VACUUM).
 */
const VERIFY_MMAP_BYTES = 1 << 30;
const SEQ_INDEX = COLUMN_INDEX.chain_seq;
const ID_INDEX = COLUMN_INDEX.id;
const PREV_INDEX = COLUMN_INDEX.prev_hash;

/**
 * Walks the chain in `chain_seq` order, recomputing every link from the row and its chunks.
 * Detects any changed column or chunk (content changed), a
 * re-pointed `prev_hash` (link broken), a gap in the sequence or rows removed from the end (row
 * missing / head mismatch, via `evidence_chain_head`).
 */
export function verifyChain(store: Store, options: VerifyOptions = {}): VerifyResult {
  const restoreMmap = mapForVerify(store);
  // One state of the store for the whole walk: a gateway chaining rows meanwhile, or a prune
  // deleting them, would otherwise have it read rows past the head it read first (`head mismatch`).
  const endSnapshot = store.readSnapshot();
  try {
    return runToEnd(walkChain(store, options));
  } finally {
    endSnapshot();
    restoreMmap();
  }
}

/**
 * `verifyChain` that gives the event loop a turn after each page of rows, so a Ctrl-C or SIGTERM
 * is heard within a page (a few milliseconds) rather than after the whole store: `signal` aborted
 * rejects with its reason. It only reads, so stopping part-way leaves nothing to clean up.
 */
export async function verifyChainCancellable(store: Store, options: VerifyOptions & { signal: AbortSignal }): Promise<VerifyResult> {
  options.signal.throwIfAborted();
  const restoreMmap = mapForVerify(store);
  const endSnapshot = store.readSnapshot();
  try {
    return await runPausing(walkChain(store, options), options.signal);
  } finally {
    endSnapshot();
    restoreMmap();
  }
}

/** Maps the store's file for a verification (see VERIFY_MMAP_BYTES); returns what puts the previous setting back. */
function mapForVerify(store: Store): () => void {
  const { db } = store;
  const previousMmap = db.pragma('mmap_size', { simple: true }) as number;
  if (previousMmap >= VERIFY_MMAP_BYTES) return () => undefined;
  db.pragma(`mmap_size = ${VERIFY_MMAP_BYTES}`);
  return () => void db.pragma(`mmap_size = ${previousMmap}`);
}

/**
 * The evidence chain, then the prune records (`verifyPruneRecords`): the kept chain starts from the
 * newest record's anchor, which holds only if that record is genuine — an edited anchor breaks the
 * first kept link (reported as such), a faked or edited prune record is caught here.
 */
function* walkChain(store: Store, options: VerifyOptions): Generator<void, VerifyResult> {
  const result = yield* walkEvidence(store, options);
  if (!result.ok) return result;
  const pruneBreak = verifyPruneRecords(store.db);
  if (pruneBreak === undefined) return result;
  const brokenAt: ChainBreak = { seq: pruneBreak.prune.throughSeq, reason: pruneBreak.reason, prune: pruneBreak.prune };
  return { ok: false, rows: result.rows, brokenAt, ...(result.prunedThrough === undefined ? {} : { prunedThrough: result.prunedThrough }) };
}

function* walkEvidence(store: Store, options: VerifyOptions): Generator<void, VerifyResult> {
  const { db } = store;
  const progressEvery = options.progressEvery ?? 5000;
  const anchor = options.from;
  const pruned = latestPrune(store);
  // After a prune the chain is proven from its anchor: the first kept row must link to the hash
  // of the last deleted one. A recorded head inside the deleted part can no longer be checked.
  const fromPrune = pruned !== undefined && (anchor === undefined || anchor.seq <= pruned.throughSeq);
  if (fromPrune && anchor !== undefined) {
    if (anchor.seq < pruned.throughSeq) return { ok: false, rows: 0, brokenAt: { seq: anchor.seq, reason: 'pruned' }, prunedThrough: pruned };
    if (anchor.hash !== pruned.throughHash) return { ok: false, rows: 0, brokenAt: { seq: anchor.seq, reason: 'anchor mismatch' }, prunedThrough: pruned };
  }
  const firstSeq = fromPrune ? pruned.throughSeq + 1 : anchor === undefined || anchor.seq === 0 ? 1 : anchor.seq;
  if (!fromPrune && anchor !== undefined && anchor.seq === 0 && anchor.hash !== GENESIS_HASH) {
    return { ok: false, rows: 0, brokenAt: { seq: 0, reason: 'anchor mismatch' } };
  }
  const withPrune = <T extends VerifyResult>(result: T): T => (fromPrune ? { ...result, prunedThrough: pruned } : result);
  const total = (db.prepare('SELECT count(*) AS n FROM evidence WHERE chain_seq >= ?').get(firstSeq) as { n: number }).n;
  const head = db.prepare('SELECT seq, hash FROM evidence_chain_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
  const blocks = evidenceBlocks(db);
  // From a recorded head: its row is checked against its own prev_hash, then against the record.
  const startHash = fromPrune
    ? pruned.throughHash
    : firstSeq === 1
      ? GENESIS_HASH
      : (db.prepare('SELECT prev_hash FROM evidence WHERE chain_seq = ?').pluck(true).get(firstSeq) as string | undefined);
  if (startHash === undefined) return { ok: false, rows: 0, brokenAt: { seq: firstSeq, reason: 'row missing' } };
  const walked = yield* walkLinks(db, blocks, {
    firstSeq,
    previousHash: startHash,
    ...(anchor === undefined ? {} : { anchor }),
    onRow: (rows) => {
      if (rows % progressEvery === 0) options.onProgress?.(rows, total);
    },
  });
  const { rows, previousHash, failure } = walked;
  const expectedSeq = walked.nextSeq;
  if (failure !== undefined) {
    return withPrune({ ok: false, rows, brokenAt: failure });
  }
  options.onProgress?.(rows, total);
  const lastSeq = expectedSeq - 1;
  if (!fromPrune && anchor !== undefined && anchor.seq > 0 && rows === 0) return { ok: false, rows, brokenAt: { seq: anchor.seq, reason: 'row missing' } };
  if (head === undefined) {
    if (rows === 0 && !fromPrune) return withUnchained(db, { ok: true, rows, head: { seq: 0, hash: GENESIS_HASH } });
    return withPrune({ ok: false, rows, brokenAt: { seq: lastSeq, reason: 'head mismatch' } });
  }
  if (head.seq > lastSeq) {
    return withPrune({ ok: false, rows, brokenAt: { seq: lastSeq + 1, reason: 'row missing' } });
  }
  if (head.seq !== lastSeq || head.hash !== previousHash) {
    return withPrune({ ok: false, rows, brokenAt: { seq: head.seq, reason: 'head mismatch' } });
  }
  return withPrune(withUnchained(db, { ok: true, rows, head: { seq: head.seq, hash: head.hash } }));
}

/**
 * `intact`, unless a finished row lies outside the chain (see `ChainBreak`'s `not chained`): then
 * the oldest such row. Rows still `pending` are unchained until their call ends; those of a
 * process that died were recovered as `interrupted`, and chained, when the store was opened.
 */
function withUnchained(db: Store['db'], intact: VerifyResult & { ok: true }): VerifyResult {
  const id = db.prepare("SELECT id FROM evidence WHERE chain_seq IS NULL AND state IS NOT 'pending' ORDER BY created_at, rowid LIMIT 1").pluck(true).get() as unknown;
  return id === undefined ? intact : { ok: false, rows: intact.rows, brokenAt: { seq: 0, evidenceId: String(id), reason: 'not chained' } };
}

interface LinkWalk {
  /** Rows proven, from `firstSeq` on. */
  rows: number;
  /** The stored hash of the last row proven (the start hash when none was). */
  previousHash: string;
  /** The sequence number the next row must carry. */
  nextSeq: number;
  failure?: ChainBreak;
}

/**
 * Proves the links from `firstSeq` on (through `throughSeq` when given, else to the last row):
 * each row carries the next sequence number, points at the previous row's hash (the first at
 * `previousHash`) and hashes, with its chunks, to what it stores. Stops at the first break. Pauses
 * (yields) after each page.
 */
function* walkLinks(
  db: Store['db'],
  blocks: ReturnType<typeof evidenceBlocks>,
  options: { firstSeq: number; previousHash: string; throughSeq?: number; anchor?: { seq: number; hash: string }; onRow?: (rows: number) => void },
): Generator<void, LinkWalk> {
  const through = options.throughSeq ?? Number.MAX_SAFE_INTEGER;
  // Rows in pages (a statement being iterated keeps the connection busy), then the chunks of the
  // same page in one joined query; each value is read once.
  const page = db.prepare(`${SELECT_HASHED} WHERE chain_seq > ? AND chain_seq <= ? ORDER BY chain_seq LIMIT ${VERIFY_PAGE_ROWS}`).raw(true);
  const pageChunks = db
    .prepare(
      `SELECT e.chain_seq, c.seq, c.at_ms, c.bytes, c.evidence_id = e.id, c.block_ids
         FROM evidence e JOIN evidence_chunks c ON c.key BETWEEN e.row_key * ${CHUNK_KEY_SPAN} AND e.row_key * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1}
        WHERE e.chain_seq > ? AND e.chain_seq <= ? ORDER BY e.chain_seq, c.key`,
    )
    .raw(true);
  const { anchor } = options;
  let rows = 0;
  let expectedSeq = options.firstSeq;
  let previousHash = options.previousHash;
  let after = options.firstSeq - 1;
  for (;;) {
    const batch = page.all(after, through) as unknown[][];
    const last = batch.at(-1);
    const chunks = last === undefined ? [] : (pageChunks.all(after, last[SEQ_INDEX]) as [number, unknown, unknown, unknown, number, unknown][]);
    let chunkIndex = 0;
    for (const row of batch) {
      const stored = row.pop();
      // Appended columns a row never got are not hashed: dropped here, in place, rather than copied by linkHash.
      row.length = hashedLength(row);
      const seq = row[SEQ_INDEX] as number;
      const id = String(row[ID_INDEX]);
      if (seq !== expectedSeq) return { rows, previousHash, nextSeq: expectedSeq, failure: { seq: expectedSeq, reason: 'row missing' } };
      if (row[PREV_INDEX] !== previousHash) return { rows, previousHash, nextSeq: expectedSeq, failure: { seq, evidenceId: id, reason: 'link broken' } };
      const ledger = new ChunkLedger();
      for (; chunkIndex < chunks.length && (chunks[chunkIndex]?.[0] ?? Infinity) <= seq; chunkIndex += 1) {
        const [chunkOf, chunkSeq, atMs, bytes, evidenceIdMatches, blockIds] = chunks[chunkIndex] ?? [];
        if (chunkOf === seq) ledger.addStored(chunkSeq, atMs, blocks.chunkBytes(bytes, blockIds), evidenceIdMatches === 1);
      }
      if (linkHash(previousHash, row, ledger) !== stored) return { rows, previousHash, nextSeq: expectedSeq, failure: { seq, evidenceId: id, reason: 'content changed' } };
      if (anchor !== undefined && seq === anchor.seq && stored !== anchor.hash) {
        return { rows, previousHash, nextSeq: expectedSeq, failure: { seq, evidenceId: id, reason: 'anchor mismatch' } };
      }
      previousHash = stored as string;
      rows += 1;
      expectedSeq += 1;
      options.onRow?.(rows);
    }
    if (batch.length < VERIFY_PAGE_ROWS) break;
    after = expectedSeq - 1;
    yield;
  }
  if (options.throughSeq !== undefined && expectedSeq <= options.throughSeq) {
    return { rows, previousHash, nextSeq: expectedSeq, failure: { seq: expectedSeq, reason: 'row missing' } };
  }
  return { rows, previousHash, nextSeq: expectedSeq };
}

/**
 * Proves the chained rows `fromSeq`..`throughSeq` as `evidence verify` does, the first linking to
 * `previousHash`: what `evidence prune` checks before it deletes them, so that deleting a part of
 * the chain never erases the only trace of an edit. Undefined when every link holds.
 */
export function verifyChainRange(store: Store, range: { fromSeq: number; throughSeq: number; previousHash: string }): ChainBreak | undefined {
  return runToEnd(walkChainRange(store, range));
}

/** `verifyChainRange` as steps: pauses (yields) after each page of rows, returns the break or undefined. */
export function* walkChainRange(store: Store, range: { fromSeq: number; throughSeq: number; previousHash: string }): Generator<void, ChainBreak | undefined> {
  return (yield* walkLinks(store.db, evidenceBlocks(store.db), { firstSeq: range.fromSeq, previousHash: range.previousHash, throughSeq: range.throughSeq })).failure;
}
