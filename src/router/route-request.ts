import { maxSensitivity, modelKindOf, type SensitivityLevel, type WorkflowClass } from '../common/vocabulary.js';
import type { OperatorPattern, Policy } from '../policy/types.js';
import type { RegisteredProvider } from '../registry/types.js';
import { spentSince } from '../evidence/queries.js';
import { countPiecesUntil, loadTokenCounter } from '../evidence/token-counter.js';
import type { Store } from '../store/store.js';
import type { CanonicalRequest } from '../wire/canonical.js';
import { fitContext, inputsOverWindow, templateAllowance } from './context-fit.js';
import { loadedContextOf } from './loaded-context.js';
import { sharedHealthMonitor, type HealthMonitor } from './health.js';
import { assumedOutputTokens, planRoute } from './plan.js';
import { resolveMediaHosts, type HostLookup } from './media-host-lookup.js';
import { remoteMediaUrls } from './remote-media.js';
import { levelSources, withLevelSources } from './level-sources.js';
import { imageCount, promptPieces } from './request-traits.js';
import type { ColdStartEstimator, FirstTokenHistory, LoadedContextSnapshot, RouteContext, RouteInput, RoutePlan } from './types.js';

/** The part of a classifier finding the router reports. */
export interface RouteFinding {
  detector: string;
  level: SensitivityLevel;
  reason: string;
  location?: string;
  excerpt?: string;
}

/** What the classifier decided, as the router saw it. */
export interface RouteClassification {
  level: SensitivityLevel;
  findings: RouteFinding[];
  /** True when the classifier (or loading it) failed and the level was forced to `restricted`. */
  failedClosed: boolean;
}

/** The classifier's entry point (src/classify/), injectable for tests. */
export type ClassifyFunction = (
  request: CanonicalRequest,
  options: { indicatorWords: string[]; patterns: OperatorPattern[]; hint?: SensitivityLevel },
) => RouteClassification | Promise<RouteClassification>;

export interface RouteRequestOptions {
  request: CanonicalRequest;
  policy: Policy;
  providers: RegisteredProvider[];
  workflow: WorkflowClass;
  /** The caller's hint: raises the classified level, never lowers it. */
  sensitivityHint?: SensitivityLevel;
  trustTier?: string;
  explicitProvider?: string;
  maxTokens?: number;
  /** For the per-day cost ceiling; read from the evidence store when a store is given. */
  store?: Store;
  health?: HealthMonitor;
  classify?: ClassifyFunction;
  coldStartMs?: ColdStartEstimator;
  /** Recent first tokens from evidence (`recentFirstTokens`), for `prefer: fastest` and the latency budget. */
  firstTokens?: FirstTokenHistory;
  /** When the route is decided (the day's spend, a hold's end); default: now on the health monitor's clock. */
  now?: Date;
  /**
   * `exact` (default): prompt tokens counted with the tokenizer. `bounded` (the pipeline): when
   * no provider prices its models and every context window holds the prompt's byte length
   * (a token is at least one byte, so bytes bound the count from above) and the whole requested
   * output (or the output assumed when none is requested), the plan cannot depend on the exact
   * count and the bound is used instead — no tokenizer on the hot path. A max output lowered to
   * fit a window is always computed from the exact count: lowered by the byte bound it would lose
   * ~3 tokens of output per token of prompt.
   */
  promptEstimate?: 'exact' | 'bounded';
  /** The policy file could not be used (see `LivePolicy`): local providers only, with this note. */
  policyFailure?: string;
  /** Where providers' keys are looked up (`RouteContext.env`): keyless candidates rank last. */
  env?: NodeJS.ProcessEnv;
  /** The envelope of the stored session the request names (`RouteInput.sessionEnvelope`). */
  sessionEnvelope?: RouteInput['sessionEnvelope'];
  /** Resolves the host names of the request's media URLs (`RouteInput.mediaHosts`); the system's resolver by default. */
  lookupHost?: HostLookup;
}

