import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';
import { splitSseFrames } from '../../helpers/fake-engines/sse.js';
import { rawRequest, WEATHER_TOOL } from './raw-client.js';

/** Byte-exact captures of a real llama-server (see test/fixtures/llama.cpp-real/README.md). */
const REAL = resolve(import.meta.dirname, '..', '..', 'fixtures', 'llama.cpp-real');
const real = (file: string): string => readFileSync(resolve(REAL, file), 'utf8');
const realJson = (file: string): unknown => JSON.parse(real(file));

/** The structure of a JSON value: key names in order and value types, values themselves ignored. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([key, item]) => [key, shape(item)]);
  return value === null ? 'null' : typeof value;
}

/** Response header names in the order the real server sent them, minus transport-level ones node or the capture set. */
function realHeaderNames(file: string): string[] {
  const head = real(file).split('\r\n\r\n')[0]!.split(/\r?\n/).slice(1);
  return head.map((line) => line.slice(0, line.indexOf(':')).toLowerCase()).filter((name) => !['content-length', 'transfer-encoding', 'connection', 'date', 'keep-alive'].includes(name));
}

function fakeHeaderNames(rawHeaders: Record<string, unknown>): string[] {
  return Object.keys(rawHeaders).filter((name) => !['content-length', 'transfer-encoding', 'connection', 'date', 'keep-alive'].includes(name));
}

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const MODEL = { id: 'tiny.gguf', contextWindow: 2048 };
const chat = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Say hello.' }], ...extra });

