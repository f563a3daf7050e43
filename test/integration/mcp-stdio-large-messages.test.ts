import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { toolText } from '../helpers/mcp.js';
import { PNG } from '../helpers/request-options.js';
import { inferenceExchanges, providerYaml, Scenario } from '../helpers/scenario.js';

const MIB = 1024 * 1024;

/** MCP image content of about `mebibytes` MiB: a PNG's bytes, padded. */
function imageOf(mebibytes: number): { type: 'image'; data: string; mimeType: string } {
  return { type: 'image', data: Buffer.concat([PNG, Buffer.alloc(mebibytes * MIB, 1)]).toString('base64'), mimeType: 'image/png' };
}

/**
 * `syndicate mcp` reads messages up to the input limit every surface has (32 MiB, the gateway's
 * body limit): a screenshot-sized image is answered, a longer message is refused on its own —
 * the server keeps serving either way.
 */
describe('syndicate mcp: large messages on stdio', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let client: Client;
  let stderr = '';

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    scenario = await Scenario.create();
    const path = join(scenario.home, 'llama.yaml');
    writeFileSync(path, providerYaml({ id: 'llama', engine: llama, tags: ['vision'] }));
    expect((await scenario.cli(['provider', 'register', path])).exitCode).toBe(0);
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, stderr: 'pipe' });
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    client = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    scenario?.cleanup();
    await llama?.close();
  });

  it('a message over the SDK transport\'s own 10 MiB buffer (a 9 MiB screenshot) is answered; the server does not stop', { timeout: 90_000 }, async () => {
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'What is in this screenshot?', images: [imageOf(9)] } })) as CallToolResult;
    expect(result.isError, toolText(result)).toBeFalsy();
    expect(toolText(result)).toBe(DEFAULT_ANSWER);
    expect(inferenceExchanges(llama).at(-1)!.requestBody.length).toBeGreaterThan(12 * MIB);
    await expect(client.ping()).resolves.toEqual({});
    expect(stderr).not.toContain('stopping');
  });

  it('a message over 32 MiB is refused as an Invalid Request to its call, naming the limit; nothing is sent and the server keeps serving', { timeout: 90_000 }, async () => {
    const sent = inferenceExchanges(llama).length;
    const refusal = await client.callTool({ name: 'complete', arguments: { prompt: 'What is in this screenshot?', images: [imageOf(25)] } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(McpError);
    expect((refusal as McpError).code).toBe(-32600);
    expect((refusal as McpError).message).toMatch(/the message is over 32 MiB \(3\d\.\d MiB\), the most syndicate reads, as the gateway's body limit: send smaller images or a shorter prompt/);
    expect(inferenceExchanges(llama)).toHaveLength(sent);
    expect(stderr).toMatch(/a message over the 32 MiB input limit was not read \(\d+ bytes, request \d+\)/);
    const after = (await client.callTool({ name: 'classify', arguments: { text: 'hello' } })) as CallToolResult;
    expect(after.isError, toolText(after)).toBeFalsy();
    expect(stderr).not.toContain('stopping');
  });

  it('a tool call whose arguments nest deeper than 128 levels is an Invalid Request naming the limit and the field (it was a "Maximum call stack size exceeded" tool error); the server keeps serving', { timeout: 90_000 }, async () => {
    let deep: Record<string, unknown> = { text: 'x' };
    for (let level = 0; level < 1_000; level += 1) deep = { a: deep };
    const refusal = await client.callTool({ name: 'classify', arguments: { text: 'hello', extra: deep } }).then(
      (result) => result,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(McpError);
    expect((refusal as McpError).code).toBe(-32600);
    expect((refusal as McpError).message).toContain('Invalid Request: /params/arguments/extra/a nests arrays and objects more than 128 levels deep, the most syndicate reads');
    const after = (await client.callTool({ name: 'classify', arguments: { text: 'hello' } })) as CallToolResult;
    expect(after.isError, toolText(after)).toBeFalsy();
    expect(stderr).not.toContain('stopping');
  });
});
