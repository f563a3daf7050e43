import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { readLimitedBody, type LimitedBody } from '../../../src/common/http-body.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** A server that reads each body with `limit` and answers 413 or 200; resolves `seen` with what the reader found. */
async function serve(limit: number): Promise<{ url: string; seen: () => Promise<LimitedBody> }> {
  const outcomes: Promise<LimitedBody>[] = [];
  let notify: (() => void) | undefined;
  server = createServer((incoming: IncomingMessage, outgoing) => {
    const outcome = readLimitedBody(incoming, limit);
    outcomes.push(outcome);
    notify?.();
    void outcome.then((read) => {
      if (read.kind === 'aborted') return;
      outgoing.shouldKeepAlive = read.kind === 'complete';
      outgoing.writeHead(read.kind === 'complete' ? 200 : 413, { 'content-type': 'text/plain' });
      outgoing.end(read.kind === 'complete' ? `${read.body.length}` : 'too large');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    seen: async () => {
      if (outcomes.length === 0) await new Promise<void>((resolve) => (notify = resolve));
      return outcomes.shift()!;
    },
  };
}

describe('readLimitedBody', () => {
  it('returns a body within the limit whole', async () => {
    const { url, seen } = await serve(10);
    const response = await fetch(url, { method: 'POST', body: '0123456789' });
    expect([response.status, await response.text()]).toEqual([200, '10']);
    expect(await seen()).toMatchObject({ kind: 'complete' });
  });

  it('refuses at once when Content-Length declares more, and when a chunked body crosses the limit', async () => {
    const { url, seen } = await serve(10);
    const declared = await fetch(url, { method: 'POST', body: '0123456789A' });
    expect([declared.status, await declared.text()]).toEqual([413, 'too large']);
    expect(await seen()).toEqual({ kind: 'too-large' });

    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(8));
        controller.enqueue(new Uint8Array(8));
        controller.close();
      },
    });
    const streamed = await fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect([streamed.status, await streamed.text()]).toEqual([413, 'too large']);
    expect(await seen()).toEqual({ kind: 'too-large' });
  });

  it('reports a client that disconnects mid-body as aborted, without rejecting', async () => {
    const { url, seen } = await serve(1000);
    const outgoing = request(url, { method: 'POST', headers: { 'content-length': 500 } });
    outgoing.on('error', () => undefined);
    outgoing.write('only the start');
    // Gone once the server has the request (after a fixed 20 ms the client could go before it even
    // connected on a loaded machine: then no request ever arrives to report on).
    const outcome = seen();
    await new Promise((resolve) => server!.once('request', resolve));
    outgoing.destroy();
    expect(await outcome).toEqual({ kind: 'aborted' });
  });
});
