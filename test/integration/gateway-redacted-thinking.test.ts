/**
 * Redacted thinking through a real gateway: a hosted Anthropic model (the fake replays captured
 * shapes) answers with a `redacted_thinking` block, reasoning it encrypted, before its tool call.
 * The official Anthropic client gets the block in its place with its data unmodified, streamed or
 * not, and its next turn, which replays it, reaches the provider block for block — the provider
 * checks the data, and refuses a turn that lost it. The data is a string the client sends, so it
 * is classified like any other; no other wire, and no OpenAI client, ever sees it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'wire', 'anthropic');
const fixture = (name: string): string => readFileSync(resolve(FIXTURES, name), 'utf8');
const MODEL = 'claude-sonnet-4-5-20250929';
const CLAUDE = `claude:${MODEL}`;
const LOCAL = 'ollama:qwen3:8b';
const THINKING = { type: 'enabled' as const, budget_tokens: 2048 };
const WEATHER = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
const expected = (JSON.parse(fixture('redacted-thinking-tool-use.json')) as { content: Anthropic.ContentBlock[] }).content;
const DATA = (expected[0] as Anthropic.RedactedThinkingBlock).data;

let claude: FakeEngine;
let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [claude, ollama] = await Promise.all([
    startFakeEngine({
      kind: 'anthropic',
      models: [{ id: MODEL }],
      replay: { body: fixture('redacted-thinking-tool-use.json'), stream: fixture('redacted-thinking-tool-use.chunks.txt') },
    }),
    startFakeEngine({ kind: 'ollama', models: [{ id: 'qwen3:8b' }] }),
  ]);
  gateway = await startTestGateway({
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'qwen3:8b', tags: ['tools'] }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude?.close(), ollama?.close()]);
});

const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const firstTurn = (model = CLAUDE): Anthropic.MessageCreateParamsNonStreaming => ({
  model,
  max_tokens: 4096,
  thinking: THINKING,
  tools: [WEATHER],
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
});
/** The first turn, the assistant's answer as given, and the tool's result. */
const nextTurn = (answer: Anthropic.ContentBlockParam[], model = CLAUDE): Anthropic.MessageCreateParamsNonStreaming => ({
  ...firstTurn(model),
  messages: [
    ...firstTurn().messages,
    { role: 'assistant', content: answer },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01Bx6mR3Tq9Wn2Lc8Vz5Kp7d', content: 'sunny, 21 °C' }] },
  ],
});
const lastSent = (engine: FakeEngine): string => engine.exchanges.at(-1)?.requestBody.toString('utf8') ?? '';

describe('a redacted_thinking block from an anthropic-wire provider', () => {
  it('reaches an Anthropic client non-streamed in its place, its data unmodified', async () => {
    const message = await anthropicClient().messages.create(firstTurn());
    expect(message.content).toEqual(expected);
  });

  it('reaches an Anthropic client streamed: a content_block_start carrying the data whole', async () => {
    const stream = anthropicClient().messages.stream(firstTurn());
    const starts: unknown[] = [];
    stream.on('streamEvent', (event) => {
      if (event.type === 'content_block_start') starts.push(event.content_block);
    });
    const message = await stream.finalMessage();
    expect(message.content).toEqual(expected);
    expect(starts[0]).toEqual({ type: 'redacted_thinking', data: DATA });
  });

  it('the next turn replays it to the provider in its place, and the provider accepts its data', async () => {
    const first = await anthropicClient().messages.create(firstTurn());
    const next = await anthropicClient().messages.create(nextTurn(first.content)).withResponse();
    expect(next.response.status).toBe(200);
    const sent = JSON.parse(lastSent(claude)) as { messages: Array<{ role: string; content: unknown[] }>; thinking?: unknown };
    expect(sent.messages[1]).toEqual({ role: 'assistant', content: expected });
    expect(sent.thinking).toEqual(THINKING);
  });

  it('a replayed block whose data was modified is refused by the provider (the fake checks it as Anthropic does)', async () => {
    const tampered = [{ type: 'redacted_thinking' as const, data: `A${DATA.slice(1)}` }, ...expected.slice(1)] as Anthropic.ContentBlockParam[];
    await expect(anthropicClient().messages.create(nextTurn(tampered))).rejects.toMatchObject({ status: 400 });
  });

  it('is never rendered to an OpenAI client', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
      body: JSON.stringify({ model: CLAUDE, messages: [{ role: 'user', content: 'Weather in Paris?' }] }),
    });
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toContain('toolu_01Bx6mR3Tq9Wn2Lc8Vz5Kp7d');
    expect(body).not.toContain(DATA.slice(0, 24));
    const streamed = await openAIClient().chat.completions.create({ model: CLAUDE, stream: true, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const chunks: string[] = [];
    for await (const chunk of streamed) chunks.push(JSON.stringify(chunk));
    expect(chunks.join('')).toContain('toolu_01Bx6mR3Tq9Wn2Lc8Vz5Kp7d');
    expect(chunks.join('')).not.toContain(DATA.slice(0, 24));
  });
});

describe('a replayed redacted_thinking block', () => {
  it('is not sent to an openai-wire engine; the evidence warns that it was dropped', async () => {
    const { response } = await anthropicClient().messages.create(nextTurn(expected, LOCAL)).withResponse();
    expect(response.status).toBe(200);
    expect(lastSent(ollama)).not.toContain(DATA.slice(0, 24));
    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.warnings).toContainEqual({ setting: 'messages[1].content[0]', message: expect.stringContaining('redacted_thinking') as unknown });
  });

  it('is classified before it could leave: a credential pasted into its data keeps the request off hosted providers', async () => {
    const exchanges = claude.exchanges.length;
    const pasted = [{ type: 'redacted_thinking' as const, data: `${DATA} ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8` }, ...expected.slice(1)] as Anthropic.ContentBlockParam[];
    await expect(anthropicClient().messages.create(nextTurn(pasted))).rejects.toMatchObject({ status: 403, message: expect.stringContaining('restricted request') as unknown });
    expect(claude.exchanges.length).toBe(exchanges);
  });

  it('with data that is not a string is refused with a 400 naming the field', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_TOKEN, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...nextTurn(expected), messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [{ type: 'redacted_thinking', data: 42 }, { type: 'text', text: 'Hello' }] }, { role: 'user', content: 'Again' }] }),
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('/messages/1/content/0/data');
  });
});
