import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { ollamaLoadedContext, type EngineState, type ResolvedModel } from './engine-state.js';
import { findOllamaModel } from './discovery.js';
import { errorReply } from './inference.js';
import { countTokens, firstTokens, isPlainObject } from './model-behaviour.js';
import { compactJson, goJson, jsonHeaders, prettyJson, randomHex, type Reply } from './wire-format.js';

/** Vector length of a fake embedding model that declares none. */
export const DEFAULT_EMBEDDING_DIMENSIONS = 8;

/**
 * `POST /v1/embeddings` as each engine answers it:
 * - Ollama (quirky, as older releases do): `encoding_format` is ignored and floats always
 *   come back, written by Go as float32 (`json.NewEncoder`, trailing newline); text input only
 *   (token ids: 400 `invalid input type`); a model without an embedding head: 501 (what Ollama's
 *   llama-server runner says); an input longer than the loaded context is truncated to it (the
 *   vector is the truncated text's). Conforming: base64 when asked, as current Ollama answers.
 * - llama.cpp: the bytes of test/fixtures/llama.cpp-real/embeddings-*.json — a server started
 *   without `--embeddings` answers the captured 501; with it, over a model not declared `embedding`
 *   (one that pools nothing), the captured 400 "Pooling type 'none'"; an empty input the captured 400; an input
 *   longer than the physical batch (`-ub`, at most the context) the captured 500; base64 items
 *   carry `"encoding_format":"base64"`; `dimensions` is ignored; token ids are taken.
 * - vLLM: its pydantic `EmbeddingResponse` (`id` `embd-…`, `created`, usage with
 *   `completion_tokens: 0`), base64 and floats.
 * - LM Studio: pretty-printed, with `usage` always 0 (lmstudio-ai/lmstudio-bug-tracker#1546:
 *   "prompt_tokens and total_tokens values 0", every embedding model; counted when conforming).
 * - OpenAI: pretty-printed, base64 and floats, `dimensions` shortens (and renormalises) the vector.
 * The vectors are deterministic: a hash of model and input, normalised, float32-exact.
 */
export function answerEmbeddings(state: EngineState, path: string, body: Buffer, headers: IncomingHttpHeaders): Reply {
  const { kind } = state;
  if (kind === 'openai' && !/^Bearer \S+/.test(headers.authorization ?? '')) return errorReply(state, path, 401, "You didn't provide an API key.");
  if (kind === 'llama.cpp' && !state.embeddings) return llamaCppCapture(path, 501, 'embeddings-not-enabled.json');
  // Started with --embeddings over its one model, which pools nothing (a chat model without --pooling): refused before the body is read.
  if (kind === 'llama.cpp' && state.models[0]!.embedding !== true) return llamaCppCapture(path, 400, 'embeddings-pooling-none.json');
  let request: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (!isPlainObject(parsed)) throw new Error('not an object');
    request = parsed;
  } catch {
    return errorReply(state, path, kind === 'llama.cpp' ? 500 : 400, 'Invalid JSON in request body');
  }
  const format = request['encoding_format'];
  if (format !== undefined && format !== 'float' && format !== 'base64' && (kind !== 'ollama' || state.conforming)) {
    return errorReply(state, path, 400, kind === 'llama.cpp' ? 'The format to return the embeddings in. Can be either float or base64' : `Invalid value for 'encoding_format' = ${String(format)}. Supported values: ['float', 'base64'].`);
  }
  let inputs = readInputs(request['input']);
  if (inputs === undefined) return errorReply(state, path, 400, kind === 'ollama' ? 'invalid input type' : "'input' must be a string, a list of strings or a list of token ids");
  if (kind === 'llama.cpp' && inputs.some((input) => input === '' || (Array.isArray(input) && input.length === 0))) {
    return llamaCppCapture(path, 400, 'embeddings-empty-input.json');
  }
  const modelName = typeof request['model'] === 'string' ? request['model'] : '';
  const model = embeddingModel(state, modelName);
  if (model === undefined) return errorReply(state, path, 404, kind === 'ollama' ? `model "${modelName}" not found, try pulling it first` : `The model \`${modelName}\` does not exist.`);
  if (kind === 'ollama') {
    if (inputs.some((input) => typeof input !== 'string')) return errorReply(state, path, 400, 'invalid input type', 'invalid_request_error');
    if (model.embedding !== true) return errorReply(state, path, 501, 'This server does not support embeddings. Start it with `--embeddings`', 'api_error');
    state.resident.add(model.id);
    // Its /v1/embeddings sends no `truncate`, so each input is cut to the loaded context (`num_ctx`), as `/api/embed` does by default.
    inputs = inputs.map((input) => (typeof input === 'string' ? firstTokens(input, ollamaLoadedContext(state, model)) : input));
  }
  if (kind === 'llama.cpp') {
    // Each input is embedded in one physical batch, which is never larger than the context (captured: embeddings-input-too-large.json).
    const batch = Math.min(state.physicalBatchSize, model.contextWindow);
    const tooLarge = inputs.map(inputTokens).find((tokens) => tokens > batch);
    if (tooLarge !== undefined) return errorReply(state, path, 500, `input (${tooLarge} tokens) is too large to process. increase the physical batch size (current batch size: ${batch})`);
  }

  const asked = typeof request['dimensions'] === 'number' ? request['dimensions'] : undefined;
  const honoursDimensions = kind === 'openai' || kind === 'vllm' || (kind === 'ollama' && state.conforming);
  const length = honoursDimensions && asked !== undefined ? Math.min(asked, model.dimensions ?? DEFAULT_EMBEDDING_DIMENSIONS) : (model.dimensions ?? DEFAULT_EMBEDDING_DIMENSIONS);
  const vectors = inputs.map((input) => fakeVector(model.id, input, length));
  const promptTokens = inputs.reduce<number>((total, input) => total + inputTokens(input), 0);
  const base64 = format === 'base64' && (kind !== 'ollama' || state.conforming);
  const encoded = (vector: number[]): number[] | string => (base64 ? base64Float32(vector) : vector);
  const answered = modelName === '' ? model.id : modelName;
  switch (kind) {
    case 'ollama': {
      // Go writes float32 slices with the shortest float32 repr; goJson would write the float64's.
      const data = vectors.map((vector, index) => `{"object":"embedding","embedding":${base64 ? JSON.stringify(base64Float32(vector)) : `[${vector.map(goFloat32).join(',')}]`},"index":${index}}`);
      const usage = goJson({ prompt_tokens: promptTokens, total_tokens: promptTokens });
      return { status: 200, headers: jsonHeaders(kind, path), body: `{"object":"list","data":[${data.join(',')}],"model":${goJson(answered)},"usage":${usage}}\n` };
    }
    case 'llama.cpp':
      return {
        status: 200,
        headers: jsonHeaders(kind, path),
        body: compactJson({
          model: answered,
          object: 'list',
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
          data: vectors.map((vector, index) => ({ embedding: encoded(vector), index, object: 'embedding', ...(base64 ? { encoding_format: 'base64' } : {}) })),
        }),
      };
    case 'vllm':
      return {
        status: 200,
        headers: jsonHeaders(kind, path),
        body: compactJson({
          id: `embd-${randomHex(16)}`,
          object: 'list',
          created: Math.floor(Date.now() / 1000),
          model: answered,
          data: vectors.map((vector, index) => ({ index, object: 'embedding', embedding: encoded(vector) })),
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0, prompt_tokens_details: null },
        }),
      };
    default: {
      const counted = kind === 'lmstudio' && !state.conforming ? 0 : promptTokens;
      return {
        status: 200,
        headers: jsonHeaders(kind, path),
        body: prettyJson({
          object: 'list',
          data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: encoded(vector) })),
          model: answered,
          usage: { prompt_tokens: counted, total_tokens: counted },
        }),
      };
    }
  }
}

