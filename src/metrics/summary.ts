import { SENSITIVITY_LEVELS, type SensitivityLevel } from '../common/vocabulary.js';
import { isUncalledRecordedAsDenial, type EvidenceKind, type EvidenceState } from '../evidence/types.js';
import type { Policy } from '../policy/types.js';
import { usageCostUsd } from '../registry/pricing.js';
import type { ModelPrice, PriceTier } from '../registry/types.js';
import type { Usage } from '../wire/canonical.js';

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
  /**
   * The `code` of the row's error, when it has one. `interrupted` on a `failed` row: the caller
   * cancelled the call; on an `interrupted` row: the process died before recording its outcome.
   */
  errorCode: string | null;
  /** Written for a provider probe (caller `probe`): its denials are no user request. */
  byProbe: boolean;
  /** A local answer to an embeddings request (read for local answers only: false for the rest). */
  embedding: boolean;
  /** Its token counts were counted locally (`token_accounting: approximate`): the upstream reported none. */
  approximateTokens: boolean;
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
  /** Only the evidence the classifier gave one of these levels (`metrics --sensitivity`); model loads, of no level, are left out. */
  sensitivities?: readonly SensitivityLevel[];
}

/**
 * The last `durationMs` up to now, this millisecond included: evidence is stamped to the
 * millisecond, and a row recorded in the millisecond the metrics are asked for is already in the
 * store (a client that asks right after its call must see it counted).
 */
export function windowUntilNow(durationMs: number, only: Pick<MetricsWindow, 'session' | 'sensitivities'> = {}): MetricsWindow {
  const now = Date.now();
  const { session, sensitivities } = only;
  return { sinceMs: now - durationMs, untilMs: now + 1, ...(session === undefined ? {} : { session }), ...(sensitivities === undefined ? {} : { sensitivities }) };
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

/**
 * What one provider and model did in the window: its answers, failed attempts, the tokens of its
 * answers and what its attempts cost (`cost_usd`, as `spendUsd` counts it). Every invocation
 * attempt that reached a provider is in exactly one entry, so the entries add up to the totals:
 * `spendUsd` summed is `spendUsd.local + spendUsd.hosted` (provider probes are apart, in
 * `spendUsd.probes`), `answers` to `requests.total`, `tokens` to `tokens.local` + `tokens.hosted`.
 */
export interface ModelUsage {
  /** `provider:model`. */
  id: string;
  provider: string;
  model: string;
  class: string;
  /** Answered attempts (evidence state `completed`), as `requests`. */
  answers: number;
  /** Attempts that failed or were interrupted, except those the caller cancelled (as `requests.failedAttempts`). */
  failedAttempts: number;
  /** Attempts the caller cancelled (as `requests.cancelled`): a cut stream can be billed all the same. */
  cancelled: number;
  /** The tokens of its answers, as `tokens.local` / `tokens.hosted` count them. */
  tokens: TokenTotals;
  spendUsd: number;
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
  /** Refused by policy (denial rows, as `requests.denied`). */
  denied: number;
}

/** Requests of no known level, counted as in `SensitivityRouting`. */
export type UnclassifiedRouting = Omit<SensitivityRouting, 'level'>;

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

/**
 * A failed attempt whose caller went away (a closed stream, Ctrl-C on `run`): nothing says the
 * provider failed. Rows recovered as `interrupted` are not: nothing says who ended that process.
 */
function cancelledByCaller(row: MetricsRow): boolean {
  return row.state === 'failed' && row.errorCode === 'interrupted';
}

/**
 * What `syndicate metrics` reports. A *request* here is an answered invocation attempt
 * (evidence state `completed`, kind `invocation`): local when its provider class is `local`,
 * hosted otherwise. Probes are left out of the request figures (their spend is in `spendUsd`,
 * apart); denials and failed attempts are counted apart, and
 * permits refused outside any request (`permit issue`, `permit verify`) and probes the policy
 * refused apart from denials, so the request figures describe user traffic.
 * `bySensitivity` and `unclassified` together add up to `requests.local`, `hosted` and `denied`.
 */
export interface MetricsSummary {
  window: { since: string; until: string; session?: string; sensitivity?: SensitivityLevel[] };
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
    /** Requests refused by policy (denial rows); not the permit checks of `permitChecksRefused`. */
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
    /** Answered attempts whose tokens the upstream did not report, counted locally with a tokenizer (an estimate, in the figures above). */
    estimatedCounts: number;
  };
  /** Every level, least sensitive first, even when nothing of it was seen. */
  bySensitivity: SensitivityRouting[];
  /**
   * Requests of no known level: refused before they were classified (a presented permit that did
   * not verify), or recorded without one. Counted here so that the levels add up to `requests`.
   */
  unclassified: UnclassifiedRouting;
  /**
   * Permits asked for or checked on their own (`permit issue`, `permit verify`) and refused
   * (evidence kind `permit_check`): evidence of a refusal, but no request was made.
   */
  permitChecksRefused: number;
  /**
   * Provider probes (`provider test`, `provider capabilities`) the policy or a permit check refused
   * (denial rows of caller `probe`): evidence of a refusal, but no user request.
   */
  probesDenied: number;
  latency: ModelLatency[];
  /**
   * Per provider and model an invocation reached (answered, failed or cancelled), most spend first,
   * then most answers, then by id (byte order). Failed attempts that reached no provider (nothing
   * registered could take the request) are only in `requests.failedAttempts`; probes only in `spendUsd.probes`.
   */
  byModel: ModelUsage[];
  loadTimes: ModelLoadTimes[];
  coldStarts: ColdStarts[];
  /**
   * What evidence priced in the window, as the policy's per-day ceiling counts it: `local` and
   * `hosted` answer user requests (failed attempts a provider billed included), `probes` are the
   * provider probes' calls (`provider test`, `provider capabilities`), and `total` is all three.
   */
  spendUsd: { total: number; local: number; hosted: number; probes: number };
  savings: {
    referenceModel: string;
    inputPerMTok: number;
    outputPerMTok: number;
    /** The reference's rate for input tokens read from a prompt cache, when its price has one (else they are priced at `inputPerMTok`). */
    cachedInputPerMTok?: number;
    /** The reference's input-length tiers, when its price has them. */
    tiers?: PriceTier[];
    /** What the local chat answers would have cost at the reference hosted price, each priced as its spend would be (`usageCostUsd`). */
    localTokensAtReferenceUsd: number;
    /**
     * Input tokens of local embeddings answers, which the reference (a chat model's rates, 15 to 100
     * times a hosted embedding model's) does not price: left out of the savings, not counted at it.
     */
    embeddingTokensLeftOut: number;
    /**
     * Local answers given before the reference's registered price last changed, each priced at the
     * rates its record gave then (as a hosted answer's spend keeps its version's price): present
     * only when there were any, since the rates above are then not the only ones applied.
     */
    pricedAtEarlierRates?: number;
    /** That, minus what local answers actually cost (usually 0). */
    estimatedSavingsUsd: number;
    /** Why these are not the reference model's own rates (`savingsReference`), when they cannot be. */
    warning?: string;
  };
  hourly: HourlyRequests[];
}

