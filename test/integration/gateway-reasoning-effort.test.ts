/**
 * A client's reasoning effort reaches the model that answers, in that model's own terms, or the
 * client is told it did not: the official clients against fake engines that record what they
 * received. OpenAI's `reasoning_effort` / `reasoning.effort` go as `reasoning_effort` to servers
 * that take it (at the nearest level they take) and as Anthropic `thinking` on the anthropic wire;
 * an Anthropic client's `thinking` goes as `reasoning_effort` to an openai-wire server; a model that
 * refuses the field (an OpenAI model that does not reason) is never sent it.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const PRICE = { inputPerMTok: 2, outputPerMTok: 10 };
const SOL = 'gpt-6.2-sol';
const CLASSIC = 'gpt-4.1';
const SONNET = 'claude-sonnet-5-5';
const OPUS = 'claude-opus-5-5';
const QUESTION = 'What is the capital of France?';

let openai: FakeEngine;
let vllm: FakeEngine;
let ollama: FakeEngine;
let llamaCpp: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [openai, vllm, ollama, llamaCpp, claude] = await Promise.all([
    startFakeEngine({ kind: 'openai', models: [{ id: SOL }, { id: CLASSIC }] }),
    startFakeEngine({ kind: 'vllm', models: [{ id: 'Qwen/Qwen3-8B' }] }),
    startFakeEngine({ kind: 'ollama', models: [{ id: 'qwen3:8b' }] }),
    startFakeEngine({ kind: 'llama.cpp' }),
    startFakeEngine({ kind: 'anthropic', models: [{ id: SONNET }, { id: OPUS }] }),
  ]);
  gateway = await startTestGateway({
    // Ranked by priority alone, so that `gpt` goes to the classic model unless a rule leaves it out.
    policy: testPolicy({ workflows: { interactive: { prefer: ['priority'], latencyBudget: {} }, batch: { prefer: ['priority'], latencyBudget: {} } } }),
    providers: [
      { id: 'openai', class: 'approved_hosted', wire: 'openai', vendor: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: CLASSIC, priority: 10, tags: ['chat'], aliases: ['gpt'], price: PRICE }] },
      {
        id: 'openai-next',
        class: 'approved_hosted',
        wire: 'openai',
        vendor: 'openai',
        baseUrl: openai.baseUrl,
        auth: true,
        models: [{ id: SOL, priority: 1, tags: ['chat', 'reasoning'], aliases: ['gpt'], price: PRICE, reasoningEfforts: ['low', 'medium', 'high', 'xhigh', 'max'] }],
      },
      { id: 'vllm', class: 'local', wire: 'openai', engine: 'vllm', baseUrl: vllm.baseUrl, models: [{ id: 'Qwen/Qwen3-8B' }] },
      { id: 'ollama', class: 'local', wire: 'openai', engine: 'ollama', baseUrl: ollama.baseUrl, models: [{ id: 'qwen3:8b', tags: ['thinking'] }] },
      { id: 'llamacpp', class: 'local', wire: 'openai', engine: 'llama.cpp', baseUrl: llamaCpp.baseUrl, models: [{ id: 'model.gguf' }] },
      {
        id: 'claude',
        class: 'approved_hosted',
        wire: 'anthropic',
        baseUrl: claude.baseUrl,
        auth: true,
        models: [
          { id: SONNET, price: PRICE },
          { id: OPUS, price: PRICE, deviations: ['forced_tool_choice_unsupported', 'thinking_always_on'] },
        ],
      },
      // Anthropic's own API (vendor: anthropic), the fake behind it the same: it takes output_config.effort.
      { id: 'anthropic', class: 'approved_hosted', wire: 'anthropic', vendor: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: SONNET, price: PRICE }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), vllm?.close(), ollama?.close(), llamaCpp?.close(), claude?.close()]);
});

const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
/** The body the engine received last. */
const lastSent = (engine: FakeEngine): Record<string, unknown> => JSON.parse(inferenceExchanges(engine).at(-1)?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>;

async function warningsOf(evidenceId: string | null): Promise<unknown> {
  await gateway.settled();
  return getEvidence(gateway.store, evidenceId ?? '')?.warnings;
}

describe('OpenAI clients: the effort reaches openai-wire servers that take it', () => {
  it('Chat Completions reasoning_effort to an OpenAI reasoning model: sent as given', async () => {
    const { response } = await openAIClient().chat.completions.create({ model: `openai-next:${SOL}`, reasoning_effort: 'xhigh', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(lastSent(openai)['reasoning_effort']).toBe('xhigh');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
  });

  it('Responses reasoning.effort to vLLM: sent as the nearest level it takes (xhigh as high), the mapping in the evidence', async () => {
    const { response } = await openAIClient().responses.create({ model: 'vllm:Qwen/Qwen3-8B', reasoning: { effort: 'xhigh' }, input: QUESTION }).withResponse();
    expect(lastSent(vllm)['reasoning_effort']).toBe('high');
    expect(await warningsOf(response.headers.get('x-syndicate-evidence'))).toContainEqual({
      setting: 'reasoningMapping',
      message: expect.stringContaining('reasoning.effort "xhigh" was sent as reasoning_effort "high"'),
      fields: [{ setting: 'reasoning', effect: 'changed' }],
    });
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('reasoning.effort');
  });

  it('to a thinking Ollama model: none goes as none (Ollama turns thinking off)', async () => {
    await openAIClient().chat.completions.create({ model: 'ollama:qwen3:8b', reasoning_effort: 'none', messages: [{ role: 'user', content: QUESTION }] });
    expect(lastSent(ollama)['reasoning_effort']).toBe('none');
  });

  it('to llama-server, which reads no reasoning_effort: not sent, named in x-syndicate-ignored-fields and the evidence', async () => {
    const { response } = await openAIClient().chat.completions.create({ model: 'llamacpp:model.gguf', reasoning_effort: 'high', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(lastSent(llamaCpp)).not.toHaveProperty('reasoning_effort');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('reasoning_effort');
    expect(await warningsOf(response.headers.get('x-syndicate-evidence'))).toContainEqual({ setting: 'reasoningEffort', message: expect.stringContaining('llama-server reads no reasoning_effort') });
  });
});

describe('cross-format: OpenAI effort to Claude, Anthropic thinking to openai-wire engines', () => {
  it('OpenAI chat reasoning_effort medium to Claude: thinking with a 4096-token budget, max_tokens raised above it; the reasoning comes back', async () => {
    const completion = await openAIClient().chat.completions.create({ model: `claude:${SONNET}`, reasoning_effort: 'medium', max_completion_tokens: 1000, messages: [{ role: 'user', content: QUESTION }] });
    expect(lastSent(claude)).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 4096 }, max_tokens: 5096 });
    expect((completion.choices[0]?.message as { reasoning_content?: string } | undefined)?.reasoning_content).toEqual(expect.any(String));
  });

  it('Responses reasoning.effort to a Claude model that always thinks: adaptive thinking with output_config.effort', async () => {
    await openAIClient().responses.create({ model: `claude:${OPUS}`, reasoning: { effort: 'low' }, input: QUESTION, max_output_tokens: 500 });
    const sent = lastSent(claude);
    expect(sent).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, max_tokens: 500 });
  });

  it('Anthropic thinking budget_tokens 16000 to vLLM: reasoning_effort high', async () => {
    await anthropicClient().messages.create({ model: 'vllm:Qwen/Qwen3-8B', max_tokens: 20000, thinking: { type: 'enabled', budget_tokens: 16000 }, messages: [{ role: 'user', content: QUESTION }] });
    expect(lastSent(vllm)['reasoning_effort']).toBe('high');
  });

  it('Anthropic thinking disabled to a thinking Ollama model: reasoning_effort none', async () => {
    await anthropicClient().messages.create({ model: 'ollama:qwen3:8b', max_tokens: 256, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: QUESTION }] });
    expect(lastSent(ollama)['reasoning_effort']).toBe('none');
  });

  it('Anthropic thinking to llama-server: not sent, named in x-syndicate-ignored-fields', async () => {
    const { response } = await anthropicClient()
      .messages.create({ model: 'llamacpp:model.gguf', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(lastSent(llamaCpp)).not.toHaveProperty('reasoning_effort');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('thinking');
  });
});

