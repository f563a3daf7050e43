import { isImagePartFinding } from '../classify/index.js';
import { modelKindOf, type SensitivityLevel } from '../common/vocabulary.js';
import { ModelKindError, NoProvidersError, PolicyRefusalError, UpstreamError } from '../errors.js';
import { permitIssueCommand, scopeDifferences } from '../permits/index.js';
import type { PermitPayload } from '../permits/token.js';
import type { RegisteredProvider } from '../registry/types.js';
import { alternativesTo, hintForExclusions, localModelsLeftOut, onlyDown, onlyRateLimited, type PresentedPermit } from '../router/hints.js';
import { manualThinkingOf } from '../router/request-traits.js';
import type { RouteFinding } from '../router/route-request.js';
import type { Exclusion, ExclusionRule, RoutePlan } from '../router/types.js';
import type { CanonicalRequest } from '../wire/canonical.js';
import { requestedEffort } from '../wire/reasoning.js';

/** What a refusal names besides the plan: what else could take the request, and what the caller presented. */
export interface RefusalContext {
  providers: readonly RegisteredProvider[];
  /** The same request unpinned (`RoutedRequest.planUnpinned`); undefined when nothing was pinned. */
  planUnpinned: () => RoutePlan | undefined;
  /** The permit the caller presented (`run --permit`). */
  permit?: PermitPayload;
  sessionId?: string;
  /** Where the caller sees every rule (`ExclusionHintOptions.whereEveryRule`). */
  whereEveryRule?: string;
}

/** Whether the request named a model or a provider: only then has a refusal anything else to name (`RefusalContext.planUnpinned`). */
export function isPinned(request: CanonicalRequest, explicitProvider: string | undefined): boolean {
  return explicitProvider !== undefined || !['', 'auto'].includes(request.model.trim());
}

/**
 * The policy's refusal of a plan without candidates that no provider was only down for, as every
 * surface reports it (`run`, the gateway, MCP `complete`, `route`): too long for every model it may
 * use (`context_length_exceeded`), a setting every model it may use refuses (`refusedRequestSetting`),
 * or `route_denied`; or, when the plan considered no model at all, `no_providers` (`noProvidersError`);
 * or, when the model the request named is of the other kind, `model_kind`, a usage error saying so (`wrongKindNamed`).
 * Nothing is recorded here: the pipeline records it as a denial (`no_providers` and the usage error
 * as a failed attempt that called nothing).
 */
