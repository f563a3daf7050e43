import { newId } from '../common/ids.js';
import type { InvocationResult } from '../invoke/types.js';
import type { GatewayApi } from '../metrics/prometheus.js';
import {
  ANTHROPIC_BETA_RULE,
  AnthropicStreamEncoder,
  parseAnthropicBeta,
  parseAnthropicMessagesRequest,
  renderAnthropicMessageResponse,
} from '../wire/anthropic/server.js';
import { inTurnOrder, type CanonicalRequest, type CanonicalResponse, type StreamPart, type ToolCall } from '../wire/canonical.js';
import type { ClientError } from '../wire/client-errors.js';
import {
  isOllamaModelManagement,
  OLLAMA_STREAM_CONTENT_TYPE,
  OllamaStreamEncoder,
  parseOllamaChatRequest,
  parseOllamaEmbeddingsRequest,
  parseOllamaEmbedRequest,
  parseOllamaGenerateRequest,
  renderOllamaEmbeddingsResponse,
  renderOllamaEmbedResponse,
  renderOllamaModelManagement,
  renderOllamaResponse,
  type OllamaEndpoint,
  type OllamaManagedEndpoint,
  type OllamaModelManagement,
  type ParsedOllamaRequest,
} from '../wire/ollama/server.js';
import { OpenAICompletionStreamEncoder, parseOpenAICompletionRequest, renderOpenAICompletionResponse } from '../wire/openai/completions-server.js';
import { parseOpenAIEmbeddingsRequest, renderOpenAIEmbeddingsResponse } from '../wire/openai/embeddings-server.js';
import { freeformToolNames } from '../wire/openai/custom-tools.js';
import { parseResponsesRequest, renderResponsesResponse, ResponsesStreamEncoder } from '../wire/openai/responses-server.js';
import { OpenAIStreamEncoder, parseOpenAIChatRequest, renderOpenAIChatResponse } from '../wire/openai/server.js';
import { invalidHeader, type ApiFamily } from './errors.js';

/** A stateful encoder of canonical stream parts into one API family's SSE frames. */
export interface StreamEncoder {
  encodeAll(parts: readonly StreamPart[]): string;
  /** The frame ending a stream that broke after bytes were sent (an error, never a clean end). */
  fail(error: ClientError): string;
  readonly closed: boolean;
}

/** A client request read by a face. */
export interface FaceRequest {
  request: CanonicalRequest;
  includeUsage: boolean;
  /** Top-level request fields the gateway does not interpret (not sent to any provider). */
  ignoredFields: string[];
  /** The client's names of the request settings a provider may get otherwise than asked, where they are not OpenAI's (`SETTING_FIELDS`). */
  settingFields?: Partial<SettingFields>;
  /**
   * The model's reasoning goes back as `thinking`: Anthropic clients enabled thinking (blocks);
   * Ollama clients did not send `think: false` (a `thinking` field).
   */
  thinking?: boolean;
}

/** The request settings a wire may drop or change (`FieldEffect`), by the client field that carried each. */
export type SettingFields = Record<'temperature' | 'topP' | 'seed' | 'maxTokens' | 'logprobs' | 'topLogprobs' | 'responseFormat' | 'toolChoice', string>;

/** Their names in OpenAI's Chat Completions (and legacy Completions) and Anthropic's Messages API (whose format is `output_config.format`, or `output_format`). */
export const SETTING_FIELDS: SettingFields = {
  temperature: 'temperature',
  topP: 'top_p',
  seed: 'seed',
  maxTokens: 'max_tokens',
  logprobs: 'logprobs',
  topLogprobs: 'top_logprobs',
  responseFormat: 'response_format',
  toolChoice: 'tool_choice',
};

/** Their names in Ollama's native API: options, and `format`. */
const OLLAMA_SETTING_FIELDS: SettingFields = {
  temperature: 'options.temperature',
  topP: 'options.top_p',
  seed: 'options.seed',
  maxTokens: 'options.num_predict',
  logprobs: 'logprobs',
  topLogprobs: 'top_logprobs',
  responseFormat: 'format',
  // Ollama's own API has no tool choice: never left out of what it sends.
  toolChoice: 'tool_choice',
};

/**
 * A request to load or unload a model rather than to answer anything (an Ollama client preloading
 * a model, or its unload button): no prompt, so nothing to classify, permit or record as evidence.
 */
