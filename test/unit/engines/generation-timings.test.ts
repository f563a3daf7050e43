import { describe, expect, it } from 'vitest';
import { generationTimings } from '../../../src/engines/server/engine.js';
import { wholeAnswerFirstTokenMs } from '../../../src/wire/openai/timings.js';

/** llama-server's `timings` (as the embedded engine reports them) computed from what `engine serve` measures. */
function asLlamaServer(timings: ReturnType<typeof generationTimings>): { generationMs: number; perTokenMs: number } {
  return { generationMs: timings.predictedMs, perTokenMs: timings.predictedMs / timings.predictedTokens };
}

describe('the embedded engine\'s generation timings', () => {
  it('gives the first token one share of the tokens\' time, so that run finds when it came exactly', () => {
    // The prompt took 20 ms, the first token came at 25, three more came 5 ms apart.
    const timings = generationTimings(1000, 1025, 1040, 4);
    expect(timings).toEqual({ promptMs: 20, predictedMs: 20, predictedTokens: 4 });
    expect(timings.promptMs + timings.predictedMs).toBe(40);
    // The answer's last byte came at 40 ms: its first token at 25.
    expect(wholeAnswerFirstTokenMs(40, asLlamaServer(timings))).toBe(25);
  });

  it('never counts the prompt as taking no time, or less than none, when one later token stalled', () => {
    // The first token came 1 ms after the start; one of the three after it stalled, so they took 30 ms,
    // 10 ms each on average: ten times what the prompt and the first token took together.
    const timings = generationTimings(1000, 1001, 1031, 4);
    expect(timings.promptMs).toBeGreaterThan(0);
    expect(timings.predictedMs).toBeGreaterThan(30);
    expect(timings.promptMs + timings.predictedMs).toBeCloseTo(31, 9);
    expect(timings.predictedTokens).toBe(4);
    // run then takes the first token for no earlier than it came.
    expect(wholeAnswerFirstTokenMs(31, asLlamaServer(timings))).toBeGreaterThanOrEqual(1);
  });

  it('counts the whole time as the prompt when no token came, and no share for a single token', () => {
    expect(generationTimings(0, undefined, 12, 0)).toEqual({ promptMs: 12, predictedMs: 0, predictedTokens: 0 });
    expect(generationTimings(0, 7, 9, 1)).toEqual({ promptMs: 7, predictedMs: 2, predictedTokens: 1 });
  });
});
