/**
 * Models that refuse a forced tool (Claude Opus 5.5, the Fable models: platform.claude.com, "What's
 * new in Claude Opus 5.5" — "Forced tool use returns an error", "Thinking can't be disabled"; the
 * fake answers both with Anthropic's 400) declare it per model (`models[].deviations`). Through a
 * real gateway and the official clients: model `auto` and a shared alias go to the next eligible
 * model, and a request pinned to such a model is refused by syndicate itself with a 400 naming
 * the field, in each API family's error shape — nothing is forwarded to be refused upstream.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const OPUS = 'claude-opus-5-5';
const SONNET = 'claude-sonnet-5-5';
const WEATHER = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
const PRICE = { inputPerMTok: 3, outputPerMTok: 15 };
const OPENAI_WEATHER = { type: 'function' as const, function: { name: WEATHER.name, description: WEATHER.description, parameters: WEATHER.input_schema } };

/** Two providers serve Sonnet, so the gateway names the one that answered (`anthropic-eu:claude-sonnet-5-5`). */
const ANSWERED_BY_SONNET = new RegExp(`^(anthropic|anthropic-eu):${SONNET}$`);

let engine: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }, { id: SONNET }] });
  gateway = await startTestGateway({
    // Ranked by priority alone: the first answers' timings must not reorder the models.
    policy: testPolicy({ workflows: { interactive: { prefer: ['priority'], latencyBudget: {} }, batch: { prefer: ['priority'], latencyBudget: {} } } }),
    providers: [
      {
        id: 'anthropic',
        class: 'approved_hosted',
        wire: 'anthropic',
        baseUrl: engine.baseUrl,
        auth: true,
        models: [
          // Ranked first: every request that does not force a tool goes to it.
          { id: OPUS, priority: 10, tags: ['tools'], price: PRICE, aliases: ['claude-best'], deviations: ['forced_tool_choice_unsupported', 'thinking_always_on'] },
          { id: SONNET, priority: 1, tags: ['tools'], price: PRICE },
        ],
      },
      // The same alias on another provider's model: a request for it may go there instead.
      { id: 'anthropic-eu', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: SONNET, tags: ['tools'], price: PRICE, aliases: ['claude-best'] }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await engine?.close();
});

const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const modelsSent = (): string[] => inferenceExchanges(engine).map((exchange) => (JSON.parse(exchange.requestBody.toString('utf8')) as { model: string }).model);

function forcing(model: string, toolChoice: Anthropic.ToolChoice): Anthropic.MessageCreateParamsNonStreaming {
  return { model, max_tokens: 256, tools: [WEATHER], tool_choice: toolChoice, messages: [{ role: 'user', content: 'Weather in Paris?' }] };
}

describe('a request that does not force a tool', () => {
  it('goes to the first-ranked model, which declares the deviation', async () => {
    const before = modelsSent().length;
    const message = await anthropicClient().messages.create(forcing('auto', { type: 'auto' }));
    expect(message.model).toBe(`anthropic:${OPUS}`);
    expect(modelsSent().slice(before)).toEqual([OPUS]);
  });
});

describe('model auto, forcing a tool', () => {
  it.each([
    ['any', { type: 'any' }],
    ['tool', { type: 'tool', name: WEATHER.name }],
  ] as const)('Anthropic client, tool_choice %s: answered by the next eligible model, the refusing one never called', async (_name, toolChoice) => {
    const before = modelsSent().length;
    const message = await anthropicClient().messages.create(forcing('auto', toolChoice));
    expect(message.model).toMatch(ANSWERED_BY_SONNET);
    expect(message.content.some((block) => block.type === 'tool_use' && block.name === WEATHER.name)).toBe(true);
    expect(modelsSent().slice(before)).toEqual([SONNET]);
  });

  it('OpenAI client, tool_choice required: the same', async () => {
    const before = modelsSent().length;
    const completion = await openAIClient().chat.completions.create({ model: 'auto', tools: [OPENAI_WEATHER], tool_choice: 'required', messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(completion.choices[0]?.message.tool_calls?.[0]?.type === 'function' ? completion.choices[0].message.tool_calls[0].function.name : undefined).toBe(WEATHER.name);
    expect(modelsSent().slice(before)).toEqual([SONNET]);
  });

  it('thinking turned off: the same', async () => {
    const before = modelsSent().length;
    const message = await anthropicClient().messages.create({ model: 'auto', max_tokens: 256, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'Hello' }] });
    expect(message.model).toMatch(ANSWERED_BY_SONNET);
    expect(modelsSent().slice(before)).toEqual([SONNET]);
  });

  it('OpenAI client, reasoning effort none (Chat Completions reasoning_effort, Responses reasoning.effort): the same', async () => {
    const before = modelsSent().length;
    const completion = await openAIClient().chat.completions.create({ model: 'auto', reasoning_effort: 'none', messages: [{ role: 'user', content: 'Hello' }] });
    expect(completion.model).toMatch(ANSWERED_BY_SONNET);
    const response = await openAIClient().responses.create({ model: 'auto', reasoning: { effort: 'none' }, input: 'Hello' });
    expect(response.model).toMatch(ANSWERED_BY_SONNET);
    expect(modelsSent().slice(before)).toEqual([SONNET, SONNET]);
    // Any other effort leaves the model that always thinks first.
    const thinking = await openAIClient().chat.completions.create({ model: 'auto', reasoning_effort: 'low', messages: [{ role: 'user', content: 'Hello' }] });
    expect(thinking.model).toBe(`anthropic:${OPUS}`);
  });
});

it('an alias two providers share goes to the one whose model takes a forced tool', async () => {
  const before = modelsSent().length;
  const response = await anthropicClient().messages.create(forcing('claude-best', { type: 'any' })).withResponse();
  expect(response.data.model).toBe(`anthropic-eu:${SONNET}`);
  expect(response.response.headers.get('x-syndicate-provider')).toBe('anthropic-eu');
  expect(modelsSent().slice(before)).toEqual([SONNET]);
});

describe('pinned to the model that refuses a forced tool', () => {
  it('Anthropic client: syndicate answers 400 invalid_request_error naming tool_choice and what to do; nothing is forwarded', async () => {
    const before = modelsSent().length;
    const error = await anthropicClient()
      .messages.create(forcing(`anthropic:${OPUS}`, { type: 'any' }))
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (error as InstanceType<typeof Anthropic.BadRequestError>).error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain(`anthropic:${OPUS}`);
    expect(body.error.message).toContain('forced_tool_choice_unsupported');
    expect(body.error.message).toContain('tool_choice auto');
    expect(body.error.message).toContain(`anthropic:${SONNET}`);
    expect(modelsSent().slice(before)).toEqual([]);
  });

  it('OpenAI client: the same refusal in OpenAI\'s shape, param tool_choice, code tool_choice_unsupported', async () => {
    const before = modelsSent().length;
    const error = await openAIClient()
      .chat.completions.create({ model: `anthropic:${OPUS}`, tools: [OPENAI_WEATHER], tool_choice: { type: 'function', function: { name: WEATHER.name } }, messages: [{ role: 'user', content: 'Weather in Paris?' }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refusal.status).toBe(400);
    expect(refusal.code).toBe('tool_choice_unsupported');
    expect(refusal.param).toBe('tool_choice');
    expect(refusal.message).toContain(`forces tool ${WEATHER.name}`);
    expect(modelsSent().slice(before)).toEqual([]);
  });

  it('thinking turned off: 400 naming thinking', async () => {
    const refused = await anthropicClient()
      .messages.create({ model: `anthropic:${OPUS}`, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Hello' }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as InstanceType<typeof Anthropic.BadRequestError>).message).toContain('thinking_always_on');
  });

  it.each([
    ['Chat Completions', 'reasoning_effort', () => openAIClient().chat.completions.create({ model: `anthropic:${OPUS}`, reasoning_effort: 'none', messages: [{ role: 'user', content: 'Hello' }] })],
    ['Responses', 'reasoning.effort', () => openAIClient().responses.create({ model: `anthropic:${OPUS}`, reasoning: { effort: 'none' }, input: 'Hello' })],
  ] as const)('OpenAI client, %s with reasoning effort none: 400 thinking_unsupported naming %s; nothing is forwarded', async (_api, param, send) => {
    const before = modelsSent().length;
    const error = await send().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refusal.code).toBe('thinking_unsupported');
    expect(refusal.param).toBe(param);
    expect(refusal.message).toContain(`request sets ${param} none`);
    expect(refusal.message).toContain('thinking_always_on');
    expect(modelsSent().slice(before)).toEqual([]);
  });

  it('the refusal is evidence: a denial with its reason', async () => {
    // Its own refusals, not the earlier tests': the tests may run in any order.
    const denials = (code: string): number =>
      listEvidence(gateway.store, { limit: 1000 }).filter((row) => row.kind === 'denial' && JSON.stringify(row.error).includes(`"${code}"`)).length;
    await gateway.settled();
    const [toolChoiceBefore, thinkingBefore] = [denials('tool_choice_unsupported'), denials('thinking_unsupported')];
    const refused = (request: Promise<unknown>): Promise<unknown> => request.then(() => undefined, (caught: unknown) => caught);
    expect(await refused(anthropicClient().messages.create(forcing(`anthropic:${OPUS}`, { type: 'any' })))).toBeInstanceOf(Anthropic.BadRequestError);
    expect(await refused(openAIClient().chat.completions.create({ model: `anthropic:${OPUS}`, reasoning_effort: 'none', messages: [{ role: 'user', content: 'Hello' }] }))).toBeInstanceOf(OpenAI.BadRequestError);
    await gateway.settled();
    expect(denials('tool_choice_unsupported')).toBe(toolChoiceBefore + 1);
    expect(denials('thinking_unsupported')).toBe(thinkingBefore + 1);
  });
});