export function routeRefusal(
  plan: RoutePlan,
  request: CanonicalRequest,
  classification: { level: SensitivityLevel; findings: readonly RouteFinding[] },
  context: RefusalContext,
): PolicyRefusalError | NoProvidersError | ModelKindError {
  if (plan.excluded.length === 0) return noProvidersError(classification);
  // Every model registered is of the other kind (chat models only, for an embeddings request): the
  // setup lacks a model that could take it, whatever its data — not the policy's refusal.
  const kindMissing = missingModelKind(context.planUnpinned() ?? plan, request);
  if (kindMissing !== undefined) return noProvidersError(classification, { kind: kindMissing, excluded: plan.excluded });
  // Some model would take it if it were shorter: clients compact a conversation (or split an
  // embeddings input) on this error (OpenAI's code, Anthropic's wording), so it must not read as a
  // permission problem.
  const tooLong = plan.excluded.filter((exclusion) => exclusion.rules.length === 1 && exclusion.rules[0] === 'context_length');
  const embeddings = request.embedding !== undefined;
  // Some model would take it but for a setting it refuses (a forced tool, thinking turned off): the
  // request's to change, a 400 naming the field, never forwarded to be refused upstream.
  const refusedSetting = tooLong.length > 0 ? undefined : refusedRequestSetting(plan.excluded, request);
  const code = tooLong.length > 0 ? 'context_length_exceeded' : refusedSetting !== undefined ? refusedSetting.code : 'route_denied';
  const tooLongReasons = summarisedExclusions(tooLong);
  const remoteMediaReason = refusedSetting?.code === 'remote_media_url' ? remoteMediaRefusal(plan.excluded) : undefined;
  const message =
    tooLong.length > 0
      ? `${embeddings ? 'an input is too long for every embedding model' : 'prompt is too long for every model'} this ${classification.level} request may use: ${tooLongReasons}`
      : remoteMediaReason !== undefined
        ? `this ${classification.level} request may not be sent: ${remoteMediaReason} (${summarisedExclusions(plan.excluded, besidesRemoteMedia(plan.excluded))})`
        : refusedSetting !== undefined
          ? `no model this ${classification.level} request may use accepts its ${refusedSetting.param}: ${summarisedExclusions(plan.excluded)}`
          : `${routeDeniedSentence(classification.level)}${failedClosedBecause(classification.findings) || imagesBecause(classification)}: ${summarisedExclusions(plan.excluded)}${planFailureSaid(plan)}`;
  const refusalHint = (): string => {
    const whereEveryRule = context.whereEveryRule === undefined ? {} : { whereEveryRule: context.whereEveryRule };
    if (tooLong.length > 0) return hintForExclusions(tooLong, { embeddings, ...whereEveryRule });
    const unpinned = context.planUnpinned();
    const permit = context.permit === undefined ? undefined : presentedPermitOf(context.permit, context.providers, classification.level, context.sessionId);
    return hintForExclusions(plan.excluded, {
      alternatives: alternativesTo(plan, unpinned),
      ...(permit === undefined ? {} : { permit }),
      // A pinned request considered only what it named: this host's models are those of the same request unpinned.
      localLeftOut: localModelsLeftOut((unpinned ?? plan).excluded, context.providers),
      embeddings,
      sensitivity: classification.level,
      ...whereEveryRule,
    });
  };
  // The model the request named is of the other kind (a chat model named for embeddings): the
  // request's to fix, whatever its data (exit 2, the gateway's 400) — not the policy's refusal.
  const wrongKind = context.planUnpinned() === undefined ? undefined : wrongKindNamed(plan, request, context.providers);
  if (wrongKind !== undefined) {
    return new ModelKindError(wrongKind, {
      hint: refusalHint(),
      details: { sensitivity: classification.level, findings: classification.findings, excluded: plan.excluded, param: 'model' },
    });
  }
  return new PolicyRefusalError(code, message, {
    hint: refusalHint(),
    details: {
      sensitivity: classification.level,
      findings: classification.findings,
      excluded: plan.excluded,
      // The request field a gateway client is told is at fault (`ClientError.param`).
      ...(tooLong.length > 0 ? { param: tooLongParam(request) } : refusedSetting !== undefined ? { param: refusedSetting.param } : {}),
    },
  });
}

/** The commands of the quick start that register a provider, as a `no_providers` hint names them. */
const REGISTER_COMMANDS =
  '`syndicate provider add NAME` (an engine or API of the catalog: `syndicate provider add --list`), ' +
  '`syndicate engine serve --model FILE.gguf --register embedded` (a GGUF model served on this host, as the quick start does) or `syndicate provider register FILE` (your own record)';

/**
 * A request the router had no model to consider for: nothing registered (or nothing active), so
 * whatever its data, nothing could take it — the setup's to fix, not the policy's refusal (exit 2;
 * the gateway's 503 that is not retried). The hint names the commands of the quick start. With
 * `missing`, models are registered but none of the kind the request needs (`missingModelKind`):
 * the message says which kind, the hint how to register one, `details.excluded` the models there are.
 */
