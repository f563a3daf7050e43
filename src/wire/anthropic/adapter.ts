import { sha256Hex } from '../../common/hash.js';
import { UpstreamError } from '../../errors.js';
import type { ServerSentEvent, WireAdapter, WireError, WireHttpRequest, WireTarget } from '../adapter.js';
import { credentialHeaders, joinUrl } from '../auth.js';
import {
  inTurnOrder,
  lastCacheControl,
  logprobsDropped,
  type CacheControl,
  type CanonicalRequest,
  type CanonicalMessage,
  type CanonicalResponse,
  type ContentPart,
  type FinishReason,
  type JsonObject,
  type ReasoningPart,
  type RedactedReasoningPart,
  type StreamPart,
  type TextPart,
  type ToolCall,
  type ToolChoice,
  type Usage,
  type FieldEffect,
  type WireWarning,
} from '../canonical.js';
import { decodeErrorBody } from '../error-body.js';
import { anthropicThinkingForEffort, clientOutputEffort, REASONING_MAPPED_SETTING, REASONING_UNSENT_SETTING, THINKING_BUDGETS, type ReasoningEffort } from '../reasoning.js';
import { anthropicOutputSchema, describeMovedKeywords } from './output-schema.js';
import { toolHistoryAsText } from './tool-history.js';
import { countField, isRecord, MAX_JSON_NESTING, numberField, parseArgumentsObject, stringField, tryParseJson } from '../json.js';
import {
  ANTHROPIC_VERSION,
  type AnthropicCacheControl,
  type AnthropicContentBlock,
  type AnthropicImageBlock,
  type AnthropicMessage,
  type AnthropicMessagesRequest,
  type AnthropicTextBlock,
  type AnthropicToolChoice,
  type AnthropicToolUseBlock,
} from './types.js';

/**
 * `max_tokens` sent when the canonical request has none and the target gives no default
 * (`WireTarget.defaultMaxTokens`): the Messages API requires it. A filled-in value is always
 * reported as a warning.
 */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

/** The `max_tokens` the anthropic wire filled in for a request without one, as `warning` records it; undefined for any other warning. */
export function maxTokensFilledIn(warning: WireWarning): number | undefined {
  return warning.code === 'max_tokens_filled_in' ? warning.value : undefined;
}

/** The Messages API's temperature range is 0..1 (OpenAI's, which the canonical model keeps, is 0..2). */
const ANTHROPIC_MAX_TEMPERATURE = 1;

/** The instruction appended to the system prompt to emulate a JSON response format. */
export const ANTHROPIC_JSON_INSTRUCTION = 'Respond with a single JSON object and nothing else: no prose, no code fences.';

/**
 * The Anthropic Messages API wire. Settings it has no field for (seed, a JSON object response
 * format; a JSON Schema one on servers other than Anthropic's own) come back as warnings; such a
 * format is emulated with a system instruction.
 */
export const anthropicAdapter: WireAdapter = {
  specificationVersion: 'v1',
  wire: 'anthropic',
  encodeRequest: encodeAnthropicRequest,
  decodeResponse: decodeAnthropicResponse,
  decodeStreamEvent: decodeAnthropicStreamEvent,
  decodeError: decodeAnthropicError,
};

