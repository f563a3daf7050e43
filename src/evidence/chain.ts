import { createHash } from 'node:crypto';
import type { Store } from '../store/store.js';

/** `prev_hash` of the first link. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Every column of `evidence` except `hash`, in the order the chain hashes them. Chain format v1:
 * a new column must be appended here and in the migration together (older rows then hash it as
 * null, which is what they hold).
 */
export const HASHED_COLUMNS = [
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
  'request_body',
  'request_started_at',
  'response_status',
  'response_headers_json',
  'response_started_ms',
  'response_ended_ms',
  'response_complete',
  'response_body',
  'response_chunks_json',
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
] as const;

export type HashedColumn = (typeof HASHED_COLUMNS)[number];

/** Position of each column in a raw `SELECT_HASHED` row. */
export const COLUMN_INDEX = Object.fromEntries(HASHED_COLUMNS.map((column, index) => [column, index])) as Record<HashedColumn, number>;

const BLOB_INDEXES = HASHED_COLUMNS.flatMap((column, index) => (column === 'request_body' || column === 'response_body' ? [index] : []));
const SEQ_INDEX = HASHED_COLUMNS.indexOf('chain_seq');
const ID_INDEX = HASHED_COLUMNS.indexOf('id');
const PREV_INDEX = HASHED_COLUMNS.indexOf('prev_hash');

/** `SELECT <hashed columns>, hash FROM evidence` — rows read with `.raw()` line up with HASHED_COLUMNS. */
export const SELECT_HASHED = `SELECT ${HASHED_COLUMNS.join(', ')}, hash FROM evidence`;

/**
 * hash = sha256(prev_hash || "\n" || JSON of the row's values || request bytes || response bytes).
 * In the JSON, each byte column is replaced by its length (or stays null / a non-Buffer value as
 * is), and the bytes follow in column order, so the encoding is unambiguous and covers every
 * column, the state and the bytes. Values are hashed as SQLite returns them (type included:
 * `12` and `"12"` differ). `row` is mutated (blobs swapped for lengths).
 */
export function hashRow(previousHash: string, row: unknown[]): string {
  const hash = createHash('sha256');
  const blobs: Buffer[] = [];
  for (const index of BLOB_INDEXES) {
    const value = row[index];
    if (Buffer.isBuffer(value)) {
      blobs.push(value);
      row[index] = value.length;
    }
  }
  hash.update(`${previousHash}\n${JSON.stringify(row)}`);
  for (const blob of blobs) hash.update(blob);
  return hash.digest('hex');
}

/** Where and why the chain broke. */
export interface ChainBreak {
  /** The sequence number at which the chain breaks (for `row missing`, the missing number). */
  seq: number;
  /** The row at fault, when there is one (absent for a missing row). */
  evidenceId?: string;
  reason: 'content changed' | 'link broken' | 'row missing' | 'head mismatch';
}

export type VerifyResult =
  | { ok: true; rows: number; head: { seq: number; hash: string } }
  | { ok: false; rows: number; brokenAt: ChainBreak };

export interface VerifyOptions {
  /** Called every `progressEvery` rows (default 5000) and once at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

/**
 * Walks the chain in `chain_seq` order, recomputing every link. Detects any changed column
 * (content changed), a re-pointed `prev_hash` (link broken), a gap in the sequence or rows
 * removed from the end (row missing / head mismatch, via `evidence_chain_head`).
 */
export function verifyChain(store: Store, options: VerifyOptions = {}): VerifyResult {
  const { db } = store;
  const progressEvery = options.progressEvery ?? 5000;
  const total = (db.prepare('SELECT count(*) AS n FROM evidence WHERE chain_seq IS NOT NULL').get() as { n: number }).n;
  const head = db.prepare('SELECT seq, hash FROM evidence_chain_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
  const statement = db.prepare(`${SELECT_HASHED} WHERE chain_seq IS NOT NULL ORDER BY chain_seq`).raw(true);

  let rows = 0;
  let expectedSeq = 1;
  let previousHash = GENESIS_HASH;
  let failure: ChainBreak | undefined;
  for (const raw of statement.iterate() as IterableIterator<unknown[]>) {
    const seq = raw[SEQ_INDEX] as number;
    const id = String(raw[ID_INDEX]);
    if (seq !== expectedSeq) {
      failure = { seq: expectedSeq, reason: 'row missing' };
      break;
    }
    if (raw[PREV_INDEX] !== previousHash) {
      failure = { seq, evidenceId: id, reason: 'link broken' };
      break;
    }
    const stored = raw.pop();
    if (hashRow(previousHash, raw) !== stored) {
      failure = { seq, evidenceId: id, reason: 'content changed' };
      break;
    }
    previousHash = stored as string;
    rows += 1;
    expectedSeq += 1;
    if (options.onProgress !== undefined && rows % progressEvery === 0) options.onProgress(rows, total);
  }
  if (failure !== undefined) {
    return { ok: false, rows, brokenAt: failure };
  }
  options.onProgress?.(rows, total);
  const lastSeq = expectedSeq - 1;
  if (head === undefined) {
    if (rows === 0) return { ok: true, rows, head: { seq: 0, hash: GENESIS_HASH } };
    return { ok: false, rows, brokenAt: { seq: lastSeq, reason: 'head mismatch' } };
  }
  if (head.seq > lastSeq) {
    return { ok: false, rows, brokenAt: { seq: lastSeq + 1, reason: 'row missing' } };
  }
  if (head.seq !== lastSeq || head.hash !== previousHash) {
    return { ok: false, rows, brokenAt: { seq: head.seq, reason: 'head mismatch' } };
  }
  return { ok: true, rows, head: { seq: head.seq, hash: head.hash } };
}
