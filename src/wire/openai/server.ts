/**
 * The gateway's OpenAI-compatible face: read a client's chat completions request into the
 * canonical model, and write canonical responses, stream parts and errors back as that
 * API's JSON and SSE frames. Pure: the caller supplies ids and clocks.
 */

import {
  canonicalRequest,
  lastCacheControl,
  type CacheControl,
  type CanonicalMessage,
  type CanonicalRequest,
  type CanonicalResponse,
  type ContentPart,
  type FinishReason,
  type JsonObject,
  type LogprobsRequest,
  type ResponseFormat,
  type StreamPart,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
  TEMPERATURE_RANGE,
} from '../canonical.js';
import { CLIENT_ERROR_STATUS, type ClientError, type ClientErrorKind } from '../client-errors.js';
import { argumentsToText, isRecord } from '../json.js';
import {
  checkToolChoice,
  optionalBoolean,
  optionalNumber,
  imageFromUrl,
  readImageDetail,
  readContentParts,
  readJsonObject,
  readReasoningEffort,
  RequestProblems,
  unknownFields,
  withCacheControl,
} from '../request-reader.js';
import { mergeUsage, streamErrorOf, type RenderedBody } from '../server-common.js';
import { formatServerSentEvent } from '../sse.js';
import { OPENAI_STREAM_DONE } from './adapter.js';
import { customCallArguments, freeformInput, readCustomTool } from './custom-tools.js';
import type { OpenAIChatChunk, OpenAIChatResponse, OpenAIChunkToolCallDelta, OpenAIFinishReason, OpenAIToolCall, OpenAIUsage } from './types.js';

const API = 'chat completions';

const KNOWN_FIELDS = new Set([
  'model',
  'messages',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'n',
  'reasoning_effort',
  'logprobs',
  'top_logprobs',
]);

/** A client's chat completions request, read into the canonical model. */
export interface ParsedOpenAIChatRequest {
  /** `model` is kept exactly as the client sent it (an alias, `provider:model` or `auto`). */
  request: CanonicalRequest;
  /** The client asked for a final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Top-level fields the gateway does not interpret (`user`, `metadata`, ...), for the evidence. */
  ignoredFields: string[];
  /** The field that carried the output limit, when one did (`max_completion_tokens`, or the older `max_tokens`). */
  maxTokensField?: 'max_completion_tokens' | 'max_tokens';
}


/** Reads an OpenAI chat completions request body; throws `InvalidInputError` naming each field at fault. */
export function parseOpenAIChatRequest(bodyText: string): ParsedOpenAIChatRequest {
  const body = readJsonObject(bodyText, API);
  const problems = new RequestProblems(API);

  const model = body['model'];
  if (typeof model !== 'string' || model === '') problems.add('/model', 'is required and must be a non-empty string', 'send a model id, `provider:model`, an alias or `auto`');

  const systemParts: string[] = [];
  let systemCacheControl: CacheControl | undefined;
  const messages: CanonicalMessage[] = [];
  const rawMessages = body['messages'];
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
    problems.add('/messages', 'is required and must be a non-empty array of messages');
  } else {
    rawMessages.forEach((raw, index) => {
      const message = parseMessage(raw, `/messages/${index}`, problems);
      if (message === undefined) return;
      // Leading system/developer messages become the system prompt; later ones stay in place.
      if (message.role === 'system' && messages.length === 0) {
        systemParts.push(message.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n'));
        systemCacheControl = lastCacheControl(message.content) ?? systemCacheControl;
      } else {
        messages.push(message);
      }
    });
  }

  const tools = parseTools(body['tools'], problems, { customTools: true });
  const toolChoice = parseToolChoice(body['tool_choice'], problems);
  const choiceKind = isRecord(body['tool_choice']) && body['tool_choice']['type'] === 'custom' ? 'custom' : 'function';
  checkToolChoice(toolChoice, tools, problems, { pointer: `/tool_choice/${choiceKind}/name`, noun: choiceKind === 'custom' ? 'tool' : 'function' });
  const parallelToolCalls = optionalBoolean(body, 'parallel_tool_calls', problems);
  const responseFormat = parseResponseFormat(body['response_format'], problems);
  const temperature = optionalNumber(body, 'temperature', problems, TEMPERATURE_RANGE);
  const topP = optionalNumber(body, 'top_p', problems, { minimum: 0, maximum: 1 });
  const maxTokens =
    optionalNumber(body, 'max_completion_tokens', problems, { minimum: 1, integer: true }) ??
    optionalNumber(body, 'max_tokens', problems, { minimum: 1, integer: true });
  const seed = optionalNumber(body, 'seed', problems, { integer: true });
  const stop = parseStop(body['stop'], problems);
  const stream = optionalBoolean(body, 'stream', problems) ?? false;
  const reasoningEffort = readReasoningEffort(body['reasoning_effort'], '/reasoning_effort', problems);
  const n = optionalNumber(body, 'n', problems, { integer: true });
  if (n !== undefined && n !== 1) problems.add('/n', 'only n = 1 is supported', 'ask for one choice per request');
  const logprobs = readLogprobsRequest(body, problems);
  refuseUnanswerableFields(body, problems);
  let includeUsage = false;
  const streamOptions = body['stream_options'];
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isRecord(streamOptions)) problems.add('/stream_options', 'must be an object');
    else includeUsage = optionalBoolean(streamOptions, 'include_usage', problems) ?? false;
  }
  problems.throwIfAny();

  const request = canonicalRequest(model as string, messages, stream, {
    system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined,
    systemCacheControl: systemParts.length > 0 ? systemCacheControl : undefined,
    tools,
    toolChoice,
    parallelToolCalls,
    responseFormat,
    temperature,
    topP,
    maxTokens,
    seed,
    stop,
    reasoningEffort: reasoningEffort === undefined ? undefined : { effort: reasoningEffort, field: 'reasoning_effort' },
    logprobs,
  });
  const maxTokensField = body['max_completion_tokens'] !== undefined && body['max_completion_tokens'] !== null ? 'max_completion_tokens' : maxTokens === undefined ? undefined : 'max_tokens';
  return { request, includeUsage: stream && includeUsage, ignoredFields: unknownFields(body, KNOWN_FIELDS), ...(maxTokensField === undefined ? {} : { maxTokensField }) };
}

