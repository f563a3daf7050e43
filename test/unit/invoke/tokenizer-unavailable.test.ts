/**
 * An answer without usage when the local tokenizer cannot be loaded: the upstream has answered,
 * so the attempt completes, with token accounting `not_available`, on both the CLI path (one
 * transaction per write) and the gateway's (group commit, answered through the core).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { getEvidence, verifyChain } from '../../../src/evidence/index.js';
import { createGateway } from '../../../src/gateway/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../../src/invoke/types.js';
import { estimatePromptTokens } from '../../../src/router/route-request.js';
import type { FakeEngine } from '../../helpers/fake-engines/index.js';
import { loopbackEngine, pipelineOver, question } from '../../helpers/pipeline.js';
import { TEST_TOKEN } from '../gateway/harness.js';

// A broken install: importing the tokenizer module throws.
vi.mock('../../../src/evidence/tokens.js', () => {
  throw new Error('gpt-tokenizer is missing');
});

let upstream: FakeEngine;
let pipeline: PipelineContext;

beforeAll(async () => {
  // An OpenAI-wire engine that never reports usage.
  const answer = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'llama3', choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }] };
  upstream = await loopbackEngine(['llama3'], { replay: { body: JSON.stringify(answer) } });
});

afterAll(() => upstream.close());

beforeEach(async () => {
  pipeline = await pipelineOver([{ id: 'engine', class: 'local', wire: 'openai', baseUrl: upstream.baseUrl, models: [{ id: 'llama3', price: { inputPerMTok: 1, outputPerMTok: 2 } }] }]);
  return () => pipeline.store.close();
});

const request = question();

describe('an answer without usage when the tokenizer cannot be loaded', () => {
  it('completes the attempt with token accounting not_available (CLI path)', async () => {
    const result = await invoke(pipeline, { request, caller: 'cli' });
    expect(result.response.text).toBe('Paris.');
    expect(result.usage).toBeUndefined();
    expect(result.costUsd).toBeUndefined();
    expect(result.fidelity.tokenAccounting).toBe('not_available');
    expect(getEvidence(pipeline.store, result.evidenceId)).toMatchObject({ state: 'completed', tokenAccounting: 'not_available', inputTokens: null, outputTokens: null });
  });

  it('answers 200 through the gateway and completes the evidence (group commit)', async () => {
    const gateway = createGateway({ pipeline, invoke, token: TEST_TOKEN });
    const response = await gateway.fetch(
      new Request('http://gateway/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      }),
    );
    expect(response.status).toBe(200);
    const evidenceId = response.headers.get('x-syndicate-evidence') ?? '';
    await gateway.drain();
    expect(getEvidence(pipeline.store, evidenceId)).toMatchObject({ state: 'completed', tokenAccounting: 'not_available', inputTokens: null, outputTokens: null });
    expect(verifyChain(pipeline.store)).toMatchObject({ ok: true });
  });

  it("leaves the router's prompt estimate to its byte fallback", async () => {
    const text = 'What is the capital of France?';
    expect(await estimatePromptTokens(request)).toBe(Math.ceil(Math.ceil(Buffer.byteLength(text) / 3) * 1.1));
  });
});
