import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { mcpEngineScenario } from '../helpers/mcp.js';
import { inferenceExchanges } from '../helpers/scenario.js';

/**
 * A call the client cancels is recorded with the reason the client gave: an operator tells a
 * host's request timeout (the SDK client's `Request timed out`) from an agent that changed its mind.
 */
describe('syndicate mcp: the reason a client cancels a call with is in its evidence', () => {
  const setup = mcpEngineScenario('llama', { kind: 'llama.cpp' });

  /** The newest evidence row once it is no longer pending. */
  const settledRow = async (prompt: string): Promise<{ state: string; error: { code: string; message: string } | null }> => {
    let row: { state: string; error: { code: string; message: string } | null } | undefined;
    await expect
      .poll(
        async () => {
          const { document } = await setup.scenario.json(['evidence', 'list', '--limit', '1']);
          const [newest] = document.evidence as { id: string; state: string; error: { code: string; message: string } | null }[];
          const shown = await setup.scenario.evidence(newest!.id);
          row = newest!;
          return JSON.stringify(shown).includes(prompt) && newest!.state !== 'pending';
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    return row!;
  };

  it("the client's request timeout", { timeout: 90_000 }, async () => {
    setup.engine.setFault('hang', 1);
    const before = inferenceExchanges(setup.engine).length;
    // The SDK's own timeout, on a clock this test moves: it fires once the engine has the call, not
    // 1.5 s after it was sent (a loaded machine may still be routing it then, and leave no attempt).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let call: Promise<unknown>;
    try {
      call = setup.client.callTool({ name: 'complete', arguments: { prompt: 'Wait for ever.' } }, undefined, { timeout: 1_500 });
      call.catch(() => undefined);
      // Not expect.poll or vi.waitFor: under fake timers they move the clock at each try.
      for (let tries = 0; inferenceExchanges(setup.engine).length === before; tries += 1) {
        if (tries === 3_000) throw new Error('the engine did not get the call within 60 s');
        await sleep(20);
      }
      vi.advanceTimersByTime(1_500);
    } finally {
      vi.useRealTimers();
    }
    await expect(call).rejects.toThrow(/Request timed out/);
    const row = await settledRow('Wait for ever.');
    expect(row.state).toBe('failed');
    expect(row.error).toMatchObject({ code: 'interrupted' });
    expect(row.error!.message).toBe('cancelled by the MCP client (McpError: MCP error -32001: Request timed out) before the answer ended');
  });

  it("an agent's own reason, on one line", { timeout: 90_000 }, async () => {
    setup.engine.setFault('hang', 1);
    const controller = new AbortController();
    const call = setup.client.callTool({ name: 'complete', arguments: { prompt: 'Stop me.' } }, undefined, {
      signal: controller.signal,
      onprogress: () => controller.abort('the user\npressed stop'),
    });
    await expect(call).rejects.toThrow();
    const row = await settledRow('Stop me.');
    expect(row.error!.message).toBe('cancelled by the MCP client (the user pressed stop) before the answer ended');
  });
});