describe('fake llama.cpp matches the real llama-server captures', () => {
  it('non-stream body: same keys, order and types; same headers', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat() });
    expect(shape(JSON.parse(response.body.toString()))).toEqual(shape(realJson('chat-nonstream.json')));
    expect(fakeHeaderNames(response.headers)).toEqual(realHeaderNames('chat-nonstream.http'));
    expect(response.headers['access-control-allow-origin']).toBe('');
    expect(JSON.parse(response.body.toString()).system_fingerprint).toBe('b1-de3ff81');
  });

  it('stream without include_usage: same frame shapes (timings on the finish chunk, no usage) and write grouping', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat({ stream: true }) });
    const fakeFrames = splitSseFrames(response.body);
    const realFrames = splitSseFrames(real('chat-stream.sse.txt'));
    const payloadShape = (frames: typeof fakeFrames, index: number): unknown => shape(JSON.parse(frames.at(index)!.data));
    expect(payloadShape(fakeFrames, 0)).toEqual(payloadShape(realFrames, 0));
    expect(payloadShape(fakeFrames, 1)).toEqual(payloadShape(realFrames, 1));
    expect(payloadShape(fakeFrames, -2)).toEqual(payloadShape(realFrames, -2));
    expect(fakeFrames.at(-1)!.raw).toBe(realFrames.at(-1)!.raw);
    expect(fakeHeaderNames(response.headers)).toEqual(realHeaderNames('chat-stream.http'));
    const writes = engine.exchanges[0]!.responseChunks.map((chunk) => splitSseFrames(chunk).length);
    expect(writes[0]).toBe(2);
    expect(writes.slice(1)).toEqual(writes.slice(1).map(() => 1));
  });

  it('stream with include_usage: the finish chunk and the usage chunk (usage + timings) travel in one write', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat({ stream: true, stream_options: { include_usage: true } }) });
    const fakeFrames = splitSseFrames(response.body);
    const realFrames = splitSseFrames(real('chat-stream-include-usage.sse.txt'));
    for (const index of [0, 1, -3, -2]) {
      expect(shape(JSON.parse(fakeFrames.at(index)!.data))).toEqual(shape(JSON.parse(realFrames.at(index)!.data)));
    }
    const chunks = engine.exchanges[0]!.responseChunks;
    expect(splitSseFrames(chunks.at(-2)!).map((frame) => JSON.parse(frame.data).choices.length)).toEqual([1, 0]);
    expect(chunks.at(-1)!.toString()).toBe('data: [DONE]\n\n');
  });

  it('reports a repeated prompt as cached, like the real prompt cache', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    const first = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat() })).body.toString());
    const second = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat() })).body.toString());
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(second.usage.prompt_tokens_details.cached_tokens).toBe(second.usage.prompt_tokens - 1);
    expect(second.timings.cache_n).toBe(second.usage.prompt_tokens - 1);
    expect(second.timings.prompt_n).toBe(1);
  });

  it('tools without --jinja: the exact captured 500', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    for (const stream of [false, true]) {
      const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat({ tools: [WEATHER_TOOL], stream }) });
      expect(response.status).toBe(500);
      expect(response.body.toString()).toBe(real('no-jinja-chat-tools.json'));
      expect(fakeHeaderNames(response.headers)).toEqual(realHeaderNames('no-jinja-chat-tools.http'));
    }
  });

  it('an embeddings input longer than the physical batch: the captured 500, with the fake tokenizer\'s count', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [{ ...MODEL, embedding: true }] });
    // The request of the capture: the second text is 1 054 tokens to the real model's tokenizer.
    const long = Array.from({ length: 400 }, (_, index) => `word${index}`).join(' ');
    const response = await rawRequest(`${engine.baseUrl}/embeddings`, { body: JSON.stringify({ model: 'tiny.gguf', input: ['short text', long] }) });
    expect(response.status).toBe(500);
    expect(response.body.toString().replace(/^(\{"error":\{"code":500,"message":"input \()\d+/, (_match, head: string) => `${head}1054`)).toBe(real('embeddings-input-too-large.json'));
    const short = await rawRequest(`${engine.baseUrl}/embeddings`, { body: JSON.stringify({ model: 'tiny.gguf', input: ['short text', 'abc'] }) });
    expect(short.status).toBe(200);
  });

  it('what provider add asks: /apply-template with a tool (200 with jinja, the captured 500 without) and /v1/embeddings with --embeddings over a model that pools nothing (the captured 400)', async () => {
    const applyTemplate = JSON.stringify({ messages: [{ role: 'user', content: 'probe' }], tools: [{ type: 'function', function: { name: 'probe', description: 'probe', parameters: { type: 'object', properties: {} } } }] });
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL], jinja: true });
    const rendered = await rawRequest(`${engine.url}/apply-template`, { body: applyTemplate });
    expect(rendered.status).toBe(200);
    expect(rendered.body.toString()).toBe(real('apply-template-tools.json'));
    await engine.close();
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL], jinja: false });
    const refused = await rawRequest(`${engine.url}/apply-template`, { body: applyTemplate });
    expect(refused.status).toBe(500);
    expect(refused.body.toString()).toBe(real('no-jinja-apply-template-tools.json'));
    await engine.close();
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL], embeddings: true });
    const pooling = await rawRequest(`${engine.baseUrl}/embeddings`, { body: JSON.stringify({ model: 'tiny', input: 'x' }) });
    expect(pooling.status).toBe(400);
    expect(pooling.body.toString()).toBe(real('embeddings-pooling-none.json'));
  });

  it('tool calls with --jinja: string arguments, 32-character id without call_, content "", first streamed delta carries the first argument piece', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL], jinja: true });
    const body = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat({ tools: [WEATHER_TOOL] }) })).body.toString());
    expect(shape(body)).toEqual(shape(realJson('jinja-chat-tools-required.json')));
    const call = body.choices[0].message.tool_calls[0];
    expect(call.id).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(body.choices[0].message.content).toBe('');
    const streamed = splitSseFrames((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chat({ tools: [WEATHER_TOOL], stream: true }) })).body);
    const realTool = splitSseFrames(real('jinja-chat-tools-required-stream.sse.txt')).filter((frame) => frame.data.includes('tool_calls'));
    const fakeTool = streamed.filter((frame) => frame.data.includes('tool_calls'));
    expect(shape(JSON.parse(fakeTool[0]!.data))).toEqual(shape(JSON.parse(realTool[0]!.data)));
    expect(shape(JSON.parse(fakeTool[1]!.data))).toEqual(shape(JSON.parse(realTool[1]!.data)));
    expect(JSON.parse(fakeTool[0]!.data).choices[0].delta.tool_calls[0].function.arguments).toBe('{"');
  });

  it('errors: malformed JSON is a 500, missing/non-array messages 400, unknown path 404, each in the captured envelope', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    const malformed = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: '{"model":"x","messages":[' });
    expect(malformed.status).toBe(500);
    expect(shape(JSON.parse(malformed.body.toString()))).toEqual(shape(realJson('error-malformed-json.json')));
    const missing = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: '{"model":"x"}' });
    expect(missing.status).toBe(400);
    expect(missing.body.toString()).toBe(real('error-missing-messages.json'));
    const notArray = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: '{"model":"x","messages":"hi"}' });
    expect(notArray.body.toString()).toBe(real('error-messages-not-array.json'));
    const unknown = await rawRequest(`${engine.url}/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toBe(real('error-unknown-path.json'));
  });

  it('--alias tiny-chat,chat,small: lists every name in byte order under the first, as the captured server does', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [{ ...MODEL, id: 'chat', aliases: ['tiny-chat', 'small'] }] });
    const models = JSON.parse((await rawRequest(`${engine.url}/v1/models`)).body.toString()) as { models: Array<Record<string, unknown>>; data: Array<Record<string, unknown>> };
    const captured = real('alias-v1-models.http');
    const realModels = JSON.parse(captured.slice(captured.indexOf('\r\n\r\n') + 4)) as typeof models;
    expect(shape(models)).toEqual(shape(realModels));
    const names = (listing: typeof models): unknown => [listing.models[0]?.['name'], listing.models[0]?.['model'], listing.data[0]?.['id'], listing.data[0]?.['aliases']];
    expect(names(models)).toEqual(names(realModels));
    expect(JSON.parse((await rawRequest(`${engine.url}/props`)).body.toString())).toMatchObject({ model_alias: 'chat' });
  });

  it('metadata endpoints have the captured shapes and bytes', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [MODEL] });
    const models = JSON.parse((await rawRequest(`${engine.url}/v1/models`)).body.toString());
    const realModels = realJson('v1-models.json') as { data: Array<Record<string, unknown>> };
    expect(shape(models)).toEqual(shape(realModels));
    expect({ ...models.data[0], created: 0 }).toEqual({ ...realModels.data[0], created: 0 });
    expect((await rawRequest(`${engine.url}/props`)).body.toString()).toBe(real('props.json'));
    expect((await rawRequest(`${engine.url}/slots`)).body.toString()).toBe(real('slots.json'));
    const health = await rawRequest(`${engine.url}/health`);
    expect(health.body.toString()).toBe(real('health.json'));
    expect(fakeHeaderNames(health.headers)).toEqual(realHeaderNames('health.http'));
  });
});
