import { median } from '../common/median.js';
import type { RegisteredProvider } from '../registry/types.js';
import { storedJsonMemberSql } from '../store/json-columns.js';
import type { Store } from '../store/store.js';
import type { FirstTokenHistory, RecentFirstTokens } from './types.js';

/** The WHERE terms of the `evidence_attempts_by_model` index (migration 12): a query repeats them for the planner to use it. */
export const ATTEMPTS_BY_MODEL = "kind = 'invocation' AND state IN ('completed', 'failed') AND permit_id IS NOT NULL";

/** Calls of each model read, newest first. */
export const RECENT_CALLS = 20;
const DAY_MS = 86_400_000;

/**
 * The newest calls of every model asked about, in one statement: for each (provider, model) pair
 * of the JSON array `@pairs`, a range of the `evidence_attempts_by_model` index.
 */
export const RECENT_CALLS_SQL = `SELECT e.provider_id AS provider, e.model AS model, e.state AS state, e.first_token_ms AS ms,
    ${storedJsonMemberSql('e.route_json', '$.chosen.warm')} AS warm
  FROM json_each(@pairs) AS pair JOIN evidence AS e ON e.row_key IN (
    SELECT row_key FROM evidence
    WHERE provider_id = pair.value ->> 0 AND model = pair.value ->> 1 AND created_at >= @since AND ${ATTEMPTS_BY_MODEL}
    ORDER BY created_at DESC LIMIT ${RECENT_CALLS})`;

interface CallRow {
  provider: string;
  model: string;
  state: 'completed' | 'failed';
  ms: number | null;
  warm: number | null;
}

/**
 * What the last `RECENT_CALLS` (20) calls within `windowDays` (default 14) of each model of the
 * active providers say of its first token: the median of its answers' (a local model's cold
 * answers left out: the router counts its load apart), and how many calls failed. One indexed
 * query for all models, so a CLI command (`run`, `route`) ranks `prefer: fastest` by what this host
 * saw rather than alphabetically. A store that cannot answer gives no history, never a failed route.
 */
export function recentFirstTokens(store: Store, providers: readonly RegisteredProvider[], options: { windowDays?: number; now?: number } = {}): FirstTokenHistory {
  const pairs = providers
    .filter((provider) => provider.retiredAt === null && provider.record.class !== 'blocked')
    .flatMap((provider) => provider.record.models.map((model) => [provider.id, model.id]));
  const byModel = new Map<string, RecentFirstTokens>();
  const key = (providerId: string, model: string): string => `${providerId}\u0000${model}`;
  if (pairs.length > 0) {
    const since = new Date((options.now ?? Date.now()) - (options.windowDays ?? 14) * DAY_MS).toISOString();
    let rows: CallRow[] = [];
    try {
      rows = store.statement(RECENT_CALLS_SQL).all({ pairs: JSON.stringify(pairs), since }) as CallRow[];
    } catch {
      rows = [];
    }
    const grouped = new Map<string, CallRow[]>();
    for (const row of rows) {
      const calls = grouped.get(key(row.provider, row.model)) ?? [];
      calls.push(row);
      grouped.set(key(row.provider, row.model), calls);
    }
    for (const [modelKey, calls] of grouped) {
      const timed = calls.filter((call) => call.state === 'completed' && call.ms !== null && call.warm !== 0).map((call) => call.ms as number);
      byModel.set(modelKey, { medianMs: median(timed), answers: timed.length, calls: calls.length, failures: calls.filter((call) => call.state === 'failed').length });
    }
  }
  return (providerId, model) => byModel.get(key(providerId, model));
}

/**
 * `recentFirstTokens` read on first use and kept: once per CLI command; in the gateway, the seed
 * read at start, after which what the process observes itself (the health monitor's first
 * tokens) comes first.
 */
export function firstTokenSeed(store: Store): (providers: readonly RegisteredProvider[]) => FirstTokenHistory {
  let seeded: FirstTokenHistory | undefined;
  return (providers) => (seeded ??= recentFirstTokens(store, providers));
}