/** OpenAI's bound on `top_logprobs` (vLLM and llama-server take more; OpenAI's clients send no more). */
export const MAXIMUM_TOP_LOGPROBS = 20;

/**
 * `logprobs: true` and its `top_logprobs` (0 to 20), which OpenAI takes only beside `logprobs:
 * true` and refuses otherwise (400), as vLLM does: refused here too, naming the fix.
 */
function readLogprobsRequest(body: Record<string, unknown>, problems: RequestProblems): LogprobsRequest | undefined {
  const wanted = optionalBoolean(body, 'logprobs', problems);
  const top = optionalNumber(body, 'top_logprobs', problems, { minimum: 0, maximum: MAXIMUM_TOP_LOGPROBS, integer: true });
  if (top !== undefined && wanted !== true) problems.add('/top_logprobs', 'needs `logprobs: true`', 'send `logprobs: true` with `top_logprobs`, or leave `top_logprobs` out');
  return wanted === true ? { ...(top === undefined ? {} : { top }) } : undefined;
}

/**
 * Fields the answer would have to honour that no provider behind the gateway does (nor the
 * embedded engine, which refuses them too): answered without them, the client would wait for a
 * function call or audio that never comes. Refused
 * with the fix in the message (not ignored like `user` or `metadata`, which change nothing the
 * client waits for). `function_call: "none" | "auto"` and `modalities: ["text"]` are the defaults.
 */
function refuseUnanswerableFields(body: Record<string, unknown>, problems: RequestProblems): void {
  const functions = body['functions'];
  if (Array.isArray(functions) ? functions.length > 0 : functions !== undefined && functions !== null) {
    problems.add('/functions', 'the deprecated `functions` are not supported: send them as `tools` ([{type: "function", function: {name, description, parameters}}])');
  }
  const functionCall = body['function_call'];
  if (functionCall !== undefined && functionCall !== null && functionCall !== 'none' && functionCall !== 'auto') {
    problems.add('/function_call', 'the deprecated `function_call` is not supported: send `tool_choice` ({type: "function", function: {name}}) with `tools`');
  }
  const modalities = body['modalities'];
  const audio = body['audio'];
  if ((Array.isArray(modalities) && modalities.includes('audio')) || (audio !== undefined && audio !== null)) {
    const pointer = audio !== undefined && audio !== null ? '/audio' : '/modalities';
    problems.add(pointer, 'audio output is not supported: answers are text only; ask for text (`modalities: ["text"]`, no `audio`)');
  }
}

