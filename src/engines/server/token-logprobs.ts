/**
 * Token log-probabilities of the embedded engine's answers, in llama-server's shape (`{content:
 * [{id, token, bytes, logprob, top_logprobs: [{id, token, bytes, logprob}]}]}`). LlamaChat generates
 * through its sequence's `evaluate` and hands out no probabilities, so while a generation that asks
 * for them runs, the sequence's `evaluate` is `evaluateWithMetadata` with `probabilities`, and each
 * generated token's candidates are kept. What they are follows node-llama-cpp: with greedy sampling
 * (temperature 0) the model's own distribution over the whole vocabulary, as OpenAI and llama-server
 * report it; otherwise the distribution the sampler drew from (top-k, top-p and min-p applied,
 * temperature-scaled), as llama-server's `post_sampling_probs` reports it.
 */

import type { JsonObject } from '../../wire/canonical.js';
import type { LlamaContextSequence, LlamaModel, LlamaToken } from '../node-llama-cpp.js';

/** The log-probability of a token whose probability is 0 (OpenAI writes -9999.0 for those). */
const LOWEST_LOGPROB = -9999;

/** One token as llama-server lists it. */
interface TokenEntry {
  id: number;
  token: string;
  bytes: number[];
  logprob: number;
}

/** A token of the answer with its likeliest candidates. */
export type AnswerEntry = TokenEntry & { top_logprobs: TokenEntry[] };

/**
 * Makes `sequence.evaluate` record each generated token's candidates until the returned function
 * is called (which puts the sequence's own `evaluate` back). The sequence must be the caller's alone
 * meanwhile (the engine's queue gives each generation its own).
 */
export function recordTokenProbabilities(sequence: LlamaContextSequence, onToken: (token: LlamaToken, probabilities: Map<LlamaToken, number>) => void): () => void {
  const own = Object.getOwnPropertyDescriptor(sequence, 'evaluate');
  async function* evaluate(tokens: LlamaToken[], options?: Parameters<LlamaContextSequence['evaluate']>[1]): AsyncGenerator<LlamaToken, void, void | LlamaToken | LlamaToken[]> {
    const iterator = sequence.evaluateWithMetadata(tokens, { probabilities: true }, options);
    let input: void | LlamaToken | LlamaToken[] = undefined;
    try {
      for (;;) {
        const { value, done } = await iterator.next(input);
        if (done === true) return;
        onToken(value.token, value.probabilities);
        input = yield value.token;
      }
    } finally {
      await iterator.return();
    }
  }
  Object.defineProperty(sequence, 'evaluate', { value: evaluate, configurable: true, writable: true });
  return () => {
    if (own === undefined) Reflect.deleteProperty(sequence, 'evaluate');
    else Object.defineProperty(sequence, 'evaluate', own);
  };
}

/**
 * The answer's tokens with their log-probabilities and `top` likeliest candidates, handed out with
 * the text they spell: `take(length)` gives those of the tokens the first `length` characters of
 * the answer cover that were not given yet. End-of-generation and other special tokens spell no
 * text and are left out, as llama-server leaves them out; the tokens are as generated, so the first
 * one keeps the leading space LlamaChat trims from the answer.
 */
export class AnswerLogprobs {
  private readonly entries: AnswerEntry[] = [];
  private given = 0;
  private givenLength = 0;

  constructor(
    private readonly model: LlamaModel,
    private readonly top: number,
  ) {}

  record(token: LlamaToken, probabilities: Map<LlamaToken, number>): void {
    if (this.model.tokenizer.isSpecialToken(token) || this.model.tokenizer.isEogToken(token)) return;
    const alternatives: TokenEntry[] = [];
    for (const [candidate, probability] of probabilities) {
      if (alternatives.length >= this.top) break;
      alternatives.push(this.entry(candidate, probability));
    }
    this.entries.push({ ...this.entry(token, probabilities.get(token) ?? 0), top_logprobs: alternatives });
  }

  /** The entries of the tokens the first `length` characters of the answer cover, not given before. */
  take(length: number): AnswerEntry[] {
    const start = this.given;
    for (;;) {
      const next = this.entries[this.given];
      // LlamaChat drops the whitespace the answer starts with (its first token's leading space).
      const spelled = next === undefined ? undefined : this.givenLength === 0 ? next.token.trimStart().length : next.token.length;
      if (spelled === undefined || this.givenLength + spelled > length) break;
      this.givenLength += spelled;
      this.given += 1;
    }
    return this.entries.slice(start, this.given);
  }

  /** Every token not given yet (the end of an answer no stop string cut). */
  rest(): AnswerEntry[] {
    const rest = this.entries.slice(this.given);
    this.given = this.entries.length;
    return rest;
  }

  /** All the entries given so far, as a choice's `logprobs`. */
  answer(): JsonObject {
    return choiceLogprobs(this.entries.slice(0, this.given));
  }

  private entry(token: LlamaToken, probability: number): TokenEntry {
    const text = this.model.detokenize([token], false);
    return { id: token, token: text, bytes: [...Buffer.from(text, 'utf8')], logprob: probability > 0 ? Math.max(Math.log(probability), LOWEST_LOGPROB) : LOWEST_LOGPROB };
  }
}

/** A choice's (or a stream chunk's) `logprobs` for these entries. */
export function choiceLogprobs(entries: readonly AnswerEntry[]): JsonObject {
  return { content: entries.map((entry) => ({ id: entry.id, token: entry.token, bytes: entry.bytes, logprob: entry.logprob, top_logprobs: entry.top_logprobs.map((alternative) => ({ ...alternative })) })) };
}
