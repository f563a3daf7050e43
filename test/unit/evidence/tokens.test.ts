import { randomBytes } from 'node:crypto';
import tokenizer, { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { describe, expect, it } from 'vitest';
import { approximateTokens, LONGEST_COUNTED_RUN, REMEMBERED_MERGE_PIECES } from '../../../src/evidence/tokens.js';

/** The tokenizer's own cache of merged pieces (gpt-tokenizer 4's internals: what a long-running gateway keeps). */
function mergeCache(): Map<string, unknown> {
  return (tokenizer as unknown as { bytePairEncodingCoreProcessor: { mergeCache: Map<string, unknown> } }).bytePairEncodingCoreProcessor.mergeCache;
}

/** A word of random lowercase letters: one tokenizer piece, never seen before. */
function letters(length: number): string {
  return [...randomBytes(length)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('');
}

describe('approximateTokens over a long run', () => {
  it('keeps the tokenizer cache bounded in count whatever distinct words it counts', () => {
    for (let index = 0; index < REMEMBERED_MERGE_PIECES + 2000; index += 1) approximateTokens(`ticket ${letters(9)} was closed`);
    expect(mergeCache().size).toBeLessThanOrEqual(REMEMBERED_MERGE_PIECES);
  });

  it('keeps no piece longer than a cut: long runs of letters, punctuation or whitespace are counted in cuts', () => {
    for (const run of [letters(20_000), '!'.repeat(5000), ' \t'.repeat(3000), `é${letters(3000)}𝒜${letters(3000)}`]) approximateTokens(`before ${run} after`);
    const longest = Math.max(...[...mergeCache().keys()].map((key) => key.length));
    // A piece may start with the one character before its run (` word`).
    expect(longest).toBeLessThanOrEqual(LONGEST_COUNTED_RUN + 1);
  });

  it('counts a cut run within a token per cut of the whole count, and anything else exactly', () => {
    const run = letters(10_000);
    const cuts = Math.floor(run.length / LONGEST_COUNTED_RUN);
    expect(Math.abs(approximateTokens(`a ${run} b`) - countTokens(`a ${run} b`))).toBeLessThanOrEqual(cuts);
    const prose = 'The scheduler retried job #42 with exponential backoff, then gave up after 5 attempts.\n'.repeat(50);
    expect(approximateTokens(prose)).toBe(countTokens(prose));
    expect(approximateTokens('')).toBe(0);
  });
});