function parseMessage(raw: unknown, pointer: string, problems: RequestProblems): CanonicalMessage | undefined {
  if (!isRecord(raw)) {
    problems.add(pointer, 'must be an object with a role');
    return undefined;
  }
  const role = raw['role'];
  switch (role) {
    case 'system':
    case 'developer': {
      const content = parseContent(raw['content'], `${pointer}/content`, problems, { allowImages: false });
      return content === undefined ? undefined : { role: 'system', content };
    }
    case 'user': {
      const content = parseContent(raw['content'], `${pointer}/content`, problems, { allowImages: true });
      return content === undefined ? undefined : { role: 'user', content };
    }
    case 'assistant': {
      const content =
        raw['content'] === null || raw['content'] === undefined
          ? []
          : parseContent(raw['content'], `${pointer}/content`, problems, { allowImages: false, allowRefusal: true });
      const toolCalls = parseToolCalls(raw['tool_calls'], `${pointer}/tool_calls`, problems);
      if (raw['function_call'] !== undefined && raw['function_call'] !== null) {
        problems.add(`${pointer}/function_call`, 'the deprecated `function_call` is not supported: send the call as `tool_calls` and its result as a `tool` message with its `tool_call_id`');
      }
      if (content === undefined) return undefined;
      return { role: 'assistant', content, ...(toolCalls === undefined || toolCalls.length === 0 ? {} : { toolCalls }) };
    }
    case 'tool': {
      const toolCallId = raw['tool_call_id'];
      if (typeof toolCallId !== 'string' || toolCallId === '') {
        problems.add(`${pointer}/tool_call_id`, 'is required on tool messages', 'echo the id of the assistant tool call this result answers');
      }
      const content = parseContent(raw['content'], `${pointer}/content`, problems, { allowImages: false });
      if (content === undefined || typeof toolCallId !== 'string') return undefined;
      return { role: 'tool', toolCallId, content };
    }
    default:
      problems.add(`${pointer}/role`, `must be one of system, developer, user, assistant, tool (got ${JSON.stringify(role)})`);
      return undefined;
  }
}

function parseContent(
  raw: unknown,
  pointer: string,
  problems: RequestProblems,
  options: { allowImages: boolean; allowRefusal?: boolean },
): ContentPart[] | undefined {
  return readContentParts(raw, pointer, problems, (part, partPointer) => {
    const type = part['type'];
    if (type === 'text' || (type === 'refusal' && options.allowRefusal === true)) {
      const key = type === 'text' ? 'text' : 'refusal';
      const text = part[key];
      if (typeof text === 'string') return withCacheControl({ type: 'text', text }, part, partPointer, problems);
      problems.add(`${partPointer}/${key}`, 'must be a string');
      return undefined;
    }
    if (type === 'image_url' && options.allowImages) {
      const image = part['image_url'];
      const url = typeof image === 'string' ? image : isRecord(image) ? image['url'] : undefined;
      const detail = isRecord(image) ? readImageDetail(image['detail'], `${partPointer}/image_url/detail`, problems) : undefined;
      if (typeof url === 'string' && url !== '') return withCacheControl(imageFromUrl(url, detail), part, partPointer, problems);
      problems.add(`${partPointer}/image_url/url`, 'must be an http(s) or data: URL');
      return undefined;
    }
    problems.add(`${partPointer}/type`, `content part type ${JSON.stringify(type)} is not supported here`, options.allowImages ? 'send text or image_url parts' : 'send text parts');
    return undefined;
  });
}

function parseToolCalls(raw: unknown, pointer: string, problems: RequestProblems): ToolCall[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    problems.add(pointer, 'must be an array');
    return undefined;
  }
  const calls: ToolCall[] = [];
  raw.forEach((call, index) => {
    const callPointer = `${pointer}/${index}`;
    const kind = isRecord(call) && call['type'] === 'custom' ? 'custom' : 'function';
    const fields = isRecord(call) ? call[kind] : undefined;
    if (!isRecord(call) || !isRecord(fields)) {
      problems.add(callPointer, 'must be {id, type: "function", function: {name, arguments}} or {id, type: "custom", custom: {name, input}}');
      return;
    }
    const id = call['id'];
    const name = fields['name'];
    if (typeof id !== 'string' || id === '') problems.add(`${callPointer}/id`, 'is required');
    if (typeof name !== 'string' || name === '') problems.add(`${callPointer}/${kind}/name`, 'is required');
    if (kind === 'custom') {
      const input = fields['input'];
      if (typeof input !== 'string') problems.add(`${callPointer}/custom/input`, 'must be a string: the raw text the tool was called with');
      else if (typeof id === 'string' && typeof name === 'string') calls.push({ id, name, arguments: customCallArguments(input), freeform: true });
    } else if (typeof id === 'string' && typeof name === 'string') {
      const text = argumentsToText(fields['arguments']);
      calls.push({ id, name, arguments: text === '' ? '{}' : text });
    }
  });
  return calls;
}