export function encodeAnthropicRequest(request: CanonicalRequest, target: WireTarget): WireHttpRequest {
  const warnings: WireWarning[] = [];
  const systemParts: string[] = request.system === undefined || request.system === '' ? [] : [request.system];
  const messages: AnthropicMessage[] = [];
  let conversationStarted = false;

  const append = (role: 'user' | 'assistant', blocks: AnthropicContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    // The Messages API alternates roles: consecutive turns of one role become one message.
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };

  request.messages.forEach((message, index) => {
    const location = `messages[${index}]`;
    switch (message.role) {
      case 'system': {
        const text = message.content
          .filter((part): part is { type: 'text'; text: string } => part.type === 'text')
          .map((part) => part.text)
          .join('\n');
        if (message.content.some((part) => part.type === 'image')) {
          warnings.push({ setting: `${location}.content`, message: 'the anthropic wire accepts no images in the system prompt; they were not sent' });
        }
        if (conversationStarted) {
          warnings.push({
            setting: location,
            message: 'the anthropic wire has no system messages inside the conversation; this one was appended to the top-level system prompt',
          });
        }
        if (text !== '') systemParts.push(text);
        return;
      }
      case 'user':
        conversationStarted = true;
        append('user', encodeParts(message.content, `${location}.content`, warnings));
        return;
      case 'assistant': {
        conversationStarted = true;
        const toolCalls = message.toolCalls ?? [];
        const toolUse = (call: ToolCall, callIndex: number): AnthropicToolUseBlock => {
          let input = parseArgumentsObject(call.arguments);
          if (input === undefined) {
            warnings.push({
              setting: `${location}.toolCalls[${callIndex}].arguments`,
              message: `tool-call arguments are not a JSON object (or nest more than ${MAX_JSON_NESTING} levels deep) and the anthropic wire needs one; an empty input was sent`,
            });
            input = {};
          }
          const id = anthropicToolId(call.id);
          if (id !== call.id) {
            warnings.push({
              setting: `${location}.toolCalls[${callIndex}].id`,
              message: `tool call id ${JSON.stringify(call.id)} has characters the Messages API refuses in an id (it takes letters, digits, "_" and "-"); it was sent as ${JSON.stringify(id)}, and so was the tool_use_id of its result`,
            });
          }
          return { type: 'tool_use', id, name: call.name, input };
        };
        if (toolCalls.some((call) => call.position !== undefined)) {
          // Interleaved thinking: the provider checks the replayed blocks in their original order.
          const blocks: AnthropicContentBlock[] = [];
          for (const item of inTurnOrder(message.content, toolCalls)) {
            const block = item.call === undefined ? encodePart(item.part, `${location}.content[${item.index}]`, warnings) : toolUse(item.call, item.index);
            if (block !== undefined) blocks.push(block);
          }
          append('assistant', blocks);
          return;
        }
        const blocks = encodeParts(message.content, `${location}.content`, warnings);
        toolCalls.forEach((call, callIndex) => blocks.push(toolUse(call, callIndex)));
        append('assistant', blocks);
        return;
      }
      case 'tool': {
        conversationStarted = true;
        const content = encodeParts(message.content, `${location}.content`, warnings).filter(
          (block): block is AnthropicTextBlock | AnthropicImageBlock => block.type === 'text' || block.type === 'image',
        );
        const onlyText = content.every((block) => block.type === 'text');
        append('user', [
          {
            type: 'tool_result',
            tool_use_id: anthropicToolId(message.toolCallId),
            content: onlyText ? content.map((block) => (block as AnthropicTextBlock).text).join('\n') : content,
            ...(message.isError === true ? { is_error: true } : {}),
            // A breakpoint on a part of the result marks the end of the result (its text is joined).
            ...cacheControlField(message.cacheControl ?? lastCacheControl(message.content)),
          },
        ]);
        return;
      }
    }
  });

  if (request.tools === undefined || request.tools.length === 0) toolHistoryAsText(messages, warnings);

  const format = request.responseFormat;
  // Anthropic's own API enforces a JSON Schema (structured outputs); other servers of the wire may not know the field.
  const nativeSchema = format?.type === 'json_schema' && target.vendor === 'anthropic' ? anthropicOutputSchema(format.schema) : undefined;
  if (format !== undefined && format.type !== 'text' && nativeSchema === undefined) {
    const instruction =
      format.type === 'json_object'
        ? ANTHROPIC_JSON_INSTRUCTION
        : `${ANTHROPIC_JSON_INSTRUCTION} It must validate against this JSON Schema: ${JSON.stringify(format.schema)}`;
    systemParts.push(instruction);
    const why = format.type === 'json_object' ? 'the anthropic wire has no json_object response format' : 'the provider is not declared as Anthropic\'s own API (vendor: anthropic), which alone is sent a json_schema format natively';
    // Sent, but as words the model reads, not a format the provider enforces: changed, not ignored.
    warnings.push({
      setting: 'responseFormat',
      message: `${why}; it was emulated by an instruction appended to the system prompt, so the output is not guaranteed to be valid JSON`,
      fields: [{ setting: 'responseFormat', effect: 'changed' }],
    });
  }
  if (nativeSchema !== undefined && nativeSchema.moved.length > 0) {
    warnings.push({
      setting: 'responseFormat',
      message: `Anthropic's structured outputs do not enforce every JSON Schema keyword; these were moved into the schema's descriptions, as Anthropic's SDKs move them, so the model reads them but the provider does not enforce them: ${describeMovedKeywords(nativeSchema.moved)}`,
    });
  }

  let maxTokens = request.maxTokens;
  if (maxTokens === undefined) {
    maxTokens = target.defaultMaxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS;
    warnings.push({ setting: 'maxTokens', message: `the anthropic wire requires max_tokens; none was given, so ${maxTokens} was sent`, code: 'max_tokens_filled_in', value: maxTokens });
  }
  if (request.logprobs !== undefined) {
    warnings.push({
      setting: 'logprobs',
      message: 'the anthropic wire returns no token log-probabilities; the request was sent without asking for them and the answer has none',
      fields: logprobsDropped(request.logprobs),
    });
  }
  if (request.seed !== undefined) {
    warnings.push({ setting: 'seed', message: 'the anthropic wire has no seed; the request was sent without it and is not reproducible', fields: [{ setting: 'seed', effect: 'dropped' }] });
  }

  const body: AnthropicMessagesRequest = { model: request.model, max_tokens: maxTokens, messages };
  if (systemParts.length > 0) {
    const system = systemParts.join('\n\n');
    // A cache breakpoint needs the block form; a plain string otherwise, as before.
    body.system = request.systemCacheControl === undefined ? system : [{ type: 'text', text: system, ...cacheControlField(request.systemCacheControl) }];
  }
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      input_schema: tool.inputSchema,
      ...(tool.strict === undefined ? {} : { strict: tool.strict }),
      ...cacheControlField(tool.cacheControl),
    }));
  }
  if (request.toolChoice !== undefined) {
    const choice = toolChoiceToSend(request.toolChoice, body.tools !== undefined, warnings);
    if (choice !== undefined) body.tool_choice = choice;
  }
  if (request.parallelToolCalls === false && body.tools !== undefined) {
    // Anthropic says it on the tool choice; `none` allows no call at all, so there is nothing to limit.
    const choice = body.tool_choice ?? { type: 'auto' };
    if (choice.type !== 'none') body.tool_choice = { ...choice, disable_parallel_tool_use: true };
  }
  if (request.temperature !== undefined) {
    // The Messages API refuses a temperature above 1 with a 400; OpenAI clients may send up to 2.
    body.temperature = Math.min(request.temperature, ANTHROPIC_MAX_TEMPERATURE);
    if (request.temperature > ANTHROPIC_MAX_TEMPERATURE) {
      warnings.push({
        setting: 'temperature',
        message: `the anthropic wire accepts a temperature of at most ${ANTHROPIC_MAX_TEMPERATURE}; ${request.temperature} was sent as ${ANTHROPIC_MAX_TEMPERATURE}`,
        fields: [{ setting: 'temperature', effect: 'changed' }],
      });
    }
  }
  if (request.topP !== undefined) {
    // Newer Claude models (Opus 4.1, Sonnet 4.5, Haiku 4.5 and later) refuse both with a 400. Left
    // out for every model: the record does not say which a model is, and temperature keeps the intent.
    if (body.temperature === undefined) body.top_p = request.topP;
    else {
      warnings.push({
        setting: 'topP',
        message: `the anthropic wire refuses temperature and top_p together on newer Claude models; top_p ${request.topP} was left out and temperature ${body.temperature} sent`,
        fields: [{ setting: 'topP', effect: 'dropped' }],
      });
    }
  }
  if (request.stop !== undefined && request.stop.length > 0) body.stop_sequences = request.stop;
  if (request.stream) body.stream = true;
  // The thinking an effort becomes changes other settings only once it is known to be sent.
  const fromEffort =
    clientOutputEffortGoesThrough(request, target) || request.thinking !== undefined || request.reasoningEffort === undefined
      ? undefined
      : thinkingForEffort(request.reasoningEffort, body, target, warnings);
  const thinking = clientOutputEffortGoesThrough(request, target)
    ? withClientOutputEffort(request.reasoningEffort, request.thinking, body, target, warnings)
    : (request.thinking ?? fromEffort?.thinking);
  if (request.thinking !== undefined && request.reasoningEffort !== undefined && body.output_config?.effort === undefined) {
    warnings.push({ setting: REASONING_UNSENT_SETTING, message: `${request.reasoningEffort.field} "${request.reasoningEffort.effort}" was not sent: the client's own thinking was sent as is, and only Anthropic's own API (vendor: anthropic) is known to take output_config.effort` });
  }
  if (thinking !== undefined) {
    if (thinkingWouldBeRefused(thinking, messages)) {
      warnings.push({
        setting: 'thinking',
        message: `extended thinking was left off for this request: the last assistant turn calls a tool without its signed reasoning (it was answered by another provider), which the anthropic wire refuses while thinking is on${
          fromEffort === undefined ? '' : `; ${fromEffort.asked} was not sent, and max_tokens, temperature and top_p went as the client sent them`
        }`,
      });
    } else {
      body.thinking = thinking;
      if (fromEffort !== undefined) fitEffortThinking(fromEffort, body, request.maxTokens !== undefined, warnings);
    }
  }
  // An effort mapped from another face goes with thinking only (a client's own effort stands alone, as the API takes it); the answer format stands on its own.
  if (body.thinking === undefined && request.reasoningEffort?.field !== 'output_config.effort') delete body.output_config;
  // The GA form (no beta header); the beta's top-level output_format is deprecated.
  if (nativeSchema !== undefined) body.output_config = { ...body.output_config, format: { type: 'json_schema', schema: nativeSchema.schema } };

  return {
    method: 'POST',
    url: joinUrl(target.baseUrl, '/v1/messages'),
    headers: {
      'content-type': 'application/json',
      'anthropic-version': ANTHROPIC_VERSION,
      ...(request.anthropicBeta === undefined || request.anthropicBeta.length === 0 ? {} : { 'anthropic-beta': request.anthropicBeta.join(',') }),
      ...(request.stream ? { accept: 'text/event-stream' } : { accept: 'application/json' }),
      ...credentialHeaders('x-api-key', target.apiKey, target.authHeader),
    },
    body: JSON.stringify(body),
    warnings,
  };
}

