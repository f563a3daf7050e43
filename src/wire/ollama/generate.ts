/**
 * Ollama's native `POST <root>/api/generate` with `raw: true`, as syndicate calls it for a text
 * completion without a suffix. Pure: no I/O.
 *
 * Why not `/v1/completions`: Ollama's OpenAI-compatible completions endpoint renders the prompt
 * through the model's chat template when there is no `suffix` (ollama/ollama#5544, #12636), so a
 * prompt the client built itself (a FIM prompt, `<|fim_prefix|>…<|fim_middle|>`) would reach the
 * model wrapped in `<|user|>…<|assistant|>`. `raw: true` on the native endpoint hands the model
 * the prompt as it is. With a suffix, `/v1/completions` is right: Ollama fills in the middle with
 * the model's own FIM template there.
 *
 * Answers: a stream (the default; `application/x-ndjson`) is one JSON object per line,
 * `{"model","created_at","response","done":false}` per piece, ended by `{"done":true,"done_reason",
 * "total_duration","load_duration","prompt_eval_count","prompt_eval_duration","eval_count",
 * "eval_duration"}` (raw mode returns no `context`); an error after the answer started is a
 * `{"error":"…"}` line. Without stream the answer is one object with the whole `response` and the
 * same counters. Errors before the answer are `{"error":"…"}` with the status (404 for an unknown
 * model), decoded as every wire's errors are.
 *
 * Token logprobs (`logprobs: true`, `top_logprobs`; Ollama 0.12.11 and later): each object's
 * `logprobs`, a list of `{token, logprob, bytes, top_logprobs}`, is kept as the chat choice's
 * `{content: [...]}` that Ollama's own OpenAI layer makes of it (and llama-server answers text
 * completions with). An older Ollama ignores the fields and returns none.
 */

import { engineNativeInferenceUrl } from '../../common/engine-root.js';
import { UpstreamError } from '../../errors.js';
import type { ServerSentEvent, StreamFraming, WireHttpRequest, WireTarget } from '../adapter.js';
import { jsonPost } from '../auth.js';
import type { CanonicalRequest, CanonicalResponse, FinishReason, JsonObject, JsonValue, StreamPart, Usage } from '../canonical.js';
import { isRecord, numberField, stringField, tryParseJson } from '../json.js';
import { NdjsonLineSplitter } from '../ndjson.js';

/** Whether a request goes to Ollama's native `/api/generate`: a text completion without a suffix, to an Ollama engine. */
export function usesOllamaGenerate(request: CanonicalRequest, target: WireTarget): boolean {
  return request.completion !== undefined && request.completion.suffix === undefined && engineNativeInferenceUrl(target.engine, target.baseUrl) !== undefined;
}

/** `POST <root>/api/generate`: the prompt as it is (`raw: true`), `stream` as asked, the sampling settings in `options`; `keep_alive` left to the engine. */
export function encodeOllamaGenerateRequest(request: CanonicalRequest, target: WireTarget): WireHttpRequest {
  const url = engineNativeInferenceUrl(target.engine, target.baseUrl);
  if (request.completion === undefined || url === undefined) throw new TypeError('not a text completion for an Ollama engine');
  const options: Record<string, unknown> = {};
  if (request.maxTokens !== undefined) options['num_predict'] = request.maxTokens;
  if (request.temperature !== undefined) options['temperature'] = request.temperature;
  if (request.topP !== undefined) options['top_p'] = request.topP;
  if (request.seed !== undefined) options['seed'] = request.seed;
  if (request.stop !== undefined && request.stop.length > 0) options['stop'] = request.stop;
  const body: Record<string, unknown> = { model: request.model, prompt: request.completion.prompt, raw: true, stream: request.stream };
  if (request.logprobs !== undefined) {
    body['logprobs'] = true;
    if (request.logprobs.top !== undefined) body['top_logprobs'] = request.logprobs.top;
  }
  if (Object.keys(options).length > 0) body['options'] = options;
  return jsonPost(url, body, request.stream ? 'application/x-ndjson' : 'application/json', target);
}

function malformed(message: string): UpstreamError {
  return new UpstreamError(`Ollama's /api/generate answer ${message}`, {
    isRetryable: false,
    code: 'upstream_malformed_response',
    hint: 'check that the provider is an Ollama engine (its native POST /api/generate); the raw bytes are in the evidence',
  });
}

