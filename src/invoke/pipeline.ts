import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { elapsedMs, formatDuration, MAXIMUM_TIMEOUT_MS } from '../common/duration.js';
import { newId } from '../common/ids.js';
import type { SensitivityLevel } from '../common/vocabulary.js';
import { InterruptedError, PolicyRefusalError, StoreError, SyndicateError, UpstreamError } from '../errors.js';
import { beginAttempt, completeAttempt, completeAttemptGrouped, createRecorder, recordDenial, recordUncalledAttempt } from '../evidence/index.js';
import { countInSlices, countPieces, loadTokenCounter } from '../evidence/token-counter.js';
import type { EvidenceMarker, TokenAccounting, ToolCallFidelity } from '../evidence/types.js';
import { issuePermit, issueVerifiedPermit, permitDenial, verifyPermit, type VerifiedPermit } from '../permits/index.js';
import { decodeSignedToken, type PermitPayload } from '../permits/token.js';
import { discoverFromInvocation } from '../probes/discovery.js';
import { credentialOf, missingCredential } from '../registry/credentials.js';
import { usageCostUsd } from '../registry/pricing.js';
import type { ProviderRecord, RegisteredProvider } from '../registry/types.js';
import { deferProvider, fallbackWalk, widestClass } from '../router/fallback.js';
import { callFailureOf, FIRST_BYTE_TIMEOUT_CODE, lastFailureOf, type HungHold } from '../router/health.js';
import {
  attemptsWithinMaxHops,
  credentialHint,
  engineRemedies,
  hintForInputTooLong,
  hintForMissingKey,
  hintForMissingKeys,
  hintForUnavailable,
  hintForUntriedKeyless,
  keyExports,
  missingKeyReason,
  onlyDown,
  retryAfterForUnavailable,
  toolsRefusalsOfExclusions,
  unavailabilityOfExclusions,
  unavailabilityOfHold,
  withEngineRemedies,
  withSharedHoldTimes,
  type Unavailability,
} from '../router/hints.js';
import { heldBack } from '../router/holds.js';
import { currentProviders } from '../registry/provider-cache.js';
import { promptPieces } from '../router/request-traits.js';
import { routeRequest } from '../router/route-request.js';
import { holdsInForce } from '../router/shared-holds.js';
import type { Candidate, Exclusion, RoutePlan } from '../router/types.js';
import { DEFAULT_TRANSPORT_TIMEOUTS, redactCredential, sendInvocation, type TransportResponse } from '../transport/index.js';
import { waitAskedFor } from '../transport/retry-after.js';
import type { ServerSentEvent, StreamFraming, WireAdapter, WireHttpRequest, WireTarget } from '../wire/adapter.js';
import { cacheTokensWithinInput, logprobsDropped, type CanonicalRequest, type CanonicalResponse, type StreamPart, type Usage, type WireWarning } from '../wire/canonical.js';
import { REQUEST_REFUSED_STATUSES } from '../wire/client-errors.js';
import { isContentFiltered, notServedCause, upstreamConditionOf } from '../wire/error-scope.js';
import { wireAdapterFor } from '../wire/index.js';
import { WIRE_OBSERVATIONS } from '../wire/observations.js';
import { wholeAnswerFirstTokenMs } from '../wire/openai/timings.js';
import { sessionChainRefusal } from '../sessions/chain.js';
import { findSession, invalidatedEnvelopeError, routeEnvelopeOf } from '../sessions/sessions.js';
import { serverSentEventFraming } from '../wire/sse.js';
import { decodeOllamaGenerateResponse, decodeOllamaGenerateStreamLine, encodeOllamaGenerateRequest, ollamaGenerateStreamFraming, usesOllamaGenerate } from '../wire/ollama/generate.js';
import { StreamAccumulator } from '../wire/stream-accumulator.js';
import { currentPolicy } from './context.js';
import { namedProviderError, unknownModelOf, unservableReason } from './failure.js';
import { permitContradiction } from './permit-contradiction.js';
import {
  heldBackWaits,
  isPinned,
  rateLimitedError,
  rateLimitedPlanError,
  routeRefusal,
  summarisedExclusions,
  summarisedModels,
  tooLongParam,
  unavailableMessage,
  type RefusalContext,
} from './route-refusal.js';
import { recordEngineEvent } from '../engines/events.js';
import { passedOverSummary } from './summary.js';
import type {
  AttemptProvider,
  AttemptReport,
  ClassificationSummary,
  InvocationInput,
  InvocationResult,
  PassedOver,
  PipelineContext,
} from './types.js';

/** How one attempt ended, for the fallback walk. */
type AttemptOutcome =
  | { kind: 'success'; result: InvocationResult }
  /** Nothing reached the caller and the failure is one fallback may route around. */
  | {
      kind: 'retryable';
      error: SyndicateError;
      report: AttemptReport;
      /** The health monitor counted it against the whole provider (it named no model): the walk puts that provider's other models last. */
      againstProvider?: true;
    }
  /** Stop here: a refusal, a bad request, or a failure after bytes reached the caller. */
  | { kind: 'fatal'; error: SyndicateError; report: AttemptReport }
  /**
   * The provider was registered again (another process's `provider register` or `add`) between the
   * route's read of its record and the permit: nothing was issued, recorded or sent, and the
   * request is routed again, on the record as it is now.
   */
  | { kind: 'reroute' };

/**
 * How many times one request is routed again because its provider was registered again meanwhile
 * (`AttemptOutcome` `reroute`): each registration takes a write transaction, so a request is
 * overtaken more than once only by a loop of registrations; after these it is refused as before.
 */
const MAX_REROUTES = 3;

/**
 * The one governed path every surface uses: classify -> route -> permit -> invoke -> evidence.
 * Falls back on connect failures, timeouts before the first byte, 429 and 5xx, but only within
 * the classes the request's level allows (narrowed to the permitted provider's class when the
 * caller presented a permit); never after bytes reached the caller. Throws `PolicyRefusalError`
 * (exit 4) or `UpstreamError` (exit 5).
 */
export async function invoke(context: PipelineContext, input: InvocationInput): Promise<InvocationResult> {
  return invokeRouted(context, input, 0);
}

