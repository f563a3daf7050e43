import { isIP } from 'node:net';
import { counted } from '../common/counted.js';
import { isLoopbackAddress } from '../common/loopback.js';
import {
  COMPLETIONS_TAG,
  FILL_IN_MIDDLE_TAG,
  CALLABLE_PROVIDER_CLASSES,
  capabilityRank,
  isHostedClass,
  modelKindOf,
  sensitivityRank,
  type ProviderClass,
  type SensitivityLevel,
} from '../common/vocabulary.js';
import { planSwap, type SwapModel, type SwapPlan } from '../engines/swap.js';
import { policyDigest } from '../policy/digest.js';
import { unknownProviderReferences } from '../policy/references.js';
import type { Policy, WorkflowPreference } from '../policy/types.js';
import { ANTHROPIC_NO_MESSAGES, anthropicEmptyTurnMessage, anthropicSendsNoMessage, anthropicUnsendableTurn } from '../wire/anthropic/adapter.js';
import type { TextCompletionRequest } from '../wire/canonical.js';
import { describeEffortCarriage, effortRefusal } from '../wire/reasoning.js';
import { missingCredential } from '../registry/credentials.js';
import { findDeclaredModel, findNamedModel, sameModelOnEngine } from '../registry/model-names.js';
import { tierForInput, usageCostUsd } from '../registry/pricing.js';
import type { ProviderModel, RegisteredProvider } from '../registry/types.js';
import { EMBEDDING_SPECIAL_TOKENS, fitContext, inputsOverWindow, templateAllowance } from './context-fit.js';
import { largerContextFix, loadedContextOf, loadedContextSource } from './loaded-context.js';
import { attemptQueue, attemptQueueAfterProviderFailures, widestClass, type AttemptQueue } from './fallback.js';
import { unavailabilityOfExclusions } from './hints.js';
import { heldBack } from './holds.js';
import { remoteMediaVerdict } from './remote-media.js';
import { matchTasks, requestTexts, requestTraits, type MatchedTask, type RequestTraits } from './request-traits.js';
import type { Candidate, Exclusion, ExclusionRule, RouteContext, RouteInput, RoutePlan } from './types.js';

const DEFAULT_OUTPUT_TOKENS = 1024;

/** The output assumed for a request that sets no max output: the policy's `cost.defaultOutputTokens`, else 1 024. */
export function assumedOutputTokens(policy: Policy): number {
  return policy.cost?.defaultOutputTokens ?? DEFAULT_OUTPUT_TOKENS;
}

/**
 * Turns (request, sensitivity, policy, providers, health, warm state) into an ordered candidate
 * list with reasons, the exclusions with theirs, and an explanation. Pure: no I/O, no clock
 * beyond `input.now`. Never throws: if anything goes wrong the plan fails closed and only
 * `local` candidates may appear.
 */
/** Today's spend, read only when a priced candidate needs the per-day ceiling checked. */
function spentToday(context: RouteContext): number {
  const spent = context.spentTodayUsd;
  return typeof spent === 'function' ? spent() : (spent ?? 0);
}

export function planRoute(input: RouteInput, context: RouteContext): RoutePlan {
  try {
    return planStrictly(input, context, context.policyFailure === undefined ? { forceLocal: false, failure: undefined } : { forceLocal: true, failure: context.policyFailure });
  } catch (error) {
    const failure = `planning failed (${error instanceof Error ? error.message : String(error)}); failing closed to local providers only`;
    try {
      return planStrictly(input, context, { forceLocal: true, failure });
    } catch {
      return emptyFailedClosedPlan(input, failure, context.policy);
    }
  }
}

interface PlanMode {
  forceLocal: boolean;
  failure: string | undefined;
}

interface Evaluation {
  provider: RegisteredProvider;
  model: ProviderModel;
  rules: ExclusionRule[];
  /** Why it is excluded, one per rule. */
  exclusionReasons: string[];
  /** Why it is in or where it ranks. */
  reasons: string[];
  /** Exclusions that only concern latency: such candidates are a last resort, not refused. */
  latencyOnly: boolean;
  demoted: boolean;
  /** The request asks for logprobs and the candidate's wire returns none (see `logprobsUnanswered`). */
  logprobsUnanswered: boolean;
  taskMatch: boolean;
  estimatedCostUsd: number;
  expectedFirstTokenMs: number | undefined;
  firstTokenSource: string | undefined;
  failedCalls: number | undefined;
  /**
   * How `prefer: fastest` ranks it before `latencyKey`: 0 by its expected first token — measured, a
   * cold model's known load time, or unknown (a model never tried ranks as fast: it gets its chance
   * to be measured) —, 1 a cold model whose load time is unknown (its first token waits on a load of
   * any length: after every model of standing 0), 2 its recent calls all failed.
   */
  latencyStanding: 0 | 1 | 2;
  latencyKey: number;
  /** Its first token was seen (`FirstTokenEstimate.measured`). */
  measured: boolean;
  /** A local model its engine must load first, whose load time is not known (`estimateFirstToken`). */
  loadUnknown: boolean;
  warm: boolean | undefined;
  /** The window holds the prompt but not the requested output: the max output sent instead. */
  loweredMaxTokens: number | undefined;
  /** No max output requested: the output assumed, within what the window leaves (see `Candidate`). */
  defaultMaxTokens: number | undefined;
  /** Held back by a rate limit: seconds until it may be used again. */
  retryAfterSeconds: number | undefined;
  /** Down: why, and when it is tried again. */
  unavailable: Exclusion['unavailable'];
  /** The rate limit or unavailability holds back this model alone, not its provider. */
  heldModel: boolean;
  /** Its key's environment variable, when unset: it cannot be called. */
  missingKey: string | undefined;
  /** Models its engine must unload first: it is cold and the engine's VRAM budget has no room (see `coldSwap`). */
  evicts: string[] | undefined;
}

