/**
 * Prompt caching through the gateway: an Anthropic client's `cache_control` breakpoints (system,
 * tools, content blocks, tool results) reach a hosted Anthropic provider where the client put them,
 * as do the same breakpoints on OpenAI-format content parts (as OpenRouter and LiteLLM accept them);
 * no other wire sees them. The fake Anthropic engine caches as the API does, so the second identical
 * request is a cache read the client sees in its usage.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { computeMetrics, readMetricsRows } from '../../src/metrics/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const PRICE = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWriteInputPerMTok: 3.75 };
/** Long enough to be cached (Anthropic caches nothing under 1 024 tokens). */
const SYSTEM = Array.from({ length: 120 }, (_, index) => `Rule ${index + 1}: keep functions small, name things for what they do, and test behaviour ${index * 13} ways.`).join('\n');

let claude: FakeEngine;
let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [claude, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic' }), startFakeEngine({ kind: 'ollama', ollamaContextLength: 32768 })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: PRICE }] },
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'llama3.2:latest' }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude?.close(), ollama?.close()]);
});

const lastBody = (engine: FakeEngine): Record<string, any> => JSON.parse(engine.exchanges.at(-1)?.requestBody.toString('utf8') ?? '{}');

describe('Anthropic clients', () => {
  const request: Anthropic.MessageCreateParamsNonStreaming = {
    model: `claude:${CLAUDE_MODEL}`,
    max_tokens: 256,
    system: [
      { type: 'text', text: SYSTEM },
      { type: 'text', text: 'Answer briefly.', cache_control: { type: 'ephemeral' } },
    ],
    tools: [{ name: 'read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } }, cache_control: { type: 'ephemeral', ttl: '1h' } }],
    messages: [
      { role: 'user', content: 'Open the readme.' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'README.md' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '# syndicate', cache_control: { type: 'ephemeral' } }] },
    ],
  };

  it('reach the provider with their breakpoints where the client put them', async () => {
    await anthropicClient().messages.create(request);
    const sent = lastBody(claude);
    expect(sent['system']).toEqual([{ type: 'text', text: `${SYSTEM}\n\nAnswer briefly.`, cache_control: { type: 'ephemeral' } }]);
    expect(sent['tools'][0].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(sent['messages'].at(-1).content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_1', content: '# syndicate', cache_control: { type: 'ephemeral' } }]);
  });

  it('the same prompt again is a cache read, in the usage the client sees, streamed or not; each is priced at its cache rate', async () => {
    // Its first time here, whichever test of this file ran before: it writes the cache, if no other did.
    await anthropicClient().messages.create(request);
    const { data: again, response } = await anthropicClient().messages.create(request).withResponse();
    expect(again.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(again.usage.cache_read_input_tokens).toBeGreaterThan(1024);
    expect(again.usage.cache_creation_input_tokens ?? 0).toBe(0);
    const streamed = await anthropicClient().messages.stream({ ...request, stream: true }).finalMessage();
    expect(streamed.usage.cache_read_input_tokens).toBe(again.usage.cache_read_input_tokens);

    // The evidence's cost, from the provider's own usage: reads at 0.30 $/MTok, the rest at 3, output at 15.
    const read = again.usage.cache_read_input_tokens ?? 0;
    const expected = (again.usage.input_tokens * 3 + read * 0.3 + again.usage.output_tokens * 15) / 1_000_000;
    const evidenceId = response.headers.get('x-syndicate-evidence') ?? '';
    const recorded = await vi.waitFor(() => {
      const evidence = getEvidence(gateway.store, evidenceId);
      expect(evidence?.state).toBe('completed');
      return evidence;
    }, { timeout: 20_000, interval: 20 });
    expect(recorded?.costUsd).toBeCloseTo(expected, 12);
    expect(recorded?.costUsd).toBeLessThan((again.usage.input_tokens + read) * 3 / 1_000_000);
    // The evidence keeps the cache figures (inside the input count, as pricing reads them).
    expect(recorded).toMatchObject({ inputTokens: again.usage.input_tokens + read, cachedInputTokens: read });
  });

  it('cache reads and writes reach the evidence, `metrics` and /metrics', async () => {
    // A prompt of its own, whichever tests of this file ran before: one cache write, then two reads.
    const own = { ...request, system: [{ type: 'text' as const, text: `${SYSTEM}\nRule 0: count what was cached.`, cache_control: { type: 'ephemeral' as const } }] };
    for (let time = 0; time < 3; time += 1) await anthropicClient().messages.create(own);
    const window = { sinceMs: 0, untilMs: Date.now() + 60_000 };
    // Every answer's finish is committed (group commit may still hold the last one for a moment).
    const rows = await vi.waitFor(() => {
      const claudeRows = readMetricsRows(gateway.store, window).filter((row) => row.providerId === 'claude');
      expect(claudeRows.every((row) => row.state !== 'pending')).toBe(true);
      return claudeRows;
    }, { timeout: 20_000, interval: 20 });
    const written = rows.reduce((total, row) => total + (row.cacheWriteInputTokens ?? 0), 0);
    const read = rows.reduce((total, row) => total + (row.cachedInputTokens ?? 0), 0);
    expect(written).toBeGreaterThan(1024); // its first request wrote the cache
    expect(read).toBeGreaterThan(2 * 1024); // its next two read it
    await gateway.settled();
    const summary = computeMetrics(gateway.store, testPolicy(), window);
    expect(summary.tokens.hosted).toMatchObject({ cachedInput: read, cacheWriteInput: written });
    expect(summary.tokens.hosted.cachedInputShare).toBeCloseTo(read / summary.tokens.hosted.input, 12);

    const exposition = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text();
    const series = (operation: string): number =>
      Number(new RegExp(`^syndicate_gateway_prompt_cache_tokens_total\\{class="approved_hosted",provider="claude",model="${CLAUDE_MODEL}",operation="${operation}"\\} (\\d+)$`, 'm').exec(exposition)?.[1]);
    expect(series('read')).toBe(read);
    expect(series('write')).toBe(written);
  });

  it('a malformed cache_control is a 400 naming the field', async () => {
    const bad = { ...request, system: [{ type: 'text' as const, text: 'x', cache_control: { type: 'persistent' } as unknown as Anthropic.CacheControlEphemeral }] };
    await expect(anthropicClient().messages.create(bad)).rejects.toMatchObject({ status: 400, message: expect.stringContaining('/system/0/cache_control') });
  });
});

describe('OpenAI-format clients', () => {
  /** Breakpoints on OpenAI content parts, as OpenRouter and LiteLLM accept them (not in the openai package's types). */
  const messages = [
    { role: 'system', content: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }] },
    { role: 'user', content: [{ type: 'text', text: 'What does rule 3 say?', cache_control: { type: 'ephemeral' } }] },
  ] as unknown as OpenAI.Chat.Completions.ChatCompletionMessageParam[];

  it('to an Anthropic provider: the breakpoints are sent, and a repeat reports cached prompt tokens', async () => {
    await openAIClient().chat.completions.create({ model: `claude:${CLAUDE_MODEL}`, messages });
    const sent = lastBody(claude);
    expect(sent['system']).toEqual([{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }]);
    expect(sent['messages'][0].content).toEqual([{ type: 'text', text: 'What does rule 3 say?', cache_control: { type: 'ephemeral' } }]);
    const again = await openAIClient().chat.completions.create({ model: `claude:${CLAUDE_MODEL}`, messages });
    expect(again.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(1024);
  });

  it('to an OpenAI-wire engine: no breakpoint is sent', async () => {
    const completion = await openAIClient().chat.completions.create({ model: 'ollama:llama3.2:latest', messages });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(ollama.exchanges.at(-1)?.requestBody.toString('utf8')).not.toContain('cache_control');
  });
});

function anthropicClient(): Anthropic {
  return new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
}

function openAIClient(): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
}
