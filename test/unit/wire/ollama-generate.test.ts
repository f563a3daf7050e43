import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';
import { NdjsonLineSplitter } from '../../../src/wire/ndjson.js';
import {
  decodeOllamaGenerateResponse,
  decodeOllamaGenerateStreamLine,
  encodeOllamaGenerateRequest,
  usesOllamaGenerate,
} from '../../../src/wire/ollama/generate.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const FIM_PROMPT = '<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n<|fim_middle|>';

function completion(fields: Partial<CanonicalRequest> & { suffix?: string } = {}): CanonicalRequest {
  const { suffix, ...rest } = fields;
  return {
    model: 'qwen2.5-coder:7b',
    messages: [],
    stream: false,
    completion: { prompt: FIM_PROMPT, ...(suffix === undefined ? {} : { suffix }) },
    ...rest,
  } as CanonicalRequest;
}

const OLLAMA = { baseUrl: 'http://127.0.0.1:11434/v1', engine: 'ollama' as const };

// Lines as Ollama 0.12 writes them (json.Marshal + "\n"; `<` escaped as Go does).
const LINES = [
  '{"model":"qwen2.5-coder:7b","created_at":"2026-12-06T02:45:00.1Z","response":"return","done":false}\n',
  '{"model":"qwen2.5-coder:7b","created_at":"2026-12-06T02:45:00.2Z","response":" a + b \\u003c 3","done":false}\n',
  '{"model":"qwen2.5-coder:7b","created_at":"2026-12-06T02:45:00.3Z","response":"","done":true,"done_reason":"length","total_duration":412000000,"load_duration":21000000,"prompt_eval_count":19,"prompt_eval_duration":15000000,"eval_count":6,"eval_duration":108000000}\n',
];

/** Every part a body gives when fed in the given pieces, and whether its end was clean. */
function readStream(pieces: string[]): { accumulator: StreamAccumulator; cutOff: boolean } {
  const splitter = new NdjsonLineSplitter();
  const accumulator = new StreamAccumulator();
  for (const piece of pieces) for (const line of splitter.push(piece)) accumulator.addAll(decodeOllamaGenerateStreamLine(line));
  const last = splitter.finish();
  for (const line of last ?? []) accumulator.addAll(decodeOllamaGenerateStreamLine(line));
  return { accumulator, cutOff: last === undefined };
}

describe('which text completions go to Ollama’s native /api/generate', () => {
  it('a completion without a suffix to an Ollama engine; with a suffix, or another engine, or a chat: not', () => {
    expect(usesOllamaGenerate(completion(), OLLAMA)).toBe(true);
    expect(usesOllamaGenerate(completion({ suffix: '\n' }), OLLAMA)).toBe(false);
    expect(usesOllamaGenerate(completion(), { baseUrl: 'http://127.0.0.1:8080/v1', engine: 'llama.cpp' })).toBe(false);
    expect(usesOllamaGenerate(completion(), { baseUrl: 'http://127.0.0.1:11434/v1' })).toBe(false);
    const chat: CanonicalRequest = { model: 'llama3.2', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false } as CanonicalRequest;
    expect(usesOllamaGenerate(chat, OLLAMA)).toBe(false);
  });
});

