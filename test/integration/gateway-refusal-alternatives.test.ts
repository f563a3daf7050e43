/**
 * What a refusal of a pinned request names instead, on a real gateway over fake engines, through
 * the official clients: only models that pass the whole route for this very request (here: an
 * image needs a model tagged vision), and no egress remedy for a class that may not receive the
 * data whatever the allow-list says.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const CHAT_MODEL = 'llama3.2:latest';
const VISION_MODEL = 'llava:latest';
/** A 1×1 PNG, as Ollama's `images` carries it (base64, no data: prefix). */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
/** A connection string with its password: restricted, so it may only go to a local engine. */
const SECRET_PROMPT = 'Why does postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders refuse connections?';

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

  it('a restricted prompt pinned to a hosted model: points to the local models, never to the egress allow-list', async () => {
    const refused = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 }).chat.completions
      .create({ model: 'claude:claude-sonnet-4-5', messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const message = (refused as Error).message;
    expect(message).toMatch(/may not receive restricted data/);
    expect(message).toMatch(/\((ollama|slow|vllm)(, (ollama|slow|vllm)){2} may take it: name one of them instead/);
    // Its exclusion also says its host is not on the egress list and it has no price: neither
    // remedy could let it take restricted data, so neither is offered.
    expect(message).toMatch(/is not on the egress allow-list; no price declared/);
    expect(message).not.toContain('egress.allowHosts');
    expect(message).not.toContain('cost limits');
    expect(inferenceExchanges(claude)).toHaveLength(0);
  });
});
