import { newId } from '../common/ids.js';
import { PolicyRefusalError, SessionChainBrokenError, SessionEnvelopeError, UsageError } from '../errors.js';
import { recordDenial } from '../evidence/index.js';
import { currentPolicy } from '../invoke/context.js';
import type { RouteQuestion } from '../invoke/explain-route.js';
import type { Policy } from '../policy/types.js';
import { invoke } from '../invoke/pipeline.js';
import type { InvocationInput, InvocationResult, PipelineContext } from '../invoke/types.js';
import { currentProviders } from '../registry/provider-cache.js';
import { highestSensitivity, isSensitivityLevel, type SensitivityLevel } from '../common/vocabulary.js';
import { classifyRequest } from '../classify/index.js';
import type { Store } from '../store/store.js';
import { imageParts, type PromptImage } from '../invoke/prompt-options.js';
import { promptMessage, type CanonicalMessage, type CanonicalRequest, type CanonicalResponse, type ImagePart } from '../wire/canonical.js';
import { fitContext, templateAllowance } from '../router/context-fit.js';
import { estimatePromptTokens } from '../router/route-request.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { canonicalMessages } from './compaction.js';
import { refuseConversationOverLimit, sizedImages, type SizedMessage } from '../invoke/request-size.js';
import { appendTurn, checkEnvelope, markedSensitivity, provenContext, requireSession } from './sessions.js';
import type { ConversationPosition } from './chain.js';
import { activeModelLabel, type Session } from './types.js';

/** A turn of a stored session: the prompt, and the request settings besides the conversation. */
export interface SessionInvocationInput extends Omit<InvocationInput, 'request' | 'provider' | 'sessionId'> {
  sessionId: string;
  prompt: string;
  /** Images sent with the prompt (inline, before it): kept with the turn, from their bytes, and sent again with every later one. */
  images?: readonly PromptImage[];
  /** Max tokens, temperature, response format, stream: everything but the model, system prompt and messages. */
  settings: Omit<CanonicalRequest, 'model' | 'system' | 'messages'>;
  /** How the caller's surface names its settings, for the hints of its refusals; default `run`'s flags. */
  argumentNames?: SessionOverrideNames;
}

export interface SessionInvocationResult {
  result: InvocationResult;
  session: Session;
  /** The number of the turn appended; null when it was not kept (`keptInSession`: its provider stopped the answer for its content). */
  turn: number | null;
}

/**
 * Whether an answer is kept as its session's turn: not when its provider stopped it for its content
 * (Anthropic's `stop_reason: "refusal"`: its classifiers cut the answer; a `content_filter` finish)
 * with no refusal statement of the model's own. Anthropic's API refuses every later turn of a
 * conversation that still holds the refused one ("remove or rephrase the turn"), so keeping it would
 * end the session; the evidence still records it. A refusal statement (OpenAI's `refusal`) is what the
 * model answered: kept, as its answer.
 */
export function keptInSession(response: Pick<CanonicalResponse, 'finishReason' | 'refusal'>): boolean {
  return response.finishReason !== 'content_filter' || response.refusal !== undefined;
}

/** A session turn as `run --session --json` and MCP `complete` report it: `turn: null, kept: false` when it was not kept. */
export function sessionTurnSummary(answered: SessionInvocationResult): { id: string; turn: number | null; kept: boolean } {
  return { id: answered.session.id, turn: answered.turn, kept: answered.turn !== null };
}

/**
 * One governed invocation in a stored session: the request carries the session's system prompt,
 * the messages in its context (their images with them) and the new prompt with its images, pinned
 * to its active model (every policy rule still applies: the images of earlier turns are classified
 * and routed as this turn's are). Refused (exit 4) while the envelope does not cover the model.
 * Only an answered invocation appends its turn — prompt, images and answer, in one transaction; a
 * refused or failed one leaves the session as it was, and so does an answer its provider stopped
 * for its content (`keptInSession`; `turn` is then null).
 */