function planStrictly(input: RouteInput, context: RouteContext, mode: PlanMode): RoutePlan {
  const { policy } = context;
  const notes: string[] = [];
  if (mode.failure !== undefined) notes.push(mode.failure);
  let failedClosed = mode.forceLocal;

  // (Only a policy that orders fallbacks has references to check: no work per request otherwise.)
  if ((policy.fallback?.order?.length ?? 0) > 0) notes.push(...unknownProviderReferences(policy, context.providers.map((provider) => provider.id)));
  const levelClasses = allowedClassesForLevel(policy, input.sensitivity, notes);
  if (levelClasses.failedClosed) failedClosed = true;
  const tier = resolveTrustTier(policy, input.trustTier, notes);
  if (tier.failedClosed) failedClosed = true;
  let allowedClasses = levelClasses.classes.filter((providerClass) => tier.allowedClasses.includes(providerClass));
  if (failedClosed) allowedClasses = allowedClasses.filter((providerClass) => providerClass === 'local');
  const tierRefuses = sensitivityRank(input.sensitivity) > sensitivityRank(tier.maxSensitivity);

  const workflow: WorkflowPreference = policy.workflows?.[input.workflow] ?? { prefer: [], latencyBudget: {} };
  const firstTokenBudget = workflow.latencyBudget?.firstTokenMs;
  const traits = requestTraits(input.request);
  const remoteMedia = remoteMediaVerdict(input.mediaUrls, input.sensitivity, allowedClasses, policy, failedClosed, input.mediaHosts);
  if (remoteMedia.note !== undefined) notes.push(remoteMedia.note);
  if (input.promptTokensAtLeast === true) {
    notes.push(`the prompt was counted until it outgrew every context window: at least ${input.estimatedPromptTokens} tokens, too long for every model`);
  }
  const embedding = input.request.embedding;
  // Task rules say what a chat model is asked to do; the documents an embeddings request carries ask nothing.
  const tasks = embedding === undefined ? matchTasks(requestTexts(input.request), policy.tasks ?? []) : [];
  const preferTags = new Set(tasks.flatMap((task) => task.rule.preferTags));
  const maxTokens = input.maxTokens ?? input.request.maxTokens;
  const outputTokens = maxTokens ?? assumedOutputTokens(policy);
  const allowance = templateAllowance(input.request);
  const egressHosts = new Set((policy.egress?.allowHosts ?? []).map((host) => host.toLowerCase()));
  const selection = selectModels(input.request.model, context.providers, input.explicitProvider);
  // Asked of the request once, for the first anthropic-wire candidate: it walks the whole conversation.
  let anthropicUnsendable: { turn: number | undefined } | undefined;

  const evaluations: Evaluation[] = [];
  const failClosedExclusions: Exclusion[] = [];
  for (const { provider, model } of selection.pairs) {
    const record = provider.record;
    if (mode.forceLocal && record.class !== 'local') {
      // Not even evaluated: whatever broke the first pass must not get a second chance to let data out.
      failClosedExclusions.push({
        provider: provider.id,
        model: model.id,
        class: record.class,
        rules: ['fail_closed'],
        reasons: ['planning failed closed: only local providers are considered'],
      });
      continue;
    }
    const rules: ExclusionRule[] = [];
    const exclusionReasons: string[] = [];
    const reasons: string[] = [];
    const exclude = (rule: ExclusionRule, reason: string): void => {
      rules.push(rule);
      exclusionReasons.push(reason);
    };
    const providerClass = record.class;
    checkModelKind(provider, model, input.request, exclude);
    if (traits.imageUrl && record.engine?.kind === 'ollama') {
      exclude('image_url', `Ollama takes images as base64 data only and refuses an image URL ("${OLLAMA_IMAGE_URL_REFUSAL}"); syndicate never fetches one`);
    } else if (remoteMedia.refusal !== undefined && allowedClasses.includes(providerClass)) {
      // Said only of what the class rule lets through (and Ollama, which fetches no URL, is refused above).
      exclude('remote_media', remoteMedia.refusal);
    }
    const unsendableTurn = record.wire === 'anthropic' ? (anthropicUnsendable ??= { turn: anthropicUnsendableTurn(input.request) }).turn : undefined;
    if (unsendableTurn !== undefined) {
      exclude('empty_content', `the anthropic wire refuses a turn with no content (${anthropicEmptyTurnMessage(unsendableTurn)})`);
    } else if (record.wire === 'anthropic' && input.request.embedding === undefined && input.request.completion === undefined && anthropicSendsNoMessage(input.request)) {
      // A chat request only: embeddings and text completions have no messages and their own rules.
      exclude('no_messages', `the anthropic wire needs a message besides the system prompt (${ANTHROPIC_NO_MESSAGES})`);
    }
    const missingKey = context.env === undefined ? undefined : missingCredential(record, context.env);
    if (missingKey !== undefined) reasons.push(`key ${missingKey} not set: ranked after every candidate that can be called`);

    if (providerClass === 'blocked') exclude('blocked', 'provider class is blocked: never called');
    if (provider.retiredAt !== null) exclude('retired', `provider retired at ${provider.retiredAt}`);
    if (providerClass !== 'blocked') {
      const classAllowed = levelClasses.classes.includes(providerClass) && !(failedClosed && providerClass !== 'local');
      if (!classAllowed) exclude('class_not_allowed', classNotAllowed(providerClass, input.sensitivity, allowedClasses));
      // A level above the tier's maximum keeps every class from this caller, the allowed ones too:
      // said of each provider, so the remedy is the tier's, not registering a provider of another class.
      if (tierRefuses) exclude('trust_tier', `trust tier ${tier.name} may send at most ${tier.maxSensitivity} data`);
      else if (classAllowed && !tier.allowedClasses.includes(providerClass)) exclude('trust_tier', `trust tier ${tier.name} may not use class ${providerClass}`);
    }
    const host = hostOf(record.baseUrl);
    if (isHostedClass(providerClass) && providerClass !== 'blocked') {
      if (host === undefined || !egressHosts.has(host)) {
        exclude('egress_denied', `host ${host ?? record.baseUrl} is not on the egress allow-list`);
      }
    } else if (providerClass === 'local' && (host === undefined || (isIP(bareHost(host)) !== 0 && !isLoopbackAddress(bareHost(host))))) {
      exclude('not_loopback', `class local but host ${host ?? record.baseUrl} is not a loopback address`);
    }

    // Down or rate-limited, the provider or (its provider up) this model on its own: the provider's other models stay in.
    const hold = heldBack(provider, model.id, context.health[provider.id], context.modelHealth?.[provider.id]?.[model.id], input.now);
    if (hold !== undefined) exclude(hold.rule, hold.reason);

    // An embeddings request produces no output and asks for no chat capability: no context budget for
    // an answer, no capability rules; the window must hold each input instead.
    if (embedding === undefined) checkCapabilities(record.deviations ?? [], model, traits, policy, input, tasks, exclude, reasons);
    else checkEmbeddingWindow(model, embedding, input.embeddingInputTokens, record.engine?.kind === 'ollama', exclude, reasons);
    if (embedding === undefined && traits.reasoning !== undefined) {
      const effortTarget = {
        wire: record.wire,
        ...(record.engine === undefined ? {} : { engine: record.engine.kind }),
        ...(record.vendor === undefined ? {} : { vendor: record.vendor }),
        ...(model.tags === undefined ? {} : { modelTags: model.tags }),
        ...(model.reasoningEfforts === undefined ? {} : { modelEfforts: model.reasoningEfforts }),
        ...(model.deviations === undefined ? {} : { modelDeviations: model.deviations }),
      };
      const refusal = effortRefusal(traits.reasoning, input.request.thinking, effortTarget);
      if (refusal !== undefined) exclude('reasoning', refusal);
      else {
        const carriage = describeEffortCarriage(input.request, effortTarget);
        if (carriage !== undefined) reasons.push(carriage);
      }
    }
    const toolsRefusal = traits.tools ? context.toolsRefused?.[provider.id]?.[model.id] : undefined;
    if (toolsRefusal !== undefined) {
      exclude('tools_refused', `request has tools and ${provider.id} refused the tools of a request for ${model.id} since ${toolsRefusal.since}: ${toolsRefusal.reason}`);
    }
    const envelope = input.sessionEnvelope;
    if (envelope !== undefined && capabilityRank(model.capabilityClass) > capabilityRank(envelope.maxCapability)) {
      exclude('session_envelope', `capability ${model.capabilityClass} is above session ${envelope.sessionId}'s approved ${envelope.maxCapability}`);
    }
    const { loweredMaxTokens, defaultMaxTokens } =
      embedding === undefined ? checkContext(contextWindowOf(provider, model, context), input, allowance, maxTokens, outputTokens, exclude, reasons) : {};
    const demoted = traits.json && !traits.strictJson && (record.deviations ?? []).includes('weak_json_adherence') && policy.capabilities?.weakJson !== 'exclude';
    if (demoted) reasons.push('declares weak_json_adherence: ranked after models without it');
    const logprobsUnanswered = traits.logprobs && record.wire !== 'openai';
    if (logprobsUnanswered) reasons.push(`request asks for logprobs and the ${record.wire} wire returns none: ranked after openai-wire models (answered without them if it is chosen)`);

    const price = model.price;
    let estimatedCostUsd = 0;
    if (price === undefined) {
      if (isHostedClass(providerClass) && providerClass !== 'blocked' && (policy.cost?.perRequestUsd !== undefined || policy.cost?.perDayUsd !== undefined)) {
        exclude('price_unknown', 'no price declared, so the cost ceiling cannot be checked');
      }
    } else {
      const pricedOutput = embedding === undefined ? (loweredMaxTokens ?? defaultMaxTokens ?? outputTokens) : 0;
      estimatedCostUsd = usageCostUsd(price, { inputTokens: input.estimatedPromptTokens, outputTokens: pricedOutput });
      const tier = tierForInput(price, input.estimatedPromptTokens);
      // The vendor bills the whole request at the tier's rates: say so wherever the estimate is quoted.
      const estimated = `estimated ${input.promptTokensAtLeast === true ? 'at least ' : ''}${formatUsd(estimatedCostUsd)}${tier === undefined ? '' : ` (prompt over ${tier.aboveInputTokens} tokens: the whole request at $${tier.inputPerMTok} / $${tier.outputPerMTok} per MTok in/out)`}`;
      if (tier !== undefined) reasons.push(estimated);
      const ceiling = policy.cost?.perRequestUsd;
      if (ceiling !== undefined && estimatedCostUsd > ceiling) {
        exclude('cost_per_request', `${estimated} exceeds the per-request ceiling ${formatUsd(ceiling)}`);
      }
      const daily = policy.cost?.perDayUsd;
      const spent = daily !== undefined && estimatedCostUsd > 0 ? spentToday(context) : 0;
      if (daily !== undefined && estimatedCostUsd > 0 && spent + estimatedCostUsd > daily) {
        const spentText = Number.isFinite(spent) ? `${formatUsd(spent)} spent today` : 'spend today unknown';
        exclude('cost_per_day', `${spentText} + ${estimated} exceeds the per-day ceiling ${formatUsd(daily)}`);
      }
    }

    const latency = estimateFirstToken(provider, model, context);
    if (latency.note !== undefined) reasons.push(latency.note);
    if (firstTokenBudget !== undefined && latency.expectedMs !== undefined && latency.expectedMs > firstTokenBudget) {
      exclude('latency_budget', `expected first token ${latency.expectedMs} ms exceeds the ${input.workflow} budget of ${firstTokenBudget} ms`);
    }

    const swap = latency.warm === false ? coldSwap(provider, model, context.warm?.[provider.id] ?? [], context.inUse?.[provider.id] ?? [], preferTags, tasks) : undefined;
    if (swap?.kind === 'refused') exclude('engine_budget', `cold, and no room can be made for it: ${swap.message}`);
    else if (swap !== undefined && swap.evict.length > 0) reasons.push(`cold on a full engine: loading it evicts ${swap.evict.map((entry) => `${entry.model} (priority ${entry.priority})`).join(', ')}`);

    // Only a candidate that misses nothing but the first-token budget may come back as a last resort.
    const latencyOnly = rules.length === 1 && rules[0] === 'latency_budget';

    const taskMatch = model.tags?.some((tag) => preferTags.has(tag)) ?? false;
    if (taskMatch) {
      const tag = model.tags?.find((candidate) => preferTags.has(candidate)) ?? '';
      reasons.push(`tagged ${tag}, preferred for task ${tasks.filter((task) => task.rule.preferTags.includes(tag)).map((task) => task.rule.name).join(', ')}`);
    }
    evaluations.push({
      provider,
      model,
      rules,
      exclusionReasons,
      reasons,
      latencyOnly,
      demoted,
      logprobsUnanswered,
      taskMatch,
      estimatedCostUsd,
      expectedFirstTokenMs: latency.expectedMs,
      firstTokenSource: latency.source,
      failedCalls: latency.failedCalls,
      // Unknown ranks as fast (a model never tried gets its chance), but not a load of unknown length; all failed, last.
      latencyStanding: latency.failedCalls !== undefined ? 2 : latency.loadUnknown === true ? 1 : 0,
      latencyKey: latency.expectedMs ?? 0,
      measured: latency.measured,
      loadUnknown: latency.loadUnknown === true,
      warm: latency.warm,
      loweredMaxTokens,
      defaultMaxTokens,
      retryAfterSeconds: hold?.retryAfterSeconds,
      unavailable: hold?.unavailable,
      heldModel: hold?.heldModel ?? false,
      missingKey,
      evicts: swap?.kind === 'load' && swap.evict.length > 0 ? swap.evict.map((entry) => entry.model) : undefined,
    });
  }

  let eligible = evaluations.filter((evaluation) => evaluation.rules.length === 0);
  if (eligible.length === 0) {
    const lastResort = evaluations.filter((evaluation) => evaluation.latencyOnly);
    if (lastResort.length > 0) {
      notes.push(`no candidate meets the ${input.workflow} first-token budget; the ones that miss only that budget are kept as a last resort`);
      for (const evaluation of lastResort) {
        evaluation.reasons.push(`kept as a last resort: ${evaluation.exclusionReasons.join('; ')}, but nothing faster is allowed`);
        evaluation.rules = [];
        evaluation.exclusionReasons = [];
      }
      eligible = lastResort;
    }
  }
  const ranked = rankEvaluations(eligible, workflow.prefer ?? []);
  const candidates: Candidate[] = ranked.map((evaluation, index) => ({
    provider: evaluation.provider.id,
    version: evaluation.provider.currentVersion,
    class: evaluation.provider.record.class,
    model: evaluation.model.id,
    rank: index + 1,
    reasons: [...evaluation.reasons, ...rankingReasons(evaluation, workflow.prefer ?? [])],
    estimatedCostUsd: roundUsd(evaluation.estimatedCostUsd),
    ...(evaluation.expectedFirstTokenMs === undefined ? {} : { expectedFirstTokenMs: evaluation.expectedFirstTokenMs }),
    ...(evaluation.warm === undefined ? {} : { warm: evaluation.warm }),
    ...(evaluation.loweredMaxTokens === undefined ? {} : { loweredMaxTokens: evaluation.loweredMaxTokens }),
    ...(evaluation.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: evaluation.defaultMaxTokens }),
    ...(evaluation.missingKey === undefined ? {} : { missingKey: evaluation.missingKey }),
    ...(evaluation.evicts === undefined ? {} : { evicts: evaluation.evicts }),
  }));
  const excluded: Exclusion[] = [
    ...evaluations
      .filter((evaluation) => evaluation.rules.length > 0)
      .map((evaluation) => ({
        provider: evaluation.provider.id,
        model: evaluation.model.id,
        class: evaluation.provider.record.class,
        rules: evaluation.rules,
        reasons: evaluation.exclusionReasons,
        ...(evaluation.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: evaluation.retryAfterSeconds }),
        ...(evaluation.unavailable === undefined ? {} : { unavailable: evaluation.unavailable }),
        ...(evaluation.heldModel ? { heldModel: true as const } : {}),
      })),
    ...failClosedExclusions,
  ];

  // Defence in depth: whatever the policy or the code above did, restricted data and a failed-closed plan stay local.
  const safeCandidates = candidates.filter(
    (candidate) => !((input.sensitivity === 'restricted' || failedClosed) && candidate.class !== 'local') && candidate.class !== 'blocked',
  );
  safeCandidates.forEach((candidate, index) => {
    candidate.rank = index + 1;
  });

  const explainContext: ExplainContext = {
    notes,
    levelSource: levelClasses.classes,
    tier,
    workflowPreference: workflow,
    tasks,
    selection,
    traits,
    explicitProvider: input.explicitProvider,
    embedding,
    completion: input.request.completion,
  };
  const plan: Omit<RoutePlan, 'explanation'> = {
    candidates: safeCandidates,
    excluded,
    allowedClasses,
    sensitivity: input.sensitivity,
    workflow: input.workflow,
    trustTier: tier.name,
    tasks: tasks.map((task) => task.rule.name),
    fallback: { order: [...(policy.fallback?.order ?? [])], maxHops: policy.fallback?.maxHops ?? 0 },
    failedClosed,
    ...(mode.failure === undefined ? {} : { failure: mode.failure }),
    notes,
    policyDigest: policyDigest(policy),
  };
  // Written when first read (`route --explain`, the MCP tool, a refusal's evidence and hint, JSON
  // output), not for every routed gateway request, which never reads it. Nothing changes a plan
  // once made, so the text is the same whenever it is read. Added as a new property: a getter in
  // the literal, or one defined over a data property, makes the plan a slow dictionary object.
  let explanation: string | undefined;
  Object.defineProperty(plan, 'explanation', { enumerable: true, get: () => (explanation ??= explain(plan as RoutePlan, explainContext)) });
  return plan as RoutePlan;
}

