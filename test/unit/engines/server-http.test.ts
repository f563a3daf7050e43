import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineGenerationResult, LoadedModelInfo, PartSink } from '../../../src/engines/server/engine.js';
import { EngineHttpFace, listen, LOADING_BODY, type GenerationEngine, type ListeningFace } from '../../../src/engines/server/http.js';
import type { EngineChatRequest } from '../../../src/engines/server/request.js';
import { HostCheck } from '../../../src/common/host-check.js';
import { rawClient } from '../../helpers/raw-client.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';

const INFO: LoadedModelInfo = {
  id: 'fake',
  path: '/models/fake.gguf',
  backend: 'cpu',
  contextWindow: 1024,
  trainedContextWindow: 4096,
  sizeBytes: 1234,
  chatWrapper: 'JinjaTemplate',
  chatTemplate: undefined,
  threads: 1,
  parallel: 1,
  llamaCppRelease: 'b1',
  loadMs: 5,
};

/** Answers "Hello" in two deltas; records what it was asked and whether it saw an abort. */
class FakeEngine implements GenerationEngine {
  readonly info = INFO;
  readonly slots = 1;
  readonly requests: EngineChatRequest[] = [];
  aborted = false;
  hold: Promise<void> | undefined;

  async generate(request: EngineChatRequest, _slot: number, signal: AbortSignal, onPart?: PartSink): Promise<EngineGenerationResult> {
    this.requests.push(request);
    onPart?.({ type: 'text-delta', text: 'Hel' });
    if (this.hold !== undefined) await Promise.race([this.hold, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    this.aborted = signal.aborted;
    onPart?.({ type: 'text-delta', text: 'lo' });
    const usage = { inputTokens: 7, outputTokens: 3, cachedInputTokens: 2 };
    onPart?.({ type: 'finish', finishReason: 'stop', rawFinishReason: 'eogToken' });
    onPart?.({ type: 'usage', usage });
    return { text: 'Hello', toolCalls: [], finishReason: 'stop', rawFinishReason: 'eogToken', usage, timings: { promptMs: 12.5, predictedMs: 30, predictedTokens: 3, promptTokens: 5, cachedTokens: 2 } };
  }
}

let listening: ListeningFace | undefined;
afterEach(async () => {
  listening?.server.closeAllConnections();
  await new Promise<void>((resolve) => (listening === undefined ? resolve() : listening.server.close(() => resolve())));
  listening = undefined;
});

async function start(engine?: GenerationEngine, options: { bodyLimitBytes?: number; internalErrors?: unknown[]; hostCheck?: HostCheck } = {}): Promise<{ face: EngineHttpFace; url: string }> {
  const face = new EngineHttpFace({
    maxQueued: 4,
    ...(options.hostCheck === undefined ? {} : { hostCheck: options.hostCheck }),
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    onInternalError: (error) => options.internalErrors?.push(error),
  });
  if (engine !== undefined) face.attach(engine);
  listening = await listen(face, '127.0.0.1', 0);
  return { face, url: listening.url };
}

const CHAT = { model: 'anything', messages: [{ role: 'user', content: 'hi' }] };
const CAPTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'llama.cpp-real');
/** The FakeEngine's generation in llama-server's `timings`: 2 prompt tokens reused, 5 evaluated in 12.5 ms, 3 predicted in 30. */
const TIMINGS = { cache_n: 2, prompt_n: 5, prompt_ms: 12.5, prompt_per_token_ms: 2.5, prompt_per_second: 400, predicted_n: 3, predicted_ms: 30, predicted_per_token_ms: 10, predicted_per_second: 100 };

function capturedTimings(file: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(CAPTURES, file), 'utf8')) as { timings: Record<string, unknown> }).timings;
}

function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** POSTs `size` bytes in 16 KiB writes through node:http (chunked unless a length is declared); resolves with the answer the client read. */
function upload(url: string, size: number, headers: Record<string, string | number> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!outgoing.write(chunk)) {
          outgoing.once('drain', pump);
          return;
        }
      }
      outgoing.end();
    };
    pump();
  });
}

