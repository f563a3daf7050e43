/**
 * Token logprobs with Ollama, through a real gateway (core + node:http adapter on 127.0.0.1:0) over
 * the real pipeline: to an Ollama engine that returns them (0.12.11 and later, ollama/ollama#12899)
 * on the path syndicate calls it by — its OpenAI layer for chats, its native `/api/generate` (raw)
 * for text completions — and back to the official `ollama` client (ollama-js) on the gateway's
 * Ollama face (`/api/chat`, `/api/generate`) in Ollama's own shape, and to the official `openai`
 * client as the engine wrote them. An older Ollama (0.12.6) returns none: the header says so.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { parseServerSentEvents } from '../../src/wire/sse.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { ndjsonLines } from '../helpers/ndjson.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const MODEL = 'llama3.2:latest';
const LLAMA_MODEL = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';

type Json = Record<string, unknown>;

let current: FakeEngine;
let old: FakeEngine;
let llama: FakeEngine;
let gateway: TestGateway;
let oldGateway: TestGateway;

function ollamaProvider(id: string, engine: FakeEngine): TestProvider {
  return { id, class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: MODEL, tags: ['completions'] }] };
}

const ollama = (target: TestGateway): Ollama => new Ollama({ host: target.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
const openai = (target: TestGateway): OpenAI => new OpenAI({ baseURL: `${target.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

/** What the engine was sent and answered in the exchange after `before`. */
function exchangeAfter(engine: FakeEngine, before: number): { path: string; sent: Json; answered: string } {
  const exchange = inferenceExchanges(engine).slice(before)[0]!;
  return { path: exchange.path, sent: JSON.parse(exchange.requestBody.toString('utf8')) as Json, answered: exchange.responseBody.toString('utf8') };
}

/** The `logprobs` lists of an Ollama NDJSON (or single-object) body, one per object that has them. */
function nativeLogprobs(body: string): Json[][] {
  return ndjsonLines(body.endsWith('\n') ? body : `${body}\n`).flatMap((line) => (Array.isArray(line['logprobs']) ? [line['logprobs'] as Json[]] : []));
}

/** The `choices[0].logprobs.content` lists of an OpenAI-style answer (SSE or one body). */
function chatContents(body: string): Json[][] {
  const objects = body.startsWith('data:') ? parseServerSentEvents(body).filter((event) => event.data.startsWith('{')).map((event) => JSON.parse(event.data) as Json) : [JSON.parse(body) as Json];
  return objects.flatMap((object) => {
    const logprobs = ((object['choices'] as Json[] | undefined)?.[0]?.['logprobs'] ?? null) as { content?: Json[] } | null;
    return logprobs?.content === undefined ? [] : [logprobs.content];
  });
}

beforeAll(async () => {
  [current, old, llama] = await Promise.all([
    startFakeEngine({ kind: 'ollama', ollamaVersion: '0.12.11', models: [{ id: MODEL }] }),
    startFakeEngine({ kind: 'ollama', models: [{ id: MODEL }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: LLAMA_MODEL }] }),
  ]);
  gateway = await startTestGateway({
    providers: [ollamaProvider('ollama', current), { id: 'llama', class: 'local', wire: 'openai', baseUrl: llama.baseUrl, engine: 'llama.cpp', models: [{ id: LLAMA_MODEL }] }],
  });
  oldGateway = await startTestGateway({ providers: [ollamaProvider('ollama', old)] });
});

afterAll(async () => {
  await Promise.all([gateway?.close(), oldGateway?.close()]);
  await Promise.all([current?.close(), old?.close(), llama?.close()]);
});

