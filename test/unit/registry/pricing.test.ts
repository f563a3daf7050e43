import { describe, expect, it } from 'vitest';
import { usageCostUsd } from '../../../src/registry/pricing.js';

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
