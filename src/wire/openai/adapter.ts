import { counted } from '../../common/counted.js';
import { sha256Hex } from '../../common/hash.js';
import { UpstreamError } from '../../errors.js';
import type { ServerSentEvent, WireAdapter, WireError, WireHttpRequest, WireTarget } from '../adapter.js';
import { credentialHeaders, joinUrl } from '../auth.js';
import {
  ANTHROPIC_BETA_SETTING,
  type CanonicalMessage,
  type CanonicalRequest,
  type CanonicalResponse,
  type ContentPart,
  type ImagePart,
  type JsonObject,
  type TextPart,
  type FinishReason,
  type StreamPart,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
  type WireWarning,
} from '../canonical.js';
import { decodeErrorBody } from '../error-body.js';
import { decodeOpenAICompletionResponse, decodeOpenAICompletionStreamEvent, encodeOpenAICompletionRequest } from './completions.js';
import { decodeOpenAIEmbeddingResponse, encodeOpenAIEmbeddingRequest } from './embeddings.js';
import { argumentsToText, countField, isRecord, numberField, stringField, tryParseJson } from '../json.js';
import { WIRE_OBSERVATIONS } from '../observations.js';
import { effortOfThinking, encodeOpenAIEffort } from '../reasoning.js';
import type {
  OpenAIChatRequest,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAIResponseFormat,
  OpenAIToolCall,
  OpenAIToolChoice,
  OpenAIToolDefinition,
} from './types.js';
import { customCallArguments, freeformInput, freeformToolNames } from './custom-tools.js';
import { strictSchemaMisfit } from './strict-schema.js';
import { generationTimingsOf } from './timings.js';

/** `data:` payload that ends an OpenAI-style stream. */
export const OPENAI_STREAM_DONE = '[DONE]';

/**
 * The OpenAI chat completions wire, as spoken by OpenAI, Zhipu GLM and the local engines
 * (Ollama, llama.cpp `llama-server`, vLLM, LM Studio). Decoding is lenient where engines
 * deviate, and every tolerated deviation is reported as an observation.
 */
export const openAIAdapter: WireAdapter = {
  specificationVersion: 'v1',
  wire: 'openai',
  encodeRequest: encodeOpenAIRequest,
  decodeResponse: decodeOpenAIResponse,
  decodeStreamEvent: decodeOpenAIStreamEvent,
  decodeError: decodeOpenAIError,
  encodeEmbeddingRequest: encodeOpenAIEmbeddingRequest,
  decodeEmbeddingResponse: decodeOpenAIEmbeddingResponse,
  encodeCompletionRequest: encodeOpenAICompletionRequest,
  decodeCompletionResponse: decodeOpenAICompletionResponse,
  decodeCompletionStreamEvent: decodeOpenAICompletionStreamEvent,
};