export interface FaceModelManagement {
  management: OllamaModelManagement;
  /** Where it came: `/api/chat` and `/api/generate` load only a model that completes text, as Ollama's do. */
  endpoint: OllamaManagedEndpoint;
  /** The answer once it is done, as the face's API gives it. */
  render(createdAt: string): string;
}

/**
 * One API family as the gateway speaks it: parse a client request into canonical form, render
 * an answer, encode a stream. The codecs themselves live in src/wire/<family>/server.ts.
 */
export interface ApiFace {
  family: ApiFamily;
  /** The `api` label of its requests in the gateway's metrics. */
  api: GatewayApi;
  /**
   * `header`: a request header by lower-case name (a face may read its API's own, as Anthropic's
   * `anthropic-beta`). Ollama's faces may read a model load or unload instead of a request.
   */
  parse(bodyText: string, header: (name: string) => string | undefined): FaceRequest | FaceModelManagement;
  /** `request` is the client's, as parsed: a face may echo parts of it (the Responses API does). */
  render(result: InvocationResult, model: string, request: FaceRequest): string;
  /** `startedAt`: when the answering attempt began (`performance.now()`), for faces that report durations (Ollama's). */
  createEncoder(model: string, request: FaceRequest, startedAt?: number): StreamEncoder;
  /** The Content-Type of its streams; default `text/event-stream` (SSE). */
  streamContentType?: string;
}

export const openAIFace: ApiFace = {
  family: 'openai',
  api: 'openai',
  parse(bodyText) {
    const parsed = parseOpenAIChatRequest(bodyText);
    return {
      request: parsed.request,
      includeUsage: parsed.includeUsage,
      ignoredFields: parsed.ignoredFields,
      ...(parsed.maxTokensField === undefined ? {} : { settingFields: { maxTokens: parsed.maxTokensField } }),
    };
  },
  render(result, model, { request }) {
    return renderOpenAIChatResponse(clientAnswer(result), { created: unixSeconds(), id: openAIId(), model, freeformTools: freeformToolNames(request) }).body;
  },
  createEncoder(model, { includeUsage, request }) {
    return new OpenAIStreamEncoder({ id: openAIId(), model, created: unixSeconds(), includeUsage, freeformTools: freeformToolNames(request) });
  },
};

export const anthropicFace: ApiFace = {
  family: 'anthropic',
  api: 'anthropic',
  parse(bodyText, header) {
    const parsed = parseAnthropicMessagesRequest(bodyText);
    const anthropicBeta = anthropicBetaOf(header('anthropic-beta'));
    if (anthropicBeta !== undefined) parsed.request.anthropicBeta = anthropicBeta;
    return { request: parsed.request, includeUsage: true, ignoredFields: parsed.ignoredFields, thinking: parsed.thinking, settingFields: { responseFormat: parsed.formatField } };
  },
  render(result, model, { thinking }) {
    return renderAnthropicMessageResponse(clientAnswer(result), { id: newId('msg'), model, thinking: thinking === true }).body;
  },
  createEncoder(model, { thinking }) {
    return new AnthropicStreamEncoder({ id: newId('msg'), model, thinking: thinking === true });
  },
};

/**
 * The betas of an Anthropic client's `anthropic-beta` header (Claude Code sends several), for
 * anthropic-wire providers; undefined when it sent none. A malformed header is a 400 naming it.
 */
function anthropicBetaOf(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = parseAnthropicBeta(value);
  if (names === undefined) {
    throw invalidHeader('anthropic-beta', ANTHROPIC_BETA_RULE);
  }
  return names.length === 0 ? undefined : names;
}

/** OpenAI's Responses API (`POST /v1/responses`): errors in the OpenAI envelope, usage always in the final event. */
export const responsesFace: ApiFace = {
  family: 'openai',
  api: 'openai_responses',
  parse(bodyText) {
    const parsed = parseResponsesRequest(bodyText);
    return { request: parsed.request, includeUsage: true, ignoredFields: parsed.ignoredFields, settingFields: { maxTokens: 'max_output_tokens', responseFormat: 'text.format', logprobs: 'include', topLogprobs: 'top_logprobs' } };
  },
  render(result, model, { request }) {
    return renderResponsesResponse(clientAnswer(result), { id: newId('resp'), createdAt: unixSeconds(), model, request });
  },
  createEncoder(model, { request }) {
    return new ResponsesStreamEncoder({ id: newId('resp'), createdAt: unixSeconds(), model, request });
  },
};

