/**
 * DNS rebinding: a page on a name its attacker re-points at 127.0.0.1 reaches the loopback gateway
 * as its own origin, so its scripts may read whatever the gateway answers without a token
 * (`/healthz`, `GET /`) and try any other route. Only the `Host` it sends tells it apart.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostCheck } from '../../src/common/host-check.js';
import type { AccessLogEntry } from '../../src/gateway/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { rawClient } from '../helpers/raw-client.js';
import { scrapeMetrics, startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

let engine: FakeEngine;
let gateway: TestGateway;
const logged: AccessLogEntry[] = [];

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'ollama' });
  gateway = await startTestGateway({
    providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: 'llama3.2:latest' }] }],
    hostCheck: new HostCheck(['gateway.example.org']),
    onRequestEnd: (entry) => logged.push(entry),
  });
});

afterAll(async () => {
  await gateway?.close();
  await engine?.close();
});

/** One request with this Host line (none: an HTTP/1.0 request without one), answered whole. */
const requestWithHost = async (host: string | undefined, path: string, headers: Record<string, string> = {}): Promise<string> => {
  const client = await rawClient(gateway.running.port);
  try {
    const lines = [`GET ${path} ${host === undefined ? 'HTTP/1.0' : 'HTTP/1.1'}`, ...(host === undefined ? [] : [`Host: ${host}`]), ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), 'Connection: close'];
    await client.write(`${lines.join('\r\n')}\r\n\r\n`);
    await client.closed;
    return client.received();
  } finally {
    client.destroy();
  }
};

describe('Host', () => {
  const port = (): number => gateway.running.port;

  it.each([
    ['/healthz', {}],
    ['/', {}],
    ['/v1/models', { authorization: `Bearer ${TEST_TOKEN}` }],
    ['/metrics', { authorization: `Bearer ${TEST_TOKEN}` }],
  ])('a name the gateway does not answer to gets 403 host_not_allowed at %s, token or not', async (path, headers) => {
    const answer = await requestWithHost(`evil.example:${port()}`, path, headers);
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(answer).toContain('"code":"host_not_allowed"');
    expect(answer).toContain('--allow-host');
    expect(answer).not.toContain('Ollama is running');
    expect(answer).not.toContain('"status":"ok"');
    expect(logged).toContainEqual(expect.objectContaining({ path, status: 403, outcome: 'host_not_allowed' }));
  });

  it('a name that only looks local (a rebinding service, a trailing label) is refused too', async () => {
    for (const host of [`127.0.0.1.nip.io:${port()}`, `localhost.evil.example:${port()}`, 'evil.example']) {
      expect(await requestWithHost(host, '/healthz')).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    }
  });

  it('loopback names, any address, *.localhost, this machine’s name, a name --allow-host gives, and no Host at all are answered', async () => {
    for (const host of [`${hostname()}:${port()}`, `127.0.0.1:${port()}`, `localhost:${port()}`, `[::1]:${port()}`, `LocalHost.:${port()}`, 'app.localhost', `192.168.1.20:${port()}`, `gateway.example.org:${port()}`, 'GATEWAY.example.org', undefined]) {
      const answer = await requestWithHost(host, '/v1/models', { authorization: `Bearer ${TEST_TOKEN}` });
      expect(answer, String(host)).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    }
  });
});

describe('/metrics', () => {
  it('counts every caller refused before any route by its reason, each at 0 before the first', async () => {
    const refused = (samples: Map<string, number>, reason: string): number | undefined => samples.get(`syndicate_gateway_refused_callers_total{reason="${reason}"}`);
    const before = await scrapeMetrics(gateway);
    for (const reason of ['token_missing', 'token_invalid', 'host_not_allowed', 'origin_not_allowed']) expect(refused(before, reason), reason).toBeGreaterThanOrEqual(0);
    const port = gateway.running.port;
    await requestWithHost(`127.0.0.1:${port}`, '/v1/models');
    await requestWithHost(`127.0.0.1:${port}`, '/v1/models', { authorization: 'Bearer syn_guessed' });
    await requestWithHost(`127.0.0.1:${port}`, '/v1/models', { 'x-api-key': 'syn_guessed-again' });
    await requestWithHost(`evil.example:${port}`, '/healthz');
    const after = await scrapeMetrics(gateway);
    const added = (reason: string): number => (refused(after, reason) ?? 0) - (refused(before, reason) ?? 0);
    expect({ missing: added('token_missing'), invalid: added('token_invalid'), host: added('host_not_allowed') }).toEqual({ missing: 1, invalid: 2, host: 1 });
  });
});
