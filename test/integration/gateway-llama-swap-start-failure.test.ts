/**
 * The gateway in front of llama-swap when one model's process cannot start (a wrong model path,
 * too little memory, a health check that never passes): llama-swap answers that request with a 502
 * `unable to start process: …` in plain text (proxy/process.go ProxyRequest), while its other models
 * run as before. That is the model's failure, not the engine's: the request goes on to the next
 * model of the same llama-swap, and repeated failures hold back that model alone, never the
 * engine's other models.
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
let lmStudio: FakeEngine;
let swap: FakeLlamaSwap;
let gateway: TestGateway;

const PROMPT = [{ role: 'user' as const, content: 'Name the capital of France.' }];

beforeAll(async () => {
  llama = await startFakeEngine({ kind: 'llama.cpp' });
  lmStudio = await startFakeEngine({ kind: 'lmstudio' });
  swap = await startFakeLlamaSwap({ models: ['broken', 'coder'], upstream: llama.url, unstartable: { broken: 'upstream command exited prematurely but successfully' } });
  // By priority alone: `broken` ranks first however the others are timed.
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
        models: [
          { id: 'broken', priority: 9 },
          { id: 'coder', priority: 5 },
        ],
      },
      // Ranked after llama-swap's working model: a failure of the whole llama-swap would put it first.
      { id: 'studio', class: 'local', wire: 'openai', baseUrl: lmStudio.baseUrl, engine: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct', priority: 1 }] },
    ],
  });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([swap?.close(), llama?.close(), lmStudio?.close()]);
});

/** Each test starts with nothing held back (another test's failure holds `broken` in the store). */
function forgetHolds(): void {
  releaseHolds(gateway.store, listProviders(gateway.store).map((provider) => ({ provider, everyModel: true })), 'every');
  gateway.pipeline.health = new HealthMonitor();
}

function client(): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
}

describe('gateway → llama-swap, a model whose process cannot start', () => {
  it('fails that model alone: the request goes on to the next model of the same llama-swap, and the others stay routable', async () => {
    forgetHolds();
    const requests: (string | null)[] = [];
    // More requests than failures in a row hold a provider back (3).
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const { data, response } = await client().chat.completions.create({ model: 'auto', messages: PROMPT }).withResponse();
      expect(response.status).toBe(200);
      // The next model of the same llama-swap, not the other engine's lower-ranked one.
      expect(response.headers.get('x-syndicate-provider')).toBe('swap');
      expect(response.headers.get('x-syndicate-model')).toBe('coder');
      expect(data.choices[0]?.message.content).toBeTruthy();
      requests.push(response.headers.get('x-syndicate-request'));
    }
    await gateway.settled();
    const failed = listEvidence(gateway.store, { limit: 50 }).filter((row) => requests.includes(row.requestId) && row.model === 'broken' && row.state === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    const evidence = getEvidence(gateway.store, failed[0]!.id);
    expect(evidence?.status).toBe(502);
    expect(evidence?.response.body?.toString('utf8')).toBe('unable to start process: upstream command exited prematurely but successfully\n');
    // Held back alone: the first failure is enough (each costs a start attempt, up to llama-swap's healthCheckTimeout).
    expect(failed.length).toBe(1);
    const pinned = await client().chat.completions.create({ model: 'swap:coder', messages: PROMPT }).withResponse();
    expect(pinned.response.status).toBe(200);
  });

  it('pinned to that model: the caller is told the model could not start, with llama-swap\'s words', async () => {
    forgetHolds();
    const error = await client()
      .chat.completions.create({ model: 'swap:broken', messages: PROMPT })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(500);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('unable to start process: upstream command exited prematurely but successfully');
  });
});
