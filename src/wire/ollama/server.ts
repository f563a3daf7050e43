/**
 * The gateway's Ollama face (`POST /api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`):
 * read an Ollama client's request into the canonical model — or, when it carries nothing to
 * answer, into the model load or unload it asks for — and write answers back as Ollama does: one
 * JSON object, or NDJSON lines for a stream (Ollama streams by default), tool-call arguments as
 * objects, durations in nanoseconds. Pure: the caller owns the clock.
 */

import { CLIENT_ERROR_STATUS, type ClientError } from '../client-errors.js';
import {
  appendLogprobs,
  canonicalRequest,
  EMPTY_EMBEDDING_TEXT_HINT,
  isEmbeddableText,
  type CanonicalMessage,
  type CanonicalRequest,
  type CanonicalResponse,
  type ContentPart,
  type EmbeddingRequest,
  type FinishReason,
  type ImagePart,
  type JsonObject,
  type LogprobsRequest,
  type ResponseFormat,
  type StreamPart,
  type ToolCall,
  type ToolDefinition,
  type Usage,
  TEMPERATURE_RANGE,
} from '../canonical.js';
import { argumentsToText, isRecord, parseArgumentsObject } from '../json.js';
import { MAXIMUM_TOP_LOGPROBS, parseStop, parseTools } from '../openai/server.js';
import { optionalBoolean, optionalNumber, readJsonObject, RequestProblems, unknownFields } from '../request-reader.js';
import type { ReasoningEffort } from '../reasoning.js';
import { mergeUsage, streamErrorOf } from '../server-common.js';
import { answerTokenLogprobs } from '../token-logprobs.js';

/** The Content-Type of an Ollama stream: one JSON object per line. */
export const OLLAMA_STREAM_CONTENT_TYPE = 'application/x-ndjson';

/** Which Ollama endpoint an answer goes to: `/api/chat` puts the text in `message`, `/api/generate` in `response`. */
export type OllamaEndpoint = 'chat' | 'generate';

/**
 * What an Ollama client sends to preload a model — `/api/chat` without messages, `/api/generate` or
 * `/api/embeddings` without a prompt — or, with `keep_alive: 0`, to unload it (Open WebUI's unload
 * button). Ollama answers it at once with one JSON object, whatever `stream` says.
 */
export interface OllamaModelManagement {
  /** The model as the client named it: Ollama echoes it in the answer. */
  model: string;
  action: 'load' | 'unload';
  /** A load's `keep_alive` as Ollama takes it (`5m`, `300`, `-1`); undefined when the client sent none. */
  keepAlive?: string;
  /**
   * A load's `options` as sent (`num_ctx`, `num_gpu`, ...): Ollama loads the model with them
   * (its scheduler passes a request's options to the runner it starts). An unload ignores them.
   */
  options?: JsonObject;
  /** Top-level fields a load or unload does not interpret, and an unload's `options.<name>`. */
  ignoredFields: string[];
}

/** The endpoints whose requests may be a model load or unload. */
export type OllamaManagedEndpoint = OllamaEndpoint | 'embed' | 'embeddings';

/** True when an Ollama request read is a model load or unload rather than something to answer. */
export function isOllamaModelManagement<Other extends object>(read: Other | OllamaModelManagement): read is OllamaModelManagement {
  return 'action' in read;
}

/** An Ollama client's request, read into the canonical model. */
export interface ParsedOllamaRequest {
  /** `model` as the client sent it (an alias, `provider:model` or `auto`; `auto:latest` read as `auto`). */
  request: CanonicalRequest;
  /**
   * Fields the gateway does not interpret, for the `x-syndicate-ignored-fields` header and the
   * evidence: unknown top-level fields (`keep_alive`, ...), `options.<name>` for the options no
   * provider is sent (`options.num_ctx`, ...). `think` is the request's reasoning effort.
   */
  ignoredFields: string[];
  /** The model's reasoning goes back as `thinking` (every time but `think: false`). */
  showThinking: boolean;
}

/** The client's `auto:latest` (Ollama clients add `:latest` to a name without a tag) is `auto`. */
const AUTO_WITH_TAG = 'auto:latest';

const CHAT_FIELDS = new Set(['model', 'messages', 'tools', 'format', 'options', 'stream', 'think', 'logprobs', 'top_logprobs']);
const GENERATE_FIELDS = new Set(['model', 'prompt', 'system', 'images', 'format', 'options', 'stream', 'think', 'raw', 'template', 'context', 'suffix', 'logprobs', 'top_logprobs']);
const EMBED_FIELDS = new Set(['model', 'input', 'dimensions', 'truncate', 'options']);
const EMBEDDINGS_FIELDS = new Set(['model', 'prompt', 'options']);
/** The `options` a canonical request carries; every other option is reported as ignored. */
const INTERPRETED_OPTIONS = new Set(['temperature', 'top_p', 'num_predict', 'stop', 'seed']);

/**
 * Reads `POST /api/chat`; throws `InvalidInputError` naming each field at fault. `stream` defaults
 * to true, as in Ollama. Without messages it is a model load or unload.
 */