describe('sampling settings thinking takes otherwise: named in x-syndicate-ignored-fields (not sent) and x-syndicate-changed-fields (sent otherwise)', () => {
  it('OpenAI chat to Claude with an effort: temperature and seed left out, top_p left out beside the temperature, max_completion_tokens raised; top_k never read', async () => {
    const body = { model: `claude:${SONNET}`, reasoning_effort: 'medium' as const, max_completion_tokens: 1000, temperature: 0.3, top_p: 0.5, seed: 7, top_k: 5, messages: [{ role: 'user' as const, content: QUESTION }] };
    const { response } = await openAIClient().chat.completions.create(body).withResponse();
    const sent = lastSent(claude);
    expect(sent).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 4096 }, max_tokens: 5096 });
    for (const field of ['temperature', 'top_p', 'top_k', 'seed']) expect(sent).not.toHaveProperty(field);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('seed, temperature, top_k, top_p');
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('max_completion_tokens');
    // Streamed, the headers come with the first part, the same.
    const streamed = await openAIClient().chat.completions.create({ ...body, stream: true }).withResponse();
    for await (const chunk of streamed.data) void chunk;
    expect(streamed.response.headers.get('x-syndicate-ignored-fields')).toBe('seed, temperature, top_k, top_p');
    expect(streamed.response.headers.get('x-syndicate-changed-fields')).toBe('max_completion_tokens');
  });

  it("an Anthropic client's output_config.effort to Claude as a thinking budget: top_p under 0.95 raised, max_tokens raised above the budget; top_k not read", async () => {
    const { response } = await anthropicClient()
      .messages.create({ model: `claude:${SONNET}`, max_tokens: 1000, top_p: 0.5, top_k: 5, output_config: { effort: 'medium' }, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(lastSent(claude)).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 4096 }, max_tokens: 5096, top_p: 0.95 });
    expect(lastSent(claude)).not.toHaveProperty('top_k');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('top_k');
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('max_tokens, top_p');
    expect(await warningsOf(response.headers.get('x-syndicate-evidence'))).toContainEqual({
      setting: 'reasoningMapping',
      message: 'output_config.effort "medium" was sent as thinking budget_tokens 4096; max_tokens raised from 1000 to 5096 (it must exceed the budget); top_p 0.5 sent as 0.95 (thinking takes 0.95 to 1)',
      fields: [
        { setting: 'maxTokens', effect: 'changed' },
        { setting: 'topP', effect: 'changed' },
      ],
    });
  });

  it('without reasoning, the same settings go as sent and no header names them', async () => {
    const { response } = await openAIClient().chat.completions.create({ model: `claude:${SONNET}`, max_completion_tokens: 1000, temperature: 0.3, messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(lastSent(claude)).toMatchObject({ max_tokens: 1000, temperature: 0.3 });
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    expect(response.headers.get('x-syndicate-changed-fields')).toBeNull();
  });
});

