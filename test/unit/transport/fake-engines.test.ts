import { afterEach, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';
import { sendInvocation } from '../../../src/transport/index.js';
import { PermitFactory, RecordingSink } from './harness.js';

/** The transport against engines that speak the real wire formats: what they got and sent is what the sink got. */
describe('transport against fake engines', () => {
  let engine: FakeEngine | undefined;
  const factories: PermitFactory[] = [];
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    for (const factory of factories.splice(0)) factory.close();
  });

  async function permitFor(baseUrl: string, model: string): Promise<PermitFactory> {
    const factory = new PermitFactory();
    factories.push(factory);
    await factory.register(baseUrl, [{ id: model }]);
    return factory;
  }

  it('llama.cpp stream: the sink holds exactly the bytes the engine received and sent, SSE framing included', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', answer: 'Paris is the capital of France.' });
    const model = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
    const factory = await permitFor(engine.baseUrl, model);
    const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Capital of France?' }], stream: true, stream_options: { include_usage: true } });
    const sink = new RecordingSink();
    const response = await sendInvocation(
      factory.permit(model),
      { method: 'POST', url: `${engine.baseUrl}/chat/completions`, headers: { 'content-type': 'application/json', authorization: 'Bearer local-secret' }, body, warnings: [] },
      sink,
    );
    const received = await response.readAll();
    const exchange = engine.exchanges.at(-1);
    expect(response.status).toBe(200);
    expect(exchange?.requestBody.equals(Buffer.from(body))).toBe(true);
    expect(sink.request?.body.equals(exchange?.requestBody ?? Buffer.alloc(0))).toBe(true);
    expect(received.equals(exchange?.responseBody ?? Buffer.alloc(0))).toBe(true);
    expect(sink.body.equals(received)).toBe(true);
    expect(received.toString()).toContain('data: ');
    expect(sink.chunks.length).toBeGreaterThan(0);
    expect(exchange?.requestHeaders.authorization).toBe('Bearer local-secret');
    expect(sink.request?.headers.authorization).toBe('[redacted]');
    expect((await response.done).complete).toBe(true);
  });

  it('anthropic: a non-stream message and a reset mid-stream fault', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const model = 'claude-sonnet-4-20250514';
    const factory = await permitFor(engine.baseUrl, model);
    const request = (stream: boolean) => ({
      method: 'POST' as const,
      url: `${engine?.baseUrl}/v1/messages`,
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream }),
      warnings: [],
    });
    const sink = new RecordingSink();
    const whole = await sendInvocation(factory.permit(model), request(false), sink);
    const text = await whole.text();
    expect(JSON.parse(text)).toMatchObject({ type: 'message', model });
    expect(Buffer.from(text).equals(engine.exchanges.at(-1)?.responseBody ?? Buffer.alloc(0))).toBe(true);
    expect(sink.request?.headers['x-api-key']).toBe('[redacted]');

    engine.setFault('reset-mid-stream', 1);
    const partialSink = new RecordingSink();
    const partial = await sendInvocation(factory.permit(model), request(true), partialSink);
    await expect(partial.readAll()).rejects.toMatchObject({ code: 'upstream_reset' });
    const end = await partial.done;
    expect(end.complete).toBe(false);
    expect(end.bytesReceived).toBeGreaterThan(0);
    expect(partialSink.body.equals(engine.exchanges.at(-1)?.responseBody ?? Buffer.alloc(0))).toBe(true);
  });
});
