import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, UpstreamError } from '../../../src/errors.js';
import type { CanonicalRequest, EmbeddingEncoding } from '../../../src/wire/canonical.js';
import {
  decodeBase64Vector,
  decodeOpenAIEmbeddingResponse,
  encodeBase64Vector,
  encodeOpenAIEmbeddingRequest,
  upstreamEmbeddingEncoding,
} from '../../../src/wire/openai/embeddings.js';
import { parseOpenAIEmbeddingsRequest, renderOpenAIEmbeddingsResponse } from '../../../src/wire/openai/embeddings-server.js';

const capture = (file: string): string => readFileSync(resolve(import.meta.dirname, '../../fixtures/llama.cpp-real', file), 'utf8');

/** The request both llama-server captures answered: two texts. */
function request(encodingFormat: EmbeddingEncoding, extra: Partial<NonNullable<CanonicalRequest['embedding']>> = {}): CanonicalRequest {
  return { model: 'tiny.gguf', messages: [], stream: false, embedding: { input: { kind: 'texts', texts: ['hello world', 'abc'] }, encodingFormat, ...extra } };
}

function problemsOf(body: unknown): { pointer: string; message: string }[] {
  try {
    parseOpenAIEmbeddingsRequest(JSON.stringify(body));
  } catch (error) {
    if (error instanceof InvalidInputError) return error.problems.map(({ pointer, message }) => ({ pointer, message }));
    throw error;
  }
  return [];
}

describe('reading a client embeddings request', () => {
  it('takes each OpenAI input shape; float is the default encoding; user is ignored, not sent', () => {
    const single = parseOpenAIEmbeddingsRequest('{"model":"auto","input":"one text","user":"u-1"}');
    expect(single.request).toEqual({ model: 'auto', messages: [], stream: false, embedding: { input: { kind: 'texts', texts: ['one text'] }, encodingFormat: 'float' } });
    expect(single.ignoredFields).toEqual(['user']);
    expect(parseOpenAIEmbeddingsRequest('{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":256}').request.embedding).toEqual({
      input: { kind: 'texts', texts: ['a', 'b'] },
      encodingFormat: 'base64',
      dimensions: 256,
    });
    expect(parseOpenAIEmbeddingsRequest('{"model":"m","input":[1,2,3]}').request.embedding?.input).toEqual({ kind: 'tokens', tokens: [[1, 2, 3]] });
    expect(parseOpenAIEmbeddingsRequest('{"model":"m","input":[[1,2],[3]]}').request.embedding?.input).toEqual({ kind: 'tokens', tokens: [[1, 2], [3]] });
  });

  it('names each field at fault', () => {
    expect(problemsOf({ input: 'x' })[0]?.pointer).toBe('/model');
    expect(problemsOf({ model: 'm' })[0]?.pointer).toBe('/input');
    expect(problemsOf({ model: 'm', input: '' })[0]).toEqual({ pointer: '/input', message: 'must not be empty' });
    expect(problemsOf({ model: 'm', input: [] })[0]?.pointer).toBe('/input');
    expect(problemsOf({ model: 'm', input: ['a', ''] })[0]?.pointer).toBe('/input/1');
    expect(problemsOf({ model: 'm', input: ['a', 2] })[0]?.pointer).toBe('/input/1');
    expect(problemsOf({ model: 'm', input: [1, 2.5] })[0]?.pointer).toBe('/input/1');
    expect(problemsOf({ model: 'm', input: [[1], []] })[0]?.pointer).toBe('/input/1');
    expect(problemsOf({ model: 'm', input: [[1, -1]] })[0]?.pointer).toBe('/input/0/1');
    expect(problemsOf({ model: 'm', input: Array.from({ length: 2049 }, () => 'x') })[0]?.message).toMatch(/at most 2048/);
    expect(problemsOf({ model: 'm', input: 'x', encoding_format: 'int8' })[0]?.pointer).toBe('/encoding_format');
    expect(problemsOf({ model: 'm', input: 'x', dimensions: 1.5 })[0]?.pointer).toBe('/dimensions');
  });

  it('refuses an empty text and embeds a text of whitespace alone (the rule every embeddings surface applies)', () => {
    expect(problemsOf({ model: 'm', input: ['a', '', 'b', ''] }).map((problem) => problem.pointer)).toEqual(['/input/1', '/input/3']);
    expect(parseOpenAIEmbeddingsRequest('{"model":"m","input":["  ","\\n"]}').request.embedding?.input).toEqual({ kind: 'texts', texts: ['  ', '\n'] });
    expect(parseOpenAIEmbeddingsRequest('{"model":"m","input":" "}').request.embedding?.truncate).toBeUndefined();
  });
});

