/**
 * Hot-swap while the gateway streams: a request for a higher-priority cold model on a full engine
 * evicts lower-ranked models — but never one a request in flight is using (its stream would be cut
 * by a llama.cpp router or llama-swap, and Ollama would hold the unload, and the load, until it
 * ended). A real gateway over the fake Ollama, driven by the official `openai` client.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const GB = 1e9;
const CHAT = 'llama3.2:latest';
const CODER = 'qwen2.5-coder:7b';

let engine: FakeEngine;
let gateway: TestGateway;

afterEach(async () => {
  await gateway?.close();
  await engine?.close();
});

/** A budgeted model of the fake Ollama: its size there and in the record, its declared priority. */
interface BudgetedModel {
  id: string;
  gb: number;
  priority: number;
}

/** The fake Ollama (the first model resident) registered with an 8 GB budget behind a fresh gateway; streams answer ten words. */
function budgetedGateway(models: BudgetedModel[]): void {
  beforeEach(async () => {
    engine = await startFakeEngine({ kind: 'ollama', models: models.map((model) => ({ id: model.id, sizeBytes: model.gb * GB })), answer: 'one two three four five six seven eight nine ten' });
    gateway = await startTestGateway({
      providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', vramBudgetGb: 8, models: models.map((model) => ({ id: model.id, vramGb: model.gb, priority: model.priority })) }],
    });
  });
}

/** 8 GB: the chat model (4 GB, priority 2) is resident; the coder (5 GB, priority 5) needs it out. */
const CHAT_AND_CODER: BudgetedModel[] = [
  { id: CHAT, gb: 4, priority: 2 },
  { id: CODER, gb: 5, priority: 5 },
];

/** The bodies of the unloads the fake Ollama received (`/api/generate` with `keep_alive: 0`). */
function unloads(): unknown[] {
  return engine.exchanges
    .filter((exchange) => exchange.path === '/api/generate')
    .map((exchange) => JSON.parse(exchange.requestBody.toString('utf8')) as Record<string, unknown>)
    .filter((body) => body['keep_alive'] === 0);
}

/**
 * A streamed answer of `model` slowed to a chunk every 400 ms, once its first chunk arrived (in
 * flight from then on); `rest` reads it to its end and returns its text.
 */
async function streamInFlight(client: OpenAI, model: string): Promise<{ rest: () => Promise<string> }> {
  engine.setFault({ slowStreamMs: 400 }, 1, { model });
  const stream = await client.chat.completions.create({ model: `ollama:${model}`, stream: true, messages: [{ role: 'user', content: 'Count to ten.' }] });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  expect(first.done).toBe(false);
  return {
    rest: async () => {
      let text = first.done === true ? '' : (first.value.choices[0]?.delta.content ?? '');
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) text += next.value.choices[0]?.delta.content ?? '';
      return text;
    },
  };
}

describe('a cold higher-priority model on a full engine while a lower one streams', () => {
  budgetedGateway(CHAT_AND_CODER);

  it('does not evict the model the stream is using: the cold one is refused meanwhile, naming why, and evicts it once the stream ended', { timeout: 90_000 }, async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const stream = await streamInFlight(client, CHAT);

    const refused = await client.chat.completions.create({ model: `ollama:${CODER}`, messages: [{ role: 'user', content: 'Write a haiku.' }] }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(`${CHAT} (priority 2, 4 GB) is in use by a request in flight`);
    expect(unloads()).toEqual([]);

    expect(await stream.rest()).toContain('ten');
    await gateway.settled();

    // The stream over, the chat model is evictable again.
    const answered = await client.chat.completions.create({ model: `ollama:${CODER}`, messages: [{ role: 'user', content: 'Write a haiku.' }] });
    expect(answered.choices[0]?.message.content).toBeTruthy();
    expect(unloads()).toEqual([{ model: CHAT, keep_alive: 0 }]);
  });
});

describe('an Ollama client loading a model through the gateway while a stream uses the one in the way', () => {
  budgetedGateway(CHAT_AND_CODER);

  it('is refused (403) naming the model in use, which is not unloaded; loaded once the stream ended', { timeout: 90_000 }, async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const ollama = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    const stream = await streamInFlight(openai, CHAT);

    const refused = await ollama.generate({ model: `ollama:${CODER}`, prompt: '' }).catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ name: 'ResponseError', status_code: 403 });
    expect((refused as Error).message).toContain(`${CHAT} (priority 2, 4 GB) is in use by a request in flight`);
    expect((refused as Error).message).toContain('load it again once the requests using the models in the way have ended');
    expect(unloads()).toEqual([]);

    await stream.rest();
    await gateway.settled();
    expect(await ollama.generate({ model: `ollama:${CODER}`, prompt: '' })).toMatchObject({ done_reason: 'load' });
    expect(unloads()).toEqual([{ model: CHAT, keep_alive: 0 }]);
  });
});

describe('what the gateway knows its engine holds, right after a cold call or an eviction', () => {
  budgetedGateway(CHAT_AND_CODER);

  /** The route of the answer's evidence: whether the model was warm, what it evicted. */
  async function routed(model: string): Promise<Record<string, unknown>> {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: `ollama:${model}`, messages: [{ role: 'user', content: 'Hello.' }] }).withResponse();
    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    return (evidence?.route as { chosen: Record<string, unknown> }).chosen;
  }

  it('the model a cold call loaded is warm for the next request (its load counted once), and the one it evicted cold (not routed warm past the budget)', { timeout: 90_000 }, async () => {
    expect(await routed(CODER)).toMatchObject({ warm: false, evicts: [CHAT] });
    // At once, within the gateway's probe interval: the engine holds the coder now, and not the chat model.
    const again = await routed(CODER);
    expect(again['warm']).toBe(true);
    expect(again['evicts']).toBeUndefined();
    // The chat model is out now: cold, and the coder it does not outrank leaves it no room (it was routed warm, past the budget).
    const refused = await routed(CHAT).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(`${CHAT} (priority 2) does not outrank ${CODER}`);
    expect(unloads()).toEqual([{ model: CHAT, keep_alive: 0 }]);
  });
});

describe('two cold models one after the other while the first still streams', () => {
  const MISTRAL = 'mistral:7b';
  // The coder and mistral (5 GB, priority 6) each need all but 3 GB.
  budgetedGateway([...CHAT_AND_CODER, { id: MISTRAL, gb: 5, priority: 6 }]);

  it('the model being loaded for the stream counts in the budget: the second is refused rather than loaded beside it (10 GB in an 8 GB budget)', { timeout: 90_000 }, async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const stream = await streamInFlight(client, CODER);
    expect(unloads()).toEqual([{ model: CHAT, keep_alive: 0 }]);

    const refused = await client.chat.completions.create({ model: `ollama:${MISTRAL}`, messages: [{ role: 'user', content: 'Write a haiku.' }] }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(`${CODER} (priority 5, 5 GB) is in use by a request in flight`);
    await stream.rest();
    expect(engine.exchanges.filter((exchange) => exchange.path === '/v1/chat/completions').map((exchange) => (JSON.parse(exchange.requestBody.toString('utf8')) as { model: string }).model)).toEqual([CODER]);
  });
});