export function encodeOpenAIRequest(request: CanonicalRequest, target: WireTarget): WireHttpRequest {
  const warnings: WireWarning[] = [];
  const messages: OpenAIMessage[] = [];
  // OpenAI's own API takes custom tools as they are; every other server of the wire gets functions of one string `input`.
  const nativeCustomTools = target.vendor === 'openai' ? freeformToolNames(request) : new Set<string>();
  if (request.system !== undefined && request.system !== '') messages.push({ role: 'system', content: request.system });
  const customCall = customCallRule(request, target, nativeCustomTools);
  // Images in tool results (a screenshot, an image file read by an agent's tool) wait for the end
  // of the run of tool messages: the wire takes only text there, so they go in the user turn that follows.
  const toolImages: ContentPart[] = [];
  const userTurnOfToolImages = (): CanonicalMessage => ({ role: 'user', content: toolImages.splice(0) });
  request.messages.forEach((message, index) => {
    const location = `messages[${index}]`;
    if (message.role === 'tool') {
      messages.push(encodeMessage(withoutToolResultImages(message, location, toolImages, warnings), location, warnings, customCall));
      return;
    }
    if (toolImages.length > 0 && message.role !== 'user') messages.push(encodeMessage(userTurnOfToolImages(), location, warnings, customCall));
    const turn = toolImages.length > 0 && message.role === 'user' ? { ...message, content: [...toolImages.splice(0), ...message.content] } : message;
    messages.push(encodeMessage(turn, location, warnings, customCall));
  });
  if (toolImages.length > 0) messages.push(encodeMessage(userTurnOfToolImages(), 'messages', warnings, customCall));

  const body: OpenAIChatRequest = { model: request.model, messages };
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => (nativeCustomTools.has(tool.name) ? encodeCustomTool(tool) : encodeFunctionTool(tool)));
  }
  if (request.toolChoice !== undefined) body.tool_choice = encodeToolChoice(request.toolChoice, nativeCustomTools);
  if (request.parallelToolCalls !== undefined && body.tools !== undefined) body.parallel_tool_calls = request.parallelToolCalls;
  const responseFormat = encodeResponseFormat(request, target, warnings);
  if (responseFormat !== undefined) body.response_format = responseFormat;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  // `max_tokens`, not `max_completion_tokens`: it is what every local engine accepts.
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.stop !== undefined && request.stop.length > 0) {
    body.stop = request.stop;
    // llama-server names the stop string that ended an answer only in `__verbose`, which it adds when asked.
    if (request.stopSequenceWanted === true && target.engine === 'llama.cpp') body.verbose = true;
  }
  if (request.logprobs !== undefined) {
    body.logprobs = true;
    if (request.logprobs.top !== undefined) body.top_logprobs = request.logprobs.top;
  }
  if (request.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  const effort = encodeOpenAIEffort(request, target);
  if (effort.value !== undefined) body.reasoning_effort = effort.value;
  warnings.push(...effort.warnings);
  if (request.thinking !== undefined && effortOfThinking(request.thinking) === undefined) {
    warnings.push({ setting: 'thinking', message: "adaptive thinking names no effort: nothing was sent for it (the model's server decides how much it reasons)" });
  }
  if (request.anthropicBeta !== undefined && request.anthropicBeta.length > 0) {
    warnings.push({ setting: ANTHROPIC_BETA_SETTING, message: `the openai wire has no Anthropic betas; the anthropic-beta header (${request.anthropicBeta.join(',')}) was not sent` });
  }

  return {
    method: 'POST',
    url: joinUrl(target.baseUrl, '/chat/completions'),
    headers: {
      'content-type': 'application/json',
      ...(request.stream ? { accept: 'text/event-stream' } : { accept: 'application/json' }),
      ...credentialHeaders('authorization', target.apiKey, target.authHeader),
    },
    body: JSON.stringify(body),
    warnings,
  };
}

function encodeFunctionTool(tool: ToolDefinition): OpenAIToolDefinition {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.inputSchema,
      ...(tool.strict === undefined ? {} : { strict: tool.strict }),
    },
  };
}

/** A freeform tool as its client declared it, the grammar nested as Chat Completions takes it. */
function encodeCustomTool(tool: ToolDefinition): OpenAIToolDefinition {
  const declaration = tool.freeformDeclaration ?? {};
  const format = declaration.format;
  return {
    type: 'custom',
    custom: {
      name: tool.name,
      ...(declaration.description === undefined ? {} : { description: declaration.description }),
      ...(format === undefined
        ? {}
        : { format: format.type === 'text' ? format : { type: 'grammar', grammar: { ...(format.syntax === undefined ? {} : { syntax: format.syntax }), definition: format.definition } } }),
    },
  };
}

/**
 * Whether an earlier call goes to OpenAI's own API as a custom call: the request's own tool of
 * that name decides (a custom tool's calls are custom, a function's are functions); a call to a
 * tool the request no longer declares keeps the shape its client sent it in. Every other server
 * gets function calls.
 */
