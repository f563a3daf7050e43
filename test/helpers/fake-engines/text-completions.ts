import type { EngineState } from './engine-state.js';
import { findOllamaModel } from './discovery.js';
import type { FakeEngineKind } from './index.js';
import { errorReply, streamsUsage } from './inference.js';
import { countTokens, generate, isPlainObject, parseJsonObject } from './model-behaviour.js';
import { cloneJson, loadChunkTemplates, loadJsonTemplate } from './templates.js';
import { goJson, jsonHeaders, randomBase62, randomHex, serializeBody, serializeChunk, streamHeaders, type Reply } from './wire-format.js';
import { formatSseFrame } from './sse.js';
import { completionLogprobs, completionLogprobsAsked, ollamaNativeLogprobs } from './logprobs.js';

type Json = Record<string, unknown>;

/** OpenAI's legacy text completions endpoint. */
export const TEXT_COMPLETIONS_PATH = '/v1/completions';

/** The fakes that serve it, as the real engines do (OpenAI's is not modelled). */
export const TEXT_COMPLETION_ENGINES: ReadonlySet<FakeEngineKind> = new Set(['ollama', 'llama.cpp', 'vllm', 'lmstudio']);

/**
 * What each engine says of a field it refuses on `/v1/completions`: llama-server's
 * `oaicompat_completion_params_parse` ("Unsupported param: suffix", "Only one completion choice is
 * allowed", "Only no echo is supported"); vLLM's `serving_completion.py` ("suffix is not currently
 * supported"). Ollama takes `suffix`, and refuses it only for a model without the `insert` capability.
 */
function refusedField(state: EngineState, request: Json, fillsInMiddle: boolean, model: string): string | undefined {
  const suffix = request['suffix'] !== undefined && request['suffix'] !== null;
  switch (state.kind) {
    case 'llama.cpp':
      if (typeof request['n'] === 'number' && request['n'] !== 1) return 'Only one completion choice is allowed';
      if (request['echo'] === true) return 'Only no echo is supported';
      for (const field of ['best_of', 'suffix']) if (field in request) return `Unsupported param: ${field}`;
      return undefined;
    case 'vllm':
      return suffix ? 'suffix is not currently supported' : undefined;
    case 'lmstudio':
      // Its docs list no `suffix` and say nothing of refusing one: not modelled (nothing routes one there).
      return undefined;
    default:
      return suffix && !fillsInMiddle ? `registry.ollama.ai/library/${model} does not support insert` : undefined;
  }
}

/**
 * `POST /v1/completions` as each engine answers it: `text_completion` bodies and chunks as in
 * `test/fixtures/engines/<kind>/text-completion*`, ids as the engine makes them (llama-server names
 * a text completion `chatcmpl-…` too), usage in a `choices: []` chunk with
 * `stream_options.include_usage` (Ollama, vLLM) or always in the finish chunk with `timings`
 * (llama-server).
 *
 * LM Studio serves `/v1/completions` (its docs, lmstudio-ai/docs `1_developer/3_openai-compat/
 * completions.md`: "LM Studio continues to support it", prompt template not applied) but documents
 * only OpenAI's reference for the answer and no capture was found: its files are OpenAI's completion
 * object and chunks (API reference), pretty-printed and with `system_fingerprint` = the model as its
 * chat answers are; like its chat streams, a usage chunk when asked from 0.3.18 on, none before
 * (lmstudio-bug-tracker #676/#713; see `streamsUsage`).
 */
