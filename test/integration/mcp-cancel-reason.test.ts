import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient } from '../helpers/mcp.js';
import { Scenario } from '../helpers/scenario.js';

/**
 * A call the client cancels is recorded with the reason the client gave: an operator tells a
 * host's request timeout (the SDK client's `Request timed out`) from an agent that changed its mind.
 */
describe('syndicate mcp: the reason a client cancels a call with is in its evidence', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let client: Client;

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'llama', engine: llama });
    client = await connectMcpClient(scenario.home);
  });
  afterAll(async () => {
    await client?.close();
    scenario?.cleanup();
    await llama?.close();
  });

  /** The newest evidence row once it is no longer pending. */
  const settledRow = async (prompt: string): Promise<{ state: string; error: { code: string; message: string } | null }> => {
    let row: { state: string; error: { code: string; message: string } | null } | undefined;
    await expect
      .poll(
        async () => {
          const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
          const [newest] = document.evidence as { id: string; state: string; error: { code: string; message: string } | null }[];
          const shown = await scenario.evidence(newest!.id);
          row = newest!;
          return JSON.stringify(shown).includes(prompt) && newest!.state !== 'pending';
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    return row!;
  };

  it("the client's request timeout", { timeout: 90_000 }, async () => {
    llama.setFault('hang', 1);
    await expect(client.callTool({ name: 'complete', arguments: { prompt: 'Wait for ever.' } }, undefined, { timeout: 1_500 })).rejects.toThrow(/Request timed out/);
    const row = await settledRow('Wait for ever.');
    expect(row.state).toBe('failed');
    expect(row.error).toMatchObject({ code: 'interrupted' });
    expect(row.error!.message).toBe('cancelled by the MCP client (McpError: MCP error -32001: Request timed out) before the answer ended');
  });

  it("an agent's own reason, on one line", { timeout: 90_000 }, async () => {
    llama.setFault('hang', 1);
    const controller = new AbortController();
    const call = client.callTool({ name: 'complete', arguments: { prompt: 'Stop me.' } }, undefined, {
      signal: controller.signal,
      onprogress: () => controller.abort('the user\npressed stop'),
    });
    await expect(call).rejects.toThrow();
    const row = await settledRow('Stop me.');
    expect(row.error!.message).toBe('cancelled by the MCP client (the user pressed stop) before the answer ended');
  });
});
