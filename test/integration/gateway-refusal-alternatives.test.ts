/**
 * What a refusal of a pinned request names instead, on a real gateway over fake engines, through
 * the official clients: only models that pass the whole route for this very request (here: an
 * image needs a model tagged vision).
 */
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const CHAT_MODEL = 'llama3.2:latest';
const VISION_MODEL = 'llava:latest';
/** A 1×1 PNG, as Ollama's `images` carries it (base64, no data: prefix). */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const local = (id: string, engine: FakeEngine, kind: 'ollama' | 'vllm', models: TestProvider['models']): TestProvider => ({
  id,
  class: 'local',
  wire: 'openai',
  baseUrl: engine.baseUrl,
  engine: kind,
  models,
});

let ollama: FakeEngine;
let slow: FakeEngine;
let vllm: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [ollama, slow, vllm, claude] = await Promise.all([
    startFakeEngine({ kind: 'ollama', models: [{ id: CHAT_MODEL }, { id: VISION_MODEL }] }),
    startFakeEngine({ kind: 'vllm', models: [{ id: 'qwen' }] }),
    startFakeEngine({ kind: 'vllm', models: [{ id: 'mistral' }] }),
    startFakeEngine({ kind: 'anthropic' }),
  ]);
  gateway = await startTestGateway({
    providers: [
      local('ollama', ollama, 'ollama', [{ id: CHAT_MODEL }, { id: VISION_MODEL, tags: ['vision'] }]),
      local('slow', slow, 'vllm', [{ id: 'qwen' }]),
      local('vllm', vllm, 'vllm', [{ id: 'mistral' }]),
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-5' }] },
    ],
    // The hosted fake's host (127.0.0.1) is not on the egress allow-list.
    policy: testPolicy({ egress: { allowHosts: [] } }),
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([ollama?.close(), slow?.close(), vllm?.close(), claude?.close()]);
});

describe('a refused pinned request names only what could take it', () => {
  it('an image pinned to a model not tagged vision (POST /api/chat): names the vision model of the same provider, not the other chat models', async () => {
    const refused = await new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } })
      .chat({ model: `ollama:${CHAT_MODEL}`, messages: [{ role: 'user', content: 'What is in this picture?', images: [PNG] }] })
      .catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ name: 'ResponseError', status_code: 403 });
    const message = (refused as Error).message;
    expect(message).toContain(`(ollama:${VISION_MODEL} may take it: name it instead`);
    expect(message).not.toMatch(/\bslow\b|\bvllm\b/);
    expect(inferenceExchanges(ollama)).toHaveLength(0);
  });
});
