import { textDigest } from '../common/hash.js';
import { LruMap } from '../common/lru.js';

/** Counts a text's tokens locally (`approximateTokens` in ./tokens.ts). */
export type TokenCounter = (text: string) => number;

let counter: TokenCounter | undefined;

/**
 * The local tokenizer's counter, imported on first use and kept: the tokenizer (~30 MB resident)
 * is not loaded at start, and most requests never need it (engines that report usage, prompt
 * estimates the byte bound decides). Rejects when the tokenizer cannot be loaded (a broken
 * install); the next call tries again. Callers decide what a missing count means: the pipeline
 * records `token_accounting: not_available`, the router falls back to a byte estimate.
 */
export async function loadTokenCounter(): Promise<TokenCounter> {
  counter ??= (await import('./tokens.js')).approximateTokens;
  return counter;
}

/** Whether `loadTokenCounter` has loaded the tokenizer in this process (a long-running surface's warm-up does, when its routes will count). */
export function tokenCounterLoaded(): boolean {
  return counter !== undefined;
}

/** Characters counted per turn of the event loop by `countInSlices` (~2–3 ms of tokenizer time on this machine). */
export const TOKEN_COUNT_SLICE_CHARS = 64 * 1024;

/**
 * `count(text)`, over slices of about `TOKEN_COUNT_SLICE_CHARS` cut before whitespace, yielding
 * to the event loop between slices: a long prompt (an agent's context runs to megabytes) must not
 * hold every other stream of a gateway for the hundreds of milliseconds one call would take. The
 * sum equals the whole text's count unless a cut splits a token that spans whitespace, which
 * BPE vocabularies rarely have — well inside the estimate's margin.
 */
export async function countInSlices(text: string, count: TokenCounter): Promise<number> {
  return (await countSlicesUntil(text, count, Number.POSITIVE_INFINITY)).tokens;
}

/** `countInSlices`, stopped after the slice that takes the total over `stopAbove`: `whole` says whether it reached the end. */
async function countSlicesUntil(text: string, count: TokenCounter, stopAbove: number): Promise<{ tokens: number; whole: boolean }> {
  if (text.length <= TOKEN_COUNT_SLICE_CHARS) return { tokens: count(text), whole: true };
  let total = 0;
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + TOKEN_COUNT_SLICE_CHARS);
    if (end < text.length) {
      // Cut before a space, so the space stays with the word it starts (as BPE pre-tokenisation groups it).
      const space = text.lastIndexOf(' ', end);
      if (space > start) end = space;
    }
    total += count(text.slice(start, end));
    start = end;
    if (total > stopAbove) break;
    if (start < text.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { tokens: total, whole: start >= text.length };
}

/** Pieces at least this long have their count remembered (below it, counting costs about what hashing does). */
export const MIN_REMEMBERED_PIECE_CHARS = 1024;
const REMEMBERED_PIECES = 4096;
const rememberedCounts = new WeakMap<TokenCounter, LruMap<string, number>>();

/**
 * The tokens of texts a model reads one after another, separated by newlines: each piece counted
 * with `countInSlices`, plus one token per separator. A long piece this counter has counted before
 * (an agent resends its system prompt, tool definitions and earlier turns every turn) is not
 * counted again: its count is remembered by the SHA-256 of its text, so no text is kept.
 */
export async function countPieces(pieces: readonly string[], count: TokenCounter): Promise<number> {
  return (await countPiecesUntil(pieces, count, Number.POSITIVE_INFINITY)).tokens;
}

/**
 * `countPieces`, stopped once the total passes `stopAbove` (after the piece or slice that passes
 * it): `whole` is false then, and all a caller learns is that the texts hold more than `stopAbove`
 * tokens — at least `tokens`. A piece counted partly is not remembered.
 */
export async function countPiecesUntil(pieces: readonly string[], count: TokenCounter, stopAbove: number): Promise<{ tokens: number; whole: boolean }> {
  let remembered = rememberedCounts.get(count);
  if (remembered === undefined) {
    remembered = new LruMap(REMEMBERED_PIECES);
    rememberedCounts.set(count, remembered);
  }
  let total = Math.max(0, pieces.length - 1);
  // Pieces shorter than a slice are counted (or hashed) in place; many of them (a conversation of
  // short turns, ten thousand turns of a few KB) still yield to the event loop every slice's worth
  // of characters, as one long text would.
  let sinceYield = 0;
  for (const piece of pieces) {
    if (total > stopAbove) return { tokens: total, whole: false };
    if (sinceYield >= TOKEN_COUNT_SLICE_CHARS) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    sinceYield += piece.length;
    if (piece.length < MIN_REMEMBERED_PIECE_CHARS) {
      total += count(piece);
      continue;
    }
    const key = textDigest(piece);
    const known = remembered.get(key);
    if (known !== undefined) {
      total += known;
      continue;
    }
    const counted = await countSlicesUntil(piece, count, stopAbove - total);
    total += counted.tokens;
    if (!counted.whole) return { tokens: total, whole: false };
    remembered.set(key, counted.tokens);
  }
  return { tokens: total, whole: true };
}