/**
 * `tools` as chat completions send them, `[{type: "function", function: {...}}]`, and with
 * `customTools` their freeform twins `{type: "custom", custom: {name, description?, format?}}`
 * (openai-node's `ChatCompletionCustomTool`); Ollama's clients may leave `type` out (`typeOptional`).
 */
export function parseTools(raw: unknown, problems: RequestProblems, options: { typeOptional?: boolean; customTools?: boolean } = {}): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const customTools = options.customTools === true;
  if (!Array.isArray(raw)) {
    problems.add('/tools', customTools ? 'must be an array of function or custom tools' : 'must be an array of function tools');
    return undefined;
  }
  const tools: ToolDefinition[] = [];
  raw.forEach((tool, index) => {
    const pointer = `/tools/${index}`;
    if (customTools && isRecord(tool) && tool['type'] === 'custom') {
      const custom = tool['custom'];
      if (!isRecord(custom)) {
        problems.add(`${pointer}/custom`, 'must be {name, description?, format?}');
        return;
      }
      const definition = readCustomTool(custom, `${pointer}/custom`, problems, 'nested');
      if (definition !== undefined) tools.push(definition);
      return;
    }
    const typeAccepted = isRecord(tool) && (tool['type'] === 'function' || (options.typeOptional === true && tool['type'] === undefined));
    if (!isRecord(tool) || !typeAccepted || !isRecord(tool['function'])) {
      const custom = customTools ? ' or {type: "custom", custom: {name, description?, format?}}' : '';
      problems.add(pointer, `must be {type: "function", function: {name, description?, parameters?}}${custom}`);
      return;
    }
    const definition = readFunctionTool(tool['function'], `${pointer}/function`, problems);
    if (definition !== undefined) tools.push(definition);
  });
  return tools;
}

/**
 * An OpenAI function tool's `{name, description?, parameters?}` (chat completions nest it in
 * `function`, the Responses API does not); no `parameters` is a function without arguments.
 */
export function readFunctionTool(fn: Record<string, unknown>, pointer: string, problems: RequestProblems): ToolDefinition | undefined {
  const name = fn['name'];
  if (typeof name !== 'string' || name === '') {
    problems.add(`${pointer}/name`, 'is required');
    return undefined;
  }
  const parameters = fn['parameters'];
  if (parameters !== undefined && parameters !== null && !isRecord(parameters)) {
    problems.add(`${pointer}/parameters`, 'must be a JSON Schema object');
    return undefined;
  }
  return {
    name,
    ...(typeof fn['description'] === 'string' ? { description: fn['description'] } : {}),
    inputSchema: (parameters as JsonObject | undefined | null) ?? { type: 'object', properties: {} },
    ...(typeof fn['strict'] === 'boolean' ? { strict: fn['strict'] } : {}),
  };
}

function parseToolChoice(raw: unknown, problems: RequestProblems): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'auto' || raw === 'none' || raw === 'required') return raw;
  const kind = isRecord(raw) && raw['type'] === 'custom' ? 'custom' : 'function';
  const named = isRecord(raw) && raw['type'] === kind && isRecord(raw[kind]) ? raw[kind] : undefined;
  if (named !== undefined && typeof named['name'] === 'string' && named['name'] !== '') return { name: named['name'] };
  problems.add('/tool_choice', 'must be "auto", "none", "required", {type: "function", function: {name}} or {type: "custom", custom: {name}}');
  return undefined;
}

function parseResponseFormat(raw: unknown, problems: RequestProblems): ResponseFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    problems.add('/response_format', 'must be an object');
    return undefined;
  }
  switch (raw['type']) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema':
      return readJsonSchemaFormat(raw['json_schema'], '/response_format/json_schema', problems);
    default:
      problems.add('/response_format/type', 'must be "text", "json_object" or "json_schema"');
      return undefined;
  }
}