/**
 * What the Messages API says of a turn with no content (captured from the API in client reports,
 * e.g. anthropics/claude-code#3196: 400 `invalid_request_error`), with the turn's index.
 */
export function anthropicEmptyTurnMessage(index: number): string {
  return `messages.${index}: all messages must have non-empty content except for the optional final assistant message`;
}

/** What the Messages API says of a request whose `messages` is empty (a conversation of a system prompt only). */
export const ANTHROPIC_NO_MESSAGES = 'messages: at least one message is required';

/**
 * Whether the request has nothing but a system prompt: the anthropic wire would send `messages: []`,
 * which the Messages API refuses (`ANTHROPIC_NO_MESSAGES`). OpenAI's chat completions answer such
 * a conversation, and local engines do when their chat template allows it.
 */
export function anthropicSendsNoMessage(request: CanonicalRequest): boolean {
  return request.messages.every((message) => message.role === 'system');
}

/**
 * The index (in `request.messages`) of a turn the anthropic wire cannot send as asked, because
 * it has no content the Messages API takes (an empty text, reasoning without a signature):
 * `encodeAnthropicRequest` leaves empty turns out, so a conversation of nothing but empty turns
 * would go out as `messages: []`, and a final empty user turn would turn the assistant turn before
 * it into a prefill to continue. The API refuses the request instead (`anthropicEmptyTurnMessage`),
 * and so does the router, before any call. Undefined when every turn it sends is what was asked.
 */