export function parseOllamaChatRequest(bodyText: string): ParsedOllamaRequest | OllamaModelManagement {
  const reading = startReading(bodyText, 'Ollama chat', 'messages');
  if (isOllamaModelManagement(reading)) return reading;
  const { body, problems, model } = reading;
  const systemParts: string[] = [];
  const messages: CanonicalMessage[] = [];
  const rawMessages = body['messages'];
  if (!Array.isArray(rawMessages)) {
    problems.add('/messages', 'must be an array of messages', 'send the conversation, or no messages at all to load the model');
  } else {
    const calls = new ToolCallLedger();
    rawMessages.forEach((raw, index) => {
      const message = readMessage(raw, `/messages/${index}`, index, calls, problems);
      if (message === undefined) return;
      // Leading system messages become the system prompt; later ones stay in place.
      if (message.role === 'system' && messages.length === 0) systemParts.push(textOf(message.content));
      else messages.push(message);
    });
  }
  const tools = readTools(body['tools'], problems);
  const common = readCommon(body, problems);
  problems.throwIfAny();
  const request = canonicalRequest(model, messages, common.stream, {
    system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined,
    tools,
    ...common.settings,
  });
  return { request, ignoredFields: [...unknownFields(body, CHAT_FIELDS), ...common.ignored].sort(), showThinking: common.showThinking };
}

/**
 * Reads `POST /api/generate`: `prompt` (with `images`) as one user message, `system` as the system
 * prompt; or, with a non-empty `suffix` or `raw: true`, as a text completion (see
 * `readGenerateCompletion`). `template` and `context` need the model's own prompt template, which
 * only the engine has: a request using them is refused (400) rather than answered differently.
 * Without a prompt it is a model load or unload.
 */
export function parseOllamaGenerateRequest(bodyText: string): ParsedOllamaRequest | OllamaModelManagement {
  const reading = startReading(bodyText, 'Ollama generate', 'prompt');
  if (isOllamaModelManagement(reading)) return reading;
  const { body, problems, model } = reading;
  const prompt = body['prompt'];
  if (typeof prompt !== 'string') problems.add('/prompt', 'must be a string', 'send a prompt, or none at all to load the model');
  const system = body['system'];
  if (system !== undefined && system !== null && typeof system !== 'string') problems.add('/system', 'must be a string');
  const raw = optionalBoolean(body, 'raw', problems) ?? false;
  const rawSuffix = body['suffix'];
  if (rawSuffix !== undefined && rawSuffix !== null && typeof rawSuffix !== 'string') problems.add('/suffix', 'must be a string');
  const suffix = typeof rawSuffix === 'string' && rawSuffix !== '' ? rawSuffix : undefined;
  if (typeof body['template'] === 'string' && body['template'] !== '') problems.add('/template', 'custom prompt templates are not supported', 'leave template out; the engine applies the model\'s own');
  if (Array.isArray(body['context']) && body['context'].length > 0) {
    problems.add('/context', 'a previous answer\'s `context` cannot be continued: the gateway returns none', 'use POST /api/chat with the conversation as `messages`');
  }
  if (raw || suffix !== undefined) return readGenerateCompletion(body, problems, model, prompt as string, suffix);
  const images = readImages(body['images'], '/images', problems);
  const common = readCommon(body, problems);
  problems.throwIfAny();
  const content: ContentPart[] = [{ type: 'text', text: prompt as string }, ...images];
  const request = canonicalRequest(model, [{ role: 'user', content }], common.stream, {
    system: typeof system === 'string' && system !== '' ? system : undefined,
    ...common.settings,
  });
  return { request, ignoredFields: [...unknownFields(body, GENERATE_FIELDS), ...common.ignored].sort(), showThinking: common.showThinking };
}

/**
 * `/api/generate` with a non-empty `suffix` (fill in the middle: Continue's, llama-coder's and
 * Twinny's autocomplete) or `raw: true` (a prompt to continue as it is): a canonical text
 * completion, routed and sent upstream (`POST {baseUrl}/completions`) as `POST /v1/completions`
 * is. `options` map as for a chat (`num_predict` the token limit). A text completion has no system
 * prompt, no images and no response format: `system`, `images` and `format` are refused naming the
 * field, since dropping them would answer another question than the one asked (Ollama itself
 * refuses `system` with `raw`, and its fill-in-the-middle templates take only prompt and suffix).
 * `think` is reported as ignored: a text completion is sent no reasoning setting.
 */