describe('encoding a raw /api/generate request', () => {
  it('goes to the engine root, raw, stream as asked, sampling settings in options, nothing else (keep_alive left to the engine)', () => {
    const request = encodeOllamaGenerateRequest(
      completion({ stream: true, maxTokens: 64, temperature: 0.2, topP: 0.9, seed: 7, stop: ['<|endoftext|>'] }),
      { ...OLLAMA, baseUrl: 'http://127.0.0.1:11434/v1/' },
    );
    expect(request.url).toBe('http://127.0.0.1:11434/api/generate');
    expect(request.method).toBe('POST');
    expect(request.headers).toEqual({ 'content-type': 'application/json', accept: 'application/x-ndjson' });
    expect(request.body).toBe(
      JSON.stringify({ model: 'qwen2.5-coder:7b', prompt: FIM_PROMPT, raw: true, stream: true, options: { num_predict: 64, temperature: 0.2, top_p: 0.9, seed: 7, stop: ['<|endoftext|>'] } }),
    );
    const plain = encodeOllamaGenerateRequest(completion(), { ...OLLAMA, apiKey: 'k' });
    expect(plain.body).toBe(JSON.stringify({ model: 'qwen2.5-coder:7b', prompt: FIM_PROMPT, raw: true, stream: false }));
    expect(plain.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer k' });
  });
});

describe('decoding /api/generate answers', () => {
  it('a whole answer: the response, done_reason as the finish, exact usage from the counters', () => {
    const answer = decodeOllamaGenerateResponse(
      '{"model":"qwen2.5-coder:7b","created_at":"2026-12-06T02:45:00Z","response":"return a + b","done":true,"done_reason":"stop","total_duration":1,"load_duration":0,"prompt_eval_count":19,"prompt_eval_duration":1,"eval_count":5,"eval_duration":1}',
    );
    expect(answer).toMatchObject({ model: 'qwen2.5-coder:7b', text: 'return a + b', finishReason: 'stop', rawFinishReason: 'stop', usage: { inputTokens: 19, outputTokens: 5 }, toolCalls: [] });
    expect(() => decodeOllamaGenerateResponse('{"error":"model is loading"}')).toThrow(UpstreamError);
    expect(() => decodeOllamaGenerateResponse('[]')).toThrow(/not a JSON object/);
  });

  it('a stream whose lines are split across chunks anywhere: the text, the finish (length), the usage and a clean end', () => {
    const body = LINES.join('');
    const pieces = [body.slice(0, 7), body.slice(7, 100), body.slice(100, 101), body.slice(101, 250), body.slice(250)];
    const { accumulator, cutOff } = readStream(pieces);
    expect(cutOff).toBe(false);
    expect(accumulator.ended).toBe(true);
    expect(accumulator.error).toBeUndefined();
    expect(accumulator.toResponse()).toMatchObject({ text: 'return a + b < 3', finishReason: 'length', rawFinishReason: 'length', usage: { inputTokens: 19, outputTokens: 6 } });
  });

  it('takes a final line without its newline (and \\r\\n line ends) as complete', () => {
    const body = LINES.join('').replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    const { accumulator, cutOff } = readStream([body]);
    expect(cutOff).toBe(false);
    expect(accumulator.ended).toBe(true);
    expect(accumulator.toResponse().text).toBe('return a + b < 3');
  });

  it('a last line cut in the middle is a cut stream, not an end', () => {
    const body = LINES.join('');
    const { accumulator, cutOff } = readStream([body.slice(0, body.length - 20)]);
    expect(cutOff).toBe(true);
    expect(accumulator.ended).toBe(false);
  });

  it('an error line in the middle of the stream is an error part: the stream never ends cleanly', () => {
    const { accumulator, cutOff } = readStream([LINES[0]!, '{"error":"an error was encountered while running the model: unexpected EOF"}\n']);
    expect(cutOff).toBe(false);
    expect(accumulator.error?.message).toBe('an error was encountered while running the model: unexpected EOF');
    expect(accumulator.ended).toBe(false);
    expect(accumulator.finished).toBe(false);
    expect(decodeOllamaGenerateStreamLine({ data: '{"error":"boom"}' })).toEqual([{ type: 'error', message: 'boom' }]);
  });

  it('a line that is not a JSON object is malformed', () => {
    expect(() => decodeOllamaGenerateStreamLine({ data: 'data: {"x":1}' })).toThrow(/not a JSON object/);
  });
});

describe('token logprobs on /api/generate (Ollama 0.12.11 and later)', () => {
  // As the Ollama 0.12.11 release notes show them: `bytes` beside each token, `top_logprobs` when asked for.
  const TOKEN = { token: 'return', logprob: -0.25, bytes: [114, 101, 116, 117, 114, 110], top_logprobs: [{ token: 'return', logprob: -0.25, bytes: [114, 101, 116, 117, 114, 110] }] };

  it('asks for them with logprobs: true and the alternatives as top_logprobs', () => {
    expect(JSON.parse(encodeOllamaGenerateRequest(completion({ logprobs: { top: 2 } }), OLLAMA).body)).toMatchObject({ raw: true, logprobs: true, top_logprobs: 2 });
    const plain = JSON.parse(encodeOllamaGenerateRequest(completion({ logprobs: {} }), OLLAMA).body) as Record<string, unknown>;
    expect(plain['logprobs']).toBe(true);
    expect(plain).not.toHaveProperty('top_logprobs');
  });

  it('keeps the answer’s list as the chat-shaped {content}: whole, and per line before the text it belongs to', () => {
    const whole = decodeOllamaGenerateResponse(
      `{"model":"m","created_at":"2026-12-06T02:45:00Z","response":"return","done":true,"done_reason":"stop","prompt_eval_count":1,"eval_count":1,"logprobs":[${JSON.stringify(TOKEN)}]}`,
    );
    expect(whole.logprobs).toEqual({ content: [TOKEN] });
    expect(decodeOllamaGenerateResponse(LINES[2]!.replace('"response":""', '"response":"x"')).logprobs).toBeUndefined();

    const line = `{"model":"m","created_at":"2026-12-06T02:45:00Z","response":"return","done":false,"logprobs":[${JSON.stringify(TOKEN)}]}`;
    expect(decodeOllamaGenerateStreamLine({ data: line })).toEqual([
      { type: 'logprobs', logprobs: { content: [TOKEN] } },
      { type: 'text-delta', text: 'return' },
    ]);
    const { accumulator } = readStream([`${line}\n`, `${line}\n`, LINES[2]!]);
    expect(accumulator.toResponse().logprobs).toEqual({ content: [TOKEN, TOKEN] });
  });
});
