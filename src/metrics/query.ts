import { PROBE_CALLER, type EvidenceKind, type EvidenceState } from '../evidence/types.js';
import { storedJsonMemberSql } from '../store/json-columns.js';
import type { Store } from '../store/store.js';
import type { MetricsRow, MetricsWindow, ModelLoadEvent } from './summary.js';

/**
 * The columns metrics read, in this order (rows are read as arrays: no object per row from SQLite).
 * A JSON column that does not hold JSON (edited outside syndicate) reads as NULL, not as an error.
 */
const METRICS_COLUMNS = `created_at, kind, state, provider_id, provider_class, model, sensitivity, hop, first_token_ms, total_ms,
  input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens, cost_usd, ${storedJsonMemberSql('error_json', '$.code')},
  CASE WHEN state = 'completed' AND provider_class = 'local' THEN ${storedJsonMemberSql('route_json', '$.chosen.warm')} END,
  caller = '${PROBE_CALLER}',
  CASE WHEN state = 'completed' AND provider_class = 'local' THEN request_url LIKE '%/embeddings' END,
  token_accounting = 'approximate'`;

type MetricsColumns = [
  createdAt: string,
  kind: string,
  state: string,
  providerId: string | null,
  providerClass: string | null,
  model: string | null,
  sensitivity: string | null,
  hop: number,
  firstTokenMs: number | null,
  totalMs: number | null,
  inputTokens: number | null,
  outputTokens: number | null,
  cachedInputTokens: number | null,
  cacheWriteInputTokens: number | null,
  costUsd: number | null,
  errorCode: string | null,
  warm: number | null,
  byProbe: number,
  embedding: number | null,
  approximateTokens: number | null,
];

/** When the store's first envelope was recorded (ms since the epoch); undefined for an empty store. */
export function firstEvidenceMs(store: Store): number | undefined {
  const first = store.db.prepare('SELECT MIN(created_at) FROM evidence').pluck().get() as string | null;
  if (first === null) return undefined;
  const at = Date.parse(first);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Hands each evidence row of the window (of one session, of some sensitivity levels, when the window names them) to `visit`,
 * oldest first, with only the columns metrics need — one at a time, so a month of evidence is
 * never held in memory. Whether the engine held the model (the route's `chosen.warm`), and whether
 * the answer is embeddings (its upstream URL: every wire sends them to `…/embeddings`), are read
 * only for local answers, the only ones whose cold starts are reported and whose tokens are priced
 * at the savings reference.
 */
export function forEachMetricsRow(store: Store, window: MetricsWindow, visit: (row: MetricsRow) => void): void {
  for (const row of metricsRows(store, window)) visit(row);
}

/** The rows `forEachMetricsRow` visits, as an iterator (read as it goes). */
export function* metricsRows(store: Store, window: MetricsWindow): Generator<MetricsRow, void, undefined> {
  const session = window.session === undefined ? '' : ' AND session_id = ?';
  const levels = window.sensitivities === undefined ? [] : window.sensitivities;
  const sensitivity = window.sensitivities === undefined ? '' : ` AND sensitivity IN (${levels.map(() => '?').join(', ') || 'NULL'})`;
  const rows = store.db
    .prepare(`SELECT ${METRICS_COLUMNS} FROM evidence WHERE created_at >= ? AND created_at < ?${session}${sensitivity} ORDER BY created_at, rowid`)
    .raw(true)
    .iterate(new Date(window.sinceMs).toISOString(), new Date(window.untilMs).toISOString(), ...(window.session === undefined ? [] : [window.session]), ...levels) as IterableIterator<MetricsColumns>;
  for (const [createdAt, kind, state, providerId, providerClass, model, sensitivity, hop, firstTokenMs, totalMs, inputTokens, outputTokens, cachedInputTokens, cacheWriteInputTokens, costUsd, errorCode, warm, byProbe, embedding, approximateTokens] of rows) {
    yield {
      createdAt,
      kind: kind as EvidenceKind,
      state: state as EvidenceState,
      providerId,
      providerClass,
      model,
      sensitivity,
      warm: warm === null ? null : warm === 1,
      hop,
      firstTokenMs,
      totalMs,
      inputTokens,
      outputTokens,
      cachedInputTokens,
      cacheWriteInputTokens,
      costUsd,
      errorCode,
      byProbe: byProbe === 1,
      embedding: embedding === 1,
      approximateTokens: approximateTokens === 1,
    };
  }
}

/** The evidence rows of the window, oldest first, as one array (see `forEachMetricsRow`). */
export function readMetricsRows(store: Store, window: MetricsWindow): MetricsRow[] {
  const rows: MetricsRow[] = [];
  forEachMetricsRow(store, window, (row) => rows.push(row));
  return rows;
}

/** Model load (cold start) events of the window (`engine_events`, see `src/engines/events.ts`), oldest first. */
export function readModelLoadEvents(store: Store, window: MetricsWindow): ModelLoadEvent[] {
  const rows = store.db
    .prepare(
      `SELECT created_at, provider_id, model, duration_ms FROM engine_events
        WHERE kind = 'load' AND outcome = 'ok' AND duration_ms IS NOT NULL AND created_at >= ? AND created_at < ? ORDER BY created_at`,
    )
    .all(new Date(window.sinceMs).toISOString(), new Date(window.untilMs).toISOString()) as {
    created_at: string;
    provider_id: string;
    model: string;
    duration_ms: number;
  }[];
  return rows.map((row) => ({ at: row.created_at, providerId: row.provider_id, model: row.model, loadMs: row.duration_ms }));
}

/** A model load or unload a local engine was asked for, as `engine_events` holds it. */
export interface EngineOperation {
  id: number;
  providerId: string;
  model: string;
  action: 'load' | 'unload';
  /** `ok`, or the error code of an operation the engine did not carry out. */
  outcome: string;
  durationMs: number | null;
}

/** The loads and unloads recorded after row `afterId` (by any process on the store), oldest first. */
export function readEngineOperationsAfter(store: Store, afterId: number): EngineOperation[] {
  const rows = store
    .statement(`SELECT id, provider_id, model, kind, outcome, duration_ms FROM engine_events WHERE id > ? AND kind IN ('load', 'unload') ORDER BY id`)
    .all(afterId) as { id: number; provider_id: string; model: string; kind: 'load' | 'unload'; outcome: string; duration_ms: number | null }[];
  return rows.map((row) => ({ id: row.id, providerId: row.provider_id, model: row.model, action: row.kind, outcome: row.outcome, durationMs: row.duration_ms }));
}
