import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { HeldBack } from '../router/health.js';
import { PolicyRefusalError, SyndicateError } from '../errors.js';
import { attemptsOfFailure } from '../invoke/failure.js';
import type { AttemptReport, InvocationResult } from '../invoke/types.js';
import type { EngineOperation } from './query.js';
import { SeriesCounter, SeriesHistogram } from './series.js';

/**
 * Which client API a request arrived on (`openai`: chat completions; `openai_responses`: the
 * Responses API; `openai_completions`: legacy text completions; `openai_embeddings`: embeddings; `ollama`: Ollama's `/api/chat` and
 * `/api/generate`; `ollama_embeddings`: its `/api/embed`; `mcp`: the MCP `complete` tool at `/mcp`).
 */
export type GatewayApi = 'openai' | 'openai_completions' | 'openai_responses' | 'openai_embeddings' | 'anthropic' | 'ollama' | 'ollama_embeddings' | 'mcp';

/** Why the gateway refused a caller before any route: no token, a wrong one, or a Host or browser origin it does not answer to. */
export const CALLER_REFUSALS = ['token_missing', 'token_invalid', 'host_not_allowed', 'origin_not_allowed'] as const;
export type CallerRefusal = (typeof CALLER_REFUSALS)[number];
/** How a re-read of the edited policy file went (`syndicate_gateway_policy_reloads_total{outcome}`). */
export const POLICY_RELOAD_OUTCOMES = ['reloaded', 'invalid'] as const;
export type PolicyReloadOutcome = (typeof POLICY_RELOAD_OUTCOMES)[number];

/**
 * Seconds; LLM calls span from a few milliseconds (warm local) to minutes: up to the 10 minutes a
 * request may take when the policy sets no `latencyBudget.totalMs`.
 */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * Seconds; the gateway's own share of a request, from a fraction of a millisecond up — and, with
 * failed earlier hops in it (an upstream that timed out or answered 529 after a while), to a minute.
 */
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10, 30, 60];

/** Seconds; a model load takes from a fraction of a second (small, cached) to minutes (large, from disk). */
const MODEL_LOAD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** A target held out of routes: by the health monitor (`HeldBack`), or, for requests with tools only, by its engine's refusal of tools. */
export interface HeldBackTarget {
  provider: string;
  model?: string;
  state: HeldBack['state'] | 'tools_refused';
  /** Until it is tried again: the hold's end, or the refusal's (a day after it, unless released first). */
  retryAfterMs: number;
}

const ROUTE_LABELS = ['api', 'class', 'provider', 'model'] as const;

/** The policy's spend ceilings in US dollars, each absent when the policy sets none. */
export interface CostCeilings {
  perDayUsd?: number | undefined;
  perRequestUsd?: number | undefined;
}

export interface GatewayMetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag); default on. */
  processMetrics?: boolean;
  /** Today's recorded spend, read when `/metrics` is scraped (with `costCeilings`). */
  spentTodayUsd?: () => number;
  /** The policy's cost ceilings, read when `/metrics` is scraped (first, before any family is written: see `exposition`). */
  costCeilings?: () => CostCeilings;
  /** What is held out of routes right now (`HealthMonitor.holds`, and the tools refusals every process shares), read when `/metrics` is scraped. */
  heldBack?: () => HeldBackTarget[];
}

