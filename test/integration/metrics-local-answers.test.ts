/**
 * What metrics make of local answers, through a real gateway and the official `openai` client
 * against fake engines on their real wire. Embeddings (a fake Ollama serving a chat and an embedding
 * model): metrics know an embeddings answer by what was sent upstream (`…/embeddings`), and leave
 * its tokens out of the savings instead of pricing them at the reference chat model's input rate
 * ($2 per MTok by default, where hosted embedding models cost $0.02–0.13). Token counts an engine
 * did not report (LM Studio streams before 0.3.18 carry no usage): counted locally, and metrics
 * say how many answers' counts are such estimates.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { computeMetrics } from '../../src/metrics/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

describe('metrics of local embeddings answers', () => {
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

describe('metrics of answers whose engine reported no usage', () => {
  let studio: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    studio = await startFakeEngine({ kind: 'lmstudio', lmStudioVersion: '0.3.17' });
    gateway = await startTestGateway({
      providers: [{ id: 'studio', class: 'local', wire: 'openai', baseUrl: studio.baseUrl, engine: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct' }] }],
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await studio?.close();
  });

  it('count them as estimated, apart from the answers the engine counted', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Say hello.' }];
    // Not streamed: LM Studio reports usage. Streamed: before 0.3.18 it sends none, whatever was asked.
    await client.chat.completions.create({ model: 'studio:qwen2.5-7b-instruct', messages });
    const stream = await client.chat.completions.create({ model: 'studio:qwen2.5-7b-instruct', messages, stream: true, stream_options: { include_usage: true } });
    // Read to its end (the gateway sends the client a usage chunk of its own count).
    for await (const chunk of stream) void chunk;
    await gateway.settled();
    const rows = await vi.waitFor(
      () => {
        const listed = listEvidence(gateway.store, { limit: 2 });
        expect(listed.map((row) => row.state)).toEqual(['completed', 'completed']);
        return listed;
      },
      { timeout: 20_000, interval: 20 },
    );
    expect(rows.map((row) => row.tokenAccounting).sort()).toEqual(['approximate', 'exact']);

    const { tokens } = computeMetrics(gateway.store, testPolicy(), { sinceMs: 0, untilMs: Date.now() + 60_000 });
    expect(tokens.estimatedCounts).toBe(1);
    expect(tokens.withoutCounts).toBe(0);
  }, 90_000);
});