/** `invoke`, `reroutes` times routed again already (see `MAX_REROUTES`). */
async function invokeRouted(context: PipelineContext, asked: InvocationInput, reroutes: number): Promise<InvocationResult> {
  let input = asked;
  // Nothing is sent that could not be recorded: a long-running process's store file may have gone.
  context.storeFile?.check();
  const receivedAt = input.receivedAt ?? performance.now();
  const requestId = newId('req');
  const providers = [...currentProviders(context.store)];
  // A request naming a stored session (by id or name), from any surface, is held to its capability
  // envelope and recorded under its id; any other session id is only recorded.
  const session = input.sessionId === undefined ? undefined : findSession(context.store, input.sessionId);
  const sessionEnvelope = session === undefined ? undefined : routeEnvelopeOf(session);
  if (session !== undefined) {
    input = { ...input, sessionId: session.id };
    // The envelope and model decide only once the session's chain proves them (cached per state of its tables).
    const refused = sessionChainRefusal(context.store, session.id) ?? invalidatedEnvelopeError(session);
    if (refused !== undefined) {
      const evidenceId = recordDenial(context.store, { requestId, caller: input.caller, reasonCode: refused.code, message: refused.message, sessionId: session.id });
      throw refused.withDetails({ requestId, evidenceId });
    }
  }

  let explicitProvider = input.provider;
  let request = input.request;
  let presentedPermit: PermitPayload | undefined;
  if (input.permitToken !== undefined) {
    // A pre-issued permit pins its provider and model when the caller named no model and no other
    // provider; a provider or model named that contradicts it is refused below, before routing
    // (permitContradiction).
    try {
      const payload = decodeSignedToken(context.permitKey, input.permitToken);
      presentedPermit = payload;
      if ((explicitProvider === undefined || explicitProvider === payload.provider) && request.model === 'auto') {
        explicitProvider = payload.provider;
        request = { ...request, model: `${payload.provider}:${payload.model}` };
      }
    } catch (error) {
      const evidenceId = deny(context, input, requestId, undefined, error, { permitToken: input.permitToken });
      throw error instanceof SyndicateError ? error.withDetails({ requestId, evidenceId }) : error;
    }
  }

  const named = namedProviderError(input.provider, providers);
  if (named instanceof PolicyRefusalError) {
    const retired = providers.find((provider) => provider.id === input.provider);
    // The refusal's own row: a script reads its id from the error (`run --json`) rather than searching the evidence for it.
    const evidenceId = recordDenial(context.store, {
      requestId,
      caller: input.caller,
      reasonCode: named.code,
      message: named.message,
      ...(retired === undefined ? {} : { provider: { id: retired.id, version: retired.currentVersion, class: retired.record.class } }),
      ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
    });
    named.withDetails({ requestId, evidenceId });
  }
  // A provider nothing registered serves: nothing recorded, but the caller still gets the request's id (the gateway's `x-request-id`).
  if (named !== undefined) throw named.withDetails({ requestId });
  const contradiction = presentedPermit === undefined ? undefined : permitContradiction(presentedPermit, input.provider, input.request.model, providers);
  if (contradiction !== undefined) {
    const evidenceId = deny(context, input, requestId, undefined, contradiction, { permitToken: input.permitToken });
    throw contradiction.withDetails({ requestId, evidenceId });
  }

  const { policy, failure: policyFailure } = currentPolicy(context);
  const routed = await routeRequest({
    request,
    policy,
    ...(policyFailure === undefined ? {} : { policyFailure }),
    providers,
    workflow: input.workflow ?? 'interactive',
    store: context.store,
    health: context.health,
    env: context.env,
    promptEstimate: 'bounded',
    ...(context.classify === undefined ? {} : { classify: context.classify }),
    ...(context.coldStarts === undefined ? {} : { coldStartMs: context.coldStarts }),
    ...(context.firstTokens === undefined ? {} : { firstTokens: context.firstTokens(providers) }),
    ...(input.sensitivityHint === undefined ? {} : { sensitivityHint: input.sensitivityHint }),
    ...(input.trustTier === undefined ? {} : { trustTier: input.trustTier }),
    ...(explicitProvider === undefined ? {} : { explicitProvider }),
    ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
    ...(sessionEnvelope === undefined ? {} : { sessionEnvelope }),
  });
  const { plan } = routed;
  // The workflow's total-time budget bounds the call (every attempt of it together, as `run --timeout`
  // does), unless the caller gave its own.
  const budgetMs = input.timeouts?.totalMs === undefined ? policy.workflows?.[plan.workflow]?.latencyBudget?.totalMs : undefined;
  const timeBudget = budgetMs === undefined ? undefined : `workflows.${plan.workflow}.latencyBudget.totalMs`;
  if (budgetMs !== undefined) input = { ...input, timeouts: { ...input.timeouts, totalMs: budgetMs } };
  const classification: ClassificationSummary = {
    level: routed.classification.level,
    failedClosed: routed.classification.failedClosed,
    findings: routed.classification.findings.map((finding) => ({
      detector: finding.detector,
      level: finding.level,
      reason: finding.reason,
      location: finding.location ?? 'request',
    })),
  };

  const first = plan.candidates[0];
  if (first === undefined) {
    // Routing has just probed the local engines: the hint can say which are down.
    const unknown = unknownModelOf(request.model, providers, explicitProvider, unservableReason(context.env, context.health), input.modelNaming);
    // Nothing recorded, but the request's id as every answer carries it (the gateway's `x-request-id`, what an agent logs).
    if (unknown !== undefined) throw unknown.withDetails({ requestId });
    const pinned = isPinned(request, explicitProvider);
    throw refuseOrUnavailable(context, input, requestId, classification, plan, pinned, {
      providers,
      // A probe tests the provider it names: another model that would take its request is no fix.
      planUnpinned: () => (pinned && input.kind !== 'probe' ? routed.planUnpinned() : undefined),
      ...(presentedPermit === undefined ? {} : { permit: presentedPermit }),
    });
  }

  // The request is permitted for the classes its level allows (the router already dropped the
  // rest); a permit presented by the caller narrows that to the class of the provider it names.
  // Fallback never goes wider than this ceiling.
  const permittedClass = input.permitToken === undefined ? widestClass(plan.allowedClasses, first.class) : first.class;
  // The walk is the route's fallback order within the permitted class; `fallback.maxHops` bounds
  // the calls made, not the candidates passed: one a hold keeps out now (the walk's own failure
  // put it in force, or another process did) is passed over without using a hop, and after a
  // failure that counts against a whole provider its other models go behind the other providers.
  let walk = fallbackWalk(plan, permittedClass);
  const limit = Math.max(0, plan.fallback.maxHops) + 1;
  let beyondMaxHops: Candidate[] = [];
  const passedOver: PassedOver[] = [];
  const deferred = new Set<string>();
  const attempts: AttemptReport[] = [];
  const failures: SyndicateError[] = [];
  // The time the caller allows (`run --timeout`, 10 min by default) bounds the whole walk, not each
  // hop: a fallback gets what the earlier attempts left of it, and none is tried once it is spent.
  const allowedMs = input.timeouts?.totalMs ?? DEFAULT_TRANSPORT_TIMEOUTS.totalMs;
  let deadline: number | undefined;
  let untriedForTime = 0;
  for (let index = 0; index < walk.length; index += 1) {
    const candidate = walk[index] as Candidate;
    const hop = attempts.length;
    if (hop >= limit) {
      beyondMaxHops = walk.slice(index);
      break;
    }
    const provider = providers.find((entry) => entry.id === candidate.provider);
    if (provider === undefined) continue;
    // A key not set makes no call: after the first attempt (every candidate is keyless when that
    // one is, ranked last as they are) it is passed over, as a held one is, without using a hop.
    const missingKey = hop === 0 ? undefined : missingCredential(provider.record, context.env);
    if (missingKey !== undefined) {
      passedOver.push({ provider: provider.id, model: candidate.model, reason: `not called: no key: set ${missingKey}`, missingKey });
      continue;
    }
    const held = hop === 0 ? undefined : heldNow(context, provider, candidate.model);
    if (held !== undefined) {
      passedOver.push({ provider: provider.id, model: candidate.model, reason: `not called: ${held.reason}`, held: held.unavailability });
      continue;
    }
    deadline ??= performance.now() + allowedMs;
    const leftMs = hop === 0 ? allowedMs : Math.floor(deadline - performance.now());
    // An attempt that ran into the total timeout had all the time left (its timer may fire a moment early).
    if (hop > 0 && (leftMs <= 0 || failures.at(-1)?.code === 'upstream_total_timeout')) {
      untriedForTime = Math.min(limit - hop, walk.length - index);
      break;
    }
    // In use until its answer is read: another request's hot-swap does not evict the model meanwhile.
    const endCall = context.health.callStarted(provider.id, candidate.model);
    let outcome: AttemptOutcome;
    try {
      outcome = await attempt(context, input, {
        requestId,
        hop,
        candidate,
        provider,
        request,
        classification,
        plan,
        attempts,
        permitToken: hop === 0 ? input.permitToken : undefined,
        receivedAt,
        totalMs: leftMs,
        // Only before anything of this request was called or recorded: routed again, it starts afresh.
        mayReroute: hop === 0 && reroutes < MAX_REROUTES,
        passedOver: [...passedOver],
      });
    } finally {
      endCall();
    }
    if (outcome.kind === 'reroute') return invokeRouted(context, asked, reroutes + 1);
    if (outcome.kind === 'success') return discoverDeviations(context, input, passedOver.length === 0 ? outcome.result : { ...outcome.result, passedOver });
    attempts.push(outcome.report);
    if (outcome.kind === 'fatal') throw outcome.error.withDetails(attemptsDetails(requestId, classification.level, attempts, passedOver));
    failures.push(outcome.error);
    if (outcome.againstProvider === true && !deferred.has(provider.id)) {
      deferred.add(provider.id);
      walk = deferProvider(walk, index + 1, provider.id);
    }
  }
  // The models of a provider deferred behind the others that the hop limit then left out: not called either.
  for (const candidate of beyondMaxHops) {
    if (!deferred.has(candidate.provider) || candidate.missingKey !== undefined) continue;
    const used = plan.fallback.maxHops <= 0 ? 'was' : 'were';
    const reason = `not called: moved behind the other providers after ${candidate.provider}'s failure in this request, and ${attemptsWithinMaxHops(plan.fallback.maxHops)} ${used} used before it`;
    passedOver.push({ provider: candidate.provider, model: candidate.model, reason });
  }
  const attemptReasons = attempts.map((report) => `${report.provider.id}:${report.model}: ${report.error?.message ?? report.outcome}`);
  const reasons = [...attemptReasons, ...passedOver.map((skipped) => `${skipped.provider}:${skipped.model}: ${skipped.reason}`)];
  // What a hold kept out during the walk is named in the hint as what the route held out is.
  const heldInWalk = passedOver.flatMap((skipped) => (skipped.held === undefined ? [] : [skipped.held]));
  const details = attemptsDetails(requestId, classification.level, attempts, passedOver);
  // A candidate the hop limit cut off before it is not called (nor recorded): the hint names its key.
  const missingKeys = keysOfSkippedOnly(failures, passedOver);
  const untried = hintForUntriedKeyless(beyondMaxHops, plan.fallback.maxHops, missingKeys);
  const withUntried = (hint: string): string => (untried === undefined ? hint : `${hint}; ${untried}`);
  const rateLimited = rateLimitedEverywhere(failures, attempts, attemptReasons, heldBackWaits(plan.excluded), details, withUntried);
  if (rateLimited !== undefined) throw rateLimited;
  const refusedParts = failures.filter((failure) => isToolsRefusal(failure) || isImagesRefusal(failure));
  // With an engine refusing the tools (or images), what the route left out as down or rate-limited
  // is named too: once back, it may take them.
  const heldOut = refusedParts.length === 0 ? [] : plan.excluded.filter((exclusion) => unavailabilityOfExclusions([exclusion]).length > 0);
  // Every candidate refused the tools or the images, and none is merely unavailable: the request's
  // to change (a 400 about `tools` or `messages`), not an outage.
  const partRefused = refusedParts[0];
  if (partRefused !== undefined && refusedParts.length === failures.length && heldOut.length === 0 && heldInWalk.length === 0) {
    throw partRefused.withDetails(details);
  }
  const heldOutReasons = heldOut.length === 0 ? [] : [summarisedExclusions(heldOut)];
  const unavailable = unavailableHint(context, input, providers, attempts, failures, missingKeys, [...unavailabilityOfExclusions(heldOut), ...heldInWalk], untriedForTime, timeBudget);
  throw new UpstreamError(unavailableMessage('inference_unavailable', [...reasons, ...heldOutReasons].join('; ')), {
    code: 'inference_unavailable',
    // Every candidate was skipped for its unset key and none is left for later (cut off by the hop
    // limit or the time budget, or held out as down): the same request again meets the same keys
    // unset — only exporting them helps (a gateway client is told not to retry: `x-should-retry`).
    isRetryable: missingKeys.length === 0 || untried !== undefined || untriedForTime > 0 || unavailabilityOfExclusions(plan.excluded).length > 0 || heldInWalk.length > 0,
    // Every call it made ran out of time (an engine that accepted the connection and never answered): a gateway timeout, 504.
    ...(everyAttemptTimedOut(attempts) ? { condition: 'timed_out' as const } : {}),
    // A candidate the hop limit cut off was never tried: it may answer at once.
    ...(unavailable.retryAfterSeconds === undefined || untried !== undefined ? {} : { retryAfterSeconds: unavailable.retryAfterSeconds }),
    hint: withUntried(unavailable.hint),
    details,
  });
}

/**
 * The details of a failure once the walk made attempts: each attempt with its evidence row
 * (`attempts[].evidenceId`), and the last one's — the refusal or failure that ended the walk — as
 * `evidenceId`, where a script reads it of every refusal and failure that recorded one.
 */
function attemptsDetails(requestId: string, level: SensitivityLevel, attempts: readonly AttemptReport[], passedOver: readonly PassedOver[] = []): Record<string, unknown> {
  const evidenceId = attempts.at(-1)?.evidenceId;
  return { requestId, sensitivity: level, ...(evidenceId === undefined ? {} : { evidenceId }), attempts, ...(passedOver.length === 0 ? {} : { passedOver: passedOver.map(passedOverSummary) }) };
}

