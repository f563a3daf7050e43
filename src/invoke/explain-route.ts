import type { SensitivityLevel, WorkflowClass } from '../common/vocabulary.js';
import { UpstreamError, type ModelKindError, type NoProvidersError, type PolicyRefusalError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { requireTrustTier } from '../policy/trust-tiers.js';
import { listProviders } from '../registry/registry.js';
import { coldStartEstimator } from '../router/cold-starts.js';
import { attemptQueue, widestClass, type AttemptQueue } from '../router/fallback.js';
import { recentFirstTokens } from '../router/first-tokens.js';
import { sharedHealthMonitor } from '../router/health.js';
import {
  attemptsWithinMaxHops,
  engineRemedies,
  hintForMissingKeys,
  type KeyReader,
  hintForUnavailable,
  hintForUntriedKeyless,
  missingKeyReason,
  retryAfterForUnavailable,
  toolsRefusalsOfExclusions,
  unavailabilityOfExclusions,
  withEngineRemedies,
  withSharedHoldTimes,
  type EngineRemedies,
} from '../router/hints.js';
import { routeRequest, type RoutedRequest } from '../router/route-request.js';
import { holdsInForce, type HoldReport } from '../router/shared-holds.js';
import type { RoutePlan } from '../router/types.js';
import { sessionChainRefusal } from '../sessions/chain.js';
import { findSession, invalidatedEnvelopeError, routeEnvelopeOf } from '../sessions/sessions.js';
import type { Store } from '../store/store.js';
import { canonicalRequest, promptMessage, type CanonicalMessage, type CanonicalRequest, type ImagePart } from '../wire/canonical.js';
import type { PromptSettings } from './prompt-options.js';
import { namedProviderError, unknownModelOf, unservableReason } from './failure.js';
import type { ModelNaming } from './model-naming.js';
import { isPinned, rateLimitedPlanError, routeRefusal, summarisedExclusions, unavailableMessage } from './route-refusal.js';

/** What bounds a route besides the request itself: the caller's hints and the stored session. */
export interface RouteConditions {
  /** Only this provider is considered (every rule still applies). */
  provider?: string;
  workflow: WorkflowClass;
  /** Raises the classified level, never lowers it. */
  sensitivity?: SensitivityLevel;
  trustTier?: string;
  /** A stored session (id or name) bounds the route by its envelope, as it bounds `complete` and the gateway; any other id changes nothing. */
  session?: string;
}

/** A prompt to route without calling any model (`route`, the MCP `route_explain` tool). */
export interface RouteQuestion extends RouteConditions {
  text: string;
  /** A system prompt sent with `text`: classified and counted as `run` and `complete` do. */
  system?: string;
  /** The conversation `text` continues (a stored session's messages in its context): classified and counted with it. */
  history?: readonly CanonicalMessage[];
  /** `auto`, a model id or alias, or `provider:model`. */
  model: string;
  /** Images sent with `text` (`run --image`): classified and routed (vision) as `run` does. */
  images?: readonly ImagePart[];
  /** The output limit, temperature, answer format, reasoning effort and tools `run` would send (`run --max-tokens`, `--schema`, `--tools`, ...). */
  settings?: PromptSettings;
}

/** A candidate `run` would skip before calling it (its key is not set). */
export interface SkippedCandidate {
  rank: number;
  provider: string;
  model: string;
  /** The environment variable the provider's key is read from. */
  missingKey: string;
  reason: string;
  /** Set when `fallback.maxHops` ends the walk before it: `run` would not reach it at all. */
  beyondMaxHops?: true;
}

export interface RouteExplanation extends RoutedRequest {
  skipped: SkippedCandidate[];
  /**
   * The holds in force in the store (every syndicate process honours them until their time) that
   * kept a target of this route out, and the tools refusals that kept a model from this request's
   * tools: what `route --explain` lists with the time left (since when, for a refusal).
   */
  holds: HoldReport[];
  /** What the records say of starting each engine and of its key (`engineRemedies`), for the hint of an engine that is down. */
  engineRemedies: EngineRemedies;
  /**
   * The refusal `run`, the gateway and MCP `complete` give a plan without candidates that no
   * provider was only down for (`routeRefusal`): its code, the request field at fault, message and hint.
   */
  refusal(): PolicyRefusalError | NoProvidersError | ModelKindError;
}

/**
 * Classifies and plans `question` exactly as `run` would, with the same load-time knowledge
 * (cold starts, recent first tokens, health), and calls nothing upstream. Refuses what `run`
 * refuses before routing: an unknown trust tier or provider (exit 2), a retired provider (exit 4),
 * a model no provider serves (exit 2; its hint in the words of `modelNaming`). `policyFailure`: the policy file cannot be used (local
 * providers only, as `run` then routes). A plan without candidates is returned, not thrown: the
 * caller decides how to report it.
 */
export async function explainRoute(
  store: Store,
  policy: Policy,
  question: RouteQuestion,
  options: ExplainOptions = {},
): Promise<RouteExplanation> {
  const request = canonicalRequest(question.model, [...(question.history ?? []), promptMessage(question.text, question.images)], false, {
    ...question.settings,
    system: question.system,
  });
  return explainRequestRoute(store, policy, request, question, options);
}

/** How to explain: the environment keys are looked up in, a policy file that could not be used, the surface's words for models. */
export interface ExplainOptions {
  env?: NodeJS.ProcessEnv;
  policyFailure?: string;
  modelNaming?: ModelNaming;
  /** How the prompt's tokens are estimated (`RouteRequestOptions.promptEstimate`): `bounded` as the gateway does. */
  promptEstimate?: 'exact' | 'bounded';
  /** Where the refusal's hint says every rule is seen (`RefusalContext.whereEveryRule`): the caller's own output. */
  whereEveryRule?: string;
}

/**
 * `explainRoute` for a whole canonical request — tools, tool choice, thinking, images, response
 * format, its `model` and `maxTokens` — as a gateway face decoded it (`route --request`).
 */
export async function explainRequestRoute(
  store: Store,
  policy: Policy,
  request: CanonicalRequest,
  conditions: RouteConditions,
  options: ExplainOptions = {},
): Promise<RouteExplanation> {
  const env = options.env ?? process.env;
  requireTrustTier(policy, conditions.trustTier);
  const providers = listProviders(store);
  const named = namedProviderError(conditions.provider, providers);
  if (named !== undefined) throw named;
  const session = conditions.session === undefined ? undefined : findSession(store, conditions.session);
  const refused = session === undefined ? undefined : (sessionChainRefusal(store, session.id) ?? invalidatedEnvelopeError(session));
  if (refused !== undefined) throw refused;
  const routed = await routeRequest({
    request,
    policy,
    providers,
    workflow: conditions.workflow,
    ...(conditions.sensitivity === undefined ? {} : { sensitivityHint: conditions.sensitivity }),
    ...(conditions.trustTier === undefined ? {} : { trustTier: conditions.trustTier }),
    ...(conditions.provider === undefined ? {} : { explicitProvider: conditions.provider }),
    ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
    ...(session === undefined ? {} : { sessionEnvelope: routeEnvelopeOf(session) }),
    ...(options.promptEstimate === undefined ? {} : { promptEstimate: options.promptEstimate }),
    store,
    env,
    ...(options.policyFailure === undefined ? {} : { policyFailure: options.policyFailure }),
    coldStartMs: coldStartEstimator(store),
    firstTokens: recentFirstTokens(store, providers),
  });
  const { plan } = routed;
  if (plan.candidates.length === 0) {
    const unknown = unknownModelOf(request.model, providers, conditions.provider, unservableReason(env, sharedHealthMonitor(store)), options.modelNaming);
    if (unknown !== undefined) throw unknown;
  }
  // What `run` would not call: candidates whose key is not set in this environment (ranked last) —
  // the first, when every one is keyless, an attempt skipped; after it, each passed over without
  // using a hop as `run` passes it over; never reached when the calls before use every hop.
  const { passedOver, beyondMaxHops } = walkWithoutPermit(plan);
  const skipped = plan.candidates.flatMap((candidate): SkippedCandidate[] => {
    const { rank, provider, model, missingKey } = candidate;
    if (missingKey === undefined) return [];
    if (passedOver.includes(candidate)) return [{ rank, provider, model, missingKey, reason: `not called: no key: set ${missingKey}` }];
    if (!beyondMaxHops.includes(candidate)) return [{ rank, provider, model, missingKey, reason: `key ${missingKey} not set: would be skipped` }];
    const reason = `key ${missingKey} not set, so ranked last, after ${attemptsWithinMaxHops(plan.fallback.maxHops)}: would not be tried`;
    return [{ rank, provider, model, missingKey, reason, beyondMaxHops: true }];
  });
  const pinned = isPinned(request, conditions.provider);
  return {
    ...routed,
    skipped,
    holds: holdsKeepingOut(plan, holdsInForce(store, providers)),
    engineRemedies: engineRemedies(providers),
    refusal: () =>
      routeRefusal(plan, request, routed.classification, {
        providers,
        planUnpinned: () => (pinned ? routed.planUnpinned() : undefined),
        ...(options.whereEveryRule === undefined ? {} : { whereEveryRule: options.whereEveryRule }),
      }),
  };
}

/** The candidates `run` would try, in order, and those `fallback.maxHops` keeps it from reaching: its walk without a presented permit (the widest class the plan allows). */
function walkWithoutPermit(plan: RoutePlan): AttemptQueue {
  const first = plan.candidates[0];
  return first === undefined ? { attempts: [], passedOver: [], beyondMaxHops: [] } : attemptQueue(plan, widestClass(plan.allowedClasses, first.class));
}

/** The holds whose target the plan left out for its health (the provider's own, or the model's), and the tools refusals it left a model out for. */
function holdsKeepingOut(plan: RoutePlan, holds: readonly HoldReport[]): HoldReport[] {
  const heldOut = plan.excluded.filter((exclusion) => exclusion.rules.includes('unhealthy') || exclusion.rules.includes('rate_limited'));
  const toolsRefused = plan.excluded.filter((exclusion) => exclusion.rules.includes('tools_refused'));
  return holds.filter((hold) =>
    hold.state === 'tools_refused'
      ? toolsRefused.some((exclusion) => exclusion.provider === hold.provider && exclusion.model === hold.model)
      : heldOut.some((exclusion) => exclusion.provider === hold.provider && (hold.model === undefined || hold.model === exclusion.model)),
  );
}

/**
 * A plan without candidates as `run` reports it when some provider that may take the request is
 * only down (or held back): unavailable (exit 5, start the engine) — every candidate
 * rate-limiting (`rate_limited`, `run`'s error) when all it holds back are held for a rate limit —
 * not refused by the policy. Undefined when the policy refuses it (or there are candidates).
 */
export function unavailableRouteError(routed: RouteExplanation): UpstreamError | undefined {
  const { plan } = routed;
  const unavailable = unavailabilityOfExclusions(plan.excluded);
  if (plan.candidates.length > 0 || unavailable.length === 0) return undefined;
  const rateLimited = rateLimitedPlanError(plan, routeErrorDetails(routed));
  if (rateLimited !== undefined) return rateLimited;
  const held = withSharedHoldTimes(withEngineRemedies([...unavailable, ...toolsRefusalsOfExclusions(plan.excluded)], routed.engineRemedies), routed.holds);
  // When every one is held out for a known time: the seconds until the first is tried again, as `run`'s error and the gateway's Retry-After give them.
  const retryAfterSeconds = retryAfterForUnavailable(held);
  // Past five models, counted and grouped by rule as `run` says them; `details.plan` and `--explain` keep every one.
  return new UpstreamError(unavailableMessage('inference_unavailable', summarisedExclusions(plan.excluded)), {
    code: 'inference_unavailable',
    isRetryable: true,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    hint: hintForUnavailable(held),
    details: routeErrorDetails(routed),
  });
}

/**
 * A plan whose every candidate `run` would skip for its unset key (they rank last, so none can be
 * called) as `run` fails with it: inference unavailable (exit 5), each candidate it would reach
 * named with its variable, and the hint to export them — with the clause for those
 * `fallback.maxHops` would keep it from reaching. Undefined when a candidate can be called (or none is left).
 * `where`: a `server` (MCP's `route_explain`) says to restart it, as its `complete` would.
 */
export function keylessRouteError(routed: RouteExplanation, where: KeyReader = 'command'): UpstreamError | undefined {
  const { plan } = routed;
  if (plan.candidates.length === 0 || plan.candidates.some((candidate) => candidate.missingKey === undefined)) return undefined;
  const { attempts, passedOver, beyondMaxHops } = walkWithoutPermit(plan);
  // The first is an attempt `run` records as skipped; the rest it passes over, as it says them.
  const reached = [...attempts, ...passedOver].flatMap(({ provider, model, missingKey }, index) =>
    missingKey === undefined ? [] : [{ provider, model, missingKey, reason: index < attempts.length ? missingKeyReason(missingKey, provider) : `not called: no key: set ${missingKey}` }],
  );
  const variables = [...new Set(reached.map((candidate) => candidate.missingKey))];
  const reasons = reached.map((candidate) => `${candidate.provider}:${candidate.model}: ${candidate.reason}`);
  const untried = hintForUntriedKeyless(beyondMaxHops, plan.fallback.maxHops, variables);
  return new UpstreamError(unavailableMessage('inference_unavailable', reasons.join('; ')), {
    code: 'inference_unavailable',
    isRetryable: true,
    hint: `${hintForMissingKeys(variables, where)}${untried === undefined ? '' : `; ${untried}`}`,
    details: routeErrorDetails(routed),
  });
}

/**
 * The `details` of every error `route` gives when nothing may take the request — unavailable,
 * every candidate skipped for its unset key, a refused request field (which adds only `param`), or
 * `route_denied`: each fact once, as a routed result names it (the classification, the prompt's
 * estimate, the plan with its exclusions, the candidates `run` would skip) and the holds that kept a target out.
 */
export function routeErrorDetails(routed: RouteExplanation): Pick<RouteExplanation, 'classification' | 'estimatedPromptTokens' | 'plan' | 'skipped' | 'holds'> {
  return { classification: routed.classification, estimatedPromptTokens: routed.estimatedPromptTokens, plan: routed.plan, skipped: routed.skipped, holds: routed.holds };
}