export function anthropicUnsendableTurn(request: CanonicalRequest): number | undefined {
  const conversation = request.messages.flatMap((message, index) => (message.role === 'system' ? [] : [{ message, index }]));
  const sendable = (message: CanonicalMessage): boolean =>
    message.role === 'tool' || (message.role === 'assistant' && (message.toolCalls?.length ?? 0) > 0) || message.content.some((part) => encodePart(part, '', []) !== undefined);
  const first = conversation[0];
  if (first !== undefined && !conversation.some(({ message }) => sendable(message))) return first.index;
  const last = conversation.at(-1);
  return last !== undefined && last.message.role === 'user' && !sendable(last.message) ? last.index : undefined;
}

/** What the Messages API takes as a `tool_use` block's id and a `tool_result`'s `tool_use_id` (else a 400). */
const ANTHROPIC_TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * A tool-call id in a form the Messages API takes. Another engine's ids may hold characters it
 * refuses (vLLM's Kimi K2 parser names a call `functions.Bash:0`), and a conversation carries them
 * to whichever provider answers its next turn. An id it takes is sent as it came; another has each
 * refused character replaced by `_` and a digest of the whole id appended, so a call and its
 * result, mapped alike, still match, and two ids stay two. Answers carry the provider's own ids.
 */
export function anthropicToolId(id: string): string {
  return ANTHROPIC_TOOL_ID.test(id) ? id : `${id.replace(/[^a-zA-Z0-9_-]/g, '_')}_${sha256Hex(id).slice(0, 8)}`;
}

/**
 * With thinking on, the Messages API requires the last assistant turn, when it calls a tool, to
 * begin with its thinking block — which a turn answered by another provider (a local engine, or
 * one whose reasoning carries no signature) cannot have.
 */
function thinkingWouldBeRefused(thinking: JsonObject, messages: readonly AnthropicMessage[]): boolean {
  if (thinking['type'] === 'disabled') return false;
  const lastAssistant = [...messages].reverse().find((message) => message.role === 'assistant');
  if (lastAssistant === undefined || !lastAssistant.content.some((block) => block.type === 'tool_use')) return false;
  const first = lastAssistant.content[0]?.type;
  return first !== 'thinking' && first !== 'redacted_thinking';
}

function encodeParts(parts: ContentPart[], location: string, warnings: WireWarning[]): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  parts.forEach((part, index) => {
    const block = encodePart(part, `${location}[${index}]`, warnings);
    if (block !== undefined) blocks.push(block);
  });
  return blocks;
}

