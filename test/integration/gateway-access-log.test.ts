/**
 * The gateway's access log (`serve --access-log`): one entry per request as it ends — a stream
 * when it settled — with where it was routed and what became of it, never prompts or answers.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AccessLogEntry } from '../../src/gateway/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const MODEL = 'llama3.2:latest';
const entries: AccessLogEntry[] = [];
let engine: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'ollama' });
  gateway = await startTestGateway({
    providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: MODEL }] }],
    onRequestEnd: (entry) => entries.push(entry),
  });
});

afterAll(async () => {
  await gateway?.close();
  await engine?.close();
});

const client = (apiKey = TEST_TOKEN): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 });

/** The entry the next request adds. */
async function entryOf(request: () => Promise<unknown>): Promise<AccessLogEntry> {
  const before = entries.length;
  await request().catch(() => undefined);
  await vi.waitFor(() => expect(entries.length).toBe(before + 1), { timeout: 20_000, interval: 20 });
  return entries[before] as AccessLogEntry;
}

describe('access log', () => {
  it('records an answered request with its route, tokens and evidence, and nothing of the prompt', async () => {
    const prompt = 'What is the capital of France?';
    const entry = await entryOf(() => client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }));
    expect(entry).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      outcome: 'ok',
      api: 'openai',
      provider: 'ollama',
      providerClass: 'local',
      model: MODEL,
      sensitivity: 'public',
      streamed: false,
      evidenceId: expect.stringMatching(/^ev/),
    });
    expect(entry.inputTokens).toBeGreaterThan(0);
    expect(entry.durationMs).toBeGreaterThan(0);
    expect(Date.parse(entry.at)).not.toBeNaN();
    expect(JSON.stringify(entry)).not.toContain('France');
    expect(JSON.stringify(entry)).not.toContain(DEFAULT_ANSWER);
  });

  it('records a stream once it has ended, not when its headers went out', async () => {
    engine.setFault({ slowStreamMs: 60 }, 1);
    const before = entries.length;
    const stream = await client().responses.create({ model: 'auto', input: 'What is the capital of France?', stream: true });
    let sawEvents = 0;
    for await (const event of stream) {
      sawEvents += 1;
      if (event.type === 'response.created') expect(entries.length).toBe(before);
    }
    expect(sawEvents).toBeGreaterThan(3);
    await vi.waitFor(() => expect(entries.length).toBe(before + 1), { timeout: 20_000, interval: 20 });
    expect(entries[before]).toMatchObject({ path: '/v1/responses', status: 200, outcome: 'ok', api: 'openai_responses', streamed: true, provider: 'ollama' });
    expect(entries[before]?.durationMs).toBeGreaterThan(60);
  });

  it('records refusals and failures with their code: a bad token, an unknown route, a bad request, a stream that broke', async () => {
    expect(await entryOf(() => client('wrong').models.list())).toMatchObject({ method: 'GET', path: '/v1/models', status: 401, outcome: 'token_invalid' });
    expect(await entryOf(() => fetch(`${gateway.url}/v2/nothing`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } }))).toMatchObject({ status: 404, outcome: 'not_found' });
    expect(await entryOf(() => client().chat.completions.create({ model: 'auto', messages: [] }))).toMatchObject({ status: 400, outcome: 'invalid_input' });
    gateway.pipeline.health = new HealthMonitor();
    engine.setFault('reset-mid-stream', 1);
    const broken = await entryOf(async () => {
      const stream = await client().chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] });
      for await (const chunk of stream) void chunk;
    });
    expect(broken).toMatchObject({ status: 200, outcome: 'stream_broken', streamed: true, provider: 'ollama', providerClass: 'local', evidenceId: expect.stringMatching(/^ev/) });
  });

  it('logs a caller that went away before any reply as 499, not as a 500 it never sent', async () => {
    gateway.pipeline.health = new HealthMonitor();
    engine.setFault('hang', 1);
    const sent = inferenceExchanges(engine).length;
    const entry = await entryOf(async () => {
      const controller = new AbortController();
      // Gone once the engine has the request, not after a fixed 200 ms: a loaded machine may not have
      // routed it by then, and the entry would name no provider.
      const asked = client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }, { signal: controller.signal });
      await expect.poll(() => inferenceExchanges(engine).length, { timeout: 20_000, interval: 10 }).toBe(sent + 1);
      controller.abort();
      await asked;
    });
    expect(entry).toMatchObject({ status: 499, outcome: 'interrupted', provider: 'ollama' });
  });

  it('logs a caller that went away in the middle of sending its request body as 499', async () => {
    const sent = inferenceExchanges(engine).length;
    const entry = await entryOf(async () => {
      const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":"auto",`);
      // Gone once the gateway has the request's head and is reading its body, not after a fixed 50 ms.
      await expect.poll(() => gateway.running.uploading, { timeout: 20_000, interval: 5 }).toBe(1);
      socket.destroy();
    });
    expect(entry).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 499, outcome: 'interrupted' });
    expect(inferenceExchanges(engine).length).toBe(sent);
  });
});