/** An input's tokens as the fake counts them: a text's, or its token ids. */
function inputTokens(input: string | number[]): number {
  return typeof input === 'string' ? countTokens(input) : input.length;
}

/** A model of the engine for an embeddings request (llama.cpp serves its one model whatever is named). */
function embeddingModel(state: EngineState, requested: string): ResolvedModel | undefined {
  if (state.kind === 'ollama') return findOllamaModel(state, requested);
  if (state.kind === 'llama.cpp') return state.models.find((model) => model.id === requested) ?? state.models[0];
  return state.models.find((model) => model.id === requested);
}

/** The inputs of an embeddings request: strings or token-id lists; undefined when neither. */
function readInputs(input: unknown): (string | number[])[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'string')) return input as string[];
  if (input.every((item) => typeof item === 'number')) return [input as number[]];
  if (input.every((item) => Array.isArray(item) && item.every((id) => typeof id === 'number'))) return input as number[][];
  return undefined;
}

/** The real llama-server's captured body, byte for byte (test/fixtures/llama.cpp-real/README.md). */
function llamaCppCapture(path: string, status: number, file: string): Reply {
  const body = readFileSync(resolve(import.meta.dirname, '..', '..', 'fixtures', 'llama.cpp-real', file), 'utf8');
  return { status, headers: jsonHeaders('llama.cpp', path), body };
}

/** A unit vector derived from model and input: the same input always embeds the same, each component float32-exact. */
export function fakeVector(model: string, input: string | number[], length: number): number[] {
  const seed = createHash('sha256').update(`${model}\n${JSON.stringify(input)}`).digest();
  const raw = Array.from({ length }, (_, index) => (seed[index % seed.length]! + index * 31) % 256 - 127.5);
  const norm = Math.hypot(...raw);
  return raw.map((value) => Math.fround(value / norm));
}

/** OpenAI's base64 encoding: little-endian float32. */
export function base64Float32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** A float32 as Go's encoding/json writes it: the shortest decimal that reads back as the same float32. */
export function goFloat32(value: number): string {
  for (let digits = 1; digits < 10; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return String(candidate);
  }
  return String(value);
}
