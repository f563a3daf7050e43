import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { Ajv } from 'ajv';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveHome } from '../../../src/home/home.js';
import { createMcpServer, MCP_TOOLS, TOOL_DEFINITIONS, type SyndicateMcpServer } from '../../../src/mcp/server.js';
import type { MetricsSummary } from '../../../src/metrics/summary.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';
import { connectInProcess, toolText } from '../../helpers/mcp.js';
import { PNG } from '../../helpers/request-options.js';
import { inferenceExchanges, Scenario } from '../../helpers/scenario.js';

// ajv-formats is CommonJS: its plugin is its `exports.default`.
const addFormats = (createRequire(import.meta.url)('ajv-formats') as { default: (ajv: Ajv) => Ajv }).default;

interface ListedRow {
  id: string;
  state: string;
  caller: string;
  error?: { code: string; message: string };
  markers: string[];
}

/**
 * The MCP server in process (the SDK's linked in-memory transports): progress notifications,
 * cancellation by the client and the drain on shutdown, each ending in honest evidence.
 */
describe('createMcpServer', () => {
  let scenario: Scenario;
  let engine: FakeEngine;
  let store: Store;
  let mcp: SyndicateMcpServer;
  let client: Client;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', answer: 'one two three four five six seven eight nine ten eleven twelve' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'llama', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });
  beforeEach(async () => {
    const home = resolveHome({ home: scenario.home });
    store = openStore(home.storePath);
    mcp = createMcpServer({ home, store, version: '0.0.0-test' });
    client = await connectInProcess(mcp.server);
  });
  afterEach(async () => {
    engine.setFault('ok');
    await client.close();
    await mcp.drain();
    store.close();
  });

  async function lastRow(): Promise<ListedRow> {
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    return (document.evidence as ListedRow[])[0]!;
  }

  it('refuses an empty or blank provider, model or metrics session as an invalid argument naming it ("no provider   is registered")', async () => {
    const before = inferenceExchanges(engine).length;
    for (const [name, args, field] of [
      ['complete', { prompt: 'Say hi.', provider: '' }, 'provider'],
      ['complete', { prompt: 'Say hi.', provider: '  ' }, 'provider'],
      ['complete', { prompt: 'Say hi.', model: ' ' }, 'model'],
      ['route_explain', { prompt: 'Say hi.', provider: ' ' }, 'provider'],
      ['route_explain', { prompt: 'Say hi.', model: '' }, 'model'],
      ['metrics', { session: ' ' }, 'session'],
    ] as const) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      expect(toolText(result), `${name} ${JSON.stringify(args)}`).toBe(`MCP error -32602: Input validation error: Invalid arguments for tool ${name}: must not be empty or blank at ${field}`);
    }
    expect(inferenceExchanges(engine).length).toBe(before);
  });

  it("complete: `images` whose request would be over the 32 MiB input limit together (each under it) is a tool error before anything is sent, as run's --image files are", async () => {
    // Unreachable over stdio or the gateway's /mcp with their 32 MiB message and body limits; in process, nothing bounds the message.
    const MIB = 1024 * 1024;
    const image = { data: Buffer.concat([PNG, Buffer.alloc(13 * MIB - PNG.length)]).toString('base64'), mimeType: 'image/png' };
    const before = inferenceExchanges(engine).length;
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Compare these two.', images: [image, image] } })) as CallToolResult;
    const total = 'Compare these two.'.length + 2 * image.data.length;
    expect(result.isError).toBe(true);
    expect(toolText(result)).toBe(
      `this prompt with its 2 images would be ${(total / MIB).toFixed(1)} MiB (${total} bytes) as sent (images base64-encoded), more than the 32 MiB syndicate sends in one request: nothing was classified or sent (invalid_input)\n` +
        'hint: send less with this prompt: fewer or smaller `images` (each is sent base64-encoded, 4/3 of its size)',
    );
    expect(inferenceExchanges(engine)).toHaveLength(before);
    // route_explain of the same prompt refuses what complete would.
    const explained = (await client.callTool({ name: 'route_explain', arguments: { prompt: 'Compare these two.', images: [image, image] } })) as CallToolResult;
    expect(explained.isError).toBe(true);
    expect(toolText(explained)).toBe(toolText(result));
  }, 90_000);

  it('lists the tools exactly as the SDK derives them from their definitions (derived once, shared by every server)', async () => {
    const bare = new McpServer({ name: 'bare', version: '0.0.0' });
    const answer = (): CallToolResult => ({ content: [] });
    bare.registerTool('complete', TOOL_DEFINITIONS.complete, answer);
    bare.registerTool('classify', TOOL_DEFINITIONS.classify, answer);
    bare.registerTool('route_explain', TOOL_DEFINITIONS.route_explain, answer);
    bare.registerTool('providers', TOOL_DEFINITIONS.providers, answer);
    bare.registerTool('metrics', TOOL_DEFINITIONS.metrics, answer);
    const bareClient = await connectInProcess(bare);
    const [listed, derived] = await Promise.all([client.listTools(), bareClient.listTools()]);
    await bareClient.close();
    expect(listed.tools.map((tool) => tool.name)).toEqual([...MCP_TOOLS]);
    expect(listed).toEqual(derived);
    // A second server answers with the same list, derived once.
    const other = createMcpServer({ home: resolveHome({ home: scenario.home }), store, version: '0.0.0-test' });
    const otherClient = await connectInProcess(other.server);
    expect(await otherClient.listTools()).toEqual(listed);
    await otherClient.close();
  });

  it("every tool's input and output schema compiles in Ajv as an MCP host sets it up by default (ajv-formats, draft-07 as they declare): no format it does not know", async () => {
    const { tools } = await client.listTools();
    for (const tool of tools) {
      for (const [which, schema] of [['inputSchema', tool.inputSchema], ['outputSchema', tool.outputSchema]] as const) {
        if (schema === undefined) continue;
        // Ajv refuses to compile a schema with a format it does not know (`format: "base64"`), so a host that checks arguments before a call could not list the tool.
        expect(() => addFormats(new Ajv()).compile(schema), `${tool.name} ${which}`).not.toThrow();
      }
    }
    // The images' bytes are still checked as base64, by the server.
    const refused = (await client.callTool({ name: 'complete', arguments: { prompt: 'Describe it.', images: [{ data: 'not base64!', mimeType: 'image/png' }] } })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(toolText(refused)).toBe('MCP error -32602: Input validation error: Invalid arguments for tool complete: Invalid base64-encoded string at images[0].data');
  });

  it("every argument sub-schema names its type: a host that narrows schemas to OpenAI's subset (Codex) takes one without a type for a string", async () => {
    // Codex (codex-rs/tools/src/json_schema.rs) gives a schema without a `type` or a hint at one (`{}`, `true`) the type string:
    // `tools: {items: {}}` was told to the model as an array of strings, `schema` and `request` as objects of strings.
    const untyped: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      if (typeof schema !== 'object' || schema === null) return;
      const node = schema as Record<string, unknown>;
      if (node.type === undefined && node.enum === undefined && node.const === undefined && node.anyOf === undefined) untyped.push(path);
      for (const [name, property] of Object.entries((node.properties ?? {}) as Record<string, unknown>)) walk(property, `${path}/properties/${name}`);
      if (node.items !== undefined) walk(node.items, `${path}/items`);
      // `additionalProperties: true` is kept as it is; a schema there is narrowed as any other.
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}/additionalProperties`);
    };
    const { tools } = await client.listTools();
    for (const tool of tools) walk(tool.inputSchema, tool.name);
    expect(untyped).toEqual([]);
  });

  it('providers refuses an argument it does not know, as every tool does, rather than listing every provider as if it had been heeded', async () => {
    const refused = (await client.callTool({ name: 'providers', arguments: { provider: 'llama' } })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(toolText(refused)).toBe('MCP error -32602: Input validation error: Invalid arguments for tool providers: Unrecognized key: "provider"');
    // Without arguments, or with none given, it lists them.
    for (const args of [undefined, {}]) {
      const listed = (await client.callTool({ name: 'providers', ...(args === undefined ? {} : { arguments: args }) })) as CallToolResult;
      expect(listed.isError, JSON.stringify(args)).toBeUndefined();
      expect(listed.structuredContent).toMatchObject({ providers: [{ id: 'llama' }] });
    }
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'providers')?.inputSchema).toMatchObject({ type: 'object', properties: {}, additionalProperties: false });
  });

  it('metrics counts an answer recorded in the very millisecond it is asked for: a client that asks right after its call sees it', async () => {
    // Evidence is stamped to the millisecond, and a reply and the next call can pass within one:
    // the clock held still makes that certain.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const requests = async (): Promise<{ local: number; total: number }> => {
        const result = (await client.callTool({ name: 'metrics', arguments: { since: '1h' } })) as CallToolResult;
        return (result.structuredContent as { metrics: { requests: { local: number; total: number } } }).metrics.requests;
      };
      const before = await requests();
      const answered = (await client.callTool({ name: 'complete', arguments: { prompt: 'Say hi.' } })) as CallToolResult;
      expect(answered.isError, JSON.stringify(answered.content)).toBeFalsy();
      expect(await requests()).toMatchObject({ local: before.local + 1, total: before.total + 1 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('metrics gives what `metrics --json` prints, answers, tokens and spend per provider and model (`byModel`) included', async () => {
    const answered = (await client.callTool({ name: 'complete', arguments: { prompt: 'Say hi.' } })) as CallToolResult;
    expect(answered.isError, JSON.stringify(answered.content)).toBeFalsy();
    const result = (await client.callTool({ name: 'metrics', arguments: { since: '1h' } })) as CallToolResult;
    const { metrics } = result.structuredContent as { metrics: MetricsSummary };
    expect(metrics.byModel).toContainEqual(expect.objectContaining({ provider: 'llama', class: 'local', answers: expect.any(Number) }));
    // One entry per provider and model, adding up to the totals.
    expect(metrics.byModel.reduce((total, entry) => total + entry.answers, 0)).toBe(metrics.requests.total);
    expect(metrics.byModel.reduce((total, entry) => total + entry.tokens.total, 0)).toBe(metrics.tokens.local.total + metrics.tokens.hosted.total);
    expect(metrics.byModel.reduce((total, entry) => total + entry.spendUsd, 0)).toBeCloseTo(metrics.spendUsd.local + metrics.spendUsd.hosted, 12);
  });

  it('reports progress to a client that sent a progress token: the attempt, then the answer growing', async () => {
    engine.setFault({ slowStreamMs: 120 });
    const updates: Progress[] = [];
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Count to twelve.' } }, undefined, {
      onprogress: (progress) => updates.push(progress),
    })) as CallToolResult;
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect(updates[0]).toMatchObject({ progress: 1, message: expect.stringMatching(/^asking llama:/) });
    expect(updates.length).toBeGreaterThanOrEqual(3);
    for (let index = 1; index < updates.length; index += 1) expect(updates[index]!.progress).toBeGreaterThan(updates[index - 1]!.progress);
    // Streamed from the engine because progress was asked for; the answer is whole.
    expect(JSON.parse(inferenceExchanges(engine).at(-1)!.requestBody.toString()).stream).toBe(true);
    expect((result.structuredContent as { answer: string }).answer).toBe('one two three four five six seven eight nine ten eleven twelve');
  });

  it('tells a client that resets its timeout on progress that a call is still waiting for its first token, or its next part, so that timeout does not cancel it', async () => {
    const waiting = createMcpServer({ home: resolveHome({ home: scenario.home }), store, version: '0.0.0-test', progressHeartbeatMs: 100 });
    const waitingClient = await connectInProcess(waiting.server);
    const options = (updates: Progress[], signal?: AbortSignal): RequestOptions => ({ timeout: 400, resetTimeoutOnProgress: true, onprogress: (progress) => updates.push(progress), ...(signal === undefined ? {} : { signal }) });
    try {
      // An engine that has not answered yet (a model loading, a long context read): told every heartbeat, until the agent gives up itself.
      engine.setFault('hang');
      const waited: Progress[] = [];
      const enough = new AbortController();
      const call = waitingClient.callTool({ name: 'complete', arguments: { prompt: 'Count to twelve.' } }, undefined, options(waited, enough.signal));
      await vi.waitUntil(() => waited.filter((update) => update.message?.startsWith('waiting for the first token: ') === true).length >= 5, { timeout: 60_000, interval: 20 });
      enough.abort('the agent stopped waiting');
      await expect(call).rejects.toThrow('the agent stopped waiting');
      expect(waited[0]).toMatchObject({ message: expect.stringMatching(/^asking llama:/) });
      expect(waited.slice(1).every((update) => /^waiting for the first token: \d+ s$/.test(update.message ?? ''))).toBe(true);
      for (let index = 1; index < waited.length; index += 1) expect(waited[index]!.progress).toBeGreaterThan(waited[index - 1]!.progress);
      // Parts further apart than the client's timeout: each gap is told too, and the answer comes whole.
      engine.setFault({ slowStreamMs: 600 });
      const streamed: Progress[] = [];
      const result = (await waitingClient.callTool({ name: 'complete', arguments: { prompt: 'Count to twelve.' } }, undefined, options(streamed))) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      expect((result.structuredContent as { answer: string }).answer).toBe('one two three four five six seven eight nine ten eleven twelve');
      for (let index = 1; index < streamed.length; index += 1) expect(streamed[index]!.progress).toBeGreaterThan(streamed[index - 1]!.progress);
    } finally {
      await waitingClient.close();
      await waiting.drain();
    }
  });

  it('without a progress token the call is not streamed and sends no progress', async () => {
    const updates: Progress[] = [];
    client.setNotificationHandler((await import('@modelcontextprotocol/sdk/types.js')).ProgressNotificationSchema, (notification) => {
      updates.push(notification.params);
    });
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Say hi.' } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(inferenceExchanges(engine).at(-1)!.requestBody.toString()).stream ?? false).toBe(false);
    expect(updates).toEqual([]);
  });

  it('a call the client cancels is cut upstream and recorded as cancelled by the MCP client', async () => {
    engine.setFault({ slowStreamMs: 300 });
    const controller = new AbortController();
    const call = client.callTool({ name: 'complete', arguments: { prompt: 'Count to twelve.' } }, undefined, {
      signal: controller.signal,
      onprogress: (progress) => {
        if (progress.progress > 1) controller.abort('changed my mind');
      },
    });
    await expect(call).rejects.toThrow();
    await expect.poll(() => mcp.inFlight, { timeout: 20_000 }).toBe(0);
    const row = await lastRow();
    expect(row).toMatchObject({ state: 'failed', caller: 'mcp', error: { code: 'interrupted' } });
    expect(row.error?.message).toContain('cancelled by the MCP client');
    expect(row.markers).toContain('partial_response');
  });

  it('drain cancels calls in flight and waits for their evidence', async () => {
    engine.setFault('hang');
    const call = client.callTool({ name: 'complete', arguments: { prompt: 'This will hang.' } });
    await expect.poll(() => mcp.inFlight, { timeout: 20_000 }).toBe(1);
    // The attempt's pending row is written before the call goes out.
    await expect.poll(async () => (await lastRow()).state, { timeout: 20_000 }).toBe('pending');
    await mcp.drain();
    expect(mcp.inFlight).toBe(0);
    const result = (await call) as CallToolResult;
    expect(result.isError).toBe(true);
    const row = await lastRow();
    expect(row).toMatchObject({ state: 'failed', caller: 'mcp', error: { code: 'interrupted' } });
    expect(row.error?.message).toContain('the MCP server stopped');
  });
});