export async function invokeInSession(context: PipelineContext, input: SessionInvocationInput): Promise<SessionInvocationResult> {
  const { sessionId, prompt, images = [], settings, argumentNames = RUN_OPTION_NAMES, ...rest } = input;
  const parts = imageParts(images);
  const session = requireSession(context.store, sessionId);
  const { policy } = currentPolicy(context);
  let next: SessionTurn;
  try {
    next = checkedSessionTurn(context.store, session, policy, { text: prompt, images: sizedImages(images) }, rest.sensitivityHint);
  } catch (error) {
    // A refusal is evidence (`run --session`, MCP `complete`), as when the gateway refuses a request in this session.
    if (error instanceof SessionEnvelopeError || error instanceof SessionChainBrokenError) {
      const requestId = newId('req');
      const evidenceId = recordDenial(context.store, { requestId, caller: rest.caller, reasonCode: error.code, message: error.message, sessionId: session.id });
      error.withDetails({ requestId, evidenceId });
    }
    throw error;
  }
  const request: CanonicalRequest = {
    ...settings,
    model: next.model,
    ...(next.system === undefined ? {} : { system: next.system }),
    messages: [...next.history, promptMessage(prompt, parts)],
  };
  let result: InvocationResult;
  try {
    result = await invoke(context, {
      ...rest,
      ...(next.sensitivity === undefined ? {} : { sensitivityHint: next.sensitivity }),
      request,
      sessionId: session.id,
      ...(next.provider === undefined ? {} : { provider: next.provider }),
    });
  } catch (error) {
    throw (await pinnedModelRefusal(context, session, error, { request, prompt, images: parts, argumentNames, ...(rest.sensitivityHint === undefined ? {} : { sensitivityHint: rest.sensitivityHint }) })) ?? error;
  }
  if (!keptInSession(result.response)) return { result, session, turn: null };
  const appended = appendTurn(context.store, session.id, {
    continues: next.position,
    prompt,
    // A refusal is what the model answered: the next turn's history carries it as the assistant's words.
    answer: result.response.text + (result.response.refusal ?? ''),
    providerId: result.provider.id,
    model: result.model,
    evidenceId: result.evidenceId,
    images: images.map(({ part, bytes }) => ({ mediaType: part.mediaType, bytes })),
    ...(rest.sensitivityHint === undefined ? {} : { sensitivity: rest.sensitivityHint }),
  });
  return { result, session: requireSession(context.store, session.id), turn: appended };
}

/** What the next turn of a stored session sends besides its prompt: the session decides all of it. */
export interface SessionTurn {
  /** `auto`, or the pinned `provider:model`. */
  model: string;
  /** The pinned model's provider: the only one considered. */
  provider?: string;
  system?: string;
  /** The messages in the session's context, oldest first, which precede the new prompt. */
  history: CanonicalMessage[];
  /** Where the conversation stood when it was read: the answer is appended only if it still stands there. */
  position: ConversationPosition;
  /** The highest level a caller marked a turn of `history` with (`markedSensitivity`; from `checkedSessionTurn`, the caller's hint for this turn too): the request is at least that level. */
  sensitivity?: SensitivityLevel;
}

/**
 * The request a prompt in `session` becomes (`run --session`, MCP `complete`), and `route_explain`
 * routes; `SessionChainBrokenError` (exit 1) when its stored conversation fails its hash chain.
 * With the `prompt` to send (its text and images' sizes), `InvalidInputError` (exit 3) when the
 * whole request would be over the input limit (`refuseConversationOverLimit`).
 */
export function sessionTurn(store: Store, session: Session, prompt?: SizedMessage): SessionTurn {
  const { systemPrompt, messages, imageBytes, position } = provenContext(store, session.id);
  // The whole request within the input limit, measured from the proven sizes before any image is encoded for it.
  if (prompt !== undefined) refuseConversationOverLimit(session.id, { systemPrompt, messages, prompt });
  const sensitivity = markedSensitivity(messages);
  return {
    position,
    ...(sensitivity === undefined ? {} : { sensitivity }),
    model: activeModelLabel(session.active),
    ...(session.active.kind === 'pinned' ? { provider: session.active.providerId } : {}),
    ...(systemPrompt === null ? {} : { system: systemPrompt }),
    history: canonicalMessages(messages, imageBytes),
  };
}

/**
 * The turn `prompt` makes in `session`, checked in the order `run --session` checks it: the
 * envelope first (`checkEnvelope`: exit 4, a broken chain exit 1), then the whole request's size
 * (exit 3). Its `sensitivity` is the highest of the caller's `sensitivityHint` and the levels
 * callers marked the conversation's turns with: a turn marked at a level keeps it, every later
 * request that carries it is at least that level. What `invokeInSession` sends, and `route
 * --session` and MCP `route_explain` route.
 */
