import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase, Store } from '../store/store.js';
import { SELECT_HASHED, type HashedColumn } from './chain.js';
import type { PendingCapture } from './recorder.js';

/** Prepared once per connection: evidence writes sit on the hot path of every invocation. */
export interface EvidenceStatements {
  insert: Statement;
  captureRequest: Statement;
  captureResponseStart: Statement;
  captureEnd: Statement;
  insertChunk: Statement;
  selectChunks: Statement;
  deleteChunks: Statement;
  selectForFinish: Statement;
  finish: Statement;
  selectHead: Statement;
  upsertHead: Statement;
  selectHashed: Statement;
  updateHash: Statement;
  selectPending: Statement;
  /** One IMMEDIATE transaction writing a recorder's buffered response head, chunks and end. */
  flushCapture: (evidenceId: string, firstSeq: number, pending: PendingCapture) => void;
  /** Wraps `work` in an IMMEDIATE transaction (the function is built once per connection). */
  transaction: <T>(work: () => T) => T;
}

/** The columns `completeAttempt` and `recoverInterrupted` set when a row finishes (besides `hash`). */
export const FINISH_COLUMNS = [
  'state',
  'finished_at',
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
  'chain_seq',
  'prev_hash',
] as const satisfies readonly HashedColumn[];

export type FinishValues = Record<(typeof FINISH_COLUMNS)[number], unknown>;

const cache = new WeakMap<SqliteDatabase, EvidenceStatements>();

export function statementsFor(store: Store): EvidenceStatements {
  const { db } = store;
  const cached = cache.get(db);
  if (cached !== undefined) return cached;
  const statements = buildStatements(db);
  cache.set(db, statements);
  return statements;
}

function buildStatements(db: SqliteDatabase): EvidenceStatements {
  const prepared = {
    insert: db.prepare(`INSERT INTO evidence (
        id, chain_seq, request_id, hop, kind, state, pid, created_at, finished_at,
        provider_id, provider_version, provider_class, model, permit_id, permit_json, permit_token,
        session_id, caller, sensitivity, route_json, streamed,
        token_accounting, verbatim_capture, tool_call_fidelity, markers_json, warnings_json, error_json, prev_hash
      ) VALUES (
        @id, @chainSeq, @requestId, @hop, @kind, @state, @pid, @createdAt, @finishedAt,
        @providerId, @providerVersion, @providerClass, @model, @permitId, @permitJson, @permitToken,
        @sessionId, @caller, @sensitivity, @routeJson, @streamed,
        @tokenAccounting, @verbatimCapture, @toolCallFidelity, @markersJson, @warningsJson, @errorJson, @prevHash
      )`),
    captureRequest: db.prepare(
      `UPDATE evidence SET request_method = ?, request_url = ?, request_headers_json = ?, request_body = ?, request_started_at = ?
       WHERE id = ? AND state = 'pending'`,
    ),
    captureResponseStart: db.prepare(
      `UPDATE evidence SET response_status = ?, response_headers_json = ?, response_started_ms = ?
       WHERE id = ? AND state = 'pending'`,
    ),
    captureEnd: db.prepare(
      `UPDATE evidence SET response_ended_ms = ?, response_complete = ? WHERE id = ? AND state = 'pending'`,
    ),
    insertChunk: db.prepare('INSERT INTO evidence_chunks (evidence_id, seq, at_ms, bytes) VALUES (?, ?, ?, ?)'),
    selectChunks: db.prepare('SELECT at_ms, bytes FROM evidence_chunks WHERE evidence_id = ? ORDER BY seq'),
    deleteChunks: db.prepare('DELETE FROM evidence_chunks WHERE evidence_id = ?'),
    selectForFinish: db.prepare(
      'SELECT state, chain_seq, pid, created_at, request_body IS NOT NULL AS has_request, response_started_ms FROM evidence WHERE id = ?',
    ),
    finish: db.prepare(
      `UPDATE evidence SET ${FINISH_COLUMNS.map((column) => `${column} = @${column}`).join(', ')}, hash = @hash
       WHERE id = @id AND state = 'pending' AND chain_seq IS NULL`,
    ),
    selectHead: db.prepare('SELECT seq, hash FROM evidence_chain_head WHERE id = 1'),
    upsertHead: db.prepare(
      'INSERT INTO evidence_chain_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
    ),
    selectHashed: db.prepare(`${SELECT_HASHED} WHERE id = ?`).raw(true),
    updateHash: db.prepare('UPDATE evidence SET hash = ? WHERE id = ?'),
    selectPending: db.prepare("SELECT id, pid, created_at FROM evidence WHERE state = 'pending' AND chain_seq IS NULL"),
  };
  const flush = db.transaction((evidenceId: string, firstSeq: number, pending: PendingCapture) => {
    if (pending.start !== undefined) {
      prepared.captureResponseStart.run(pending.start.status, JSON.stringify(pending.start.headers), pending.start.atMs, evidenceId);
    }
    pending.chunks.forEach((chunk, index) => prepared.insertChunk.run(evidenceId, firstSeq + index, chunk.atMs, chunk.bytes));
    if (pending.end !== undefined) prepared.captureEnd.run(pending.end.atMs, pending.end.complete ? 1 : 0, evidenceId);
  });
  const run = db.transaction((work: () => unknown) => work());
  return {
    ...prepared,
    flushCapture: (evidenceId, firstSeq, pending) => flush.immediate(evidenceId, firstSeq, pending),
    transaction: <T>(work: () => T): T => run.immediate(work) as T,
  };
}