function readGenerateCompletion(
  body: Record<string, unknown>,
  problems: RequestProblems,
  model: string,
  prompt: string,
  suffix: string | undefined,
): ParsedOllamaRequest {
  const because = suffix === undefined ? 'with `raw: true` the prompt is a text completion' : 'with a `suffix` the prompt is a text completion (fill in the middle)';
  if (typeof body['system'] === 'string' && body['system'] !== '') {
    problems.add('/system', `${because}, which takes no system prompt`, 'leave system out, or write it into the prompt yourself');
  }
  const images = body['images'];
  if (images !== undefined && images !== null && !(Array.isArray(images) && images.length === 0)) {
    problems.add('/images', `${because}, which takes no images`, 'leave images out, or send them without suffix and raw (a chat)');
  }
  const common = readCommon(body, problems);
  if (common.settings.responseFormat !== undefined) problems.add('/format', `${because}, which takes no response format`, 'leave format out, or send it without suffix and raw (a chat)');
  problems.throwIfAny();
  const { maxTokens, temperature, topP, seed, stop, logprobs } = common.settings;
  const request = canonicalRequest(model, [], common.stream, {
    completion: { prompt, ...(suffix === undefined ? {} : { suffix }) },
    maxTokens,
    temperature,
    topP,
    seed,
    stop,
    logprobs,
  });
  const ignored = [...unknownFields(body, GENERATE_FIELDS), ...common.ignored, ...(body['think'] === undefined || body['think'] === null ? [] : ['think'])];
  return { request, ignoredFields: ignored.sort(), showThinking: false };
}

/**
 * Reads `POST /api/embed`: `input` a string or a list of strings (none empty: `isEmbeddableText`),
 * `dimensions`, `truncate` (Ollama's default `true`: the engine cuts an input longer than the
 * model's window; `false`: such an input is refused, so the router leaves out a model whose window
 * cannot hold it); never streamed. Without input (absent, `""` or `[]`) it is a model load, as in
 * Ollama (whose EmbedHandler schedules the model, then answers `{"model","embeddings":[]}`).
 */
export function parseOllamaEmbedRequest(bodyText: string): ParsedOllamaRequest | OllamaModelManagement {
  const reading = startReading(bodyText, 'Ollama embed', 'input');
  if (isOllamaModelManagement(reading)) return reading;
  const { body, problems, model } = reading;
  const texts = readEmbedInput(body['input'], problems);
  const dimensions = optionalNumber(body, 'dimensions', problems, { minimum: 1, integer: true });
  const truncate = optionalBoolean(body, 'truncate', problems) ?? true;
  problems.throwIfAny();
  return embeddingRequest(body, model, texts, { truncate, ...(dimensions === undefined ? {} : { dimensions }) }, EMBED_FIELDS);
}

/**
 * Reads the older `POST /api/embeddings` (`prompt`: one text, one vector back), which clients
 * written before `/api/embed` still send; without a prompt it is a model load, as in Ollama. It has
 * no `truncate` (Ollama embeds the prompt whole there): a prompt longer than a window is checked.
 */
export function parseOllamaEmbeddingsRequest(bodyText: string): ParsedOllamaRequest | OllamaModelManagement {
  const reading = startReading(bodyText, 'Ollama embeddings', 'prompt');
  if (isOllamaModelManagement(reading)) return reading;
  const { body, problems, model } = reading;
  const prompt = body['prompt'];
  if (typeof prompt !== 'string') problems.add('/prompt', 'must be a string', 'send the text to embed');
  problems.throwIfAny();
  return embeddingRequest(body, model, [prompt as string], {}, EMBEDDINGS_FIELDS);
}

/** An embeddings request of `texts`, with its settings; every option (`options.<name>`) and unknown field is reported as ignored. */
function embeddingRequest(
  body: Record<string, unknown>,
  model: string,
  texts: string[],
  settings: Pick<EmbeddingRequest, 'dimensions' | 'truncate'>,
  fields: ReadonlySet<string>,
): ParsedOllamaRequest {
  const request = canonicalRequest(model, [], false, { embedding: { input: { kind: 'texts', texts }, encodingFormat: 'float', ...settings } });
  const ignored = isRecord(body['options']) ? Object.keys(body['options']).map((name) => `options.${name}`) : [];
  return { request, ignoredFields: [...unknownFields(body, fields), ...ignored].sort(), showThinking: false };
}

/** A Go duration as Ollama's `keep_alive` takes it (`5m`, `1h30m`, `-1s`, `0`): sign, then number-unit pairs. */
const GO_DURATION = /^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;

/**
 * `keep_alive` as Ollama reads it: seconds as a number or a Go duration string; negative keeps the
 * model for ever; zero (`0`, `"0"`, `"0s"`) unloads it. `value` is how the engine is sent it.
 */
function readKeepAlive(raw: unknown, problems: RequestProblems): { zero: boolean; value: string } | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number' && Number.isFinite(raw)) {
    // Go turns the seconds into whole nanoseconds: what rounds down to none is zero.
    if (raw >= 0 && Math.trunc(raw * 1e9) === 0) return { zero: true, value: '0' };
    return { zero: false, value: raw < 0 ? '-1' : Number.isInteger(raw) ? String(raw) : `${raw}s` };
  }
  if (typeof raw === 'string' && GO_DURATION.test(raw)) {
    const zero = (raw.match(/\d+(?:\.\d*)?|\.\d+/g) ?? []).every((number) => Number(number) === 0);
    return { zero, value: raw };
  }
  problems.add('/keep_alive', 'must be a duration ("5m", "1h"), a number of seconds (negative: keep the model loaded), or 0 to unload the model');
  return undefined;
}

/**
 * A request body read up to its model, its problems still to be added to; or, when `payload` (the
 * field that carries what to answer) is absent or empty, the model load or unload it asks for.
 */