export function checkedSessionTurn(store: Store, session: Session, policy: Policy, prompt: SizedMessage, sensitivityHint?: SensitivityLevel): SessionTurn {
  checkEnvelope(store, session, policy);
  const { sensitivity: marked, ...turn } = sessionTurn(store, session, prompt);
  const sensitivity = highestSensitivity([marked, sensitivityHint]);
  return { ...turn, ...(sensitivity === undefined ? {} : { sensitivity }) };
}

/**
 * What `explainRoute` is asked for a prompt in a stored session (`route --session`, MCP
 * `route_explain`): the request its turn would send — the session's model (its provider the only
 * one considered), system prompt and conversation, classified and counted with the prompt — after
 * refusing what `run --session` and `complete` refuse, in their order: the settings the session
 * decides (exit 2), its envelope (exit 4), the whole request's size (exit 3).
 */
export function sessionRouteQuestion(
  store: Store,
  session: Session,
  policy: Policy,
  turn: { prompt: SizedMessage; overrides: { provider?: string; model?: string; system?: string; tools: boolean }; names?: SessionOverrideNames; sensitivity?: SensitivityLevel },
): Pick<RouteQuestion, 'history' | 'model' | 'system' | 'provider' | 'sensitivity'> {
  refuseSessionOverrides(session, turn.overrides, turn.names);
  const { history, model, system, provider, sensitivity } = checkedSessionTurn(store, session, policy, turn.prompt, turn.sensitivity);
  return {
    history,
    model,
    ...(system === undefined ? {} : { system }),
    ...(provider === undefined ? {} : { provider }),
    ...(sensitivity === undefined ? {} : { sensitivity }),
  };
}

/**
 * A refusal whose fix is different in a session: the pinned model's class may not receive this
 * request's sensitivity (a restricted prompt in a session on a hosted model), the conversation
 * has outgrown its window, or it holds an image and the pinned model is not tagged vision.
 * Undefined for every other error.
 */