export function noProvidersError(
  classification: { level: SensitivityLevel; findings: readonly RouteFinding[] },
  missing?: { kind: 'embedding' | 'chat'; excluded: readonly Exclusion[] },
): NoProvidersError {
  const details = { sensitivity: classification.level, findings: classification.findings, excluded: missing?.excluded ?? [] };
  if (missing?.kind === 'embedding') {
    return new NoProvidersError('no embedding model is registered: nothing can take an embeddings request yet (every model registered is a chat model)', {
      hint:
        'register an embedding model: `syndicate provider add ollama` (after `ollama pull nomic-embed-text`), `syndicate provider add lmstudio` or `syndicate provider add llama.cpp` ' +
        '(a llama-server started with `--embeddings`) register an engine\'s embedding models; or declare one `kind: embedding` on the openai wire in a record and `syndicate provider register FILE`',
      details,
    });
  }
  if (missing?.kind === 'chat') {
    return new NoProvidersError('no chat model is registered: nothing can take a chat request yet (every model registered is an embedding model)', {
      hint: `register a chat model: ${REGISTER_COMMANDS}`,
      details,
    });
  }
  return new NoProvidersError('no provider is registered: nothing can take any request yet', {
    hint: `register one: ${REGISTER_COMMANDS}`,
    details,
  });
}

/**
 * The kind of model the request needs when every model the router considered (the request
 * unpinned: every one registered and active) was left out for its kind — an embeddings request
 * where only chat models are registered (or embedding models on the anthropic wire, which has no
 * embeddings endpoint), a chat request where only embedding models are; undefined otherwise.
 */
function missingModelKind(plan: RoutePlan, request: CanonicalRequest): 'embedding' | 'chat' | undefined {
  if (!leftOutForKind(plan)) return undefined;
  return request.embedding === undefined ? 'chat' : 'embedding';
}

/** Whether the plan has no candidate and left out every model it considered (at least one) for its kind (`model_kind`). */
function leftOutForKind(plan: RoutePlan): boolean {
  return plan.candidates.length === 0 && plan.excluded.length > 0 && plan.excluded.every((exclusion) => exclusion.rules.includes('model_kind'));
}

/**
 * What a pinned request named when every model it named was left out for its kind (`model_kind`):
 * `ollama:llama3.2 is a chat model: it does not take embeddings requests` (or an embedding model on
 * a wire without embeddings: `claude:voyage is on the anthropic wire: it does not take …`); undefined otherwise.
 */
function wrongKindNamed(plan: RoutePlan, request: CanonicalRequest, providers: readonly RegisteredProvider[]): string | undefined {
  if (!leftOutForKind(plan)) return undefined;
  const embeddings = request.embedding !== undefined;
  const what = ({ provider, model }: Exclusion): string => {
    const record = providers.find((entry) => entry.id === provider)?.record;
    const kind = modelKindOf(record?.models.find((entry) => entry.id === model) ?? {});
    if (embeddings && kind === 'embedding') return `an embedding model on the ${record?.wire ?? 'anthropic'} wire, which has no embeddings endpoint`;
    return kind === 'embedding' ? 'an embedding model' : 'a chat model';
  };
  const described = plan.excluded.map((exclusion) => `${exclusion.provider}:${exclusion.model} is ${what(exclusion)}`).join(', ');
  return `${described}: ${plan.excluded.length === 1 ? 'it does' : 'they do'} not take ${embeddings ? 'embeddings' : 'chat'} requests`;
}

/**
 * The sentence a `route_denied` refusal begins with, as every surface says it: `run`, the gateway
 * and MCP `complete` follow it with the models left out and why; `route` and MCP `route_explain`
 * say it alone, above the plan that names each model.
 */
export function routeDeniedSentence(level: SensitivityLevel): string {
  return `no provider may receive this ${level} request`;
}

/** One model left out, as a refusal lists it: `provider:model: reason; reason`. */
function exclusionLine(exclusion: Exclusion): string {
  return `${exclusion.provider}:${exclusion.model}: ${exclusion.reasons.join('; ')}`;
}

/** Up to this many models left out, a refusal's message lists each with its reasons. */
const EXCLUSIONS_LISTED_IN_FULL = 5;
/** Beyond that, it names this many rules, each with its first model and how many more it left out. */
const RULES_NAMED = 3;