/** One content part as its block; undefined for a part the wire does not take (see the comments). */
function encodePart(part: ContentPart, location: string, warnings: WireWarning[]): AnthropicContentBlock | undefined {
  if (part.type === 'text') {
    // The Messages API rejects empty text blocks.
    return part.text === '' ? undefined : { type: 'text', text: part.text, ...cacheControlField(part.cacheControl) };
  }
  if (part.type === 'reasoning') {
    // Only the provider's own signed reasoning can go back; another engine's would fail its check.
    return part.signature === undefined || part.signature === '' ? undefined : { type: 'thinking', thinking: part.text, signature: part.signature };
  }
  // The provider's own ciphertext, sent back unmodified: it refuses a turn replayed without it.
  if (part.type === 'redacted-reasoning') return { type: 'redacted_thinking', data: part.data };
  if (part.detail !== undefined && part.detail !== 'auto') {
    warnings.push({ setting: `${location}.detail`, message: `the anthropic wire has no image detail setting; "${part.detail}" was not sent` });
  }
  if (part.data !== undefined) {
    if (part.mediaType === undefined) {
      warnings.push({ setting: `${location}.mediaType`, message: 'inline image without a media type; sent as image/png' });
    }
    return { type: 'image', source: { type: 'base64', media_type: part.mediaType ?? 'image/png', data: part.data }, ...cacheControlField(part.cacheControl) };
  }
  if (part.url !== undefined) return { type: 'image', source: { type: 'url', url: part.url }, ...cacheControlField(part.cacheControl) };
  return undefined;
}

/** `cache_control` for a block that carries a canonical cache breakpoint; nothing otherwise. */
function cacheControlField(cacheControl: CacheControl | undefined): { cache_control?: AnthropicCacheControl } {
  if (cacheControl === undefined) return {};
  return { cache_control: cacheControl.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: cacheControl.ttl } };
}

/** An Anthropic client's own `output_config.effort` to Anthropic's own API, which takes it with or without thinking. */
function clientOutputEffortGoesThrough(request: CanonicalRequest, target: WireTarget): request is CanonicalRequest & { reasoningEffort: { effort: ReasoningEffort } } {
  return request.reasoningEffort?.field === 'output_config.effort' && target.vendor === 'anthropic';
}

/**
 * An Anthropic client's `output_config.effort` sent back as it came (at the nearest level the
 * model's record declares, a warning if another), with the client's own thinking as is; without
 * one, a model that always thinks gets adaptive thinking, as the effort mapping gives it.
 */
function withClientOutputEffort(requested: { effort: ReasoningEffort }, clientThinking: JsonObject | undefined, body: AnthropicMessagesRequest, target: WireTarget, warnings: WireWarning[]): JsonObject | undefined {
  const effort = clientOutputEffort(requested.effort, target.modelEfforts);
  if (effort !== requested.effort) {
    warnings.push({
      setting: REASONING_MAPPED_SETTING,
      message: `output_config.effort "${requested.effort}" was sent as output_config.effort "${effort}", the nearest the model takes`,
      fields: [{ setting: 'reasoning', effect: 'changed' }],
    });
  }
  body.output_config = { effort };
  if (clientThinking !== undefined) return clientThinking;
  return target.modelDeviations?.includes('thinking_always_on') === true ? { type: 'adaptive' } : undefined;
}

/** The thinking a client's effort becomes (`thinkingForEffort`), with what it changes once it is sent (`fitEffortThinking`). */
interface EffortThinking {
  /** The client's effort as its client worded it: `reasoning_effort "high"`. */
  asked: string;
  effort: ReasoningEffort;
  thinking: JsonObject;
  /** The Messages API's `output_config.effort`, for a model that always thinks (adaptive thinking). */
  outputEffort?: ReasoningEffort;
}

/**
 * An OpenAI client's effort as Anthropic thinking (`anthropicThinkingForEffort`); undefined, with
 * the warning that says why, when it sends none: `none`, `minimal` under the smallest budget, or a
 * forced tool (which thinking refuses). Nothing on `body` changes here (`fitEffortThinking` does,
 * once the thinking is sure to be sent).
 */
