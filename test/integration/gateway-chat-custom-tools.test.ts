/**
 * Chat Completions `custom` (freeform) tools through the official `openai` client against a real
 * gateway over the real pipeline and fake engines: an OpenAI-wire engine and an Anthropic-wire
 * provider each see a function of one string `input`, and the client gets back `type: "custom"`
 * calls carrying the raw text, streamed and not, and can send them back as history.
 *
 * The shapes are openai-node's (6.x): `ChatCompletionCustomTool` `{type: "custom", custom: {name,
 * description?, format?: {type: "text"} | {type: "grammar", grammar: {definition, syntax: "lark" |
 * "regex"}}}}`, `ChatCompletionMessageCustomToolCall` `{id, type: "custom", custom: {name, input}}`,
 * `ChatCompletionNamedToolChoiceCustom` `{type: "custom", custom: {name}}`. The SDK's stream chunk
 * type names only `function` deltas; OpenAI streams a custom call as `{index, id, type: "custom",
 * custom: {name, input}}` (openai/openai-openapi#576), which the client receives as plain JSON.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCustomTool, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const OLLAMA_MODEL = 'llama3.2:latest';
const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const GPT_MODEL = 'gpt-6.2-sol';
/** What the fake models write: a patch with quotes and newlines, which the JSON arguments must escape. */
const PATCH = '*** Begin Patch\n*** Add File: "hello.txt"\n+hello\n*** End Patch';
const GRAMMAR = 'start: begin_patch hunk+ end_patch';

const applyPatch: ChatCompletionCustomTool = {
  type: 'custom',
  custom: { name: 'apply_patch', description: 'Edit files with a patch.', format: { type: 'grammar', grammar: { syntax: 'lark', definition: GRAMMAR } } },
};
/** A request that asks for an apply_patch call (`ChatCompletionNamedToolChoiceCustom`). */
const patchRequest = {
  messages: [{ role: 'user' as const, content: 'Add hello.txt' }],
  tools: [applyPatch],
  tool_choice: { type: 'custom' as const, custom: { name: 'apply_patch' } },
};
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

let ollama: FakeEngine;
let claude: FakeEngine;
let openai: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [ollama, claude, openai] = await Promise.all([
    startFakeEngine({ kind: 'ollama', answer: PATCH }),
    startFakeEngine({ kind: 'anthropic', answer: PATCH }),
    startFakeEngine({ kind: 'openai', answer: PATCH, models: [{ id: GPT_MODEL }] }),
  ]);
  const local: TestProvider = { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, tags: ['tools'] }] };
  const hosted: TestProvider = { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] };
  const gptModels: TestProvider['models'] = [{ id: GPT_MODEL, tags: ['tools'], price: { inputPerMTok: 2, outputPerMTok: 10 } }];
  // OpenAI's own API, as the catalog's openai template declares it; and the same server behind a record without `vendor` (an OpenAI-compatible proxy).
  const openaiRecord: TestProvider = { id: 'openai', class: 'approved_hosted', wire: 'openai', vendor: 'openai', baseUrl: openai.baseUrl, auth: true, models: gptModels };
  const compatible: TestProvider = { id: 'compatible', class: 'approved_hosted', wire: 'openai', baseUrl: openai.baseUrl, auth: true, models: gptModels };
  gateway = await startTestGateway({ providers: [local, hosted, openaiRecord, compatible] });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([ollama?.close(), claude?.close(), openai?.close()]);
});

const client = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

function lastRequestBody(engine: FakeEngine): Record<string, unknown> {
  return JSON.parse(engine.exchanges.at(-1)?.requestBody?.toString('utf8') ?? '{}') as Record<string, unknown>;
}

/** The tool-call pieces of a stream's chunks, in order, as the client received them. */
async function toolCallDeltas(stream: AsyncIterable<ChatCompletionChunk>): Promise<{ deltas: Record<string, unknown>[]; finishReason: string | null }> {
  const deltas: Record<string, unknown>[] = [];
  let finishReason: string | null = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice === undefined) continue;
    for (const delta of choice.delta.tool_calls ?? []) {
      // A delta seen after the finish would reach a client that already acted on the call.
      expect(finishReason).toBeNull();
      deltas.push(delta as unknown as Record<string, unknown>);
    }
    finishReason = choice.finish_reason ?? finishReason;
  }
  return { deltas, finishReason };
}

