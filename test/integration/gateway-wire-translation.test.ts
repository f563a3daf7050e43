/**
 * Answers that cross wire formats through a real gateway, as the official clients read them:
 * parallel tool calls an OpenAI-wire engine interleaves, streamed to Anthropic clients (whose
 * content blocks are strictly sequential) and back.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'wire');
const fixture = (wire: string, name: string): string => readFileSync(resolve(FIXTURES, wire, name), 'utf8');

const WEATHER_TOOL = { name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };
const WEATHER_FUNCTION = { type: 'function' as const, function: { name: WEATHER_TOOL.name, description: WEATHER_TOOL.description, parameters: WEATHER_TOOL.input_schema } };
const QUESTION = 'Weather in Paris and Tokyo?';

const anthropicClient = (gateway: TestGateway): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const openAIClient = (gateway: TestGateway): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

describe('parallel tool calls an OpenAI-wire engine interleaves (index 0, index 1, index 0 again, text between)', () => {
  let engine: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'vllm', streamReplay: fixture('openai', 'parallel-tool-calls-interleaved.chunks.txt') });
    gateway = await startTestGateway({ providers: [{ id: 'vllm', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'vllm', models: [{ id: 'Qwen/Qwen2.5-1.5B-Instruct', tags: ['tools'] }] }] });
  });
  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  it('reach an Anthropic client as sequential blocks: the text, then each tool_use with its whole input', async () => {
    const stream = anthropicClient(gateway).messages.stream({ model: 'auto', max_tokens: 256, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: QUESTION }] });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    stream.on('streamEvent', (event) => events.push(event));
    const message = await stream.finalMessage();

    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_paris0000000000000000', name: 'get_weather', input: { city: 'Paris' } },
      // Held back while the calls were open, so it comes after them.
      { type: 'tool_use', id: 'call_tokyo0000000000000000', name: 'get_weather', input: { city: 'Tokyo' } },
      { type: 'text', text: ' One moment.' },
    ]);
    // The SDK files deltas by index whatever the order; stricter clients do not.
    expectSequentialBlocks(events, 4);
  });

  it('reach an OpenAI client with both calls whole', async () => {
    const completion = await openAIClient(gateway)
      .chat.completions.stream({ model: 'auto', tools: [WEATHER_FUNCTION], messages: [{ role: 'user', content: QUESTION }] })
      .finalChatCompletion();
    const message = completion.choices[0]?.message;
    expect(message?.content).toBe('Checking both. One moment.');
    expect(message?.tool_calls?.map((call) => (call.type === 'function' ? [call.id, call.function.name, JSON.parse(call.function.arguments)] : []))).toEqual([
      ['call_paris0000000000000000', 'get_weather', { city: 'Paris' }],
      ['call_tokyo0000000000000000', 'get_weather', { city: 'Tokyo' }],
    ]);
  });
});

describe('an Anthropic-wire provider streaming text and two tool_use blocks', () => {
  let engine: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'anthropic', streamReplay: fixture('anthropic', 'text-parallel-tool-use.chunks.txt') });
    gateway = await startTestGateway({ providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] }] });
  });
  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  it('reaches an OpenAI client as the text and both calls, each with its whole arguments', async () => {
    const completion = await openAIClient(gateway)
      .chat.completions.stream({ model: 'auto', max_tokens: 256, tools: [WEATHER_FUNCTION], messages: [{ role: 'user', content: QUESTION }] })
      .finalChatCompletion();
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBe('Checking both.');
    expect(choice?.message.tool_calls?.map((call) => (call.type === 'function' ? [call.id, call.function.name, JSON.parse(call.function.arguments)] : []))).toEqual([
      ['toolu_01Paris000000000000000', 'get_weather', { city: 'Paris' }],
      ['toolu_01Tokyo000000000000000', 'get_weather', { city: 'Tokyo' }],
    ]);
  });

  it('reaches an Anthropic client block for block', async () => {
    const stream = anthropicClient(gateway).messages.stream({ model: 'auto', max_tokens: 256, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: QUESTION }] });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    stream.on('streamEvent', (event) => events.push(event));
    const message = await stream.finalMessage();
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'toolu_01Paris000000000000000', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_01Tokyo000000000000000', name: 'get_weather', input: { city: 'Tokyo' } },
    ]);
    expectSequentialBlocks(events, 3);
  });
});

/** Anthropic's stream contract: `content_block_start` i, deltas for i only, `content_block_stop` i, then i + 1. */
function expectSequentialBlocks(events: readonly Anthropic.RawMessageStreamEvent[], blocks: number): void {
  let open: number | undefined;
  let next = 0;
  for (const event of events) {
    if (event.type === 'content_block_start') {
      expect(open).toBeUndefined();
      expect(event.index).toBe(next);
      open = event.index;
      next += 1;
    } else if (event.type === 'content_block_delta') {
      expect(event.index).toBe(open);
    } else if (event.type === 'content_block_stop') {
      expect(event.index).toBe(open);
      open = undefined;
    }
  }
  expect(open).toBeUndefined();
  expect(next).toBe(blocks);
}
