import { countTokens } from 'gpt-tokenizer';

/**
 * Counts tokens locally with a real BPE tokenizer (gpt-tokenizer, `o200k_base`) for when the
 * upstream did not report usage. The count is `approximate`: the model's own tokenizer (Llama,
 * Qwen, Claude, GLM...) splits text differently, typically within 10-20 %. Record it with
 * `tokenAccounting: 'approximate'`, never `exact`. Kept out of `index.ts` because loading the
 * encoding takes a moment; import it only where usage may be missing.
 */
export function approximateTokens(text: string): number {
  if (text === '') return 0;
  return countTokens(text);
}