export interface RoutedRequest {
  classification: RouteClassification;
  estimatedPromptTokens: number;
  plan: RoutePlan;
  /**
   * The same request planned with model `auto` and no provider named — same level, estimates and
   * health — for a refusal to name what could take it instead. Computed only when called.
   */
  planUnpinned(): RoutePlan;
}

/**
 * Classify -> probe health -> plan, the way `route`, `run`, the gateway and MCP all do it.
 * Calls nothing upstream: only the local engines' health endpoints (short timeout, in parallel),
 * and the system resolver for the host names of the request's media URLs (`resolveMediaHosts`).
 */
export async function routeRequest(options: RouteRequestOptions): Promise<RoutedRequest> {
  // Started first, awaited last, and only for a request with media URLs: the others wait for nothing.
  const mediaUrls = remoteMediaUrls(options.request);
  const mediaHosts = mediaUrls.length === 0 ? undefined : resolveMediaHosts(mediaUrls, options.lookupHost === undefined ? {} : { lookup: options.lookupHost });
  const classification = await classifySafely(options);
  const level = options.sensitivityHint === undefined ? classification.level : maxSensitivity(classification.level, options.sensitivityHint);
  // Read once: the bound and the count use the same pieces (an agent's tool definitions alone are tens of KB of JSON).
  const pieces = promptPieces(options.request);
  const monitor = options.health ?? sharedHealthMonitor(options.store);
  const [health, warm] = await Promise.all([monitor.snapshot(options.providers), monitor.warmSnapshot(options.providers)]);
  // Read with what the engines hold (no request of its own): a model loaded with less context than its record declares fits that.
  const loadedContext = monitor.loadedContextSnapshot(options.providers);
  const bound = options.promptEstimate === 'bounded' ? boundIfDecisive(options, pieces, loadedContext) : undefined;
  // Counted no further than every window needs: a prompt of megabytes is too long for all of them after its first few hundred thousand tokens.
  const counted = bound === undefined ? await countPromptTokens(options.request, pieces, largestWindow(options.providers)) : { tokens: bound, atLeast: false };
  const estimatedPromptTokens = counted.tokens;
  const embeddingInputTokens = await estimateEmbeddingInputs(options);
  // The health monitor's clock unless told: the holds' time left, which `now` dates the end of, is on it.
  const now = options.now ?? new Date(monitor.now());
  const input: RouteInput = {
    request: options.request,
    mediaUrls,
    sensitivity: level,
    workflow: options.workflow,
    ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
    ...(options.explicitProvider === undefined ? {} : { explicitProvider: options.explicitProvider }),
    estimatedPromptTokens,
    ...(counted.atLeast ? { promptTokensAtLeast: true } : {}),
    ...(embeddingInputTokens === undefined ? {} : { embeddingInputTokens }),
    ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    ...(options.sessionEnvelope === undefined ? {} : { sessionEnvelope: options.sessionEnvelope }),
    ...(mediaHosts === undefined ? {} : { mediaHosts: await mediaHosts }),
    now,
  };
  const context: RouteContext = {
    policy: options.policy,
    providers: options.providers,
    health,
    modelHealth: monitor.modelSnapshot(options.providers),
    toolsRefused: monitor.toolsRefusalSnapshot(options.providers),
    warm,
    loadedContext,
    inUse: monitor.inUseSnapshot(),
    liveFirstTokens: monitor.firstTokenSnapshot(options.providers),
    ...(options.store === undefined ? {} : { spentTodayUsd: lazySpend(options.store, now) }),
    ...(options.coldStartMs === undefined ? {} : { coldStartMs: options.coldStartMs }),
    ...(options.firstTokens === undefined ? {} : { firstTokens: options.firstTokens }),
    ...(options.policyFailure === undefined ? {} : { policyFailure: options.policyFailure }),
    ...(options.env === undefined ? {} : { env: options.env }),
  };
  const sources = levelSources(level, classification.findings, options.sensitivityHint);
  return {
    classification: { ...classification, level },
    estimatedPromptTokens,
    plan: withLevelSources(planRoute(input, context), sources),
    // Only a refusal asks for it: nothing of it is built on the way to an answer.
    planUnpinned: () => {
      const { explicitProvider: _named, ...unpinned } = input;
      return withLevelSources(planRoute({ ...unpinned, request: { ...input.request, model: 'auto' } }, context), sources);
    },
  };
}

