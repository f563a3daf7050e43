/**
 * An answer without usage whose text the local tokenizer refuses (it throws on a text): the
 * upstream has answered, so the attempt completes with token accounting `not_available` rather
 * than failing as an internal error after the answer.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { getEvidence } from '../../../src/evidence/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { FakeEngine } from '../../helpers/fake-engines/index.js';
import { loopbackEngine, pipelineOver, question } from '../../helpers/pipeline.js';

vi.mock('../../../src/evidence/tokens.js', () => ({
  approximateTokens: (text: string): number => {
    if (text.includes('<|refused|>')) throw new Error('Disallowed special token found: <|refused|>');
    return Math.ceil(text.length / 4);
  },
}));

let upstream: FakeEngine;

beforeAll(async () => {
  // An OpenAI-wire engine that never reports usage.
  const answer = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'llama3', choices: [{ index: 0, message: { role: 'assistant', content: 'A marker.' }, finish_reason: 'stop' }] };
  upstream = await loopbackEngine(['llama3'], { replay: { body: JSON.stringify(answer) } });
});

afterAll(() => upstream.close());

it('completes an answered attempt with token accounting not_available when the tokenizer refuses its prompt', async () => {
  const pipeline = await pipelineOver([{ id: 'engine', class: 'local', wire: 'openai', baseUrl: upstream.baseUrl, models: [{ id: 'llama3' }] }]);
  const { store } = pipeline;
  try {
    const result = await invoke(pipeline, { request: question('What does <|refused|> mean?'), caller: 'cli' });
    expect(result.response.text).toBe('A marker.');
    expect(result.fidelity.tokenAccounting).toBe('not_available');
    expect(getEvidence(store, result.evidenceId)).toMatchObject({ state: 'completed', tokenAccounting: 'not_available', inputTokens: null, outputTokens: null });
  } finally {
    store.close();
  }
});