export function answerTextCompletion(state: EngineState, path: string, body: Buffer): Reply {
  const { kind } = state;
  const request = parseJsonObject(body);
  if (request === undefined) return errorReply(state, path, kind === 'llama.cpp' ? 500 : 400, 'invalid JSON body');
  const requested = typeof request['model'] === 'string' ? request['model'] : '';
  const model = kind === 'ollama' ? findOllamaModel(state, requested) : kind === 'llama.cpp' ? state.models[0] : state.models.find((candidate) => candidate.id === requested);
  if (model === undefined) {
    return kind === 'ollama'
      ? errorReply(state, path, 404, `model "${requested}" not found, try pulling it first`, 'api_error')
      : errorReply(state, path, 404, `The model \`${requested}\` does not exist.`, 'NotFoundError');
  }
  const prompt = typeof request['prompt'] === 'string' ? request['prompt'] : '';
  const suffix = typeof request['suffix'] === 'string' ? request['suffix'] : '';
  const refusal = refusedField(state, request, model.fillInMiddle === true, model.id);
  if (refusal !== undefined) return errorReply(state, path, kind === 'llama.cpp' ? 500 : 400, refusal, kind === 'vllm' ? 'BadRequestError' : undefined);
  if (kind === 'ollama') {
    state.resident.add(model.id);
    // The OpenAI middleware hands GenerateHandler no `raw`: the prompt goes through the model's template.
    logOllamaPrompt(state, renderOllamaTemplate(prompt, suffix));
  }

  const stop = request['stop'];
  const generation = generate(
    {
      model: model.id,
      messages: [{ role: 'user', text: prompt + suffix }],
      stream: request['stream'] === true,
      includeUsage: false,
      stop: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.filter((item): item is string => typeof item === 'string') : [],
      tools: [],
      toolChoice: 'none',
      ...(typeof request['max_tokens'] === 'number' ? { maxTokens: request['max_tokens'] } : {}),
    },
    { answer: state.answer, honourJsonSchema: true, honourJsonObject: true },
  );
  // Ollama counts the prompt the model was handed: its template's tokens included.
  const promptTokens = kind === 'ollama' ? countTokens(renderOllamaTemplate(prompt, suffix)) : countTokens(prompt) + countTokens(suffix);
  const usage = { prompt_tokens: promptTokens, completion_tokens: generation.completionTokens, total_tokens: promptTokens + generation.completionTokens };
  const id =
    kind === 'ollama' ? `cmpl-${Math.floor(Math.random() * 999)}` : kind === 'llama.cpp' ? `chatcmpl-${randomBase62(32)}` : kind === 'lmstudio' ? `cmpl-${randomBase62(29)}` : `cmpl-${randomHex(16)}`;
  const created = Math.floor(Date.now() / 1000);
  const echoedModel = kind === 'ollama' ? requested : model.id;
  const stamp = (template: Json): Json => {
    const stamped = cloneJson(template);
    if ('id' in stamped) stamped['id'] = id;
    stamped['created'] = created;
    stamped['model'] = echoedModel;
    if (kind === 'lmstudio') stamped['system_fingerprint'] = model.id;
    if (isPlainObject(stamped['usage'])) stamped['usage'] = fillUsage(stamped['usage'], usage);
    return stamped;
  };

  const logprobsAsked = completionLogprobsAsked(request);
  if (request['stream'] !== true) {
    const answer = stamp(loadJsonTemplate(kind, 'text-completion.json'));
    const choice = (answer['choices'] as Json[])[0]!;
    choice['text'] = generation.text;
    choice['finish_reason'] = generation.finishReason;
    const logprobs = logprobsAsked === undefined ? undefined : completionLogprobs(state, generation.pieces, logprobsAsked);
    if (logprobs !== undefined) choice['logprobs'] = logprobs;
    return { status: 200, headers: jsonHeaders(kind, path), body: serializeBody(kind, answer) };
  }
  const templates = loadChunkTemplates(kind, 'text-completion.chunks.txt').map((frame) => frame.data).filter(isPlainObject);
  const choiceOf = (chunk: Json): Json | undefined => (chunk['choices'] as Json[])[0];
  const content = templates.find((chunk) => choiceOf(chunk)?.['finish_reason'] === null)!;
  const finish = templates.find((chunk) => typeof choiceOf(chunk)?.['finish_reason'] === 'string')!;
  const usageChunk = templates.find((chunk) => (chunk['choices'] as Json[]).length === 0);
  const chunks: Json[] = [];
  const pieces = generation.pieces.length === 0 ? [''] : generation.pieces;
  let textOffset = 0;
  pieces.forEach((piece, index) => {
    // vLLM sends the finish reason with the last piece; Ollama and llama-server in a chunk of its own.
    const last = index === pieces.length - 1 && kind === 'vllm';
    const chunk = stamp(last ? finish : content);
    const choice = choiceOf(chunk)!;
    choice['text'] = piece;
    if (last) choice['finish_reason'] = generation.finishReason;
    const logprobs = logprobsAsked === undefined || piece === '' ? undefined : completionLogprobs(state, [piece], logprobsAsked, index, textOffset);
    if (logprobs !== undefined) choice['logprobs'] = logprobs;
    textOffset += piece.length;
    chunks.push(chunk);
  });
  if (kind !== 'vllm') {
    const chunk = stamp(finish);
    choiceOf(chunk)!['finish_reason'] = generation.finishReason;
    chunks.push(chunk);
  }
  const streamOptions = isPlainObject(request['stream_options']) ? request['stream_options'] : {};
  const usageWanted = streamOptions['include_usage'] === true && streamsUsage(state);
  if (usageChunk !== undefined && usageWanted) chunks.push(stamp(usageChunk));
  const frames = [...chunks.map((chunk) => formatSseFrame(serializeChunk(kind, chunk))), formatSseFrame('[DONE]')];
  return { status: 200, headers: streamHeaders(kind), frames, terminalFrames: 1 };
}

/** The template's usage with these counts, keeping its key order and extra fields. */
function fillUsage(template: Json, usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }): Json {
  const filled = { ...template };
  for (const [key, value] of Object.entries(usage)) if (key in filled) filled[key] = value;
  return filled;
}

// ================================================================== Ollama's native /api/generate

/** Ollama's native generate endpoint. */
export const OLLAMA_GENERATE_PATH = '/api/generate';

/** A generate request with a prompt (one without is a model load or unload, see control.ts). */
export function isOllamaPromptGenerate(body: Buffer): boolean {
  const prompt = parseJsonObject(body)?.['prompt'];
  return typeof prompt === 'string' && prompt !== '';
}

