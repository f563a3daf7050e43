import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

/**
 * A client that asks for progress is told how the answer grows, never shown any of it before the
 * result: a stream that breaks mid-answer falls back as it does for a client that did not ask.
 */
describe('complete with a progress token: a stream that breaks mid-answer', () => {
  let scenario: Scenario;
  let first: FakeEngine;
  let second: FakeEngine;
  let client: Client;
  /** The engine the route tries first, and the other. */
  let engines: { tried: FakeEngine; fallback: FakeEngine };

  beforeAll(async () => {
    first = await startFakeEngine({ kind: 'llama.cpp', answer: 'one two three four five six seven eight' });
    second = await startFakeEngine({ kind: 'ollama', answer: 'one two three four five six seven eight' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'first', engine: first }, { id: 'second', engine: second });
    client = await connectMcpClient(scenario.home);
    const explained = (await client.callTool({ name: 'route_explain', arguments: { prompt: 'Count to eight.' } })) as CallToolResult;
    const candidates = (explained.structuredContent as { plan: { candidates: { provider: string }[] } }).plan.candidates;
    expect(candidates.map((candidate) => candidate.provider).sort()).toEqual(['first', 'second']);
    engines = candidates[0]!.provider === 'first' ? { tried: first, fallback: second } : { tried: second, fallback: first };
  });
  afterAll(async () => {
    await client?.close();
    scenario?.cleanup();
    await Promise.all([first?.close(), second?.close()]);
  });

  it('falls back to the next candidate, as without progress: the agent was shown no part of the broken answer', { timeout: 90_000 }, async () => {
    engines.tried.setFault({ errorMidStream: 'the runner crashed' }, 1);
    const fallbackBefore = inferenceExchanges(engines.fallback).length;
    const messages: string[] = [];
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Count to eight.' } }, undefined, {
      onprogress: (progress) => messages.push(progress.message ?? ''),
    })) as CallToolResult;
    expect(result.isError, toolText(result)).toBeFalsy();
    expect(toolText(result)).toBe('one two three four five six seven eight');
    const structured = result.structuredContent as { attempts: { outcome: string; provider: { id: string } }[]; markers: string[] };
    expect(structured.attempts.map((attempt) => attempt.outcome)).toEqual(['failed', 'completed']);
    expect(structured.markers).toContain('fallback');
    expect(inferenceExchanges(engines.fallback)).toHaveLength(fallbackBefore + 1);
    // Each attempt was told, the fallback's after the broken one's growth.
    expect(messages.filter((message) => message.startsWith('asking '))).toHaveLength(2);
  });

  it('with no other candidate, the error is the upstream\'s, not a "partial answer above" the agent was never shown', { timeout: 90_000 }, async () => {
    engines.tried.setFault({ errorMidStream: 'the runner crashed' }, 1);
    const provider = engines.tried === first ? 'first' : 'second';
    const result = (await client.callTool({ name: 'complete', arguments: { prompt: 'Count to eight.', provider } }, undefined, { onprogress: () => {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(toolText(result)).toContain('the runner crashed');
    expect(toolText(result)).not.toContain('above');
  });
});
