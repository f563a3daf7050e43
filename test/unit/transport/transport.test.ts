import { spawn, type ChildProcess } from 'node:child_process';
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InterruptedError, PolicyRefusalError, SyndicateError, UpstreamError, UsageError } from '../../../src/errors.js';
import type { VerifiedPermit } from '../../../src/permits/index.js';
import { MAX_RESPONSE_BODY_BYTES, sendInvocation, type TransportResponse } from '../../../src/transport/index.js';
import type { WireHttpRequest } from '../../../src/wire/adapter.js';
import { startRawHttpServer, type RawRequestPlan } from '../../helpers/raw-http-server.js';
import { delay, PermitFactory, RecordingSink, startServer, type TestServer } from './harness.js';

const BODY = '{"model":"llama3.2:3b","messages":[{"role":"user","content":"héllo ✓"}],"stream":true}';

function chatRequest(baseUrl: string, overrides: Partial<WireHttpRequest> = {}): WireHttpRequest {
  return {
    method: 'POST',
    url: `${baseUrl}/chat/completions`,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: BODY,
    warnings: [],
    ...overrides,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<SyndicateError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SyndicateError);
    return error as SyndicateError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

async function drain(response: TransportResponse): Promise<{ chunks: Buffer[]; error: SyndicateError | undefined }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response.body) chunks.push(chunk);
    return { chunks, error: undefined };
  } catch (error) {
    expect(error).toBeInstanceOf(SyndicateError);
    return { chunks, error: error as SyndicateError };
  }
}

const FAST = { connectMs: 2000, firstByteMs: 2000, idleMs: 2000, totalMs: 10_000 };

