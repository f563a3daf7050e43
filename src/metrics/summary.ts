import { SENSITIVITY_LEVELS, type SensitivityLevel } from '../common/vocabulary.js';
import type { EvidenceKind, EvidenceState } from '../evidence/types.js';
import type { Policy } from '../policy/types.js';

/** The evidence columns metrics are computed from (one row per attempt, probe or denial). */
export interface MetricsRow {
  /** ISO 8601. */
  createdAt: string;
  kind: EvidenceKind;
  state: EvidenceState;
  providerId: string | null;
  providerClass: string | null;
  model: string | null;
  /** The level the classifier gave the request (null on rows written before it was known). */
  sensitivity: string | null;
  /** Whether the engine held the model when the request was routed; null when it does not say (or not local). */
  warm: boolean | null;
  /** 0 for the first candidate, 1.. for fallback hops. */
  hop: number;
  firstTokenMs: number | null;
  totalMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Of inputTokens: read from / written to the prompt cache; null when not reported. */
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
  costUsd: number | null;
  /** The `code` of the row's error, when it has one (`interrupted`: the caller cancelled the call). */
  errorCode: string | null;
}

/** A local engine loading a model (cold start), when the engines concept records one. */
export interface ModelLoadEvent {
  /** ISO 8601. */
  at: string;
  providerId: string;
  model: string;
  loadMs: number;
}

export interface MetricsWindow {
  /** Milliseconds since the epoch; rows at or after it count. */
  sinceMs: number;
  /** Milliseconds since the epoch; rows before it count. */
  untilMs: number;
  /** Only the evidence of this session (an agent's conversation); model loads are the host's and are left out. */
  session?: string;
}

/** p50 / p95 by nearest rank (the value at position ceil(p·n) of the sorted sample). */
export interface Percentiles {
  p50: number;
  p95: number;
  samples: number;
}

export interface TokenTotals {
  input: number;
  output: number;
  total: number;
  /** Of `input`: tokens the provider or engine read from its prompt cache, and wrote to it. */
  cachedInput: number;
  cacheWriteInput: number;
  /** cachedInput / input, 0 when there was no input. */
  cachedInputShare: number;
}

/** Latency of the answered attempts of one provider and model. */
export interface ModelLatency {
  provider: string;
  model: string;
  class: string;
  requests: number;
  firstTokenMs: Percentiles | null;
  totalMs: Percentiles | null;
}

export interface ModelLoadTimes {
  provider: string;
  model: string;
  loads: number;
  loadMs: Percentiles;
  maxMs: number;
}

/** Where the requests of one sensitivity level went: what makes "restricted data stayed here" checkable. */
export interface SensitivityRouting {
  level: SensitivityLevel;
  /** Answered locally / by a hosted provider (answered invocations, as `requests`). */
  local: number;
  hosted: number;
  /** Refused by policy (denial rows). */
  denied: number;
}

/**
 * Answers from a model its engine reported not loaded when the request was routed (Ollama's
 * `/api/ps`): their first token includes the load, so they show what a cold start costs on
 * engines that do not report load times themselves.
 */
export interface ColdStarts {
  provider: string;
  model: string;
  coldRequests: number;
  coldFirstTokenMs: Percentiles | null;
  /** The same model's answers while loaded, for comparison. */
  warmFirstTokenMs: Percentiles | null;
}

export interface HourlyRequests {
  /** Start of the hour, ISO 8601 (UTC). */
  hour: string;
  local: number;
  hosted: number;
}

/** A failed attempt whose caller went away: nothing says the provider failed. */
function cancelledByCaller(row: MetricsRow): boolean {
  return row.state === 'failed' && row.errorCode === 'interrupted';
}

/**
 * What `syndicate metrics` reports. A *request* here is an answered invocation attempt
 * (evidence state `completed`, kind `invocation`): local when its provider class is `local`,
 * hosted otherwise. Probes are left out; denials and failed attempts are counted apart.
 */
