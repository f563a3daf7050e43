/**
 * Engines that unload a model on their own when they load another: llama-swap runs one model at a
 * time unless its config groups them (a request for another model stops the running one first:
 * ProcessGroup.ProxyRequest, mostlygeek/llama-swap proxy/processgroup.go), and LM Studio's
 * Auto-Evict (on by default, lmstudio.ai/docs/app/api/ttl-and-auto-evict) unloads the models it
 * loaded on demand before loading another. After a cold model answered, the gateway must not go on
 * believing the model it replaced is still loaded: the next request for that one waits for a load
 * again, and its route evidence (and so the cold starts of `metrics`) must say it was cold.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startFakeLlamaSwap, type FakeLlamaSwap } from '../helpers/fake-engines/llama-swap.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

let llama: FakeEngine;
let lmStudio: FakeEngine;
let swap: FakeLlamaSwap;
let gateway: TestGateway;

const PROMPT = [{ role: 'user' as const, content: 'Name the capital of France.' }];

beforeAll(async () => {
  llama = await startFakeEngine({ kind: 'llama.cpp' });
  swap = await startFakeLlamaSwap({ models: ['chat', 'coder'], upstream: llama.url });
  // Nothing loaded at start: both models are loaded on demand (JIT), so Auto-Evict applies to both.
  lmStudio = await startFakeEngine({ kind: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct' }, { id: 'llama-3.2-3b-instruct' }], resident: [] });
  gateway = await startTestGateway({
    providers: [
      { id: 'swap', class: 'local', wire: 'openai', baseUrl: swap.baseUrl, engine: 'llama-swap', models: [{ id: 'chat' }, { id: 'coder' }] },
      { id: 'studio', class: 'local', wire: 'openai', baseUrl: lmStudio.baseUrl, engine: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct' }, { id: 'llama-3.2-3b-instruct' }] },
    ],
  });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([swap?.close(), llama?.close(), lmStudio?.close()]);
});

function client(): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
}

/** Whether the route of the request that answered called its model warm. */
async function routedWarm(model: string): Promise<boolean | undefined> {
  const { response } = await client().chat.completions.create({ model, messages: PROMPT }).withResponse();
  expect(response.status).toBe(200);
  await gateway.settled();
  const row = listEvidence(gateway.store, { limit: 20 }).find((entry) => entry.requestId === response.headers.get('x-syndicate-request') && entry.state === 'completed');
  return (getEvidence(gateway.store, row?.id ?? '') as unknown as { route: { chosen: { warm?: boolean } } } | undefined)?.route.chosen.warm;
}

describe('gateway → an engine that unloads one model to load another', () => {
  it('the model swapped out is routed cold on the next request, not warm as before the swap', async () => {
    expect(await routedWarm('swap:chat')).toBe(false);
    expect(swap.running()).toEqual(['chat']);
    expect(await routedWarm('swap:coder')).toBe(false);
    // llama-swap stopped `chat` to start `coder`.
    expect(swap.running()).toEqual(['coder']);
    expect(await routedWarm('swap:chat')).toBe(false);
    expect(await routedWarm('swap:chat')).toBe(true);
  });

  it('LM Studio: the model Auto-Evict unloaded for another loaded on demand is routed cold on the next request', async () => {
    expect(await routedWarm('studio:qwen2.5-7b-instruct')).toBe(false);
    expect(await routedWarm('studio:llama-3.2-3b-instruct')).toBe(false);
    expect(await routedWarm('studio:qwen2.5-7b-instruct')).toBe(false);
    expect(await routedWarm('studio:qwen2.5-7b-instruct')).toBe(true);
  });
});
