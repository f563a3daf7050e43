import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase, Store } from '../store/store.js';
import { evidenceBlocks, type EvidenceBlocks } from './blocks.js';
import { CHUNK_KEY_SPAN, HASHED_COLUMNS, SELECT_HASHED, type HashedColumn } from './chain.js';

/**
 * Prepared once per connection: evidence writes sit on the hot path of every invocation.
 * Parameters are positional (binding an object by name costs a property lookup per column).
 */
export interface EvidenceStatements {
  /** Every HASHED_COLUMNS value in order, then `hash`. */
  insertRow: Statement;
  /** row_key, seq, evidence_id, at_ms, bytes. */
  insertChunk: Statement;
  /** row_key, seq, evidence_id, at_ms, block_ids: a chunk stored as blocks (empty `bytes`). */
  insertBlockChunk: Statement;
  /** The connection's block table (large request bodies). */
  blocks: EvidenceBlocks;
  /** The row_key for a new row, inside the write transaction (pluck). */
  nextRowKey: Statement;
  /** response_status, response_headers_json, response_started_ms, id. */
  captureResponseStart: Statement;
  /** response_ended_ms, response_complete, id. */
  captureEnd: Statement;
  /** FINISH_COLUMNS values in order, hash, id; changes 0 unless the row is still pending. */
  finish: Statement;
  selectState: Statement;
  selectHead: Statement;
  /** seq, hash. */
  upsertHead: Statement;
  /** Raw rows: HASHED_COLUMNS values, then hash. */
  selectHashed: Statement;
  /** evidence_id, row_key, row_key; raw rows: seq, at_ms, bytes, 1 when the chunk names the envelope, block_ids; in seq order. */
  selectChunks: Statement;
  selectPending: Statement;
  /** Wraps `work` in an IMMEDIATE transaction, its errors as thrown (`Store.immediateTransaction`). */
  transaction: <T>(work: () => T) => T;
}

/** The columns a row's finishing UPDATE sets (besides `hash`): everything decided after the call. */
export const FINISH_COLUMNS = [
  'state',
  'finished_at',
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
  'chain_seq',
  'prev_hash',
  'cached_input_tokens',
  'cache_write_input_tokens',
] as const satisfies readonly HashedColumn[];

const cache = new WeakMap<SqliteDatabase, EvidenceStatements>();

export function statementsFor(store: Store): EvidenceStatements {
  const { db } = store;
  const cached = cache.get(db);
  if (cached !== undefined) return cached;
  const statements = buildStatements(store);
  cache.set(db, statements);
  return statements;
}

function buildStatements(store: Store): EvidenceStatements {
  const { db } = store;
  return {
    insertRow: db.prepare(
      `INSERT INTO evidence (${HASHED_COLUMNS.join(', ')}, hash) VALUES (${HASHED_COLUMNS.map(() => '?').join(', ')}, ?)`,
    ),
    insertChunk: db.prepare(`INSERT INTO evidence_chunks (key, evidence_id, at_ms, bytes) VALUES (? * ${CHUNK_KEY_SPAN} + ?, ?, ?, ?)`),
    insertBlockChunk: db.prepare(`INSERT INTO evidence_chunks (key, evidence_id, at_ms, bytes, block_ids) VALUES (? * ${CHUNK_KEY_SPAN} + ?, ?, ?, X'', ?)`),
    blocks: evidenceBlocks(db),
    // Above every row_key in use and every chunk key range (chunks left by a deleted row are never
    // attributed to a new one). Two reads of the rightmost b-tree pages.
    nextRowKey: db
      .prepare(
        `SELECT max(coalesce((SELECT max(row_key) FROM evidence), 0), coalesce((SELECT max(key) FROM evidence_chunks), 0) / ${CHUNK_KEY_SPAN}) + 1`,
      )
      .pluck(true),
    captureResponseStart: db.prepare(
      `UPDATE evidence SET response_status = ?, response_headers_json = ?, response_started_ms = ? WHERE id = ? AND state = 'pending'`,
    ),
    captureEnd: db.prepare(`UPDATE evidence SET response_ended_ms = ?, response_complete = ? WHERE id = ? AND state = 'pending'`),
    finish: db.prepare(
      `UPDATE evidence SET ${FINISH_COLUMNS.map((column) => `${column} = ?`).join(', ')}, hash = ?
       WHERE id = ? AND state = 'pending' AND chain_seq IS NULL`,
    ),
    selectState: db.prepare('SELECT state FROM evidence WHERE id = ?').pluck(true),
    selectHead: db.prepare('SELECT seq, hash FROM evidence_chain_head WHERE id = 1'),
    upsertHead: db.prepare(
      'INSERT INTO evidence_chain_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
    ),
    selectHashed: db.prepare(`${SELECT_HASHED} WHERE id = ?`).raw(true),
    selectChunks: db
      .prepare(
        `SELECT seq, at_ms, bytes, evidence_id = ?, block_ids FROM evidence_chunks
          WHERE key BETWEEN ? * ${CHUNK_KEY_SPAN} AND ? * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1} ORDER BY key`,
      )
      .raw(true),
    selectPending: db.prepare("SELECT id, pid, created_at FROM evidence WHERE state = 'pending' AND chain_seq IS NULL"),
    transaction: <T>(work: () => T): T => store.immediateTransaction(work),
  };
}