/** A price of the savings reference that a later version of its provider record replaced (`savingsReference`). */
export interface EarlierPrice {
  price: ModelPrice;
  /** When the version that replaced it was registered (ms since the epoch). */
  untilMs: number;
}

/**
 * The reference price an answer given at `atMs` is compared with: the earlier price in force then
 * (`earlierPrices`, oldest first), else the current one.
 */
export function referencePriceAt(current: ModelPrice, earlierPrices: readonly EarlierPrice[], atMs: number): ModelPrice {
  for (const earlier of earlierPrices) if (atMs < earlier.untilMs) return earlier.price;
  return current;
}

export const HOUR_MS = 3_600_000;

/** The requests-per-hour series never lists more hours than a year and a day. */
export const MAXIMUM_HOURLY_POINTS = 366 * 24;

/**
 * The first hour of the requests-per-hour series: the window's, unless the store's first envelope
 * came later (a window longer than the store's history does not list the empty hours before it),
 * and at most MAXIMUM_HOURLY_POINTS hours before the series' end (`--since 3650d` asks for
 * 87 600 of them; `hourlySeriesEnd`).
 */
export function hourlySeriesStart(window: MetricsWindow, firstEvidenceMs?: number, endMs = window.untilMs): number {
  const from = Math.max(window.sinceMs, firstEvidenceMs ?? window.sinceMs, endMs - MAXIMUM_HOURLY_POINTS * HOUR_MS);
  return Math.floor(from / HOUR_MS) * HOUR_MS;
}

/**
 * Where the requests-per-hour series ends: the window's end, or now when the window ends later (a
 * month's report asked for before the month is over): hours yet to come are not hours of no requests.
 */
export function hourlySeriesEnd(window: MetricsWindow, nowMs: number): number {
  return Math.min(window.untilMs, nowMs + 1);
}