/**
 * The models left out, as a refusal's message says them (`lines[i]` says `excluded[i]`): each
 * one when there are few; else grouped by the rule that left each out first (see
 * `summarisedModels`). The refusal's hint ends with where the caller sees every one
 * (`whereEveryRule`: `route --explain`), and the error's `details.excluded` keeps them all. A
 * registry of 20 models made a message of several kilobytes, on stderr, in a gateway client's
 * error and an MCP tool's result; the pipeline's `inference_unavailable` says its models down the
 * same way.
 */
export function summarisedExclusions(excluded: readonly Exclusion[], lines: readonly string[] = excluded.map(exclusionLine)): string {
  return summarisedModels(
    lines,
    excluded.map((exclusion) => exclusion.rules[0] ?? 'other'),
    { what: 'left out', groupsAre: 'rules' },
  );
}

/**
 * Lines each naming a model, as a message says them: each one when there are few; else grouped
 * (`groups[i]` is the group of `lines[i]`: the rule that left the model out, the provider that
 * rate-limited it), the largest groups first, each with its first line and how many more it holds
 * (`(and 19 more left out by unhealthy)`: `what`, by the group), the rest counted (`and 2 more left
 * out by 2 other rules`: `groupsAre`).
 */
export function summarisedModels(lines: readonly string[], groups: readonly string[], { what, groupsAre }: { what: string; groupsAre: string }): string {
  if (lines.length <= EXCLUSIONS_LISTED_IN_FULL) return lines.join(' | ');
  const byGroup = new Map<string, number[]>();
  groups.forEach((group, index) => {
    const indexes = byGroup.get(group) ?? [];
    indexes.push(index);
    byGroup.set(group, indexes);
  });
  const largestFirst = [...byGroup].sort((left, right) => right[1].length - left[1].length);
  const named = largestFirst.slice(0, RULES_NAMED).map(([group, indexes]) => {
    const more = indexes.length - 1;
    return `${lines[indexes[0]!]!}${more === 0 ? '' : ` (and ${more} more ${what} by ${group})`}`;
  });
  const rest = largestFirst.slice(RULES_NAMED);
  const restCount = rest.reduce((total, [, indexes]) => total + indexes.length, 0);
  const others = rest.length === 0 ? '' : `; and ${restCount} more ${what} by ${rest.length === 1 ? rest[0]![0] : `${rest.length} other ${groupsAre}`}`;
  return `${lines.length} models ${what}: ${named.join(' | ')}${others}`;
}

/**
 * Why the classifier failed closed, when it did: ` (token ids (3 in 1 input; only the model's
 * tokenizer can read them) cannot be scanned: treated as restricted)`. The caller sent nothing it
 * would call sensitive (token ids, a content part of an unknown type), so the level alone would not
 * tell it why nothing may take the request.
 */
function failedClosedBecause(findings: readonly RouteFinding[]): string {
  const failures = findings.filter((finding) => finding.detector === 'classifier.error').map((finding) => finding.reason);
  return failures.length === 0 ? '' : ` (${[...new Set(failures)].join('; ')})`;
}

/**
 * Why planning left every non-local provider out unexamined, when that is what refused it: the
 * exclusions say only `planning failed closed`, and a gateway client cannot see the operator's
 * policy file or the gateway's log.
 */
function planFailureSaid(plan: RoutePlan): string {
  if (plan.failure === undefined || !plan.excluded.some((exclusion) => exclusion.rules.includes('fail_closed'))) return '';
  return `; ${plan.failure}`;
}

/**
 * Why the request is confidential when its images alone made it so: ` (it carries an image: …)`.
 * Every image part is confidential whatever it shows — its pixels cannot be scanned, and screenshots
 * and camera pictures are what it most often is — so a caller that sent a harmless picture and no
 * sensitive word would not otherwise tell why nothing hosted may take it.
 */
function imagesBecause(classification: { level: SensitivityLevel; findings: readonly RouteFinding[] }): string {
  const atLevel = classification.findings.filter((finding) => finding.level === classification.level);
  if (atLevel.length === 0 || !atLevel.every(isImagePartFinding)) return '';
  return ' (it carries an image: an image part is confidential whatever it shows, as screenshots and camera pictures are; a local model tagged `vision` may take it)';
}

