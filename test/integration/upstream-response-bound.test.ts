/**
 * A broken or hostile upstream answering a non-streamed request with a body that never ends: the
 * transport stops reading at its bound and the attempt fails as an upstream failure (502 to a
 * gateway client), its evidence saying why — the gateway's memory does not grow with the body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const BOUND = 1024 * 1024;

/** Answers every POST (a chat request) 200 with a JSON body that never ends: the same 64 KiB, as fast as the socket takes it. */
async function startEndlessUpstream(): Promise<{ baseUrl: string; sent: () => number; close: () => Promise<void> }> {
  const block = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    if (request.method !== 'POST') {
      // Its health check (GET /v1/models) is answered as an OpenAI-compatible engine answers it.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"object":"list","data":[{"id":"llama3.2:3b","object":"model","owned_by":"endless"}]}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"id":"chatcmpl-endless","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"');
    const pump = (): void => {
      while (!response.destroyed) {
        sent += block.length;
        if (!response.write(block)) break;
      }
      if (!response.destroyed) response.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    sent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('an upstream whose non-streamed answer never ends', () => {
  let upstream: Awaited<ReturnType<typeof startEndlessUpstream>>;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startEndlessUpstream();
    gateway = await startTestGateway({ providers: [{ id: 'endless', class: 'local', wire: 'openai', baseUrl: upstream.baseUrl, models: [{ id: 'llama3.2:3b' }] }] });
    // The real bound is 256 MiB; the test's upstream is stopped at 1 MiB to keep the machine free.
    gateway.pipeline.responseBodyLimitBytes = BOUND;
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('the OpenAI client gets a 502 naming the bound, the upstream is cut off there, and the evidence row records why', { timeout: 90_000 }, async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({ model: 'endless:llama3.2:3b', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const apiError = failure as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.message).toContain(`sent a response body of more than ${BOUND} bytes`);
    // The gateway stopped reading (and closed the connection) near the bound, not after gigabytes.
    expect(upstream.sent()).toBeLessThan(64 * BOUND);
    // The only request this gateway served: its row.
    const newest = async (): Promise<string | undefined> => {
      await gateway.settled();
      return listEvidence(gateway.store, { provider: 'endless', limit: 1 })[0]?.id;
    };
    await expect.poll(async () => {
      const id = await newest();
      return id === undefined ? undefined : getEvidence(gateway.store, id)?.state;
    }).toBe('failed');
    const evidenceId = (await newest()) ?? '';
    const record = getEvidence(gateway.store, evidenceId);
    expect(record?.error).toMatchObject({ code: 'upstream_response_too_large' });
    expect(record?.markers).toEqual(expect.arrayContaining(['upstream_error', 'partial_response']));
  });
});
