/**
 * Answers that cross wire formats through a real gateway, as the official clients read them:
 * parallel tool calls an OpenAI-wire engine interleaves, streamed to Anthropic clients (whose
 * content blocks are strictly sequential) and back; the usage of an engine that reports none;
 * the max_tokens an anthropic-wire provider is sent when the client asked for none; the sampling
 * settings a newer Claude model refuses together.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

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
    engine = await startFakeEngine({ kind: 'vllm', replay: { stream: fixture('openai', 'parallel-tool-calls-interleaved.chunks.txt') } });
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
    engine = await startFakeEngine({ kind: 'anthropic', replay: { stream: fixture('anthropic', 'text-parallel-tool-use.chunks.txt') } });
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

describe("an Anthropic-wire provider overloaded in the middle of a stream (its `event: error` after the 200)", () => {
  let engine: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'anthropic', answer: 'The sky is blue because the air scatters blue sunlight more than red sunlight.' });
    gateway = await startTestGateway({ providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', price: { inputPerMTok: 3, outputPerMTok: 15 } }] }] });
  });
  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });
  const OVERLOADED = 'Overloaded';

  it('is sent in Anthropic’s own shape by the fake', async () => {
    engine.setFault({ errorMidStream: OVERLOADED }, 1);
    const response = await fetch(`${engine.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-fake-upstream-key', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Why is the sky blue?' }] }),
    });
    const text = await response.text();
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error","message":"Overloaded"\}\}\n\n$/);
    expect(text).not.toContain('message_stop');
  });

  it('ends an Anthropic client’s stream with an error, never a clean end', async () => {
    engine.setFault({ errorMidStream: OVERLOADED }, 1);
    const stream = anthropicClient(gateway).messages.stream({ model: 'auto', max_tokens: 256, messages: [{ role: 'user', content: 'Why is the sky blue?' }] });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    stream.on('streamEvent', (event) => events.push(event));
    const failure = await stream.finalMessage().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    // Anthropic's own error type, which its clients retry on.
    expect((failure as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: OVERLOADED } });
    expect(events.some((event) => event.type === 'content_block_delta')).toBe(true);
    expect(events.map((event) => event.type)).not.toContain('message_stop');
  });

  it('ends an OpenAI client’s stream with an error, never a finish reason', async () => {
    engine.setFault({ errorMidStream: OVERLOADED }, 1);
    const stream = await openAIClient(gateway).chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Why is the sky blue?' }] });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(String((failure as Error).message)).toContain(OVERLOADED);
    expect(chunks.some((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter((reason) => reason != null)).toEqual([]);
  });
});

describe('an engine that reports no usage (Ollama before stream_options, answers and streams)', () => {
  let engine: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama', replay: { body: fixture('openai', 'ollama-no-usage.json'), stream: fixture('openai', 'ollama-no-usage.chunks.txt') } });
    gateway = await startTestGateway({ providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: 'llama3.2:latest' }] }] });
  });
  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  const PROMPT = 'Why is the sky blue? Answer in one sentence, for a curious child.';

  /** The evidence of an answer, once completed (a stream's row is finished after its last byte): its counts are local and say so. */
  const countedLocally = async (evidenceId: string | null): Promise<{ inputTokens: number; outputTokens: number }> => {
    const evidence = await vi.waitFor(
      () => {
        const row = getEvidence(gateway.store, evidenceId ?? '');
        expect(row?.state).toBe('completed');
        return row!;
      },
      { timeout: 20_000, interval: 20 },
    );
    expect(evidence.tokenAccounting).toBe('approximate');
    expect(evidence.inputTokens).toBeGreaterThan(10);
    expect(evidence.outputTokens).toBeGreaterThan(3);
    return { inputTokens: evidence.inputTokens!, outputTokens: evidence.outputTokens! };
  };

  it('gives an Anthropic client the local count as usage, not zeros: answered and streamed', async () => {
    const client = anthropicClient(gateway);
    const { data: message, response } = await client.messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: PROMPT }] }).withResponse();
    const counted = await countedLocally(response.headers.get('x-syndicate-evidence'));
    expect(message.usage).toMatchObject({ input_tokens: counted.inputTokens, output_tokens: counted.outputTokens });

    const stream = client.messages.stream({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: PROMPT }] });
    const { response: streamed } = await stream.withResponse();
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'The sky is blue.' }]);
    const streamCounted = await countedLocally(streamed.headers.get('x-syndicate-evidence'));
    expect(final.usage).toMatchObject({ input_tokens: streamCounted.inputTokens, output_tokens: streamCounted.outputTokens });
  });

  it('gives an OpenAI client the same counts: in the answer, and in the usage chunk it asked for', async () => {
    const client = openAIClient(gateway);
    const { data: completion, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }).withResponse();
    const counted = await countedLocally(response.headers.get('x-syndicate-evidence'));
    expect(completion.usage).toMatchObject({ prompt_tokens: counted.inputTokens, completion_tokens: counted.outputTokens, total_tokens: counted.inputTokens + counted.outputTokens });

    const { data: stream, response: streamed } = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: PROMPT }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    const streamCounted = await countedLocally(streamed.headers.get('x-syndicate-evidence'));
    expect(usage).toMatchObject({ prompt_tokens: streamCounted.inputTokens, completion_tokens: streamCounted.outputTokens });
  });

  it('gives a Responses API client the same counts, answered and streamed', async () => {
    const client = openAIClient(gateway);
    const { data: answer, response } = await client.responses.create({ model: 'auto', input: PROMPT }).withResponse();
    const counted = await countedLocally(response.headers.get('x-syndicate-evidence'));
    expect(answer.usage).toMatchObject({ input_tokens: counted.inputTokens, output_tokens: counted.outputTokens });

    const { data: stream, response: streamed } = await client.responses.create({ model: 'auto', input: PROMPT, stream: true }).withResponse();
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const event of stream) if (event.type === 'response.completed') usage = event.response.usage;
    const streamCounted = await countedLocally(streamed.headers.get('x-syndicate-evidence'));
    expect(usage).toMatchObject({ input_tokens: streamCounted.inputTokens, output_tokens: streamCounted.outputTokens });
  });
});