function customCallRule(request: CanonicalRequest, target: WireTarget, nativeCustomTools: ReadonlySet<string>): (call: ToolCall) => boolean {
  if (target.vendor !== 'openai') return () => false;
  const declared = new Set((request.tools ?? []).map((tool) => tool.name));
  return (call) => nativeCustomTools.has(call.name) || (call.freeform === true && !declared.has(call.name));
}

function encodeMessage(message: CanonicalMessage, location: string, warnings: WireWarning[], sentAsCustom: (call: ToolCall) => boolean): OpenAIMessage {
  warnRedactedReasoning(message.content, `${location}.content`, warnings);
  switch (message.role) {
    case 'system':
      return { role: 'system', content: textOnly(message.content, `${location}.content`, 'system messages', warnings) };
    case 'user': {
      const onlyText = message.content.length === 1 && message.content[0]?.type === 'text';
      return {
        role: 'user',
        content: onlyText
          ? (message.content[0] as { text: string }).text
          : message.content.filter((part): part is TextPart | ImagePart => part.type === 'text' || part.type === 'image').map(encodeContentPart),
      };
    }
    case 'assistant': {
      const text = textOnly(message.content, `${location}.content`, 'assistant messages', warnings);
      const toolCalls = message.toolCalls ?? [];
      return {
        role: 'assistant',
        content: text === '' && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length === 0
          ? {}
          : {
              tool_calls: toolCalls.map((call, callIndex): OpenAIToolCall => {
                const id = openaiToolId(call.id);
                if (id !== call.id) {
                  warnings.push({
                    setting: `${location}.toolCalls[${callIndex}].id`,
                    message: `tool call id ${JSON.stringify(call.id)} is longer than the ${OPENAI_TOOL_ID_MAX_LENGTH} characters OpenAI's Chat Completions takes in an id; it was sent as ${JSON.stringify(id)}, and so was the tool_call_id of its result`,
                  });
                }
                return sentAsCustom(call)
                  ? { id, type: 'custom', custom: { name: call.name, input: freeformInput(call.arguments) } }
                  : { id, type: 'function', function: { name: call.name, arguments: call.arguments } };
              }),
            }),
      };
    }
    case 'tool':
      if (message.isError === true) {
        warnings.push({
          setting: `${location}.isError`,
          message: 'the openai wire has no error flag on tool results; the result was sent as ordinary tool output',
        });
      }
      return {
        role: 'tool',
        tool_call_id: openaiToolId(message.toolCallId),
        content: textOnly(message.content, `${location}.content`, 'tool results', warnings),
      };
  }
}

/** The longest tool-call id OpenAI's Chat Completions takes (`tool_calls[].id`, `tool_call_id`): a longer one is a 400, `string_above_max_length`. */
const OPENAI_TOOL_ID_MAX_LENGTH = 40;

/**
 * A tool-call id in a form OpenAI's Chat Completions takes. Another engine's ids may be longer
 * (vLLM's `chatcmpl-tool-` and 32 hex digits, Responses-style `fc_…` ids of 50 and more), and a
 * conversation carries them to whichever provider answers its next turn. An id of at most 40
 * characters is sent as it came; a longer one keeps its first 31 and gets `_` and a digest of the
 * whole id, so a call and its result, mapped alike, still match, and two ids stay two — as
 * `anthropicToolId` does for the Messages API's rule. Answers carry the provider's own ids.
 */
export function openaiToolId(id: string): string {
  return id.length <= OPENAI_TOOL_ID_MAX_LENGTH ? id : `${id.slice(0, OPENAI_TOOL_ID_MAX_LENGTH - 9)}_${sha256Hex(id).slice(0, 8)}`;
}

/**
 * A tool result without its images, which are added to `images` after a text part naming the call
 * they came from: the openai wire takes text only in a tool message (OpenAI's API refuses an image
 * there), so they reach the model in the user turn after the tool results, said in a warning.
 */
