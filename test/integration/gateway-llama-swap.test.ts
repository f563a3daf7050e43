/**
 * The gateway in front of llama-swap (a fake that answers as mostlygeek/llama-swap's source does,
 * proxying a fake llama-server): a model the record declares but llama-swap's config lacks is
 * refused with a 400 that says so — in plain text for a stream, `{"error":…}` otherwise — which is
 * the model's failure (held back on its own, the request goes on to the next candidate), not the
 * engine's; and llama-swap's `/running` tells the router which model is warm.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { listProviders } from '../../src/registry/registry.js';
import { HealthMonitor } from '../../src/router/health.js';
import { releaseHolds } from '../../src/router/shared-holds.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startFakeLlamaSwap, type FakeLlamaSwap } from '../helpers/fake-engines/llama-swap.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

let llama: FakeEngine;
let swap: FakeLlamaSwap;
let gateway: TestGateway;

function client(): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
}

beforeAll(async () => {
  llama = await startFakeEngine({ kind: 'llama.cpp' });
  swap = await startFakeLlamaSwap({ models: ['coder'], upstream: llama.url });
  // By priority alone: `coder`, once warm and timed, would otherwise rank before the cold `ghost`.
  const byPriority = testPolicy();
  byPriority.workflows = { ...byPriority.workflows, interactive: { prefer: ['priority'], latencyBudget: {} } };
  gateway = await startTestGateway({
    policy: byPriority,
    providers: [
      {
        id: 'swap',
        class: 'local',
        wire: 'openai',
        baseUrl: swap.baseUrl,
        engine: 'llama-swap',
        // `ghost` is in the record, not in llama-swap's config.yaml; it ranks first.
        models: [
          { id: 'ghost', priority: 9 },
          { id: 'coder', priority: 5 },
        ],
      },
    ],
  });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([swap?.close(), llama?.close()]);
});

describe('gateway → llama-swap', () => {
  it.each([
    ['a whole answer (llama-swap answers {"error":…})', false, '{"error":"could not find suitable inference handler for ghost"}'],
    ['a stream (llama-swap answers in plain text)', true, 'could not find suitable inference handler for ghost'],
  ])('%s: a model llama-swap lacks is held back alone and the request goes on to the next model', async (_name, stream, refusal) => {
    // The other case's refusal holds `ghost` back (in the store, for every process): this one starts without it.
    releaseHolds(gateway.store, listProviders(gateway.store).map((provider) => ({ provider, everyModel: true })), 'every');
    gateway.pipeline.health = new HealthMonitor();
    const prompt = [{ role: 'user' as const, content: 'Name the capital of France.' }];
    const { response } = stream
      ? await client().chat.completions.create({ model: 'auto', messages: prompt, stream: true }).withResponse()
      : await client().chat.completions.create({ model: 'auto', messages: prompt }).withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-syndicate-model')).toBe('coder');
    if (stream) await response.text();
    await gateway.settled();
    const rows = listEvidence(gateway.store, { limit: 5 }).filter((row) => row.requestId === response.headers.get('x-syndicate-request'));
    expect(rows.map((row) => [row.model, row.state, row.hop])).toEqual(
      expect.arrayContaining([
        ['ghost', 'failed', 0],
        ['coder', 'completed', 1],
      ]),
    );
    const failed = getEvidence(gateway.store, rows.find((row) => row.state === 'failed')?.id ?? '');
    expect(failed?.status).toBe(400);
    expect(failed?.response.body?.toString('utf8')).toBe(refusal);
  });

  it('pinned to that model: the caller is told the provider does not serve it, not that the engine failed', async () => {
    releaseHolds(gateway.store, listProviders(gateway.store).map((provider) => ({ provider, everyModel: true })), 'every');
    gateway.pipeline.health = new HealthMonitor();
    const error = await client()
      .chat.completions.create({ model: 'swap:ghost', messages: [{ role: 'user', content: 'Name the capital of France.' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('swap:ghost is not served by its provider (it answered that the model does not exist)');
  });

  it('the router reads which model llama-swap holds from /running', async () => {
    const providers = listProviders(gateway.store);
    await fetch(`${swap.url}/api/models/unload/coder`, { method: 'POST' });
    expect(await new HealthMonitor().warmSnapshot(providers)).toEqual({ swap: [] });
    await client().chat.completions.create({ model: 'swap:coder', messages: [{ role: 'user', content: 'Name the capital of France.' }] });
    expect(await new HealthMonitor().warmSnapshot(providers)).toEqual({ swap: ['coder'] });
  });
});
