import { describe, expect, it } from 'vitest';
import type { LlamaContextSequence, LlamaModel, LlamaToken } from '../../../src/engines/node-llama-cpp.js';
import { AnswerLogprobs, recordTokenProbabilities } from '../../../src/engines/server/token-logprobs.js';

const token = (id: number): LlamaToken => id as LlamaToken;
const PIECES: Record<number, string> = { 1: ' Hel', 2: 'lo', 3: ' wor', 4: 'ld', 5: 'Hi', 9: '</s>' };

/** A model whose tokenizer knows PIECES, 9 its end-of-generation token. */
const model = {
  detokenize: (tokens: readonly LlamaToken[]) => tokens.map((id) => PIECES[id] ?? '').join(''),
  tokenizer: { isSpecialToken: (id: LlamaToken) => id === 9, isEogToken: (id: LlamaToken) => id === 9 },
} as unknown as LlamaModel;

function probabilities(chosen: number, ...others: [number, number][]): Map<LlamaToken, number> {
  return new Map([[token(chosen), 0.5], ...others.map(([id, probability]) => [token(id), probability] as [LlamaToken, number])]);
}

describe('AnswerLogprobs', () => {
  it('lists each token as llama-server does, with the candidates asked for; end-of-generation tokens are left out', () => {
    const answer = new AnswerLogprobs(model, 1);
    answer.record(token(1), probabilities(1, [5, 0.25]));
    answer.record(token(9), new Map([[token(9), 1]]));
    expect(answer.rest()).toEqual([{ id: 1, token: ' Hel', bytes: [32, 72, 101, 108], logprob: Math.log(0.5), top_logprobs: [{ id: 1, token: ' Hel', bytes: [32, 72, 101, 108], logprob: Math.log(0.5) }] }]);
    expect(answer.answer()).toEqual({ content: [expect.objectContaining({ id: 1, token: ' Hel' })] });
  });

  it('hands out the tokens the text emitted so far spells (the answer’s leading space trimmed), the rest at the end', () => {
    const answer = new AnswerLogprobs(model, 0);
    for (const id of [1, 2, 3, 4]) answer.record(token(id), probabilities(id));
    // "Hel" (the leading space trimmed, as LlamaChat does), then "lo wo": " wor" is not complete yet.
    expect(answer.take(3).map((entry) => entry.token)).toEqual([' Hel']);
    expect(answer.take(7).map((entry) => entry.token)).toEqual(['lo']);
    expect(answer.take(10).map((entry) => entry.token)).toEqual([' wor']);
    expect(answer.rest().map((entry) => entry.token)).toEqual(['ld']);
    expect(answer.answer()['content']).toHaveLength(4);
  });

  it('writes a token of probability 0 as -9999, as OpenAI does', () => {
    const answer = new AnswerLogprobs(model, 0);
    answer.record(token(2), new Map([[token(1), 1]]));
    expect(answer.rest()[0]?.logprob).toBe(-9999);
  });
});

describe('recordTokenProbabilities', () => {
  it('makes the sequence’s evaluate hand over each token’s candidates, passes replacement tokens on, and puts evaluate back', async () => {
    const handedBack: unknown[] = [];
    const sequence = {
      evaluate: () => {
        throw new Error('the recording evaluate should be used');
      },
      async *evaluateWithMetadata(_tokens: LlamaToken[], metadata: { probabilities: true }) {
        expect(metadata).toEqual({ probabilities: true });
        handedBack.push(yield { token: token(1), probabilities: probabilities(1) });
        handedBack.push(yield { token: token(2), probabilities: probabilities(2) });
      },
    } as unknown as LlamaContextSequence;
    const original = sequence.evaluate;
    const seen: number[] = [];
    const stop = recordTokenProbabilities(sequence, (id) => seen.push(id));
    const iterator = sequence.evaluate([token(5)]);
    expect((await iterator.next()).value).toBe(1);
    expect((await iterator.next(token(3))).value).toBe(2);
    expect((await iterator.next()).done).toBe(true);
    expect(seen).toEqual([1, 2]);
    expect(handedBack).toEqual([3, undefined]);
    stop();
    expect(sequence.evaluate).toBe(original);
  });
});
