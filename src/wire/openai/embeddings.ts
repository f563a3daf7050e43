/**
 * The OpenAI embeddings wire (`POST {baseUrl}/embeddings`) as the upstream engines speak it, and
 * the vector encodings both sides use. Pure: no I/O.
 *
 * Engine quirks (see test/fixtures/llama.cpp-real/README.md and test/helpers/fake-engines/):
 * - Ollama's `/v1/embeddings` ignores `encoding_format` in older releases and answers JSON
 *   floats whatever was asked; the official `openai` SDKs ask for base64 by default and would
 *   read those floats as base64 (a quarter of the vector, silently). Ollama is therefore always
 *   asked for floats, and the gateway encodes base64 for the client. It embeds text only.
 * - llama.cpp's `llama-server` answers base64 (`"encoding_format":"base64"` echoed per item)
 *   and floats, takes token ids, ignores `dimensions`, and answers 501 `not_supported_error`
 *   ("This server does not support embeddings. Start it with `--embeddings`") unless started
 *   with `--embeddings`.
 * - vLLM answers base64 and floats.
 * - Any other engine (LM Studio, llama-swap, hosted OpenAI-compatible APIs) is asked for floats:
 *   they are understood everywhere. Whatever an answer holds, arrays or base64 strings, it is
 *   decoded to vectors, so a float answer to a base64 request is still read correctly.
 */

import { counted as countOf } from '../../common/counted.js';
import { UpstreamError } from '../../errors.js';
import type { EngineKind } from '../../common/vocabulary.js';
import type { WireHttpRequest, WireTarget } from '../adapter.js';
import { credentialHeaders, joinUrl } from '../auth.js';
import type { CanonicalRequest, CanonicalResponse, EmbeddingEncoding, EmbeddingRequest, WireWarning } from '../canonical.js';
import { decodeErrorBody } from '../error-body.js';
import { countField, isRecord, stringField, tryParseJson } from '../json.js';
import { WIRE_OBSERVATIONS } from '../observations.js';

/** Engines whose embeddings endpoint answers base64 as OpenAI does (checked against their servers). */
const BASE64_ENGINES: ReadonlySet<EngineKind> = new Set(['llama.cpp', 'vllm']);

/** The encoding to ask an engine for, given what the client wants: base64 only from engines known to answer it. */
export function upstreamEmbeddingEncoding(wanted: EmbeddingEncoding, engine: EngineKind | undefined): EmbeddingEncoding {
  return wanted === 'base64' && engine !== undefined && BASE64_ENGINES.has(engine) ? 'base64' : 'float';
}

/** The embeddings part of a request (the pipeline sends only embeddings requests here). */
function embeddingOf(request: CanonicalRequest): EmbeddingRequest {
  if (request.embedding === undefined) throw new TypeError('not an embeddings request');
  return request.embedding;
}

/** `POST {baseUrl}/embeddings`: the inputs as a list, the encoding this engine answers, `dimensions` when asked. */
export function encodeOpenAIEmbeddingRequest(request: CanonicalRequest, target: WireTarget): WireHttpRequest {
  const embedding = embeddingOf(request);
  const warnings: WireWarning[] = [];
  const encoding = upstreamEmbeddingEncoding(embedding.encodingFormat, target.engine);
  if (encoding !== embedding.encodingFormat) {
    warnings.push({
      setting: 'encoding_format',
      message: `base64 asked; ${target.engine ?? 'this provider'} was asked for floats (it is not known to answer base64) and the gateway encoded them as base64 float32`,
    });
  }
  const body: Record<string, unknown> = {
    model: request.model,
    input: embedding.input.kind === 'texts' ? embedding.input.texts : embedding.input.tokens,
    encoding_format: encoding,
  };
  if (embedding.dimensions !== undefined) body['dimensions'] = embedding.dimensions;
  return {
    method: 'POST',
    url: joinUrl(target.baseUrl, '/embeddings'),
    headers: { 'content-type': 'application/json', accept: 'application/json', ...credentialHeaders('authorization', target.apiKey, target.authHeader) },
    body: JSON.stringify(body),
    warnings,
  };
}