async function pinnedModelRefusal(
  context: PipelineContext,
  session: Session,
  error: unknown,
  turn: { request: CanonicalRequest; prompt: string; images: readonly ImagePart[]; argumentNames: SessionOverrideNames; sensitivityHint?: SensitivityLevel },
): Promise<PolicyRefusalError | undefined> {
  if (!(error instanceof PolicyRefusalError) || session.active.kind !== 'pinned') return undefined;
  if (error.code === 'context_length_exceeded') {
    // Compaction happens on a switch; switching to the model the session is on compacts it in place,
    // leaving the room this prompt needs (the conversation alone may fit: then a plain switch drops nothing).
    const { providerId, model } = session.active;
    const record = currentProviders(context.store).find((candidate) => candidate.id === providerId)?.record;
    const window = record === undefined ? undefined : findDeclaredModel(record, model)?.contextWindow;
    const room = window === undefined ? undefined : await roomForPrompt(turn.request, window);
    const switchCommand = `syndicate provider switch ${activeModelLabel(session.active)} --session ${session.id}${room === undefined ? '' : ` --room ${room}`}`;
    return new PolicyRefusalError(error.code, error.message, {
      hint:
        room === undefined
          ? `compact the session by switching it (to the same model, or one with a larger window): \`${switchCommand}\``
          : `compact the session for this prompt by switching it to the same model with room for the prompt and an answer (\`${switchCommand}\`), or switch it to a model with a larger window`,
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
  if (error.code !== 'route_denied') return undefined;
  const { providerId } = session.active;
  const provider = currentProviders(context.store).find((candidate) => candidate.id === providerId);
  const level = error.details?.['sensitivity'];
  if (provider === undefined || !isSensitivityLevel(level)) return undefined;
  const { policy } = currentPolicy(context);
  if (policy.sensitivity[level].includes(provider.record.class)) return visionRefusal(session, error, turn.argumentNames);
  // The prompt alone (with its images) may be less sensitive than the request: then the conversation it continues is what the model may not receive.
  const promptLevel = classifyRequest({ model: 'auto', messages: [promptMessage(turn.prompt, [...turn.images])], stream: false }, {
    indicatorWords: policy.indicatorWords,
    patterns: policy.patterns,
    ...(turn.sensitivityHint === undefined ? {} : { hint: turn.sensitivityHint }),
  }).level;
  const carried = promptLevel === level ? '' : ` (${level} by the session's system prompt or earlier turns; the prompt alone is ${promptLevel})`;
  return new PolicyRefusalError(
    'session_model_not_permitted',
    `session ${session.id} is on ${activeModelLabel(session.active)} (${provider.record.class}), which the policy does not allow to receive this ${level} request${carried}; nothing was sent and the session is unchanged`,
    {
      hint: `switch the session to a model that may receive ${level} data (\`syndicate provider switch PROVIDER:MODEL --session ${session.id}\`), or send this prompt without ${turn.argumentNames.session}`,
      details: { ...error.details, refusal: error.toJSON() },
    },
  );
}

/**
 * The room (`provider switch --room`) the conversation before a session turn's prompt must leave in
 * a window of `contextWindow` tokens for the turn to pass the router's context check: the prompt's
 * share of the estimate and of the chat-template allowance, plus the minimum answer; undefined when
 * the request fits by that check already (an engine refused it on its own: compacting by the
 * declared window would drop nothing).
 */
async function roomForPrompt(request: CanonicalRequest, contextWindow: number): Promise<number | undefined> {
  const before = { ...request, messages: request.messages.slice(0, -1) };
  const [withPrompt, withoutPrompt] = await Promise.all([estimatePromptTokens(request), estimatePromptTokens(before)]);
  const fit = fitContext(contextWindow, withPrompt, templateAllowance(request), request.maxTokens);
  if (fit.kind !== 'too_long') return undefined;
  const promptShare = withPrompt + templateAllowance(request) - (withoutPrompt + templateAllowance(before));
  // The estimate rounds each count up (+10 %): fewer turns before the prompt may round its share up by a token or two.
  return fit.minimumOutput + promptShare + ESTIMATE_ROUNDING_TOKENS;
}

const ESTIMATE_ROUNDING_TOKENS = 2;

/**
 * The session's model may receive the conversation's level but is not tagged for the images it
 * holds: a switch to a model that is helps, "send the request to one that does" cannot (the session
 * decides the model). Undefined for any other refusal.
 */
function visionRefusal(session: Session, error: PolicyRefusalError, argumentNames: SessionOverrideNames): PolicyRefusalError | undefined {
  const excluded = error.details?.['excluded'];
  const vision = Array.isArray(excluded) && excluded.some((exclusion: { rules?: unknown }) => Array.isArray(exclusion.rules) && exclusion.rules.includes('vision'));
  if (!vision) return undefined;
  return new PolicyRefusalError(error.code, error.message, {
    hint: `switch the session to a model tagged vision (\`syndicate provider switch PROVIDER:MODEL --session ${session.id}\`), tag ${activeModelLabel(session.active)} \`vision\` in its provider record if it takes images, or send this prompt without ${argumentNames.session}`,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

/** How a surface names the settings a stored session decides: `run`'s flags, the MCP tool's arguments. */
export interface SessionOverrideNames {
  provider: string;
  model: string;
  system: string;
  session: string;
  tools: string;
}

export const RUN_OPTION_NAMES: SessionOverrideNames = { provider: '--provider', model: '--model', system: '--system', session: '--session', tools: '--tools' };

/** Settings a request cannot combine with a stored session: the session decides them. */
export function refuseSessionOverrides(
  session: Session,
  overrides: { provider?: string; model?: string; system?: string; tools?: boolean },
  names: SessionOverrideNames = RUN_OPTION_NAMES,
): void {
  // A stored session keeps its turns as text and images: a tool call would be lost from its
  // conversation, and there is no way to give its result back on the CLI.
  if (overrides.tools === true) {
    throw new UsageError(`${names.tools} does not apply to a stored session: it keeps its turns as text`, { hint: `drop ${names.tools}, or drop ${names.session} ${session.id}` });
  }
  const pinned = `the session is on ${activeModelLabel(session.active)}`;
  if (overrides.provider !== undefined || (overrides.model !== undefined && overrides.model !== 'auto')) {
    throw new UsageError(`${names.provider} and ${names.model} cannot be combined with ${names.session} ${session.id}: ${pinned}`, {
      hint: `switch its model with \`syndicate provider switch PROVIDER:MODEL --session ${session.id}\`, then ask again`,
    });
  }
  if (overrides.system !== undefined) {
    throw new UsageError(`${names.system} cannot be combined with ${names.session} ${session.id}: a session's system prompt is set when it starts`, {
      hint: 'start a session with the system prompt you want: `syndicate session start --system TEXT`',
    });
  }
}