/** `done_reason` as a finish reason: `length` when `num_predict` cut the answer, `stop` otherwise. */
function finishReasonOf(doneReason: string | undefined): FinishReason {
  return doneReason === 'length' ? 'length' : 'stop';
}

/** Usage from the final object's counters, exact when both are there. */
function usageOf(answer: Record<string, unknown>): Usage | undefined {
  const inputTokens = numberField(answer, 'prompt_eval_count');
  const outputTokens = numberField(answer, 'eval_count');
  return inputTokens === undefined || outputTokens === undefined ? undefined : { inputTokens, outputTokens };
}

/** `load_duration` (nanoseconds) in milliseconds, when the answer reports one. */
function loadMsOf(answer: Record<string, unknown>): number | undefined {
  const nanoseconds = numberField(answer, 'load_duration');
  return nanoseconds === undefined || !(nanoseconds >= 0) ? undefined : nanoseconds / 1e6;
}

/** An answer object's `logprobs` list, as the chat-shaped `{content: [...]}`; undefined when it has none. */
function logprobsOf(answer: Record<string, unknown>): JsonObject | undefined {
  const logprobs = answer['logprobs'];
  return Array.isArray(logprobs) && logprobs.length > 0 ? { content: logprobs as JsonValue[] } : undefined;
}

/** The whole answer of a `stream: false` call. */
export function decodeOllamaGenerateResponse(body: string): CanonicalResponse {
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) throw malformed('is not a JSON object');
  const error = stringField(parsed, 'error');
  if (error !== undefined) throw new UpstreamError(`upstream returned an error in a successful response: ${error}`, { isRetryable: false, code: 'upstream_error_body' });
  const text = stringField(parsed, 'response');
  if (text === undefined) throw malformed('has no response');
  const rawFinishReason = stringField(parsed, 'done_reason') ?? null;
  const usage = usageOf(parsed);
  const logprobs = logprobsOf(parsed);
  const engineLoadMs = loadMsOf(parsed);
  return {
    id: '',
    model: stringField(parsed, 'model') ?? '',
    text,
    toolCalls: [],
    finishReason: finishReasonOf(rawFinishReason ?? undefined),
    rawFinishReason,
    ...(usage === undefined ? {} : { usage }),
    ...(logprobs === undefined ? {} : { logprobs }),
    ...(engineLoadMs === undefined ? {} : { engineLoadMs }),
  };
}

/**
 * One NDJSON line of a stream: its `response` piece; on the `done: true` line the finish reason,
 * the usage and the end of the stream; an `error` line is an error part (the stream never ends cleanly).
 */
export function decodeOllamaGenerateStreamLine(line: ServerSentEvent): StreamPart[] {
  const parsed = tryParseJson(line.data);
  if (!isRecord(parsed)) throw new Error(`an NDJSON line is not a JSON object: ${line.data.slice(0, 200)}`);
  const error = parsed['error'];
  if (error !== undefined) return [{ type: 'error', message: typeof error === 'string' ? error : JSON.stringify(error) }];
  const parts: StreamPart[] = [];
  // Before the text they belong to, as on the openai wire.
  const logprobs = logprobsOf(parsed);
  if (logprobs !== undefined) parts.push({ type: 'logprobs', logprobs });
  const text = stringField(parsed, 'response');
  if (text !== undefined && text !== '') parts.push({ type: 'text-delta', text });
  if (parsed['done'] === true) {
    const rawFinishReason = stringField(parsed, 'done_reason') ?? null;
    const engineLoadMs = loadMsOf(parsed);
    parts.push({ type: 'finish', finishReason: finishReasonOf(rawFinishReason ?? undefined), rawFinishReason, ...(engineLoadMs === undefined ? {} : { engineLoadMs }) });
    const usage = usageOf(parsed);
    if (usage !== undefined) parts.push({ type: 'usage', usage });
    parts.push({ type: 'stream-end' });
  }
  return parts;
}

/** The framing of `/api/generate` streams: one JSON object per line. */
export function ollamaGenerateStreamFraming(): StreamFraming {
  return new NdjsonLineSplitter();
}