describe('encoding vectors as OpenAI does (little-endian float32, base64)', () => {
  it('reads llama-server\'s base64 and floats for the same inputs as the same vectors, and writes its base64 byte for byte', () => {
    const fromFloats = decodeOpenAIEmbeddingResponse(capture('embeddings-float.json'), request('float'), { engine: 'llama.cpp' });
    const fromBase64 = decodeOpenAIEmbeddingResponse(capture('embeddings-base64.json'), request('base64'), { engine: 'llama.cpp' });
    expect(fromFloats.embeddings).toHaveLength(2);
    expect(fromFloats.embeddings?.[0]).toHaveLength(64);
    expect(fromBase64.embeddings).toEqual(fromFloats.embeddings);
    expect(fromFloats.usage).toEqual({ inputTokens: 5, outputTokens: 0 });
    const captured = (JSON.parse(capture('embeddings-base64.json')) as { data: { embedding: string }[] }).data.map((item) => item.embedding);
    const rendered = JSON.parse(renderOpenAIEmbeddingsResponse(fromFloats, { model: 'llama:tiny.gguf', encodingFormat: 'base64' })) as { data: { embedding: string }[] };
    expect(rendered.data.map((item) => item.embedding)).toEqual(captured);
  });

  it('round-trips every float32 exactly, and refuses base64 that is not float32', () => {
    const vector = [0, -0.5, 1e-7, Math.fround(0.1), 3.4e38, Math.fround(-1 / 3)];
    expect(decodeBase64Vector(encodeBase64Vector(vector))).toEqual(vector.map((value) => Math.fround(value)));
    expect(decodeBase64Vector('AAAA')).toBeUndefined(); // 3 bytes
    expect(decodeBase64Vector('not base64!')).toBeUndefined();
  });

  it('renders floats as the engine wrote them, with usage', () => {
    const rendered = renderOpenAIEmbeddingsResponse(
      { id: '', model: 'x', text: '', toolCalls: [], finishReason: 'stop', rawFinishReason: null, usage: { inputTokens: 7, outputTokens: 0 }, embeddings: [[0.2166407, -1]] },
      { model: 'ollama:nomic-embed-text', encodingFormat: 'float' },
    );
    expect(rendered).toBe('{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.2166407,-1]}],"model":"ollama:nomic-embed-text","usage":{"prompt_tokens":7,"total_tokens":7}}');
  });
});

describe('the upstream embeddings request', () => {
  it('asks base64 only of engines known to answer it, and says when it asked floats instead', () => {
    expect(upstreamEmbeddingEncoding('base64', 'llama.cpp')).toBe('base64');
    expect(upstreamEmbeddingEncoding('base64', 'vllm')).toBe('base64');
    expect(upstreamEmbeddingEncoding('base64', 'ollama')).toBe('float');
    expect(upstreamEmbeddingEncoding('base64', undefined)).toBe('float');
    expect(upstreamEmbeddingEncoding('float', 'llama.cpp')).toBe('float');
    const toOllama = encodeOpenAIEmbeddingRequest(request('base64', { dimensions: 32 }), { baseUrl: 'http://127.0.0.1:11434/v1/', engine: 'ollama' });
    expect(toOllama.url).toBe('http://127.0.0.1:11434/v1/embeddings');
    expect(JSON.parse(toOllama.body)).toEqual({ model: 'tiny.gguf', input: ['hello world', 'abc'], encoding_format: 'float', dimensions: 32 });
    expect(toOllama.warnings.map((warning) => warning.setting)).toEqual(['encoding_format']);
    const toLlama = encodeOpenAIEmbeddingRequest(request('base64'), { baseUrl: 'http://127.0.0.1:8080/v1', engine: 'llama.cpp', apiKey: 'k' });
    expect(JSON.parse(toLlama.body)).toMatchObject({ encoding_format: 'base64' });
    expect(toLlama.headers['authorization']).toBe('Bearer k');
    expect(toLlama.warnings).toEqual([]);
  });

  it('tolerates floats where base64 was asked (old Ollama) and observes it; refuses an answer that does not match the inputs', () => {
    const floats = capture('embeddings-float.json');
    expect(decodeOpenAIEmbeddingResponse(floats, request('base64'), { engine: 'llama.cpp' }).observations).toEqual(['embedding_encoding_ignored']);
    expect(decodeOpenAIEmbeddingResponse(floats, request('base64'), { engine: 'ollama' }).observations).toBeUndefined();
    const oneInput: CanonicalRequest = { ...request('float'), embedding: { input: { kind: 'texts', texts: ['x'] }, encodingFormat: 'float' } };
    expect(() => decodeOpenAIEmbeddingResponse(floats, oneInput, {})).toThrow(UpstreamError);
    expect(() => decodeOpenAIEmbeddingResponse('{"data":[{"embedding":"@@"},{"embedding":[1]}]}', request('float'), {})).toThrow(/not base64 float32/);
    expect(() => decodeOpenAIEmbeddingResponse(capture('embeddings-not-enabled.json'), request('float'), {})).toThrow(/error in a successful response/);
    // Placed by index, whatever the order of the items.
    const swapped = decodeOpenAIEmbeddingResponse('{"data":[{"index":1,"embedding":[2]},{"index":0,"embedding":[1]}]}', request('float'), {});
    expect(swapped.embeddings).toEqual([[1], [2]]);
    expect(swapped.usage).toBeUndefined();
  });

  it("takes LM Studio's 0-token usage for text as no count (usage_zero), and a 0 for empty text as the exact count", () => {
    const zero = '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1]},{"object":"embedding","index":1,"embedding":[2]}],"model":"text-embedding-nomic-embed-text-v1.5","usage":{"prompt_tokens":0,"total_tokens":0}}';
    const lmstudio = decodeOpenAIEmbeddingResponse(zero, request('float'), { engine: 'lmstudio' });
    expect(lmstudio.usage).toBeUndefined();
    expect(lmstudio.observations).toEqual(['usage_zero']);
    const empty: CanonicalRequest = { ...request('float'), embedding: { input: { kind: 'texts', texts: ['', ''] }, encodingFormat: 'float' } };
    const emptyAnswer = decodeOpenAIEmbeddingResponse(zero, empty, {});
    expect(emptyAnswer.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect(emptyAnswer.observations).toBeUndefined();
  });
});