/**
 * Each input of an embeddings request in tokens, estimated as a prompt is (`estimateTextTokens`:
 * the tokenizer's count plus 10 %); token ids are their own count. `bounded` (the pipeline): the
 * inputs' byte bounds (`byteBound`) when every embedding model's window holds the longest — no
 * window check can then depend on the exact count, and no tokenizer runs. Undefined for a chat request.
 */
async function estimateEmbeddingInputs(options: RouteRequestOptions): Promise<number[] | undefined> {
  const input = options.request.embedding?.input;
  if (input === undefined) return undefined;
  if (input.kind === 'tokens') return input.tokens.map((tokens) => tokens.length);
  if (options.promptEstimate === 'bounded') {
    const bounds = input.texts.map((text) => byteBound([text]));
    const windows = options.providers.flatMap((provider) => provider.record.models.filter((model) => modelKindOf(model) === 'embedding').map((model) => model.contextWindow));
    if (windows.every((window) => inputsOverWindow(window, bounds).length === 0)) return bounds;
  }
  const counts: number[] = [];
  for (const text of input.texts) counts.push((await estimateTextTokens([text])).tokens);
  return counts;
}

/**
 * An upper bound of the prompt's tokens (as `estimatePromptTokens` counts them: +10 %, images
 * 1000 each) when it decides the plan as the exact count would: no model of a provider in play
 * has a price (cost estimates use the count) and every context window holds the bound and the
 * whole requested output, or the assumed one when none is requested (`fitContext` says `fits`:
 * nothing to lower, nothing too long).
 * Undefined when the exact count is needed.
 */
function boundIfDecisive(options: RouteRequestOptions, pieces: readonly string[], loadedContext: LoadedContextSnapshot): number | undefined {
  const { request } = options;
  const bound = byteBound(pieces) + imageCount(request) * IMAGE_TOKENS;
  const allowance = templateAllowance(request);
  const requestedOutput = options.maxTokens ?? request.maxTokens;
  // A request without a max output is assumed one (a candidate's `defaultMaxTokens`), which the bound must not lower either.
  const neededOutput = requestedOutput ?? assumedOutputTokens(options.policy);
  for (const provider of options.providers) {
    for (const model of provider.record.models) {
      const loaded = loadedContextOf(provider.record, loadedContext[provider.id], model);
      const fit = fitContext(Math.min(model.contextWindow, loaded ?? model.contextWindow), bound, allowance, requestedOutput);
      if (model.price !== undefined || fit.kind !== 'fits' || fit.room < neededOutput) return undefined;
    }
  }
  return bound;
}

async function classifySafely(options: RouteRequestOptions): Promise<RouteClassification> {
  const classifierOptions = {
    indicatorWords: options.policy.indicatorWords,
    patterns: options.policy.patterns,
    ...(options.sensitivityHint === undefined ? {} : { hint: options.sensitivityHint }),
  };
  try {
    const classify = options.classify ?? (await loadClassifier());
    const result = await classify(options.request, classifierOptions);
    return { level: result.level, findings: result.findings, failedClosed: result.failedClosed };
  } catch (error) {
    return {
      level: 'restricted',
      findings: [
        {
          detector: 'classifier.error',
          level: 'restricted',
          reason: `the classifier failed (${error instanceof Error ? error.message : String(error)}): treated as restricted`,
        },
      ],
      failedClosed: true,
    };
  }
}

