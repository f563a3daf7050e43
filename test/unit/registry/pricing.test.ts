import { describe, expect, it } from 'vitest';
import { tierForInput, usageCostUsd } from '../../../src/registry/pricing.js';

const SONNET = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWriteInputPerMTok: 3.75, cacheWrite1hInputPerMTok: 6 };

describe('usageCostUsd', () => {
  it('prices plain input and output at the list price', () => {
    expect(usageCostUsd(SONNET, { inputTokens: 1_000_000, outputTokens: 100_000 })).toBeCloseTo(3 + 1.5, 12);
  });

  it('prices cache reads, five-minute and one-hour writes at their own rates (counted inside inputTokens)', () => {
    // 100k uncached, 800k read, 100k written of which 40k for an hour; 10k out.
    const usage = { inputTokens: 1_000_000, outputTokens: 10_000, cachedInputTokens: 800_000, cacheWriteInputTokens: 100_000, cacheWrite1hInputTokens: 40_000 };
    const expected = (100_000 * 3 + 800_000 * 0.3 + 60_000 * 3.75 + 40_000 * 6 + 10_000 * 15) / 1_000_000;
    expect(usageCostUsd(SONNET, usage)).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(1.155, 12);
  });

  it('falls back to the input rate for cache rates a record does not give (and the write rate for one-hour writes)', () => {
    const plain = { inputPerMTok: 2, outputPerMTok: 8 };
    const usage = { inputTokens: 1_000, outputTokens: 0, cachedInputTokens: 600, cacheWriteInputTokens: 200, cacheWrite1hInputTokens: 100 };
    expect(usageCostUsd(plain, usage)).toBeCloseTo((1_000 * 2) / 1_000_000, 15);
    expect(usageCostUsd({ ...plain, cacheWriteInputPerMTok: 2.5 }, usage)).toBeCloseTo((200 * 2 + 600 * 2 + 200 * 2.5) / 1_000_000, 15);
  });

  it('never prices more cached or written tokens than the input holds', () => {
    expect(usageCostUsd(SONNET, { inputTokens: 100, outputTokens: 0, cachedInputTokens: 500, cacheWriteInputTokens: 500 })).toBeCloseTo((100 * 0.3) / 1_000_000, 15);
  });
});

// The catalog's rates (providers/catalog/*.yaml): GPT-6.2 Sol doubles input and cache rates and
// takes output to 1.5x for a request with more than 272K input tokens; Claude Haiku 5.5 bills
// every token of a request whose prompt (input + cache reads + cache writes) is over 100,000 at 5x.
const SOL = {
  inputPerMTok: 2, outputPerMTok: 10, cachedInputPerMTok: 0.1, cacheWriteInputPerMTok: 2.5,
  tiers: [{ aboveInputTokens: 272_000, inputPerMTok: 4, outputPerMTok: 15, cachedInputPerMTok: 0.2, cacheWriteInputPerMTok: 5 }],
};
const HAIKU = {
  inputPerMTok: 0.1, outputPerMTok: 0.5, cachedInputPerMTok: 0.01, cacheWriteInputPerMTok: 0.125, cacheWrite1hInputPerMTok: 0.2,
  tiers: [{ aboveInputTokens: 100_000, inputPerMTok: 0.5, outputPerMTok: 2.5, cachedInputPerMTok: 0.05, cacheWriteInputPerMTok: 0.625, cacheWrite1hInputPerMTok: 1 }],
};

describe('usageCostUsd with input-length tiers', () => {
  it('bills a request exactly at the threshold at the base rates', () => {
    expect(tierForInput(SOL, 272_000)).toBeUndefined();
    expect(usageCostUsd(SOL, { inputTokens: 272_000, outputTokens: 1_000 })).toBeCloseTo((272_000 * 2 + 1_000 * 10) / 1_000_000, 12);
  });

  it('bills every token of a request one token over the threshold at the tier, output included', () => {
    expect(tierForInput(SOL, 272_001)?.aboveInputTokens).toBe(272_000);
    expect(usageCostUsd(SOL, { inputTokens: 272_001, outputTokens: 1_000 })).toBeCloseTo((272_001 * 4 + 1_000 * 15) / 1_000_000, 12);
    // The step is the whole request's, not the one token's: about double.
    expect(usageCostUsd(SOL, { inputTokens: 272_001, outputTokens: 1_000 })).toBeGreaterThan(1.9 * usageCostUsd(SOL, { inputTokens: 272_000, outputTokens: 1_000 }));
  });

  it('prices cache reads and writes at the tier\'s cache rates', () => {
    const usage = { inputTokens: 300_000, outputTokens: 2_000, cachedInputTokens: 250_000, cacheWriteInputTokens: 40_000 };
    expect(usageCostUsd(SOL, usage)).toBeCloseTo((10_000 * 4 + 250_000 * 0.2 + 40_000 * 5 + 2_000 * 15) / 1_000_000, 12);
  });

  it('counts cache reads and writes toward the threshold (Anthropic\'s prompt: input + cache reads + cache writes)', () => {
    // 2 000 uncached input tokens, but a 99 000-token cached prefix and 1 500 written: a 102 500-token prompt.
    const usage = { inputTokens: 102_500, outputTokens: 500, cachedInputTokens: 99_000, cacheWriteInputTokens: 1_500, cacheWrite1hInputTokens: 500 };
    const expected = (2_000 * 0.5 + 99_000 * 0.05 + 1_000 * 0.625 + 500 * 1 + 500 * 2.5) / 1_000_000;
    expect(usageCostUsd(HAIKU, usage)).toBeCloseTo(expected, 12);
    expect(usageCostUsd(HAIKU, usage)).toBeCloseTo(5 * usageCostUsd({ ...HAIKU, tiers: undefined }, usage), 12);
    // At 100 000 exactly the lower band still applies.
    expect(usageCostUsd(HAIKU, { inputTokens: 100_000, outputTokens: 500, cachedInputTokens: 99_000 })).toBeCloseTo((1_000 * 0.1 + 99_000 * 0.01 + 500 * 0.5) / 1_000_000, 12);
  });

  it('applies the last tier the input exceeds, and a tier\'s missing cache rates default to its own input rate', () => {
    const price = { inputPerMTok: 1, outputPerMTok: 2, tiers: [{ aboveInputTokens: 1_000, inputPerMTok: 3, outputPerMTok: 4 }, { aboveInputTokens: 2_000, inputPerMTok: 5, outputPerMTok: 6 }] };
    expect(usageCostUsd(price, { inputTokens: 1_000, outputTokens: 10 })).toBeCloseTo((1_000 * 1 + 10 * 2) / 1_000_000, 15);
    expect(usageCostUsd(price, { inputTokens: 2_000, outputTokens: 10, cachedInputTokens: 500 })).toBeCloseTo((2_000 * 3 + 10 * 4) / 1_000_000, 15);
    expect(usageCostUsd(price, { inputTokens: 2_001, outputTokens: 10 })).toBeCloseTo((2_001 * 5 + 10 * 6) / 1_000_000, 15);
  });
});
