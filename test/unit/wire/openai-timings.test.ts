import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../src/wire/anthropic/adapter.js';
import { decodeOpenAIResponse } from '../../../src/wire/openai/adapter.js';
import { decodeOpenAICompletionResponse } from '../../../src/wire/openai/completions.js';
import { wholeAnswerFirstTokenMs } from '../../../src/wire/openai/timings.js';

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'llama.cpp-real');

describe('the first token of an answer that was not streamed', () => {
  it('takes off the time llama-server says the tokens after the first took', () => {
    expect(wholeAnswerFirstTokenMs(600, { generationMs: 540, perTokenMs: 0.9 })).toBeCloseTo(60.9, 6);
  });

  it('reads the timings of a captured llama-server answer with the rest of its body', () => {
    const body = readFileSync(join(fixtures, 'chat-noseed-t08-b.json'), 'utf8');
    const timings = (JSON.parse(body) as { timings: { predicted_ms: number; predicted_per_token_ms: number } }).timings;
    const decoded = decodeOpenAIResponse(body);
    expect(decoded.generationTimings).toEqual({ generationMs: timings.predicted_ms, perTokenMs: timings.predicted_per_token_ms });
    expect(wholeAnswerFirstTokenMs(1000, decoded.generationTimings)).toBeCloseTo(1000 - (timings.predicted_ms - timings.predicted_per_token_ms), 6);
  });

  it('reads the timings of a text completion too', () => {
    const body = JSON.stringify({ id: 'cmpl-1', object: 'text_completion', model: 'm', choices: [{ index: 0, text: 'x', finish_reason: 'stop' }], timings: { predicted_ms: 540, predicted_per_token_ms: 0.9 } });
    expect(decodeOpenAICompletionResponse(body).generationTimings).toEqual({ generationMs: 540, perTokenMs: 0.9 });
  });

  it('keeps the first byte without timings, with timings that do not fit the time measured, or with broken ones', () => {
    const answer = (extra: Record<string, unknown>, content = 'hi') => JSON.stringify({ choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }], ...extra });
    const firstToken = (body: string, firstByteMs: number) => wholeAnswerFirstTokenMs(firstByteMs, decodeOpenAIResponse(body).generationTimings);
    expect(firstToken(answer({ usage: { completion_tokens: 5 } }), 250)).toBe(250);
    expect(firstToken(answer({ timings: { predicted_ms: 500, predicted_per_token_ms: 5 } }), 20)).toBe(20);
    expect(firstToken(answer({ timings: { predicted_ms: 5, predicted_per_token_ms: 500 } }), 20)).toBe(20);
    expect(firstToken(answer({ timings: { predicted_ms: 500, predicted_per_token_ms: -5 } }), 600)).toBe(600);
    expect(decodeOpenAIResponse(answer({ timings: { predicted_ms: '500', predicted_per_token_ms: 5 } })).generationTimings).toBeUndefined();
    expect(decodeOpenAIResponse(answer({ timings: [500, 5] })).generationTimings).toBeUndefined();
    // The words in an answer's text are no account.
    expect(decodeOpenAIResponse(answer({}, '"timings": {"predicted_ms": 5, "predicted_per_token_ms": 1}')).generationTimings).toBeUndefined();
  });

  it('is an account only the openai wire reads: an anthropic answer carries none', () => {
    const body = JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 3, output_tokens: 1 },
      timings: { predicted_ms: 500, predicted_per_token_ms: 5 },
    });
    expect(anthropicAdapter.decodeResponse(body).generationTimings).toBeUndefined();
  });
});