/** `{name?, schema, strict?}`: a JSON Schema answer format (chat's `response_format.json_schema`, the Responses API's `text.format`). */
export function readJsonSchemaFormat(definition: unknown, pointer: string, problems: RequestProblems): ResponseFormat | undefined {
  if (!isRecord(definition) || !isRecord(definition['schema'])) {
    problems.add(`${pointer}/schema`, 'is required and must be a JSON Schema object');
    return undefined;
  }
  return {
    type: 'json_schema',
    schema: definition['schema'] as JsonObject,
    ...(typeof definition['name'] === 'string' ? { name: definition['name'] } : {}),
    ...(typeof definition['strict'] === 'boolean' ? { strict: definition['strict'] } : {}),
  };
}

/** `stop`: a string or a list of strings (Ollama's `options.stop` too). */
export function parseStop(raw: unknown, problems: RequestProblems): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return raw as string[];
  problems.add('/stop', 'must be a string or an array of strings');
  return undefined;
}

/** The OpenAI finish reason for a canonical one; `error` and `other` have no OpenAI spelling and read as `stop`. */
export function toOpenAIFinishReason(reason: FinishReason): OpenAIFinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export function toOpenAIUsage(usage: Usage): OpenAIUsage {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    ...(usage.cachedInputTokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
  };
}

export interface OpenAIRenderOptions {
  /** Unix seconds (`created`); the caller owns the clock. */
  created: number;
  /** Overrides the response id (default: the upstream's id). */
  id?: string;
  /** Overrides the model reported to the client (default: the upstream's model). */
  model?: string;
  /** The request's custom (freeform) tools: their calls are answered as `type: "custom"` calls with the raw input. */
  freeformTools?: ReadonlySet<string>;
}

/** A canonical response as an OpenAI `chat.completion` body. Usage is omitted when the upstream reported none. */
export function renderOpenAIChatResponse(response: CanonicalResponse, options: OpenAIRenderOptions): RenderedBody {
  const body: OpenAIChatResponse = {
    id: options.id ?? response.id,
    object: 'chat.completion',
    created: options.created,
    model: options.model ?? response.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          // As OpenAI answers a refusal or a turn of tool calls alone: no content at all, not an empty one.
          content: response.text === '' && (response.toolCalls.length > 0 || response.refusal !== undefined) ? null : response.text,
          ...(response.reasoning === undefined ? {} : { reasoning_content: response.reasoning }),
          refusal: response.refusal ?? null,
          ...(response.toolCalls.length === 0
            ? {}
            : {
                tool_calls: response.toolCalls.map((call): OpenAIToolCall =>
                  options.freeformTools?.has(call.name) === true
                    ? { id: call.id, type: 'custom', custom: { name: call.name, input: freeformInput(call.arguments) } }
                    : { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } },
                ),
              }),
        },
        logprobs: response.logprobs ?? null,
        finish_reason: toOpenAIFinishReason(response.finishReason),
      },
    ],
    ...(response.usage === undefined ? {} : { usage: toOpenAIUsage(response.usage) }),
  };
  return { body: JSON.stringify(body), warnings: [] };
}

export interface OpenAIStreamEncoderOptions extends OpenAIRenderOptions {
  id: string;
  model: string;
  /** Send the final usage chunk (the client set `stream_options.include_usage`). */
  includeUsage: boolean;
}

/**
 * Turns canonical stream parts into OpenAI `chat.completion.chunk` SSE frames: a role
 * chunk first, content and tool-call deltas (tool indices renumbered densely from 0), the
 * finish chunk, the usage chunk when asked for, then `data: [DONE]`. After an error it
 * writes one `data: {"error":...}` frame and never `[DONE]`.
 *
 * A custom (freeform) tool's call is announced with an empty `custom.input`; its raw text is
 * inside the JSON arguments the engine streams, so it is sent once whole, just before the finish.
 * A custom call OpenAI streams natively is passed on piece by piece, as OpenAI sends it.
 */
export class OpenAIStreamEncoder {
  private started = false;
  private finished = false;
  private isClosed = false;
  private readonly usage: Partial<Usage> = {};
  private readonly toolOrdinals = new Map<number, number>();
  /** Ordinals of tool calls that have not yet received any argument text. */
  private readonly toolsWithoutArguments = new Set<number>();
  /** The arguments streamed so far of each custom tool's call, by ordinal. */
  private readonly freeformArguments = new Map<number, string>();
  /** The upstream chunk's `logprobs`, for the next chunk written (the one of the deltas they came with). */
  private pendingLogprobs: JsonObject | null = null;
  /** While `encodeEnd` runs: the fields its last chunk carries, and the finish reason held for that chunk. */
  private ending: { fields: Record<string, unknown>; finishReason?: OpenAIFinishReason } | undefined;

