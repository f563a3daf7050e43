/**
 * A conversation whose tool turn is over: its history holds the calls the model made and their
 * results, and the new request declares no tools (clients drop them once they want a plain answer).
 * The Messages API refuses such a request ("Requests which include `tool_use` or `tool_result`
 * blocks must define tools.", which the fake Anthropic answers as the API does), so the anthropic
 * wire sends the calls and results as text in their turns, declares no tool, and says so in the
 * evidence. Likewise a `tool_choice` with no tools (OpenAI clients send `auto` or `none` with every
 * request): the API refuses any ("tool_choice.auto may only be specified while providing tools"),
 * so it is left out, which changes nothing the model may do, and the evidence says so.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const MODEL = 'claude-sonnet-4-5-20250929';

let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: MODEL }] });
  gateway = await startTestGateway({
    providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] }],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await claude?.close();
});

/** The body of the last request the fake Anthropic received. */
function lastSent(): { tools?: unknown; tool_choice?: unknown; messages: Array<{ role: string; content: Array<Record<string, unknown>> }> } {
  const exchange = claude.exchanges.filter((candidate) => candidate.method === 'POST').at(-1);
  return JSON.parse(exchange?.requestBody.toString('utf8') ?? '{}') as ReturnType<typeof lastSent>;
}

const WARNING = {
  setting: 'messages',
  message: 'the request declares no tools, and the anthropic wire refuses tool calls and results without them: the history\'s 2 tool calls and 2 tool results were sent as text in their turns',
};

describe('a tool history in a request that declares no tools, to an anthropic-wire provider', () => {
  it('the fake Anthropic refuses it sent as tool blocks, as the Messages API does', async () => {
    const response = await fetch(`${claude.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'test', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 64,
        messages: [
          { role: 'user', content: 'list the files' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }] },
        ],
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'Requests which include `tool_use` or `tool_result` blocks must define tools.' } });
  });

  it('from an OpenAI client: answered, the calls and results sent as text in their turns, no tool declared, and the evidence says so', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const { data: completion, response } = await client.chat.completions
      .create({
        model: `claude:${MODEL}`,
        messages: [
          { role: 'user', content: 'What is in the directory, and where is it?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_ls', type: 'function', function: { name: 'Bash', arguments: '{"command":"ls"}' } },
              { id: 'call_pwd', type: 'function', function: { name: 'Bash', arguments: '{"command":"pwd"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_ls', content: 'a.txt\nb.txt' },
          { role: 'tool', tool_call_id: 'call_pwd', content: '' },
          { role: 'user', content: 'Summarise that in one line.' },
        ],
      })
      .withResponse();
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);

    const sent = lastSent();
    expect(sent.tools).toBeUndefined();
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is in the directory, and where is it?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: '[tool call call_ls: Bash with input {"command":"ls"}]' },
          { type: 'text', text: '[tool call call_pwd: Bash with input {"command":"pwd"}]' },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: '[result of tool call call_ls (Bash)]\na.txt\nb.txt' },
          { type: 'text', text: '[result of tool call call_pwd (Bash)]' },
          { type: 'text', text: 'Summarise that in one line.' },
        ],
      },
    ]);

    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.state).toBe('completed');
    expect(evidence?.warnings).toContainEqual(WARNING);
  });

  it('from an Anthropic client, streamed: a failed call says it was an error; with tools declared, the blocks go as they came', async () => {
    const client = new Anthropic({ baseURL: gateway.url, authToken: TEST_TOKEN, apiKey: null, maxRetries: 0 });
    const history: Anthropic.MessageParam[] = [
      { role: 'user', content: 'run the tests' },
      { role: 'assistant', content: [{ type: 'text', text: 'Running them.' }, { type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { command: 'npm test' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'exit 1', is_error: true }] },
    ];
    const message = await client.messages.stream({ model: `claude:${MODEL}`, max_tokens: 256, messages: history }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(lastSent().messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Running them.' }, { type: 'text', text: '[tool call toolu_01: Bash with input {"command":"npm test"}]' }] },
      { role: 'user', content: [{ type: 'text', text: '[result of tool call toolu_01 (Bash), an error]\nexit 1' }] },
    ]);

    const bash = { name: 'Bash', input_schema: { type: 'object' as const, properties: { command: { type: 'string' } } } };
    await client.messages.create({ model: `claude:${MODEL}`, max_tokens: 256, tools: [bash], messages: history });
    const declared = lastSent();
    expect(declared.tools).toHaveLength(1);
    expect(declared.messages[1]?.content[1]).toEqual({ type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { command: 'npm test' } });
    expect(declared.messages[2]?.content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_01', is_error: true });
  });
});

describe('a tool_choice in a request that declares no tools, to an anthropic-wire provider', () => {
  it('the fake Anthropic refuses it, `none` too, as the Messages API does', async () => {
    for (const type of ['auto', 'none']) {
      const response = await fetch(`${claude.baseUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'test', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: MODEL, max_tokens: 64, tool_choice: { type }, messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: `tool_choice.${type} may only be specified while providing tools` } });
    }
  });

  it('from an OpenAI client: answered, the tool_choice left out, and the evidence says so', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    for (const choice of ['auto', 'none'] as const) {
      const { data: completion, response } = await client.chat.completions
        .create({ model: `claude:${MODEL}`, tool_choice: choice, messages: [{ role: 'user', content: 'What is the capital of France?' }] })
        .withResponse();
      expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
      const sent = lastSent();
      expect(sent.tools).toBeUndefined();
      expect(sent.tool_choice).toBeUndefined();
      expect(response.headers.get('x-syndicate-ignored-fields')).toBe('tool_choice');
      await gateway.settled();
      const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
      expect(evidence?.state).toBe('completed');
      expect(evidence?.warnings).toContainEqual({
        setting: 'toolChoice',
        message: `the request declares no tools, and the anthropic wire refuses a tool_choice without them: tool_choice ${choice} was left out, which lets the model call no tool all the same`,
        fields: [{ setting: 'toolChoice', effect: 'dropped' }],
      });
    }
    // With tools declared, the choice goes as it came.
    const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
    await client.chat.completions.create({ model: `claude:${MODEL}`, tools: [weather], tool_choice: 'none', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect(lastSent().tool_choice).toEqual({ type: 'none' });
  });
});