/** Ollama's OpenAI-compatible layer on an http(s) image URL (openai/openai.go, `decodeImageURL`): a 400 before the model runs. */
const OLLAMA_IMAGE_URL_REFUSAL = 'image URLs are not currently supported, please use base64 encoded data instead';

/**
 * Chat requests never reach an embedding model, nor embeddings requests a chat model or the
 * anthropic wire (which has no embeddings endpoint); token ids never reach Ollama, which embeds
 * text only (its `/v1/embeddings` and `/api/embed` take strings); text completions reach only the
 * models `checkTextCompletion` lets through.
 */
function checkModelKind(provider: RegisteredProvider, model: ProviderModel, request: RouteInput['request'], exclude: (rule: ExclusionRule, reason: string) => void): void {
  const kind = modelKindOf(model);
  const embedding = request.embedding;
  if (embedding === undefined) {
    if (kind === 'embedding') exclude('model_kind', 'an embedding model (kind: embedding): it answers embeddings requests only');
    else if (request.completion !== undefined) checkTextCompletion(provider, model, request.completion, exclude);
    return;
  }
  if (kind !== 'embedding') exclude('model_kind', 'a chat model: embeddings requests go only to models declared kind: embedding');
  else if (provider.record.wire !== 'openai') exclude('model_kind', `the ${provider.record.wire} wire has no embeddings endpoint`);
  if (kind === 'embedding' && embedding.input.kind === 'tokens' && provider.record.engine?.kind === 'ollama') {
    exclude('token_input', 'Ollama embeds text only; this input is token ids');
  }
}