describe('an OpenAI client that sends no max_tokens, answered by an anthropic-wire provider (which requires one)', () => {
  let engine: FakeEngine;
  let gateway: TestGateway;
  const policy = testPolicy();
  policy.cost = { ...policy.cost, defaultOutputTokens: 6000 };
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'anthropic', models: [{ id: 'claude-sonnet-4-20250514' }, { id: 'claude-small-8k', contextWindow: 8192 }] });
    gateway = await startTestGateway({
      policy,
      providers: [
        {
          id: 'claude',
          class: 'approved_hosted',
          wire: 'anthropic',
          baseUrl: engine.baseUrl,
          auth: true,
          models: [
            { id: 'claude-sonnet-4-20250514', price: { inputPerMTok: 3, outputPerMTok: 15 } },
            { id: 'claude-small-8k', contextWindow: 8192, price: { inputPerMTok: 1, outputPerMTok: 5 } },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  const sentMaxTokens = (): unknown => (JSON.parse(engine.exchanges.filter((exchange) => exchange.path === '/v1/messages').at(-1)?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>)['max_tokens'];

  it("is sent the policy's cost.defaultOutputTokens, which the evidence names", async () => {
    const { response } = await openAIClient(gateway).chat.completions.create({ model: 'claude:claude-sonnet-4-20250514', messages: [{ role: 'user', content: QUESTION }] }).withResponse();
    expect(sentMaxTokens()).toBe(6000);
    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(JSON.parse(evidence?.request.body?.toString('utf8') ?? '{}')).toMatchObject({ max_tokens: 6000 });
    expect(evidence?.warnings).toContainEqual({ setting: 'maxTokens', message: 'the anthropic wire requires max_tokens; none was given, so 6000 was sent', code: 'max_tokens_filled_in', value: 6000 });
  });

  it('is sent less when the context window leaves less after the prompt', async () => {
    // ~3 300 tokens of prompt in an 8 192-token window: ~4 750 left, under the 6 000 the policy assumes.
    const prompt = 'Summarise the notes from the weekly planning meeting. '.repeat(300);
    const { data: stream, response } = await openAIClient(gateway).chat.completions.create({ model: 'claude:claude-small-8k', messages: [{ role: 'user', content: prompt }], stream: true }).withResponse();
    for await (const chunk of stream) void chunk;
    const sent = sentMaxTokens() as number;
    expect(sent).toBeLessThan(6000);
    expect(sent).toBeGreaterThan(8192 - 3_000 * 1.1 * 1.2 - 136);
    const evidence = await vi.waitFor(() => {
      const row = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
      expect(row?.state).toBe('completed');
      return row!;
    }, { timeout: 20_000, interval: 20 });
    expect(evidence.warnings).toContainEqual({ setting: 'maxTokens', message: `the anthropic wire requires max_tokens; none was given, so ${sent} was sent`, code: 'max_tokens_filled_in', value: sent });
    expect(JSON.stringify(evidence.route)).toContain(`no max output asked: ${sent} tokens assumed`);
  });
});

describe('a client that sets both temperature and top_p, answered by a newer Claude model (which refuses the pair)', () => {
  const MODEL = 'claude-sonnet-4-5-20250929';
  let engine: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'anthropic', models: [{ id: MODEL }] });
    gateway = await startTestGateway({
      providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: MODEL, price: { inputPerMTok: 3, outputPerMTok: 15 } }] }],
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  const lastSent = (): Record<string, unknown> =>
    JSON.parse(engine.exchanges.filter((exchange) => exchange.path === '/v1/messages').at(-1)?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>;

  it('is answered: the provider is sent temperature only, and the evidence says top_p was left out', async () => {
    // The engine refuses the pair as the Messages API does for this model.
    const direct = await fetch(`${engine.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 16, temperature: 0.7, top_p: 0.9, messages: [{ role: 'user', content: QUESTION }] }),
    });
    expect(direct.status).toBe(400);
    expect(await direct.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: '`temperature` and `top_p` cannot both be specified for this model. Please use only one.' } });

    const { data, response } = await openAIClient(gateway)
      .chat.completions.create({ model: `claude:${MODEL}`, temperature: 0.7, top_p: 0.9, max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(lastSent()).toMatchObject({ temperature: 0.7 });
    expect(lastSent()).not.toHaveProperty('top_p');
    await gateway.settled();
    expect(getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '')?.warnings).toContainEqual({
      setting: 'topP',
      message: 'the anthropic wire refuses temperature and top_p together on newer Claude models; top_p 0.9 was left out and temperature 0.7 sent',
      fields: [{ setting: 'topP', effect: 'dropped' }],
    });
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('top_p');

    // An Anthropic client, streamed: the same.
    const message = await anthropicClient(gateway)
      .messages.stream({ model: `claude:${MODEL}`, max_tokens: 64, temperature: 0.3, top_p: 0.8, messages: [{ role: 'user', content: QUESTION }] })
      .finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(lastSent()).toMatchObject({ temperature: 0.3, stream: true });
    expect(lastSent()).not.toHaveProperty('top_p');
    // top_p alone still goes as sent.
    await openAIClient(gateway).chat.completions.create({ model: `claude:${MODEL}`, top_p: 0.5, max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] });
    expect(lastSent()).toMatchObject({ top_p: 0.5 });
    expect(lastSent()).not.toHaveProperty('temperature');
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
