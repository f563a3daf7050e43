import { afterEach, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';
import { splitSseFrames } from '../../helpers/fake-engines/sse.js';
import { chatBody, rawRequest } from './raw-client.js';

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const MODEL = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
const completions = (): string => `${engine!.baseUrl}/chat/completions`;

describe('fault injection', () => {
  it('answers a status fault with the given headers and body for `times` requests, then recovers', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    engine.setFault({ status: 429, body: '{"error":"slow down"}', headers: { 'retry-after': '7' } }, 2);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const limited = await rawRequest(completions(), { body: chatBody(MODEL) });
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('7');
      expect(limited.body.toString()).toBe('{"error":"slow down"}');
    }
    expect((await rawRequest(completions(), { body: chatBody(MODEL) })).status).toBe(200);
    expect(engine.exchanges.map((exchange) => exchange.status)).toEqual([429, 429, 200]);
  });

  it('uses the engine\'s own error envelope when no body is given, for every request by default', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    engine.setFault({ status: 529 });
    const headers = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
    const body = JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const overloaded = await rawRequest(`${engine.url}/v1/messages`, { body, headers });
      expect(overloaded.status).toBe(529);
      expect(JSON.parse(overloaded.body.toString())).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    }
  });

  it('does not apply faults to discovery endpoints', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    engine.setFault('reset');
    expect((await rawRequest(`${engine.url}/props`)).status).toBe(200);
    expect((await rawRequest(`${engine.url}/v1/models`)).status).toBe(200);
  });

  it('reset destroys the socket before any byte', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    engine.setFault('reset', 1);
    const response = await rawRequest(completions(), { body: chatBody('llama3.2:latest') });
    expect(response.status).toBe(0);
    expect(response.error?.code).toBe('ECONNRESET');
    expect(engine.exchanges[0]!.responseBody.length).toBe(0);
    expect(engine.exchanges[0]!.requestBody.toString()).toBe(chatBody('llama3.2:latest'));
  });

  it('hang never answers, and close() ends it promptly', async () => {
    engine = await startFakeEngine({ kind: 'vllm' });
    engine.setFault('hang');
    const pending = rawRequest(completions(), { body: chatBody('Qwen/Qwen2.5-1.5B-Instruct') });
    const early = await Promise.race([pending.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 300))]);
    expect(early).toBe('still waiting');
    // Promptly by what ends it, not by a wall-clock bound: this client has no timeout and the engine
    // never answers, so the request ending at all is close() cutting it.
    await engine.close();
    const response = await pending;
    expect(response.status).toBe(0);
    expect(response.error).toBeDefined();
  });

  it('malformed-json answers 200 with a body that does not parse (and a broken frame in streams)', async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    engine.setFault('malformed-json');
    const auth = { authorization: 'Bearer k' };
    const response = await rawRequest(completions(), { body: chatBody('gpt-4o-mini'), headers: auth });
    expect(response.status).toBe(200);
    expect(() => JSON.parse(response.body.toString())).toThrow();
    const stream = await rawRequest(completions(), { body: chatBody('gpt-4o-mini', { stream: true }), headers: auth });
    const frames = splitSseFrames(stream.body);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    expect(frames.filter((frame) => { try { JSON.parse(frame.data); return false; } catch { return frame.data !== '[DONE]'; } })).toHaveLength(1);
  });

  it('truncate-stream ends the response cleanly after some chunks, without [DONE] / message_stop', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    engine.setFault('truncate-stream', 1);
    const response = await rawRequest(completions(), { body: chatBody(MODEL, { stream: true }) });
    expect(response.complete).toBe(true);
    const frames = splitSseFrames(response.body);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.some((frame) => frame.data === '[DONE]')).toBe(false);
    expect(engine.exchanges[0]!.responseBody.equals(response.body)).toBe(true);
    await engine.close();
    engine = await startFakeEngine({ kind: 'anthropic' });
    engine.setFault('truncate-stream');
    const anthropic = await rawRequest(`${engine.url}/v1/messages`, {
      body: JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
    });
    const events = splitSseFrames(anthropic.body).map((frame) => frame.event);
    expect(events[0]).toBe('message_start');
    expect(events).not.toContain('message_stop');
  });

  it('omit-terminal-marker streams the whole answer, finish and usage included, then ends cleanly without [DONE] / message_stop', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    engine.setFault('omit-terminal-marker', 1);
    const response = await rawRequest(completions(), { body: chatBody('llama3.2:latest', { stream: true, stream_options: { include_usage: true } }) });
    expect(response.complete).toBe(true);
    const frames = splitSseFrames(response.body);
    expect(frames.some((frame) => frame.data === '[DONE]')).toBe(false);
    const chunks = frames.map((frame) => JSON.parse(frame.data) as { choices: { finish_reason: string | null }[]; usage?: unknown });
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(chunks.at(-1)?.usage).toBeDefined();
    expect(engine.exchanges[0]!.responseBody.equals(response.body)).toBe(true);
    const next = await rawRequest(completions(), { body: chatBody('llama3.2:latest', { stream: true }) });
    expect(splitSseFrames(next.body).at(-1)?.data).toBe('[DONE]');
    await engine.close();
    engine = await startFakeEngine({ kind: 'anthropic' });
    engine.setFault('omit-terminal-marker');
    const anthropic = await rawRequest(`${engine.url}/v1/messages`, {
      body: JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
    });
    expect(anthropic.complete).toBe(true);
    expect(splitSseFrames(anthropic.body).map((frame) => frame.event).at(-1)).toBe('message_delta');
  });

  it('reset-mid-stream sends some chunks then destroys the socket; the recording holds exactly what was sent', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    engine.setFault('reset-mid-stream');
    const response = await rawRequest(completions(), { body: chatBody('llama3.2:latest', { stream: true }) });
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    expect(response.error).toBeDefined();
    expect(response.body.length).toBeGreaterThan(0);
    expect(response.body.toString()).not.toContain('[DONE]');
    expect(engine.exchanges[0]!.responseBody.equals(response.body)).toBe(true);
  });

  it('contentType answers as usual under another Content-Type header, streamed or not', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    engine.setFault({ contentType: 'text/plain' }, 2);
    const body = await rawRequest(completions(), { body: chatBody(MODEL) });
    expect(body.headers['content-type']).toBe('text/plain');
    expect(JSON.parse(body.body.toString())).toMatchObject({ object: 'chat.completion' });
    const stream = await rawRequest(completions(), { body: chatBody(MODEL, { stream: true }) });
    expect(stream.headers['content-type']).toBe('text/plain');
    expect(splitSseFrames(stream.body).at(-1)!.data).toBe('[DONE]');
    expect((await rawRequest(completions(), { body: chatBody(MODEL) })).headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('a fault scoped to streams leaves non-streamed requests alone and does not count them', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    engine.setFault('reset-mid-stream', 1, 'streams');
    const plain = await rawRequest(completions(), { body: chatBody(MODEL) });
    expect(plain.complete).toBe(true);
    const stream = await rawRequest(completions(), { body: chatBody(MODEL, { stream: true }) });
    expect(stream.complete).toBe(false);
    expect((await rawRequest(completions(), { body: chatBody(MODEL, { stream: true }) })).complete).toBe(true);
  });

  it('slowStreamMs delays each chunk, and close() cancels a slow stream', async () => {
    engine = await startFakeEngine({ kind: 'vllm' });
    engine.setFault({ slowStreamMs: 40 }, 1);
    const started = Date.now();
    const response = await rawRequest(completions(), { body: chatBody('Qwen/Qwen2.5-1.5B-Instruct', { stream: true }) });
    const frames = splitSseFrames(response.body);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    expect(Date.now() - started).toBeGreaterThanOrEqual(40 * (frames.length - 1));
    engine.setFault({ slowStreamMs: 10_000 });
    const asked = engine.exchanges.length;
    const pending = rawRequest(completions(), { body: chatBody('Qwen/Qwen2.5-1.5B-Instruct', { stream: true }) });
    // Once the first frame is out, not after a fixed 100 ms (a loaded machine may not have sent it by then).
    await expect.poll(() => engine!.exchanges.at(asked)?.responseChunks.length ?? 0, { timeout: 20_000, interval: 10 }).toBe(1);
    // The next frame is 10 s away: the stream ending with one frame is close() cancelling it, not
    // waiting for it (no wall-clock bound).
    await engine.close();
    const cut = await pending;
    expect(cut.complete).toBe(false);
    expect(splitSseFrames(cut.body)).toHaveLength(1);
  });
});
