import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase, Store } from '../store/store.js';
import { SELECT_HASHED } from './chain.js';

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
}

const cache = new WeakMap<SqliteDatabase, EvidenceStatements>();

export function statementsFor(store: Store): EvidenceStatements {
  const { db } = store;
  const cached = cache.get(db);
  if (cached !== undefined) return cached;
  const statements: EvidenceStatements = {
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
      `UPDATE evidence SET request_method = ?, request_url = ?, request_headers_json = ?, request_body = ?
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
    finish: db.prepare(`UPDATE evidence SET
        state = @state, finished_at = @finishedAt,
        response_status = coalesce(@status, response_status),
        response_body = @responseBody, response_chunks_json = @chunksJson,
        first_token_ms = @firstTokenMs, total_ms = @totalMs,
        input_tokens = @inputTokens, output_tokens = @outputTokens, cost_usd = @costUsd,
        token_accounting = @tokenAccounting, verbatim_capture = @verbatimCapture, tool_call_fidelity = @toolCallFidelity,
        markers_json = @markersJson, warnings_json = @warningsJson, error_json = @errorJson,
        chain_seq = @chainSeq, prev_hash = @prevHash
      WHERE id = @id AND state = 'pending' AND chain_seq IS NULL`),
    selectHead: db.prepare('SELECT seq, hash FROM evidence_chain_head WHERE id = 1'),
    upsertHead: db.prepare(
      'INSERT INTO evidence_chain_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
    ),
    selectHashed: db.prepare(`${SELECT_HASHED} WHERE id = ?`).raw(true),
    updateHash: db.prepare('UPDATE evidence SET hash = ? WHERE id = ?'),
    selectPending: db.prepare("SELECT id, pid, created_at FROM evidence WHERE state = 'pending' AND chain_seq IS NULL"),
  };
  cache.set(db, statements);
  return statements;
}