describe('EngineHttpFace', () => {
  it('answers 503 "Loading model" (llama-server bytes) on every model endpoint until a model is attached', async () => {
    const { face, url } = await start();
    for (const path of ['/health', '/v1/models', '/props']) {
      const response = await fetch(`${url}${path}`);
      expect([path, response.status, await response.text()]).toEqual([path, 503, LOADING_BODY]);
    }
    expect((await post(url, CHAT)).status).toBe(503);
    face.attach(new FakeEngine());
    const health = await fetch(`${url}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('lists the model with its context window, and reports n_ctx in /props', async () => {
    const { url } = await start(new FakeEngine());
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { object: string; data: { id: string; meta: Record<string, number> }[] };
    expect(models.object).toBe('list');
    expect(models.data.map((model) => [model.id, model.meta['n_ctx'], model.meta['n_ctx_train']])).toEqual([['fake', 1024, 4096]]);
    const props = (await (await fetch(`${url}/props`)).json()) as { default_generation_settings: { n_ctx: number }; total_slots: number };
    expect([props.default_generation_settings.n_ctx, props.total_slots]).toEqual([1024, 1]);
  });

  it('answers a chat completion with the model id and usage', async () => {
    const { url } = await start(new FakeEngine());
    const response = await post(url, CHAT);
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'fake',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
    expect(String(body['id'])).toMatch(/^chatcmpl-/);
    // llama-server's account of the generation, its fields in its order: the prompt tokens reused
    // and evaluated, how long these took, and the tokens predicted.
    expect(body['timings']).toEqual(TIMINGS);
    expect(Object.keys(body['timings'] as object)).toEqual(Object.keys(capturedTimings('chat-nonstream.json')));
  });

  it('streams its timings on the last chunk before [DONE], as llama-server does: the usage chunk, else the finish chunk', async () => {
    const { url } = await start(new FakeEngine());
    for (const [includeUsage, capture] of [[true, 'chat-stream-include-usage.chunks.txt'], [false, 'chat-stream.chunks.txt']] as const) {
      const text = await (await post(url, { ...CHAT, stream: true, stream_options: { include_usage: includeUsage } })).text();
      const chunks = parseServerSentEvents(text).map((event) => event.data).filter((data) => data !== '[DONE]').map((data) => JSON.parse(data) as Record<string, unknown>);
      const captured = readFileSync(join(CAPTURES, capture), 'utf8').trim().split('\n').filter((line) => line !== '[DONE]').map((line) => JSON.parse(line) as Record<string, unknown>);
      // Where the capture has them: on its last chunk alone.
      expect(captured.map((chunk) => 'timings' in chunk)).toEqual(captured.map((_, index) => index === captured.length - 1));
      expect(chunks.map((chunk) => 'timings' in chunk), `include_usage: ${String(includeUsage)}`).toEqual(chunks.map((_, index) => index === chunks.length - 1));
      const last = chunks.at(-1)!;
      expect(last['timings']).toEqual(TIMINGS);
      expect(Object.keys(last['timings'] as object)).toEqual(Object.keys(captured.at(-1)!['timings'] as object));
      expect(includeUsage ? last['usage'] : (last['choices'] as { finish_reason: string }[])[0]?.finish_reason).toEqual(includeUsage ? expect.objectContaining({ prompt_tokens: 7 }) : 'stop');
    }
  });

  it('streams data-only SSE frames: role, deltas, finish, usage chunk with choices [], then [DONE]', async () => {
    const { url } = await start(new FakeEngine());
    const response = await post(url, { ...CHAT, stream: true, stream_options: { include_usage: true } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).not.toMatch(/^event:/m);
    const events = parseServerSentEvents(text).map((event) => event.data);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { choices: { delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: Record<string, number> });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta ?? null)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hel' }, { content: 'lo' }, {}, null]);
    expect(chunks[3]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks[4]?.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } });
  });

  it('sends no usage chunk without include_usage', async () => {
    const { url } = await start(new FakeEngine());
    const text = await (await post(url, { ...CHAT, stream: true })).text();
    expect(text).not.toContain('"usage"');
  });

  it('answers 400 in the OpenAI error shape for a field it cannot honour, before generating', async () => {
    const engine = new FakeEngine();
    const { url } = await start(engine);
    const response = await post(url, { ...CHAT, logit_bias: { '1': 2 } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: 'invalid chat completions request: /logit_bias: logit_bias is not supported by this engine (remove `logit_bias` from the request)', type: 'invalid_request_error', param: 'logit_bias', code: 'invalid_input' },
    });
    expect(engine.requests).toHaveLength(0);
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    const { url } = await start(new FakeEngine());
    expect((await fetch(`${url}/v1/embeddings`, { method: 'POST', body: '{}' })).status).toBe(404);
    const wrong = await fetch(`${url}/v1/chat/completions`);
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('stops the generation when the client goes away', async () => {
    const engine = new FakeEngine();
    let release!: () => void;
    engine.hold = new Promise<void>((resolve) => (release = resolve));
    const { face, url } = await start(engine);
    const abort = new AbortController();
    const response = await post(url, { ...CHAT, stream: true }, { signal: abort.signal });
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    await face.drain();
    release();
    expect(engine.aborted).toBe(true);
  });

  describe('cancelInFlight (the drain\'s bound passed)', () => {
    const reason = new Error('the engine stopped (SIGTERM, and the requests in flight did not finish within --drain-timeout 1s) before the answer ended');
    const expectedError = { message: reason.message, type: 'service_unavailable', param: null, code: 'engine_stopped' };

    it('ends a stream with an error event naming why: no finish_reason, no usage, no [DONE]', async () => {
      const engine = new FakeEngine();
      engine.hold = new Promise<void>(() => undefined);
      const { face, url } = await start(engine);
      const response = await post(url, { ...CHAT, stream: true, stream_options: { include_usage: true } });
      const reader = response.body!.getReader();
      await reader.read();
      const drained = face.drain();
      expect(face.cancelInFlight(reason)).toBe(1);
      await drained;
      expect(engine.aborted).toBe(true);
      let text = '';
      for (let read = await reader.read(); !read.done; read = await reader.read()) text += new TextDecoder().decode(read.value);
      const events = parseServerSentEvents(text).map((event) => event.data);
      expect(events).not.toContain('[DONE]');
      expect(text).not.toContain('finish_reason":"stop"');
      expect(text).not.toContain('"usage"');
      expect(JSON.parse(events.at(-1)!)).toEqual({ error: expectedError });
      // Already stopped: a second call (a signal after the deadline) stops nothing more.
      expect(face.cancelInFlight(reason)).toBe(0);
    });

    it('answers a request not streamed 503 naming why, not the text generated so far', async () => {
      const engine = new FakeEngine();
      engine.hold = new Promise<void>(() => undefined);
      const { face, url } = await start(engine);
      const answer = post(url, CHAT);
      await until(() => engine.requests.length === 1, 'the generation to start');
      expect(face.cancelInFlight(reason)).toBe(1);
      const response = await answer;
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: expectedError });
    });

    it('answers a request still uploading its body 503 at once, without waiting for the rest', async () => {
      const engine = new FakeEngine();
      const { face, url } = await start(engine);
      const outgoing = request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 100_000 } });
      const answered = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
        outgoing.on('response', (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body, connection: response.headers.connection }));
        });
        outgoing.on('error', reject);
      });
      outgoing.write('{"model":"anything","messages":[');
      await until(() => face.pending === 1, 'the engine to start reading the request');
      expect(face.cancelInFlight(reason)).toBe(1);
      const response = await answered;
      expect([response.status, JSON.parse(response.body), response.connection]).toEqual([503, { error: expectedError }, 'close']);
      await until(() => face.pending === 0, 'the request to be let go');
      expect(engine.requests).toHaveLength(0);
      outgoing.destroy();
    });
  });

  it('refuses new requests with 503 once draining', async () => {
    const { face, url } = await start(new FakeEngine());
    await face.drain();
    const response = await post(url, CHAT);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('engine_busy');
  });

  it('answers a body over the limit with a 413 the client reads, declared by Content-Length or counted as it streams', async () => {
    const engine = new FakeEngine();
    const internalErrors: unknown[] = [];
    const { url } = await start(engine, { bodyLimitBytes: 64 * 1024, internalErrors });
    const expected = { error: { message: 'the request body exceeds 65536 bytes', type: 'invalid_request_error', code: 'body_too_large' } };

    const declared = await post(url, { ...CHAT, messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject(expected);

    const streamed = await upload(url, 4 * 1024 * 1024);
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject(expected);

    const declaredLarge = await upload(url, 4 * 1024 * 1024, { 'content-length': 4 * 1024 * 1024 });
    expect(declaredLarge.status).toBe(413);

    // Within the limit the same face still answers.
    expect((await post(url, CHAT)).status).toBe(200);
    expect(engine.requests).toHaveLength(1);
    expect(internalErrors).toEqual([]);
  });

  it('lets a client that disconnects mid-body go without an internal error or an answer', async () => {
    const engine = new FakeEngine();
    const internalErrors: unknown[] = [];
    const { face, url } = await start(engine, { internalErrors });
    const outgoing = request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 100_000 } });
    const clientError = new Promise((resolve) => outgoing.on('error', resolve));
    outgoing.write('{"model":"anything","messages":[');
    await until(() => face.pending === 1, 'the engine to start reading the request');
    outgoing.destroy();
    await clientError;
    await until(() => face.pending === 0, 'the request to be let go');
    expect(internalErrors).toEqual([]);
    expect(engine.requests).toHaveLength(0);
  });

  describe('web pages', () => {
    /** One request through node:http with exactly these headers (`Host` included), answered whole. */
    const send = (url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const outgoing = request(`${url}${path}`, { method, headers }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
          response.on('error', reject);
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });

    it('refuses a Host it does not answer to (DNS rebinding) with 403 host_not_allowed on every route, before reading or generating anything', async () => {
      const engine = new FakeEngine();
      const { url } = await start(engine);
      const port = new URL(url).port;
      for (const [method, path] of [['POST', '/v1/chat/completions'], ['POST', '/chat/completions'], ['GET', '/v1/models'], ['GET', '/props'], ['GET', '/health'], ['GET', '/nowhere']] as const) {
        const answer = await send(url, method, path, { host: `evil.example:${port}`, 'content-type': 'application/json' }, method === 'POST' ? JSON.stringify(CHAT) : undefined);
        expect([path, answer.status], answer.body).toEqual([path, 403]);
        expect(JSON.parse(answer.body)).toEqual({
          error: {
            message: `the engine does not answer to the host "evil.example:${port}" (Host is checked against DNS rebinding); call it by its address, localhost or [::1], or let a reverse proxy's name in with \`syndicate engine serve --allow-host NAME\``,
            type: 'permission_error',
            param: null,
            code: 'host_not_allowed',
          },
        });
      }
      expect(engine.requests).toHaveLength(0);
    });

    it('refuses a page from another origin (a text/plain POST needs no preflight) with 403 origin_not_allowed, generating nothing', async () => {
      const engine = new FakeEngine();
      const { url } = await start(engine);
      for (const origin of ['https://evil.example', 'null', 'http://192.168.1.20:3000', 'chrome-extension://abcdef']) {
        const answer = await send(url, 'POST', '/v1/chat/completions', { 'content-type': 'text/plain;charset=UTF-8', origin }, JSON.stringify(CHAT));
        expect([origin, answer.status]).toEqual([origin, 403]);
        expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'permission_error', code: 'origin_not_allowed', message: expect.stringContaining(`a browser page on ${origin} may not call the engine`) } });
      }
      expect(engine.requests).toHaveLength(0);
    });

    it('answers clients outside browsers (no Origin; any address, localhost, no Host at all) and pages served from this machine', async () => {
      const engine = new FakeEngine();
      const { url } = await start(engine);
      const port = new URL(url).port;
      const requests: Record<string, string>[] = [{}, { host: `localhost:${port}` }, { host: `[::1]:${port}` }, { origin: `http://localhost:${port}` }, { origin: 'http://127.0.0.1:5173' }, { origin: 'https://[::1]' }];
      for (const headers of requests) {
        const answer = await send(url, 'POST', '/v1/chat/completions', { 'content-type': 'application/json', ...headers }, JSON.stringify(CHAT));
        expect([JSON.stringify(headers), answer.status], answer.body).toEqual([JSON.stringify(headers), 200]);
      }
      const client = await rawClient(Number(port));
      try {
        await client.write('GET /health HTTP/1.0\r\n\r\n');
        await client.closed;
        expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      } finally {
        client.destroy();
      }
      expect(engine.requests).toHaveLength(6);
    });

    it('answers a name the operator allowed, in Host and in Origin', async () => {
      const engine = new FakeEngine();
      const { url } = await start(engine, { hostCheck: new HostCheck(['Engine.Example.org']) });
      const answer = await send(url, 'POST', '/v1/chat/completions', { host: 'engine.example.org', origin: 'https://engine.example.org', 'content-type': 'application/json' }, JSON.stringify(CHAT));
      expect(answer.status, answer.body).toBe(200);
      expect((await send(url, 'GET', '/v1/models', { host: 'other.example.org' })).status).toBe(403);
    });
  });
});
