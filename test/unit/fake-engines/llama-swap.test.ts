import { afterEach, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';
import { startFakeLlamaSwap, type FakeLlamaSwap } from '../../helpers/fake-engines/llama-swap.js';

/**
 * The fake llama-swap against what mostlygeek/llama-swap's source does (proxy/proxymanager.go,
 * proxymanager_api.go, processgroup.go, process.go): listing, errors by Accept header, swapping
 * and proxying a llama-server's answer.
 */
let swap: FakeLlamaSwap | undefined;
let llama: FakeEngine | undefined;
afterEach(async () => {
  await Promise.all([swap?.close(), llama?.close()]);
  swap = undefined;
  llama = undefined;
});

function chat(model: string, accept: string, stream = false): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'Hi' }] }) };
}

describe('fake llama-swap', () => {
  it('lists its configured models sorted by id (listModelsHandler), Go-encoded', async () => {
    swap = await startFakeLlamaSwap({ models: ['qwen', 'coder', 'llama'] });
    const text = await (await fetch(`${swap.url}/v1/models`)).text();
    expect(text).toMatch(/^\{"data":\[\{"created":\d+,"id":"coder","object":"model","owned_by":"llama-swap"\},/);
    expect((JSON.parse(text) as { data: { id: string }[] }).data.map((entry) => entry.id)).toEqual(['coder', 'llama', 'qwen']);
  });

  it('refuses a model it does not have with a 400: JSON when the request accepts it, else plain text (sendErrorResponse)', async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    swap = await startFakeLlamaSwap({ models: ['coder'], upstream: llama.url });
    const json = await fetch(`${swap.baseUrl}/chat/completions`, chat('ghost', 'application/json'));
    expect(json.status).toBe(400);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.text()).toBe('{"error":"could not find suitable inference handler for ghost"}');
    const plain = await fetch(`${swap.baseUrl}/chat/completions`, chat('ghost', 'text/event-stream', true));
    expect(plain.status).toBe(400);
    expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await plain.text()).toBe('could not find suitable inference handler for ghost');
    const upstream = await fetch(`${swap.url}/upstream/ghost/health`);
    expect([upstream.status, await upstream.text()]).toEqual([400, 'model id required in path']);
    expect(swap.running()).toEqual([]);
  });

  it('starts a model on its first request and proxies the answer byte for byte, an event stream with X-Accel-Buffering: no', async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    swap = await startFakeLlamaSwap({ models: ['coder'], upstream: llama.url });
    const answer = await fetch(`${swap.baseUrl}/chat/completions`, chat('coder', 'text/event-stream', true));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-accel-buffering')).toBe('no');
    const bytes = Buffer.from(await answer.arrayBuffer());
    expect(bytes.equals(llama.exchanges.at(-1)!.responseBody)).toBe(true);
    expect(swap.running()).toEqual(['coder']);
  });

  it('a request for another model waits for the running model’s stream to end (Process.Stop), an unload cuts it (StopImmediately)', async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    swap = await startFakeLlamaSwap({ models: ['coder', 'chat'], upstream: llama.url });
    llama.setFault({ slowStreamMs: 40 }, 1, 'streams');
    const streaming = await fetch(`${swap.baseUrl}/chat/completions`, chat('coder', 'text/event-stream', true));
    const whole = streaming.text();
    const other = await fetch(`${swap.baseUrl}/chat/completions`, chat('chat', 'application/json'));
    expect(other.status).toBe(200);
    // The swap waited: the stream of `coder` ended whole before `chat` was started.
    expect(await whole).toContain('data: [DONE]');
    expect(swap.running()).toEqual(['chat']);

    llama.setFault({ slowStreamMs: 40 }, 1, 'streams');
    const cut = await fetch(`${swap.baseUrl}/chat/completions`, chat('chat', 'text/event-stream', true));
    const unloaded = await fetch(`${swap.url}/api/models/unload/chat`, { method: 'POST' });
    expect([unloaded.status, await unloaded.text()]).toEqual([200, 'OK']);
    await expect(cut.text()).rejects.toThrow();
    expect(swap.running()).toEqual([]);
  });
});