/**
 * A text completion goes only to an openai-wire model tagged `completions` (`provider add` tags
 * those of Ollama, llama-server and vLLM, whose `/v1/completions` takes one; OpenAI's hosted
 * models are chat models), and one with a suffix only to a model also tagged `fill-in-middle`
 * (Ollama's models whose template fills in the middle; llama-server and vLLM refuse `suffix`).
 */
function checkTextCompletion(provider: RegisteredProvider, model: ProviderModel, completion: TextCompletionRequest, exclude: (rule: ExclusionRule, reason: string) => void): void {
  const tags = model.tags ?? [];
  if (provider.record.wire !== 'openai') {
    exclude('completions', `a text completion (POST /v1/completions) and the ${provider.record.wire} wire has no completions endpoint (a prompt to continue is not translated into a conversation)`);
  } else if (!tags.includes(COMPLETIONS_TAG)) {
    exclude('completions', `a text completion (POST /v1/completions) and the model is not tagged ${COMPLETIONS_TAG}`);
  } else if (completion.suffix !== undefined && !tags.includes(FILL_IN_MIDDLE_TAG)) {
    exclude('completions', `a text completion with a suffix (fill in the middle) and the model is not tagged ${FILL_IN_MIDDLE_TAG}`);
  }
}

function checkCapabilities(
  deviations: readonly string[],
  model: ProviderModel,
  traits: RequestTraits,
  policy: Policy,
  input: RouteInput,
  tasks: MatchedTask[],
  exclude: (rule: ExclusionRule, reason: string) => void,
  reasons: string[],
): void {
  const capabilities = policy.capabilities;
  const tags = model.tags ?? [];
  if (traits.tools) {
    const toolsTag = capabilities?.toolsTag ?? 'tools';
    if (capabilities?.requireToolsTag !== false && !tags.includes(toolsTag)) {
      exclude('tools', `request has tools but the model is not tagged ${toolsTag}`);
    }
    if (deviations.includes('nonstandard_tool_call_serialization')) {
      if (capabilities?.nonstandardToolCalls === 'exclude') {
        exclude('tools', 'request has tools and the provider declares nonstandard_tool_call_serialization (policy: exclude)');
      } else {
        reasons.push('declares nonstandard_tool_call_serialization: the wire adapter repairs tool-call arguments to JSON text');
      }
    }
  }
  const modelDeviations = model.deviations ?? [];
  if (traits.forcedTool !== undefined && modelDeviations.includes('forced_tool_choice_unsupported')) {
    exclude('tool_choice', `request forces ${traits.forcedTool} (tool_choice) and the model declares forced_tool_choice_unsupported: it answers such a request with a 400`);
  }
  if (traits.manualThinking !== undefined && modelDeviations.includes('thinking_always_on')) {
    exclude('thinking', `request sets ${traits.manualThinking.setting} and the model declares thinking_always_on: it answers such a request with a 400`);
  }
  if (traits.json && deviations.includes('weak_json_adherence')) {
    if (traits.strictJson) exclude('json', 'request requires strict JSON schema output and the provider declares weak_json_adherence');
    else if (capabilities?.weakJson === 'exclude') exclude('json', 'request asks for JSON and the provider declares weak_json_adherence (policy: exclude)');
  }
  if (traits.vision) {
    const visionTag = capabilities?.visionTag ?? 'vision';
    if (!tags.includes(visionTag)) exclude('vision', `request has images but the model is not tagged ${visionTag}`);
  }
  const taskNames = new Set(tasks.map((task) => task.rule.name));
  for (const rule of capabilities?.rules ?? []) {
    const when = rule.when ?? {};
    const applies =
      (when.task === undefined || taskNames.has(when.task)) &&
      (when.workflow === undefined || when.workflow === input.workflow) &&
      (when.tools === undefined || when.tools === traits.tools) &&
      (when.json === undefined || when.json === traits.json) &&
      (when.vision === undefined || when.vision === traits.vision);
    if (!applies) continue;
    const require = rule.require;
    if (require.minCapabilityClass !== undefined && capabilityRank(model.capabilityClass) < capabilityRank(require.minCapabilityClass)) {
      exclude('capability_rule', `rule ${rule.name}: capability ${model.capabilityClass} is below ${require.minCapabilityClass}`);
    }
    const missing = (require.tags ?? []).filter((tag) => !tags.includes(tag));
    if (missing.length > 0) exclude('capability_rule', `rule ${rule.name}: model lacks tag ${missing.join(', ')}`);
    if (require.minContextWindow !== undefined && model.contextWindow < require.minContextWindow) {
      exclude('capability_rule', `rule ${rule.name}: context window ${model.contextWindow} < ${require.minContextWindow}`);
    }
  }
}