/**
 * Why the health monitor keeps `model` of `provider` out right now (`heldBack`: what the route
 * would have excluded it for, had the hold been in force then, in the same words), and what a hint
 * says of it; undefined when nothing does. A hold the walk's own failure put in force counts, as
 * does one another process recorded meanwhile.
 */
function heldNow(context: PipelineContext, provider: RegisteredProvider, model: string): { reason: string; unavailability: Unavailability } | undefined {
  const ofProvider = context.health.known(provider);
  const ofModel = ofProvider === undefined || ofProvider.state === 'up' ? context.health.knownModels(provider)[model] : undefined;
  // Dated on the monitor's clock, which measured the hold's time left (as the route dates its holds).
  const hold = heldBack(provider, model, ofProvider, ofModel, new Date(context.health.now()));
  if (hold === undefined) return undefined;
  const who = { provider: provider.id, ...(hold.heldModel ? { model } : {}), local: provider.record.class === 'local' };
  return { reason: hold.reason, unavailability: unavailabilityOfHold(who, hold) };
}

/**
 * A permit refused only because its provider's current version is no longer the one the route
 * read: the provider was registered again meanwhile. The permit was the pipeline's own, issued for
 * the version routed on, so nothing the caller did is out of scope.
 */
function registeredAgain(error: unknown): boolean {
  if (!(error instanceof PolicyRefusalError) || error.code !== 'permit_out_of_scope') return false;
  const differences = error.details?.['differences'];
  return Array.isArray(differences) && differences.length > 0 && differences.every((difference: { field?: unknown }) => difference.field === 'providerVersion');
}

/** An engine's refusal of the request's tools (llama-server without `--jinja`, an Ollama model without tools). */
function isToolsRefusal(failure: SyndicateError): boolean {
  return failure instanceof UpstreamError && failure.condition === 'tools_not_supported';
}

/** An engine's refusal of the request's images (llama-server without `--mmproj`). */
function isImagesRefusal(failure: SyndicateError): boolean {
  return failure instanceof UpstreamError && failure.condition === 'images_not_supported';
}

/**
 * The variables of the keys every failure was for (each attempt skipped for its unset key), and of
 * the candidates passed over for theirs; empty when any failed otherwise.
 */
function keysOfSkippedOnly(failures: readonly SyndicateError[], passedOver: readonly PassedOver[]): string[] {
  if (!failures.every((failure) => failure.code === 'credential_missing')) return [];
  const skipped = failures.flatMap((failure) => (typeof failure.details?.['variable'] === 'string' ? [failure.details['variable']] : []));
  return unique([...skipped, ...passedOver.flatMap((candidate) => (candidate.missingKey === undefined ? [] : [candidate.missingKey]))]);
}

/**
 * What to do when every candidate failed: allow more time, export the missing keys, or — by what
 * each call said about its provider — start the engine, look at its log, wait out its rate limit,
 * or start it with tools; `missingKeys`: `keysOfSkippedOnly(failures)`; `heldOut`: candidates the
 * route left out as unavailable, named too.
 */
function unavailableHint(
  context: PipelineContext,
  input: InvocationInput,
  providers: readonly RegisteredProvider[],
  attempts: readonly AttemptReport[],
  failures: readonly SyndicateError[],
  missingKeys: readonly string[],
  heldOut: readonly Unavailability[] = [],
  untriedForTime = 0,
  timeBudget?: string,
): { hint: string; retryAfterSeconds?: number } {
  if (attempts.length > 0 && attempts.every((report) => report.error?.code === 'upstream_total_timeout')) return { hint: timeoutHint(input, untriedForTime, timeBudget) };
  if (missingKeys.length > 0) return { hint: hintForMissingKeys(missingKeys, context.longRunning === true ? 'server' : 'command') };
  // Failures and attempts are pushed together, one pair per failed hop.
  const unavailable = attempts.flatMap((report, index): Unavailability[] => {
    const failure = failures[index];
    if (failure === undefined || failure.code === 'credential_missing') return [];
    if (isToolsRefusal(failure)) return [{ provider: report.provider.id, model: report.model, local: report.provider.class === 'local', kind: 'tools_refused' }];
    const call = callFailureOf(failure, report.status, report.provider.class);
    const ofModel = call.kind === 'model_not_found' || (call.kind !== 'unreachable' && call.scope === 'model');
    const identity = { provider: report.provider.id, ...(ofModel ? { model: report.model } : {}), local: report.provider.class === 'local' };
    if (call.kind === 'rate_limited') return [{ ...identity, kind: 'rate_limited', ...(call.retryAfterSeconds === undefined ? {} : { retryInSeconds: call.retryAfterSeconds }) }];
    if (call.kind === 'unreachable') return [{ ...identity, kind: 'unreachable' }];
    if (call.kind === 'model_not_found') return [{ ...identity, kind: call.cause ?? 'not_found' }];
    return [{ ...identity, kind: 'failing', ...lastFailureOf(call), ...(failure.code === FIRST_BYTE_TIMEOUT_CODE ? { noResponse: true as const } : {}) }];
  });
  const held = heldOutForLater(context, [...unavailable, ...heldOut], providers);
  const hint = hintForUnavailable(held);
  // Not held out, but every call answered with how long to wait (a 503's or an overloaded 529's Retry-After): that wait, passed on.
  const asked = failures.flatMap((failure) => (failure instanceof UpstreamError && failure.retryAfterSeconds !== undefined ? [failure.retryAfterSeconds] : []));
  const everyCallAsked = heldOut.length === 0 && failures.length > 0 && asked.length === failures.length;
  const heldFor = retryAfterForUnavailable(held);
  const retryAfterSeconds = heldFor ?? (everyCallAsked ? Math.min(...asked) : undefined);
  // The hint says the wait the calls asked for, as the gateway's Retry-After header does (a hold's own wait is in the hint already).
  const waited = heldFor === undefined && retryAfterSeconds !== undefined ? `${hint}; ${failures.length === 1 ? 'it' : 'every call'} asked to be called again in ${retryAfterSeconds} s (Retry-After)` : hint;
  return {
    hint: missingKeys.length > 0 ? `${waited}; for the skipped hosted ${missingKeys.length === 1 ? 'provider' : 'providers'}: ${keyExports(missingKeys)}` : waited,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

/**
 * How long each unavailable provider stays out of later requests (`withSharedHoldTimes`): in a
 * process that keeps its health (the gateway), what its monitor holds out — its own failures and
 * probes, and other processes' holds; in any other, what the store's holds keep out of every
 * process's routes (this one's own failures included).
 */
function heldOutForLater(context: PipelineContext, unavailable: Unavailability[], providers: readonly RegisteredProvider[]): Unavailability[] {
  const withStarts = withEngineRemedies(unavailable, engineRemedies(providers));
  const holds =
    context.longRunning === true
      ? context.health.holds(providers).map(({ provider, model, retryAfterMs }) => ({ provider, ...(model === undefined ? {} : { model }), retryInSeconds: retryAfterMs / 1000 }))
      : holdsInForce(context.store, providers);
  return withSharedHoldTimes(withStarts, holds);
}

/**
 * When every candidate refused with 429, the caller is told so (429, not 503) with the shortest
 * wait any of them asked for — those the plan held back for an earlier 429 included — so clients
 * back off as the providers asked instead of retrying at once.
 */
function rateLimitedEverywhere(
  failures: readonly SyndicateError[],
  attempts: readonly AttemptReport[],
  reasons: readonly string[],
  heldBack: readonly number[],
  details: Record<string, unknown>,
  amendHint: (hint: string) => string,
): UpstreamError | undefined {
  if (failures.length === 0 || !failures.every((failure) => failure instanceof UpstreamError && failure.status === 429)) return undefined;
  const waits = failures.flatMap((failure) => (failure instanceof UpstreamError && failure.retryAfterSeconds !== undefined ? [failure.retryAfterSeconds] : []));
  const wait = waits.length === failures.length ? Math.min(...waits, ...heldBack) : undefined;
  // Past five models (a fallback.maxHops of 5 or more), counted by the provider that rate-limited them; `details.attempts` keeps every one.
  const models = summarisedModels(
    reasons,
    attempts.map((report) => report.provider.id),
    { what: 'rate-limited', groupsAre: 'providers' },
  );
  return rateLimitedError(models, wait, details, amendHint);
}

/** Who asked, and which hop of which request an attempt's evidence row belongs to. */
function attemptIdentity(
  input: InvocationInput,
  requestId: string,
  hop: number,
): { requestId: string; hop: number; kind: 'invocation' | 'probe'; caller: string; sessionId?: string } {
  return { requestId, hop, kind: input.kind ?? 'invocation', caller: input.caller, ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }) };
}

interface AttemptPlan {
  requestId: string;
  hop: number;
  candidate: Candidate;
  provider: RegisteredProvider;
  request: CanonicalRequest;
  classification: ClassificationSummary;
  plan: RoutePlan;
  attempts: AttemptReport[];
  permitToken: string | undefined;
  /** The request's arrival (see `InvocationInput.receivedAt`). */
  receivedAt: number;
  /** What is left of the time the caller allows, for this attempt's total timeout. */
  totalMs: number;
  /** A permit of the pipeline's own refused for the provider's newer version may end the attempt as `reroute`. */
  mayReroute: boolean;
  /** The candidates the walk passed over before this attempt, for its evidence row's route. */
  passedOver: readonly PassedOver[];
}

