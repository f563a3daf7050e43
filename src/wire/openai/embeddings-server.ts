/**
 * The gateway's OpenAI embeddings face (`POST /v1/embeddings`): read a client's request into the
 * canonical model, and write an answer's vectors back in the encoding the client asked for. Pure.
 */

import {
  canonicalRequest,
  EMBEDDING_ENCODINGS,
  EMPTY_EMBEDDING_TEXT_HINT,
  isEmbeddableText,
  type CanonicalRequest,
  type CanonicalResponse,
  type EmbeddingEncoding,
  type EmbeddingInput,
} from '../canonical.js';
import { readJsonObject, RequestProblems, optionalNumber, unknownFields } from '../request-reader.js';
import { encodeBase64Vector } from './embeddings.js';

const API = 'embeddings';

/** OpenAI's limit on the inputs of one embeddings request. */
export const MAXIMUM_EMBEDDING_INPUTS = 2048;

const KNOWN_FIELDS = new Set(['model', 'input', 'encoding_format', 'dimensions']);

/** A client's embeddings request, read into the canonical model. */
export interface ParsedOpenAIEmbeddingsRequest {
  /** `model` is kept exactly as the client sent it (an alias, `provider:model` or `auto`); `embedding` is set, `messages` empty. */
  request: CanonicalRequest;
  /** Top-level fields the gateway does not interpret (`user`, ...): not sent to any provider. */
  ignoredFields: string[];
}

/**
 * Reads an OpenAI embeddings request: `input` a string, a list of strings, a list of token ids or
 * a list of such lists (none empty — `isEmbeddableText`; at most 2 048 inputs), `model`,
 * `encoding_format` (`float`, the default, or `base64`) and `dimensions`. Throws
 * `InvalidInputError` naming each field at fault.
 */
export function parseOpenAIEmbeddingsRequest(bodyText: string): ParsedOpenAIEmbeddingsRequest {
  const body = readJsonObject(bodyText, API);
  const problems = new RequestProblems(API);
  const model = body['model'];
  if (typeof model !== 'string' || model === '') problems.add('/model', 'is required and must be a non-empty string', 'send a model id, `provider:model`, an alias or `auto`');
  const input = readInput(body['input'], problems);
  const encodingFormat = readEncoding(body['encoding_format'], problems);
  const dimensions = optionalNumber(body, 'dimensions', problems, { minimum: 1, integer: true });
  problems.throwIfAny();
  const request = canonicalRequest(model as string, [], false, {
    embedding: { input: input as EmbeddingInput, encodingFormat, ...(dimensions === undefined ? {} : { dimensions }) },
  });
  return { request, ignoredFields: unknownFields(body, KNOWN_FIELDS) };
}

const INPUT_SHAPES = 'a string, a list of strings, a list of token ids, or a list of lists of token ids';

function readInput(raw: unknown, problems: RequestProblems): EmbeddingInput | undefined {
  if (typeof raw === 'string') {
    if (!isEmbeddableText(raw)) problems.add('/input', 'must not be empty', EMPTY_EMBEDDING_TEXT_HINT);
    return { kind: 'texts', texts: [raw] };
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.add('/input', `is required and must be ${INPUT_SHAPES} (none empty)`);
    return undefined;
  }
  if (raw.length > MAXIMUM_EMBEDDING_INPUTS) {
    problems.add('/input', `holds ${raw.length} inputs; at most ${MAXIMUM_EMBEDDING_INPUTS} per request`, 'split the inputs over several requests');
    return undefined;
  }
  if (typeof raw[0] === 'string') {
    raw.forEach((item, index) => {
      if (typeof item !== 'string') problems.add(`/input/${index}`, 'must be a string, as the first input is');
      else if (!isEmbeddableText(item)) problems.add(`/input/${index}`, 'must not be empty', EMPTY_EMBEDDING_TEXT_HINT);
    });
    return { kind: 'texts', texts: raw as string[] };
  }
  if (typeof raw[0] === 'number') return { kind: 'tokens', tokens: [readTokenIds(raw, '/input', problems)] };
  const tokens = raw.map((item, index) => {
    if (!Array.isArray(item) || item.length === 0) {
      problems.add(`/input/${index}`, `must be a non-empty list of token ids (input must be ${INPUT_SHAPES})`);
      return [];
    }
    return readTokenIds(item, `/input/${index}`, problems);
  });
  return { kind: 'tokens', tokens };
}

function readTokenIds(raw: readonly unknown[], pointer: string, problems: RequestProblems): number[] {
  raw.forEach((item, index) => {
    if (typeof item !== 'number' || !Number.isInteger(item) || item < 0) problems.add(`${pointer}/${index}`, 'must be a token id (an integer >= 0)');
  });
  return raw as number[];
}

function readEncoding(raw: unknown, problems: RequestProblems): EmbeddingEncoding {
  if (raw === undefined || raw === null) return 'float';
  if (typeof raw === 'string' && (EMBEDDING_ENCODINGS as readonly string[]).includes(raw)) return raw as EmbeddingEncoding;
  problems.add('/encoding_format', `must be one of ${EMBEDDING_ENCODINGS.join(', ')} (got ${JSON.stringify(raw)})`);
  return 'float';
}

/**
 * An OpenAI embeddings answer: one item per vector, each as floats or base64 float32 as the
 * client asked, whatever encoding the engine answered in; `usage` with the prompt tokens.
 */
export function renderOpenAIEmbeddingsResponse(response: CanonicalResponse, options: { model: string; encodingFormat: EmbeddingEncoding }): string {
  const data = (response.embeddings ?? []).map((vector, index) => ({
    object: 'embedding',
    index,
    embedding: options.encodingFormat === 'base64' ? encodeBase64Vector(vector) : vector,
  }));
  const promptTokens = response.usage?.inputTokens ?? 0;
  return JSON.stringify({ object: 'list', data, model: options.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
}
