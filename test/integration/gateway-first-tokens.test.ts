/**
 * `prefer: fastest` in a running gateway ranks by what the process itself saw, model by model:
 * one Ollama engine serves a small fast model and a large slow one, and the large one must not
 * inherit the small one's first token (nor the reverse) because they share a provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { listProviders } from '../../src/registry/registry.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

/** What the large model takes to its first byte, and the other engine's model: far apart, and both far above a fast answer. */
const HUGE_FIRST_TOKEN_MS = 900;
const MID_FIRST_TOKEN_MS = 350;

let ollama: FakeEngine;
let vllm: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [ollama, vllm] = await Promise.all([
    // Both warm by the time they answer: `huge` resident from the start, `tiny` answering fast however it is.
    startFakeEngine({ kind: 'ollama', models: [{ id: 'huge' }, { id: 'tiny' }] }),
    startFakeEngine({ kind: 'vllm', models: [{ id: 'mid' }] }),
  ]);
  gateway = await startTestGateway({
    providers: [
      // `writer` names the large model of the one and the model of the other: the request below lets `prefer: fastest` choose.
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'tiny' }, { id: 'huge', aliases: ['writer'] }] },
      { id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: 'mid', aliases: ['writer'] }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([ollama?.close(), vllm?.close()]);
});

/** One non-streamed chat completion through `on` (default: the first gateway): where it went and its evidence. */
async function complete(model: string, on: TestGateway = gateway): Promise<{ provider: string | null; model: string | null; evidenceId: string }> {
  const response = await fetch(`${on.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Name the capital of France.' }], stream: false }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.text();
  return { provider: response.headers.get('x-syndicate-provider'), model: response.headers.get('x-syndicate-model'), evidenceId: response.headers.get('x-syndicate-evidence') ?? '' };
}

describe('gateway: live first tokens are kept per provider:model', () => {
  it("a slow model is ranked by its own last answer, not by a faster model's of the same engine", async () => {
    ollama.setFault({ slowStreamMs: HUGE_FIRST_TOKEN_MS }, 1);
    expect(await complete('ollama:huge')).toMatchObject({ provider: 'ollama', model: 'huge' });
    vllm.setFault({ slowStreamMs: MID_FIRST_TOKEN_MS }, 1);
    expect(await complete('vllm:mid')).toMatchObject({ provider: 'vllm', model: 'mid' });
    // The engine's last answer is now the small model's, in a few milliseconds: what a per-provider figure would rank huge by.
    expect(await complete('ollama:tiny')).toMatchObject({ provider: 'ollama', model: 'tiny' });

    // `writer`: huge (its own last answer, ~900 ms) or mid (~350 ms): mid is faster.
    const chosen = await complete('writer');
    expect({ provider: chosen.provider, model: chosen.model }).toEqual({ provider: 'vllm', model: 'mid' });
    await gateway.settled();
    const route = getEvidence(gateway.store, chosen.evidenceId)?.route as { candidates: string[]; chosen: { reasons: string[] } };
    expect(route.candidates).toEqual(['vllm:mid', 'ollama:huge']);
    const expected = route.chosen.reasons.find((reason) => reason.startsWith('expected first token'));
    expect(expected).toMatch(/^expected first token \d+ ms \(its last answer in this process\)$/);
    expect(Number(/\d+/.exec(expected ?? '')?.[0])).toBeGreaterThanOrEqual(MID_FIRST_TOKEN_MS);
  });
});

describe('gateway: a cold answer is not a live first-token figure', () => {
  let cold: FakeEngine;
  let steady: FakeEngine;
  let coldGateway: TestGateway;

  beforeAll(async () => {
    // Ollama says what it holds (/api/ps): `resident` at start, `big` cold until called.
    [cold, steady] = await Promise.all([startFakeEngine({ kind: 'ollama', models: [{ id: 'resident' }, { id: 'big' }] }), startFakeEngine({ kind: 'vllm', models: [{ id: 'mid' }] })]);
    coldGateway = await startTestGateway({
      providers: [
        { id: 'ollama', class: 'local', wire: 'openai', baseUrl: cold.baseUrl, engine: 'ollama', models: [{ id: 'resident' }, { id: 'big', aliases: ['writer'] }] },
        { id: 'vllm', class: 'local', wire: 'openai', baseUrl: steady.baseUrl, engine: 'vllm', models: [{ id: 'mid', aliases: ['writer'] }] },
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await coldGateway?.close();
    await Promise.all([cold?.close(), steady?.close()]);
  });

  it("the load a cold model's first answer took is not taken for its first token (the evidence seed leaves cold answers out too)", async () => {
    const call = async (model: string): Promise<string> => {
      const answered = await complete(model, coldGateway);
      return `${answered.provider}:${answered.model}`;
    };
    // Loading `big` takes ~900 ms before its first byte; `mid`, warm, answers in ~350 ms.
    cold.setFault({ slowStreamMs: HUGE_FIRST_TOKEN_MS }, 1);
    expect(await call('ollama:big')).toBe('ollama:big');
    steady.setFault({ slowStreamMs: MID_FIRST_TOKEN_MS }, 1);
    expect(await call('vllm:mid')).toBe('vllm:mid');
    expect(coldGateway.pipeline.health.firstTokenSnapshot(listProviders(coldGateway.store))).toEqual({ vllm: { mid: expect.any(Number) } });
    // Nothing is known of big's first token without its load: unknown ranks as fast, as a model never tried does.
    expect(await call('writer')).toBe('ollama:big');
  });
});

