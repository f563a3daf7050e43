/**
 * The gateway against hostile HTTP clients on raw sockets: what a caller without the token, or
 * with a request refused at its head, can make the gateway read and hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { rawClient } from '../helpers/raw-client.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
let engine: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [engine, claude] = await Promise.all([startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'anthropic' })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: 'llama3.2:latest', tags: ['tools'] }] },
      {
        id: 'claude',
        class: 'approved_hosted',
        wire: 'anthropic',
        baseUrl: claude.baseUrl,
        auth: true,
        models: [{ id: CLAUDE_MODEL, contextWindow: 200_000, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([engine?.close(), claude?.close()]);
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

/** `{"a":{"a":…1…}}`, `depth` objects deep, as text: a client's own JSON.stringify overflows its stack on it too. */
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
/** Deep enough to overflow the stack of the gateway's JSON.stringify, which it did before the nesting bound. */
const OVERFLOWING_DEPTH = 10_000;

const post = (path: string, body: string): Promise<Response> =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body,
  });

describe('a body nested thousands of levels deep', () => {
  const tools = (schema: string): string => `[{"type":"function","function":{"name":"f","parameters":${schema}}}]`;
  it.each([
    ['tool parameters', '/v1/chat/completions', (deep: string) => `{"model":"auto","messages":[{"role":"user","content":"hi"}],"tools":${tools(deep)}}`, '/tools/0/function/parameters'],
    ['a response format schema', '/v1/chat/completions', (deep: string) => `{"model":"auto","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${deep}}}}`, '/response_format/json_schema/schema/a'],
    ['a tool_use input', '/v1/messages', (deep: string) => `{"model":"auto","max_tokens":16,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":${deep}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}`, '/messages/1/content/0'],
    ['a token count', '/v1/messages/count_tokens', (deep: string) => `{"model":"auto","messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":${deep}}]}`, '/tools/0/input_schema/a'],
    ['an Ollama format', '/api/chat', (deep: string) => `{"model":"auto","stream":false,"messages":[{"role":"user","content":"hi"}],"format":${deep}}`, '/format/a/a/a'],
  ])('(%s) is a 400 naming where, not a 500 from a stack overflow', async (_case, path, body, pointer) => {
    const response = await post(path, body(nested(OVERFLOWING_DEPTH)));
    const text = await response.text();
    expect(response.status, text).toBe(400);
    expect(text).toContain(`${pointer}: nests arrays and objects more than 128 levels deep`);
  });

  it('nested 128 levels (the body itself the first) is answered as any other', async () => {
    // The body, `tools`, its element and `function` are 4 levels; `parameters` holds levels 5 to 128.
    const response = await post('/v1/chat/completions', `{"model":"ollama:llama3.2:latest","messages":[{"role":"user","content":"hi"}],"tools":${tools(nested(124))}}`);
    expect(response.status, await response.clone().text()).toBe(200);
    expect((await post('/v1/chat/completions', `{"model":"ollama:llama3.2:latest","messages":[{"role":"user","content":"hi"}],"tools":${tools(nested(125))}}`)).status).toBe(400);
  });

  it('tool-call arguments sent as text, nested that deep, reach an Anthropic-wire provider as an empty input with a warning, not a 500', async () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: nested(OVERFLOWING_DEPTH) } };
    const body = JSON.stringify({
      model: `claude:${CLAUDE_MODEL}`,
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_1', content: 'ok' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    });
    const response = await post('/v1/chat/completions', body);
    expect(response.status, await response.clone().text()).toBe(200);
    const sent = JSON.parse(claude.exchanges.filter((exchange) => exchange.method === 'POST').at(-1)?.requestBody.toString('utf8') ?? '{}') as { messages: { content: unknown }[] };
    expect(sent.messages[1]?.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'f', input: {} }]);
    await gateway.settled();
    expect(getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '')?.warnings).toContainEqual(
      expect.objectContaining({ setting: 'messages[1].toolCalls[0].arguments', message: expect.stringContaining('an empty input was sent') }),
    );
  });
});