  constructor(private readonly options: OpenAIStreamEncoderOptions) {}

  /** True once `[DONE]` or an error frame was written; later parts are ignored. */
  get closed(): boolean {
    return this.isClosed;
  }

  encode(part: StreamPart): string {
    return this.encodeAll([part]);
  }

  /**
   * Encodes the last parts (finish, usage) and the stream's end, `fields` on the last chunk before
   * `[DONE]`: the usage chunk when one is sent, else the finish chunk — where llama-server sends
   * its `timings`.
   */
  encodeEnd(parts: readonly StreamPart[], fields: Record<string, unknown>): string {
    this.ending = { fields };
    try {
      return this.encodeAll([...parts, { type: 'stream-end' }]);
    } finally {
      this.ending = undefined;
    }
  }

  /** Encodes the parts decoded from one upstream event together (one write). */
  encodeAll(parts: readonly StreamPart[]): string {
    if (this.isClosed) return '';
    let output = '';
    for (const part of parts) {
      if (this.isClosed) break;
      switch (part.type) {
        case 'response-metadata':
          break;
        case 'usage':
          mergeUsage(this.usage, part.usage);
          break;
        case 'logprobs':
          output += this.start() + this.flushLogprobs();
          this.pendingLogprobs = part.logprobs;
          break;
        case 'text-delta':
          output += this.start() + this.chunk({ content: part.text }, null);
          break;
        case 'reasoning-delta':
          output += this.start() + this.chunk({ reasoning_content: part.text }, null);
          break;
        case 'refusal-delta':
          output += this.start() + this.chunk({ refusal: part.text }, null);
          break;
        case 'tool-call-delta':
          output += this.start() + this.toolCallChunk(part);
          break;
        case 'finish':
          output += this.start() + this.completeToolCalls();
          // Held for the end, which writes it last unless a usage chunk follows.
          if (this.ending !== undefined) this.ending.finishReason = toOpenAIFinishReason(part.finishReason);
          else {
            output += this.chunk({}, toOpenAIFinishReason(part.finishReason));
            this.finished = true;
          }
          break;
        case 'stream-end':
          output += this.flushLogprobs() + this.end();
          break;
        case 'error':
          output += this.fail(streamErrorOf(part));
          break;
      }
    }
    if (parts.length > 0 && !this.isClosed) output = this.start() + output;
    return output;
  }

  /** The frame that ends a stream that broke after bytes were sent: an error, never `[DONE]`. */
  fail(error: ClientError): string {
    if (this.isClosed) return '';
    this.isClosed = true;
    return openAIStreamErrorFrame(error);
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    return this.chunk({ role: 'assistant', content: '' }, null, null);
  }

  /** A chunk of its own for log-probabilities no delta took (an upstream chunk of nothing else). */
  private flushLogprobs(): string {
    return this.pendingLogprobs === null ? '' : this.chunk({}, null);
  }

  private end(): string {
    let output = this.start() + this.completeToolCalls();
    const withUsage = this.options.includeUsage && this.usage.inputTokens !== undefined && this.usage.outputTokens !== undefined;
    const fields = this.ending?.fields;
    if (!this.finished) output += this.chunk({}, this.ending?.finishReason ?? 'stop', undefined, withUsage ? undefined : fields);
    if (withUsage) {
      const usageChunk: OpenAIChatChunk = { ...this.envelope(), choices: [], usage: toOpenAIUsage(this.usage as Usage), ...fields };
      output += formatServerSentEvent({ data: JSON.stringify(usageChunk) });
    }
    this.isClosed = true;
    return output + formatServerSentEvent({ data: OPENAI_STREAM_DONE });
  }