async function attempt(context: PipelineContext, input: InvocationInput, plan: AttemptPlan): Promise<AttemptOutcome> {
  const { candidate, provider, hop, requestId } = plan;
  const { record } = provider;
  const level = plan.classification.level;
  const attemptProvider: AttemptProvider = { id: provider.id, version: provider.currentVersion, class: record.class };
  const report = (fields: Partial<AttemptReport> & Pick<AttemptReport, 'outcome'>): AttemptReport => ({
    hop,
    provider: attemptProvider,
    model: candidate.model,
    ...fields,
  });

  const invocation = {
    providerId: provider.id,
    providerVersion: provider.currentVersion,
    providerClass: record.class,
    model: candidate.model,
    sensitivity: level,
    ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
  };
  const permitRefused = (error: unknown, token: string | undefined): AttemptOutcome => {
    if (error instanceof StoreError) {
      // The store failed (busy, full, read-only): the denial cannot be written to it either, and
      // trying made a busy store wait a second busy timeout before failing the same way.
      const failure = new StoreError(`${error.message}: no permit was issued, and the refusal is not recorded (the store cannot be written)`, {
        ...(error.hint === undefined ? {} : { hint: error.hint }),
        ...(error.reason === undefined ? {} : { reason: error.reason }),
        cause: error,
      });
      return { kind: 'fatal', error: failure, report: report({ outcome: 'failed', error: { code: failure.code, message: failure.message } }) };
    }
    const evidenceId = deny(context, input, requestId, level, error, {
      ...(token === undefined ? {} : { permitToken: token }),
      provider: attemptProvider,
      model: candidate.model,
      route: plan.plan,
    });
    const refusal = error instanceof SyndicateError ? error : new PolicyRefusalError('permit_refused', String(error));
    return { kind: 'fatal', error: refusal, report: report({ outcome: 'failed', evidenceId, error: { code: refusal.code, message: refusal.message } }) };
  };

  const missingKey = missingCredential(record, context.env);
  if (missingKey !== undefined && plan.permitToken !== undefined) {
    // A presented permit that cannot be used here is refused as such, not skipped for the key:
    // exporting the key would only reach the same refusal. Checked without consuming it.
    try {
      verifyPermit(context.store, context.permitKey, plan.permitToken, invocation, { consume: false });
    } catch (error) {
      return permitRefused(error, plan.permitToken);
    }
  }
  if (missingKey !== undefined) {
    const error = new UpstreamError(missingKeyReason(missingKey, provider.id), {
      code: 'credential_missing',
      isRetryable: true,
      hint: hintForMissingKey(missingKey, context.longRunning === true ? 'server' : 'command'),
      details: { variable: missingKey },
    });
    // No permit and no call, but the attempt the route planned is on the chain with why it was skipped.
    const evidenceId = recordUncalledAttempt(context.store, {
      ...attemptIdentity(input, requestId, hop),
      provider: attemptProvider,
      model: candidate.model,
      sensitivity: level,
      route: routeSummary(plan.plan, candidate, plan.passedOver),
      streamed: plan.request.stream,
      markers: hop > 0 ? ['fallback'] : [],
      error: { code: error.code, message: error.message },
    });
    return { kind: 'retryable', error, report: report({ outcome: 'skipped', evidenceId, error: { code: error.code, message: error.message } }) };
  }
  const apiKey = credentialOf(record, context.env);

  // Issue (unless the caller brought one) and consume the permit in one transaction: one commit.
  // With group commit a permit issued here is written in the pending row's transaction instead.
  let token = plan.permitToken;
  let permit: VerifiedPermit;
  let writeWithRow: (() => void) | undefined;
  try {
    const scope = {
      providerId: provider.id,
      providerVersion: provider.currentVersion,
      model: candidate.model,
      maxSensitivity: level,
      ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
    };
    const issueAndVerify = (): VerifiedPermit => {
      token ??= issuePermit(context.store, context.permitKey, scope).token;
      return verifyPermit(context.store, context.permitKey, token, invocation);
    };
    if (context.commits === undefined) {
      permit = context.store.transaction(issueAndVerify);
    } else if (token === undefined) {
      const issued = issueVerifiedPermit(context.store, context.permitKey, scope, invocation);
      token = issued.token;
      permit = issued.permit;
      writeWithRow = issued.record;
    } else {
      // A presented permit may have been used already: its consumption is committed, alone, first.
      permit = await context.commits.run(issueAndVerify);
    }
  } catch (error) {
    if (plan.mayReroute && plan.permitToken === undefined && registeredAgain(error)) return { kind: 'reroute' };
    return permitRefused(error, token);
  }

  const adapter = wireAdapterFor(record.wire);
  const lowered = candidate.loweredMaxTokens;
  const wireRequest: CanonicalRequest = { ...plan.request, model: candidate.model, ...(lowered === undefined ? {} : { maxTokens: lowered }) };
  const declared = record.models.find((model) => model.id === candidate.model);
  const target: WireTarget = {
    baseUrl: record.baseUrl,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(record.auth?.header === undefined ? {} : { authHeader: record.auth.header }),
    ...(candidate.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: candidate.defaultMaxTokens }),
    ...(record.engine === undefined ? {} : { engine: record.engine.kind }),
    ...(record.vendor === undefined ? {} : { vendor: record.vendor }),
    ...(declared?.tags === undefined ? {} : { modelTags: declared.tags }),
    ...(declared?.deviations === undefined ? {} : { modelDeviations: declared.deviations }),
    ...(declared?.reasoningEfforts === undefined ? {} : { modelEfforts: declared.reasoningEfforts }),
  };
  const codec = wireRequest.embedding !== undefined ? embeddingCodec(adapter) : wireRequest.completion !== undefined ? completionCodec(adapter, wireRequest, target) : undefined;
  const httpRequest = codec === undefined ? adapter.encodeRequest(wireRequest, target) : codec.encode(wireRequest, target);
  const warnings = [...(input.callerWarnings ?? []), ...(lowered === undefined ? [] : [loweredWarning(plan.request, candidate, provider, lowered)]), ...httpRequest.warnings];
  const evidenceId = beginAttempt(context.store, {
    ...attemptIdentity(input, requestId, hop),
    provider: attemptProvider,
    model: candidate.model,
    permitId: permit.payload.id,
    permit: { ...permit.payload },
    permitToken: token,
    sensitivity: level,
    route: routeSummary(plan.plan, candidate, plan.passedOver),
    streamed: wireRequest.stream,
    ...(writeWithRow === undefined ? {} : { writeWithRow }),
  });
  // Hot-swap: a cold model on a full engine gets the room its route planned (lower-ranked models
  // out), and a sleeping vLLM is woken, once the pending row is on the chain — a crash meanwhile
  // leaves it `interrupted`, with the planned evictions in its route.
  if (candidate.warm === false && (candidate.evicts !== undefined || record.engine?.kind === 'vllm') && input.signal?.aborted !== true) {
    const { prepareEngineForRoute } = await import('../engines/manage.js');
    const prepared = await prepareEngineForRoute(context.store, provider, candidate, input.signal);
    for (const message of prepared.warnings) warnings.push({ setting: 'engine', message });
    context.health.residentChanged(provider, { unloaded: prepared.unloaded });
  }
  const recorder = createRecorder(context.store, evidenceId, { ...(context.commits === undefined ? {} : { commits: context.commits }), ...(apiKey === undefined ? {} : { credential: apiKey }) });
  input.onAttempt?.({ hop, provider: attemptProvider, model: candidate.model, requestId, evidenceId, sensitivity: level, warnings });

  const hopMarkers: EvidenceMarker[] = hop > 0 ? ['fallback'] : [];
  // Read when the attempt ends: the transport may have re-sent the request on a new connection.
  const attemptMarkers = (): EvidenceMarker[] => (recorder.captured().retried ? [...hopMarkers, 'retried'] : hopMarkers);
  const started = performance.now();
  const elapsed = (): number => elapsedMs(started);
  const fail = async (
    error: SyndicateError,
    markers: EvidenceMarker[],
    options: { status?: number; delivered?: boolean; firstTokenMs?: number | undefined; partial?: CanonicalResponse; cut?: StreamCut } = {},
  ): Promise<AttemptOutcome> => {
    if (input.signal?.aborted === true) context.onCancelRecording?.();
    recorder.close();
    // A stream cut after its answer started (the caller left, the upstream broke) was generated, and
    // billed, up to the cut: its tokens and cost count, against the daily ceiling too. So was one
    // cut after the model had read the prompt but before any text (`StreamCut.billed`): its input.
    const usage =
      options.partial !== undefined && (options.delivered === true || options.cut?.billed === true)
        ? await usageUpToCut(plan.request, options.partial, options.cut?.reportedUsage ?? {})
        : undefined;
    const price = record.models.find((model) => model.id === candidate.model)?.price;
    const costUsd = price === undefined || usage === undefined ? undefined : usageCostUsd(price, usage);
    // A failure's evidence is committed before the failure is reported (or the next hop tried).
    await finishAttempt(context, evidenceId, {
      state: 'failed',
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.firstTokenMs === undefined ? {} : { firstTokenMs: options.firstTokenMs }),
      totalMs: elapsed(),
      ...(usage === undefined ? {} : { usage: evidenceUsage(usage) }),
      ...(costUsd === undefined ? {} : { costUsd }),
      tokenAccounting: usage === undefined ? 'not_available' : 'approximate',
      verbatimCapture: recorder.verbatimCapture(),
      toolCallFidelity: 'not_applicable',
      markers: unique([...attemptMarkers(), ...markers]),
      warnings,
      error: { code: error.code, message: error.message },
    });
    // A caller that went away says nothing about the provider's health, nor does a request the
    // provider refused for its content (another request may well succeed; an input too long for the
    // model or tools it does not take, whatever the status) — unless it refused it for naming a
    // model it does not serve (llama.cpp's router and Zhipu answer that with a 400).
    const condition = error instanceof UpstreamError ? error.condition : undefined;
    const refusedThisRequest =
      condition === 'input_too_long' ||
      condition === 'tools_not_supported' ||
      condition === 'images_not_supported' ||
      (options.status !== undefined && REQUEST_REFUSED_STATUSES.has(options.status) && notServedCause(condition) === undefined);
    const call = input.signal?.aborted === true || refusedThisRequest ? undefined : callFailureOf(error, options.status, provider.record.class);
    // A call cut for a hold saying the engine hung (`cutForHung`) is that hold's failure: counted once, by whoever began it.
    if (call !== undefined && cutForHung === undefined) context.health.reportFailure(provider, call, candidate.model);
    const againstProvider = call !== undefined && (call.kind === 'unreachable' || ('scope' in call && call.scope === 'provider'));
    // Tools refused: later tools requests are routed past this model, without a call it would refuse again.
    if (condition === 'tools_not_supported') context.health.reportToolsRefused(provider, candidate.model, error.message);
    const attemptReport = report({
      outcome: 'failed',
      evidenceId,
      permitId: permit.payload.id,
      ...(options.status === undefined ? {} : { status: options.status }),
      error: { code: error.code, message: error.message },
      ...(usage === undefined ? {} : { usage }),
      ...(costUsd === undefined ? {} : { costUsd }),
    });
    // Tools or images this model does not take: no retry for the caller, but the next candidate may take them.
    const retryable = options.delivered !== true && error instanceof UpstreamError && (error.isRetryable || condition === 'tools_not_supported' || condition === 'images_not_supported');
    if (!retryable) return { kind: 'fatal', error, report: attemptReport };
    return { kind: 'retryable', error, report: attemptReport, ...(againstProvider ? { againstProvider: true as const } : {}) };
  };

  // While it waits for its first byte, a call whose engine another request or process has found
  // hung since it was sent (a hold begun by a call that waited out its timeout) is cut there, as its
  // own first-byte timeout would cut it, and falls back by the same rules: no call waits out its
  // whole timeout on an engine already known hung.
  const cut = new AbortController();
  let cutForHung: HungHold | undefined;
  // The caller's signal still ends the call at any point, its answer's body included: it is followed for the whole call.
  if (input.signal?.aborted === true) cut.abort(input.signal.reason);
  else input.signal?.addEventListener('abort', () => cut.abort(input.signal?.reason), { once: true });
  const waitedForFirstByte = context.health.watchForHung(provider, candidate.model, (hold) => {
    cutForHung = hold;
    cut.abort(cutForHungFailure(provider.id, candidate.model, hold, elapsed()));
  });
  let response: TransportResponse;
  try {
    response = await sendInvocation(permit, httpRequest, recorder, {
      timeouts: { ...input.timeouts, totalMs: plan.totalMs },
      ...(context.responseBodyLimitBytes === undefined ? {} : { maxBodyBytes: context.responseBodyLimitBytes }),
      signal: cut.signal,
    });
  } catch (error) {
    waitedForFirstByte();
    const failure = asSyndicateError(error);
    return fail(failure, markersForFailure(failure));
  }
  waitedForFirstByte();

  if (response.status < 200 || response.status >= 300) {
    const body = await response.text().catch(() => '');
    const wireError = adapter.decodeError(response.status, body);
    const retryAfter = waitAskedFor(response.status, response.headers);
    // Whether the answer concerns this model alone (its rate limit, overload or absence), the account, or this request's input.
    const condition = upstreamConditionOf(response.status, body);
    const tooLong = condition === 'input_too_long';
    const toolsRefused = condition === 'tools_not_supported';
    const imagesRefused = condition === 'images_not_supported';
    const filtered = condition === undefined && isContentFiltered(response.status, body);
    // The key it refused, quoted back by some servers, is never printed, recorded in the message or returned to a client.
    const failure = new UpstreamError(`${provider.id} answered HTTP ${response.status}: ${redactCredential(wireError.message, apiKey)}`, {
      // Tools refused: the code of the router's refusal of the same model for later tools requests.
      code: response.status === 429 ? 'upstream_rate_limited' : tooLong ? 'context_length_exceeded' : toolsRefused ? 'tools_not_supported' : imagesRefused ? 'images_not_supported' : filtered ? 'upstream_content_filtered' : 'upstream_http_error',
      status: response.status,
      // A model its provider does not serve never saw the request: the next candidate may take it.
      // An input too long for it is the caller's to split, whatever status the engine chose (llama-server: 500).
      // Tools or images the engine does not take: its 500 (llama-server) is no outage to retry.
      isRetryable: !tooLong && !toolsRefused && !imagesRefused && (wireError.isRetryable || notServedCause(condition) !== undefined),
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      ...(condition === undefined ? {} : { condition }),
      hint:
        condition === 'model_not_found'
          ? `${provider.id} does not serve ${candidate.model}: fix the model id in its provider record, or load the model into the engine`
          : condition === 'embeddings_not_enabled'
            ? `${provider.id} serves no embeddings: start llama-server with \`--embeddings\`, or remove ${candidate.model} from its provider record`
            : condition === 'model_start_failed'
              ? `${provider.id} could not start ${candidate.model} (held back alone; its other models stay routable): check the model's cmd in llama-swap's config.yaml and its log (GET /logs)`
            : toolsRefused
              ? `${provider.id} takes no tools for ${candidate.model}: start llama-server with \`--jinja\` (Ollama: use a model that supports tools) and run \`syndicate provider release ${provider.id}\` (tools requests skip ${candidate.model} for a day until then), or remove the \`tools\` tag from ${candidate.model} in its provider record`
              : imagesRefused
                ? `${provider.id} takes no images for ${candidate.model}: start llama-server with \`--mmproj FILE\` (the model's multimodal projector), or remove the \`vision\` tag from ${candidate.model} in its provider record`
                : tooLong
                  ? hintForInputTooLong({
                      embeddings: wireRequest.embedding !== undefined,
                      provider: provider.id,
                      model: candidate.model,
                      contextWindow: record.models.find((model) => model.id === candidate.model)?.contextWindow,
                      message: wireError.message,
                    })
                  : response.status === 401 || response.status === 403
                    ? credentialHint(provider.id, record.auth?.env, response.status, candidate.model)
                    : filtered
                      ? `${provider.id}'s content filter refused the request or the answer it was generating; nothing is held back: rephrase the prompt, or send it to another provider the policy allows (\`--provider\`; a gateway client: another model)`
                      : response.status === 404
                        ? wrongPathHint(provider.id, record, httpRequest.url)
                        : wireError.isRetryable
                          ? 'the upstream is overloaded or failing; retry later'
                          : 'the upstream rejected the request; check the model and settings',
      // The request field a gateway client is told is at fault, as for the router's own too-long refusal.
      ...(tooLong ? { details: { param: tooLongParam(wireRequest) } } : {}),
    });
    return fail(failure, response.status === 429 ? ['rate_limited'] : ['upstream_error'], { status: response.status });
  }

  let decoded: CanonicalResponse;
  let firstTokenMs: number | undefined;
  // Logprobs asked for and not already left out by the wire (which said so): the answer should carry them.
  const logprobsAwaited = wireRequest.logprobs !== undefined && !httpRequest.warnings.some((warning) => warning.setting === 'logprobs');
  const answerMarkers: EvidenceMarker[] = [];
  if (wireRequest.stream) {
    // Judged at the first token, before the caller's first part: a gateway's headers are sent with it.
    const streamInput = !logprobsAwaited ? input : { ...input, onPart: watchingLogprobs(input.onPart, () => warnings.push(logprobsUnreturned(wireRequest, candidate))) };
    const streamed = await readStream(codec?.decodeStreamEvent ?? ((event) => adapter.decodeStreamEvent(event)), codec?.streamFraming ?? serverSentEventFraming, response, streamInput, started, apiKey);
    firstTokenMs = streamed.firstTokenMs;
    if (streamed.failure instanceof InterruptedError) {
      // The caller went away (or cancelled): nothing is wrong with the upstream, whose call was cut.
      return fail(streamed.failure, streamed.receivedBytes ? ['partial_response'] : [], { status: response.status, delivered: streamed.delivered, firstTokenMs, partial: streamed.response, cut: streamed.cut });
    }
    if (streamed.failure !== undefined) {
      const failure = streamed.delivered
        ? new UpstreamError(`the stream from ${provider.id} broke after the answer had started: ${streamed.failure.message}`, {
            code: 'stream_broken',
            isRetryable: false,
            // An answer past the bound would be as long again on a retry.
            hint: `the partial answer above is incomplete; ${streamed.failure.code === 'upstream_response_too_large' ? streamed.failure.hint : 'retry the request'}`,
          })
        : streamed.failure;
      const markers: EvidenceMarker[] = ['upstream_error', ...markersForFailure(streamed.failure)];
      if (streamed.receivedBytes) markers.push('partial_response');
      return fail(failure, markers, { status: response.status, delivered: streamed.delivered, firstTokenMs, partial: streamed.response, cut: streamed.cut });
    }
    decoded = streamed.response;
    if (streamed.terminalMarkerMissing) answerMarkers.push('terminal_marker_missing');
  } else {
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      const failure = asSyndicateError(error);
      const markers: EvidenceMarker[] = failure instanceof InterruptedError ? ['partial_response'] : ['upstream_error', 'partial_response', ...markersForFailure(failure)];
      return fail(failure, markers, { status: response.status });
    }
    try {
      decoded = codec === undefined ? adapter.decodeResponse(body) : codec.decode(body, wireRequest, target);
    } catch (error) {
      // An answer that says its own generation failed (GLM's `network_error`) is the upstream's failure, retried elsewhere as one.
      const failure =
        error instanceof UpstreamError && error.code === 'upstream_inference_failed'
          ? new UpstreamError(`${provider.id} ${error.message}`, { code: error.code, status: response.status, isRetryable: error.isRetryable, ...(error.hint === undefined ? {} : { hint: error.hint }) })
          : new UpstreamError(`${provider.id} sent a response that is not valid ${record.wire} JSON: ${(error as Error).message}`, {
              code: 'upstream_malformed_response',
              status: response.status,
              isRetryable: false,
              hint: 'the engine answered with a malformed body; the raw bytes are in the evidence (`syndicate evidence show ID --raw response`)',
            });
      return fail(failure, ['upstream_error'], { status: response.status });
    }
    firstTokenMs = wholeAnswerFirstTokenMs(response.firstByteMs, decoded.generationTimings);
    if (logprobsAwaited && decoded.logprobs === undefined && decoded.text !== '') warnings.push(logprobsUnreturned(wireRequest, candidate));
  }
  if (decoded.model === '') decoded = { ...decoded, model: candidate.model };
  const shortened = dimensionsWarning(wireRequest, decoded, candidate);
  if (shortened !== undefined) warnings.push(shortened);

  const usage = decoded.usage ?? (await approximateUsage(plan.request, decoded));
  const tokenAccounting: TokenAccounting = decoded.usage !== undefined ? 'exact' : usage !== undefined ? 'approximate' : 'not_available';
  if (wireRequest.stream) {
    if (decoded.usage === undefined && usage !== undefined) input.onPart?.({ type: 'usage', usage });
    input.onPart?.({ type: 'stream-end' });
  }
  const toolCallFidelity = toolFidelity(plan.request, decoded);
  const price = record.models.find((model) => model.id === candidate.model)?.price;
  const costUsd = price === undefined || usage === undefined ? undefined : usageCostUsd(price, usage);
  const totalMs = elapsed();
  recorder.close();
  const verbatimCapture = recorder.verbatimCapture();
  const markers = [...attemptMarkers(), ...answerMarkers];
  const finished = finishAttempt(context, evidenceId, {
    state: 'completed',
    status: response.status,
    ...(firstTokenMs === undefined ? {} : { firstTokenMs }),
    totalMs,
    ...(usage === undefined ? {} : { usage: evidenceUsage(usage) }),
    tokenAccounting,
    verbatimCapture,
    toolCallFidelity,
    markers,
    warnings,
    ...(costUsd === undefined ? {} : { costUsd }),
  });
  // The answer does not wait for its finish to commit (group commit only).
  finished?.catch((error: unknown) => context.onBackgroundError?.(error));
  // A cold local model's first token includes its load, which the plan counts apart: like the
  // evidence seed (recentFirstTokens), the live figure leaves cold answers out.
  context.health.reportSuccess(provider, { model: candidate.model, ...(firstTokenMs === undefined || candidate.warm === false ? {} : { firstTokenMs }) });
  // The engine loaded it to answer: warm for the next request, before the next probe says so.
  if (candidate.warm === false) context.health.residentChanged(provider, { loaded: candidate.model });
  // A model the engine did not hold, whose answer says how long loading it took (Ollama's native
  // load_duration): a cold start, recorded as the loads syndicate asks for are (metrics, the router's cold-start estimate).
  if (candidate.warm === false && decoded.engineLoadMs !== undefined) {
    recordEngineEvent(context.store, { providerId: provider.id, model: candidate.model, kind: 'load', durationMs: decoded.engineLoadMs, detail: 'loaded by the engine to answer a routed request (its load_duration)' });
  }
  return {
    kind: 'success',
    result: {
      requestId,
      evidenceId,
      permitId: permit.payload.id,
      provider: attemptProvider,
      model: candidate.model,
      response: decoded,
      usage,
      fidelity: { tokenAccounting, verbatimCapture, toolCallFidelity },
      markers,
      warnings,
      latency: { ...(firstTokenMs === undefined ? {} : { firstTokenMs }), totalMs, beforeUpstreamMs: Math.max(0, response.sentAt - plan.receivedAt) },
      ...(costUsd === undefined ? {} : { costUsd }),
      classification: plan.classification,
      route: plan.plan,
      attempts: [...plan.attempts, report({ outcome: 'completed', evidenceId, permitId: permit.payload.id, status: response.status })],
    },
  };
}

