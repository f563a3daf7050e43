/**
 * Local embeddings in the savings estimate, through a real gateway and the official `openai` client
 * against a fake Ollama serving a chat and an embedding model on their real wire: metrics know an
 * embeddings answer by what was sent upstream (`…/embeddings`), and leave its tokens out of the
 * savings instead of pricing them at the reference chat model's input rate ($2 per MTok by default,
 * where hosted embedding models cost $0.02–0.13).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { computeMetrics } from '../../src/metrics/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: CHAT }, { id: EMBED, embedding: true }] });
  gateway = await startTestGateway({
    providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: CHAT }, { id: EMBED, kind: 'embedding' }] }],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
});

describe('metrics of local embeddings answers', () => {
  it('leave their input tokens out of the savings, counted apart; the chat answer beside them is priced at the reference', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const { response: embedded } = await client.embeddings.create({ model: `ollama:${EMBED}`, input: ['the first document to index', 'and the second one'] }).withResponse();
    const { response: chatted } = await client.chat.completions.create({ model: `ollama:${CHAT}`, messages: [{ role: 'user', content: 'Say hello.' }] }).withResponse();
    await gateway.settled();
    const embedding = getEvidence(gateway.store, embedded.headers.get('x-syndicate-evidence') ?? '');
    const chat = getEvidence(gateway.store, chatted.headers.get('x-syndicate-evidence') ?? '');
    expect(embedding?.inputTokens).toBeGreaterThan(0);
    expect(chat?.inputTokens).toBeGreaterThan(0);

    const policy = testPolicy();
    const { savings, requests, tokens } = computeMetrics(gateway.store, policy, { sinceMs: 0, untilMs: Date.now() + 60_000 });
    const chatAtReference = ((chat?.inputTokens ?? 0) * policy.savings.inputPerMTok + (chat?.outputTokens ?? 0) * policy.savings.outputPerMTok) / 1e6;
    expect(savings.localTokensAtReferenceUsd).toBeCloseTo(chatAtReference, 12);
    expect(savings.estimatedSavingsUsd).toBeCloseTo(chatAtReference, 12);
    expect(savings.embeddingTokensLeftOut).toBe(embedding?.inputTokens);
    // Still answered requests, with their tokens.
    expect(requests.local).toBe(2);
    expect(tokens.local.input).toBe((embedding?.inputTokens ?? 0) + (chat?.inputTokens ?? 0));
  }, 90_000);
});
