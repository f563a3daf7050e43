import tokenizer, { clearMergeCache, countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { beforeEach, describe, expect, it } from 'vitest';
import { approximateTokens, LONGEST_COUNTED_RUN, REMEMBERED_MERGE_PIECES } from '../../../src/evidence/tokens.js';

/** The tokenizer's own cache of merged pieces (gpt-tokenizer 4's internals: what a long-running gateway keeps). */
function mergeCache(): Map<string, unknown> {
  return (tokenizer as unknown as { bytePairEncodingCoreProcessor: { mergeCache: Map<string, unknown> } }).bytePairEncodingCoreProcessor.mergeCache;
}

/** A word of pseudo-random lowercase letters, the same for the same seed: one tokenizer piece, a new one for each seed. */
function letters(length: number, seed: number): string {
  let state = seed;
  let word = '';
  for (let index = 0; index < length; index += 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    word += String.fromCharCode(97 + ((state >>> 16) % 26));
  }
  return word;
}

describe('approximateTokens over a long run', () => {
  // The cache is the module's, shared by every test here: each starts from an empty one (the third counts a long run whole).
  beforeEach(() => clearMergeCache());

  it('keeps the tokenizer cache bounded in count whatever distinct words it counts', () => {
    for (let index = 0; index < REMEMBERED_MERGE_PIECES + 2000; index += 1) approximateTokens(`ticket ${letters(9, index + 1)} was closed`);
    expect(mergeCache().size).toBeLessThanOrEqual(REMEMBERED_MERGE_PIECES);
  });

  it('keeps no piece longer than a cut: long runs of letters, punctuation or whitespace are counted in cuts', () => {
    for (const run of [letters(20_000, 1), '!'.repeat(5000), ' \t'.repeat(3000), `é${letters(3000, 2)}𝒜${letters(3000, 3)}`]) approximateTokens(`before ${run} after`);
    const longest = Math.max(...[...mergeCache().keys()].map((key) => key.length));
    // A piece may start with the one character before its run (` word`).
    expect(longest).toBeLessThanOrEqual(LONGEST_COUNTED_RUN + 1);
  });

  it('counts a cut run within a token per cut of the whole count, and anything else exactly', () => {
    const run = letters(10_000, 7);
    const cuts = Math.floor(run.length / LONGEST_COUNTED_RUN);
    expect(Math.abs(approximateTokens(`a ${run} b`) - countTokens(`a ${run} b`))).toBeLessThanOrEqual(cuts);
    const prose = 'The scheduler retried job #42 with exponential backoff, then gave up after 5 attempts.\n'.repeat(50);
    expect(approximateTokens(prose)).toBe(countTokens(prose));
    expect(approximateTokens('')).toBe(0);
  });

  it("counts a special token's text as text instead of throwing (a prompt quoting <|endoftext|>)", () => {
    expect(approximateTokens('hi <|endoftext|> there')).toBe(countTokens('hi <|endoftext|> there', { disallowedSpecial: new Set() }));
    expect(approximateTokens(`${'x'.repeat(LONGEST_COUNTED_RUN * 2)} <|fim_prefix|>`)).toBeGreaterThan(2);
  });
});
