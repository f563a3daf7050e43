/**
 * Anthropic's and OpenAI's undated model names (`claude-sonnet-4-5`, `gpt-4o`) name the newest
 * registered dated snapshot (`claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`), as their APIs
 * resolve them; `NAME-latest` too. Through a real gateway with the official clients, and `run
 * --model` through the CLI: the dated id is what is sent and what the evidence records; the
 * response's `model` is the `provider:model` that answered, as for any alias. A dated name nothing
 * registers stays a 404.
 */
import Anthropic, { NotFoundError } from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const SONNET = 'claude-sonnet-4-5-20250929';
const OLDER_SONNET = 'claude-sonnet-4-5-20250101';
const HAIKU = 'claude-3-5-haiku-20241022';
const GPT = 'gpt-4o-2024-08-06';
const sentModel = (engine: FakeEngine): unknown => JSON.parse(inferenceExchanges(engine).at(-1)!.requestBody.toString()).model;

describe('undated model names through the gateway', () => {
  let claude: FakeEngine;
  let openaiEngine: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    [claude, openaiEngine] = await Promise.all([
      startFakeEngine({ kind: 'anthropic', models: [{ id: OLDER_SONNET }, { id: SONNET }, { id: HAIKU }] }),
      startFakeEngine({ kind: 'openai', models: [{ id: GPT }] }),
    ]);
    gateway = await startTestGateway({
      providers: [
        {
          id: 'claude',
          class: 'approved_hosted',
          wire: 'anthropic',
          baseUrl: claude.baseUrl,
          auth: true,
          models: [{ id: OLDER_SONNET }, { id: SONNET }, { id: HAIKU }].map((model) => ({ ...model, price: { inputPerMTok: 3, outputPerMTok: 15 } })),
        },
        { id: 'openai', class: 'approved_hosted', wire: 'openai', baseUrl: openaiEngine.baseUrl, auth: true, models: [{ id: GPT, price: { inputPerMTok: 2.5, outputPerMTok: 10 } }] },
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([claude?.close(), openaiEngine?.close()]);
  });

  const anthropic = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: 'Say hello.' }];

  it('the anthropic client: claude-sonnet-4-5 is the newest dated sonnet, sent and recorded as such; the reply names it as provider:model', async () => {
    const { data, response } = await anthropic().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages }).withResponse();
    expect(data.model).toBe(`claude:${SONNET}`);
    expect(data.content[0]?.type).toBe('text');
    expect(sentModel(claude)).toBe(SONNET);
    await gateway.settled();
    expect(getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '')).toMatchObject({ model: SONNET, provider: { id: 'claude' } });
  }, 90_000);

  it('streamed, as provider:model, and the -latest form', async () => {
    const streamed = await anthropic().messages.stream({ model: 'claude:claude-sonnet-4-5', max_tokens: 64, messages }).finalMessage();
    expect(streamed.content[0]?.type).toBe('text');
    expect(sentModel(claude)).toBe(SONNET);
    await anthropic().messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages });
    expect(sentModel(claude)).toBe(HAIKU);
  }, 90_000);

  it('a dated name nothing registers, and a bare date-less prefix of no model, stay a 404', async () => {
    await expect(anthropic().messages.create({ model: 'claude-sonnet-4-5-20240101', max_tokens: 64, messages })).rejects.toBeInstanceOf(NotFoundError);
    await expect(anthropic().messages.create({ model: 'claude-sonnet-4', max_tokens: 64, messages })).rejects.toBeInstanceOf(NotFoundError);
  }, 90_000);

  it('the ollama client, which tags a tagless name :latest', async () => {
    const ollama = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    for (const model of ['claude-sonnet-4-5:latest', 'gpt-4o']) {
      expect((await ollama.chat({ model, messages, stream: false })).message.content).not.toBe('');
    }
    expect(sentModel(openaiEngine)).toBe(GPT);
    await ollama.chat({ model: 'claude-sonnet-4-5:latest', messages, stream: false });
    expect(sentModel(claude)).toBe(SONNET);
  }, 90_000);

  it("the openai client: gpt-4o is OpenAI's gpt-4o-2024-08-06", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(completion.model).toBe(`openai:${GPT}`);
    expect(sentModel(openaiEngine)).toBe(GPT);
  }, 90_000);
});

describe('run --model with an undated name', () => {
  const KEY = 'FAKE_ANTHROPIC_KEY';
  const env = { [KEY]: 'test-key' };
  let claude: FakeEngine;
  let scenario: Scenario;

  beforeAll(async () => {
    claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: SONNET }] });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'claude', engine: claude, class: 'approved_hosted', authEnv: KEY, model: SONNET, price: { inputPerMTok: 3, outputPerMTok: 15 } });
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await claude?.close();
  });

  it('claude-sonnet-4-5 runs on the dated model and the evidence records it', async () => {
    const { result, document } = await scenario.json(['run', 'Say hello.', '--no-stream', '--model', 'claude-sonnet-4-5'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ provider: { id: 'claude' }, model: SONNET });
    expect(sentModel(claude)).toBe(SONNET);
    expect(await scenario.evidence(document.evidenceId as string)).toMatchObject({ model: SONNET });
  }, 90_000);
});