describe("an Anthropic client's output_config.effort reaches the model", () => {
  it("to Anthropic's own API: sent back as output_config.effort, once, beside the client's thinking; nothing named ignored", async () => {
    const { response } = await anthropicClient()
      .messages.create({ model: `anthropic:${SONNET}`, max_tokens: 256, output_config: { effort: 'low' }, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(lastSent(claude)).toMatchObject({ model: SONNET, max_tokens: 256, output_config: { effort: 'low' } });
    expect(lastSent(claude)).not.toHaveProperty('thinking');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    await anthropicClient().messages.create({ model: `anthropic:${SONNET}`, max_tokens: 256, thinking: { type: 'adaptive' }, output_config: { effort: 'max' }, messages: [{ role: 'user', content: QUESTION }] });
    expect(lastSent(claude)).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'max' } });
  });

  it('to vLLM: reasoning_effort at the nearest level it takes (xhigh as high), the mapping in the evidence', async () => {
    const { response } = await anthropicClient()
      .messages.create({ model: 'vllm:Qwen/Qwen3-8B', max_tokens: 256, output_config: { effort: 'xhigh' }, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(lastSent(vllm)['reasoning_effort']).toBe('high');
    expect(lastSent(vllm)).not.toHaveProperty('output_config');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('output_config.effort');
    expect(await warningsOf(response.headers.get('x-syndicate-evidence'))).toContainEqual({
      setting: 'reasoningMapping',
      message: expect.stringContaining('output_config.effort "xhigh" was sent as reasoning_effort "high"'),
      fields: [{ setting: 'reasoning', effect: 'changed' }],
    });
  });

  it('to llama-server, which reads no reasoning_effort: not sent, output_config.effort named in x-syndicate-ignored-fields', async () => {
    const { response } = await anthropicClient()
      .messages.create({ model: 'llamacpp:model.gguf', max_tokens: 256, output_config: { effort: 'medium' }, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(lastSent(llamaCpp)).not.toHaveProperty('reasoning_effort');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('output_config.effort');
  });

  it('a value the Messages API lacks: 400 naming output_config.effort, nothing forwarded', async () => {
    const before = inferenceExchanges(claude).length;
    const error = await anthropicClient()
      .messages.create({ model: `anthropic:${SONNET}`, max_tokens: 256, output_config: { effort: 'minimal' as 'low' }, messages: [{ role: 'user', content: QUESTION }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('output_config/effort');
    expect(inferenceExchanges(claude).length).toBe(before);
  });

  it('pinned to an OpenAI model that does not reason: 400 (reasoning_effort_unsupported) naming output_config.effort; nothing forwarded', async () => {
    const before = inferenceExchanges(openai).length;
    const error = await anthropicClient()
      .messages.create({ model: `openai:${CLASSIC}`, max_tokens: 256, output_config: { effort: 'high' }, messages: [{ role: 'user', content: QUESTION }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    // Anthropic's error envelope has no code or param: the message names the field, as the denial's evidence does beside its code.
    expect((error as Error).message).toContain('accepts its output_config.effort');
    expect(inferenceExchanges(openai).length).toBe(before);
    await gateway.settled();
    const denials = listEvidence(gateway.store, { limit: 20 }).flatMap((row) => (row.kind === 'denial' ? [JSON.stringify(row.error)] : []));
    expect(denials.some((denial) => denial.includes('"reasoning_effort_unsupported"') && denial.includes('request sets output_config.effort'))).toBe(true);
  });

  it('routed: an alias two models share goes to the one that reasons (rule reasoning)', async () => {
    const message = await anthropicClient().messages.create({ model: 'gpt', max_tokens: 256, output_config: { effort: 'high' }, messages: [{ role: 'user', content: QUESTION }] });
    expect(message.model).toBe(`openai-next:${SOL}`);
    expect(lastSent(openai)).toMatchObject({ model: SOL, reasoning_effort: 'high' });
  });
});

describe('a model that refuses reasoning_effort is never sent it', () => {
  it('routed: an alias two models share goes to the one that reasons, the other left out by rule reasoning', async () => {
    const plain = await openAIClient().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: QUESTION }] });
    expect(plain.model).toBe(`openai:${CLASSIC}`);
    const reasoning = await openAIClient().chat.completions.create({ model: 'gpt', reasoning_effort: 'high', messages: [{ role: 'user', content: QUESTION }] });
    expect(reasoning.model).toBe(`openai-next:${SOL}`);
    expect(lastSent(openai)).toMatchObject({ model: SOL, reasoning_effort: 'high' });
  });

  it('pinned: syndicate answers 400 reasoning_effort_unsupported naming the field; nothing is forwarded; the denial is evidence', async () => {
    const before = inferenceExchanges(openai).length;
    const error = await openAIClient()
      .chat.completions.create({ model: `openai:${CLASSIC}`, reasoning_effort: 'high', messages: [{ role: 'user', content: QUESTION }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refusal.code).toBe('reasoning_effort_unsupported');
    expect(refusal.param).toBe('reasoning_effort');
    expect(refusal.message).toContain('not tagged reasoning');
    expect(inferenceExchanges(openai).length).toBe(before);
    await gateway.settled();
    const denials = listEvidence(gateway.store, { limit: 20 }).flatMap((row) => (row.kind === 'denial' ? [JSON.stringify(row.error)] : []));
    expect(denials.some((denial) => denial.includes('"reasoning_effort_unsupported"'))).toBe(true);
  });

  it('an effort of none to that model is no refusal: it is answered, and nothing is sent for it', async () => {
    const completion = await openAIClient().chat.completions.create({ model: `openai:${CLASSIC}`, reasoning_effort: 'none', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion.model).toBe(`openai:${CLASSIC}`);
    expect(lastSent(openai)).not.toHaveProperty('reasoning_effort');
  });
});
