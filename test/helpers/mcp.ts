import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll } from 'vitest';
import { BIN, REPO_ROOT } from './cli.js';
import type { FakeEngine, FakeEngineOptions } from './fake-engines/index.js';
import { registeredEngineScenario, type Scenario } from './scenario.js';

/** The real MCP client connected over stdio to `syndicate mcp` in `home` (the built CLI), `env` added to its environment (a hosted provider's key). */
export async function connectMcpClient(home: string, env: Record<string, string> = {}): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { ...env, SYNDICATE_HOME: home, NO_COLOR: '1' }, stderr: 'pipe' });
  const client = new Client({ name: 'syndicate-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/**
 * `registeredEngineScenario` with the real MCP client connected to `syndicate mcp` in its home, for
 * the tests of one describe block: connected by the block's beforeAll, closed by its afterAll.
 */
export function mcpEngineScenario(providerId: string, engineOptions: FakeEngineOptions): { scenario: Scenario; engine: FakeEngine; client: Client } {
  const setup = registeredEngineScenario(providerId, engineOptions) as { scenario: Scenario; engine: FakeEngine; client: Client };
  beforeAll(async () => {
    setup.client = await connectMcpClient(setup.scenario.home);
  });
  afterAll(async () => {
    await setup.client?.close();
  });
  return setup;
}

/** A tool result's text content, its parts joined by lines. */
export function toolText(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/** A real MCP client connected in process (the SDK's linked in-memory transports) to `server`. */
export async function connectInProcess(server: McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'syndicate-test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}
