import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { inferenceExchanges, registeredEngineScenario } from '../helpers/scenario.js';

/**
 * The official SDK client's `close()` is the MCP stdio shutdown: it closes the server's stdin, waits
 * 2 s, then sends SIGTERM. An agent that quits mid-call so stops `syndicate mcp` with a SIGTERM no
 * operator sent: the evidence of the call it cut must say the signal came after the client closed
 * stdin, not only that it "received SIGTERM" (which reads as an operator's stop).
 */
describe('syndicate mcp: an agent that disconnects mid-call through the SDK client', () => {
  const setup = registeredEngineScenario('llama', { kind: 'llama.cpp' }, 'in-process');

  it("the call is cut upstream and its evidence says the SIGTERM came after the client closed stdin (the SDK client's shutdown), not as an operator's stop", { timeout: 90_000 }, async () => {
    const { scenario, engine: llama } = setup;
    // Frames 1 s apart: the answer goes on well past the SDK's 2 s between closing stdin and SIGTERM.
    llama.setFault({ slowStreamMs: 1_000 });
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await client.connect(transport);
    const exited = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
    });
    let progressed!: () => void;
    const streaming = new Promise<void>((resolve) => (progressed = resolve));
    const call = client
      .callTool({ name: 'complete', arguments: { prompt: 'Answer slowly, I may leave.' } }, undefined, { onprogress: (progress) => /characters/.test(progress.message ?? '') && progressed() })
      .catch((error: unknown) => error);
    await streaming;
    await client.close();
    await exited;
    await call;
    llama.setFault('ok');

    const [exchange] = inferenceExchanges(llama).slice(-1);
    expect(exchange?.abortedByClient).toBe(true);
    const { document } = await scenario.json(['evidence', 'list', '--limit', '1']);
    const [row] = document.evidence as { state: string; caller: string; error: { code: string; message: string } }[];
    expect(row).toMatchObject({ state: 'failed', caller: 'mcp', error: { code: 'interrupted' } });
    expect(row!.error.message).toBe('the MCP server stopped (it received SIGTERM after the client closed stdin) before the answer ended');
    expect(stderr).toMatch(/stopping \(SIGTERM after the client closed stdin\): cancelling 1 call in flight/);
    expect(stderr).toMatch(/error: MCP server stopped \(SIGTERM after the client closed stdin\): 1 call in flight cancelled/);
  });
});