function withoutToolResultImages(message: Extract<CanonicalMessage, { role: 'tool' }>, location: string, images: ContentPart[], warnings: WireWarning[]): CanonicalMessage {
  const own = message.content.filter((part) => part.type === 'image');
  if (own.length === 0) return message;
  const rest = message.content.filter((part) => part.type !== 'image');
  images.push({ type: 'text', text: `${own.length === 1 ? 'The image' : `The ${own.length} images`} of the result of tool call ${message.toolCallId}:` }, ...own);
  warnings.push({
    setting: `${location}.content`,
    message: `the openai wire accepts no images in tool results; ${counted(own.length, 'image part')} ${own.length === 1 ? 'was' : 'were'} sent in the user turn after the tool results`,
  });
  const hasText = rest.some((part) => part.type === 'text' && part.text !== '');
  return { ...message, content: hasText ? rest : [...rest, { type: 'text', text: `(${own.length === 1 ? 'an image, sent' : 'images, sent'} in the next user message)` }] };
}

function encodeContentPart(part: TextPart | ImagePart): OpenAIContentPart {
  if (part.type === 'text') return { type: 'text', text: part.text };
  const url = part.data !== undefined ? `data:${part.mediaType ?? 'image/png'};base64,${part.data}` : (part.url ?? '');
  return { type: 'image_url', image_url: part.detail === undefined ? { url } : { url, detail: part.detail } };
}

/**
 * Encrypted reasoning (Anthropic `redacted_thinking`) is that provider's ciphertext: no other wire
 * can read it, so it is never sent, and each dropped block is said.
 */
function warnRedactedReasoning(parts: readonly ContentPart[], location: string, warnings: WireWarning[]): void {
  parts.forEach((part, index) => {
    if (part.type === 'redacted-reasoning') {
      warnings.push({ setting: `${location}[${index}]`, message: 'the openai wire cannot take encrypted reasoning (an Anthropic redacted_thinking block); it was not sent' });
    }
  });
}

/** Joins text parts; images where the wire takes only text are dropped with a warning. */
function textOnly(parts: ContentPart[], location: string, where: string, warnings: WireWarning[]): string {
  const images = parts.filter((part) => part.type === 'image').length;
  if (images > 0) {
    warnings.push({
      setting: location,
      message: `the openai wire accepts no images in ${where}; ${counted(images, 'image part')} ${images === 1 ? 'was' : 'were'} not sent`,
    });
  }
  return parts
    .filter((part): part is { type: 'text'; text: string } => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

function encodeToolChoice(choice: ToolChoice, nativeCustomTools: ReadonlySet<string>): OpenAIToolChoice {
  if (typeof choice === 'string') return choice;
  return nativeCustomTools.has(choice.name) ? { type: 'custom', custom: { name: choice.name } } : { type: 'function', function: { name: choice.name } };
}

/**
 * The answer format as `response_format`. `strict` goes as an OpenAI client sent it; for a schema
 * its client's API always enforces (`enforced`: an Anthropic client's), `strict: true` when the
 * schema fits strict mode — without it OpenAI's API takes the schema as a hint — and otherwise none
 * (strict with such a schema is a 400), said in a warning. To OpenAI's own API (`vendor: openai`)
 * that warning names the client's format field changed, as the schema goes as a hint only; an
 * engine enforces it by grammar with or without strict, so there nothing changed.
 */
function encodeResponseFormat(request: CanonicalRequest, target: WireTarget, warnings: WireWarning[]): OpenAIResponseFormat | undefined {
  const format = request.responseFormat;
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') {
    if (target.engine !== 'lmstudio') return { type: 'json_object' };
    // LM Studio refuses JSON mode ("'response_format.type' must be 'json_schema' or 'text'"): the
    // schema of any object asks its grammar for the same answer, so the setting is sent, not changed.
    return { type: 'json_schema', json_schema: { name: 'json_object', schema: { type: 'object' } } };
  }
  let strict = format.strict;
  if (strict === undefined && format.enforced === true) {
    const misfit = strictSchemaMisfit(format.schema);
    if (misfit === undefined) strict = true;
    else {
      warnings.push({
        setting: 'responseFormat',
        message: `the JSON schema does not fit OpenAI's strict structured outputs (${misfit}), so it was sent without strict: OpenAI's API takes it as a hint and does not enforce it (an engine that enforces a schema by grammar, such as vLLM, llama-server or Ollama, still does)`,
        ...(target.vendor === 'openai' ? { fields: [{ setting: 'responseFormat', effect: 'changed' as const }] } : {}),
      });
    }
  }
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name ?? 'response',
      schema: format.schema,
      ...(strict === undefined ? {} : { strict }),
    },
  };
}