function thinkingForEffort(requested: { effort: ReasoningEffort; field: string }, body: AnthropicMessagesRequest, target: WireTarget, warnings: WireWarning[]): EffortThinking | undefined {
  const asked = `${requested.field} "${requested.effort}"`;
  const mapped = anthropicThinkingForEffort(requested.effort, target);
  if (mapped === undefined) {
    if (requested.effort === 'minimal') {
      warnings.push({
        setting: REASONING_MAPPED_SETTING,
        message: `${asked} was sent as no thinking: the smallest thinking budget (${THINKING_BUDGETS.low} tokens) is more than minimal`,
        fields: [{ setting: 'reasoning', effect: 'dropped' }],
      });
    }
    return undefined;
  }
  if (mapped.outputEffort === undefined && (body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool')) {
    warnings.push({ setting: REASONING_UNSENT_SETTING, message: `${asked} was not sent: the anthropic wire refuses extended thinking with a forced tool choice` });
    return undefined;
  }
  return { asked, effort: requested.effort, ...mapped };
}

/**
 * The Messages API's top_p range while thinking is on (platform.claude.com, extended thinking,
 * feature compatibility: "you can set top_p to values between 1 and 0.95"; temperature and top_k
 * it refuses — top_k never reaches this wire, the faces do not interpret it).
 */
const THINKING_MIN_TOP_P = 0.95;

/**
 * Fits the request to the thinking an effort became, now that it is sent, each change said in one
 * warning (and each setting of the client's it changed named in its `fields`): `output_config.effort`
 * for a model that always thinks (and a mapped level); for a budget, a `max_tokens` at or under it
 * raised by the budget (the budget must be below it, and the answer keeps the room the client gave
 * it; `clientMaxTokens`: the client set it, so raising it changes the client's setting); for
 * either, a temperature left out and a top_p under 0.95 raised to it (thinking takes no other).
 */
function fitEffortThinking(effortThinking: EffortThinking, body: AnthropicMessagesRequest, clientMaxTokens: boolean, warnings: WireWarning[]): void {
  const { asked, effort, outputEffort } = effortThinking;
  const changes: string[] = [];
  const fields: FieldEffect[] = [];
  // An effort sent as the same level needs no word, unless something else changed with it.
  let worthSaying = true;
  if (outputEffort !== undefined) {
    body.output_config = { effort: outputEffort };
    worthSaying = outputEffort !== effort;
    if (outputEffort !== effort) fields.push({ setting: 'reasoning', effect: 'changed' });
    changes.push(`adaptive thinking with output_config.effort "${outputEffort}"${outputEffort === effort ? '' : ', the nearest the model takes'}`);
  } else {
    const budget = Number(effortThinking.thinking['budget_tokens']);
    changes.push(`thinking budget_tokens ${budget}`);
    if (body.max_tokens <= budget) {
      changes.push(`max_tokens raised from ${body.max_tokens} to ${budget + body.max_tokens} (it must exceed the budget)`);
      body.max_tokens = budget + body.max_tokens;
      if (clientMaxTokens) fields.push({ setting: 'maxTokens', effect: 'changed' });
    }
  }
  const beforeSampling = changes.length;
  if (body.temperature !== undefined) {
    changes.push(`temperature ${body.temperature} left out (thinking takes none)`);
    delete body.temperature;
    fields.push({ setting: 'temperature', effect: 'dropped' });
  }
  if (body.top_p !== undefined && body.top_p < THINKING_MIN_TOP_P) {
    changes.push(`top_p ${body.top_p} sent as ${THINKING_MIN_TOP_P} (thinking takes ${THINKING_MIN_TOP_P} to 1)`);
    body.top_p = THINKING_MIN_TOP_P;
    fields.push({ setting: 'topP', effect: 'changed' });
  }
  if (worthSaying || changes.length > beforeSampling) {
    warnings.push({ setting: REASONING_MAPPED_SETTING, message: `${asked} was sent as ${changes.join('; ')}`, ...(fields.length === 0 ? {} : { fields }) });
  }
}

/**
 * The tool choice to send, or none: the Messages API refuses any `tool_choice` (`none` too) in a
 * request that declares no tools ("tool_choice.auto may only be specified while providing tools"),
 * and OpenAI clients send `auto` or `none` with every request. Without tools, `auto` and `none`
 * both let the model call nothing, so leaving them out changes nothing it may do; a warning says
 * so. A choice that asks for a call (`required`, a named tool) is sent as asked: the request
 * readers refuse it without tools before routing, and otherwise the provider's 400 says what is wrong.
 */
function toolChoiceToSend(choice: ToolChoice, declaresTools: boolean, warnings: WireWarning[]): AnthropicToolChoice | undefined {
  if (declaresTools || (choice !== 'auto' && choice !== 'none')) return encodeToolChoice(choice);
  warnings.push({
    setting: 'toolChoice',
    message: `the request declares no tools, and the anthropic wire refuses a tool_choice without them: tool_choice ${choice} was left out, which lets the model call no tool all the same`,
    fields: [{ setting: 'toolChoice', effect: 'dropped' }],
  });
  return undefined;
}

function encodeToolChoice(choice: ToolChoice): AnthropicToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.name };
}

/** Maps an Anthropic `stop_reason` to the canonical finish reason. */
export function anthropicFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

