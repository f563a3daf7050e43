import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { Scenario } from '../helpers/scenario.js';

const REASONING = 'First the country, then its capital, then the answer in one word.';

/**
 * A reasoning model thinks before it answers: a client that asked for progress (and resets its
 * request timeout on it, as the SDK's `resetTimeoutOnProgress` does) hears the call is alive
 * while it thinks, not only once the answer starts.
 */
describe('complete with a progress token on a reasoning model', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let client: Client;

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp', reasoning: REASONING, answer: 'Paris.' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'llama', engine: llama, tags: ['reasoning'] });
    client = await connectMcpClient(scenario.home);
  });
  afterAll(async () => {
    await client?.close();
    scenario?.cleanup();
    await llama?.close();
  });

  it('reports the reasoning growing before the answer, each notification above the last', { timeout: 90_000 }, async () => {
    // Each chunk comes after the server's interval between two notifications.
    llama.setFault({ slowStreamMs: 300 });
    const updates: Progress[] = [];
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'What is the capital of France?', reasoningEffort: 'high' } }, undefined, {
      onprogress: (progress) => updates.push(progress),
      resetTimeoutOnProgress: true,
    })) as CallToolResult;
    expect(result.isError, toolText(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ answer: 'Paris.', reasoning: REASONING });

    const thinking = updates.filter((update) => update.message?.startsWith('thinking: ') === true);
    expect(thinking.length, JSON.stringify(updates)).toBeGreaterThanOrEqual(2);
    expect(thinking.at(-1)!.message).toMatch(/^thinking: \d+ characters$/);
    // Thinking came before the answer's own growth.
    const firstAnswering = updates.findIndex((update) => /^\d+ characters$/.test(update.message ?? ''));
    if (firstAnswering !== -1) expect(updates.indexOf(thinking[0]!)).toBeLessThan(firstAnswering);
    for (let index = 1; index < updates.length; index += 1) expect(updates[index]!.progress).toBeGreaterThan(updates[index - 1]!.progress);
  });
});
