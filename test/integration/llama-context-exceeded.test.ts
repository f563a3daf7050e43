/**
 * A chat prompt longer than llama-server's context (`-c`): the real server answers 400
 * `exceed_context_size_error` before it answers anything, streamed or not
 * (test/fixtures/llama.cpp-real/chat-exceed-context.http, build de3ff81 with `-c 256`). Its record
 * declares a larger window than the engine was started with. `run` (the built CLI) lets the prompt
 * through and the engine's own refusal is what the caller meets; the gateway (the official `openai`
 * client), whose health probe has read the context the engine runs with, refuses it before sending
 * anything — both syndicate's refusal with its hint, as for a prompt too long for every window.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentProviders } from '../../src/registry/provider-cache.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const MODEL = 'tiny.gguf';
const ENGINE_CONTEXT = 256;
/** Far more than 256 tokens to any tokenizer, far fewer than the 32 768 the record declares. */
const LONG_PROMPT = Array.from({ length: 200 }, (_, index) => `hello world number ${index}`).join(' ');
const CAPTURED = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'llama.cpp-real', 'chat-exceed-context.http'), 'utf8');

const caught = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error);

let engine: FakeEngine;
let scenario: Scenario;
let gateway: TestGateway;

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: MODEL, contextWindow: ENGINE_CONTEXT }], contextSize: ENGINE_CONTEXT });
  scenario = await Scenario.create();
  await scenario.register({ id: 'llama', engine, model: MODEL, contextWindow: 32_768 });
  gateway = await startTestGateway({ providers: [{ id: 'llama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'llama.cpp', models: [{ id: MODEL, contextWindow: 32_768 }] }] });
});

afterAll(async () => {
  scenario?.cleanup();
  await gateway?.close();
  await engine?.close();
});

describe('the fake llama-server over its context', () => {
  it('answers as the captured server does: 400 with the counts, in the captured body shape', async () => {
    const response = await fetch(`${engine.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: LONG_PROMPT }], max_tokens: 5, stream: true }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await response.text();
    const capturedBody = CAPTURED.slice(CAPTURED.indexOf('\r\n\r\n') + 4);
    const shape = (text: string): string => text.replace(/\d+/g, 'N');
    expect(shape(body)).toBe(shape(capturedBody));
    const error = (JSON.parse(body) as { error: { n_prompt_tokens: number; n_ctx: number } }).error;
    expect(error.n_ctx).toBe(ENGINE_CONTEXT);
    expect(error.n_prompt_tokens).toBeGreaterThanOrEqual(ENGINE_CONTEXT);
  });

  it('answers a prompt that fits', async () => {
    const response = await fetch(`${engine.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });
    expect(response.status).toBe(200);
  });
});

describe('a prompt longer than the engine holds', () => {
  it('through `run`: exit 4, context_length_exceeded, the engine’s words and what to do', async () => {
    const sent = inferenceExchanges(engine).length;
    const { result, document } = await scenario.json(['run', '-', '--no-stream', '--provider', 'llama'], { input: LONG_PROMPT });
    expect(result.exitCode, result.stderr).toBe(4);
    const error = document.error as { code: string; message: string; hint?: string };
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toMatch(/llama answered HTTP 400: request \(\d+ tokens\) exceeds the available context size \(256 tokens\), try increasing it/);
    expect(error.hint).toContain('shorten or compact the conversation');
    expect(error.hint).toContain(`lower it so syndicate checks prompts before calling`);
    expect(inferenceExchanges(engine).length).toBe(sent + 1);
    expect(inferenceExchanges(engine).at(-1)?.status).toBe(400);
  });

  // The gateway's health probe reads the context llama-server runs with (`/props` n_ctx): its router
  // refuses the prompt itself, before anything is sent, with the same error and the engine's fix.
  it('through the gateway, streamed or not: 400 context_length_exceeded with the hint, nothing sent; the provider is not held back', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const sentBefore = inferenceExchanges(engine).length;
    for (const stream of [false, true]) {
      const error = await caught(
        stream
          ? client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: LONG_PROMPT }], stream: true }).then(async (chunks) => {
              for await (const chunk of chunks) void chunk;
            })
          : client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: LONG_PROMPT }] }),
      );
      expect(error, `stream: ${String(stream)}`).toBeInstanceOf(OpenAI.BadRequestError);
      const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(refusal.status).toBe(400);
      expect(refusal.code).toBe('context_length_exceeded');
      expect(refusal.message).toContain(`context window ${ENGINE_CONTEXT} < `);
      expect(refusal.message).toContain('(the context llama-server runs it with (n_ctx); its record declares 32768): start llama-server with a larger `-c`');
      expect(refusal.message).toContain('shorten or compact the conversation');
    }
    expect(inferenceExchanges(engine).length).toBe(sentBefore);
    await gateway.settled();
    expect(gateway.pipeline.health.holds(currentProviders(gateway.store))).toEqual([]);
    const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('llama');
  });
});
