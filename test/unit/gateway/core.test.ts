/** The gateway core in process: web Request in, Response out, with a scripted pipeline. */
import { describe, expect, it } from 'vitest';
import { PolicyRefusalError, UpstreamError } from '../../../src/errors.js';
import { createGateway, type InvokeFunction } from '../../../src/gateway/index.js';
import type { InvocationInput, InvocationResult, PipelineContext } from '../../../src/invoke/types.js';
import { GatewayMetrics } from '../../../src/metrics/prometheus.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { openStore } from '../../../src/store/store.js';
import type { CanonicalResponse, StreamPart } from '../../../src/wire/canonical.js';

const TOKEN = 'syn_unit-token';
const RESPONSE: CanonicalResponse = { id: 'up_1', model: 'llama3', text: 'Hello there', toolCalls: [], finishReason: 'stop', rawFinishReason: 'stop', usage: { inputTokens: 5, outputTokens: 2 } };
const PARTS: StreamPart[] = [
  { type: 'text-delta', text: 'Hello' },
  { type: 'text-delta', text: ' there' },
  { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' },
  { type: 'stream-end' },
];

function result(): InvocationResult {
  return {
    requestId: 'req_1',
    evidenceId: 'ev_1',
    permitId: 'pm_1',
    provider: { id: 'ollama', version: 3, class: 'local' },
    model: 'llama3',
    response: RESPONSE,
    usage: RESPONSE.usage,
    fidelity: { tokenAccounting: 'exact', verbatimCapture: 'full', toolCallFidelity: 'not_applicable' },
    markers: [],
    warnings: [],
    latency: { firstTokenMs: 12, totalMs: 40, beforeUpstreamMs: 0.6 },
    classification: { level: 'internal', failedClosed: false, findings: [] },
    route: {} as InvocationResult['route'],
    attempts: [],
  };
}

function gatewayWith(invoke: InvokeFunction, options: { bodyLimitBytes?: number; trustTier?: string; onInternalError?: (error: unknown) => void } = {}) {
  const pipeline = { store: openStore(':memory:'), policy: defaultPolicy() } as unknown as PipelineContext;
  return createGateway({ pipeline, invoke, token: TOKEN, metrics: new GatewayMetrics({ processMetrics: false }), ...options });
}

function chat(body: Record<string, unknown>, headers: Record<string, string> = {}): Request {
  return new Request('http://gateway/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('gateway core', () => {
  it('hands the pipeline the canonical request, the hints, the caller and the trust tier', async () => {
    let seen: InvocationInput | undefined;
    const gateway = gatewayWith(
      async (_context, input) => {
        seen = input;
        return result();
      },
      { trustTier: 'agent' },
    );
    const response = await gateway.fetch(chat({}, { 'x-syndicate-workflow': 'Batch', 'x-syndicate-sensitivity': 'confidential', 'x-syndicate-session': 'sess_42' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-syndicate-evidence')).toBe('ev_1');
    expect(seen).toMatchObject({ caller: 'gateway', workflow: 'batch', sensitivityHint: 'confidential', sessionId: 'sess_42', trustTier: 'agent' });
    expect(seen?.request).toEqual({ model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false });
    const body = (await response.json()) as { model: string; choices: { message: { content: string } }[] };
    expect(body.model).toBe('ollama:llama3');
    expect(body.choices[0]?.message.content).toBe('Hello there');
  });

  it('streams parts through the web ReadableStream as they arrive, one write per burst', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gateway = gatewayWith(async (_context, input) => {
      input.onAttempt?.({ hop: 0, provider: { id: 'ollama', version: 3, class: 'local' }, model: 'llama3', requestId: 'req_1', evidenceId: 'ev_1', sensitivity: 'internal', warnings: [] });
      input.onPart?.(PARTS[0] as StreamPart);
      await gate;
      for (const part of PARTS.slice(1)) input.onPart?.(part);
      return result();
    });
    const response = await gateway.fetch(chat({ stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    // The answering attempt and its evidence are named before the stream ends, as for a JSON answer.
    expect(Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('x-syndicate-')))).toEqual({
      'x-syndicate-provider': 'ollama',
      'x-syndicate-model': 'llama3',
      'x-syndicate-sensitivity': 'internal',
      'x-syndicate-evidence': 'ev_1',
      'x-syndicate-request': 'req_1',
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    // The first content part is readable before the pipeline has finished.
    const first = decoder.decode((await reader.read()).value);
    expect(first).toContain('"content":"Hello"');
    expect(first).not.toContain('[DONE]');
    release();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    expect(rest).toContain('"content":" there"');
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('ends a stream that fails after content with an error frame and no [DONE]', async () => {
    const gateway = gatewayWith(async (_context, input) => {
      input.onPart?.({ type: 'text-delta', text: 'Hel' });
      await tick();
      throw new UpstreamError('the stream from ollama broke after the answer had started', { code: 'stream_broken', isRetryable: false });
    });
    const text = await (await gateway.fetch(chat({ stream: true }))).text();
    expect(text).not.toContain('[DONE]');
    const frames = text.trimEnd().split('\n\n');
    expect(JSON.parse((frames.at(-1) as string).slice(6))).toEqual({
      error: { message: 'the stream from ollama broke after the answer had started', type: 'upstream_error', param: null, code: 'stream_broken' },
    });
  });

  it('answers a refusal before any part with a real 403, not a stream', async () => {
    const gateway = gatewayWith(async () => {
      throw new PolicyRefusalError('route_denied', 'no provider may receive this restricted request', { hint: 'register a local provider' });
    });
    const response = await gateway.fetch(chat({ stream: true }));
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: { message: 'no provider may receive this restricted request (register a local provider)', type: 'permission_error', param: null, code: 'route_denied' },
    });
  });

  it('streams a whole answer when the attempt forwarded no parts of its own', async () => {
    const gateway = gatewayWith(async () => result());
    const text = await (await gateway.fetch(chat({ stream: true }))).text();
    expect(text).toContain('"content":"Hello there"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('cancels the pipeline when the client stops reading', async () => {
    let signal: AbortSignal | undefined;
    const gateway = gatewayWith(async (_context, input) => {
      signal = input.signal;
      input.onPart?.({ type: 'text-delta', text: 'Hel' });
      await new Promise((resolve) => input.signal?.addEventListener('abort', resolve));
      throw new UpstreamError('aborted', { code: 'aborted' });
    });
    const response = await gateway.fetch(chat({ stream: true }));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    await tick();
    expect(signal?.aborted).toBe(true);
    await gateway.drain();
    expect(gateway.inFlight).toBe(0);
  });

  it('drain waits for an in-flight stream, then refuses new requests with 503', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gateway = gatewayWith(async (_context, input) => {
      input.onPart?.(PARTS[0] as StreamPart);
      await gate;
      for (const part of PARTS.slice(1)) input.onPart?.(part);
      return result();
    });
    const response = await gateway.fetch(chat({ stream: true }));
    const body = response.text();
    expect(gateway.inFlight).toBe(1);
    let drained = false;
    const draining = gateway.drain().then(() => {
      drained = true;
    });
    await tick();
    expect(drained).toBe(false);
    const refused = await gateway.fetch(chat({}));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
    expect((await gateway.fetch(new Request('http://gateway/healthz'))).status).toBe(503);
    release();
    await draining;
    expect(drained).toBe(true);
    expect((await body).endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('counts a request in flight while its body is still arriving: drain waits for it to be answered', async () => {
    const invoked: string[] = [];
    const gateway = gatewayWith(async (_context, input) => {
      invoked.push(input.request.model);
      return result();
    });
    let upload!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        upload = controller;
      },
    });
    const responding = gateway.fetch(
      new Request('http://gateway/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body, duplex: 'half' } as RequestInit),
    );
    upload.enqueue(new TextEncoder().encode('{"model":"auto","messages":'));
    await tick();
    expect(gateway.inFlight).toBe(1);
    let drained = false;
    const draining = gateway.drain().then(() => {
      drained = true;
    });
    await tick();
    expect(drained).toBe(false);
    upload.enqueue(new TextEncoder().encode('[{"role":"user","content":"hi"}]}'));
    upload.close();
    const response = await responding;
    expect(response.status).toBe(200);
    expect(invoked).toEqual(['auto']);
    await draining;
    expect(drained).toBe(true);
    expect(gateway.inFlight).toBe(0);
  });

  it('releases a request that fails before reaching the pipeline (bad JSON, bad header, too large)', async () => {
    const gateway = gatewayWith(async () => result(), { bodyLimitBytes: 256 });
    const post = (body: string, headers: Record<string, string> = {}) =>
      gateway.fetch(new Request('http://gateway/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body }));
    expect((await post('{not json')).status).toBe(400);
    expect((await post(JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }), { 'x-syndicate-workflow': 'nightly' })).status).toBe(400);
    expect((await post('x'.repeat(300))).status).toBe(413);
    expect(gateway.inFlight).toBe(0);
    await gateway.drain();
  });

  it('refuses an over-limit body without content-length (streamed upload) with 413', async () => {
    const gateway = gatewayWith(async () => result(), { bodyLimitBytes: 64 });
    const chunks = [new TextEncoder().encode('{"model":"auto","messages":['), new TextEncoder().encode('x'.repeat(100))];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const request = new Request('http://gateway/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    const response = await gateway.fetch(request);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
  });

  it('hides unexpected errors behind a generic 500 and reports them to the operator', async () => {
    const reported: unknown[] = [];
    const gateway = gatewayWith(
      async () => {
        throw new TypeError('cannot read properties of undefined (secret internals)');
      },
      { onInternalError: (error) => reported.push(error) },
    );
    const response = await gateway.fetch(new Request('http://gateway/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': TOKEN },
      body: JSON.stringify({ model: 'auto', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    }));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ type: 'error', error: { type: 'api_error', message: 'internal error in the syndicate gateway' } });
    expect(reported).toHaveLength(1);
  });

  it('accepts the token as Bearer or x-api-key and nothing else', async () => {
    const gateway = gatewayWith(async () => result());
    const models = (headers: Record<string, string>) => gateway.fetch(new Request('http://gateway/v1/models', { headers }));
    expect((await models({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await models({ 'x-api-key': TOKEN })).status).toBe(200);
    expect((await models({ authorization: TOKEN })).status).toBe(401);
    expect((await models({ authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await models({ 'x-api-key': TOKEN.slice(0, -1) })).status).toBe(401);
  });
});