/**
 * How a request that is not a chat travels: its own endpoint's encoding and decoding
 * (`decodeStreamEvent` when it streams, over `streamFraming`: server-sent events unless set).
 */
interface EndpointCodec {
  encode(request: CanonicalRequest, target: WireTarget): WireHttpRequest;
  decode(body: string, request: CanonicalRequest, target: WireTarget): CanonicalResponse;
  decodeStreamEvent?: (event: ServerSentEvent) => StreamPart[];
  streamFraming?: () => StreamFraming;
}

/** The embeddings half of a wire adapter; only wires the router lets embeddings requests reach have one. */
function embeddingCodec(adapter: WireAdapter): EndpointCodec {
  const { encodeEmbeddingRequest: encode, decodeEmbeddingResponse: decode } = adapter;
  if (encode === undefined || decode === undefined) throw new Error(`the ${adapter.wire} wire has no embeddings endpoint, yet an embeddings request was routed to it`);
  return { encode: encode.bind(adapter), decode: decode.bind(adapter) };
}

/** Ollama's native `/api/generate` with `raw: true`: its `/v1/completions` would wrap a prompt without suffix in the model's template. */
const OLLAMA_GENERATE_CODEC: EndpointCodec = {
  encode: encodeOllamaGenerateRequest,
  decode: (body) => decodeOllamaGenerateResponse(body),
  decodeStreamEvent: decodeOllamaGenerateStreamLine,
  streamFraming: ollamaGenerateStreamFraming,
};