/**
 * Maps a wire finish reason; `function_call` is the legacy spelling of `tool_calls`. Zhipu GLM
 * (docs.bigmodel.cn, chat completions: "'sensitive' means the content was intercepted by the
 * safety review") says `sensitive` where OpenAI says `content_filter`, and ends an answer cut at
 * the model's window with `model_context_window_exceeded`, as Anthropic's stop reason does.
 */
export function openAIFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'stop':
    case 'eos':
      return 'stop';
    case 'length':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
    case 'sensitive':
      return 'content_filter';
    default:
      return 'other';
  }
}

/**
 * The finish reason Zhipu GLM answers with when the model's inference failed ("'network_error'
 * means the model's inference failed", docs.bigmodel.cn), in an HTTP 200 answer or a stream's last
 * chunk: what came before it is no complete answer, so it is the upstream's failure, not a finish.
 */
const INFERENCE_FAILED_FINISH = 'network_error';
const INFERENCE_FAILED_MESSAGE = `finish_reason "${INFERENCE_FAILED_FINISH}": the model's inference failed before the answer was complete`;

/** The failure of an answer that finished with GLM's `network_error` (retryable: another call, or another candidate, may answer). */
function inferenceFailed(): UpstreamError {
  return new UpstreamError(`answered ${INFERENCE_FAILED_MESSAGE}`, {
    isRetryable: true,
    code: 'upstream_inference_failed',
    hint: 'the provider failed to generate the answer; retry the request (the partial answer is in the evidence)',
  });
}