export interface MetricsSummary {
  window: { since: string; until: string; session?: string };
  requests: {
    total: number;
    local: number;
    hosted: number;
    /** local / total, 0 when there were none. */
    localShare: number;
    hostedShare: number;
    /** Attempts that failed or were interrupted, except those the caller cancelled. */
    failedAttempts: number;
    /** Attempts cut short because the caller went away or cancelled (a closed stream, Ctrl-C). */
    cancelled: number;
    /** Requests refused by policy (denial rows). */
    denied: number;
    /** Answers that came from a fallback hop (hop > 0). */
    fallbacks: number;
  };
  tokens: {
    local: TokenTotals;
    hosted: TokenTotals;
    /** local total / (local + hosted) total, 0 when there were none. */
    localShare: number;
    /** Answered attempts whose tokens are unknown (counted as 0 above). */
    withoutCounts: number;
  };
  /** Every level, least sensitive first, even when nothing of it was seen. */
  bySensitivity: SensitivityRouting[];
  latency: ModelLatency[];
  loadTimes: ModelLoadTimes[];
  coldStarts: ColdStarts[];
  spendUsd: { total: number; local: number; hosted: number };
  savings: {
    referenceModel: string;
    inputPerMTok: number;
    outputPerMTok: number;
    /** What the local tokens would have cost at the reference hosted price. */
    localTokensAtReferenceUsd: number;
    /** That, minus what local answers actually cost (usually 0). */
    estimatedSavingsUsd: number;
  };
  hourly: HourlyRequests[];
}

const HOUR_MS = 3_600_000;

/** Pure: the summary of `rows` (already read from the store) in `window`. */
export function summarizeMetrics(
  rows: readonly MetricsRow[],
  window: MetricsWindow,
  savings: Policy['savings'],
  loadEvents: readonly ModelLoadEvent[] = [],
): MetricsSummary {
  const inWindow = rows.filter((row) => {
    const at = Date.parse(row.createdAt);
    return at >= window.sinceMs && at < window.untilMs;
  });
  const answered = inWindow.filter((row) => row.kind === 'invocation' && row.state === 'completed');
  const isLocal = (row: MetricsRow): boolean => row.providerClass === 'local';
  const local = answered.filter(isLocal);
  const hosted = answered.filter((row) => !isLocal(row));

  const tokens = (subset: readonly MetricsRow[]): TokenTotals => {
    const input = sum(subset.map((row) => row.inputTokens ?? 0));
    const output = sum(subset.map((row) => row.outputTokens ?? 0));
    const cachedInput = sum(subset.map((row) => row.cachedInputTokens ?? 0));
    const cacheWriteInput = sum(subset.map((row) => row.cacheWriteInputTokens ?? 0));
    return { input, output, total: input + output, cachedInput, cacheWriteInput, cachedInputShare: share(cachedInput, input) };
  };
  const localTokens = tokens(local);
  const hostedTokens = tokens(hosted);

  const invocations = inWindow.filter((row) => row.kind === 'invocation');
  const localSpend = sum(invocations.filter(isLocal).map((row) => row.costUsd ?? 0));
  const hostedSpend = sum(invocations.filter((row) => !isLocal(row)).map((row) => row.costUsd ?? 0));
  const localAtReference = (localTokens.input * savings.inputPerMTok + localTokens.output * savings.outputPerMTok) / 1_000_000;

  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString(), ...(window.session === undefined ? {} : { session: window.session }) },
    requests: {
      total: answered.length,
      local: local.length,
      hosted: hosted.length,
      localShare: share(local.length, answered.length),
      hostedShare: share(hosted.length, answered.length),
      failedAttempts: invocations.filter((row) => (row.state === 'failed' || row.state === 'interrupted') && !cancelledByCaller(row)).length,
      cancelled: invocations.filter(cancelledByCaller).length,
      denied: inWindow.filter((row) => row.kind === 'denial').length,
      fallbacks: answered.filter((row) => row.hop > 0).length,
    },
    tokens: {
      local: localTokens,
      hosted: hostedTokens,
      localShare: share(localTokens.total, localTokens.total + hostedTokens.total),
      withoutCounts: answered.filter((row) => row.inputTokens === null && row.outputTokens === null).length,
    },
    bySensitivity: SENSITIVITY_LEVELS.map((level) => ({
      level,
      local: local.filter((row) => row.sensitivity === level).length,
      hosted: hosted.filter((row) => row.sensitivity === level).length,
      denied: inWindow.filter((row) => row.kind === 'denial' && row.sensitivity === level).length,
    })),
    latency: latencyByModel(answered),
    loadTimes: loadTimesByModel(loadEvents.filter((event) => {
      const at = Date.parse(event.at);
      return at >= window.sinceMs && at < window.untilMs;
    })),
    spendUsd: { total: localSpend + hostedSpend, local: localSpend, hosted: hostedSpend },
    savings: {
      referenceModel: savings.referenceModel,
      inputPerMTok: savings.inputPerMTok,
      outputPerMTok: savings.outputPerMTok,
      localTokensAtReferenceUsd: localAtReference,
      estimatedSavingsUsd: localAtReference - localSpend,
    },
    coldStarts: coldStartsByModel(answered),
    hourly: hourlyRequests(answered, window),
  };
}