/**
 * The window must hold the prompt (estimate plus chat-template allowance) and leave room for the
 * answer. When it holds the prompt but not the requested max output, the model stays eligible
 * and the output it is sent is lowered to the room (`loweredMaxTokens`); only when the room is
 * under the minimum output is the prompt too long for it (`context_length`, the compaction
 * signal). A request that sets no max output gets `defaultMaxTokens`: the `assumedOutput`, or the
 * room when less.
 */
function checkContext(
  contextWindow: EffectiveWindow,
  input: Pick<RouteInput, 'estimatedPromptTokens' | 'promptTokensAtLeast'>,
  allowance: number,
  maxTokens: number | undefined,
  assumedOutput: number,
  exclude: (rule: ExclusionRule, reason: string) => void,
  reasons: string[],
): { loweredMaxTokens?: number; defaultMaxTokens?: number } {
  const { window } = contextWindow;
  const promptTokens = input.estimatedPromptTokens;
  const fit = fitContext(window, promptTokens, allowance, maxTokens);
  const atLeast = input.promptTokensAtLeast === true ? 'at least ' : '';
  const prompt = `the prompt (${atLeast}${promptTokens}) and the chat template allowance (${allowance})`;
  const loaded = contextWindow.loaded;
  if (fit.kind === 'too_long') {
    // Too long for the model itself: loading it with more would not help, so its record's window is named.
    const declaredFit = loaded === undefined ? fit : fitContext(loaded.declared, promptTokens, allowance, maxTokens);
    const named = loaded !== undefined && declaredFit.kind === 'too_long' ? { window: loaded.declared, fit: declaredFit, loaded: undefined } : { window, fit, loaded };
    const tooLong =
      named.fit.room < 0
        ? `context window ${named.window} < ${atLeast}${promptTokens + allowance} tokens of ${prompt}`
        : `context window ${named.window} leaves ${named.fit.room} tokens after ${prompt}; an answer needs at least ${named.fit.minimumOutput}`;
    // Loaded with less than its record declares: the engine would refuse it (LM Studio, llama-server) or cut its start off unsaid (Ollama).
    exclude('context_length', named.loaded === undefined ? tooLong : `${tooLong} (the context ${named.loaded.source}; its record declares ${named.loaded.declared}): ${named.loaded.fix}`);
    return {};
  }
  if (loaded !== undefined) reasons.push(`context window ${window}: the context ${loaded.source}, not the ${loaded.declared} its record declares`);
  if (fit.kind === 'lowered') {
    reasons.push(`max output lowered from ${maxTokens} to ${fit.maxTokens} tokens: what context window ${window} leaves after ${prompt}`);
    return { loweredMaxTokens: fit.maxTokens };
  }
  if (maxTokens !== undefined) return {};
  if (fit.room >= assumedOutput) return { defaultMaxTokens: assumedOutput };
  reasons.push(`no max output asked: ${fit.room} tokens assumed, what context window ${window} leaves after ${prompt} (the policy assumes ${assumedOutput})`);
  return { defaultMaxTokens: fit.room };
}

/** The window a chat model's prompt must fit: the context its engine loaded it with when smaller than its record's and known, else the record's. */
interface EffectiveWindow {
  window: number;
  /** Set when the window is the loaded context: where it comes from, what the record declares, how to give it more. */
  loaded?: { source: string; declared: number; fix: string };
}

/** `EffectiveWindow` of `model` (`RouteContext.loadedContext`, read by the health probe). */
function contextWindowOf(provider: RegisteredProvider, model: ProviderModel, context: RouteContext): EffectiveWindow {
  const loaded = loadedContextOf(provider.record, context.loadedContext?.[provider.id], model);
  if (loaded === undefined || loaded >= model.contextWindow) return { window: model.contextWindow };
  return {
    window: loaded,
    loaded: { source: loadedContextSource(provider.record), declared: model.contextWindow, fix: largerContextFix(provider.record, provider.id, model) },
  };
}

/**
 * The window of an embedding model must hold every input (its estimate plus the model's special
 * tokens; no room for output): one it cannot hold excludes the model (`context_length`), naming
 * the longest input and how many more are too long — unless the engine may truncate them
 * (`EmbeddingRequest.truncate`), which the model's reasons say instead. Only Ollama truncates:
 * llama-server and vLLM refuse an over-long input, so their models are checked whatever it says.
 */
function checkEmbeddingWindow(
  model: ProviderModel,
  embedding: NonNullable<RouteInput['request']['embedding']>,
  inputTokens: readonly number[] | undefined,
  engineTruncates: boolean,
  exclude: (rule: ExclusionRule, reason: string) => void,
  reasons: string[],
): void {
  const window = model.contextWindow;
  const over = inputsOverWindow(window, inputTokens ?? []);
  const longest = over[0];
  if (longest === undefined) return;
  const tokens = inputTokens?.[longest] ?? 0;
  const counted = embedding.input.kind === 'tokens' ? `${tokens} token ids` : `${tokens} estimated`;
  const others = over.length === 1 ? '' : `; ${over.length} inputs are too long for it: ${formatIndexes(over)}`;
  const tooLong = `context window ${window} < ${tokens + EMBEDDING_SPECIAL_TOKENS} tokens of input[${longest}] (${counted}, ${EMBEDDING_SPECIAL_TOKENS} special)${others}`;
  if (embedding.truncate === true && engineTruncates) reasons.push(`${tooLong}: the engine truncates ${over.length === 1 ? 'it' : 'them'} (truncate is not false)`);
  else exclude('context_length', tooLong);
}

/** `input[3], input[7], …` for at most five indexes. */
function formatIndexes(indexes: readonly number[]): string {
  const shown = indexes.slice(0, 5).map((index) => `input[${index}]`);
  return indexes.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}