/** The raw input a client accumulates from a custom call's deltas (`custom.input` appended, as `function.arguments` is). */
function accumulatedInput(deltas: Record<string, unknown>[], index: number): string {
  return deltas
    .filter((delta) => delta['index'] === index)
    .map((delta) => (delta['custom'] as { input?: string } | undefined)?.input ?? '')
    .join('');
}

describe('Chat Completions custom tools, OpenAI-wire engine', () => {
  it('answers a custom call with the raw input; the engine saw a function of one string `input`, the grammar in its description', async () => {
    const completion = await client().chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, ...patchRequest });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([{ id: expect.any(String), type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);

    const sent = lastRequestBody(ollama);
    const sentTool = (sent['tools'] as { type: string; function: { name: string; description: string; parameters: unknown } }[])[0]!;
    expect(sentTool).toMatchObject({ type: 'function', function: { name: 'apply_patch', parameters: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] } } });
    expect(sentTool.function.description).toContain('Edit files with a patch.');
    expect(sentTool.function.description).toContain(`lark grammar:\n${GRAMMAR}`);
    expect(sent['tool_choice']).toEqual({ type: 'function', function: { name: 'apply_patch' } });
  });

  it('takes the custom call back in the history: the engine gets it as a function call with {"input": …} and the tool result', async () => {
    const first = await client().chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'Add hello.txt' }], tools: [applyPatch] });
    const call = first.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'custom') throw new Error(`expected a custom call, got ${JSON.stringify(call)}`);
    const history: ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Add hello.txt' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: 'Done!' },
    ];
    const second = await client().chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, messages: history, tools: [applyPatch] });
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: PATCH } });

    const messages = lastRequestBody(ollama)['messages'] as { role: string; tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[]; tool_call_id?: string; content?: unknown }[];
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    const sentCall = messages[1]?.tool_calls?.[0];
    expect(sentCall).toMatchObject({ id: call.id, type: 'function', function: { name: 'apply_patch' } });
    expect(JSON.parse(sentCall?.function.arguments ?? '')).toEqual({ input: PATCH });
    expect(messages[2]).toMatchObject({ role: 'tool', tool_call_id: call.id, content: 'Done!' });
  });

  it('streams a custom call: announced with its name, its raw input whole before the finish, never as function arguments', async () => {
    const stream = await client().chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, ...patchRequest, stream: true });
    const { deltas, finishReason } = await toolCallDeltas(stream);
    expect(finishReason).toBe('tool_calls');
    expect(deltas[0]).toEqual({ index: 0, id: expect.any(String), type: 'custom', custom: { name: 'apply_patch', input: '' } });
    expect(deltas.some((delta) => 'function' in delta)).toBe(false);
    expect(accumulatedInput(deltas, 0)).toBe(PATCH);
    // The engine streamed the JSON arguments in pieces; the client gets the text they carry, once.
    expect(deltas.filter((delta) => (delta['custom'] as { input: string }).input !== '')).toHaveLength(1);
  });

  it('keeps function tools beside custom ones as function calls', async () => {
    const completion = await client().chat.completions.create({
      model: `ollama:${OLLAMA_MODEL}`,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool, applyPatch],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
  });

  it('refuses a malformed custom tool, tool choice or call with a 400 naming the field, and sends nothing', async () => {
    const before = ollama.exchanges.length;
    const refusal = async (body: Record<string, unknown>): Promise<unknown> =>
      client()
        .chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'Add hello.txt' }], ...body } as never)
        .then(() => undefined, (error: unknown) => error);
    const badFormat = await refusal({ tools: [{ type: 'custom', custom: { name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: GRAMMAR } } }] });
    expect(badFormat).toBeInstanceOf(OpenAI.BadRequestError);
    // The Responses API's flat grammar is not the Chat Completions shape: the nested one is named.
    expect((badFormat as Error).message).toContain('/tools/0/custom/format');
    expect((badFormat as Error).message).toContain('{type: "grammar", grammar: {syntax, definition}}');
    const unknownChoice = await refusal({ tools: [applyPatch], tool_choice: { type: 'custom', custom: { name: 'shell' } } });
    expect((unknownChoice as Error).message).toContain('/tool_choice/custom/name: names a tool that is not among the tools (apply_patch)');
    const callWithoutInput = await refusal({
      tools: [applyPatch],
      messages: [
        { role: 'user', content: 'Add hello.txt' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: 'apply_patch' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Done!' },
      ],
    });
    expect((callWithoutInput as Error).message).toContain('/messages/1/tool_calls/0/custom/input');
    expect(ollama.exchanges.length).toBe(before);
  });
});

