/**
 * The MCP server over Streamable HTTP at the gateway's `/mcp`: a real `syndicate serve` process,
 * driven by the official MCP SDK client (`Client` + `StreamableHTTPClientTransport`) with the
 * gateway token, as `claude mcp add --transport http` or Cursor connect. The same tools and
 * pipeline as `syndicate mcp` on stdio; the gateway's token, body limit and CORS; browser pages
 * from other origins refused; SIGTERM lets a `complete` call in flight finish.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const SECRET = 's3cretPassw0rd';
const RESTRICTED_PROMPT = `Why does this fail? postgres://admin:${SECRET}@db.internal:5432/prod`;
const PAGE_ORIGIN = 'http://localhost:3000';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
};

describe('serve: the MCP server over Streamable HTTP at /mcp', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let anthropic: FakeEngine;
  let serve: RunningServe;
  let token: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    anthropic = await startFakeEngine({ kind: 'anthropic' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register(
      { id: 'llama', engine: llama },
      { id: 'claude', engine: anthropic, class: 'approved_hosted', authEnv: 'FAKE_ANTHROPIC_KEY', price: { inputPerMTok: 3, outputPerMTok: 15 }, capabilityClass: 'frontier' },
    );
    const printed = await scenario.cli(['serve', '--print-token']);
    expect(printed.exitCode, printed.stderr).toBe(0);
    token = printed.stdout.trim();
    serve = await startServe(['serve', '--port', '0', '--cors-origin', PAGE_ORIGIN], { SYNDICATE_HOME: scenario.home, FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key' }, 90_000);
  }, 90_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    serve?.server.kill('SIGTERM');
    await serve?.server;
    scenario?.cleanup();
    await Promise.all([llama?.close(), anthropic?.close()]);
  });

  const connect = async (headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<Client> => {
    const client = new Client({ name: 'syndicate-http-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers } }));
    clients.push(client);
    return client;
  };
  const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result: CallToolResult): string => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
  /** The /metrics count of `complete` calls to llama over /mcp that completed (0 before the first). */
  const completedMcpCalls = async (): Promise<number> => {
    const exposition = await (await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const counted = /^syndicate_gateway_requests_total\{api="mcp",class="local",provider="llama",[^}]*outcome="completed"\} (\d+)$/m.exec(exposition);
    return Number(counted?.[1] ?? 0);
  };
  const post = (body: string, headers: Record<string, string>): Promise<Response> =>
    fetch(`${serve.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

  it('says who it is and lists the five tools, as on stdio', async () => {
    const client = await connect();
    expect(client.getServerVersion()).toMatchObject({ name: 'syndicate', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['complete', 'classify', 'route_explain', 'providers', 'metrics']);
    for (const tool of tools) expect(tool.outputSchema, tool.name).toBeDefined();
  });

  it('advertises no tool-list notifications: in stateless mode no notification can reach the client', async () => {
    const client = await connect();
    expect(client.getServerCapabilities()?.tools).toBeDefined();
    expect(client.getServerCapabilities()?.tools?.listChanged).not.toBe(true);
  });

  it('classify: the level and findings, nothing sent anywhere', async () => {
    const client = await connect();
    const result = await call(client, 'classify', { text: RESTRICTED_PROMPT });
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ level: 'restricted', failedClosed: false });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('complete: one governed invocation, recorded as evidence with caller mcp and counted in /metrics as api "mcp"', async () => {
    const client = await connect();
    const before = inferenceExchanges(llama).length;
    // Read as a difference: other tests of this file complete calls on the same serve, in any order.
    const countedBefore = await completedMcpCalls();
    const result = await call(client, 'complete', { prompt: 'Name the capital of France.', provider: 'llama', session: 'http-agent-1' });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toBe(DEFAULT_ANSWER);
    const structured = result.structuredContent as { evidenceId: string; permitId: string };
    expect(structured).toMatchObject({ answer: DEFAULT_ANSWER, provider: { id: 'llama', class: 'local' }, sensitivity: 'public' });
    expect(inferenceExchanges(llama)).toHaveLength(before + 1);
    expect(await scenario.evidence(structured.evidenceId)).toMatchObject({ state: 'completed', caller: 'mcp', sessionId: 'http-agent-1', permitId: structured.permitId });

    expect(await completedMcpCalls()).toBe(countedBefore + 1);
  });

  it('complete: a policy refusal is a tool error result naming why, as on stdio; nothing reaches the hosted provider', async () => {
    const client = await connect();
    const hostedBefore = inferenceExchanges(anthropic).length;
    const refused = await call(client, 'complete', { prompt: RESTRICTED_PROMPT, provider: 'claude' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/restricted/);
    expect(text(refused)).toMatch(/hint: llama may take it: name it instead, or let the policy choose/);
    expect(text(refused)).not.toContain(SECRET);
    expect(inferenceExchanges(anthropic)).toHaveLength(hostedBefore);
  });

  it('without the token, or with a wrong one, the client is refused: 401 in the gateway error shape', async () => {
    await expect(connect({})).rejects.toThrow(/401|missing gateway token/);
    await expect(connect({ authorization: 'Bearer not-the-token' })).rejects.toThrow(/401|invalid gateway token/);

    const missing = await post(JSON.stringify(INITIALIZE), {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(await missing.json()).toMatchObject({ error: { code: 'token_missing', message: expect.stringContaining('missing gateway token') } });
    const wrong = await post(JSON.stringify(INITIALIZE), { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'token_invalid' } });
  });

  it('a browser page from an origin --cors-origin does not name is refused (403), token or not; a named one is answered', async () => {
    for (const headers of [{ origin: 'http://evil.example' } as Record<string, string>, { origin: 'http://evil.example', authorization: `Bearer ${token}` }, { origin: 'null', authorization: `Bearer ${token}` }]) {
      const refused = await post(JSON.stringify(INITIALIZE), headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: 'origin_not_allowed', message: expect.stringContaining('--cors-origin') } });
    }
    // The preflight of a foreign page gets no CORS grant either.
    const preflight = await fetch(`${serve.url}/mcp`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();

    const allowed = await post(JSON.stringify(INITIALIZE), { origin: PAGE_ORIGIN, authorization: `Bearer ${token}` });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
    expect(await allowed.text()).toContain('"serverInfo":{"name":"syndicate"');
  });

  it('stateless: GET (no server-sent stream offered) and DELETE (no session to end) are 405 naming POST; no session id is given', async () => {
    const initialized = await post(JSON.stringify(INITIALIZE), { authorization: `Bearer ${token}` });
    expect(initialized.status).toBe(200);
    expect(initialized.headers.get('mcp-session-id')).toBeNull();
    await initialized.text();
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${serve.url}/mcp`, { method, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
  });

  it('a tool call with `arguments: null` (a Go, Java or C# client with no arguments to send) is a call without arguments, not an Internal error (-32603)', async () => {
    const called = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'providers', arguments: null } }), { authorization: `Bearer ${token}` });
    expect(called.status).toBe(200);
    const answer = (await called.text()).split('\n').find((line) => line.startsWith('data: '));
    const message = JSON.parse(answer!.slice('data: '.length)) as { id: number; result?: CallToolResult };
    expect(message).toMatchObject({ id: 2, result: { structuredContent: { providers: expect.arrayContaining([expect.objectContaining({ id: 'llama' })]) } } });
    expect(message).not.toHaveProperty('error');
  });

  it('a call of a tool this server does not have is a JSON-RPC Invalid params error (-32602), not a tool result', async () => {
    const called = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'nope', arguments: {} } }), { authorization: `Bearer ${token}` });
    expect(called.status).toBe(200);
    const answer = (await called.text()).split('\n').find((line) => line.startsWith('data: '));
    const message = JSON.parse(answer!.slice('data: '.length)) as { id: number; error?: { code: number; message: string } };
    expect(message).toMatchObject({ id: 7, error: { code: -32602, message: expect.stringContaining('Unknown tool: nope') } });
    expect(message).not.toHaveProperty('result');
  });

  it('a tool call whose arguments nest deeper than 128 levels: a JSON-RPC Invalid Request naming the limit and the field (it was a "Maximum call stack size exceeded" tool error); the server keeps answering', async () => {
    const client = await connect();
    let deep: Record<string, unknown> = { text: 'x' };
    for (let level = 0; level < 1_000; level += 1) deep = { a: deep };
    const failure = await call(client, 'classify', { text: 'hello', extra: deep }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toContain('Invalid Request: /params/arguments/extra/a nests arrays and objects more than 128 levels deep');
    expect(message).toContain('-32600');
    expect(message).not.toContain('call stack');
    // 128 levels in all pass, and the server still answers.
    let allowed: Record<string, unknown> = { text: 'x' };
    for (let level = 0; level < 120; level += 1) allowed = { a: allowed };
    const result = await call(client, 'classify', { text: 'hello', extra: allowed });
    expect(text(result)).not.toContain('call stack');
    expect(text(await call(client, 'classify', { text: 'hello' }))).toContain('public');
  });

  it("a body above the gateway's limit is refused with its 413, before it is read", async () => {
    // Declared larger than the 32 MiB limit; only its head is sent (the gateway answers without reading the rest).
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${serve.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': String(33 * 1024 * 1024) },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body: text });
          request.destroy();
        });
      });
      request.on('error', reject);
      request.write('{"jsonrpc":"2.0",');
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it('progress notifications reach a client that asked for them, on the call\'s own server-sent stream', async () => {
    const client = await connect();
    const progress: string[] = [];
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Name the capital of Spain.', provider: 'llama' } }, undefined, {
      onprogress: (notification) => progress.push(notification.message ?? ''),
    })) as CallToolResult;
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toBe(DEFAULT_ANSWER);
    expect(progress[0]).toMatch(/^asking llama:\S+ \(public\)$/);
  });

  it('a client that closes its connection mid-call cancels it upstream; the evidence says the client cancelled it', async () => {
    llama.setFault({ slowStreamMs: 5000 }, 1);
    const before = inferenceExchanges(llama).length;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'complete', arguments: { prompt: 'Name the capital of Portugal.', provider: 'llama' } } });
    const request = httpRequest(`${serve.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    request.on('error', () => undefined);
    const head = new Promise<IncomingMessage>((resolve) => request.on('response', resolve));
    request.end(body);
    // The server-sent stream's head comes at once; the answer would follow it.
    expect((await head).headers['content-type']).toBe('text/event-stream');
    await expect.poll(() => inferenceExchanges(llama).length, { timeout: 20_000 }).toBe(before + 1);
    request.destroy();
    await expect
      .poll(async () => {
        const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
        return (document.evidence as { state: string }[])[0]?.state;
      }, { timeout: 20_000 })
      .toBe('failed');
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    const [row] = document.evidence as { state: string; caller: string; error: { code: string; message: string } }[];
    expect(row).toMatchObject({ state: 'failed', caller: 'mcp', error: { code: 'interrupted', message: expect.stringContaining('cancelled by the MCP client') } });
    await expect.poll(() => inferenceExchanges(llama)[before]?.abortedByClient, { timeout: 20_000 }).toBe(true);
  });

  it('SIGTERM lets a complete call in flight finish and record its evidence, then serve exits 0', { timeout: 90_000 }, async () => {
    // A serve of its own on the same home: stopping the shared one stopped every test that ran after
    // this one (a shuffled run, seed 1796583854431: 12 of 14 failed).
    const own = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home, FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key' }, 90_000);
    const client = new Client({ name: 'syndicate-http-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${own.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(client);
    const before = inferenceExchanges(llama).length;
    llama.setFault({ slowStreamMs: 1500 }, 1);
    const pending = call(client, 'complete', { prompt: 'Name the capital of Italy.', provider: 'llama' });
    while (inferenceExchanges(llama).length === before) await new Promise((resolve) => setTimeout(resolve, 20));
    own.server.kill('SIGTERM');
    const result = await pending;
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toBe(DEFAULT_ANSWER);
    const exited = await own.server;
    expect(exited.exitCode, String(exited.stderr)).toBe(0);
    expect(own.stderr()).toContain('finishing 1 in-flight request');
    expect(await scenario.evidence((result.structuredContent as { evidenceId: string }).evidenceId)).toMatchObject({ state: 'completed', caller: 'mcp' });
  });
});

describe('serve: /mcp calls still running when the drain time is up', () => {
  it('are cancelled with the gateway\'s reason in their evidence; serve exits 143', async () => {
    const llama = await startFakeEngine({ kind: 'llama.cpp' });
    const scenario = await Scenario.create({});
    try {
      await scenario.register({ id: 'llama', engine: llama });
      const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
      const serve = await startServe(['serve', '--port', '0', '--drain-timeout', '1s'], { SYNDICATE_HOME: scenario.home }, 90_000);
      llama.setFault('hang');
      const client = new Client({ name: 'syndicate-http-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      const pending = client.callTool({ name: 'complete', arguments: { prompt: 'Name the capital of France.' } });
      void pending.catch(() => undefined);
      await expect.poll(() => inferenceExchanges(llama).length, { timeout: 20_000 }).toBe(1);
      serve.server.kill('SIGTERM');
      const exited = await serve.server;
      expect(exited.exitCode, String(exited.stderr)).toBe(143);
      expect(String(exited.stderr)).toContain('1 request in flight cancelled');
      const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
      const [row] = document.evidence as { state: string; caller: string; error: { code: string; message: string } }[];
      expect(row).toMatchObject({ state: 'failed', caller: 'mcp', error: { code: 'interrupted', message: expect.stringContaining('the gateway stopped') } });
      await client.close().catch(() => undefined);
    } finally {
      scenario.cleanup();
      await llama.close();
    }
  }, 90_000);
});