/** Pure: the summary of `rows` (already read from the store) in `window`. */
export function summarizeMetrics(
  rows: Iterable<MetricsRow>,
  window: MetricsWindow,
  savings: Policy['savings'],
  loadEvents: readonly ModelLoadEvent[] = [],
): MetricsSummary {
  const accumulator = new MetricsAccumulator(window, savings);
  for (const row of rows) accumulator.add(row);
  return accumulator.summary(loadEvents);
}

interface TokenSums {
  input: number;
  output: number;
  cachedInput: number;
  cacheWriteInput: number;
}

/** The invocation attempts of one provider and model: what `byModel` and the latency and cold-start tables need. */
interface ModelGroup {
  provider: string;
  model: string;
  class: string;
  /** Answered attempts. */
  requests: number;
  failedAttempts: number;
  cancelled: number;
  tokens: TokenSums;
  spendUsd: number;
  firstTokenMs: number[];
  totalMs: number[];
  coldRequests: number;
  coldFirstTokenMs: number[];
  warmFirstTokenMs: number[];
}

/**
 * The summary in one pass over the rows, keeping only counters and the latency samples
 * percentiles need: a month of evidence is read row by row, never held (see query.ts).
 */
export class MetricsAccumulator {
  private answered = { local: 0, hosted: 0 };
  private failedAttempts = 0;
  private cancelled = 0;
  private denied = 0;
  private permitChecksRefused = 0;
  private probesDenied = 0;
  private fallbacks = 0;
  private withoutCounts = 0;
  private estimatedCounts = 0;
  private readonly tokens = { local: emptyTokenSums(), hosted: emptyTokenSums() };
  private readonly spend = { local: 0, hosted: 0, probes: 0 };
  /** What the local answers would have cost at the reference price, each priced on its own. */
  private localAtReference = 0;
  /** Input tokens of local embeddings answers: not priced at the (chat) reference. */
  private embeddingTokensLeftOut = 0;
  private readonly sensitivity = new Map<string, SensitivityRouting>(SENSITIVITY_LEVELS.map((level) => [level, { level, local: 0, hosted: 0, denied: 0 }]));
  private readonly unclassified: UnclassifiedRouting = { local: 0, hosted: 0, denied: 0 };
  private readonly groups = new Map<string, ModelGroup>();
  private readonly hourly: HourlyRequests[] = [];
  private readonly firstHourMs: number;

  /** Prices of the reference before its current one (`savingsReference`), oldest first. */
  private readonly earlierReferencePrices: readonly EarlierPrice[];
  /** Local answers priced at one of those. */
  private pricedAtEarlierRates = 0;

  /**
   * `firstEvidenceMs`: when the store's first envelope was recorded (see `hourlySeriesStart`);
   * `earlierReferencePrices`: what the reference cost before `savings`' rates, each until it changed;
   * `nowMs` (default the clock's): where the hourly series of a window not yet over ends.
   */
  constructor(
    private readonly window: MetricsWindow,
    private readonly savings: Policy['savings'],
    options: { firstEvidenceMs?: number; earlierReferencePrices?: readonly EarlierPrice[]; nowMs?: number } = {},
  ) {
    this.earlierReferencePrices = options.earlierReferencePrices ?? [];
    const endMs = hourlySeriesEnd(window, options.nowMs ?? Date.now());
    this.firstHourMs = hourlySeriesStart(window, options.firstEvidenceMs, endMs);
    for (let hour = this.firstHourMs; hour < endMs; hour += HOUR_MS) this.hourly.push({ hour: new Date(hour).toISOString(), local: 0, hosted: 0 });
  }