function startReading(bodyText: string, api: string, payload: 'messages' | 'prompt' | 'input'): OllamaModelManagement | { body: Record<string, unknown>; problems: RequestProblems; model: string } {
  const body = readJsonObject(bodyText, api);
  const management = modelManagementOf(body, payload, api);
  if (management !== undefined) return management;
  const problems = new RequestProblems(api);
  return { body, problems, model: readModel(body, problems) };
}

/**
 * The load or unload a request with nothing to answer asks for (`payload`, the field that would
 * carry it, absent or empty), as Ollama takes it; undefined when there is something to answer.
 */
function modelManagementOf(body: Record<string, unknown>, payload: 'messages' | 'prompt' | 'input', api: string): OllamaModelManagement | undefined {
  const value = body[payload];
  const emptyList = payload !== 'prompt' && Array.isArray(value) && value.length === 0;
  const emptyText = payload !== 'messages' && value === '';
  const empty = value === undefined || value === null || emptyList || emptyText;
  if (!empty) return undefined;
  const problems = new RequestProblems(api);
  readModel(body, problems);
  optionalBoolean(body, 'stream', problems);
  const keepAlive = readKeepAlive(body['keep_alive'], problems);
  const options = body['options'];
  if (options !== undefined && options !== null && !isRecord(options)) problems.add('/options', 'must be an object of model options');
  problems.throwIfAny();
  const unload = keepAlive?.zero === true;
  const sentOptions = isRecord(options) && Object.keys(options).length > 0 ? (options as JsonObject) : undefined;
  const ignoredFields = unknownFields(body, new Set(['model', payload, 'stream', 'keep_alive', 'options']));
  // Ollama expires the runner before it reads the options: an unload ignores them.
  if (unload && sentOptions !== undefined) ignoredFields.push(...Object.keys(sentOptions).map((name) => `options.${name}`));
  return {
    model: body['model'] as string,
    action: unload ? 'unload' : 'load',
    ...(keepAlive === undefined || keepAlive.zero ? {} : { keepAlive: keepAlive.value }),
    ...(unload || sentOptions === undefined ? {} : { options: sentOptions }),
    ignoredFields: ignoredFields.sort(),
  };
}

function readEmbedInput(input: unknown, problems: RequestProblems): string[] {
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string') ? (input as string[]) : undefined;
  if (texts === undefined) {
    problems.add('/input', 'is required and must be a string or a non-empty list of strings');
    return [];
  }
  texts.forEach((text, index) => {
    if (!isEmbeddableText(text)) problems.add(typeof input === 'string' ? '/input' : `/input/${index}`, 'must not be empty', EMPTY_EMBEDDING_TEXT_HINT);
  });
  return texts;
}

function readModel(body: Record<string, unknown>, problems: RequestProblems): string {
  const model = body['model'];
  if (typeof model !== 'string' || model === '') {
    problems.add('/model', 'is required and must be a non-empty string', 'send a model GET /api/tags lists: `auto`, a `provider:model` or an alias');
    return '';
  }
  return model === AUTO_WITH_TAG ? 'auto' : model;
}

/** The fields `/api/chat` and `/api/generate` share: `format`, `options`, `stream`, `think`, `logprobs`, `top_logprobs`. */
function readCommon(
  body: Record<string, unknown>,
  problems: RequestProblems,
): { stream: boolean; settings: Pick<CanonicalRequest, 'responseFormat' | 'temperature' | 'topP' | 'maxTokens' | 'seed' | 'stop' | 'reasoningEffort' | 'logprobs'>; ignored: string[]; showThinking: boolean } {
  const stream = optionalBoolean(body, 'stream', problems) ?? true;
  const settings: ReturnType<typeof readCommon>['settings'] = {};
  const format = readFormat(body['format'], problems);
  if (format !== undefined) settings.responseFormat = format;
  const ignored: string[] = [];
  const logprobs = readLogprobs(body, problems, ignored);
  if (logprobs !== undefined) settings.logprobs = logprobs;
  const options = body['options'];
  if (options !== undefined && options !== null) {
    if (!isRecord(options)) problems.add('/options', 'must be an object of model options');
    else {
      const read = new RequestProblems('options');
      const temperature = optionalNumber(options, 'temperature', read, TEMPERATURE_RANGE);
      const topP = optionalNumber(options, 'top_p', read, { minimum: 0, maximum: 1 });
      // Ollama: -1 generates without limit, -2 until the context is full; neither is a limit here.
      const numPredict = optionalNumber(options, 'num_predict', read, { minimum: -2, integer: true });
      const seed = optionalNumber(options, 'seed', read, { integer: true });
      const stop = parseStop(options['stop'], read);
      for (const problem of read.problems) problems.add(`/options${problem.pointer}`, problem.message, problem.hint);
      if (temperature !== undefined) settings.temperature = temperature;
      if (topP !== undefined) settings.topP = topP;
      if (numPredict !== undefined && numPredict > 0) settings.maxTokens = numPredict;
      if (seed !== undefined) settings.seed = seed;
      if (stop !== undefined) settings.stop = stop;
      // An option sent as null asks for nothing and is not named, as a top-level field sent as null.
      for (const name of unknownFields(options, INTERPRETED_OPTIONS)) ignored.push(`options.${name}`);
    }
  }
  const think = body['think'];
  if (think !== undefined && think !== null && typeof think !== 'boolean' && think !== 'low' && think !== 'medium' && think !== 'high') {
    problems.add('/think', 'must be true, false, "low", "medium" or "high"');
  }
  const effort = thinkEffort(think);
  if (effort !== undefined) settings.reasoningEffort = { effort, field: 'think' };
  return { stream, settings, ignored, showThinking: think !== false };
}