describe('Chat Completions custom tools, Anthropic-wire provider', () => {
  it('reaches Claude as a tool with one string `input`, and comes back as a custom call (answer and stream)', async () => {
    const body = { model: `claude:${CLAUDE_MODEL}`, ...patchRequest };
    const completion = await client().chat.completions.create(body);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([{ id: expect.stringMatching(/^toolu_/), type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);
    const sent = lastRequestBody(claude);
    expect((sent['tools'] as unknown[])[0]).toMatchObject({ name: 'apply_patch', input_schema: { properties: { input: { type: 'string' } }, required: ['input'] } });
    expect(sent['tool_choice']).toEqual({ type: 'tool', name: 'apply_patch' });

    const { deltas, finishReason } = await toolCallDeltas(await client().chat.completions.create({ ...body, stream: true }));
    expect(finishReason).toBe('tool_calls');
    expect(deltas[0]).toMatchObject({ index: 0, type: 'custom', custom: { name: 'apply_patch', input: '' } });
    expect(accumulatedInput(deltas, 0)).toBe(PATCH);

    // The call goes back to Claude as a tool_use whose input is {input: raw text}.
    const call = completion.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'custom') throw new Error('expected a custom call');
    await client().chat.completions.create({
      model: `claude:${CLAUDE_MODEL}`,
      tools: [applyPatch],
      messages: [{ role: 'user', content: 'Add hello.txt' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'Done!' }],
    });
    const replayed = lastRequestBody(claude)['messages'] as { role: string; content: { type: string; id?: string; input?: unknown }[] }[];
    expect(replayed[1]?.content).toEqual([{ type: 'tool_use', id: call.id, name: 'apply_patch', input: { input: PATCH } }]);
  });
});

/**
 * OpenAI's own API takes custom tools natively (a record with `vendor: openai`, as the catalog's
 * openai template sets): the tool, the tool choice and earlier calls go up in the shapes the
 * client sent, the grammar as a format OpenAI enforces, and OpenAI's custom calls come back as
 * they are — its stream's `{index, custom: {input}}` pieces passed on as they arrive.
 */
describe('Chat Completions custom tools, OpenAI itself', () => {
  it('sends the custom tool and tool choice as the client declared them, and gives the custom call back', async () => {
    const completion = await client().chat.completions.create({ model: `openai:${GPT_MODEL}`, ...patchRequest });
    const upstream = openai.exchanges.at(-1)!;
    const answered = JSON.parse(upstream.responseBody.toString('utf8')) as { choices: { message: { tool_calls: { id: string }[] } }[] };
    const upstreamCallId = answered.choices[0]!.message.tool_calls[0]!.id;
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([{ id: upstreamCallId, type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);

    const sent = lastRequestBody(openai);
    // `ChatCompletionCustomTool` and `ChatCompletionNamedToolChoiceCustom`, as the client sent them: the grammar is a format, not prose in the description.
    expect(sent['tools']).toEqual([applyPatch]);
    expect(sent['tool_choice']).toEqual({ type: 'custom', custom: { name: 'apply_patch' } });
  });

  it('sends an earlier custom call back as a custom call with its raw input', async () => {
    const call = { id: 'call_patch1', type: 'custom' as const, custom: { name: 'apply_patch', input: PATCH } };
    const answer = await client().chat.completions.create({
      model: `openai:${GPT_MODEL}`,
      tools: [applyPatch],
      messages: [{ role: 'user', content: 'Add hello.txt' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'Done!' }],
    });
    expect(answer.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: PATCH } });
    const messages = lastRequestBody(openai)['messages'] as { tool_calls?: unknown[] }[];
    expect(messages[1]?.tool_calls).toEqual([call]);
  });

  it('sends an earlier custom call back as a custom call when the request no longer declares its tool (the call says its shape), as a function when it declares a function of that name', async () => {
    const call = { id: 'call_patch2', type: 'custom' as const, custom: { name: 'apply_patch', input: PATCH } };
    const history: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Add hello.txt' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'Done!' }];
    await client().chat.completions.create({ model: `openai:${GPT_MODEL}`, tools: [weatherTool], messages: history });
    expect((lastRequestBody(openai)['messages'] as { tool_calls?: unknown[] }[])[1]?.tool_calls).toEqual([call]);
    await client().chat.completions.create({ model: `openai:${GPT_MODEL}`, messages: history });
    expect((lastRequestBody(openai)['messages'] as { tool_calls?: unknown[] }[])[1]?.tool_calls).toEqual([call]);
    const patchFunction = { type: 'function' as const, function: { name: 'apply_patch', parameters: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] } } };
    await client().chat.completions.create({ model: `openai:${GPT_MODEL}`, tools: [patchFunction], messages: history });
    expect((lastRequestBody(openai)['messages'] as { tool_calls?: unknown[] }[])[1]?.tool_calls).toEqual([
      { id: call.id, type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) } },
    ]);
    // Any other server of the wire gets a function call, as before.
    await client().chat.completions.create({ model: `compatible:${GPT_MODEL}`, tools: [weatherTool], messages: history });
    expect((lastRequestBody(openai)['messages'] as { tool_calls?: unknown[] }[])[1]?.tool_calls).toEqual([
      { id: call.id, type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) } },
    ]);
  });

  it('streams OpenAI\'s custom call as it comes: announced with its name, then the input in pieces, before the finish', async () => {
    const { deltas, finishReason } = await toolCallDeltas(await client().chat.completions.create({ model: `openai:${GPT_MODEL}`, ...patchRequest, stream: true }));
    expect(finishReason).toBe('tool_calls');
    const upstreamDeltas = streamedToolCallDeltas(openai.exchanges.at(-1)!.responseBody.toString('utf8'));
    expect(upstreamDeltas[0]).toEqual({ index: 0, id: expect.stringMatching(/^call_/), type: 'custom', custom: { name: 'apply_patch', input: '' } });
    expect(upstreamDeltas.length).toBeGreaterThan(2);
    // The client receives the upstream's deltas one for one (the gateway's ids, OpenAI's pieces).
    expect(deltas).toEqual(upstreamDeltas);
    expect(accumulatedInput(deltas, 0)).toBe(PATCH);
    expect(lastRequestBody(openai)['tools']).toEqual([applyPatch]);
  });

  it('takes a Responses API custom tool (flat grammar) to OpenAI natively and streams its input as custom_tool_call_input deltas, piece by piece', async () => {
    // The Responses API's `CustomTool` has the grammar flat in `format`; Chat Completions nests it under `format.grammar`.
    const flatPatchTool = { type: 'custom' as const, name: 'apply_patch', description: 'Edit files with a patch.', format: { type: 'grammar' as const, syntax: 'lark' as const, definition: GRAMMAR } };
    const stream = client().responses.stream({ model: `openai:${GPT_MODEL}`, input: 'Add hello.txt', tools: [flatPatchTool], tool_choice: { type: 'custom', name: 'apply_patch' } });
    const deltas: string[] = [];
    for await (const event of stream) if (event.type === 'response.custom_tool_call_input.delta') deltas.push(event.delta);
    const final = await stream.finalResponse();
    expect(final.output.find((item) => item.type === 'custom_tool_call')).toMatchObject({ name: 'apply_patch', input: PATCH, status: 'completed' });
    const upstreamPieces = streamedToolCallDeltas(openai.exchanges.at(-1)!.responseBody.toString('utf8'))
      .map((delta) => (delta['custom'] as { input: string }).input)
      .filter((input) => input !== '');
    expect(deltas).toEqual(upstreamPieces);
    const sent = lastRequestBody(openai);
    expect(sent['tools']).toEqual([applyPatch]);
    expect(sent['tool_choice']).toEqual({ type: 'custom', custom: { name: 'apply_patch' } });
  });

  it('keeps the function shape for a server of the openai wire that is not OpenAI itself', async () => {
    const completion = await client().chat.completions.create({ model: `compatible:${GPT_MODEL}`, ...patchRequest });
    expect(completion.choices[0]?.message.tool_calls).toEqual([{ id: expect.any(String), type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);
    const sent = lastRequestBody(openai);
    expect((sent['tools'] as { type: string }[])[0]).toMatchObject({ type: 'function', function: { name: 'apply_patch', parameters: { properties: { input: { type: 'string' } } } } });
    expect(sent['tool_choice']).toEqual({ type: 'function', function: { name: 'apply_patch' } });
  });
});

/** The tool-call deltas of an upstream's SSE body, in order. */
function streamedToolCallDeltas(body: string): Record<string, unknown>[] {
  return body
    .split('\n\n')
    .map((frame) => frame.replace(/^data: /, ''))
    .filter((data) => data.startsWith('{'))
    .flatMap((data) => (JSON.parse(data) as { choices: { delta: { tool_calls?: Record<string, unknown>[] } }[] }).choices.flatMap((choice) => choice.delta.tool_calls ?? []));
}