export function decodeOpenAIResponse(body: string): CanonicalResponse {
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) {
    throw new UpstreamError('upstream returned a body that is not JSON where a chat completion was expected', {
      isRetryable: false,
      code: 'upstream_malformed_response',
      hint: 'check that the provider base URL points at an OpenAI-compatible /v1 endpoint',
    });
  }
  if (parsed['error'] !== undefined) {
    const error = decodeErrorBody(200, body);
    throw new UpstreamError(`upstream returned an error in a successful response: ${error.message}`, {
      isRetryable: false,
      code: 'upstream_error_body',
    });
  }
  const choices = parsed['choices'];
  const choice = Array.isArray(choices) ? (choices[0] as unknown) : undefined;
  if (!isRecord(choice) || !isRecord(choice['message'])) {
    throw new UpstreamError('upstream response has no choices[0].message', {
      isRetryable: false,
      code: 'upstream_malformed_response',
      hint: 'check that the provider speaks the openai chat completions wire',
    });
  }
  const message = choice['message'];
  const observations = new Set<string>();

  let text = '';
  const content = message['content'];
  if (typeof content === 'string') {
    text = content;
  } else if (Array.isArray(content)) {
    observations.add(WIRE_OBSERVATIONS.contentPartsArray);
    text = content
      .filter(isRecord)
      .map((part) => (typeof part['text'] === 'string' ? part['text'] : ''))
      .join('');
  }

  const toolCalls: ToolCall[] = [];
  const rawToolCalls = message['tool_calls'];
  if (Array.isArray(rawToolCalls)) {
    rawToolCalls.forEach((rawCall, position) => {
      if (!isRecord(rawCall)) return;
      const id = stringField(rawCall, 'id');
      if (id === undefined || id === '') observations.add(WIRE_OBSERVATIONS.toolCallIdMissing);
      const callId = id === undefined || id === '' ? `call_${position}` : id;
      const custom = customCallFields(rawCall);
      if (custom !== undefined) {
        toolCalls.push({ id: callId, name: stringField(custom, 'name') ?? '', arguments: customCallArguments(stringField(custom, 'input') ?? '') });
        return;
      }
      const fn = isRecord(rawCall['function']) ? rawCall['function'] : {};
      toolCalls.push({ id: callId, name: stringField(fn, 'name') ?? '', arguments: decodeArguments(fn['arguments'], observations) });
    });
  } else if (isRecord(message['function_call'])) {
    observations.add(WIRE_OBSERVATIONS.legacyFunctionCall);
    const fn = message['function_call'];
    toolCalls.push({ id: 'call_0', name: stringField(fn, 'name') ?? '', arguments: decodeArguments(fn['arguments'], observations) });
  }

  const rawFinishReason = stringField(choice, 'finish_reason') ?? null;
  if (rawFinishReason === INFERENCE_FAILED_FINISH) throw inferenceFailed();
  const stopSequence = namedStopString(parsed, choice);
  const usage = decodeUsage(parsed['usage'], observations);
  const reasoning = reasoningField(message);
  const refusal = refusalField(message);
  const logprobs = choiceLogprobs(choice);
  const generationTimings = generationTimingsOf(parsed);
  return {
    id: stringField(parsed, 'id') ?? '',
    model: stringField(parsed, 'model') ?? '',
    text,
    ...(reasoning === undefined ? {} : { reasoning }),
    ...(refusal === undefined ? {} : { refusal }),
    toolCalls,
    finishReason: openAIFinishReason(rawFinishReason),
    rawFinishReason,
    ...(stopSequence === undefined ? {} : { stopSequence }),
    ...(usage === undefined ? {} : { usage }),
    ...(observations.size === 0 ? {} : { observations: [...observations] }),
    ...(logprobs === undefined ? {} : { logprobs }),
    ...(generationTimings === undefined ? {} : { generationTimings }),
  };
}

/** A choice's `logprobs` object (chat or legacy completions shape), kept as the upstream wrote it; undefined when null or absent. */
export function choiceLogprobs(choice: Record<string, unknown>): JsonObject | undefined {
  const logprobs = choice['logprobs'];
  return isRecord(logprobs) ? (logprobs as JsonObject) : undefined;
}

/**
 * Reasoning a message or delta carries apart from its content: `reasoning_content` (llama.cpp,
 * vLLM, DeepSeek, LM Studio) or `reasoning` (Ollama, newer vLLM). Undefined when empty.
 */
function reasoningField(record: Record<string, unknown>): string | undefined {
  const value = stringField(record, 'reasoning_content') ?? stringField(record, 'reasoning');
  return value === undefined || value === '' ? undefined : value;
}

/** The refusal a message or delta carries (OpenAI `refusal`, a string or null). Undefined when null or empty. */
function refusalField(record: Record<string, unknown>): string | undefined {
  const value = stringField(record, 'refusal');
  return value === undefined || value === '' ? undefined : value;
}

function decodeArguments(value: unknown, observations: Set<string>): string {
  if (value !== undefined && value !== null && typeof value !== 'string') {
    observations.add(WIRE_OBSERVATIONS.toolArgumentsObject);
  }
  const text = argumentsToText(value);
  return text.trim() === '' ? '{}' : text;
}

/** `usage` of an answer: undefined (and observed `usage_incomplete`) when a count is missing. */
export function decodeUsage(value: unknown, observations: Set<string>): Usage | undefined {
  const usage = partialUsage(value);
  if (usage === undefined) return undefined;
  if (usage.inputTokens === undefined || usage.outputTokens === undefined) {
    observations.add(WIRE_OBSERVATIONS.usageIncomplete);
    return undefined;
  }
  return usage as Usage;
}

