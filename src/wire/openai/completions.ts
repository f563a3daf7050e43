/**
 * OpenAI's legacy text completions wire (`POST {baseUrl}/completions`) as the upstream engines
 * speak it. Pure: no I/O.
 *
 * Engines (checked against their servers):
 * - Ollama's `/v1/completions` takes `prompt` (a string only) and `suffix`: a model whose template
 *   fills in the middle (`insert` among its `/api/show` capabilities) completes between the two;
 *   any other answers 400 (`<model> does not support insert`).
 * - llama.cpp's `llama-server` takes `prompt` and refuses `suffix` ("Unsupported param: suffix",
 *   as it refuses `best_of`, `n` > 1 and `echo`); its fill-in-the-middle is `/infill`, another API.
 * - vLLM's completions API refuses `suffix` ("suffix is not currently supported").
 * - LM Studio's `/v1/completions` continues a prompt without applying the chat template (its
 *   OpenAI-compatibility docs); its supported parameters list no `suffix`.
 * So only Ollama models are tagged `fill-in-middle` by discovery; the router sends a request with
 * a suffix to no other model.
 *
 * Answers: `{"object":"text_completion","choices":[{"text",...,"finish_reason"}],"usage"}`; stream
 * chunks have the same shape, the text in `choices[0].text`, ended by `data: [DONE]`.
 */

import { UpstreamError } from '../../errors.js';
import type { ServerSentEvent, WireHttpRequest, WireTarget } from '../adapter.js';
import { joinUrl, jsonPost } from '../auth.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart, TextCompletionRequest } from '../canonical.js';
import { decodeErrorBody } from '../error-body.js';
import { isRecord, stringField, tryParseJson } from '../json.js';
import { choiceLogprobs, decodeUsage, openAIFinishReason, partialUsage, readOpenAIStreamChunk } from './adapter.js';
import { generationTimingsOf } from './timings.js';

/** The text completion part of a request (the pipeline sends only text completion requests here). */
function completionOf(request: CanonicalRequest): TextCompletionRequest {
  if (request.completion === undefined) throw new TypeError('not a text completion request');
  return request.completion;
}

/** `POST {baseUrl}/completions`: the prompt (and suffix) as given, the sampling settings the client set. */
export function encodeOpenAICompletionRequest(request: CanonicalRequest, target: WireTarget): WireHttpRequest {
  const completion = completionOf(request);
  const body: Record<string, unknown> = { model: request.model, prompt: completion.prompt };
  if (completion.suffix !== undefined) body['suffix'] = completion.suffix;
  if (request.maxTokens !== undefined) body['max_tokens'] = request.maxTokens;
  if (request.temperature !== undefined) body['temperature'] = request.temperature;
  if (request.topP !== undefined) body['top_p'] = request.topP;
  if (request.seed !== undefined) body['seed'] = request.seed;
  if (request.stop !== undefined && request.stop.length > 0) body['stop'] = request.stop;
  if (request.logprobs !== undefined) body['logprobs'] = request.logprobs.top ?? 0;
  if (request.stream) {
    body['stream'] = true;
    body['stream_options'] = { include_usage: true };
  }
  return jsonPost(joinUrl(target.baseUrl, '/completions'), body, request.stream ? 'text/event-stream' : 'application/json', target);
}

function malformed(message: string): UpstreamError {
  return new UpstreamError(`upstream text completion ${message}`, {
    isRetryable: false,
    code: 'upstream_malformed_response',
    hint: 'check that the provider speaks the OpenAI completions API (POST /v1/completions); the raw bytes are in the evidence',
  });
}

/** Reads a `text_completion` answer: `choices[0].text`, its finish reason and `usage`. */
export function decodeOpenAICompletionResponse(body: string): CanonicalResponse {
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) throw malformed('is not a JSON object');
  if (parsed['error'] !== undefined) {
    const error = decodeErrorBody(200, body);
    throw new UpstreamError(`upstream returned an error in a successful response: ${error.message}`, { isRetryable: false, code: 'upstream_error_body' });
  }
  const choices = parsed['choices'];
  const choice = Array.isArray(choices) ? (choices[0] as unknown) : undefined;
  if (!isRecord(choice) || typeof choice['text'] !== 'string') throw malformed('has no choices[0].text');
  const observations = new Set<string>();
  const usage = decodeUsage(parsed['usage'], observations);
  const rawFinishReason = stringField(choice, 'finish_reason') ?? null;
  const logprobs = choiceLogprobs(choice);
  const generationTimings = generationTimingsOf(parsed);
  return {
    id: stringField(parsed, 'id') ?? '',
    model: stringField(parsed, 'model') ?? '',
    text: choice['text'],
    toolCalls: [],
    finishReason: openAIFinishReason(rawFinishReason),
    rawFinishReason,
    ...(usage === undefined ? {} : { usage }),
    ...(observations.size === 0 ? {} : { observations: [...observations] }),
    ...(logprobs === undefined ? {} : { logprobs }),
    ...(generationTimings === undefined ? {} : { generationTimings }),
  };
}

/** One `data:` payload of a text completion stream: `choices[0].text` deltas, the finish, usage, `[DONE]`. */
export function decodeOpenAICompletionStreamEvent(event: ServerSentEvent): StreamPart[] {
  const { chunk, parts } = readOpenAIStreamChunk(event);
  if (chunk === undefined) return parts;
  const choices = chunk['choices'];
  const choice = Array.isArray(choices) ? (choices[0] as unknown) : undefined;
  if (isRecord(choice)) {
    const logprobs = choiceLogprobs(choice);
    if (logprobs !== undefined) parts.push({ type: 'logprobs', logprobs });
    const text = choice['text'];
    if (typeof text === 'string' && text !== '') parts.push({ type: 'text-delta', text });
    const rawFinishReason = stringField(choice, 'finish_reason');
    if (rawFinishReason !== undefined && rawFinishReason !== '') parts.push({ type: 'finish', finishReason: openAIFinishReason(rawFinishReason), rawFinishReason });
  }
  const usage = partialUsage(chunk['usage']);
  if (usage !== undefined && Object.keys(usage).length > 0) parts.push({ type: 'usage', usage });
  return parts;
}
