import { median } from '../common/median.js';
import { storedJsonMemberSql } from '../store/json-columns.js';
import type { Store } from '../store/store.js';
import { ATTEMPTS_BY_MODEL } from './first-tokens.js';
import type { ColdStartEstimate, ColdStartEstimator } from './types.js';

const DAY_MS = 86_400_000;
/** Evidence rows of one model read per estimate, newest first: enough for a median, bounded on a big store. */
const OBSERVED_ROWS = 500;

/**
 * Cold-start estimates from what this host saw in the last `windowDays` (default 14): the median
 * load an engine recorded (`engine serve --register`), else — for engines that report no load
 * times but say what they hold (Ollama) — the median first token of answers from a model the
 * engine had not loaded minus the median of its warm answers (the cold median alone when it was
 * never seen warm). Undefined when neither was seen. Each model's estimate is kept `ttlMs`
 * (default 60 s): the router asks on the request path, and only for cold candidates.
 */
export function coldStartEstimator(store: Store, options: { windowDays?: number; ttlMs?: number; now?: () => number } = {}): ColdStartEstimator {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 60_000;
  const cache = new Map<string, { at: number; estimate: ColdStartEstimate | undefined }>();
  return (providerId, model) => {
    const key = `${providerId}\u0000${model}`;
    const cached = cache.get(key);
    if (cached !== undefined && now() - cached.at < ttlMs) return cached.estimate;
    const since = new Date(now() - (options.windowDays ?? 14) * DAY_MS).toISOString();
    const estimate = recordedLoad(store, providerId, model, since) ?? observedColdStart(store, providerId, model, since);
    cache.set(key, { at: now(), estimate });
    return estimate;
  };
}

function recordedLoad(store: Store, providerId: string, model: string, since: string): ColdStartEstimate | undefined {
  const loads = store
    .statement("SELECT duration_ms AS ms FROM engine_events WHERE kind = 'load' AND outcome = 'ok' AND provider_id = ? AND model = ? AND created_at >= ? AND duration_ms IS NOT NULL")
    .all(providerId, model, since) as { ms: number }[];
  const ms = median(loads.map((load) => load.ms));
  return ms === undefined ? undefined : { ms: Math.round(ms), source: 'recorded' };
}

/**
 * The newest answers of one local model with whether it was warm: a range of the
 * `evidence_attempts_by_model` index (migration 12, whose terms the query repeats so the planner
 * uses it), read on the request path. Parameters: since, provider id, model.
 */
export const OBSERVED_ANSWERS_SQL = `SELECT first_token_ms AS ms, ${storedJsonMemberSql('route_json', '$.chosen.warm')} AS warm FROM evidence
  WHERE created_at >= ? AND provider_id = ? AND model = ? AND ${ATTEMPTS_BY_MODEL}
    AND state = 'completed' AND provider_class = 'local' AND first_token_ms IS NOT NULL
  ORDER BY created_at DESC LIMIT ${OBSERVED_ROWS}`;

function observedColdStart(store: Store, providerId: string, model: string, since: string): ColdStartEstimate | undefined {
  const rows = store
    .statement(OBSERVED_ANSWERS_SQL)
    .all(since, providerId, model) as { ms: number; warm: number | null }[];
  const cold = median(rows.filter((row) => row.warm === 0).map((row) => row.ms));
  if (cold === undefined) return undefined;
  const warm = median(rows.filter((row) => row.warm === 1).map((row) => row.ms)) ?? 0;
  return { ms: Math.max(0, Math.round(cold - warm)), source: 'observed' };
}