interface RefusedSetting {
  code: 'tool_choice_unsupported' | 'thinking_unsupported' | 'reasoning_effort_unsupported' | 'tools_not_supported' | 'empty_content' | 'no_messages' | 'image_url_unsupported' | 'remote_media_url';
  param: string;
}

/**
 * The request setting that kept out a model nothing else kept out (`tool_choice`: it forces a
 * tool; `thinking`: it turns thinking off; `reasoning`: it asks a model that does not reason to;
 * `tools_refused`: tools the engine refused earlier;
 * `empty_content`: a turn the anthropic wire cannot send; `no_messages`: a system prompt alone, which it cannot send either; `image_url`: an image URL Ollama
 * refuses; `remote_media`: an image URL a local engine would fetch, which the level keeps from
 * the network — still the cause when the model is also held back by its health just now), with
 * the refusal's code and the request field at fault; undefined when none did.
 */
function refusedRequestSetting(excluded: readonly Exclusion[], request: CanonicalRequest): RefusedSetting | undefined {
  const only = (rule: ExclusionRule): boolean => excluded.some((exclusion) => exclusion.rules.length === 1 && exclusion.rules[0] === rule);
  const remoteMediaOnly = excluded.some(
    (exclusion) => exclusion.rules.includes('remote_media') && exclusion.rules.every((rule) => rule === 'remote_media' || rule === 'unhealthy' || rule === 'rate_limited'),
  );
  if (remoteMediaOnly) return { code: 'remote_media_url', param: 'messages' };
  if (only('tool_choice')) return { code: 'tool_choice_unsupported', param: 'tool_choice' };
  // `thinking`, or the OpenAI client's `reasoning_effort` / `reasoning.effort` that turned it off.
  if (only('thinking')) return { code: 'thinking_unsupported', param: manualThinkingOf(request)?.param ?? 'thinking' };
  // The effort (`reasoning_effort`, `reasoning.effort`, `think`) or Anthropic `thinking` a model that does not reason refuses.
  if (only('reasoning')) return { code: 'reasoning_effort_unsupported', param: requestedEffort(request)?.field ?? 'reasoning_effort' };
  if (only('tools_refused')) return { code: 'tools_not_supported', param: 'tools' };
  if (only('empty_content')) return { code: 'empty_content', param: 'messages' };
  if (only('no_messages')) return { code: 'no_messages', param: 'messages' };
  if (only('image_url')) return { code: 'image_url_unsupported', param: 'messages' };
  return undefined;
}

/** Why the router left candidates out for the request's image URL (`remote_media`): the same for each. */
function remoteMediaRefusal(excluded: readonly Exclusion[]): string | undefined {
  for (const exclusion of excluded) {
    const index = exclusion.rules.indexOf('remote_media');
    if (index >= 0) return exclusion.reasons[index];
  }
  return undefined;
}

/** Each model left out, with its reasons but the image URL's, which the refusal states once. */
function besidesRemoteMedia(excluded: readonly Exclusion[]): string[] {
  return excluded.map((exclusion) => {
    const others = exclusion.reasons.filter((_, index) => exclusion.rules[index] !== 'remote_media');
    return `${exclusion.provider}:${exclusion.model}: ${others.length === 0 ? 'its image URL alone' : others.join('; ')}`;
  });
}

/**
 * A presented permit as a refusal's hint needs it: what it covers — judged as verification judges
 * it, for this request's level and session — and the command that issues one for another target.
 */
