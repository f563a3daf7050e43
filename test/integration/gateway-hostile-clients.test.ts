/**
 * The gateway against hostile HTTP clients on raw sockets: what a caller without the token, or
 * with a request refused at its head, can make the gateway read and hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { rawClient } from '../helpers/raw-client.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

let engine: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'ollama' });
  gateway = await startTestGateway({
    providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: 'llama3.2:latest' }] }],
  });
});

afterAll(async () => {
  await gateway?.close();
  await engine?.close();
});

const port = (): number => gateway.running.port;
const CHAT = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
/** Under the 32 MiB limit: a body the gateway would read whole, were it to read it. */
const LARGE_BODY_BYTES = 30 * 1024 * 1024;

const head = (method: string, path: string, headers: Record<string, string>): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;

describe('a request refused at its head', () => {
  it.each([
    ['no token', 'POST', '/v1/chat/completions', {}, '401 Unauthorized', 'token_missing'],
    ['a wrong token', 'POST', '/v1/messages', { 'x-api-key': 'syn_guessed' }, '401 Unauthorized', 'authentication_error'],
    ['no token, at /mcp', 'POST', '/mcp', {}, '401 Unauthorized', 'token_missing'],
    ['a path the gateway does not serve', 'POST', '/v1/uploads', { authorization: `Bearer ${TEST_TOKEN}` }, '404 Not Found', 'not_found'],
    ['a method the path does not take', 'PUT', '/v1/chat/completions', { authorization: `Bearer ${TEST_TOKEN}` }, '405 Method Not Allowed', 'method_not_allowed'],
  ])('(%s) is answered before its body arrives, and its connection closed: the gateway never reads nor holds the body', async (_case, method, path, headers, status, code) => {
    const client = await rawClient(port());
    try {
      // 30 MiB declared, 1 KiB sent, the rest never: a gateway reading the body first would wait for it (until its 60 s request timeout).
      await client.write(head(method, path, { ...headers, 'content-type': 'application/json', 'content-length': String(LARGE_BODY_BYTES) }) + 'x'.repeat(1024));
      await client.waitFor('}');
      expect(client.received()).toMatch(new RegExp(`^HTTP/1\\.1 ${status}\\r\\n`));
      expect(client.received()).toContain(`"${code}"`);
      expect(client.received().toLowerCase()).toContain('connection: close');
      // The rest of the body is not parsed as another request: the connection ends.
      await client.closed;
    } finally {
      client.destroy();
    }
  });

  it('a caller with the token is still read and answered, its connection kept alive for the next request', async () => {
    const client = await rawClient(port());
    try {
      const request = head('POST', '/v1/chat/completions', { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(CHAT)) });
      // The body dribbled after its head, then a second request on the same connection.
      await client.write(request);
      await client.write(CHAT.slice(0, 10));
      await client.write(CHAT.slice(10));
      await client.waitFor('Paris');
      expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(client.received().toLowerCase()).toContain('connection: keep-alive');
      await client.write(request + CHAT);
      await client.waitFor('Paris', 2);
      expect(client.received().match(/HTTP\/1\.1 200 OK\r\n/g)).toHaveLength(2);
      expect(client.isClosed).toBe(false);
    } finally {
      client.destroy();
    }
  });
});

describe('Expect: 100-continue', () => {
  it('a request refused at its head gets its refusal, never `100 Continue`, so its client sends no body', async () => {
    const refusals: [Record<string, string>, string][] = [
      [{}, '401 Unauthorized'],
      // Over the 32 MiB limit by its Content-Length.
      [{ authorization: `Bearer ${TEST_TOKEN}`, 'content-length': String(40 * 1024 * 1024) }, '413 Payload Too Large'],
    ];
    for (const [headers, status] of refusals) {
      const client = await rawClient(port());
      try {
        await client.write(head('POST', '/v1/chat/completions', { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(CHAT)), expect: '100-continue', ...headers }));
        await client.waitFor('}');
        expect(client.received()).toMatch(new RegExp(`^HTTP/1\\.1 ${status}\\r\\n`));
        expect(client.received()).not.toContain('100 Continue');
        await client.closed;
      } finally {
        client.destroy();
      }
    }
  });

  it('a request the gateway will read gets `100 Continue`, then its answer once the body came', async () => {
    const client = await rawClient(port());
    try {
      await client.write(head('POST', '/v1/chat/completions', { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(CHAT)), expect: '100-continue' }));
      await client.waitFor('\r\n\r\n');
      expect(client.received()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      await client.write(CHAT);
      await client.waitFor('Paris');
      expect(client.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    } finally {
      client.destroy();
    }
  });
});