describe('transport', () => {
  let server: TestServer | undefined;
  let permits: PermitFactory;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    permits = new PermitFactory();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await server?.close();
    server = undefined;
    permits.close();
  });

  async function serve(handler: Parameters<typeof startServer>[0]): Promise<{ baseUrl: string; permit: VerifiedPermit }> {
    server = await startServer(handler);
    const baseUrl = `${server.url}/v1`;
    await permits.register(baseUrl);
    return { baseUrl, permit: permits.permit() };
  }

  it("refuses to connect a local provider whose host name now resolves off this host, and sends nothing; loopback answers pass", async () => {
    server = await startServer((_request, response) => response.end('{"ok":true}'));
    const baseUrl = `http://localhost:${new URL(server.url).port}/v1`;
    await permits.register(baseUrl);
    // The name resolves elsewhere now (a hosts file edited, a DNS answer rebound since registration).
    let answer = '10.20.30.40';
    const lookup = vi.spyOn(dns, 'lookup').mockImplementation(((hostname: string, options: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      const addresses = hostname === 'localhost' ? [{ address: answer, family: 4 }] : [];
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]?.address ?? '', 4);
    }) as unknown as typeof dns.lookup);
    try {
      const refused = await rejectionOf(sendInvocation(permits.permit(), chatRequest(baseUrl), new RecordingSink(), { timeouts: FAST }));
      expect(refused).toBeInstanceOf(UpstreamError);
      expect(refused.code).toBe('upstream_not_loopback');
      expect(refused.message).toContain('localhost resolves to 10.20.30.40, not only to loopback');
      expect(refused.hint).toContain('register the record with a loopback address');
      expect(server.received).toHaveLength(0);
      answer = '127.0.0.1';
      const response = await sendInvocation(permits.permit(), chatRequest(baseUrl), new RecordingSink(), { timeouts: FAST });
      expect((await response.readAll()).toString()).toBe('{"ok":true}');
      expect(server.received).toHaveLength(1);
    } finally {
      lookup.mockRestore();
    }
  });

  it('sends a request again on a fresh connection when a kept-alive socket was closed by the server (llama-server after a stream)', async () => {
    // llama-server announces keep-alive but closes the connection after each streamed response;
    // the next request on the pooled socket is reset before the server reads it.
    let received = 0;
    const { baseUrl } = await serve((request, response) => {
      received += 1;
      response.writeHead(200, { 'content-type': 'text/event-stream', 'keep-alive': 'timeout=5, max=100' });
      response.end('data: [DONE]\n\n', () => {
        setImmediate(() => request.socket.destroy());
      });
    });
    for (let index = 0; index < 4; index += 1) {
      const sink = new RecordingSink();
      const response = await sendInvocation(permits.permit(), chatRequest(baseUrl), sink, { timeouts: FAST });
      expect(response.status).toBe(200);
      expect((await response.readAll()).toString()).toBe('data: [DONE]\n\n');
    }
    expect(received).toBe(4);
  });

  /** A raw HTTP/1.1 server on loopback that answers each request with `plan(connection, requestOnConnection)` (see `startRawHttpServer`). */
  async function rawServer(plan: (connection: number, request: number) => RawRequestPlan): Promise<{ baseUrl: string; connections: () => number }> {
    const server = await startRawHttpServer({ body: '{"ok":true}', plan });
    closers.push(() => server.close());
    const baseUrl = `${server.origin}/v1`;
    await permits.register(baseUrl);
    return { baseUrl, connections: server.connections };
  }

  it('resends on a new connection, marked as a retry, when a local engine resets a reused connection before answering', async () => {
    const { baseUrl, connections } = await rawServer((connection, request) => (connection === 1 && request === 2 ? 'reset' : 'answer'));
    const first = new RecordingSink();
    expect((await (await sendInvocation(permits.permit(), chatRequest(baseUrl), first, { timeouts: FAST })).readAll()).toString()).toBe('{"ok":true}');
    const second = new RecordingSink();
    const response = await sendInvocation(permits.permit(), chatRequest(baseUrl), second, { timeouts: FAST });
    expect((await response.readAll()).toString()).toBe('{"ok":true}');
    expect(first.retries).toEqual([]);
    expect(second.retries).toHaveLength(1);
    expect(second.retries[0]).toMatch(/reused connection before any response byte/);
    expect(second.ends).toEqual([expect.objectContaining({ complete: true })]);
    expect(connections()).toBe(2);
  });

  it('does not resend when a fresh connection is reset: the server may have read the request', async () => {
    const { baseUrl, connections } = await rawServer(() => 'reset');
    const sink = new RecordingSink();
    await expect(sendInvocation(permits.permit(), chatRequest(baseUrl), sink, { timeouts: FAST }).then((response) => response.readAll())).rejects.toMatchObject({
      code: expect.stringMatching(/reset|network|connection/),
    });
    expect(sink.retries).toEqual([]);
    expect(connections()).toBe(1);
  });

  it('sends the exact request bytes, hands both directions to the sink verbatim, with chunk offsets', async () => {
    const frames = ['data: {"a":1}\n\n', 'data: {"b":"ü"}\n\n', 'data: [DONE]\n\n'];
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      void (async () => {
        for (const frame of frames) {
          response.write(frame);
          await delay(80);
        }
        response.end();
      })();
    });
    const sink = new RecordingSink();
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const body = await response.readAll();
    const end = await response.done;

    expect(body.toString('utf8')).toBe(frames.join(''));
    expect(sink.body.equals(body)).toBe(true);
    const received = server?.received[0];
    expect(received?.body.equals(Buffer.from(BODY, 'utf8'))).toBe(true);
    expect(sink.request?.body.equals(received?.body ?? Buffer.alloc(0))).toBe(true);
    // every header on the wire is in the capture, in order, and nothing else
    expect(Object.entries(sink.request?.headers ?? {})).toEqual(received?.rawHeaders);
    expect(sink.request).toMatchObject({ method: 'POST', url: `${baseUrl}/chat/completions` });
    expect(sink.request?.headers).toMatchObject({ host: new URL(baseUrl).host, 'content-length': String(Buffer.byteLength(BODY)), connection: 'keep-alive' });
    expect(sink.types).toEqual(['request', 'response-start', 'chunk', 'end']);
    const offsets = sink.chunks.map((chunk) => chunk.atMs);
    expect(offsets.length).toBeGreaterThanOrEqual(2);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    expect(offsets[offsets.length - 1] as number).toBeGreaterThanOrEqual(140);
    expect(sink.responseStart?.atMs as number).toBeLessThanOrEqual(offsets[0] as number);
    expect(end).toEqual({ atMs: end.atMs, complete: true, bytesReceived: body.length });
    expect(end.atMs).toBeGreaterThanOrEqual(offsets[offsets.length - 1] as number);
    expect(sink.ends).toHaveLength(1);
  });

  it('redacts credentials in the captured request headers and cookies in the response, while sending the real values', async () => {
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'set-cookie': 'session=abc', 'x-ratelimit-remaining-tokens': '999', 'content-type': 'application/json' });
      response.end('{}');
    });
    const sink = new RecordingSink();
    const headers = {
      'content-type': 'application/json',
      Authorization: 'Bearer sk-live-123',
      'x-api-key': 'sk-ant-456',
      'api-key': 'azure-789',
      'X-Custom-Token': 'tok-1',
      'x-client-secret': 'shh',
      cookie: 'a=b',
      'anthropic-version': '2023-06-01',
    };
    const response = await sendInvocation(permit, chatRequest(baseUrl, { headers }), sink, { timeouts: FAST });
    await response.readAll();
    expect(sink.request?.headers).toMatchObject({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      'api-key': '[redacted]',
      'x-custom-token': '[redacted]',
      'x-client-secret': '[redacted]',
      cookie: '[redacted]',
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    });
    expect(JSON.stringify(sink.events)).not.toMatch(/sk-live-123|sk-ant-456|azure-789|tok-1|shh|a=b|session=abc/);
    const sent = Object.fromEntries(server?.received[0]?.rawHeaders ?? []);
    expect(sent).toMatchObject({ authorization: 'Bearer sk-live-123', 'x-api-key': 'sk-ant-456', 'x-custom-token': 'tok-1' });
    expect(sink.responseStart?.headers).toMatchObject({ 'set-cookie': '[redacted]', 'x-ratelimit-remaining-tokens': '999' });
    expect(response.headers['set-cookie']).toBe('session=abc');
  });

  it('returns a non-2xx response (the caller decides), with its body captured', async () => {
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(429, 'Too Many Requests', { 'retry-after': '7', 'content-type': 'application/json' });
      response.end('{"error":{"message":"slow down"}}');
    });
    const sink = new RecordingSink();
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST });
    expect(response.status).toBe(429);
    expect(response.statusMessage).toBe('Too Many Requests');
    expect(response.headers['retry-after']).toBe('7');
    expect(await response.text()).toBe('{"error":{"message":"slow down"}}');
    expect(sink.responseStart).toMatchObject({ status: 429, statusMessage: 'Too Many Requests' });
    expect((await response.done).complete).toBe(true);
  });

  it('times out waiting for the first byte (upstream_first_byte_timeout), reporting an unanswered capture', async () => {
    const { baseUrl, permit } = await serve(() => {
      /* accept and never answer */
    });
    const sink = new RecordingSink();
    const error = await rejectionOf(sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: { ...FAST, firstByteMs: 300 } }));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.code).toBe('upstream_first_byte_timeout');
    expect(error.message).toContain('sent no response within 300 ms');
    expect((error as UpstreamError).isRetryable).toBe(true);
    expect(sink.types).toEqual(['request', 'end']);
    expect(sink.ends[0]).toMatchObject({ complete: false, bytesReceived: 0, error: { code: 'upstream_first_byte_timeout' } });
    expect(sink.ends[0]?.atMs as number).toBeGreaterThanOrEqual(290);
  });

  it('times out when the stream goes silent (upstream_idle_timeout) after yielding what arrived', async () => {
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"first":true}\n\n');
    });
    const sink = new RecordingSink();
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: { ...FAST, idleMs: 300 } });
    const { chunks, error } = await drain(response);
    expect(Buffer.concat(chunks).toString()).toBe('data: {"first":true}\n\n');
    expect(error?.code).toBe('upstream_idle_timeout');
    expect(error?.message).toContain('sent nothing for 300 ms');
    const end = await response.done;
    expect(end).toMatchObject({ complete: false, bytesReceived: 22, error: { code: 'upstream_idle_timeout' } });
    expect(sink.body.toString()).toBe('data: {"first":true}\n\n');
  });

  it('a reader that falls behind holds the upstream back (its socket paused), and the time it spends behind is not the upstream going idle', async () => {
    // Loopback TCP holds what neither end reads in the kernel: the receiver's buffer grows up to
    // tcp_rmem's maximum (32 MiB here) and the sender's up to tcp_wmem's. Only an upstream that
    // writes well past both shows being held back (8 MiB fit in them 1 run in 3: 5.6 MB written).
    const total = Math.max(8 * 1024 * 1024, 2 * (tcpBufferMaximum('tcp_rmem') + tcpBufferMaximum('tcp_wmem') + 1024 * 1024));
    const upstream = { written: 0, blocked: false, finished: false };
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const frame = `data: ${'x'.repeat(4090)}\n\n`;
      void (async () => {
        while (upstream.written < total && !response.destroyed) {
          upstream.written += frame.length;
          if (!response.write(frame)) {
            upstream.blocked = true;
            await new Promise((resolve) => response.once('drain', resolve));
            upstream.blocked = false;
          }
        }
        response.end();
        upstream.finished = true;
      })();
    });
    const sink = new RecordingSink();
    // An idle timeout well above a loaded machine's scheduling stalls (upstream and reader share this
    // process: a stall of 300 ms once fired it while the upstream's data waited in the socket). The
    // total timeout far above what moving ~70 MB through loopback in this process takes: FAST's 10 s
    // ran out at load 19 (29 MB read), which this test is not about.
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: { ...FAST, idleMs: 1000, totalMs: 60_000 } });
    const reader = response.body[Symbol.asyncIterator]();
    const first = await reader.next();
    expect(first.done).toBe(false);
    // The reader stops: the upstream is held back well before it wrote everything.
    while (!upstream.blocked && !upstream.finished) await delay(20);
    // Behind for longer than the idle timeout: not a silent upstream, and still held back.
    await delay(1400);
    expect(upstream.finished).toBe(false);
    expect(upstream.written).toBeLessThan(total / 2);
    let received = (first.value as Buffer).length;
    for (let next = await reader.next(); next.done !== true; next = await reader.next()) received += next.value.length;
    expect(received).toBe(upstream.written);
    expect(await response.done).toMatchObject({ complete: true, bytesReceived: upstream.written });
  });

  it('enforces the total timeout on a stream that keeps trickling (upstream_total_timeout)', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      timer = setInterval(() => response.write('data: {}\n\n'), 40);
      response.on('close', () => clearInterval(timer));
    });
    try {
      const sink = new RecordingSink();
      const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: { ...FAST, idleMs: 1000, totalMs: 400 } });
      const { chunks, error } = await drain(response);
      expect(error?.code).toBe('upstream_total_timeout');
      // Bytes kept arriving (~10 writes; on a loaded machine several arrive as one read).
      expect(chunks.length).toBeGreaterThan(0);
      const end = await response.done;
      expect(end.complete).toBe(false);
      expect(end.bytesReceived).toBe(Buffer.concat(chunks).length);
      expect(end.atMs).toBeGreaterThanOrEqual(390);
    } finally {
      clearInterval(timer);
    }
  });

  describe('the bound on a body read whole', () => {
    /** An upstream that answers 200 and writes the same 64 KiB for ever, as fast as the socket takes it. */
    const endless: Parameters<typeof startServer>[0] = (_request, response) => {
      const block = Buffer.alloc(64 * 1024, 0x20);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"data":[');
      const pump = (): void => {
        while (!response.destroyed && response.write(block));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    };

    it('an endless body fails the call once past the bound (upstream_response_too_large, not retried), the socket closed and the capture partial', async () => {
      const { baseUrl, permit } = await serve(endless);
      const sink = new RecordingSink();
      const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST, maxBodyBytes: 1024 * 1024 });
      const failure = await rejectionOf(response.text());
      expect(failure).toBeInstanceOf(UpstreamError);
      expect(failure).toMatchObject({ code: 'upstream_response_too_large', isRetryable: false, status: 200 });
      expect(failure.message).toContain('sent a response body of more than 1 MiB, the most syndicate receives of one answer');
      const end = await response.done;
      expect(end.complete).toBe(false);
      expect(end.error?.code).toBe('upstream_response_too_large');
      // Stopped at the bound: at most one socket read past it.
      expect(end.bytesReceived).toBeGreaterThan(1024 * 1024);
      expect(end.bytesReceived).toBeLessThan(2 * 1024 * 1024);
    });

    it('an endless body read as it streams fails the same way once past the bound: the reader gets at most the bound, then the error', async () => {
      const { baseUrl, permit } = await serve(endless);
      const sink = new RecordingSink();
      const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST, maxBodyBytes: 1024 * 1024 });
      let read = 0;
      const failure = await rejectionOf(
        (async () => {
          for await (const chunk of response.body) read += chunk.length;
        })(),
      );
      expect(failure).toMatchObject({ code: 'upstream_response_too_large', isRetryable: false, status: 200 });
      expect(read).toBeLessThanOrEqual(1024 * 1024);
      const end = await response.done;
      expect(end).toMatchObject({ complete: false, error: { code: 'upstream_response_too_large' } });
      expect(end.bytesReceived).toBeGreaterThan(1024 * 1024);
      expect(end.bytesReceived).toBeLessThan(2 * 1024 * 1024);
    });

    it('a body of exactly the bound is read whole; the default bound holds 2 048 embeddings of 3 072 dimensions as JSON', async () => {
      const body = `{"a":"${'x'.repeat(1024 * 1024 - 8)}"}`;
      expect(Buffer.byteLength(body)).toBe(1024 * 1024);
      const { baseUrl, permit } = await serve((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(body);
      });
      const response = await sendInvocation(permit, chatRequest(baseUrl), new RecordingSink(), { timeouts: FAST, maxBodyBytes: 1024 * 1024 });
      expect(await response.text()).toBe(body);
      expect((await response.done).complete).toBe(true);
      // A float as OpenAI writes it (`-0.0123456789,`): about 20 bytes each.
      expect(MAX_RESPONSE_BODY_BYTES).toBeGreaterThan(2048 * 3072 * 20);
    });
  });

  describe('a clock that runs out while this process is stalled', () => {
    let upstream: ChildProcess | undefined;
    let directory: string | undefined;
    afterEach(() => {
      upstream?.kill('SIGKILL');
      if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
    });

    it('reads what waits in the socket before calling the upstream idle: a chunk that arrived during the stall keeps the stream going (a loaded run: "sent nothing for 1000 ms", 54 MB received, the next bytes waiting)', async () => {
      const IDLE_MS = 300;
      directory = mkdtempSync(join(tmpdir(), 'syndicate-transport-stall-'));
      const sent = join(directory, 'second-chunk-sent');
      // An upstream in a process of its own, so it can write while this one is stalled: its second
      // chunk when told (SIGUSR2), then a file saying it is in the socket, then the end.
      upstream = spawn(
        process.execPath,
        [
          '-e',
          `const server = require('node:http').createServer((request, response) => {
             request.resume();
             request.on('end', () => {
               response.writeHead(200, { 'content-type': 'text/event-stream' });
               response.write('data: {"part":1}\\n\\n');
               process.once('SIGUSR2', () => response.write('data: {"part":2}\\n\\n', () => {
                 require('node:fs').writeFileSync(process.argv[1], '');
                 setTimeout(() => response.end('data: [DONE]\\n\\n'), 50);
               }));
             });
           });
           server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`,
          sent,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const port = await new Promise<number>((resolve) => upstream?.stdout?.once('data', (data: Buffer) => resolve(Number(data.toString().trim()))));
      const baseUrl = `http://127.0.0.1:${port}/v1`;
      await permits.register(baseUrl);
      const child = upstream;
      // Once the first chunk was read (the idle clock restarted with it), the process stalls, as a
      // loaded machine stalls it, past the idle timeout: the upstream's second chunk arrives meanwhile.
      class StallingSink extends RecordingSink {
        private stalled = false;
        override onChunk(bytes: Buffer, atMs: number): void {
          super.onChunk(bytes, atMs);
          if (this.stalled) return;
          this.stalled = true;
          setImmediate(() => {
            const from = performance.now();
            child.kill('SIGUSR2');
            while (!existsSync(sent) && performance.now() - from < 30_000) {
              // stalled, waiting for the upstream to have written
            }
            while (performance.now() - from < IDLE_MS + 200) {
              // stalled past the idle timeout
            }
          });
        }
      }
      const sink = new StallingSink();
      const response = await sendInvocation(permits.permit(), chatRequest(baseUrl), sink, { timeouts: { ...FAST, idleMs: IDLE_MS } });
      const { chunks, error } = await drain(response);
      expect(error).toBeUndefined();
      expect(Buffer.concat(chunks).toString()).toBe('data: {"part":1}\n\ndata: {"part":2}\n\ndata: [DONE]\n\n');
      expect(await response.done).toMatchObject({ complete: true });
    });
  });

  describe('connect timeout', () => {
    let child: ChildProcess | undefined;
    const fillers: Socket[] = [];
    afterEach(() => {
      for (const socket of fillers) socket.destroy();
      child?.kill('SIGKILL');
    });

    it('times out a connection the peer never accepts (upstream_connect_timeout)', async () => {
      // A listener with a full accept queue: the kernel drops further SYNs, so connect() hangs. Its
      // process stops for good as it says its port (a write to a pipe is synchronous on Linux), so it
      // accepts nothing: it used to stop 50 ms later, and a loaded machine could let it accept the
      // fillers by then.
      child = spawn(
        process.execPath,
        [
          '-e',
          `const server = require('node:net').createServer();
           server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
             process.stdout.write(server.address().port + '\\n');
             Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
           });`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const port = await new Promise<number>((resolve) => child?.stdout?.once('data', (data: Buffer) => resolve(Number(data.toString().trim()))));
      for (let index = 0; index < 2; index += 1) {
        const socket = connect(port, '127.0.0.1');
        fillers.push(socket);
        await new Promise((resolve) => socket.once('connect', resolve));
      }
      const baseUrl = `http://127.0.0.1:${port}/v1`;
      await permits.register(baseUrl);
      const sink = new RecordingSink();
      const error = await rejectionOf(sendInvocation(permits.permit(), chatRequest(baseUrl), sink, { timeouts: { ...FAST, connectMs: 300 } }));
      expect(error.code).toBe('upstream_connect_timeout');
      expect(error.message).toBe(`no connection to 127.0.0.1:${port} within 300 ms`);
      expect(sink.types).toEqual(['request', 'end']);
      expect(sink.ends[0]).toMatchObject({ complete: false, error: { code: 'upstream_connect_timeout' } });
    });
  });

  it('reports connection refused as upstream_unreachable', async () => {
    const probe = await startServer(() => {});
    const baseUrl = `${probe.url}/v1`;
    await probe.close();
    await permits.register(baseUrl);
    const sink = new RecordingSink();
    const error = await rejectionOf(sendInvocation(permits.permit(), chatRequest(baseUrl), sink, { timeouts: FAST }));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.code).toBe('upstream_unreachable');
    expect(error.message).toBe(`cannot reach ${new URL(baseUrl).host}: connection refused (ECONNREFUSED)`);
    expect(error.hint).toContain('running');
    expect(sink.ends[0]).toMatchObject({ complete: false, bytesReceived: 0, error: { code: 'upstream_unreachable' } });
  });

  it('speaks TLS to https base URLs and reports a failed handshake as upstream_tls_failure (not retryable)', async () => {
    // a plain-HTTP server behind an https URL: the handshake cannot succeed
    server = await startServer((_request, response) => response.end('{}'));
    const baseUrl = `${server.url.replace('http:', 'https:')}/v1`;
    await permits.register(baseUrl);
    const sink = new RecordingSink();
    const error = await rejectionOf(sendInvocation(permits.permit(), chatRequest(baseUrl), sink, { timeouts: FAST }));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.code).toBe('upstream_tls_failure');
    expect(error.message).toMatch(/^TLS with 127\.0\.0\.1:\d+ failed \(EPROTO: [a-z0-9 ]+\)$/);
    expect((error as UpstreamError).isRetryable).toBe(false);
    expect(sink.ends[0]).toMatchObject({ complete: false, error: { code: 'upstream_tls_failure' } });
  });

  it('reports a reset before any byte as upstream_reset', async () => {
    const { baseUrl, permit } = await serve((request) => {
      request.socket.destroy();
    });
    const sink = new RecordingSink();
    const error = await rejectionOf(sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST }));
    expect(error.code).toBe('upstream_reset');
    expect(error.message).toContain('reset the connection before answering');
    expect(sink.types).toEqual(['request', 'end']);
  });

  it('reports a reset mid-stream as upstream_reset after the partial bytes, and the sink gets a partial capture', async () => {
    const { baseUrl, permit } = await serve((request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"part":1}\n\n');
      setTimeout(() => {
        response.write('data: {"part":2}\n\n');
        setTimeout(() => request.socket.destroy(), 50);
      }, 50);
    });
    const sink = new RecordingSink();
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST });
    const { chunks, error } = await drain(response);
    expect(Buffer.concat(chunks).toString()).toBe('data: {"part":1}\n\ndata: {"part":2}\n\n');
    expect(error?.code).toBe('upstream_reset');
    expect(error?.message).toContain('in the middle of the response (36 bytes received)');
    expect(sink.ends).toEqual([{ atMs: sink.ends[0]?.atMs, complete: false, bytesReceived: 36, error }]);
    expect(sink.body.toString()).toBe('data: {"part":1}\n\ndata: {"part":2}\n\n');
  });

  it('stops on an abort signal: interrupted, partial capture reported; an already aborted signal sends nothing', async () => {
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"x":1}\n\n');
    });
    const controller = new AbortController();
    const sink = new RecordingSink();
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const { chunks, error } = await drain(response);
    expect(Buffer.concat(chunks).toString()).toBe('data: {"x":1}\n\n');
    expect(error).toBeInstanceOf(InterruptedError);
    expect(sink.ends[0]).toMatchObject({ complete: false, bytesReceived: 15, error: { code: 'interrupted' } });

    const reason = new UsageError('client went away');
    const aborted = AbortSignal.abort(reason);
    const quiet = new RecordingSink();
    const before = server?.received.length;
    expect(await rejectionOf(sendInvocation(permits.permit(), chatRequest(baseUrl), quiet, { signal: aborted }))).toBe(reason);
    expect(quiet.events).toEqual([]);
    expect(server?.received.length).toBe(before);
  });

  it('cancels the call when the reader leaves the loop early', async () => {
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: 1\n\n');
    });
    const sink = new RecordingSink();
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST });
    for await (const chunk of response.body) {
      expect(chunk.toString()).toBe('data: 1\n\n');
      break;
    }
    const end = await response.done;
    expect(end).toMatchObject({ complete: false, bytesReceived: 9, error: { code: 'interrupted' } });
  });

  it('aborts the call and surfaces the sink error when the sink cannot record a chunk', async () => {
    const { baseUrl, permit } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: 1\n\n');
    });
    const failure = new SyndicateError('store_failure', 6, 'disk full');
    const sink = new RecordingSink();
    sink.onChunk = () => {
      throw failure;
    };
    const response = await sendInvocation(permit, chatRequest(baseUrl), sink, { timeouts: FAST });
    const { chunks, error } = await drain(response);
    expect(chunks).toEqual([]);
    expect(error).toBe(failure);
    expect((await response.done).complete).toBe(false);
  });

  describe('permit gate', () => {
    it('refuses, before any byte is sent, a body naming another model (a duplicate member included), a URL outside the base, or no model', async () => {
      const { baseUrl } = await serve((_request, response) => response.end('{}'));
      const cases: [WireHttpRequest, string][] = [
        [chatRequest(baseUrl, { body: BODY.replace('llama3.2:3b', 'qwen2.5:7b') }), 'the request targets model "qwen2.5:7b", the permit is for "llama3.2:3b"'],
        [chatRequest(baseUrl, { url: `${server?.url}/v2/chat/completions` }), 'outside local-engine@'],
        [chatRequest(baseUrl, { url: `${baseUrl}x/chat/completions` }), 'outside local-engine@'],
        [chatRequest(baseUrl, { url: 'http://127.0.0.2:1/v1/chat/completions' }), 'outside local-engine@'],
        [chatRequest(baseUrl, { body: '{"messages":[]}' }), 'the request body names no model'],
        [chatRequest(baseUrl, { body: 'not json' }), 'the request body is not a JSON object'],
        [chatRequest(baseUrl, { body: '{"model":"llama3.2:3b","messages":[],"model":"qwen2.5:7b"}' }), 'the request targets model "qwen2.5:7b"'],
        // JSON.parse keeps the last duplicate; an engine that keeps the first would load qwen.
        [chatRequest(baseUrl, { body: '{"model":"qwen2.5:7b","messages":[],"model":"llama3.2:3b"}' }), 'the request targets model "qwen2.5:7b"'],
        [chatRequest(baseUrl, { body: '{"messages":[{"role":"user","model":"llama3.2:3b"}]}' }), 'the request body names no model'],
        [chatRequest(baseUrl, { body: '{"model":["llama3.2:3b"]}' }), 'the request body names no model'],
      ];
      for (const [request, message] of cases) {
        const sink = new RecordingSink();
        const refusal = await rejectionOf(sendInvocation(permits.permit(), request, sink));
        expect(refusal).toBeInstanceOf(PolicyRefusalError);
        expect(refusal.code).toBe('permit_out_of_scope');
        expect(refusal.message).toContain(message);
        expect(sink.events).toEqual([]);
      }
      expect(server?.received).toEqual([]);
    });

    it("reaches an Ollama engine's native /api/generate beside its base URL, and nothing else there; no other engine's root", async () => {
      server = await startServer((_request, response) => response.end('{}'));
      const baseUrl = `${server.url}/v1`;
      const generate = chatRequest(baseUrl, { url: `${server.url}/api/generate`, body: '{"model":"llama3.2:3b","prompt":"x","raw":true}' });
      await permits.register(baseUrl, [{ id: 'llama3.2:3b' }], 'ollama');
      const response = await sendInvocation(permits.permit(), generate, new RecordingSink());
      expect(await response.text()).toBe('{}');
      expect(server.received.map((request) => request.path)).toEqual(['/api/generate']);
      for (const url of [`${server.url}/api/delete`, `${server.url}/api/generate/x`, `${server.url}/api/generate?x=1`, `${server.url}/api`]) {
        const refusal = await rejectionOf(sendInvocation(permits.permit(), { ...generate, url }, new RecordingSink()));
        expect(refusal.code).toBe('permit_out_of_scope');
        expect(refusal.message).toContain(`and its engine's ${server.url}/api/generate`);
      }
      await permits.register(baseUrl, [{ id: 'llama3.2:3b' }], 'llama.cpp');
      const refusal = await rejectionOf(sendInvocation(permits.permit(), generate, new RecordingSink()));
      expect(refusal.code).toBe('permit_out_of_scope');
      expect(server.received).toHaveLength(1);
    });

    it('accepts an alias of the permitted model in the body', async () => {
      server = await startServer((_request, response) => response.end('{}'));
      const baseUrl = `${server.url}/v1`;
      await permits.register(baseUrl, [{ id: 'llama3.2:3b', aliases: ['llama-small'] }]);
      const response = await sendInvocation(permits.permit(), chatRequest(baseUrl, { body: '{"model":"llama-small"}' }), new RecordingSink());
      expect(await response.text()).toBe('{}');
    });

    it('refuses anything that is not a VerifiedPermit, and a second send with the same one', async () => {
      const { baseUrl, permit } = await serve((_request, response) => response.end('{}'));
      const impostor = { ...permit } as unknown as VerifiedPermit;
      expect((await rejectionOf(sendInvocation(impostor, chatRequest(baseUrl), new RecordingSink()))).code).toBe('permit_forged');
      await (await sendInvocation(permit, chatRequest(baseUrl), new RecordingSink())).readAll();
      const again = await rejectionOf(sendInvocation(permit, chatRequest(baseUrl), new RecordingSink()));
      expect(again.code).toBe('permit_replayed');
      expect(server?.received).toHaveLength(1);
    });

    it('keeps credentials in the URL out of the capture and of messages', async () => {
      const { baseUrl, permit } = await serve((_request, response) => response.end('{}'));
      const sink = new RecordingSink();
      const response = await sendInvocation(permit, chatRequest(baseUrl, { url: `${baseUrl}/chat/completions?key=sk-secret-1&alt=sse` }), sink);
      await response.readAll();
      expect(sink.request?.url).toBe(`${baseUrl}/chat/completions?key=[redacted]&alt=sse`);
      expect(server?.received[0]?.path).toBe('/v1/chat/completions?key=sk-secret-1&alt=sse');
      const refusal = await rejectionOf(
        sendInvocation(permits.permit(), chatRequest(baseUrl, { url: `http://127.0.0.2:9/v1/chat?access_token=sk-secret-2`, body: BODY }), new RecordingSink()),
      );
      expect(refusal.message).not.toContain('sk-secret-2');
      expect(refusal.message).toContain('access_token=[redacted]');
    });
  });
});

/** The most bytes the kernel lets one loopback TCP socket buffer (`net.ipv4.tcp_rmem` / `tcp_wmem`, their third field); 0 where unknown. */
function tcpBufferMaximum(setting: 'tcp_rmem' | 'tcp_wmem'): number {
  try {
    return Number(readFileSync(`/proc/sys/net/ipv4/${setting}`, 'utf8').trim().split(/\s+/)[2]) || 0;
  } catch {
    return 0;
  }
}