export function decodeAnthropicResponse(body: string): CanonicalResponse {
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) {
    throw new UpstreamError('upstream returned a body that is not JSON where a message was expected', {
      isRetryable: false,
      code: 'upstream_malformed_response',
      hint: 'check that the provider base URL points at an Anthropic Messages API (without /v1)',
    });
  }
  if (parsed['type'] === 'error') {
    const error = decodeErrorBody(200, body);
    throw new UpstreamError(`upstream returned an error in a successful response: ${error.message}`, {
      isRetryable: false,
      code: 'upstream_error_body',
    });
  }
  const content = parsed['content'];
  if (!Array.isArray(content)) {
    throw new UpstreamError('upstream response has no content array', {
      isRetryable: false,
      code: 'upstream_malformed_response',
      hint: 'check that the provider speaks the anthropic messages wire',
    });
  }
  const textChunks: string[] = [];
  const thinkingChunks: string[] = [];
  let signature = '';
  const toolCalls: ToolCall[] = [];
  // The blocks in order, kept for an answer with several thinking blocks or a redacted one (CanonicalResponse.parts).
  const parts: Array<TextPart | ReasoningPart | RedactedReasoningPart> = [];
  const positions: number[] = [];
  let thinkingBlocks = 0;
  let redacted = false;
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block['type'] === 'text' && typeof block['text'] === 'string') {
      textChunks.push(block['text']);
      if (block['text'] !== '') parts.push({ type: 'text', text: block['text'] });
    }
    if (block['type'] === 'thinking' && typeof block['thinking'] === 'string') {
      const blockSignature = stringField(block, 'signature') ?? '';
      if (block['thinking'] !== '') {
        thinkingChunks.push(block['thinking']);
        signature = blockSignature === '' ? signature : blockSignature;
      }
      if (block['thinking'] !== '' || blockSignature !== '') {
        thinkingBlocks += 1;
        parts.push({ type: 'reasoning', text: block['thinking'], ...(blockSignature === '' ? {} : { signature: blockSignature }) });
      }
    }
    if (block['type'] === 'redacted_thinking' && typeof block['data'] === 'string') {
      redacted = true;
      parts.push({ type: 'redacted-reasoning', data: block['data'] });
    }
    if (block['type'] === 'tool_use') {
      toolCalls.push({
        id: stringField(block, 'id') ?? `toolu_${toolCalls.length}`,
        name: stringField(block, 'name') ?? '',
        arguments: JSON.stringify(isRecord(block['input']) ? block['input'] : {}),
      });
      positions.push(parts.length);
    }
  }
  const ordered = thinkingBlocks > 1 || redacted;
  if (ordered) {
    toolCalls.forEach((call, index) => {
      call.position = positions[index] as number;
    });
  }
  const rawFinishReason = stringField(parsed, 'stop_reason') ?? null;
  const stopSequence = stringField(parsed, 'stop_sequence');
  const usage = decodeUsage(parsed['usage']);
  return {
    id: stringField(parsed, 'id') ?? '',
    model: stringField(parsed, 'model') ?? '',
    text: textChunks.join(''),
    ...(thinkingChunks.length === 0 ? {} : { reasoning: thinkingChunks.join('') }),
    ...(ordered ? { parts } : thinkingChunks.length === 0 || signature === '' ? {} : { reasoningSignature: signature }),
    toolCalls,
    finishReason: anthropicFinishReason(rawFinishReason),
    rawFinishReason,
    ...(stopSequence === undefined ? {} : { stopSequence }),
    ...(usage.inputTokens !== undefined && usage.outputTokens !== undefined ? { usage: usage as Usage } : {}),
  };
}

/** Anthropic's `input_tokens` excludes cache reads and writes; the canonical count includes them. */
function decodeUsage(value: unknown, options: { skipOutput?: boolean } = {}): Partial<Usage> {
  if (!isRecord(value)) return {};
  const usage: Partial<Usage> = {};
  const input = countField(value, 'input_tokens');
  const cacheRead = countField(value, 'cache_read_input_tokens');
  const cacheWrite = countField(value, 'cache_creation_input_tokens');
  if (input !== undefined) usage.inputTokens = input + (cacheRead ?? 0) + (cacheWrite ?? 0);
  if (cacheRead !== undefined && cacheRead > 0) usage.cachedInputTokens = cacheRead;
  if (cacheWrite !== undefined && cacheWrite > 0) usage.cacheWriteInputTokens = cacheWrite;
  const creation = value['cache_creation'];
  const writtenForAnHour = isRecord(creation) ? countField(creation, 'ephemeral_1h_input_tokens') : undefined;
  if (writtenForAnHour !== undefined && writtenForAnHour > 0) usage.cacheWrite1hInputTokens = writtenForAnHour;
  const output = countField(value, 'output_tokens');
  if (output !== undefined && options.skipOutput !== true) usage.outputTokens = output;
  return usage;
}