let classifier: ClassifyFunction | undefined;

/** Whether `loadClassifier` has loaded the classifier in this process. */
export function classifierLoaded(): boolean {
  return classifier !== undefined;
}

/** The classifier every route uses unless its options name another. */
export async function loadClassifier(): Promise<ClassifyFunction> {
  // Loaded on demand: the secretlint rules behind it take a moment, and planning alone never
  // needs them. Kept once loaded: a dynamic import per request costs a module-map lookup and ticks.
  if (classifier === undefined) classifier = (await import('../classify/index.js')).classifyRequest;
  return classifier;
}

/**
 * Prompt tokens with a real tokenizer plus a 10 % margin, because the target model's own
 * tokenizer usually splits differently and an underestimate would overrun a context window.
 * Images count a flat 1,000 tokens each. `pieces`: the request's `promptPieces`, when the caller has them.
 */
export async function estimatePromptTokens(request: CanonicalRequest, pieces: readonly string[] = promptPieces(request)): Promise<number> {
  return (await countPromptTokens(request, pieces, Number.POSITIVE_INFINITY)).tokens;
}

/**
 * `estimatePromptTokens`, with the tokenizer stopped once it has counted more than `stopAbove`
 * tokens before the end: `atLeast` then, and the prompt holds at least `tokens` (more than `stopAbove`).
 */
async function countPromptTokens(request: CanonicalRequest, pieces: readonly string[], stopAbove: number): Promise<{ tokens: number; atLeast: boolean }> {
  const text = await estimateTextTokens(pieces, stopAbove);
  return { tokens: text.tokens + imageCount(request) * IMAGE_TOKENS, atLeast: text.atLeast };
}

/** The largest context window of the providers' models: a prompt over it is too long for each of them, whatever its exact count. */
function largestWindow(providers: readonly RegisteredProvider[]): number {
  let largest = 0;
  for (const provider of providers) for (const model of provider.record.models) largest = Math.max(largest, model.contextWindow);
  return largest;
}

/**
 * Texts read one after another, in tokens: the tokenizer's count (a third of the bytes without it)
 * plus 10 %; `atLeast` when the tokenizer stopped before the end, having counted more than `stopAbove`.
 */
async function estimateTextTokens(pieces: readonly string[], stopAbove = Number.POSITIVE_INFINITY): Promise<{ tokens: number; atLeast: boolean }> {
  let counted: { tokens: number; whole: boolean };
  try {
    counted = await countPiecesUntil(pieces, await loadTokenCounter(), stopAbove);
  } catch {
    counted = { tokens: Math.ceil(promptBytes(pieces) / 3), whole: true };
  }
  return { tokens: Math.ceil(counted.tokens * 1.1), atLeast: !counted.whole };
}

/** An upper bound of `estimateTextTokens` (a token is at least one byte): the bytes plus 10 %. */
function byteBound(pieces: readonly string[]): number {
  return Math.ceil(promptBytes(pieces) * 1.1);
}

/** The UTF-8 length of the pieces as the model reads them, one newline between each. */
function promptBytes(pieces: readonly string[]): number {
  let bytes = Math.max(0, pieces.length - 1);
  for (const piece of pieces) bytes += Buffer.byteLength(piece, 'utf8');
  return bytes;
}

/** What both prompt estimates count for one image. */
const IMAGE_TOKENS = 1000;

/** The day's spend, summed at most once per plan and only if a priced candidate asks for it. */
function lazySpend(store: Store, now: Date): () => number {
  let spent: number | undefined;
  return () => (spent ??= spentTodayUsd(store, now));
}

/**
 * Spend recorded in evidence since the start of the current UTC day. When the store cannot
 * answer, the spend is treated as unlimited (so the per-day ceiling excludes every priced
 * candidate) — failing closed rather than overspending.
 */
export function spentTodayUsd(store: Store, now: Date): number {
  const startOfDay = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
  try {
    return spentSince(store, startOfDay);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