  /** Counts one evidence row; rows outside the window are ignored. */
  add(row: MetricsRow): void {
    const at = Date.parse(row.createdAt);
    if (!(at >= this.window.sinceMs && at < this.window.untilMs)) return;
    const local = row.providerClass === 'local';
    if (row.kind === 'permit_check') {
      this.permitChecksRefused += 1;
      return;
    }
    if (row.kind === 'denial' && row.byProbe) {
      this.probesDenied += 1;
      return;
    }
    if (isUncalledRecordedAsDenial(row)) {
      // Written as a denial before it was recorded as what it is, a failed attempt that called nothing.
      this.failedAttempts += 1;
      return;
    }
    if (row.kind === 'denial') {
      this.denied += 1;
      this.routingOf(row).denied += 1;
      return;
    }
    if (row.kind === 'probe') {
      // No user request, but money spent all the same: the daily ceiling counts it too.
      this.spend.probes += row.costUsd ?? 0;
      return;
    }
    if (row.kind !== 'invocation') return;
    // An attempt that reached no provider (nothing registered could take it) called nothing, and
    // one still under way (pending) has no outcome or cost yet: no entry of their own in `byModel`.
    const group = row.providerId === null || row.state === 'pending' ? undefined : this.groupOf(row);
    if (local) this.spend.local += row.costUsd ?? 0;
    else this.spend.hosted += row.costUsd ?? 0;
    if (group !== undefined) group.spendUsd += row.costUsd ?? 0;
    if (cancelledByCaller(row)) {
      this.cancelled += 1;
      if (group !== undefined) group.cancelled += 1;
    } else if (row.state === 'failed' || row.state === 'interrupted') {
      this.failedAttempts += 1;
      if (group !== undefined) group.failedAttempts += 1;
    }
    if (row.state !== 'completed') return;

    if (local) this.answered.local += 1;
    else this.answered.hosted += 1;
    if (row.hop > 0) this.fallbacks += 1;
    if (row.inputTokens === null && row.outputTokens === null) this.withoutCounts += 1;
    else if (row.approximateTokens) this.estimatedCounts += 1;
    addTokens(local ? this.tokens.local : this.tokens.hosted, row);
    if (group !== undefined) addTokens(group.tokens, row);
    // Priced answer by answer, as spend is: a reference whose price has input-length tiers bills
    // each answer at the tier its own input reaches, which no total of the tokens can tell.
    if (local && row.embedding) this.embeddingTokensLeftOut += row.inputTokens ?? 0;
    else if (local) {
      const reference = referencePriceAt(this.savings, this.earlierReferencePrices, at);
      if (reference !== this.savings) this.pricedAtEarlierRates += 1;
      this.localAtReference += usageCostUsd(reference, usageOf(row));
    }
    const routing = this.routingOf(row);
    if (local) routing.local += 1;
    else routing.hosted += 1;
    const bucket = this.hourly[Math.floor((at - this.firstHourMs) / HOUR_MS)];
    if (bucket !== undefined) {
      if (local) bucket.local += 1;
      else bucket.hosted += 1;
    }
    if (group !== undefined) addLatency(group, row);
  }