/** One Anthropic SSE event (`event:` name, or the `type` inside `data` when the name is absent). */
export function decodeAnthropicStreamEvent(event: ServerSentEvent): StreamPart[] {
  const data = tryParseJson(event.data);
  if (!isRecord(data)) {
    if (event.event === 'ping' || event.data.trim() === '') return [];
    return [{ type: 'error', message: `malformed stream event: ${event.data.slice(0, 120)}`, errorType: 'malformed_event' }];
  }
  const type = event.event ?? stringField(data, 'type');
  switch (type) {
    case 'message_start': {
      const message = isRecord(data['message']) ? data['message'] : {};
      const id = stringField(message, 'id');
      const model = stringField(message, 'model');
      const parts: StreamPart[] = [
        { type: 'response-metadata', ...(id === undefined ? {} : { id }), ...(model === undefined ? {} : { model }) },
      ];
      // output_tokens in message_start is a placeholder; message_delta carries the real count.
      const usage = decodeUsage(message['usage'], { skipOutput: true });
      if (Object.keys(usage).length > 0) parts.push({ type: 'usage', usage });
      return parts;
    }
    case 'content_block_start': {
      const index = numberField(data, 'index') ?? 0;
      const block = isRecord(data['content_block']) ? data['content_block'] : {};
      if (block['type'] === 'tool_use') {
        const id = stringField(block, 'id');
        const name = stringField(block, 'name');
        const input = block['input'];
        const prefilled = isRecord(input) && Object.keys(input).length > 0 ? JSON.stringify(input) : '';
        return [
          {
            type: 'tool-call-delta',
            index,
            ...(id === undefined ? {} : { id }),
            ...(name === undefined ? {} : { name }),
            argumentsDelta: prefilled,
          },
        ];
      }
      if (block['type'] === 'text' && typeof block['text'] === 'string' && block['text'] !== '') {
        return [{ type: 'text-delta', text: block['text'] }];
      }
      if (block['type'] === 'thinking' && typeof block['thinking'] === 'string' && block['thinking'] !== '') {
        return [{ type: 'reasoning-delta', text: block['thinking'] }];
      }
      // Encrypted reasoning has no deltas: its start carries the whole block.
      if (block['type'] === 'redacted_thinking' && typeof block['data'] === 'string') {
        return [{ type: 'redacted-reasoning', data: block['data'] }];
      }
      return [];
    }
    case 'content_block_delta': {
      const index = numberField(data, 'index') ?? 0;
      const delta = isRecord(data['delta']) ? data['delta'] : {};
      if (delta['type'] === 'text_delta' && typeof delta['text'] === 'string' && delta['text'] !== '') {
        return [{ type: 'text-delta', text: delta['text'] }];
      }
      if (delta['type'] === 'thinking_delta' && typeof delta['thinking'] === 'string' && delta['thinking'] !== '') {
        return [{ type: 'reasoning-delta', text: delta['thinking'] }];
      }
      if (delta['type'] === 'signature_delta' && typeof delta['signature'] === 'string' && delta['signature'] !== '') {
        return [{ type: 'reasoning-signature', signature: delta['signature'] }];
      }
      if (delta['type'] === 'input_json_delta' && typeof delta['partial_json'] === 'string') {
        return delta['partial_json'] === '' ? [] : [{ type: 'tool-call-delta', index, argumentsDelta: delta['partial_json'] }];
      }
      return [];
    }
    case 'message_delta': {
      const parts: StreamPart[] = [];
      const delta = isRecord(data['delta']) ? data['delta'] : {};
      const rawFinishReason = stringField(delta, 'stop_reason');
      if (rawFinishReason !== undefined) {
        const stopSequence = stringField(delta, 'stop_sequence');
        parts.push({ type: 'finish', finishReason: anthropicFinishReason(rawFinishReason), rawFinishReason, ...(stopSequence === undefined ? {} : { stopSequence }) });
      }
      const usage = decodeUsage(data['usage']);
      if (Object.keys(usage).length > 0) parts.push({ type: 'usage', usage });
      return parts;
    }
    case 'message_stop':
      return [{ type: 'stream-end' }];
    case 'error': {
      const error = decodeErrorBody(200, event.data);
      return [{ type: 'error', message: error.message, ...(error.errorType === undefined ? {} : { errorType: error.errorType }) }];
    }
    default:
      // ping, content_block_stop and event types added by later API versions carry nothing for us.
      return [];
  }
}

export function decodeAnthropicError(status: number, body: string): WireError {
  return decodeErrorBody(status, body);
}

/** Tool-call arguments as the `input` object the Anthropic wire needs; `undefined` when they are not a JSON object (or nest more than `MAX_JSON_NESTING` deep). */
export function toolInputFromArguments(argumentsText: string): JsonObject | undefined {
  return parseArgumentsObject(argumentsText);
}
