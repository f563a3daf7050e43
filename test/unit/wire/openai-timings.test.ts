import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wholeAnswerFirstTokenMs } from '../../../src/wire/openai/timings.js';

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'llama.cpp-real');

describe('the first token of an answer that was not streamed', () => {
  it('takes off the time llama-server says the tokens after the first took', () => {
    const body = JSON.stringify({ choices: [], timings: { prompt_ms: 9.1, predicted_n: 600, predicted_ms: 540, predicted_per_token_ms: 0.9 } });
    expect(wholeAnswerFirstTokenMs(600, body)).toBeCloseTo(60.9, 6);
  });

  it('reads the timings of a captured llama-server answer', () => {
    const body = readFileSync(join(fixtures, 'chat-noseed-t08-b.json'), 'utf8');
    const timings = (JSON.parse(body) as { timings: { predicted_ms: number; predicted_per_token_ms: number } }).timings;
    expect(wholeAnswerFirstTokenMs(1000, body)).toBeCloseTo(1000 - (timings.predicted_ms - timings.predicted_per_token_ms), 6);
  });

  it('keeps the first byte without timings, with timings that do not fit the time measured, or with broken ones', () => {
    expect(wholeAnswerFirstTokenMs(250, '{"choices":[],"usage":{"completion_tokens":5}}')).toBe(250);
    expect(wholeAnswerFirstTokenMs(20, JSON.stringify({ timings: { predicted_ms: 500, predicted_per_token_ms: 5 } }))).toBe(20);
    expect(wholeAnswerFirstTokenMs(20, JSON.stringify({ timings: { predicted_ms: '500', predicted_per_token_ms: 5 } }))).toBe(20);
    expect(wholeAnswerFirstTokenMs(20, '{"predicted_ms": not json')).toBe(20);
    // The words in an answer's text are no account.
    expect(wholeAnswerFirstTokenMs(20, JSON.stringify({ choices: [{ message: { content: '"predicted_ms": 5' } }] }))).toBe(20);
  });
});