/**
 * The gateway's Prometheus metrics, in a registry of their own (never prom-client's global
 * one, so two gateways in one process, e.g. in tests, do not collide).
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  // Updated on every request: counted in plain numbers (see series.ts).
  private readonly requests: SeriesCounter<'api' | 'class' | 'provider' | 'model' | 'sensitivity' | 'outcome'>;
  private readonly firstToken: SeriesHistogram<(typeof ROUTE_LABELS)[number]>;
  private readonly total: SeriesHistogram<(typeof ROUTE_LABELS)[number]>;
  private readonly beforeUpstream: SeriesHistogram<'api' | 'class'>;
  private readonly tokens: SeriesCounter<'class' | 'provider' | 'model' | 'direction'>;
  private readonly promptCacheTokens: SeriesCounter<'class' | 'provider' | 'model' | 'operation'>;
  private readonly spend: SeriesCounter<'provider' | 'model'>;
  private readonly fallbacks: SeriesCounter<'provider' | 'model'>;
  private readonly denials: SeriesCounter<'api' | 'reason'>;
  private readonly modelOperations: SeriesCounter<'provider' | 'model' | 'action' | 'outcome'>;
  private readonly modelLoadSeconds: SeriesHistogram<'provider' | 'model'>;
  /** Reads the engine events after a row id (see `followEngineOperations`); the last row counted. */
  private engineOperations: { read: (afterId: number) => EngineOperation[]; lastId: number } | undefined;
  private readonly inFlight: Gauge;
  /** Reads the policy's ceilings (`GatewayMetricsOptions.costCeilings`); what the scrape under way read. */
  private readonly readCostCeilings: (() => CostCeilings) | undefined;
  private costCeilingsAtScrape: CostCeilings = {};
  private readonly policyReloads: Counter<'outcome'>;
  private readonly callerRefusals: Counter<'reason'>;
  private readonly policyFailedClosed: Gauge;

  constructor(options: GatewayMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new SeriesCounter({
      name: 'syndicate_gateway_requests_total',
      help: 'Gateway inference requests by API, provider class, provider, model, the sensitivity the classifier gave and outcome',
      labelNames: ['api', 'class', 'provider', 'model', 'sensitivity', 'outcome'],
      registers,
    });
    this.firstToken = new SeriesHistogram({
      name: 'syndicate_gateway_first_token_seconds',
      help: 'Time from the upstream call to the first content token (first byte for non-streamed answers)',
      labelNames: ROUTE_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.total = new SeriesHistogram({
      name: 'syndicate_gateway_total_seconds',
      help: 'Total time of the answering upstream call',
      labelNames: ROUTE_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.beforeUpstream = new SeriesHistogram({
      name: 'syndicate_gateway_before_upstream_seconds',
      help: 'What the gateway adds before the provider works: from the whole request in hand to the answering request handed to the socket (classification, routing, permit, the evidence commit, failed earlier hops)',
      labelNames: ['api', 'class'],
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.tokens = new SeriesCounter({
      name: 'syndicate_gateway_tokens_total',
      help: 'Tokens of answered requests, and of streams cut after the model read the prompt (billed up to the cut, as spend counts them); exact when the upstream reported them, else counted locally',
      labelNames: ['class', 'provider', 'model', 'direction'],
      registers,
    });
    this.promptCacheTokens = new SeriesCounter({
      name: 'syndicate_gateway_prompt_cache_tokens_total',
      help: 'Input tokens the upstream reported reading from (operation "read") or writing to ("write") its prompt cache; part of the input tokens',
      labelNames: ['class', 'provider', 'model', 'operation'],
      registers,
    });
    this.spend = new SeriesCounter({
      name: 'syndicate_gateway_spend_usd_total',
      help: 'Spend in USD at the provider records\' prices',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.fallbacks = new SeriesCounter({
      name: 'syndicate_gateway_fallbacks_total',
      help: 'Fallback hops taken, by the provider and model the hop went to',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.denials = new SeriesCounter({
      name: 'syndicate_gateway_denials_total',
      help: 'Requests refused by policy (route denied, permit refused), by reason code',
      labelNames: ['api', 'reason'],
      registers,
    });
    this.modelOperations = new SeriesCounter({
      name: 'syndicate_engine_model_operations_total',
      help: 'Model loads and unloads local engines were asked for (by the gateway\'s Ollama face, engine load|unload, hot-swap evictions), by every syndicate process on this store: outcome "ok", the error code, or "refused" (by the hot-swap plan, the engine never asked)',
      labelNames: ['provider', 'model', 'action', 'outcome'],
      registers,
    });
    this.modelLoadSeconds = new SeriesHistogram({
      name: 'syndicate_engine_model_load_seconds',
      help: 'How long each successful model load took (the cold starts syndicate metrics reports as load times)',
      labelNames: ['provider', 'model'],
      buckets: MODEL_LOAD_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'syndicate_gateway_in_flight_requests',
      help: 'Inference requests being answered right now',
      registers,
    });
    this.policyReloads = new Counter({
      name: 'syndicate_gateway_policy_reloads_total',
      help: 'Re-reads of an edited policy file: reloaded, or invalid (the gateway then fails closed)',
      labelNames: ['outcome'],
      registers,
    });
    // Both outcomes at 0 from the start, as the refused callers: an alert on the first invalid reload's increase sees it.
    for (const outcome of POLICY_RELOAD_OUTCOMES) this.policyReloads.inc({ outcome }, 0);
    this.policyFailedClosed = new Gauge({
      name: 'syndicate_gateway_policy_failed_closed',
      help: '1 while the policy file is invalid, missing or unreadable and requests go to local providers only; alert on it',
      registers,
    });
    this.policyFailedClosed.set(0);
    this.callerRefusals = new Counter({
      name: 'syndicate_gateway_refused_callers_total',
      help: 'Requests refused before any route for who sent them: no token, a wrong token (someone guessing, or a client with an old token), a Host the gateway does not answer to (DNS rebinding) or a browser origin --cors-origin does not name',
      labelNames: ['reason'],
      registers,
    });
    // Every reason at 0 from the start, so an alert on its increase sees the first one.
    for (const reason of CALLER_REFUSALS) this.callerRefusals.inc({ reason }, 0);
    // Read at scrape time from evidence (every process's spend) and the live policy.
    const { spentTodayUsd } = options;
    this.readCostCeilings = options.costCeilings;
    if (spentTodayUsd !== undefined) {
      new Gauge({
        name: 'syndicate_gateway_spend_today_usd',
        help: 'Spend recorded in evidence since the start of the UTC day, by every syndicate process on this store (+Inf when the store cannot say)',
        registers,
        collect() {
          this.set(spentTodayUsd());
        },
      });
    }
    if (this.readCostCeilings !== undefined) {
      const ceilingsAtScrape = (): CostCeilings => this.costCeilingsAtScrape;
      new Gauge({
        name: 'syndicate_gateway_spend_ceiling_usd',
        help: 'The policy\'s cost ceilings (period "day": spend per UTC day; "request": estimated cost per request); absent when the policy sets none',
        labelNames: ['period'],
        registers,
        collect() {
          const { perDayUsd, perRequestUsd } = ceilingsAtScrape();
          this.reset();
          if (perDayUsd !== undefined) this.set({ period: 'day' }, perDayUsd);
          if (perRequestUsd !== undefined) this.set({ period: 'request' }, perRequestUsd);
        },
      });
    }
    const { heldBack } = options;
    if (heldBack !== undefined) {
      new Gauge({
        name: 'syndicate_gateway_held_back_seconds',
        help: 'Providers (model "") and provider:models held out of routes right now — "down" (nothing answers, calls kept failing, a model not served), "rate_limited", or "tools_refused" (its engine refused a request\'s tools: held from requests with tools only) — with the seconds until they are tried again; absent when nothing is held',
        labelNames: ['provider', 'model', 'state'],
        registers,
        collect() {
          this.reset();
          for (const hold of heldBack()) this.set({ provider: hold.provider, model: hold.model ?? '', state: hold.state }, hold.retryAfterMs / 1000);
        },
      });
    }
    // The event-loop delay histogram samples on a timer: prom-client's 10 ms default wakes an idle
    // gateway 100 times a second (~2 400 context switches per 20 s idle, measured) — a daemon beside
    // a laptop's engines should sleep. 100 ms wakes it a tenth as often.
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'syndicate_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS });
      reportLagNetOfSampling(this.registry);
      removeGaugesNamedAsCounters(this.registry);
    }
  }

  /** A request was accepted for invocation; call `settled` once it is over. */
  started(): void {
    this.inFlight.inc();
  }

  settled(): void {
    this.inFlight.dec();
  }

  /** The policy file was re-read: `invalid` means failing closed until a later reload succeeds. */
  recordPolicyReload(outcome: PolicyReloadOutcome): void {
    this.policyReloads.inc({ outcome });
    this.policyFailedClosed.set(outcome === 'invalid' ? 1 : 0);
  }

  /** A caller refused before any route (`CALLER_REFUSALS`). */
  recordCallerRefused(reason: CallerRefusal): void {
    this.callerRefusals.inc({ reason });
  }

  /** An answered request. */
  recordSuccess(api: GatewayApi, result: InvocationResult): void {
    const { class: providerClass, id: provider } = result.provider;
    const { model } = result;
    const route = [api, providerClass, provider, model];
    this.requests.add([api, providerClass, provider, model, result.classification.level, 'completed']);
    if (result.latency.firstTokenMs !== undefined) this.firstToken.record(route, result.latency.firstTokenMs / 1000);
    this.total.record(route, result.latency.totalMs / 1000);
    this.beforeUpstream.record([api, providerClass], result.latency.beforeUpstreamMs / 1000);
    this.countUsage({ provider: result.provider, model, usage: result.usage, costUsd: result.costUsd });
    this.countFallbacks(result.attempts);
  }

  /** The tokens and spend of an answer, or of a stream cut after its answer started (billed up to the cut). */
  private countUsage(attempt: Pick<AttemptReport, 'provider' | 'model' | 'usage' | 'costUsd'>): void {
    const { class: providerClass, id: provider } = attempt.provider;
    const { model, usage } = attempt;
    if (usage !== undefined) {
      this.tokens.add([providerClass, provider, model, 'input'], usage.inputTokens);
      this.tokens.add([providerClass, provider, model, 'output'], usage.outputTokens);
      const { cachedInputTokens, cacheWriteInputTokens } = usage;
      if (cachedInputTokens !== undefined && cachedInputTokens > 0) this.promptCacheTokens.add([providerClass, provider, model, 'read'], cachedInputTokens);
      if (cacheWriteInputTokens !== undefined && cacheWriteInputTokens > 0) this.promptCacheTokens.add([providerClass, provider, model, 'write'], cacheWriteInputTokens);
    }
    if (attempt.costUsd !== undefined && attempt.costUsd > 0) this.spend.add([provider, model], attempt.costUsd);
  }

  /** A request that ended in an error (refusal, upstream failure, broken stream, bad request). */
  recordFailure(api: GatewayApi, error: unknown): void {
    const attempts = attemptsOfFailure(error);
    const last = attempts.at(-1);
    const outcome = error instanceof SyndicateError ? error.code : 'internal';
    // Known once the request was classified; a request refused before that (bad input) has none.
    const sensitivity = error instanceof SyndicateError ? error.details?.['sensitivity'] : undefined;
    this.requests.add([api, last?.provider.class ?? '', last?.provider.id ?? '', last?.model ?? '', typeof sensitivity === 'string' ? sensitivity : '', outcome]);
    if (error instanceof PolicyRefusalError) this.denials.add([api, error.code]);
    for (const attempt of attempts) this.countUsage(attempt);
    this.countFallbacks(attempts);
  }

  /**
   * Counts the model loads and unloads `read` returns (the store's engine events after a row id),
   * from the first row on, when `/metrics` is scraped: those of other processes (`engine load`)
   * included, each counted once.
   */
  followEngineOperations(read: (afterId: number) => EngineOperation[]): void {
    this.engineOperations = { read, lastId: 0 };
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.countEngineOperations();
    // Read before any family is written: reading the policy is what finds it edited on an idle
    // gateway (the scrape its only request), and the reload it counts sets
    // `syndicate_gateway_policy_failed_closed` — read during the writing, one scrape counted the
    // reload of a fixed policy beside a failed_closed of 1.
    if (this.readCostCeilings !== undefined) this.costCeilingsAtScrape = this.readCostCeilings();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private countEngineOperations(): void {
    if (this.engineOperations === undefined) return;
    for (const operation of this.engineOperations.read(this.engineOperations.lastId)) {
      this.engineOperations.lastId = operation.id;
      this.modelOperations.add([operation.providerId, operation.model, operation.action, operation.outcome]);
      if (operation.action === 'load' && operation.outcome === 'ok' && operation.durationMs !== null) this.modelLoadSeconds.record([operation.providerId, operation.model], operation.durationMs / 1000);
    }
  }

  private countFallbacks(attempts: readonly AttemptReport[]): void {
    for (const attempt of attempts) {
      if (attempt.hop > 0) this.fallbacks.add([attempt.provider.id, attempt.model]);
    }
  }
}

/**
 * prom-client's gauges of the handles, requests and resources the process holds now, summed over
 * their types, which it names `…_total`: in Prometheus's conventions only a counter ends in
 * `_total` (`promtool check metrics` flags them, and `rate()` over them means nothing). Left out:
 * the same gauges by type (`syndicate_nodejs_active_handles{type}`, …) stay, and
 * `sum(syndicate_nodejs_active_handles)` is the total.
 */
const GAUGES_NAMED_AS_COUNTERS = ['active_handles', 'active_requests', 'active_resources'];

function removeGaugesNamedAsCounters(registry: Registry): void {
  for (const gaugeName of GAUGES_NAMED_AS_COUNTERS) registry.removeSingleMetric(`syndicate_nodejs_${gaugeName}_total`);
}

/** prom-client's event-loop delay sampling interval for the gateway (see the constructor). */
const EVENT_LOOP_SAMPLING_MS = 100;

/**
 * Node's event-loop delay histogram records the whole time between two samples, the sampling
 * interval included: on an idle gateway prom-client's `nodejs_eventloop_lag_{min,max,mean,p50,
 * p90,p99}_seconds` all read ~0.1, and real lag hides under that floor. These six report the
 * delay beyond the interval, as the metric names promise (stddev does not move with it, and
 * `nodejs_eventloop_lag_seconds` is timed with `setImmediate`, not sampled).
 */
function reportLagNetOfSampling(registry: Registry): void {
  const intervalSeconds = EVENT_LOOP_SAMPLING_MS / 1000;
  for (const statistic of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
    const gauge = registry.getSingleMetric(`syndicate_nodejs_eventloop_lag_${statistic}_seconds`);
    if (gauge === undefined) continue;
    const sampled = gauge.get.bind(gauge);
    gauge.get = async () => {
      const data = await sampled();
      return { ...data, values: data.values.map((value) => ({ ...value, value: Math.max(0, value.value - intervalSeconds) })) };
    };
  }
}