/** Nearest-rank percentiles of a non-empty sample; null for an empty one. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
  return { p50: rank(0.5), p95: rank(0.95), samples: sorted.length };
}

/** The answered rows per provider and model, ordered by provider, then model. */
function latencyGroups(answered: readonly MetricsRow[]): MetricsRow[][] {
  const groups = new Map<string, MetricsRow[]>();
  for (const row of answered) {
    const key = `${row.providerId ?? ''}\u0000${row.model ?? ''}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  const name = (group: MetricsRow[]): [string, string] => [group[0]?.providerId ?? '', group[0]?.model ?? ''];
  return [...groups.values()].sort((a, b) => name(a)[0].localeCompare(name(b)[0]) || name(a)[1].localeCompare(name(b)[1]));
}

function latencyByModel(answered: readonly MetricsRow[]): ModelLatency[] {
  return latencyGroups(answered)
    .map((group) => {
      const first = group[0] as MetricsRow;
      return {
        provider: first.providerId ?? '',
        model: first.model ?? '',
        class: first.providerClass ?? '',
        requests: group.length,
        firstTokenMs: firstTokens(group),
        totalMs: percentiles(group.flatMap((row) => (row.totalMs === null ? [] : [row.totalMs]))),
      };
    });
}

function firstTokens(rows: readonly MetricsRow[]): Percentiles | null {
  return percentiles(rows.flatMap((row) => (row.firstTokenMs === null ? [] : [row.firstTokenMs])));
}

function coldStartsByModel(answered: readonly MetricsRow[]): ColdStarts[] {
  return latencyGroups(answered)
    .map((group) => {
      const first = group[0] as MetricsRow;
      const cold = group.filter((row) => row.warm === false);
      return {
        provider: first.providerId ?? '',
        model: first.model ?? '',
        coldRequests: cold.length,
        coldFirstTokenMs: firstTokens(cold),
        warmFirstTokenMs: firstTokens(group.filter((row) => row.warm === true)),
      };
    })
    .filter((entry) => entry.coldRequests > 0);
}

function loadTimesByModel(events: readonly ModelLoadEvent[]): ModelLoadTimes[] {
  const groups = new Map<string, ModelLoadEvent[]>();
  for (const event of events) {
    const key = `${event.providerId}\u0000${event.model}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [event]);
    else group.push(event);
  }
  return [...groups.values()]
    .map((group) => {
      const first = group[0] as ModelLoadEvent;
      const values = group.map((event) => event.loadMs);
      return { provider: first.providerId, model: first.model, loads: group.length, loadMs: percentiles(values) as Percentiles, maxMs: Math.max(...values) };
    })
    .sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
}

/** One bucket per UTC hour from the hour containing `since` up to `until`. */
function hourlyRequests(answered: readonly MetricsRow[], window: MetricsWindow): HourlyRequests[] {
  const start = Math.floor(window.sinceMs / HOUR_MS) * HOUR_MS;
  const buckets: HourlyRequests[] = [];
  for (let hour = start; hour < window.untilMs; hour += HOUR_MS) buckets.push({ hour: new Date(hour).toISOString(), local: 0, hosted: 0 });
  for (const row of answered) {
    const bucket = buckets[Math.floor((Date.parse(row.createdAt) - start) / HOUR_MS)];
    if (bucket === undefined) continue;
    if (row.providerClass === 'local') bucket.local += 1;
    else bucket.hosted += 1;
  }
  return buckets;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
