import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { engineJson, engineRequest, noAnswerInTime } from '../../../src/transport/engine-info.js';

const URL = 'http://127.0.0.1:11434/api/tags';

function refusal(answer: Parameters<typeof engineJson>[1]): UpstreamError {
  try {
    engineJson(URL, answer);
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error('engineJson accepted the answer');
}

describe('engineJson', () => {
  it('returns the JSON body of a 2xx answer', () => {
    expect(engineJson(URL, { status: 200, text: '{"models":[]}', contentType: 'application/json' })).toEqual({ models: [] });
  });

  it('a body that is not JSON: what answered (status, content type) is in the details, for the caller to say it is not the engine', () => {
    const error = refusal({ status: 200, text: '<!doctype html><title>Grafana</title>', contentType: 'text/html; charset=utf-8' });
    expect(error.code).toBe('engine_bad_response');
    expect(error.details).toEqual({ url: URL, status: 200, contentType: 'text/html; charset=utf-8' });
  });

  it('an error status: the same details, and the status on the error', () => {
    const error = refusal({ status: 404, text: '<html>Not Found</html>', contentType: 'text/html' });
    expect(error).toMatchObject({ code: 'engine_error', status: 404, details: { url: URL, status: 404, contentType: 'text/html' } });
    expect(refusal({ status: 500, text: 'oops' }).details).toEqual({ url: URL, status: 500 });
  });
});

describe('engineRequest: a timeout that runs out while this process is stalled', () => {
  let engine: ChildProcess | undefined;
  let directory: string | undefined;
  afterEach(() => {
    engine?.kill('SIGKILL');
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it('reads the answer waiting in the socket before calling the engine silent (a loaded run: a health probe found a fake engine "no answer within 400 ms" and left it out)', async () => {
    const TIMEOUT_MS = 3000;
    directory = mkdtempSync(join(tmpdir(), 'syndicate-engine-info-stall-'));
    const [received, answered] = [join(directory, 'received'), join(directory, 'answered')];
    // An engine in a process of its own, so it can answer while this one is stalled: a file when the
    // request arrived, its answer when told (SIGUSR2), then a file saying the answer is in the socket.
    engine = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const server = require('node:http').createServer((request, response) => {
           process.once('SIGUSR2', () => {
             response.writeHead(200, { 'content-type': 'application/json' });
             response.end('{"object":"list","data":[]}', () => fs.writeFileSync(${JSON.stringify(answered)}, ''));
           });
           fs.writeFileSync(${JSON.stringify(received)}, '');
         });
         server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = await new Promise<number>((resolve) => engine!.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim()))));
    const started = performance.now();
    const request = engineRequest(`http://127.0.0.1:${port}/v1/models`, { timeoutMs: TIMEOUT_MS }).then(
      (answer) => answer,
      (error: unknown) => error,
    );
    while (!existsSync(received)) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(performance.now() - started, 'the request reached the engine before the timeout ran out (else this test shows nothing)').toBeLessThan(TIMEOUT_MS);
    // This process stalls (synchronously) while the engine answers, and on past the timeout: when it
    // runs again the timer is due and the answer waits in the socket. The stall is in an immediate, as
    // any stall after the timers of an iteration: the next begins with the timers, before the poll.
    await new Promise((resolve) => setImmediate(resolve));
    engine.kill('SIGUSR2');
    while (!existsSync(answered) || performance.now() - started < TIMEOUT_MS + 200) {
      // stalled, as a loaded machine stalls a process
    }
    expect(await request).toEqual({ status: 200, text: '{"object":"list","data":[]}', contentType: 'application/json' });
  });
});

describe('engineRequest on node:http (it was fetch: see gateway-http-client.test.ts)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  const serve = async (handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('sends the method, JSON body and headers; reads the answer as fetch did (a compressed body decoded, a byte order mark dropped)', async () => {
    let received: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const base = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received = { method: request.method, headers: request.headers, body };
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('\uFEFF{"name":"qwen3"}'));
      });
    });
    const answer = await engineRequest(`${base}/api/show`, { method: 'POST', body: { model: 'qwen3' }, headers: { authorization: 'Bearer k' } });
    expect(answer).toEqual({ status: 200, text: '{"name":"qwen3"}', contentType: 'application/json' });
    expect(received).toMatchObject({ method: 'POST', body: '{"model":"qwen3"}', headers: { accept: 'application/json', 'content-type': 'application/json', authorization: 'Bearer k' } });
  });

  it('returns a redirect as it is, without following it to wherever it points', async () => {
    let followed = false;
    const elsewhere = await serve((_request, response) => {
      followed = true;
      response.end('{}');
    });
    const base = await serve((_request, response) => response.writeHead(302, { location: `${elsewhere}/v1/models` }).end());
    expect((await engineRequest(`${base}/v1/models`)).status).toBe(302);
    expect(followed).toBe(false);
  });

  it('nothing listening, an answer cut short, no answer in time: engine_unreachable, saying which', async () => {
    const closed = await serve(() => undefined);
    servers[0]!.close();
    await expect(engineRequest(`${closed}/v1/models`)).rejects.toMatchObject({ code: 'engine_unreachable', message: `${closed}/v1/models is unreachable: connection refused (is the engine running?)` });
    const cut = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"data":', () => response.socket?.destroy());
    });
    await expect(engineRequest(`${cut}/v1/models`)).rejects.toMatchObject({ code: 'engine_unreachable', message: expect.stringMatching(/is unreachable: ECONNRESET$/) });
    const silent = await serve(() => undefined);
    const error = await engineRequest(`${silent}/v1/models`, { timeoutMs: 200 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'engine_unreachable', message: `${silent}/v1/models is unreachable: no answer within 200 ms` });
    expect(noAnswerInTime(error)).toBe(true);
  });
});