describe('an Ollama client asks for logprobs (the gateway’s /api/chat and /api/generate)', () => {
  it('/api/chat to Ollama 0.12.11 (its OpenAI layer): each token with its top_logprobs, as Ollama lists them', async () => {
    const before = inferenceExchanges(current).length;
    const answer = await ollama(gateway).chat({ model: `ollama:${MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 2, stream: false });
    const { path, sent, answered } = exchangeAfter(current, before);
    expect(path).toBe('/v1/chat/completions');
    expect(sent).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const upstream = chatContents(answered)[0]!;
    expect(upstream[0]?.['top_logprobs']).toHaveLength(2);
    expect(answer.message.content).toBe(DEFAULT_ANSWER);
    expect(answer.logprobs).toEqual(upstream);
  });

  it('/api/chat streamed: each line carries the logprobs of its own text', async () => {
    const before = inferenceExchanges(current).length;
    const stream = await ollama(gateway).chat({ model: `ollama:${MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, stream: true });
    const parts: { content: string; logprobs?: unknown[] }[] = [];
    for await (const part of stream) parts.push({ content: part.message.content, ...(part.logprobs === undefined ? {} : { logprobs: part.logprobs }) });
    const withLogprobs = parts.filter((part) => part.logprobs !== undefined);
    expect(withLogprobs.length).toBeGreaterThan(1);
    for (const part of withLogprobs) expect((part.logprobs as { token: string }[]).map((entry) => entry.token).join('')).toBe(part.content);
    expect(withLogprobs.map((part) => part.logprobs)).toEqual(chatContents(exchangeAfter(current, before).answered));
  });

  it('/api/generate raw to Ollama 0.12.11 (its native /api/generate): the engine’s list, streamed and not', async () => {
    const before = inferenceExchanges(current).length;
    const whole = await ollama(gateway).generate({ model: `ollama:${MODEL}`, prompt: 'def add(a, b):', raw: true, logprobs: true, top_logprobs: 1, stream: false });
    const first = exchangeAfter(current, before);
    expect(first.path).toBe('/api/generate');
    expect(first.sent).toMatchObject({ raw: true, logprobs: true, top_logprobs: 1 });
    expect(whole.logprobs).toEqual(nativeLogprobs(first.answered)[0]);

    const response = await fetch(`${gateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
      body: JSON.stringify({ model: `ollama:${MODEL}`, prompt: 'def add(a, b):', raw: true, logprobs: true }),
    });
    const lines = ndjsonLines(await response.text());
    const streamed = exchangeAfter(current, before + 1);
    expect(streamed.sent).not.toHaveProperty('top_logprobs');
    expect(lines.filter((line) => line['logprobs'] !== undefined).map((line) => line['logprobs'])).toEqual(nativeLogprobs(streamed.answered));
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
  });

  it('/api/chat to llama-server: its token ids left out, its default 20 alternatives cut to those asked for (none)', async () => {
    const before = inferenceExchanges(llama).length;
    const answer = await ollama(gateway).chat({ model: `llama:${LLAMA_MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, stream: false });
    const upstream = chatContents(exchangeAfter(llama, before).answered)[0]!;
    expect(upstream[0]?.['top_logprobs']).toHaveLength(20);
    expect(answer.logprobs).toEqual(upstream.map((entry) => ({ token: entry['token'], logprob: entry['logprob'], bytes: entry['bytes'] })));
  });

  it('an older Ollama (0.12.6) returns none: no logprobs, and the header names the fields', async () => {
    const response = await fetch(`${oldGateway.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
      body: JSON.stringify({ model: `ollama:${MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 2, stream: false }),
    });
    expect(await response.json()).not.toHaveProperty('logprobs');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('logprobs, top_logprobs');
    await oldGateway.settled();
    expect(JSON.stringify(getEvidence(oldGateway.store, response.headers.get('x-syndicate-evidence') ?? '')?.warnings)).toContain('"setting":"logprobs"');
    const generated = await fetch(`${oldGateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
      body: JSON.stringify({ model: `ollama:${MODEL}`, prompt: 'def add(a, b):', raw: true, logprobs: true }),
    });
    expect((await generated.text()).includes('logprobs')).toBe(false);
    expect(generated.headers.get('x-syndicate-ignored-fields')).toBe('logprobs');
  });
});

describe('an OpenAI client asks for logprobs of an Ollama model', () => {
  it('chat: Ollama 0.12.11’s {content} as it wrote it', async () => {
    const before = inferenceExchanges(current).length;
    const completion = await openai(gateway).chat.completions.create({ model: `ollama:${MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 1 });
    expect(completion.choices[0]?.logprobs?.content).toEqual(chatContents(exchangeAfter(current, before).answered)[0]);
  });

  it('text completions (its native /api/generate): the engine’s list as the chat-shaped {content}, streamed and not', async () => {
    const before = inferenceExchanges(current).length;
    const completion = await openai(gateway).completions.create({ model: `ollama:${MODEL}`, prompt: 'def add(a, b):', logprobs: 2 });
    const first = exchangeAfter(current, before);
    expect(first.path).toBe('/api/generate');
    expect(completion.choices[0]?.logprobs).toEqual({ content: nativeLogprobs(first.answered)[0] });

    const stream = await openai(gateway).completions.create({ model: `ollama:${MODEL}`, prompt: 'def add(a, b):', logprobs: 0, stream: true });
    const carried: unknown[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.logprobs !== null && chunk.choices[0]?.logprobs !== undefined) carried.push(chunk.choices[0].logprobs);
    expect(carried).toEqual(nativeLogprobs(exchangeAfter(current, before + 1).answered).map((content) => ({ content })));
  });
});