function malformed(message: string): UpstreamError {
  return new UpstreamError(`upstream embeddings answer ${message}`, {
    isRetryable: false,
    code: 'upstream_malformed_response',
    hint: 'check that the model is an embedding model and the provider speaks the OpenAI embeddings API; the raw bytes are in the evidence',
  });
}

/**
 * Reads an embeddings answer: one vector per input (placed by `index`), each a list of numbers or
 * base64 float32, and `usage.prompt_tokens` (embeddings have no output tokens). Throws
 * `UpstreamError` (not retryable) when the body is not such an answer, or holds another number of
 * vectors than the request has inputs. A list of floats where base64 was asked is tolerated and
 * observed (`embedding_encoding_ignored`): older Ollama answers so. A count of 0 tokens for
 * inputs that have some is no count (`usage_zero`: LM Studio's), so the invoker counts them.
 */
export function decodeOpenAIEmbeddingResponse(body: string, request: CanonicalRequest, target: Pick<WireTarget, 'engine'>): CanonicalResponse {
  const embedding = embeddingOf(request);
  const askedBase64 = upstreamEmbeddingEncoding(embedding.encodingFormat, target.engine) === 'base64';
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) throw malformed('is not a JSON object');
  if (parsed['error'] !== undefined) {
    const error = decodeErrorBody(200, body);
    throw new UpstreamError(`upstream returned an error in a successful response: ${error.message}`, { isRetryable: false, code: 'upstream_error_body' });
  }
  const data = parsed['data'];
  if (!Array.isArray(data)) throw malformed('has no data list');
  const inputs = embedding.input.kind === 'texts' ? embedding.input.texts.length : embedding.input.tokens.length;
  if (data.length !== inputs) throw malformed(`holds ${countOf(data.length, 'vector')} for ${countOf(inputs, 'input')}`);
  const vectors: (number[] | undefined)[] = new Array<number[] | undefined>(inputs).fill(undefined);
  const observations = new Set<string>();
  data.forEach((item, position) => {
    if (!isRecord(item)) throw malformed(`has a data[${position}] that is not an object`);
    const index = countField(item, 'index') ?? position;
    if (index >= inputs || vectors[index] !== undefined) throw malformed(`has a data[${position}].index ${index} out of place`);
    const raw = item['embedding'];
    if (typeof raw === 'string') {
      const vector = decodeBase64Vector(raw);
      if (vector === undefined) throw malformed(`has a data[${position}].embedding that is not base64 float32`);
      vectors[index] = vector;
    } else if (Array.isArray(raw) && raw.every((value) => typeof value === 'number' && Number.isFinite(value))) {
      vectors[index] = raw as number[];
      if (askedBase64) observations.add(WIRE_OBSERVATIONS.embeddingEncodingIgnored);
    } else {
      throw malformed(`has a data[${position}].embedding that is neither a list of numbers nor a base64 string`);
    }
  });
  const counted = isRecord(parsed['usage']) ? countField(parsed['usage'], 'prompt_tokens') : undefined;
  const hasInput = embedding.input.kind === 'texts' ? embedding.input.texts.some((text) => text !== '') : embedding.input.tokens.some((tokens) => tokens.length > 0);
  if (counted === 0 && hasInput) observations.add(WIRE_OBSERVATIONS.usageZero);
  const usage = counted === 0 && hasInput ? undefined : counted;
  return {
    id: stringField(parsed, 'id') ?? '',
    model: stringField(parsed, 'model') ?? '',
    text: '',
    toolCalls: [],
    finishReason: 'stop',
    rawFinishReason: null,
    ...(usage === undefined ? {} : { usage: { inputTokens: usage, outputTokens: 0 } }),
    ...(observations.size === 0 ? {} : { observations: [...observations] }),
    embeddings: vectors as number[][],
  };
}

/** A vector as OpenAI's base64 encoding has it: little-endian float32, base64. */
export function encodeBase64Vector(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** The vector of a base64 float32 string; undefined when it is not one (bad base64, a length not a multiple of 4). */
export function decodeBase64Vector(text: string): number[] | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  const vector = new Array<number>(bytes.length / 4);
  for (let index = 0; index < vector.length; index += 1) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}