/** The counts a `usage` object (or a stream's) holds, each only when given. */
export function partialUsage(value: unknown): Partial<Usage> | undefined {
  if (!isRecord(value)) return undefined;
  const inputTokens = countField(value, 'prompt_tokens');
  const outputTokens = countField(value, 'completion_tokens');
  const details = value['prompt_tokens_details'];
  const cachedInputTokens = isRecord(details) ? countField(details, 'cached_tokens') : undefined;
  const usage: Partial<Usage> = {};
  if (inputTokens !== undefined) usage.inputTokens = inputTokens;
  if (outputTokens !== undefined) usage.outputTokens = outputTokens;
  if (cachedInputTokens !== undefined && cachedInputTokens > 0) usage.cachedInputTokens = cachedInputTokens;
  return usage;
}

/**
 * One `data:` payload of an OpenAI-style stream. Usage may come in a chunk with empty
 * `choices` (OpenAI with `include_usage`) or beside the finish reason (llama.cpp's last
 * chunk, which also carries `timings`).
 */
export function decodeOpenAIStreamEvent(event: ServerSentEvent): StreamPart[] {
  const { chunk, parts } = readOpenAIStreamChunk(event);
  if (chunk === undefined) return parts;

  const choices = chunk['choices'];
  const choice = Array.isArray(choices) ? (choices[0] as unknown) : undefined;
  let finish: StreamPart | undefined;
  if (isRecord(choice)) {
    // Before the deltas they belong to, so a face can send them in the same chunk.
    const logprobs = choiceLogprobs(choice);
    if (logprobs !== undefined) parts.push({ type: 'logprobs', logprobs });
    const delta = isRecord(choice['delta']) ? choice['delta'] : {};
    const content = delta['content'];
    const reasoning = reasoningField(delta);
    if (reasoning !== undefined) parts.push({ type: 'reasoning-delta', text: reasoning });
    if (typeof content === 'string' && content !== '') parts.push({ type: 'text-delta', text: content });
    const refusal = refusalField(delta);
    if (refusal !== undefined) parts.push({ type: 'refusal-delta', text: refusal });
    const toolCalls = delta['tool_calls'];
    if (Array.isArray(toolCalls)) {
      toolCalls.forEach((rawCall, position) => {
        if (!isRecord(rawCall)) return;
        parts.push(decodeToolCallDelta(rawCall, position));
      });
    }
    const rawFinishReason = stringField(choice, 'finish_reason');
    if (rawFinishReason === INFERENCE_FAILED_FINISH) {
      parts.push({ type: 'error', message: INFERENCE_FAILED_MESSAGE, errorType: INFERENCE_FAILED_FINISH });
    } else if (rawFinishReason !== undefined && rawFinishReason !== '') {
      const stopSequence = namedStopString(chunk, choice);
      finish = { type: 'finish', finishReason: openAIFinishReason(rawFinishReason), rawFinishReason, ...(stopSequence === undefined ? {} : { stopSequence }) };
    }
  }
  if (finish !== undefined) parts.push(finish);
  const usage = partialUsage(chunk['usage']);
  if (usage !== undefined && Object.keys(usage).length > 0) parts.push({ type: 'usage', usage });
  return parts;
}

/**
 * One `data:` payload of an OpenAI-style stream (chat or text completions), read as far as both
 * read it alike: `[DONE]`, nothing, a malformed or error event as their parts; else the chunk, and
 * its id and model as the first part.
 */
