/**
 * An answer without usage whose text the local tokenizer refuses (it throws on a text): the
 * upstream has answered, so the attempt completes with token accounting `not_available` rather
 * than failing as an internal error after the answer.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { getEvidence } from '../../../src/evidence/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import { PermitKey } from '../../../src/permits/index.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { openStore } from '../../../src/store/store.js';
import { registerTestProvider, testPolicy } from '../gateway/harness.js';

vi.mock('../../../src/evidence/tokens.js', () => ({
  approximateTokens: (text: string): number => {
    if (text.includes('<|refused|>')) throw new Error('Disallowed special token found: <|refused|>');
    return Math.ceil(text.length / 4);
  },
}));

let upstream: Server;
let baseUrl: string;

beforeAll(async () => {
  // An OpenAI-wire engine that never reports usage.
  upstream = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const answer = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'llama3', choices: [{ index: 0, message: { role: 'assistant', content: 'A marker.' }, finish_reason: 'stop' }] };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

it('completes an answered attempt with token accounting not_available when the tokenizer refuses its prompt', async () => {
  const store = openStore(':memory:');
  try {
    await registerTestProvider(store, { id: 'engine', class: 'local', wire: 'openai', baseUrl, models: [{ id: 'llama3' }] });
    const pipeline = { store, policy: testPolicy(), permitKey: PermitKey.fromBytes(randomBytes(32)), health: new HealthMonitor(), env: {} };
    const request = { model: 'auto', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'What does <|refused|> mean?' }] }], stream: false };
    const result = await invoke(pipeline, { request, caller: 'cli' });
    expect(result.response.text).toBe('A marker.');
    expect(result.fidelity.tokenAccounting).toBe('not_available');
    expect(getEvidence(store, result.evidenceId)).toMatchObject({ state: 'completed', tokenAccounting: 'not_available', inputTokens: null, outputTokens: null });
  } finally {
    store.close();
  }
});