/**
 * `logprobs: true` and its `top_logprobs` (0 to 20, as Ollama bounds it; its default 0 lists no
 * alternatives, so none are asked of the engine: llama-server would answer `top_logprobs: 0` with
 * no logprobs at all, and the alternatives an engine lists by default are cut to those asked for
 * when the answer is written). `top_logprobs` without `logprobs: true` asks for nothing: ignored.
 */
function readLogprobs(body: Record<string, unknown>, problems: RequestProblems, ignored: string[]): LogprobsRequest | undefined {
  const wanted = optionalBoolean(body, 'logprobs', problems) === true;
  const top = optionalNumber(body, 'top_logprobs', problems, { minimum: 0, maximum: MAXIMUM_TOP_LOGPROBS, integer: true });
  if (!wanted) {
    if (top !== undefined) ignored.push('top_logprobs');
    return undefined;
  }
  return top === undefined || top === 0 ? {} : { top };
}

/**
 * `think` as an effort: `false` is `none`, a level is itself, and `true` is `medium` (what
 * gpt-oss, the model that takes levels, thinks at by default; to a model that only turns thinking
 * on or off, every level but none is on).
 */
function thinkEffort(think: unknown): ReasoningEffort | undefined {
  if (think === false) return 'none';
  if (think === true) return 'medium';
  return think === 'low' || think === 'medium' || think === 'high' ? think : undefined;
}

/** `"json"`, a JSON schema object, or `""` (none). */
function readFormat(raw: unknown, problems: RequestProblems): ResponseFormat | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (raw === 'json') return { type: 'json_object' };
  // Ollama enforces a schema format by grammar: the client expects that wherever the request goes.
  if (isRecord(raw)) return { type: 'json_schema', schema: raw as JsonObject, enforced: true };
  problems.add('/format', 'must be "json" or a JSON schema object');
  return undefined;
}

/**
 * Ollama's tool calls carry no ids (newer servers send one, and clients echo it as `tool_call_id`);
 * the canonical model matches results to calls by id. Each call gets its client id or one made
 * from where it stands, and a tool result answers the call it names, else the oldest unanswered
 * call of its `tool_name`, else the oldest unanswered call.
 */
class ToolCallLedger {
  private readonly unanswered: ToolCall[] = [];

  add(call: ToolCall): void {
    this.unanswered.push(call);
  }

  answer(toolCallId: string | undefined, toolName: string | undefined): string | undefined {
    const at =
      toolCallId !== undefined
        ? this.unanswered.findIndex((call) => call.id === toolCallId)
        : toolName !== undefined && this.unanswered.some((call) => call.name === toolName)
          ? this.unanswered.findIndex((call) => call.name === toolName)
          : 0;
    if (toolCallId !== undefined && at === -1) return toolCallId;
    return this.unanswered.splice(at, 1)[0]?.id;
  }
}

function readMessage(raw: unknown, pointer: string, index: number, calls: ToolCallLedger, problems: RequestProblems): CanonicalMessage | undefined {
  if (!isRecord(raw)) {
    problems.add(pointer, 'must be an object with a role');
    return undefined;
  }
  const content = raw['content'];
  if (content !== undefined && content !== null && typeof content !== 'string') problems.add(`${pointer}/content`, 'must be a string');
  const text = typeof content === 'string' ? content : '';
  const textParts: ContentPart[] = text === '' ? [] : [{ type: 'text', text }];
  const role = raw['role'];
  switch (role) {
    case 'system':
      return { role: 'system', content: textParts };
    case 'user': {
      const images = readImages(raw['images'], `${pointer}/images`, problems);
      return { role: 'user', content: [...(text === '' && images.length > 0 ? [] : [{ type: 'text' as const, text }]), ...images] };
    }
    case 'assistant': {
      const toolCalls = readToolCalls(raw['tool_calls'], `${pointer}/tool_calls`, index, problems);
      for (const call of toolCalls) calls.add(call);
      return { role: 'assistant', content: textParts, ...(toolCalls.length === 0 ? {} : { toolCalls }) };
    }
    case 'tool': {
      const toolCallId = typeof raw['tool_call_id'] === 'string' && raw['tool_call_id'] !== '' ? raw['tool_call_id'] : undefined;
      const toolName = typeof raw['tool_name'] === 'string' && raw['tool_name'] !== '' ? raw['tool_name'] : undefined;
      const answered = calls.answer(toolCallId, toolName);
      if (answered === undefined) {
        problems.add(pointer, 'is a tool result, but no earlier assistant message has a tool call it answers', 'send the assistant message with its tool_calls before the results');
        return undefined;
      }
      return { role: 'tool', toolCallId: answered, content: [{ type: 'text', text }] };
    }
    default:
      problems.add(`${pointer}/role`, `must be one of system, user, assistant, tool (got ${JSON.stringify(role)})`);
      return undefined;
  }
}