/**
 * The fake models' template, as a fill-in-the-middle coder's (qwen2.5-coder's) reads: with a
 * suffix its FIM tokens around prompt and suffix, otherwise the prompt as a user turn of its chat
 * template — which is what Ollama's `/v1/completions` (never raw) does to a prompt the client built
 * itself (ollama/ollama#5544, #12636).
 */
export function renderOllamaTemplate(prompt: string, suffix: string): string {
  return suffix === '' ? `<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n` : `<|fim_prefix|>${prompt}<|fim_suffix|>${suffix}<|fim_middle|>`;
}

/** What Ollama logs with OLLAMA_DEBUG=1 for every generate (routes.go): the prompt the model was handed. */
function logOllamaPrompt(state: EngineState, rendered: string): void {
  state.serverLog.push(`level=DEBUG source=routes.go msg="generate handler" prompt=${JSON.stringify(rendered)}`);
}

/**
 * `POST /api/generate` with a prompt, as Ollama's GenerateHandler answers it: `raw: true` hands the
 * model the prompt as it is (with `system`, `template` or `context` it is refused, 400), otherwise
 * through the template. `stream` defaults to true: NDJSON (`application/x-ndjson`), one
 * `{"model","created_at","response","done":false}` line per piece, ended by the `done: true` line
 * with `done_reason` and the counters (no `context` in raw mode), each line `json.Marshal` + `\n`.
 * `stream: false`: one object (gin's c.JSON: compact, no newline). Options: `num_predict`, `stop`.
 * From 0.12.11, `logprobs: true` (with `top_logprobs`) adds each piece's `logprobs` to its line
 * (`GenerateResponse` puts the field after the counters), all of them to the `stream: false` object.
 */
export function answerOllamaGenerate(state: EngineState, path: string, body: Buffer): Reply {
  const request = parseJsonObject(body);
  if (request === undefined) return errorReply(state, path, 400, 'invalid character looking for beginning of value');
  const name = request['model'];
  const model = findOllamaModel(state, name);
  if (model === undefined) return errorReply(state, path, 404, `model "${String(name)}" not found, try pulling it first`);
  if (model.embedding === true) return errorReply(state, path, 400, `${JSON.stringify(name)} does not support generate`);
  const raw = request['raw'] === true;
  if (raw && (nonEmpty(request['system']) || nonEmpty(request['template']) || request['context'] !== undefined)) {
    return errorReply(state, path, 400, 'raw mode does not support template, system, or context');
  }
  const prompt = typeof request['prompt'] === 'string' ? request['prompt'] : '';
  const suffix = typeof request['suffix'] === 'string' ? request['suffix'] : '';
  const rendered = raw ? prompt : renderOllamaTemplate(prompt, suffix);
  logOllamaPrompt(state, rendered);
  // Ollama's load_duration: the time its scheduler took to have a runner for the model (the load, when it had none).
  const loadNs = (state.resident.has(model.id) ? 0 : state.loadDelayMs * 1_000_000) + 21_000_000;
  state.resident.add(model.id);
  const options = isPlainObject(request['options']) ? request['options'] : {};
  const stop = options['stop'];
  const stream = request['stream'] !== false;
  const generation = generate(
    {
      model: model.id,
      messages: [{ role: 'user', text: rendered }],
      stream,
      includeUsage: false,
      stop: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.filter((item): item is string => typeof item === 'string') : [],
      tools: [],
      toolChoice: 'none',
      ...(typeof options['num_predict'] === 'number' && options['num_predict'] >= 0 ? { maxTokens: options['num_predict'] } : {}),
    },
    { answer: state.answer, honourJsonSchema: true, honourJsonObject: true },
  );
  const promptTokens = countTokens(rendered);
  const evalNs = 18_000_000 * Math.max(1, generation.completionTokens);
  const counters = {
    total_duration: 41_000_000 + evalNs,
    load_duration: loadNs,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: 15_000_000,
    eval_count: generation.completionTokens,
    eval_duration: evalNs,
  };
  const context = raw ? {} : { context: Array.from({ length: promptTokens + generation.completionTokens }, (_, index) => 151_644 + (index % 7)) };
  const line = (fields: Json): Json => ({ model: name, created_at: new Date().toISOString(), ...fields });
  const withLogprobs = (fields: Json, logprobs: Json[] | undefined): Json => (logprobs === undefined ? fields : { ...fields, logprobs });
  const final = (response: string): Json => line({ response, done: true, done_reason: generation.finishReason === 'length' ? 'length' : 'stop', ...context, ...counters });
  const pieces = generation.pieces.filter((piece) => piece !== '');
  if (!stream) return { status: 200, headers: jsonHeaders('ollama', path), body: goJson(withLogprobs(final(generation.text), ollamaNativeLogprobs(state, request, pieces))) };
  const frames = [...pieces.map((piece, index) => `${goJson(withLogprobs(line({ response: piece, done: false }), ollamaNativeLogprobs(state, request, [piece], index)))}\n`), `${goJson(final(''))}\n`];
  return { status: 200, headers: { 'Content-Type': 'application/x-ndjson' }, frames, terminalFrames: 1 };
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}