/**
 * The text completions half of a wire adapter; only wires the router lets text completion requests
 * reach have one. A completion without suffix to an Ollama engine goes to its native API instead.
 */
function completionCodec(adapter: WireAdapter, request: CanonicalRequest, target: WireTarget): EndpointCodec {
  if (usesOllamaGenerate(request, target)) return OLLAMA_GENERATE_CODEC;
  const { encodeCompletionRequest: encode, decodeCompletionResponse: decode, decodeCompletionStreamEvent: decodeStreamEvent } = adapter;
  if (encode === undefined || decode === undefined || decodeStreamEvent === undefined) {
    throw new Error(`the ${adapter.wire} wire has no text completions endpoint, yet a text completion request was routed to it`);
  }
  return { encode: encode.bind(adapter), decode: (body) => decode.call(adapter, body), decodeStreamEvent: decodeStreamEvent.bind(adapter) };
}

/**
 * An embeddings answer whose vectors are not as long as the request's `dimensions` asked: models
 * not trained for shortened vectors (and llama.cpp, which ignores the setting) answer full length.
 * The vectors are passed on as answered (cutting them would break their geometry); the evidence says so.
 */
function dimensionsWarning(request: CanonicalRequest, response: CanonicalResponse, candidate: Candidate): WireWarning | undefined {
  const asked = request.embedding?.dimensions;
  const answered = response.embeddings?.find((vector) => vector.length !== asked)?.length;
  if (asked === undefined || answered === undefined) return undefined;
  return { setting: 'dimensions', message: `${asked} dimensions asked; ${candidate.provider}:${candidate.model} answered ${answered}-dimensional vectors, passed on as answered` };
}

/**
 * The warning of an answer without the token log-probabilities its request asked for: an engine
 * that ignores the field (LM Studio, Ollama before 0.12.11, llama-server asked for no alternatives).
 */
function logprobsUnreturned(request: CanonicalRequest, candidate: Candidate): WireWarning {
  return {
    setting: 'logprobs',
    message: `token log-probabilities were asked for; ${candidate.provider}:${candidate.model} answered without them`,
    ...(request.logprobs === undefined ? {} : { fields: logprobsDropped(request.logprobs) }),
  };
}

/**
 * A stream's `onPart` that calls `unreturned` when the answer's first text comes without the
 * log-probabilities of its tokens (an engine sends them in the chunk of the text they belong to).
 */
function watchingLogprobs(onPart: InvocationInput['onPart'], unreturned: () => void): NonNullable<InvocationInput['onPart']> {
  let judged = false;
  return (part) => {
    if (!judged && (part.type === 'logprobs' || part.type === 'text-delta')) {
      judged = true;
      if (part.type === 'text-delta') unreturned();
    }
    onPart?.(part);
  };
}

/**
 * What to do when the time allowed ran out, in the caller's terms (see `InvocationInput.timeoutOption`);
 * `untried`: the candidates it left no time for; `timeBudget`: the policy setting that allowed it,
 * when the caller set no time of its own.
 */
function timeoutHint(input: InvocationInput, untried: number, timeBudget?: string): string {
  const allowedMs = input.timeouts?.totalMs ?? DEFAULT_TRANSPORT_TIMEOUTS.totalMs;
  const allowed = timeBudget === undefined ? 'allowed' : `the policy allows (${timeBudget})`;
  const ranOut =
    untried === 0
      ? `every candidate was still answering when the ${formatDuration(allowedMs)} ${allowed} ran out`
      : `the ${formatDuration(allowedMs)} ${allowed} ran out before ${untried === 1 ? 'the next candidate' : `the ${untried} other candidates`} could be tried`;
  const raise = timeBudget === undefined ? '' : `raise ${timeBudget} in the policy`;
  if (input.timeoutOption === undefined) return `${ranOut}; ${raise === '' ? '' : `${raise} or `}ask for fewer tokens (a lower max_tokens)`;
  const more = `allow more (\`${input.timeoutOption} ${formatDuration(Math.min(2 * allowedMs, MAXIMUM_TIMEOUT_MS))}\`${raise === '' ? '' : `, or ${raise}`})`;
  // A probe's requests are as small as they can be: only the time can give.
  return input.kind === 'probe' ? `${ranOut}; ${more}` : `${ranOut}; ${more} or ask for fewer tokens`;
}

/** The wire warning of a max output the router lowered to fit the candidate's context window (its reasons say how). */
function loweredWarning(request: CanonicalRequest, candidate: Candidate, provider: RegisteredProvider, lowered: number): WireWarning {
  const window = provider.record.models.find((model) => model.id === candidate.model)?.contextWindow;
  return {
    setting: 'maxTokens',
    message: `lowered from ${request.maxTokens ?? '(none)'} to ${lowered}: the context window of ${candidate.provider}:${candidate.model}${window === undefined ? '' : ` (${window} tokens)`} holds the prompt but not the requested output`,
    ...(request.maxTokens === undefined ? {} : { fields: [{ setting: 'maxTokens', effect: 'changed' }] }),
  };
}

/**
 * Finishes an attempt's evidence: synchronously (the CLI: its one command, its commits), or with
 * group commit (the gateway), where the finish joins the next batch and the returned promise
 * settles on its commit. A successful answer does not wait for it, and its finish may wait up to
 * `DEFERRED_COMMIT_MS` for the next request's batch — a crash before that commit leaves the row
 * pending, which recovery marks interrupted, and the gateway's drain waits for
 * the committer; a failure of that write goes to `onBackgroundError`. Invalid outcomes and
 * earlier capture failures still throw here.
 */
function finishAttempt(context: PipelineContext, evidenceId: string, outcome: AttemptOutcomeFields): Promise<void> | undefined {
  if (context.commits === undefined) {
    completeAttempt(context.store, evidenceId, outcome);
    return undefined;
  }
  // Nothing waits for an answer's finish: it may share the next request's commit.
  return completeAttemptGrouped(context.commits, context.store, evidenceId, outcome, { deferred: outcome.state === 'completed' });
}

type AttemptOutcomeFields = Parameters<typeof completeAttempt>[2];