function readToolCalls(raw: unknown, pointer: string, messageIndex: number, problems: RequestProblems): ToolCall[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.add(pointer, 'must be an array of {function: {name, arguments}}');
    return [];
  }
  const calls: ToolCall[] = [];
  raw.forEach((call, index) => {
    const callPointer = `${pointer}/${index}`;
    const fn = isRecord(call) ? call['function'] : undefined;
    if (!isRecord(call) || !isRecord(fn) || typeof fn['name'] !== 'string' || fn['name'] === '') {
      problems.add(callPointer, 'must be {function: {name, arguments}}');
      return;
    }
    const id = typeof call['id'] === 'string' && call['id'] !== '' ? call['id'] : `call_${messageIndex}_${index}`;
    const text = argumentsToText(fn['arguments']);
    calls.push({ id, name: fn['name'], arguments: text === '' ? '{}' : text });
  });
  return calls;
}

function readTools(raw: unknown, problems: RequestProblems): ToolDefinition[] | undefined {
  const tools = parseTools(raw, problems, { typeOptional: true });
  return tools === undefined || tools.length === 0 ? undefined : tools;
}

/** Base64 magic numbers of the image formats vision models take. */
const IMAGE_SIGNATURES: ReadonlyArray<[prefix: string, mediaType: string]> = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
];

/** Ollama's `images`: base64 strings without a media type, which is read from their first bytes. */
function readImages(raw: unknown, pointer: string, problems: RequestProblems): ImagePart[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.add(pointer, 'must be an array of base64-encoded images');
    return [];
  }
  const images: ImagePart[] = [];
  raw.forEach((item, index) => {
    const data = typeof item === 'string' ? item.replace(/^data:[^,]*,/, '') : undefined;
    const mediaType = data === undefined ? undefined : IMAGE_SIGNATURES.find(([prefix]) => data.startsWith(prefix))?.[1];
    if (data === undefined || mediaType === undefined) {
      problems.add(`${pointer}/${index}`, 'must be a base64-encoded PNG, JPEG, GIF or WebP image');
      return;
    }
    images.push({ type: 'image', mediaType, data });
  });
  return images;
}