function presentedPermitOf(permit: PermitPayload, providers: readonly RegisteredProvider[], level: SensitivityLevel, sessionId: string | undefined): PresentedPermit {
  const permitted = providers.find((provider) => provider.id === permit.provider);
  return {
    target: `${permit.provider}:${permit.model}`,
    covers: (alternative) => {
      const target = providers.find((provider) => provider.id === alternative.provider);
      if (permitted === undefined || target === undefined) return false;
      const invocation = { providerId: target.id, providerVersion: target.currentVersion, model: alternative.model, sensitivity: level, ...(sessionId === undefined ? {} : { sessionId }) };
      return scopeDifferences(permit, permitted, invocation).length === 0;
    },
    issueCommand: (alternative) =>
      permitIssueCommand({ providerId: alternative.provider, model: alternative.model, maxSensitivity: level, ...(permit.session === undefined ? {} : { sessionId: permit.session }) }),
  };
}

/** The request field a too-long prompt or input is in: an embeddings request's `input`, a text completion's `prompt`, a chat's `messages`. */
export function tooLongParam(request: CanonicalRequest): 'input' | 'prompt' | 'messages' {
  if (request.embedding !== undefined) return 'input';
  return request.completion === undefined ? 'messages' : 'prompt';
}

/**
 * A plan without candidates whose models health alone keeps out are all held back by rate limits
 * (none down): every candidate is rate-limiting (429, exit 5) with the shortest wait left, as the
 * providers asked — what `run`, the gateway and MCP `complete` fail with, and what `route` and
 * `route_explain` say of it. Undefined otherwise (a model down: inference unavailable; else refused).
 */
export function rateLimitedPlanError(plan: RoutePlan, details: Record<string, unknown>): UpstreamError | undefined {
  if (plan.candidates.length > 0 || plan.excluded.some(onlyDown)) return undefined;
  const heldBack = plan.excluded.filter(onlyRateLimited);
  if (heldBack.length === 0) return undefined;
  const waits = heldBackWaits(heldBack);
  // Past five models, counted and grouped by rule as a route refusal says them; `details` and the evidence keep every one.
  return rateLimitedError(summarisedExclusions(plan.excluded), waits.length === 0 ? undefined : Math.min(...waits), details);
}

/** Seconds until each candidate the plan held back for a rate limit may be used again. */
export function heldBackWaits(excluded: readonly Exclusion[]): number[] {
  return excluded.flatMap((exclusion) => (onlyRateLimited(exclusion) && exclusion.retryAfterSeconds !== undefined ? [exclusion.retryAfterSeconds] : []));
}

/**
 * The sentence an error of a request nothing may take just now begins with, by its code, before
 * the models and why in brackets (`unavailableMessage`): what MCP `route_explain` says above its
 * explanation, which names each model.
 */
const UNAVAILABLE_SENTENCES = {
  inference_unavailable: 'inference unavailable, try again later',
  rate_limited: 'every candidate is rate-limiting this request',
} as const;

export type UnavailableCode = keyof typeof UNAVAILABLE_SENTENCES;

/** `inference unavailable, try again later (MODELS AND WHY)`, or the rate-limited sentence, as every surface says it. */
export function unavailableMessage(code: UnavailableCode, reasons: string): string {
  return `${UNAVAILABLE_SENTENCES[code]} (${reasons})`;
}

/** The sentence of an unavailable request's error (`unavailableMessage`) without its models: `rate_limited`'s, else `inference_unavailable`'s. */
export function unavailableSentence(error: UpstreamError): string {
  return UNAVAILABLE_SENTENCES[error.code === 'rate_limited' ? 'rate_limited' : 'inference_unavailable'];
}

/** Every candidate refused with (or is held back by) a 429. `models`: the models rate-limiting, as a message says them (`summarisedModels`). */
export function rateLimitedError(models: string, wait: number | undefined, details: Record<string, unknown>, amendHint: (hint: string) => string = (hint) => hint): UpstreamError {
  return new UpstreamError(unavailableMessage('rate_limited', models), {
    code: 'rate_limited',
    status: 429,
    isRetryable: true,
    ...(wait === undefined ? {} : { retryAfterSeconds: wait }),
    hint: amendHint(wait === undefined ? 'retry later' : `retry in ${Math.ceil(wait)} s`),
    details,
  });
}
