import type { EvidenceKind, EvidenceState } from '../evidence/types.js';
import type { Store } from '../store/store.js';
import type { MetricsRow, MetricsWindow, ModelLoadEvent } from './summary.js';

interface EvidenceMetricsRow {
  created_at: string;
  kind: string;
  state: string;
  provider_id: string | null;
  provider_class: string | null;
  model: string | null;
  sensitivity: string | null;
  warm: number | null;
  hop: number;
  first_token_ms: number | null;
  total_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_input_tokens: number | null;
  cost_usd: number | null;
  error_code: string | null;
}

/** The evidence rows of the window (of one session when the window names one), oldest first, with only the columns metrics need. */
export function readMetricsRows(store: Store, window: MetricsWindow): MetricsRow[] {
  const session = window.session === undefined ? '' : ' AND session_id = ?';
  const rows = store.db
    .prepare(
      `SELECT created_at, kind, state, provider_id, provider_class, model, sensitivity, hop, first_token_ms, total_ms, input_tokens, output_tokens,
              cached_input_tokens, cache_write_input_tokens, cost_usd,
              json_extract(error_json, '$.code') AS error_code, json_extract(route_json, '$.chosen.warm') AS warm
         FROM evidence WHERE created_at >= ? AND created_at < ?${session} ORDER BY created_at, rowid`,
    )
    .all(new Date(window.sinceMs).toISOString(), new Date(window.untilMs).toISOString(), ...(window.session === undefined ? [] : [window.session])) as EvidenceMetricsRow[];
  return rows.map((row) => ({
    createdAt: row.created_at,
    kind: row.kind as EvidenceKind,
    state: row.state as EvidenceState,
    providerId: row.provider_id,
    providerClass: row.provider_class,
    model: row.model,
    sensitivity: row.sensitivity,
    warm: row.warm === null ? null : row.warm === 1,
    hop: row.hop,
    firstTokenMs: row.first_token_ms,
    totalMs: row.total_ms,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cachedInputTokens: row.cached_input_tokens,
    cacheWriteInputTokens: row.cache_write_input_tokens,
    costUsd: row.cost_usd,
    errorCode: row.error_code,
  }));
}

/** Model load (cold start) events of the window (`engine_events`, see `src/engines/events.ts`), oldest first. */
export function readModelLoadEvents(store: Store, window: MetricsWindow): ModelLoadEvent[] {
  const rows = store.db
    .prepare(
      `SELECT created_at, provider_id, model, duration_ms FROM engine_events
        WHERE kind = 'load' AND duration_ms IS NOT NULL AND created_at >= ? AND created_at < ? ORDER BY created_at`,
    )
    .all(new Date(window.sinceMs).toISOString(), new Date(window.untilMs).toISOString()) as {
    created_at: string;
    provider_id: string;
    model: string;
    duration_ms: number;
  }[];
  return rows.map((row) => ({ at: row.created_at, providerId: row.provider_id, model: row.model, loadMs: row.duration_ms }));
}