export function readOpenAIStreamChunk(event: ServerSentEvent): { chunk?: undefined; parts: StreamPart[] } | { chunk: Record<string, unknown>; parts: StreamPart[] } {
  const data = event.data.trim();
  if (data === OPENAI_STREAM_DONE) return { parts: [{ type: 'stream-end' }] };
  if (data === '') return { parts: [] };
  const chunk = tryParseJson(data);
  if (!isRecord(chunk)) return { parts: [{ type: 'error', message: `malformed stream event: ${data.slice(0, 120)}`, errorType: 'malformed_event' }] };
  if (chunk['error'] !== undefined) {
    const error = decodeErrorBody(200, data);
    return { parts: [{ type: 'error', message: error.message, ...(error.errorType === undefined ? {} : { errorType: error.errorType }) }] };
  }
  const id = stringField(chunk, 'id');
  const model = stringField(chunk, 'model');
  const parts: StreamPart[] = id === undefined && model === undefined ? [] : [{ type: 'response-metadata', ...(id === undefined ? {} : { id }), ...(model === undefined ? {} : { model }) }];
  return { chunk, parts };
}

/**
 * The client's stop string that ended an answer (`finish_reason: stop`), where the server names it:
 * vLLM's `stop_reason`, "the stop string or token id that caused the completion to stop, None if
 * the completion finished for some other reason" (vllm/entrypoints/openai/protocol.py; only a
 * string is one of the client's stop sequences); llama-server's `__verbose` (present when the
 * request asked for `verbose`: its native result, on a whole answer and on a stream's finishing
 * chunk) with `stop_type: "word"` and the `stopping_word`. Other servers (Ollama, LM Studio) name none.
 */
function namedStopString(answer: Record<string, unknown>, choice: Record<string, unknown>): string | undefined {
  if (choice['finish_reason'] !== 'stop') return undefined;
  const named = stringField(choice, 'stop_reason');
  if (named !== undefined) return named;
  const verbose = answer['__verbose'];
  if (!isRecord(verbose) || verbose['stop_type'] !== 'word') return undefined;
  const word = stringField(verbose, 'stopping_word');
  return word === undefined || word === '' ? undefined : word;
}

/**
 * The `custom` object of a custom (freeform) tool's call or call delta: `{id, type: "custom", custom:
 * {name, input}}` (openai-node's `ChatCompletionMessageCustomToolCall`), continued in a stream as
 * `{index, custom: {input}}`. A stray `custom` beside a function's fields is not one.
 */
function customCallFields(rawCall: Record<string, unknown>): Record<string, unknown> | undefined {
  const custom = rawCall['custom'];
  if (!isRecord(custom)) return undefined;
  if (rawCall['type'] === 'custom') return custom;
  const carriesCall = typeof custom['input'] === 'string' || typeof custom['name'] === 'string';
  return carriesCall && !isRecord(rawCall['function']) ? custom : undefined;
}

function decodeToolCallDelta(rawCall: Record<string, unknown>, position: number): StreamPart {
  const id = stringField(rawCall, 'id');
  const custom = customCallFields(rawCall);
  // A custom call's name and raw input sit where a function call's name and arguments do.
  const fields = custom ?? (isRecord(rawCall['function']) ? rawCall['function'] : {});
  const rawArguments = custom === undefined ? fields['arguments'] : (stringField(custom, 'input') ?? '');
  const observations: string[] = [];
  if (rawArguments !== undefined && rawArguments !== null && typeof rawArguments !== 'string') {
    observations.push(WIRE_OBSERVATIONS.toolArgumentsObject);
  }
  const name = stringField(fields, 'name');
  return {
    type: 'tool-call-delta',
    index: numberField(rawCall, 'index') ?? position,
    ...(id === undefined || id === '' ? {} : { id }),
    ...(name === undefined || name === '' ? {} : { name }),
    argumentsDelta: argumentsToText(rawArguments),
    ...(custom === undefined ? {} : { freeform: true as const }),
    ...(observations.length === 0 ? {} : { observations }),
  };
}

export function decodeOpenAIError(status: number, body: string): WireError {
  return decodeErrorBody(status, body);
}
