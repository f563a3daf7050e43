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