  /**
   * Each custom call's raw input, then `{}` for a function call without arguments (Anthropic
   * streams none for an empty input), so clients that parse the arguments as JSON never see an
   * empty string.
   */
  private completeToolCalls(): string {
    const inputs = [...this.freeformArguments].map(([index, argumentsText]) => ({ index, input: freeformInput(argumentsText) }));
    const frames = [
      ...inputs.filter(({ input }) => input !== '').map(({ index, input }) => this.chunk({ tool_calls: [{ index, custom: { input } }] }, null)),
      ...[...this.toolsWithoutArguments].map((index) => this.chunk({ tool_calls: [{ index, function: { arguments: '{}' } }] }, null)),
    ];
    this.freeformArguments.clear();
    this.toolsWithoutArguments.clear();
    return frames.join('');
  }

  /** The chunk of a tool call's delta; nothing for a custom call's arguments, which are held until the finish. */
  private toolCallChunk(part: Extract<StreamPart, { type: 'tool-call-delta' }>): string {
    const known = this.toolOrdinals.get(part.index);
    if (part.freeform === true && known !== undefined && part.argumentsDelta === '') return '';
    const heldArguments = known === undefined ? undefined : this.freeformArguments.get(known);
    if (known !== undefined && heldArguments !== undefined) {
      this.freeformArguments.set(known, heldArguments + part.argumentsDelta);
      return '';
    }
    return this.chunk({ tool_calls: [this.toolCallDelta(part)] }, null);
  }

  private toolCallDelta(part: Extract<StreamPart, { type: 'tool-call-delta' }>): OpenAIChunkToolCallDelta {
    const known = this.toolOrdinals.get(part.index);
    if (part.freeform === true && known !== undefined) return { index: known, custom: { input: part.argumentsDelta } };
    if (known !== undefined) {
      if (part.argumentsDelta !== '') this.toolsWithoutArguments.delete(known);
      return { index: known, function: { arguments: part.argumentsDelta } };
    }
    const ordinal = this.toolOrdinals.size;
    this.toolOrdinals.set(part.index, ordinal);
    const id = part.id ?? `call_${ordinal}`;
    const name = part.name ?? '';
    // A custom call the upstream streams natively (OpenAI) is passed on as it comes.
    if (part.freeform === true) return { index: ordinal, id, type: 'custom', custom: { name, input: part.argumentsDelta } };
    if (this.options.freeformTools?.has(name) === true) {
      this.freeformArguments.set(ordinal, part.argumentsDelta);
      return { index: ordinal, id, type: 'custom', custom: { name, input: '' } };
    }
    if (part.argumentsDelta === '') this.toolsWithoutArguments.add(ordinal);
    return { index: ordinal, id, type: 'function', function: { name, arguments: part.argumentsDelta } };
  }

  private envelope(): Omit<OpenAIChatChunk, 'choices'> {
    return { id: this.options.id, object: 'chat.completion.chunk', created: this.options.created, model: this.options.model };
  }

  /** One chunk, with `fields` after its own; it carries the pending log-probabilities unless `logprobs` is given. */
  private chunk(delta: OpenAIChatChunk['choices'][number]['delta'], finishReason: OpenAIFinishReason | null, logprobs?: null, fields?: Record<string, unknown>): string {
    const carried = logprobs === undefined ? this.pendingLogprobs : logprobs;
    if (logprobs === undefined) this.pendingLogprobs = null;
    // The envelope's fields written out, not spread from envelope(): one object per chunk, not two.
    const { id, created, model } = this.options;
    const chunk: OpenAIChatChunk = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: carried, finish_reason: finishReason }],
      ...fields,
    };
    return formatServerSentEvent({ data: JSON.stringify(chunk) });
  }
}

const OPENAI_ERROR_TYPES: Record<ClientErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  internal: 'server_error',
  upstream: 'upstream_error',
  unavailable: 'service_unavailable',
  timeout: 'timeout',
};

/** The OpenAI error envelope: `{error: {message, type, param, code}}`. The only place it is built. */
export function openAIErrorBody(error: ClientError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return {
    error: {
      message: error.message,
      type: OPENAI_ERROR_TYPES[error.kind],
      param: error.param ?? null,
      code: error.code ?? null,
    },
  };
}

/** The `data: {"error": ...}` event that ends an OpenAI-style stream that broke (chat and text completions). */
export function openAIStreamErrorFrame(error: ClientError): string {
  return formatServerSentEvent({ data: JSON.stringify(openAIErrorBody(error)) });
}

/** An error response for an OpenAI client: HTTP status and exact body bytes. */
export function renderOpenAIError(error: ClientError): { status: number; body: string } {
  return { status: CLIENT_ERROR_STATUS[error.kind], body: JSON.stringify(openAIErrorBody(error)) };
}