interface StreamReading {
  response: CanonicalResponse;
  firstTokenMs: number | undefined;
  /** A content part was handed to the caller: from here on, no fallback may paper over a failure. */
  delivered: boolean;
  receivedBytes: boolean;
  /** An upstream failure, or the InterruptedError of a caller that cancelled the call. */
  failure: UpstreamError | InterruptedError | undefined;
  /** The body ended cleanly after the finish reason, without `[DONE]` / `message_stop`: complete all the same. */
  terminalMarkerMissing: boolean;
  /** What a stream that failed had come to when it was cut. */
  cut: StreamCut;
}

/** A stream cut short: what the upstream reported of its usage, and whether the request was billed. */
interface StreamCut {
  /** The usage the upstream reported before the cut (Anthropic's `message_start`: the input only). */
  reportedUsage: Partial<Usage>;
  /**
   * The model had started answering (the upstream's first event arrived: it read the prompt) and the
   * stream was cut — the caller left, the connection broke or stalled — rather than ended by an error
   * the upstream reported (Anthropic's `event: error`: failed requests are not charged). Providers
   * meter such a request once the model has read its prompt (Anthropic's own usage counts
   * interrupted streams), so its input is billed even when no text arrived.
   */
  billed: boolean;
}

const CONTENT_PARTS = new Set<StreamPart['type']>(['text-delta', 'reasoning-delta', 'refusal-delta', 'redacted-reasoning', 'tool-call-delta']);

/**
 * Reads a streamed body (server-sent events, or NDJSON lines for Ollama's native API: `streamFraming`), forwarding parts as they arrive. Parts before the first content part are
 * held back, so an attempt that fails before answering can still fall back cleanly. An error the
 * upstream reports in the stream has the key it was sent (`apiKey`) redacted from its message, as an
 * error status's message has.
 */
async function readStream(
  decodeStreamEvent: (event: ServerSentEvent) => StreamPart[],
  streamFraming: () => StreamFraming,
  response: TransportResponse,
  input: InvocationInput,
  started: number,
  apiKey: string | undefined,
): Promise<StreamReading> {
  const decoder = new StringDecoder('utf8');
  const splitter = streamFraming();
  const accumulator = new StreamAccumulator();
  const held: StreamPart[] = [];
  let delivered = false;
  let receivedBytes = false;
  let firstTokenMs: number | undefined;
  let failure: UpstreamError | InterruptedError | undefined;
  let terminalMarkerMissing = false;
  let answerStarted = false;

  const accept = (decoded: StreamPart): void => {
    // The message reaches the caller (the client's error event), the evidence row's error and logs.
    const part = decoded.type === 'error' ? { ...decoded, message: redactCredential(decoded.message, apiKey) } : decoded;
    accumulator.add(part);
    input.onPartArrived?.(part);
    if (part.type !== 'error' && part.type !== 'stream-end') answerStarted = true;
    // The caller's stream is ended by `attempt`, after the local usage of an answer that carried none.
    if (part.type === 'stream-end') return;
    if (!delivered && CONTENT_PARTS.has(part.type)) {
      delivered = true;
      firstTokenMs = elapsedMs(started);
      for (const earlier of held.splice(0)) input.onPart?.(earlier);
    }
    if (delivered) input.onPart?.(part);
    else held.push(part);
  };
  const decodeEvents = (events: ServerSentEvent[]): void => {
    for (const event of events) {
      let parts: StreamPart[];
      try {
        parts = decodeStreamEvent(event);
      } catch (error) {
        throw new UpstreamError(`malformed stream event: ${(error as Error).message}`, { code: 'upstream_malformed_stream', isRetryable: false });
      }
      for (const part of parts) accept(part);
    }
  };

  try {
    for await (const chunk of response.body) {
      if (chunk.length > 0) receivedBytes = true;
      decodeEvents(splitter.push(decoder.write(chunk)));
      const writable = delivered ? input.whenWritable?.() : undefined;
      if (writable !== undefined) await writable;
    }
    decodeEvents(splitter.push(decoder.end()));
    const last = splitter.finish();
    if (last !== undefined) decodeEvents(last);
    if (last === undefined) {
      failure = new UpstreamError('the stream ended in the middle of an event', { code: 'upstream_truncated_stream', isRetryable: true });
    } else if (accumulator.error !== undefined) {
      failure = new UpstreamError(`the upstream reported an error in the stream: ${accumulator.error.message}`, {
        code: 'upstream_stream_error',
        isRetryable: true,
        // Anthropic reports an overloaded model in the stream too (`event: error`, `overloaded_error`): that model's, not the provider's.
        ...(accumulator.error.errorType === 'overloaded_error' ? { condition: 'model_overloaded' as const } : {}),
      });
    } else if (!accumulator.ended) {
      // The body ended normally here (a reset, timeout or abort throws out of the loop above). After
      // a finish reason the model's answer is over: some OpenAI-compatible servers (ik_llama.cpp
      // without --send-done, older text-generation-webui) never send `[DONE]`. Without one, the
      // stream was cut.
      if (accumulator.finished) {
        terminalMarkerMissing = true;
      } else {
        failure = new UpstreamError('the stream ended without its terminal marker ([DONE] / message_stop / Ollama `done: true`) or a finish reason: the answer may be truncated', {
          code: 'upstream_truncated_stream',
          isRetryable: true,
        });
      }
    }
  } catch (error) {
    const syndicateError = asSyndicateError(error);
    failure =
      syndicateError instanceof UpstreamError || syndicateError instanceof InterruptedError
        ? syndicateError
        : new UpstreamError(syndicateError.message, { code: syndicateError.code, isRetryable: false });
  }
  if (failure === undefined && !delivered) for (const part of held.splice(0)) input.onPart?.(part);
  const answer = accumulator.toResponse();
  return {
    response: terminalMarkerMissing ? { ...answer, observations: [...(answer.observations ?? []), WIRE_OBSERVATIONS.terminalMarkerMissing] } : answer,
    firstTokenMs,
    // A caller that takes no parts (`run --json --stream`, which prints the answer at the end) was handed nothing: it may still fall back.
    delivered: delivered && input.onPart !== undefined,
    receivedBytes,
    failure,
    terminalMarkerMissing,
    cut: {
      reportedUsage: accumulator.reportedUsage,
      billed: failure !== undefined && answerStarted && accumulator.error === undefined,
    },
  };
}

/**
 * No candidate: when some provider the policy allows was excluded only for being down, the
 * request is not refused but unavailable (exit 5) — rate-limited (429) when the only ones it
 * could use are held back by rate limits — recorded as a failed invocation that called nothing;
 * so is a request nothing registered could take (`no_providers`, exit 2); otherwise the policy
 * refuses it (exit 4), recorded as a denial.
 */
function refuseOrUnavailable(
  context: PipelineContext,
  input: InvocationInput,
  requestId: string,
  classification: ClassificationSummary,
  plan: RoutePlan,
  pinned: boolean,
  refused: Omit<RefusalContext, 'sessionId'>,
): SyndicateError {
  // Routed, but nothing left to call: the chain holds the decision and why (the plan's exclusions).
  const recordUncalled = (code: string, message: string): string =>
    recordUncalledAttempt(context.store, {
      ...attemptIdentity(input, requestId, 0),
      sensitivity: classification.level,
      route: plan,
      streamed: input.request.stream,
      markers: [],
      error: { code, message },
    });
  // Held back only by rate limits (none down): 429 with the shortest wait left, as the providers asked.
  const rateLimited = rateLimitedPlanError(plan, { requestId, sensitivity: classification.level, excluded: plan.excluded });
  if (rateLimited !== undefined) return rateLimited.withDetails({ evidenceId: recordUncalled('rate_limited', rateLimited.message) });
  if (plan.excluded.some(onlyDown)) {
    // Past five models, counted and grouped by rule as a route refusal says them; `details.excluded` and the evidence keep every one.
    const message = unavailableMessage('inference_unavailable', summarisedExclusions(plan.excluded));
    const evidenceId = recordUncalled('inference_unavailable', message);
    // A model left out for tools it refused is named with its fix: it would take the request once restarted with them.
    const held = heldOutForLater(context, [...unavailabilityOfExclusions(plan.excluded), ...toolsRefusalsOfExclusions(plan.excluded)], currentProviders(context.store));
    const retryAfterSeconds = retryAfterForUnavailable(held);
    return new UpstreamError(message, {
      code: 'inference_unavailable',
      isRetryable: true,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      hint: hintForUnavailable(held),
      details: { requestId, evidenceId, sensitivity: classification.level, excluded: plan.excluded },
    });
  }
  const refusal = routeRefusal(plan, input.request, classification, {
    ...refused,
    ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
    // A gateway client's request is a whole body, which `route --explain` takes as a file.
    ...(input.caller === 'gateway' ? { whereEveryRule: "`syndicate route --explain --request BODY.json` (the request's JSON body) shows every rule" } : {}),
  });
  // Nothing registered that could take it (`no_providers`), or a model of the other kind named (`model_kind`, a usage error): no policy refused it, so no denial —
  // routed with nothing to call, as an unavailable request is (`metrics` counts it a failed attempt).
  if (!(refusal instanceof PolicyRefusalError)) return refusal.withDetails({ requestId, evidenceId: recordUncalled(refusal.code, refusal.message) });
  const evidenceId = recordDenial(context.store, {
    requestId,
    caller: input.caller,
    reasonCode: refusal.code,
    message: refusal.message,
    sensitivity: classification.level,
    ...(pinned ? refusedTarget(plan, refused.providers) : {}),
    route: plan,
    ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
  });
  return refusal.withDetails({ requestId, evidenceId });
}

/**
 * The one provider (and model) a refused request named, for its denial's row: `evidence list
 * --provider` and `--class` then find what was refused that provider, not only what it answered.
 * Nothing when the plan left out several providers (the request named none of them alone).
 */
function refusedTarget(plan: RoutePlan, providers: readonly RegisteredProvider[]): { provider?: AttemptProvider; model?: string } {
  const [first] = plan.excluded;
  if (first === undefined || plan.excluded.some((exclusion) => exclusion.provider !== first.provider)) return {};
  const registered = providers.find((provider) => provider.id === first.provider);
  if (registered === undefined) return {};
  const provider: AttemptProvider = { id: registered.id, version: registered.currentVersion, class: registered.record.class };
  return plan.excluded.every((exclusion) => exclusion.model === first.model) ? { provider, model: first.model } : { provider };
}

