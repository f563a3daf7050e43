import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { engineJson, engineRequest } from '../../../src/transport/engine-info.js';

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