/**
 * OpenAI's legacy text completions API (`POST /v1/completions`): a prompt continued (or, with a
 * suffix, filled in the middle) as `text_completion` objects; errors in the OpenAI envelope.
 */
export const completionsFace: ApiFace = {
  family: 'openai',
  api: 'openai_completions',
  parse(bodyText) {
    const parsed = parseOpenAICompletionRequest(bodyText);
    // Its `logprobs: N` asks for the alternatives too.
    return { request: parsed.request, includeUsage: parsed.includeUsage, ignoredFields: parsed.ignoredFields, settingFields: { topLogprobs: 'logprobs' } };
  },
  render(result, model) {
    return renderOpenAICompletionResponse(clientAnswer(result), { id: textCompletionId(), model, created: unixSeconds() });
  },
  createEncoder(model, { includeUsage }) {
    return new OpenAICompletionStreamEncoder({ id: textCompletionId(), model, created: unixSeconds(), includeUsage });
  },
};

/**
 * OpenAI's embeddings API (`POST /v1/embeddings`): never streamed, errors in the OpenAI envelope,
 * the vectors in the encoding the client asked for (the `openai` SDKs ask for base64 by default).
 */
export const embeddingsFace: ApiFace = {
  family: 'openai',
  api: 'openai_embeddings',
  parse(bodyText) {
    const parsed = parseOpenAIEmbeddingsRequest(bodyText);
    return { request: parsed.request, includeUsage: true, ignoredFields: parsed.ignoredFields };
  },
  render(result, model, { request }) {
    return renderOpenAIEmbeddingsResponse(clientAnswer(result), { model, encodingFormat: request.embedding?.encodingFormat ?? 'float' });
  },
  createEncoder: neverStreamed,
};

function neverStreamed(): StreamEncoder {
  throw new Error('embeddings answers are never streamed');
}

/** An Ollama client's request as a face reads it. */
function ollamaFaceRequest(parsed: ParsedOllamaRequest): FaceRequest {
  return { request: parsed.request, includeUsage: true, ignoredFields: parsed.ignoredFields, thinking: parsed.showThinking, settingFields: OLLAMA_SETTING_FIELDS };
}

/** What an Ollama client sent to `endpoint`: something to answer, or a model to load or unload. */
function ollamaFaceRead(endpoint: OllamaManagedEndpoint, read: ParsedOllamaRequest | OllamaModelManagement): FaceRequest | FaceModelManagement {
  if (isOllamaModelManagement(read)) return { management: read, endpoint, render: (createdAt) => renderOllamaModelManagement(endpoint, read, createdAt) };
  return ollamaFaceRequest(read);
}

/** The clock of the Ollama faces' counters: the gateway's monotonic one, and wall time for `created_at`. */
const OLLAMA_CLOCK = { now: () => performance.now(), isoTime: () => new Date().toISOString() };

/**
 * Ollama's `POST /api/chat` or `/api/generate`: errors as `{"error": ...}`, streams as NDJSON
 * (the default, as in Ollama), durations as the gateway measured them.
 */
function ollamaFace(endpoint: OllamaEndpoint, parse: (bodyText: string) => ParsedOllamaRequest | OllamaModelManagement): ApiFace {
  return {
    family: 'ollama',
    api: 'ollama',
    streamContentType: OLLAMA_STREAM_CONTENT_TYPE,
    parse: (bodyText) => ollamaFaceRead(endpoint, parse(bodyText)),
    render(result, model, { thinking, request }) {
      const timings = { totalMs: result.latency.totalMs, ...(result.latency.firstTokenMs === undefined ? {} : { firstTokenMs: result.latency.firstTokenMs }) };
      const logprobs = request.logprobs === undefined ? {} : { logprobs: request.logprobs };
      return renderOllamaResponse(clientAnswer(result), { endpoint, model, createdAt: OLLAMA_CLOCK.isoTime(), showThinking: thinking === true, timings, ...logprobs });
    },
    createEncoder(model, { thinking, request }, startedAt) {
      const logprobs = request.logprobs === undefined ? {} : { logprobs: request.logprobs };
      return new OllamaStreamEncoder({ endpoint, model, showThinking: thinking === true, ...logprobs, ...(startedAt === undefined ? {} : { startedAt }) }, OLLAMA_CLOCK);
    },
  };
}