  summary(loadEvents: readonly ModelLoadEvent[] = []): MetricsSummary {
    const { window, savings } = this;
    const total = this.answered.local + this.answered.hosted;
    const localTokens = tokenTotals(this.tokens.local);
    const hostedTokens = tokenTotals(this.tokens.hosted);
    const localAtReference = this.localAtReference;
    const groups = [...this.groups.values()].sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
    return {
      window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString(), ...(window.session === undefined ? {} : { session: window.session }), ...(window.sensitivities === undefined ? {} : { sensitivity: [...window.sensitivities] }) },
      requests: {
        total,
        local: this.answered.local,
        hosted: this.answered.hosted,
        localShare: share(this.answered.local, total),
        hostedShare: share(this.answered.hosted, total),
        failedAttempts: this.failedAttempts,
        cancelled: this.cancelled,
        denied: this.denied,
        fallbacks: this.fallbacks,
      },
      tokens: {
        local: localTokens,
        hosted: hostedTokens,
        localShare: share(localTokens.total, localTokens.total + hostedTokens.total),
        withoutCounts: this.withoutCounts,
        estimatedCounts: this.estimatedCounts,
      },
      bySensitivity: [...this.sensitivity.values()],
      unclassified: { ...this.unclassified },
      permitChecksRefused: this.permitChecksRefused,
      probesDenied: this.probesDenied,
      latency: groups
        .filter((group) => group.requests > 0)
        .map((group) => ({
        provider: group.provider,
        model: group.model,
        class: group.class,
        requests: group.requests,
        firstTokenMs: percentiles(group.firstTokenMs),
        totalMs: percentiles(group.totalMs),
      })),
      byModel: byModel(groups),
      loadTimes: loadTimesByModel(
        loadEvents.filter((event) => {
          const at = Date.parse(event.at);
          return at >= window.sinceMs && at < window.untilMs;
        }),
      ),
      spendUsd: { total: this.spend.local + this.spend.hosted + this.spend.probes, local: this.spend.local, hosted: this.spend.hosted, probes: this.spend.probes },
      savings: {
        referenceModel: savings.referenceModel,
        inputPerMTok: savings.inputPerMTok,
        outputPerMTok: savings.outputPerMTok,
        ...(savings.cachedInputPerMTok === undefined ? {} : { cachedInputPerMTok: savings.cachedInputPerMTok }),
        ...(savings.tiers === undefined ? {} : { tiers: savings.tiers }),
        localTokensAtReferenceUsd: localAtReference,
        embeddingTokensLeftOut: this.embeddingTokensLeftOut,
        ...(this.pricedAtEarlierRates === 0 ? {} : { pricedAtEarlierRates: this.pricedAtEarlierRates }),
        estimatedSavingsUsd: localAtReference - this.spend.local,
      },
      coldStarts: groups
        .filter((group) => group.coldRequests > 0)
        .map((group) => ({
          provider: group.provider,
          model: group.model,
          coldRequests: group.coldRequests,
          coldFirstTokenMs: percentiles(group.coldFirstTokenMs),
          warmFirstTokenMs: percentiles(group.warmFirstTokenMs),
        })),
      hourly: this.hourly,
    };
  }

  /** The counters of the row's level; `unclassified` when it has none the vocabulary knows. */
  private routingOf(row: MetricsRow): UnclassifiedRouting {
    return (row.sensitivity === null ? undefined : this.sensitivity.get(row.sensitivity)) ?? this.unclassified;
  }

  /** The entry of the row's provider and model: one per pair, however many rows it has. */
  private groupOf(row: MetricsRow): ModelGroup {
    const key = `${row.providerId ?? ''}\u0000${row.model ?? ''}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = {
        provider: row.providerId ?? '',
        model: row.model ?? '',
        class: row.providerClass ?? '',
        requests: 0,
        failedAttempts: 0,
        cancelled: 0,
        tokens: emptyTokenSums(),
        spendUsd: 0,
        firstTokenMs: [],
        totalMs: [],
        coldRequests: 0,
        coldFirstTokenMs: [],
        warmFirstTokenMs: [],
      };
      this.groups.set(key, group);
    }
    return group;
  }
}

/** Counts one answer of the group: its latency and whether its model was loaded. */
function addLatency(group: ModelGroup, row: MetricsRow): void {
  group.requests += 1;
  if (row.firstTokenMs !== null) group.firstTokenMs.push(row.firstTokenMs);
  if (row.totalMs !== null) group.totalMs.push(row.totalMs);
  if (row.warm === false) {
    group.coldRequests += 1;
    if (row.firstTokenMs !== null) group.coldFirstTokenMs.push(row.firstTokenMs);
  } else if (row.warm === true && row.firstTokenMs !== null) {
    group.warmFirstTokenMs.push(row.firstTokenMs);
  }
}

function addTokens(sums: TokenSums, row: MetricsRow): void {
  sums.input += row.inputTokens ?? 0;
  sums.output += row.outputTokens ?? 0;
  sums.cachedInput += row.cachedInputTokens ?? 0;
  sums.cacheWriteInput += row.cacheWriteInputTokens ?? 0;
}

/** The groups as `byModel` lists them: most spend first, then most answers, then by id in byte order. */
function byModel(groups: readonly ModelGroup[]): ModelUsage[] {
  return groups
    .map((group) => ({
      id: `${group.provider}:${group.model}`,
      provider: group.provider,
      model: group.model,
      class: group.class,
      answers: group.requests,
      failedAttempts: group.failedAttempts,
      cancelled: group.cancelled,
      tokens: tokenTotals(group.tokens),
      spendUsd: group.spendUsd,
    }))
    .sort((a, b) => b.spendUsd - a.spendUsd || b.answers - a.answers || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
}

function emptyTokenSums(): TokenSums {
  return { input: 0, output: 0, cachedInput: 0, cacheWriteInput: 0 };
}

function tokenTotals(sums: TokenSums): TokenTotals {
  return { ...sums, total: sums.input + sums.output, cachedInputShare: share(sums.cachedInput, sums.input) };
}

/** Nearest-rank percentiles of a non-empty sample; null for an empty one. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
  return { p50: rank(0.5), p95: rank(0.95), samples: sorted.length };
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

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

/** A row's token counts as the pricing function takes them (a count not reported: none). */
function usageOf(row: MetricsRow): Usage {
  return {
    inputTokens: row.inputTokens ?? 0,
    outputTokens: row.outputTokens ?? 0,
    ...(row.cachedInputTokens === null ? {} : { cachedInputTokens: row.cachedInputTokens }),
    ...(row.cacheWriteInputTokens === null ? {} : { cacheWriteInputTokens: row.cacheWriteInputTokens }),
  };
}