/**
 * Hot-swap at routing time: a cold model on an engine whose record declares a VRAM budget is
 * planned like `engine load` would (`planSwap`), against what the engine holds now (declared
 * sizes and priorities; the task at hand is the request's matched tasks). A load that would need
 * a model it does not outrank out is not routed there; one that needs lower-ranked models out
 * names them, and the pipeline unloads them before the call — so the engine's own eviction rule
 * (least recently used) never picks a higher-priority model instead. Undefined: no budget.
 */
function coldSwap(
  provider: RegisteredProvider,
  model: ProviderModel,
  resident: readonly string[],
  inUse: readonly string[],
  preferTags: ReadonlySet<string>,
  tasks: readonly MatchedTask[],
): SwapPlan | undefined {
  const budgetGb = provider.record.engine?.vramBudgetGb;
  if (provider.record.class !== 'local' || budgetGb === undefined) return undefined;
  const tagged = (entry: ProviderModel | undefined): boolean => entry?.tags?.some((tag) => preferTags.has(tag)) ?? false;
  // Ollama names `x` and `x:latest` the same model (its /api/ps answer is read as both).
  const ollama = provider.record.engine?.kind === 'ollama';
  const same = (declared: string, name: string): boolean => sameModelOnEngine(provider.record, declared, name);
  // A model a call of this process is using (a stream being read) is never evicted for another.
  const swapModel = (name: string, entry: ProviderModel | undefined): SwapModel => ({
    model: name,
    priority: entry?.priority ?? 0,
    taggedForTask: tagged(entry),
    vramGb: entry?.vramGb,
    ...(inUse.some((used) => same(used, name)) ? { inUse: true } : {}),
  });
  const others = new Map<string, SwapModel>();
  for (const name of resident) {
    const entry = provider.record.models.find((candidate) => same(candidate.id, name));
    if (entry?.id === model.id) continue;
    const key = entry?.id ?? (ollama ? name.replace(/:latest$/, '') : name);
    if (!others.has(key)) others.set(key, swapModel(entry?.id ?? name, entry));
  }
  // A model a call is using takes its room even when the last probe did not see it: a cold one
  // being loaded for that call (two requests for two cold models would otherwise both fit in the same room).
  for (const name of inUse) {
    const entry = provider.record.models.find((candidate) => same(candidate.id, name));
    if (entry === undefined || entry.id === model.id || [...others.values()].some((other) => same(other.model, name))) continue;
    others.set(entry.id, swapModel(entry.id, entry));
  }
  return planSwap({ requested: swapModel(model.id, model), resident: [...others.values()], budgetGb, task: tasks[0]?.rule.name, force: false });
}

interface FirstTokenEstimate {
  expectedMs: number | undefined;
  /** Where `expectedMs` comes from, for the ranking reason (`median of its last 12 answers`). */
  source: string | undefined;
  note: string | undefined;
  warm: boolean | undefined;
  /** Its recent calls all failed (and it answered none): how many, so that it does not rank as fast. */
  failedCalls: number | undefined;
  /** Its first token was seen (this process's last answer, or answers in evidence): `expectedMs` is more than a load time. */
  measured: boolean;
  /** A cold local model whose load time is unknown: `expectedMs` (when seen) leaves the load out. */
  loadUnknown?: boolean;
}

/**
 * The first token a candidate is expected to take: what this process last saw from the model
 * (`RouteContext.liveFirstTokens`), else the median of the model's recent answers in evidence
 * (`RouteContext.firstTokens`), plus the load time of a cold local model. Both per model, never
 * another model's of the same provider.
 */
function estimateFirstToken(provider: RegisteredProvider, model: ProviderModel, context: RouteContext): FirstTokenEstimate {
  const liveFirstTokenMs = context.liveFirstTokens?.[provider.id]?.[model.id];
  const recent = liveFirstTokenMs === undefined ? context.firstTokens?.(provider.id, model.id) : undefined;
  const observed =
    liveFirstTokenMs !== undefined
      ? { ms: Math.round(liveFirstTokenMs), source: 'its last answer in this process' }
      : recent?.medianMs !== undefined
        ? { ms: Math.round(recent.medianMs), source: `median of its last ${recent.answers} answer${recent.answers === 1 ? '' : 's'}` }
        : undefined;
  const failedCalls = observed === undefined && recent !== undefined && recent.calls > 0 && recent.failures === recent.calls ? recent.failures : undefined;
  const measured = observed !== undefined;
  const estimate = (note: string | undefined, warm: boolean | undefined): FirstTokenEstimate => ({ expectedMs: observed?.ms, source: observed?.source, note, warm, failedCalls, measured });
  if (provider.record.class !== 'local') return estimate(undefined, undefined);
  const resident = context.warm?.[provider.id];
  if (resident === undefined) return estimate('warm state unknown: no cold-start time counted', undefined);
  if (resident.includes(model.id)) return estimate('model is loaded (warm)', true);
  const seen = context.coldStartMs?.(provider.id, model.id);
  const declaredSeconds = provider.record.engine?.launch?.coldStartSeconds;
  const coldStartMs = seen?.ms ?? (declaredSeconds === undefined ? undefined : Math.round(declaredSeconds * 1000));
  if (coldStartMs === undefined) return { ...estimate('model is cold; its load time is unknown', false), loadUnknown: true };
  const what =
    seen === undefined
      ? `declared load time ${coldStartMs} ms`
      : seen.source === 'recorded'
        ? `recorded load time ${coldStartMs} ms`
        : `observed cold-start cost ${coldStartMs} ms (its cold answers' first token minus its warm ones')`;
  return {
    expectedMs: coldStartMs + (observed?.ms ?? 0),
    source: observed === undefined ? undefined : `load ${coldStartMs} ms + ${observed.source}`,
    note: `model is cold: ${what} counts against the first-token budget`,
    warm: false,
    failedCalls,
    measured,
  };
}

/** 1 for a local model its engine does not hold (it must be loaded first), else 0. */
function coldness(evaluation: Evaluation): number {
  return evaluation.warm === false ? 1 : 0;
}

function rankEvaluations(evaluations: Evaluation[], prefer: WorkflowPreference['prefer']): Evaluation[] {
  const keys: ((evaluation: Evaluation) => number)[] = [
    // Before any preference: calling it first would only record a failure and fall back.
    (evaluation) => (evaluation.missingKey === undefined ? 0 : 1),
    // Logprobs are part of what the client asked to get back; a wire without them answers only in want of another.
    (evaluation) => (evaluation.logprobsUnanswered ? 1 : 0),
    (evaluation) => (evaluation.demoted ? 1 : 0),
    (evaluation) => (evaluation.taskMatch ? 0 : 1),
  ];
  for (const preference of prefer) {
    if (preference === 'local') keys.push((evaluation) => (evaluation.provider.record.class === 'local' ? 0 : 1));
    else if (preference === 'hosted') keys.push((evaluation) => (evaluation.provider.record.class === 'local' ? 1 : 0));
    else if (preference === 'cheapest') keys.push((evaluation) => evaluation.estimatedCostUsd);
    // As fast as far as is known: a cold model whose load time is unknown after the others (its load
    // may take any time), then loaded before cold.
    else if (preference === 'fastest') keys.push((evaluation) => evaluation.latencyStanding, (evaluation) => evaluation.latencyKey, coldness);
    else if (preference === 'priority') keys.push((evaluation) => -(evaluation.model.priority ?? 0));
  }
  if (!prefer.includes('priority')) keys.push((evaluation) => -(evaluation.model.priority ?? 0));
  // Among otherwise equal candidates, a loaded model before one its engine must load (and maybe evict for).
  if (!prefer.includes('fastest')) keys.push(coldness);
  // Among otherwise equal candidates, one that takes the whole requested output first.
  keys.push((evaluation) => (evaluation.loweredMaxTokens === undefined ? 0 : 1));
  return [...evaluations].sort((a, b) => {
    for (const key of keys) {
      const difference = key(a) - key(b);
      if (difference !== 0) return difference;
    }
    // Ties: provider id, then model id, in code-unit order — never the process's locale (LANG), which
    // would let a gateway and a `route` started under different locales choose different models.
    return compareCodeUnits(a.provider.id, b.provider.id) || compareCodeUnits(a.model.id, b.model.id);
  });
}