function deny(
  context: PipelineContext,
  input: InvocationInput,
  requestId: string,
  level: SensitivityLevel | undefined,
  error: unknown,
  extra: { permitToken?: string; provider?: AttemptProvider; model?: string; route?: RoutePlan },
): string {
  // permitDenial keeps the token only when it can no longer be used (forged, expired, replayed).
  const denial = permitDenial(extra.permitToken, asSyndicateError(error), {
    caller: input.caller,
    requestId,
    ...(level === undefined ? {} : { sensitivity: level }),
    ...(extra.provider === undefined ? {} : { providerId: extra.provider.id }),
    ...(extra.model === undefined ? {} : { model: extra.model }),
    ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
  });
  return recordDenial(context.store, {
    ...denial,
    ...(extra.provider === undefined ? {} : { provider: extra.provider }),
    ...(extra.route === undefined ? {} : { route: extra.route }),
  });
}

function routeSummary(plan: RoutePlan, chosen: Candidate, passedOver: readonly PassedOver[]): Record<string, unknown> {
  return {
    chosen: {
      provider: chosen.provider,
      model: chosen.model,
      rank: chosen.rank,
      reasons: chosen.reasons,
      ...(chosen.warm === undefined ? {} : { warm: chosen.warm }),
      ...(chosen.evicts === undefined ? {} : { evicts: chosen.evicts }),
    },
    sensitivity: plan.sensitivity,
    // What set the level (detector, reason, where; never the matched text), as a refusal's row has it in its plan.
    ...(plan.levelSources === undefined ? {} : { levelSources: plan.levelSources }),
    workflow: plan.workflow,
    allowedClasses: plan.allowedClasses,
    candidates: plan.candidates.map((candidate) => `${candidate.provider}:${candidate.model}`),
    // The router's exclusions whole ({provider, model, class, rules, reasons, ...}), as a refusal's row records them in its plan:
    // one shape for an auditor's query over answered and refused rows alike. Rows written before this say `{target: "p:m", reasons}`.
    excluded: plan.excluded,
    failedClosed: plan.failedClosed,
    ...(plan.notes.length === 0 ? {} : { notes: plan.notes }),
    policyDigest: plan.policyDigest,
    // Candidates of the walk not called before this one (a hold came into force, or the hop limit after a provider's failure).
    ...(passedOver.length === 0 ? {} : { passedOver: passedOver.map(passedOverSummary) }),
  };
}

/**
 * The token counts evidence keeps: input and output, and of the input what the prompt cache
 * served and what was written to it when reported — bounded by the input as pricing bounds them
 * (an engine reporting more cached tokens than prompt tokens is recorded at the prompt's count).
 */
function evidenceUsage(usage: Usage): NonNullable<AttemptOutcomeFields['usage']> {
  const { cached, written } = cacheTokensWithinInput(usage);
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    ...(usage.cachedInputTokens === undefined ? {} : { cachedInputTokens: cached }),
    ...(usage.cacheWriteInputTokens === undefined ? {} : { cacheWriteInputTokens: written }),
  };
}

/**
 * Local token counts for an answer that carried no usage (the tokenizer is loaded on the first
 * such answer). The input is counted over everything the model read as text — earlier tool calls
 * and the tool definitions too, as the router's prompt estimate counts it. Undefined when the
 * tokenizer cannot be loaded or refuses a text: the upstream has answered, so the attempt still completes, with
 * `token_accounting: not_available`.
 */
async function approximateUsage(request: CanonicalRequest, response: CanonicalResponse): Promise<{ inputTokens: number; outputTokens: number } | undefined> {
  let countTokens: (text: string) => number;
  try {
    countTokens = await loadTokenCounter();
  } catch {
    return undefined;
  }
  // A refusal (OpenAI's `refusal`) is output the model generated, and billed, as its text is.
  const output = (response.reasoning ?? '') + response.text + (response.refusal ?? '') + response.toolCalls.map((call) => call.name + call.arguments).join('');
  // Token ids are their own count, in the model's tokenizer.
  const tokenIds = request.embedding?.input.kind === 'tokens' ? request.embedding.input.tokens.reduce((total, tokens) => total + tokens.length, 0) : 0;
  try {
    return { inputTokens: tokenIds + (await countPieces(promptPieces(request), countTokens)), outputTokens: await countInSlices(output, countTokens) };
  } catch {
    // A text the tokenizer refuses: an estimate is not worth failing an answered request for.
    return undefined;
  }
}

/**
 * The tokens of a stream cut short: what the upstream reported so far (`reportedUsage`:
 * Anthropic's `message_start` counts the input, cache reads and writes included), else the input
 * counted here; and the output handed on before the cut, counted here (an upstream reports it only
 * at the end; none when the cut came before any text).
 */
async function usageUpToCut(request: CanonicalRequest, partial: CanonicalResponse, reportedUsage: Partial<Usage>): Promise<Usage | undefined> {
  const { inputTokens } = reportedUsage;
  const reported = partial.usage ?? (inputTokens === undefined ? undefined : { ...reportedUsage, inputTokens, outputTokens: reportedUsage.outputTokens ?? 0 });
  const counted = await approximateUsage(request, partial);
  if (counted === undefined) return reported;
  return reported === undefined ? counted : { ...reported, outputTokens: Math.max(reported.outputTokens, counted.outputTokens) };
}

const REPAIRED_OBSERVATIONS = new Set(['tool_arguments_object', 'tool_call_id_missing', 'legacy_function_call']);

function toolFidelity(request: CanonicalRequest, response: CanonicalResponse): ToolCallFidelity {
  if ((request.tools ?? []).length === 0 && response.toolCalls.length === 0) return 'not_applicable';
  for (const call of response.toolCalls) {
    try {
      JSON.parse(call.arguments);
    } catch {
      return 'lost';
    }
  }
  return (response.observations ?? []).some((observation) => REPAIRED_OBSERVATIONS.has(observation)) ? 'repaired' : 'exact';
}

/**
 * The failure of a call cut while it waited for its first byte, because a hold saying its engine
 * hung began meanwhile (`HealthMonitor.watchForHung`): a first-byte timeout, as the call's own
 * would have been, whose message says it was cut by the hold and not by its own clock.
 */
function cutForHungFailure(providerId: string, model: string, hold: HungHold, waitedMs: number): UpstreamError {
  const target = hold.model === undefined ? providerId : `${providerId}:${model}`;
  const finder = hold.byAnotherProcess ? 'another syndicate process' : 'another request of this process';
  return new UpstreamError(
    `${providerId} sent no response in ${Math.round(waitedMs)} ms; the call was cut then, not left to its own first-byte timeout: ${finder} found ${target} hung and held it until ${new Date(hold.until).toISOString()} (${hold.reason})`,
    {
      code: FIRST_BYTE_TIMEOUT_CODE,
      hint: 'the engine is hung or overloaded, or its model was still loading (load it first: `syndicate engine load PROVIDER:MODEL`); `syndicate provider release ID` once it answers again',
      details: { cutByHold: { provider: hold.provider, ...(hold.model === undefined ? {} : { model: hold.model }), since: new Date(hold.since).toISOString(), until: new Date(hold.until).toISOString() } },
    },
  );
}

function markersForFailure(error: SyndicateError): EvidenceMarker[] {
  return isTimeoutCode(error.code) ? ['timeout'] : [];
}

/** The transport's timeouts: `upstream_connect_timeout`, `upstream_first_byte_timeout`, `upstream_idle_timeout`, `upstream_total_timeout`. */
function isTimeoutCode(code: string | undefined): boolean {
  return code?.includes('timeout') === true;
}

/** The request made calls, and each ran out of its time. */
function everyAttemptTimedOut(attempts: readonly AttemptReport[]): boolean {
  return attempts.length > 0 && attempts.every((report) => isTimeoutCode(report.error?.code));
}

function asSyndicateError(error: unknown): SyndicateError {
  if (error instanceof SyndicateError) return error;
  return new UpstreamError(error instanceof Error ? error.message : String(error), { code: 'upstream_failure' });
}

/**
 * Deviation discovery at invocation time (src/probes/discovery.ts): usage missing where the record
 * claims exact accounting, or a decoder observation of an undeclared deviation, is recorded with
 * its evidence row and added to the record as a new version; the caller is told through a warning.
 * Probes record their own findings. A discovery failure never fails the user's request.
 */
function discoverDeviations(context: PipelineContext, input: InvocationInput, result: InvocationResult): InvocationResult {
  if ((input.kind ?? 'invocation') !== 'invocation') return result;
  try {
    const discovery = discoverFromInvocation(context.store, result);
    if (discovery === undefined) return result;
    const where = discovery.updated ? `; the provider record of ${result.provider.id} is now v${discovery.version}` : '';
    const message = `discovered undeclared deviation ${discovery.deviations.join(', ')} (evidence ${result.evidenceId})${where}`;
    return { ...result, warnings: [...result.warnings, { setting: 'deviations', message }] };
  } catch {
    return result;
  }
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/**
 * A 404 that names no model (`upstreamConditionOf` found none): nothing is served at the path
 * called, so the record's `baseUrl` is the likely fault — such as Zhipu GLM's Anthropic-compatible
 * endpoint (`…/api/anthropic`) registered on the openai wire, or an openai-wire URL without its
 * version path.
 */
function wrongPathHint(providerId: string, record: Pick<ProviderRecord, 'wire' | 'baseUrl'>, calledUrl: string): string {
  const anthropicPath = record.wire === 'openai' && /\/anthropic\/*$/.test(new URL(record.baseUrl).pathname);
  const convention = anthropicPath
    ? 'a URL ending in /anthropic (Zhipu GLM\'s https://open.bigmodel.cn/api/anthropic) serves the Anthropic Messages API, which a record of wire: anthropic calls; for the openai wire use the OpenAI-compatible URL (Zhipu GLM: https://open.bigmodel.cn/api/paas/v4)'
    : record.wire === 'openai'
      ? 'an openai-wire baseUrl ends with the API\'s version path (/v1; Zhipu GLM: /api/paas/v4)'
      : 'an anthropic-wire baseUrl has no /v1 (calls go to its /v1/messages)';
  return `nothing answers at ${calledUrl}, so ${providerId}'s baseUrl (${record.baseUrl}) is likely wrong: ${convention}; register the provider again with the right one`;
}
