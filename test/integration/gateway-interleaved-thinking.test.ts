/**
 * Interleaved thinking through a real gateway: a hosted Anthropic model (the fake replays captured
 * shapes) answers with several signed thinking blocks between its text and tool calls. The
 * official Anthropic client gets every block in its place with its own signature, streamed or not,
 * and its next turn, which replays them, reaches the provider block for block — the provider checks
 * each signature. An OpenAI client gets the reasoning joined.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'wire', 'anthropic');
const fixture = (name: string): string => readFileSync(resolve(FIXTURES, name), 'utf8');
const MODEL = 'claude-sonnet-4-5-20250929';
const THINKING = { type: 'enabled' as const, budget_tokens: 2048 };
const BETA = { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } };
const WEATHER = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

const CAPTURES = [
  ['interleaved-thinking-tool-use', 'thinking, tool_use, thinking, tool_use'],
  ['interleaved-thinking-text', 'thinking, text, thinking, text'],
] as const;

const engines = new Map<string, FakeEngine>();
let gateway: TestGateway;

beforeAll(async () => {
  for (const [name] of CAPTURES) {
    engines.set(name, await startFakeEngine({ kind: 'anthropic', models: [{ id: MODEL }], replay: { body: fixture(`${name}.json`), stream: fixture(`${name}.chunks.txt`) } }));
  }
  gateway = await startTestGateway({
    providers: CAPTURES.map(([name]) => ({
      id: name,
      class: 'approved_hosted' as const,
      wire: 'anthropic' as const,
      baseUrl: (engines.get(name) as FakeEngine).baseUrl,
      auth: true,
      models: [{ id: MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }],
    })),
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([...engines.values()].map((engine) => engine.close()));
});

const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

describe.each(CAPTURES)('an answer of %s (%s)', (name) => {
  const expected = (JSON.parse(fixture(`${name}.json`)) as { content: Anthropic.ContentBlock[] }).content;
  const engine = (): FakeEngine => engines.get(name) as FakeEngine;
  const firstTurn = (): Anthropic.MessageCreateParamsNonStreaming => ({
    model: `${name}:${MODEL}`,
    max_tokens: 4096,
    thinking: THINKING,
    tools: [WEATHER],
    messages: [{ role: 'user', content: 'Weather in Paris and London?' }],
  });

  it('reaches an Anthropic client non-streamed: each thinking block in its place, with its own signature', async () => {
    const message = await anthropicClient().messages.create(firstTurn(), BETA);
    expect(message.content).toEqual(expected);
  });

  it('reaches an Anthropic client streamed: the same blocks', async () => {
    const message = await anthropicClient().messages.stream(firstTurn(), BETA).finalMessage();
    expect(message.content).toEqual(expected);
  });

  it('the next turn replays the blocks to the provider as they came, and the provider accepts their signatures', async () => {
    const first = await anthropicClient().messages.create(firstTurn(), BETA);
    const results = first.content.flatMap((block) => (block.type === 'tool_use' ? [{ type: 'tool_result' as const, tool_use_id: block.id, content: 'sunny, 21 °C' }] : []));
    const next = await anthropicClient()
      .messages.create(
        {
          ...firstTurn(),
          messages: [...firstTurn().messages, { role: 'assistant', content: first.content }, { role: 'user', content: results.length > 0 ? results : 'Thanks.' }],
        },
        BETA,
      )
      .withResponse();
    expect(next.response.status).toBe(200);
    const sent = JSON.parse(engine().exchanges.at(-1)?.requestBody.toString('utf8') ?? '{}') as { messages: Array<{ role: string; content: unknown[] }> };
    expect(sent.messages[1]).toEqual({ role: 'assistant', content: expected });
  });

  it('reaches an OpenAI client with the reasoning joined, the text and every tool call', async () => {
    const completion = await openAIClient().chat.completions.create({ model: `${name}:${MODEL}`, messages: [{ role: 'user', content: 'Weather in Paris and London?' }] });
    const message = completion.choices[0]?.message as (OpenAI.Chat.Completions.ChatCompletionMessage & { reasoning_content?: string }) | undefined;
    const thinking = expected.flatMap((block) => (block.type === 'thinking' ? [block.thinking] : []));
    expect(message?.reasoning_content).toBe(thinking.join(''));
    expect(message?.tool_calls?.map((call) => call.id) ?? []).toEqual(expected.flatMap((block) => (block.type === 'tool_use' ? [block.id] : [])));
  });
});