function compareCodeUnits(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function rankingReasons(evaluation: Evaluation, prefer: WorkflowPreference['prefer']): string[] {
  const reasons: string[] = [];
  for (const preference of prefer) {
    if (preference === 'cheapest') reasons.push(`estimated cost ${formatUsd(evaluation.estimatedCostUsd)}`);
    if (preference === 'fastest') reasons.push(firstTokenReason(evaluation));
  }
  reasons.push(`priority ${evaluation.model.priority ?? 0}`);
  return reasons;
}

function firstTokenReason(evaluation: Evaluation): string {
  const { expectedFirstTokenMs, firstTokenSource, failedCalls, loadUnknown, measured } = evaluation;
  if (failedCalls !== undefined) return `no answer in its last ${failedCalls} call${failedCalls === 1 ? '' : 's'}, all failed: ranked as slowest`;
  const ranked = ': ranked after the models whose first token does not wait on a load of unknown time';
  if (expectedFirstTokenMs === undefined) return loadUnknown ? `no known first-token delay (cold, its load time unknown)${ranked}` : 'no known first-token delay: ranked as fast, so that it is measured';
  const expected = `expected first token ${expectedFirstTokenMs} ms${firstTokenSource === undefined ? '' : ` (${firstTokenSource})`}`;
  if (loadUnknown) return `${expected} plus a load of unknown time (cold)${ranked}`;
  if (!measured) return `${expected}: its load time alone, no answer on record`;
  return expected;
}

interface ModelSelection {
  description: string;
  pairs: { provider: RegisteredProvider; model: ProviderModel }[];
}

/**
 * `auto` (or empty): every model. `provider:model` when the prefix is a registered provider id
 * (model ids such as `llama3.2:3b` contain colons too). Otherwise a model id or alias anywhere.
 * With `explicitProvider` (a provider asked for by name), only that provider's models: the others
 * are not considered at all, rather than each listed as excluded.
 */
export function selectModels(selector: string, providers: readonly RegisteredProvider[], explicitProvider?: string): ModelSelection {
  const considered = explicitProvider === undefined ? providers : providers.filter((provider) => provider.id === explicitProvider);
  const all = considered.flatMap((provider) => provider.record.models.map((model) => ({ provider, model })));
  const trimmed = selector.trim();
  if (trimmed === '' || trimmed === 'auto') return { description: 'model auto: every registered model considered', pairs: all };
  const matches = (provider: RegisteredProvider, model: ProviderModel, name: string): boolean => findDeclaredModel(provider.record, name) === model;
  const colon = trimmed.indexOf(':');
  if (colon > 0) {
    const providerId = trimmed.slice(0, colon);
    const modelName = trimmed.slice(colon + 1);
    const provider = considered.find((candidate) => candidate.id === providerId);
    if (provider !== undefined) {
      const pairs = all.filter((pair) => pair.provider === provider && matches(pair.provider, pair.model, modelName));
      return {
        description: pairs.length === 0 ? `model ${trimmed}: provider ${providerId} has no model ${modelName}` : `model pinned to ${trimmed}`,
        pairs,
      };
    }
  }
  // A name some record declares (id or alias) is that record's alone; only when none does is it
  // read as the undated form of a dated id (each provider's newest such model; several providers:
  // the route chooses among them within the policy, as for an alias several records give).
  const named = all.filter((pair) => findNamedModel(pair.provider.record, trimmed) === pair.model);
  const pairs = named.length > 0 ? named : all.filter((pair) => matches(pair.provider, pair.model, trimmed));
  return {
    description: pairs.length === 0 ? `model ${trimmed}: no registered model or alias matches` : `model pinned to ${trimmed} (${pairs.length} registered match${pairs.length === 1 ? '' : 'es'})`,
    pairs,
  };
}

/**
 * The class rule alone, as the router states it when it excludes a candidate: why `providerClass`
 * may never receive `level` data under `policy`, or undefined when it may.
 */
export function classRuleRefusal(policy: Policy, providerClass: ProviderClass, level: SensitivityLevel): string | undefined {
  const { classes } = allowedClassesForLevel(policy, level, []);
  return classes.includes(providerClass) ? undefined : classNotAllowed(providerClass, level, classes);
}

/** The class rule's reason, in the router's words. */
function classNotAllowed(providerClass: ProviderClass, level: SensitivityLevel, allowed: readonly ProviderClass[]): string {
  return `class ${providerClass} may not receive ${level} data (allowed: ${formatList(allowed)})`;
}

function allowedClassesForLevel(policy: Policy, level: SensitivityLevel, notes: string[]): { classes: ProviderClass[]; failedClosed: boolean } {
  const configured = policy.sensitivity?.[level];
  if (!Array.isArray(configured)) {
    notes.push(`the policy has no sensitivity entry for ${level}: failing closed to local only`);
    return { classes: ['local'], failedClosed: true };
  }
  let classes = configured.filter((providerClass): providerClass is ProviderClass =>
    (CALLABLE_PROVIDER_CLASSES as readonly string[]).includes(providerClass),
  );
  if (level === 'restricted' && classes.some((providerClass) => providerClass !== 'local')) {
    notes.push('the policy lets restricted data reach a hosted class; ignored: restricted data only goes to local providers');
    classes = classes.filter((providerClass) => providerClass === 'local');
  }
  return { classes, failedClosed: false };
}

interface ResolvedTier {
  name: string;
  maxSensitivity: SensitivityLevel;
  allowedClasses: ProviderClass[];
  failedClosed: boolean;
}

function resolveTrustTier(policy: Policy, requested: string | undefined, notes: string[]): ResolvedTier {
  const name = requested ?? policy.defaultTrustTier;
  const tier = name === undefined ? undefined : policy.trustTiers?.[name];
  if (tier === undefined || !Array.isArray(tier.allowedClasses)) {
    notes.push(`trust tier ${name ?? '(none)'} is not defined in the policy: failing closed to local only`);
    return { name: name ?? '(none)', maxSensitivity: 'restricted', allowedClasses: ['local'], failedClosed: true };
  }
  return { name, maxSensitivity: tier.maxSensitivity, allowedClasses: tier.allowedClasses, failedClosed: false };
}

function hostOf(baseUrl: string): string | undefined {
  try {
    return new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function emptyFailedClosedPlan(input: RouteInput, failure: string, policy: Policy): RoutePlan {
  return {
    candidates: [],
    excluded: [],
    allowedClasses: ['local'],
    sensitivity: input.sensitivity,
    workflow: input.workflow,
    trustTier: input.trustTier ?? '(unknown)',
    tasks: [],
    fallback: { order: [], maxHops: 0 },
    failedClosed: true,
    failure,
    notes: [failure],
    policyDigest: policyDigest(policy),
    explanation: `${failure}\nno candidate could be planned safely; the request is refused`,
  };
}

interface ExplainContext {
  notes: string[];
  levelSource: ProviderClass[];
  tier: ResolvedTier;
  workflowPreference: WorkflowPreference;
  tasks: MatchedTask[];
  selection: ModelSelection;
  traits: RequestTraits;
  explicitProvider: string | undefined;
  embedding: RouteInput['request']['embedding'];
  completion: TextCompletionRequest | undefined;
}

function explain(plan: RoutePlan, context: ExplainContext): string {
  const lines: string[] = [];
  lines.push(`sensitivity ${plan.sensitivity}: the policy allows ${formatList(context.levelSource)}`);
  lines.push(
    `trust tier ${plan.trustTier}: up to ${context.tier.maxSensitivity}, classes ${formatList(context.tier.allowedClasses)} -> allowed classes: ${formatList(plan.allowedClasses)}`,
  );
  const budget = context.workflowPreference.latencyBudget?.firstTokenMs;
  const totalBudget = context.workflowPreference.latencyBudget?.totalMs;
  lines.push(
    `workflow ${plan.workflow}: prefer ${formatList(context.workflowPreference.prefer ?? [])}${budget === undefined ? '' : `; first token within ${budget} ms`}${totalBudget === undefined ? '' : `; given up after ${totalBudget} ms in all (every attempt together)`}`,
  );
  for (const task of context.tasks) lines.push(`task ${task.rule.name} (keyword "${task.keyword}"): prefer models tagged ${formatList(task.rule.preferTags)}`);
  const needs = [
    context.traits.tools ? 'tools' : '',
    context.traits.forcedTool === undefined ? '' : `forced ${context.traits.forcedTool}`,
    context.traits.manualThinking === undefined ? '' : context.traits.manualThinking.setting,
    context.traits.reasoning === undefined || context.traits.manualThinking !== undefined ? '' : `reasoning effort ${context.traits.reasoning.effort} (${context.traits.reasoning.field})`,
    context.traits.json ? (context.traits.strictJson ? 'strict JSON' : 'JSON') : '',
    context.traits.vision ? 'vision' : '',
    context.traits.logprobs ? 'logprobs' : '',
  ].filter((need) => need !== '');
  if (needs.length > 0) lines.push(`request needs: ${needs.join(', ')}`);
  const embedding = context.embedding;
  if (embedding !== undefined) {
    const count = embedding.input.kind === 'texts' ? counted(embedding.input.texts.length, 'text') : counted(embedding.input.tokens.length, 'token-id input');
    lines.push(`embeddings request (${count}): only models declared kind: embedding on the openai wire`);
  }
  if (context.completion !== undefined) {
    lines.push(
      context.completion.suffix === undefined
        ? `text completion request: only openai-wire models tagged ${COMPLETIONS_TAG}`
        : `text completion request with a suffix (fill in the middle): only openai-wire models tagged ${COMPLETIONS_TAG} and ${FILL_IN_MIDDLE_TAG}`,
    );
  }
  if (context.explicitProvider !== undefined) lines.push(`provider ${context.explicitProvider} asked for: no other provider considered`);
  lines.push(context.selection.description);
  for (const note of context.notes) lines.push(`note: ${note}`);
  if (plan.candidates.length === 0) {
    // Down or held back, not refused: the caller gets "inference unavailable" (exit 5, 503), not a refusal.
    lines.push(unavailabilityOfExclusions(plan.excluded).length > 0 ? 'no candidate: what may take the request is unavailable just now' : 'no candidate: the request would be refused');
  } else {
    lines.push('candidates:');
    for (const candidate of plan.candidates) {
      lines.push(`  ${candidate.rank}. ${candidate.provider}:${candidate.model} (${candidate.class}, v${candidate.version}) — ${candidate.reasons.join('; ')}`);
    }
    const walk = fallbackWalk(plan);
    if (walk !== undefined) lines.push(walk);
  }
  if (plan.excluded.length > 0) {
    lines.push('excluded:');
    for (const exclusion of plan.excluded) lines.push(`  - ${exclusion.provider}:${exclusion.model} (${exclusion.class}) — ${exclusion.reasons.join('; ')}`);
  }
  return lines.join('\n');
}

/**
 * The order the calls go in when it is not the ranking's: the policy's `fallback.order` moves its
 * providers up the fallbacks, and `fallback.maxHops` ends the walk before the last candidates.
 * Undefined when every candidate is tried in rank order.
 */
function fallbackWalk(plan: RoutePlan): string | undefined {
  const [first] = plan.candidates;
  if (first === undefined) return undefined;
  const permittedClass = widestClass(plan.allowedClasses, first.class);
  const queue = attemptQueue(plan, permittedClass);
  const reordered = queue.attempts.some((candidate, index) => candidate !== plan.candidates[index]);
  // A failure of a whole provider moves its other models behind the other providers: said when that changes the calls.
  const afterProviderFailures = attemptQueueAfterProviderFailures(plan, permittedClass);
  const deferralChanges = afterProviderFailures.attempts.some((candidate, index) => candidate !== queue.attempts[index]);
  const lines: string[] = [];
  if (reordered || queue.beyondMaxHops.length > 0) lines.push(`calls in this order: ${describeQueue(plan, queue)}`);
  if (deferralChanges) {
    lines.push(`calls if each fails for its whole provider (HTTP 5xx naming no model, a reset, nothing answering), whose other models then go behind the other providers: ${describeQueue(plan, afterProviderFailures)}`);
  }
  return lines.length === 0 ? undefined : lines.join('\n');
}

function describeQueue(plan: RoutePlan, { attempts, passedOver, beyondMaxHops }: AttemptQueue): string {
  const name = (candidate: Candidate): string => `${candidate.provider}:${candidate.model}`;
  const [first] = attempts;
  if (first === undefined) return '(none)';
  const fallbacks = attempts.slice(1).map((candidate) => `${name(candidate)}${plan.fallback.order.includes(candidate.provider) ? ' (fallback.order)' : ''}`);
  const tried = fallbacks.length === 0 ? `${name(first)} only` : `${name(first)}, then on failure ${fallbacks.join(', ')}`;
  // Those whose key is not set are passed over without a hop (their own lines under the plan say so).
  const keyless = passedOver.length === 0 ? '' : `; not called, no key: ${passedOver.map(name).join(', ')}`;
  const untried = beyondMaxHops.length === 0 ? '' : `; never tried (fallback.maxHops ${plan.fallback.maxHops}): ${beyondMaxHops.map(name).join(', ')}`;
  return `${tried}${keyless}${untried}`;
}

function formatList(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}

function formatUsd(amount: number): string {
  return `$${amount < 0.01 && amount > 0 ? amount.toPrecision(2) : amount.toFixed(2)}`;
}

function roundUsd(amount: number): number {
  return Math.round(amount * 1e8) / 1e8;
}
