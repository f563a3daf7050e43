/**
 * Browser pages from origins the operator named (`serve --cors-origin`) may call the gateway —
 * still with the token; every other origin gets no CORS headers, so browsers keep its scripts out.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { normalizeOrigin } from '../../src/gateway/cors.js';
import type { AccessLogEntry } from '../../src/gateway/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const ALLOWED = 'http://localhost:3000';
let engine: FakeEngine;
let gateway: TestGateway;
const logged: AccessLogEntry[] = [];

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'ollama' });
  gateway = await startTestGateway({
    providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: 'llama3.2:latest' }] }],
    corsOrigins: [ALLOWED, 'https://Chat.Example.org'],
    onRequestEnd: (entry) => logged.push(entry),
  });
});
afterAll(async () => {
  await gateway?.close();
  await engine?.close();
});

const preflight = (origin: string): Promise<Response> =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
  });

const chat = (headers: Record<string, string>): Promise<Response> =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
  });

describe('CORS for named origins', () => {
  it('answers a preflight from an allowed origin without a token, allowing what the page asked for', async () => {
    const response = await preflight(ALLOWED);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-stainless-os');
    // Origins compare case-insensitively, as URLs do.
    expect((await preflight('https://chat.example.org')).status).toBe(204);
  });

  it('writes an access-log line for an answered preflight, as for every other request', async () => {
    const before = logged.length;
    expect((await preflight(ALLOWED)).status).toBe(204);
    await vi.waitFor(() => expect(logged.length).toBe(before + 1), { timeout: 20_000, interval: 20 });
    expect(logged[before]).toMatchObject({ method: 'OPTIONS', path: '/v1/chat/completions', status: 204, outcome: 'ok' });
  });

  it('gives an allowed origin the answer with CORS headers, the evidence headers readable; the token is still required', async () => {
    const answered = await chat({ origin: ALLOWED, authorization: `Bearer ${TEST_TOKEN}` });
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(answered.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(answered.headers.get('access-control-expose-headers')).toContain('x-syndicate-evidence');
    const refused = await chat({ origin: ALLOWED });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('gives any other origin, and a request without one, no CORS headers at all', async () => {
    const other = await preflight('http://evil.example');
    expect(other.status).toBe(401);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const answered = await chat({ origin: 'http://evil.example', authorization: `Bearer ${TEST_TOKEN}` });
    expect(answered.headers.get('access-control-allow-origin')).toBeNull();
    const direct = await chat({ authorization: `Bearer ${TEST_TOKEN}` });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('accepts only scheme://host[:port] origins', () => {
    expect(normalizeOrigin('HTTP://LocalHost:3000')).toBe('http://localhost:3000');
    for (const bad of ['*', 'localhost:3000', 'http://localhost:3000/app', 'ftp://host', 'http://localhost:3000/']) expect(() => normalizeOrigin(bad)).toThrow(/is not an origin/);
  });
});