function textOf(parts: readonly ContentPart[]): string {
  return parts.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/** Ollama's `done_reason`: `length` when the token limit cut the answer, else `stop` (tool calls included, as Ollama says). */
export function toOllamaDoneReason(reason: FinishReason): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

/** Ollama's tool call: arguments as an object (text that is not a JSON object becomes `{}`; the evidence keeps the original). */
function toOllamaToolCall(call: ToolCall, index: number): { id: string; function: { index: number; name: string; arguments: JsonObject } } {
  return { id: call.id, function: { index, name: call.name, arguments: parseArgumentsObject(call.arguments) ?? {} } };
}

/** The timings of an answer, in milliseconds, as the gateway measured them. */
export interface OllamaTimings {
  totalMs: number;
  /** Until the first token, when known. */
  firstTokenMs?: number;
}

/** The counters of Ollama's final object: token counts, and durations in nanoseconds (no load is ever measured: 0). */
function counters(usage: Partial<Usage> | undefined, timings: OllamaTimings): Record<string, number> {
  const nanoseconds = (milliseconds: number): number => Math.max(0, Math.round(milliseconds * 1e6));
  const promptMs = timings.firstTokenMs ?? 0;
  return {
    total_duration: nanoseconds(timings.totalMs),
    load_duration: 0,
    prompt_eval_count: usage?.inputTokens ?? 0,
    prompt_eval_duration: nanoseconds(promptMs),
    eval_count: usage?.outputTokens ?? 0,
    eval_duration: nanoseconds(timings.totalMs - promptMs),
  };
}

/** How an answer is rendered for an Ollama client. */
export interface OllamaRenderOptions {
  endpoint: OllamaEndpoint;
  /** The model reported to the client (`provider:model`). */
  model: string;
  /** `created_at`, ISO 8601; the caller owns the clock. */
  createdAt: string;
  /** Send the model's reasoning as `thinking` (every time but `think: false`). */
  showThinking: boolean;
  /** The client asked for token logprobs (`CanonicalRequest.logprobs`): `top` alternatives each, default none. */
  logprobs?: LogprobsRequest;
}

/** One token of Ollama's `logprobs` (`api.Logprob`): Go's `omitempty` leaves out empty `bytes` and `top_logprobs`. */
type OllamaLogprob = { token: string; logprob: number; bytes?: number[]; top_logprobs?: OllamaLogprob[] };

/**
 * The upstream's logprobs (`CanonicalResponse.logprobs`, any engine's shape) as Ollama lists them,
 * with the alternatives the client asked for (an engine may list more by default); undefined when
 * none were asked for or none came, as Ollama leaves the field out.
 */
function ollamaLogprobs(logprobs: JsonObject | undefined, asked: LogprobsRequest | undefined): OllamaLogprob[] | undefined {
  if (asked === undefined) return undefined;
  const entry = (token: { token: string; logprob: number; bytes: number[] }): OllamaLogprob => ({ token: token.token, logprob: token.logprob, ...(token.bytes.length === 0 ? {} : { bytes: token.bytes }) });
  const tokens = answerTokenLogprobs(logprobs).map((token) => {
    const alternatives = token.top_logprobs.slice(0, asked.top ?? 0).map(entry);
    return { ...entry(token), ...(alternatives.length === 0 ? {} : { top_logprobs: alternatives }) };
  });
  return tokens.length === 0 ? undefined : tokens;
}

/** A whole answer as one Ollama object (`stream: false`): the message (or `response`), `done: true` and the counters. */
export function renderOllamaResponse(response: CanonicalResponse, options: OllamaRenderOptions & { timings: OllamaTimings }): string {
  const thinking = options.showThinking && response.reasoning !== undefined && response.reasoning !== '' ? response.reasoning : undefined;
  const toolCalls = response.toolCalls.map(toOllamaToolCall);
  // Ollama has no refusal field: a model's refusal (OpenAI's `refusal`) is what it answered, its text.
  const text = response.text + (response.refusal ?? '');
  const answer =
    options.endpoint === 'chat'
      ? {
          message: {
            role: 'assistant',
            content: text,
            ...(thinking === undefined ? {} : { thinking }),
            ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
          },
        }
      : { response: text, ...(thinking === undefined ? {} : { thinking }) };
  // Where Ollama's ChatResponse and GenerateResponse put them: before the counters, after them.
  const logprobs = ollamaLogprobs(response.logprobs, options.logprobs);
  const listed = logprobs === undefined ? {} : { logprobs };
  return JSON.stringify({
    model: options.model,
    created_at: options.createdAt,
    ...answer,
    done: true,
    done_reason: toOllamaDoneReason(response.finishReason),
    ...(options.endpoint === 'chat' ? listed : {}),
    ...counters(response.usage, options.timings),
    ...(options.endpoint === 'generate' ? listed : {}),
  });
}

/** The clock an NDJSON encoder reads: milliseconds (`performance.now()`), and ISO time for `created_at`. */
export interface OllamaClock {
  now(): number;
  isoTime(): string;
}

/**
 * Turns canonical stream parts into Ollama NDJSON lines: one `done: false` object per text or
 * reasoning delta, the tool calls whole (Ollama never streams a call's arguments in pieces) in one
 * object once they are complete, then the `done: true` object with `done_reason` and the counters.
 * A stream that breaks writes one `{"error": "..."}` line and never `done: true`.
 */
export class OllamaStreamEncoder {
  private isClosed = false;
  private finishReason: FinishReason = 'stop';
  private readonly usage: Partial<Usage> = {};
  private readonly toolCalls = new Map<number, { id?: string; name: string; arguments: string }>();
  private readonly startedAt: number;
  private firstTokenAt: number | undefined;
  /** The upstream chunk's logprobs, for the delta line they came with. */
  private pendingLogprobs: JsonObject = {};

  /**
   * `startedAt`: when the answering attempt's upstream call began, on `clock.now()`'s scale; the
   * encoder is made when the first part arrives, so without it the time to the first token
   * (`prompt_eval_duration`) would read ~0 and `total_duration` would leave it out.
   */
  constructor(
    private readonly options: Omit<OllamaRenderOptions, 'createdAt'> & { startedAt?: number },
    private readonly clock: OllamaClock,
  ) {
    this.startedAt = options.startedAt ?? clock.now();
  }

  /** True once the `done: true` object or an error line was written; later parts are ignored. */
  get closed(): boolean {
    return this.isClosed;
  }

  encodeAll(parts: readonly StreamPart[]): string {
    let output = '';
    for (const part of parts) {
      if (this.isClosed) break;
      switch (part.type) {
        case 'logprobs':
          appendLogprobs(this.pendingLogprobs, part.logprobs);
          break;
        // Ollama has no refusal field: a refusal is the answer's text.
        case 'text-delta':
        case 'refusal-delta':
          if (part.text !== '') output += this.delta({ content: part.text });
          break;
        case 'reasoning-delta':
          if (this.options.showThinking && part.text !== '') output += this.delta({ content: '', thinking: part.text });
          // The logprobs of reasoning not shown are not shown either.
          else this.pendingLogprobs = {};
          break;
        case 'tool-call-delta': {
          this.firstTokenAt ??= this.clock.now();
          const call = this.toolCalls.get(part.index) ?? { name: '', arguments: '' };
          if (part.id !== undefined) call.id = part.id;
          if (part.name !== undefined) call.name += part.name;
          call.arguments += part.argumentsDelta;
          this.toolCalls.set(part.index, call);
          break;
        }
        case 'usage':
          mergeUsage(this.usage, part.usage);
          break;
        case 'finish':
          this.finishReason = part.finishReason;
          output += this.flushToolCalls();
          break;
        case 'stream-end':
          output += this.flushToolCalls() + this.done();
          break;
        case 'error':
          output += this.fail(streamErrorOf(part));
          break;
        default:
          // response-metadata; signatures and encrypted reasoning have no Ollama spelling.
          break;
      }
    }
    return output;
  }

  /** The line ending a stream that broke after bytes were sent: `{"error": ...}`, never `done: true`. */
  fail(error: ClientError): string {
    if (this.isClosed) return '';
    this.isClosed = true;
    return `${ollamaErrorBody(error)}\n`;
  }

  private delta(message: { content: string; thinking?: string }): string {
    this.firstTokenAt ??= this.clock.now();
    const answer = this.options.endpoint === 'chat' ? { message: { role: 'assistant', ...message } } : { response: message.content, ...(message.thinking === undefined ? {} : { thinking: message.thinking }) };
    const logprobs = ollamaLogprobs(this.pendingLogprobs, this.options.logprobs);
    this.pendingLogprobs = {};
    return this.line({ ...answer, done: false, ...(logprobs === undefined ? {} : { logprobs }) });
  }

  private flushToolCalls(): string {
    if (this.toolCalls.size === 0) return '';
    const calls = [...this.toolCalls.entries()]
      .sort(([left], [right]) => left - right)
      .map(([index, call], ordinal) => toOllamaToolCall({ id: call.id ?? `call_${index}`, name: call.name, arguments: call.arguments }, ordinal));
    this.toolCalls.clear();
    if (this.options.endpoint !== 'chat') return '';
    return this.line({ message: { role: 'assistant', content: '', tool_calls: calls }, done: false });
  }

  private done(): string {
    this.isClosed = true;
    const now = this.clock.now();
    const timings: OllamaTimings = { totalMs: now - this.startedAt, ...(this.firstTokenAt === undefined ? {} : { firstTokenMs: this.firstTokenAt - this.startedAt }) };
    const empty = this.options.endpoint === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
    return this.line({ ...empty, done: true, done_reason: toOllamaDoneReason(this.finishReason), ...counters(this.usage, timings) });
  }

  private line(fields: Record<string, unknown>): string {
    return `${JSON.stringify({ model: this.options.model, created_at: this.clock.isoTime(), ...fields })}\n`;
  }
}

/**
 * The answer to a model load or unload, as Ollama gives it: `done_reason` `load` or `unload` with
 * an empty message (`/api/chat`) or response (`/api/generate`); `/api/embed` no vectors,
 * `/api/embeddings` an empty vector.
 */
export function renderOllamaModelManagement(endpoint: OllamaManagedEndpoint, management: OllamaModelManagement, createdAt: string): string {
  if (endpoint === 'embed') return JSON.stringify({ model: management.model, embeddings: [] });
  if (endpoint === 'embeddings') return JSON.stringify({ embedding: [] });
  const empty = endpoint === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
  return JSON.stringify({ model: management.model, created_at: createdAt, ...empty, done: true, done_reason: management.action });
}

/** An embeddings answer as the older `/api/embeddings` gives it: the one vector, nothing else. */
export function renderOllamaEmbeddingsResponse(response: CanonicalResponse): string {
  return JSON.stringify({ embedding: response.embeddings?.[0] ?? [] });
}

/** An embeddings answer as Ollama's `/api/embed` gives it: the vectors as numbers, the prompt tokens, durations. */
export function renderOllamaEmbedResponse(response: CanonicalResponse, options: { model: string; timings: OllamaTimings }): string {
  return JSON.stringify({
    model: options.model,
    embeddings: response.embeddings ?? [],
    total_duration: Math.max(0, Math.round(options.timings.totalMs * 1e6)),
    load_duration: 0,
    prompt_eval_count: response.usage?.inputTokens ?? 0,
  });
}

/**
 * What `GET /api/version` answers. Clients gate features on it (tools from 0.3, `/api/embed` from
 * 0.3, `format` as a JSON schema from 0.5, `think` from 0.9, `logprobs` from 0.12.11); 0.12.11
 * passes every such gate while naming a release whose `/api/chat`, `/api/generate` and
 * `/api/embed` this face speaks.
 */
export const OLLAMA_VERSION = '0.12.11';

/** What Ollama answers on `GET /`: tools check it to tell that an Ollama server is there. */
export const OLLAMA_ROOT_ANSWER = 'Ollama is running';

/** The model `POST /api/show` asks about: `model` (or the older `name`). Throws `InvalidInputError` without one. */
export function ollamaShowModelOf(bodyText: string): string {
  const body = readJsonObject(bodyText, 'Ollama show');
  const model = typeof body['model'] === 'string' && body['model'] !== '' ? body['model'] : body['name'];
  if (typeof model !== 'string' || model === '') {
    const problems = new RequestProblems('Ollama show');
    problems.add('/model', 'is required and must be a non-empty string', 'send a model GET /api/tags lists');
    problems.throwIfAny();
  }
  return model as string;
}

/** Ollama's error body, `{"error": "message"}`: the only place it is built. */
export function ollamaErrorBody(error: ClientError): string {
  return JSON.stringify({ error: error.message });
}

/** An error response for an Ollama client: HTTP status and exact body bytes. */
export function renderOllamaError(error: ClientError): { status: number; body: string } {
  return { status: CLIENT_ERROR_STATUS[error.kind], body: ollamaErrorBody(error) };
}
