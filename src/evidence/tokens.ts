import { countTokens, setMergeCacheSize } from 'gpt-tokenizer/encoding/cl100k_base';

/**
 * Pieces whose merges the tokenizer remembers: its default (100 000) would let a long-running
 * gateway's cache grow over days of distinct prompts, with no bound on what each piece weighs.
 * Counting runs as fast with this many (bench/RESULTS.md, *Soak*).
 */
export const REMEMBERED_MERGE_PIECES = 4096;
/** The longest run of one kind (letters, punctuation, whitespace) counted as one piece; longer runs are cut. */
export const LONGEST_COUNTED_RUN = 256;
/** A run the tokenizer would take whole, longer than LONGEST_COUNTED_RUN: the only pieces its split leaves unbounded. */
const LONG_RUN = new RegExp(`\\p{L}{${LONGEST_COUNTED_RUN + 1},}|[^\\s\\p{L}\\p{N}]{${LONGEST_COUNTED_RUN + 1},}|\\s{${LONGEST_COUNTED_RUN + 1},}`, 'gu');

setMergeCacheSize(REMEMBERED_MERGE_PIECES);

/**
 * A special token's text in a prompt (`<|endoftext|>`, quoted by a user asking about it) is counted
 * as the text it is — the tokenizer's default refuses it with an exception, which would fail a
 * request after its engine answered.
 */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Counts tokens locally with a real BPE tokenizer (gpt-tokenizer, `cl100k_base`) for when the
 * upstream did not report usage, and for the router's prompt estimates. The count is
 * `approximate`: the model's own tokenizer (Llama, Qwen, Claude, GLM...) splits text
 * differently, typically within 10-20 %. Record it with `tokenAccounting: 'approximate'`, never
 * `exact`. cl100k rather than o200k: within a few percent on these texts, at ~40 MB of resident
 * memory instead of ~70 MB in a long-running gateway.
 *
 * The tokenizer remembers each piece it merged, keyed by the piece itself: a run of letters,
 * punctuation or whitespace is one piece however long, so such runs are counted in cuts of
 * LONGEST_COUNTED_RUN characters (each cut may add a token to the estimate), and what the cache
 * keeps stays bounded by size as well as by count.
 */
export function approximateTokens(text: string): number {
  if (text === '') return 0;
  // Without a long run this counts the whole text at once (`slice(0)` is the text itself).
  let total = 0;
  let start = 0;
  for (const run of text.matchAll(LONG_RUN)) {
    const end = run.index + run[0].length;
    for (let cut = run.index + LONGEST_COUNTED_RUN; cut < end; cut += LONGEST_COUNTED_RUN) {
      // Never between the two halves of a surrogate pair.
      const at = isLowSurrogate(text.charCodeAt(cut)) ? cut + 1 : cut;
      total += countTokens(text.slice(start, at), AS_TEXT);
      start = at;
    }
  }
  return total + countTokens(text.slice(start), AS_TEXT);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
