/**
 * Tool-call ids another engine made, sent on to an anthropic-wire provider. A coding agent's
 * conversation keeps the ids of the calls it made: a turn answered by a local engine whose ids the
 * Messages API refuses — vLLM's Kimi K2 parser names a call `functions.Bash:0` — and a later turn
 * of the same conversation routed to Claude (a switched model, a fallback) must still be answered.
 * The Messages API takes only `^[a-zA-Z0-9_-]+$` as a `tool_use` id (and `tool_use_id`), so the
 * gateway sends such an id in a form it takes, the same for the call and its result, and says so.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE = 'claude:claude-sonnet-4-5-20250929';
const BASH = { name: 'Bash', description: 'Runs a shell command', input_schema: { type: 'object' as const, properties: { command: { type: 'string' } }, required: ['command'] } };

let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: 'claude-sonnet-4-5-20250929' }] });
  gateway = await startTestGateway({
    providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-5-20250929', tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] }],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await claude?.close();
});

/** The tool ids of the last request the fake Anthropic received: each tool_use id, and each tool_result's tool_use_id. */
function sentToolIds(): { uses: string[]; results: string[] } {
  const body = JSON.parse(claude.exchanges.filter((exchange) => exchange.method === 'POST').at(-1)?.requestBody.toString('utf8') ?? '{}') as { messages: Array<{ content: unknown }> };
  const blocks = body.messages.flatMap((message) => (Array.isArray(message.content) ? (message.content as Array<Record<string, unknown>>) : []));
  return {
    uses: blocks.filter((block) => block['type'] === 'tool_use').map((block) => String(block['id'])),
    results: blocks.filter((block) => block['type'] === 'tool_result').map((block) => String(block['tool_use_id'])),
  };
}

describe('an Anthropic client (Claude Code) whose conversation holds calls with ids the Messages API refuses', () => {
  const conversation = (ids: string[]): Anthropic.MessageParam[] => [
    { role: 'user', content: 'list the files, then print the directory' },
    { role: 'assistant', content: ids.map((id, index) => ({ type: 'tool_use' as const, id, name: 'Bash', input: { command: index === 0 ? 'ls' : 'pwd' } })) },
    { role: 'user', content: ids.map((id, index) => ({ type: 'tool_result' as const, tool_use_id: id, content: index === 0 ? 'a.txt' : '/srv/app', ...(index === 1 ? { is_error: true } : {}) })) },
  ];
  const client = (): Anthropic => new Anthropic({ baseURL: gateway.url, authToken: TEST_TOKEN, apiKey: null, maxRetries: 0 });

  it('is answered by an anthropic-wire provider: each id is sent in a form it takes, the same for the call and its result, and the evidence says so', async () => {
    const { data: message, response } = await client()
      .messages.create({ model: CLAUDE, max_tokens: 1024, tools: [BASH], messages: conversation(['functions.Bash:0', 'functions.Bash:1']) })
      .withResponse();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    const sent = sentToolIds();
    expect(sent.uses).toHaveLength(2);
    expect(sent.uses.every((id) => /^[a-zA-Z0-9_-]+$/.test(id))).toBe(true);
    expect(sent.results).toEqual(sent.uses);
    expect(new Set(sent.uses).size).toBe(2);
    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.state).toBe('completed');
    expect(evidence?.warnings).toContainEqual({ setting: 'messages[1].toolCalls[0].id', message: expect.stringContaining(`"functions.Bash:0" has characters the Messages API refuses`) as unknown });
  });

  it('streamed (`messages.stream().finalMessage()`), and two ids that differ only in the refused characters stay two ids', async () => {
    const message = await client()
      .messages.stream({ model: CLAUDE, max_tokens: 1024, tools: [BASH], messages: conversation(['functions.Bash:0', 'functions_Bash_0']) })
      .finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    const sent = sentToolIds();
    expect(sent.uses[1]).toBe('functions_Bash_0');
    expect(sent.uses[0]).not.toBe('functions_Bash_0');
    expect(sent.results).toEqual(sent.uses);
  });

  it('ids the Messages API takes are sent as they came', async () => {
    await client().messages.create({ model: CLAUDE, max_tokens: 1024, tools: [BASH], messages: conversation(['toolu_01A09q90qw90lq917835lq9', 'call_zdup3nkc']) });
    expect(sentToolIds()).toEqual({ uses: ['toolu_01A09q90qw90lq917835lq9', 'call_zdup3nkc'], results: ['toolu_01A09q90qw90lq917835lq9', 'call_zdup3nkc'] });
  });
});

describe('an OpenAI client (Cline, Aider) whose conversation holds such calls, answered by an anthropic-wire provider', () => {
  it('is answered, its call and result sent with the same id', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: CLAUDE,
      messages: [
        { role: 'user', content: 'list the files' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'functions.shell:0', type: 'function', function: { name: 'shell', arguments: '{"command":"ls"}' } }] },
        { role: 'tool', tool_call_id: 'functions.shell:0', content: 'a.txt' },
      ],
      tools: [{ type: 'function', function: { name: 'shell', parameters: { type: 'object', properties: { command: { type: 'string' } } } } }],
    });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    const sent = sentToolIds();
    expect(sent.uses).toHaveLength(1);
    expect(sent.uses[0]).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(sent.results).toEqual(sent.uses);
  });
});
