import { newId } from '../common/ids.js';
import { PolicyRefusalError, SessionChainBrokenError, SessionEnvelopeError, UsageError } from '../errors.js';
import { recordDenial } from '../evidence/index.js';
import { currentPolicy } from '../invoke/context.js';
import { invoke } from '../invoke/pipeline.js';
import type { InvocationInput, InvocationResult, PipelineContext } from '../invoke/types.js';
import { currentProviders } from '../registry/provider-cache.js';
import { isSensitivityLevel, type SensitivityLevel } from '../common/vocabulary.js';
import { classifyRequest } from '../classify/index.js';
import type { Store } from '../store/store.js';
import { imageParts, type PromptImage } from '../invoke/prompt-options.js';
import { promptMessage, type CanonicalMessage, type CanonicalRequest, type ImagePart } from '../wire/canonical.js';
import { canonicalMessages } from './compaction.js';
import { appendTurn, checkEnvelope, provenContext, requireSession } from './sessions.js';
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
  /** The number of the turn appended. */
  turn: number;
}

/**
 * One governed invocation in a stored session: the request carries the session's system prompt,
 * the messages in its context (their images with them) and the new prompt with its images, pinned
 * to its active model (every policy rule still applies: the images of earlier turns are classified
 * and routed as this turn's are). Refused (exit 4) while the envelope does not cover the model.
 * Only an answered invocation appends its turn — prompt, images and answer, in one transaction; a
 * refused or failed one leaves the session as it was.
 */
export async function invokeInSession(context: PipelineContext, input: SessionInvocationInput): Promise<SessionInvocationResult> {
  const { sessionId, prompt, images = [], settings, argumentNames = RUN_OPTION_NAMES, ...rest } = input;
  const parts = imageParts(images);
  const session = requireSession(context.store, sessionId);
  const { policy } = currentPolicy(context);
  let next: SessionTurn;
  try {
    checkEnvelope(context.store, session, policy);
    next = sessionTurn(context.store, session);
  } catch (error) {
    // A refusal is evidence (`run --session`, MCP `complete`), as when the gateway refuses a request in this session.
    if (error instanceof SessionEnvelopeError || error instanceof SessionChainBrokenError) {
      recordDenial(context.store, { requestId: newId('req'), caller: rest.caller, reasonCode: error.code, message: error.message, sessionId: session.id });
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
      request,
      sessionId: session.id,
      ...(next.provider === undefined ? {} : { provider: next.provider }),
    });
  } catch (error) {
    throw pinnedModelRefusal(context, session, error, { prompt, images: parts, argumentNames, ...(rest.sensitivityHint === undefined ? {} : { sensitivityHint: rest.sensitivityHint }) }) ?? error;
  }
  const appended = appendTurn(context.store, session.id, {
    continues: next.position,
    prompt,
    answer: result.response.text,
    providerId: result.provider.id,
    model: result.model,
    evidenceId: result.evidenceId,
    images: images.map(({ part, bytes }) => ({ mediaType: part.mediaType, bytes })),
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
}

/**
 * The request a prompt in `session` becomes (`run --session`, MCP `complete`), and `route_explain`
 * routes; `SessionChainBrokenError` (exit 1) when its stored conversation fails its hash chain.
 */
export function sessionTurn(store: Store, session: Session): SessionTurn {
  const { systemPrompt, messages, imageBytes, position } = provenContext(store, session.id);
  return {
    position,
    model: activeModelLabel(session.active),
    ...(session.active.kind === 'pinned' ? { provider: session.active.providerId } : {}),
    ...(systemPrompt === null ? {} : { system: systemPrompt }),
    history: canonicalMessages(messages, imageBytes),
  };
}

/**
 * A refusal whose fix is different in a session: the pinned model's class may not receive this
 * request's sensitivity (a restricted prompt in a session on a hosted model), the conversation
 * has outgrown its window, or it holds an image and the pinned model is not tagged vision.
 * Undefined for every other error.
 */
function pinnedModelRefusal(
  context: PipelineContext,
  session: Session,
  error: unknown,
  turn: { prompt: string; images: readonly ImagePart[]; argumentNames: SessionOverrideNames; sensitivityHint?: SensitivityLevel },
): PolicyRefusalError | undefined {
  if (!(error instanceof PolicyRefusalError) || session.active.kind !== 'pinned') return undefined;
  if (error.code === 'context_length_exceeded') {
    // Compaction happens on a switch; switching to the model the session is on compacts it in place.
    return new PolicyRefusalError(error.code, error.message, {
      hint: `compact the session by switching it (to the same model, or one with a larger window): \`syndicate provider switch ${activeModelLabel(session.active)} --session ${session.id}\``,
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