export const ollamaChatFace: ApiFace = ollamaFace('chat', parseOllamaChatRequest);
export const ollamaGenerateFace: ApiFace = ollamaFace('generate', parseOllamaGenerateRequest);

/** Ollama's `POST /api/embed`, through the embeddings pipeline: never streamed, the vectors as numbers. */
export const ollamaEmbedFace: ApiFace = {
  family: 'ollama',
  api: 'ollama_embeddings',
  parse: (bodyText) => ollamaFaceRead('embed', parseOllamaEmbedRequest(bodyText)),
  render(result, model) {
    return renderOllamaEmbedResponse(clientAnswer(result), { model, timings: { totalMs: result.latency.totalMs } });
  },
  createEncoder: neverStreamed,
};

/**
 * Ollama's older `POST /api/embeddings` (`prompt` → `embedding`), through the same embeddings
 * pipeline and under the same metrics label as `/api/embed`; without a prompt, a model load.
 */
export const ollamaEmbeddingsFace: ApiFace = {
  family: 'ollama',
  api: 'ollama_embeddings',
  parse: (bodyText) => ollamaFaceRead('embeddings', parseOllamaEmbeddingsRequest(bodyText)),
  render(result) {
    return renderOllamaEmbeddingsResponse(clientAnswer(result));
  },
  createEncoder: neverStreamed,
};

/**
 * The answer as a client is given it. When the engine reported no usage, the pipeline's local
 * count stands in for it (the evidence records it as `approximate`): Anthropic's usage fields are
 * required, and a 0 there — or no usage for an OpenAI client that asked for it — would be false.
 */
export function clientAnswer(result: InvocationResult): CanonicalResponse {
  return result.response.usage === undefined && result.usage !== undefined ? { ...result.response, usage: result.usage } : result.response;
}

/** The parts of a whole answer, for a stream whose attempt delivered no parts of its own. */
export function partsOfResponse(response: CanonicalResponse): StreamPart[] {
  const parts: StreamPart[] = [{ type: 'response-metadata', id: response.id, model: response.model }];
  const toolCall = (call: ToolCall, index: number): void => {
    parts.push({ type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta: call.arguments });
  };
  if (response.parts !== undefined) {
    if (response.logprobs !== undefined) parts.push({ type: 'logprobs', logprobs: response.logprobs });
    // Several reasoning blocks: each in its place, ended by its own signature.
    for (const item of inTurnOrder(response.parts, response.toolCalls)) {
      if (item.call !== undefined) toolCall(item.call, item.index);
      else if (item.part.type === 'text') parts.push({ type: 'text-delta', text: item.part.text });
      else if (item.part.type === 'redacted-reasoning') parts.push({ type: 'redacted-reasoning', data: item.part.data });
      else {
        if (item.part.text !== '') parts.push({ type: 'reasoning-delta', text: item.part.text });
        if (item.part.signature !== undefined) parts.push({ type: 'reasoning-signature', signature: item.part.signature });
      }
    }
  } else {
    if (response.reasoning !== undefined) parts.push({ type: 'reasoning-delta', text: response.reasoning });
    if (response.reasoningSignature !== undefined) parts.push({ type: 'reasoning-signature', signature: response.reasoningSignature });
    if (response.logprobs !== undefined) parts.push({ type: 'logprobs', logprobs: response.logprobs });
    if (response.text !== '') parts.push({ type: 'text-delta', text: response.text });
    response.toolCalls.forEach(toolCall);
  }
  if (response.refusal !== undefined) parts.push({ type: 'refusal-delta', text: response.refusal });
  if (response.usage !== undefined) parts.push({ type: 'usage', usage: response.usage });
  parts.push({ type: 'finish', finishReason: response.finishReason, rawFinishReason: response.rawFinishReason, ...(response.stopSequence === undefined ? {} : { stopSequence: response.stopSequence }) });
  parts.push({ type: 'stream-end' });
  return parts;
}

function openAIId(): string {
  return newId('chatcmpl').replace('_', '-');
}

/** `cmpl-…`, as OpenAI's text completions are named. */
function textCompletionId(): string {
  return newId('cmpl').replace('_', '-');
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
