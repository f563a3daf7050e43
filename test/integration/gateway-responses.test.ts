/**
 * The official `openai` client's Responses API (`client.responses`, what Codex CLI speaks) against
 * a real gateway over the real pipeline and fake engines: answers, streams (through the SDK's own
 * event accumulator, which rejects inconsistent event sequences), tools over two turns, an
 * Anthropic-wire provider, refusals, a bad token, stateless limits and a stream that breaks.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { parsePrometheusText, startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const OLLAMA_MODEL = 'llama3.2:latest';
const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const GPT_MODEL = 'gpt-5.1-codex';
const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

let ollama: FakeEngine;
let claude: FakeEngine;
let openai: FakeEngine;
let main: TestGateway;
let hostedOnly: TestGateway;
/** OpenAI's own API (`vendor: openai`), which takes custom tools natively. */
let openaiOnly: TestGateway;

beforeAll(async () => {
  [ollama, claude, openai] = await Promise.all([
    startFakeEngine({ kind: 'ollama' }),
    startFakeEngine({ kind: 'anthropic' }),
    startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }] }),
  ]);
  const local: TestProvider = { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, tags: ['tools'] }] };
  const hosted: TestProvider = { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] };
  main = await startTestGateway({ providers: [local, hosted] });
  hostedOnly = await startTestGateway({ providers: [hosted] });
  openaiOnly = await startTestGateway({
    providers: [{ id: 'openai', class: 'approved_hosted', wire: 'openai', vendor: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: GPT_MODEL, tags: ['tools'], price: { inputPerMTok: 2, outputPerMTok: 10 } }] }],
  });
});

afterAll(async () => {
  await Promise.all([main?.close(), hostedOnly?.close(), openaiOnly?.close()]);
  await Promise.all([ollama?.close(), claude?.close(), openai?.close()]);
});

const client = (gateway: TestGateway, apiKey = TEST_TOKEN): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 });

/** The chat completions body the engine received last. */
function lastEngineRequest(engine: FakeEngine): {
  messages: { role: string; content?: unknown; tool_call_id?: string; tool_calls?: unknown[] }[];
  max_tokens?: number;
  tools?: unknown[];
  parallel_tool_calls?: boolean;
} {
  return JSON.parse(engine.exchanges.at(-1)?.requestBody?.toString('utf8') ?? '{}') as ReturnType<typeof lastEngineRequest>;
}

describe('OpenAI Responses API client', () => {
  it('gets a response object from the local engine, with usage, recorded as gateway evidence and counted under its own api label', async () => {
    const completed = `syndicate_gateway_requests_total{api="openai_responses",class="local",provider="ollama",model="${OLLAMA_MODEL}",sensitivity="public",outcome="completed"}`;
    const scrape = async (): Promise<number> =>
      parsePrometheusText(await (await fetch(`${main.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text()).get(completed) ?? 0;
    const countedBefore = await scrape();
    const { data: response, response: http } = await client(main)
      .responses.create({ model: `ollama:${OLLAMA_MODEL}`, instructions: 'Be brief.', input: 'What is the capital of France?', max_output_tokens: 200 })
      .withResponse();
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: `ollama:${OLLAMA_MODEL}`, instructions: 'Be brief.', max_output_tokens: 200, error: null });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(DEFAULT_ANSWER);
    expect(response.output).toEqual([
      { type: 'message', id: expect.stringMatching(/^msg_/), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: DEFAULT_ANSWER, annotations: [], logprobs: [] }] },
    ]);
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
    // instructions became the system message; max_output_tokens the engine's max_tokens.
    const sent = lastEngineRequest(ollama);
    expect(sent.messages[0]).toMatchObject({ role: 'system', content: 'Be brief.' });
    expect(sent.max_tokens).toBe(200);
    await main.settled();
    expect(getEvidence(main.store, http.headers.get('x-syndicate-evidence') ?? '')).toMatchObject({ caller: 'gateway', state: 'completed', provider: { id: 'ollama' } });
    expect(await scrape()).toBe(countedBefore + 1);
  });

  it('streams through the SDK accumulator: numbered events from response.created to response.completed', async () => {
    const stream = client(main).responses.stream({ model: 'auto', input: [{ role: 'user', content: 'What is the capital of France?' }] });
    const types: string[] = [];
    const sequence: number[] = [];
    const deltas: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
    }
    const final = await stream.finalResponse();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(DEFAULT_ANSWER);
    expect(final.output_text).toBe(DEFAULT_ANSWER);
    expect(final.status).toBe('completed');
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(sequence).toEqual(sequence.map((_, index) => index));
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  });

  it('receives a function call, sends its output back as the next turn, and gets the answer', async () => {
    const question = 'What is the weather in Paris?';
    const first = await client(main).responses.create({ model: `ollama:${OLLAMA_MODEL}`, input: question, tools: [weatherTool] });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed', id: expect.stringMatching(/^fc_/) });
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    expect(typeof JSON.parse(call.arguments)).toBe('object');
    expect(first.tools).toEqual([{ type: 'function', name: 'get_weather', description: 'Current weather for a city', parameters: weatherTool.parameters, strict: false }]);

    const second = await client(main).responses.create({
      model: `ollama:${OLLAMA_MODEL}`,
      tools: [weatherTool],
      input: [
        { role: 'user', content: question },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: '{"temperature_c": 18}' },
      ],
    });
    expect(second.status).toBe('completed');
    const sent = lastEngineRequest(ollama);
    expect(sent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent.messages[1]?.tool_calls).toHaveLength(1);
    expect(sent.messages[2]).toMatchObject({ role: 'tool', tool_call_id: call.call_id, content: '{"temperature_c": 18}' });
  });

  it('streams a function call whose argument deltas join into the done event’s JSON', async () => {
    const stream = client(main).responses.stream({ model: `ollama:${OLLAMA_MODEL}`, input: 'What is the weather in Paris?', tools: [weatherTool] });
    let argumentsText = '';
    let done = '';
    for await (const event of stream) {
      if (event.type === 'response.function_call_arguments.delta') argumentsText += event.delta;
      if (event.type === 'response.function_call_arguments.done') done = event.arguments;
    }
    const final = await stream.finalResponse();
    expect(argumentsText).toBe(done);
    expect(typeof JSON.parse(done)).toBe('object');
    expect(final.output.find((item) => item.type === 'function_call')).toMatchObject({ name: 'get_weather', arguments: done, status: 'completed' });
  });

  // Codex CLI declares apply_patch as a freeform `custom` tool: the raw patch text, not JSON.
  const applyPatch = {
    type: 'custom' as const,
    name: 'apply_patch',
    description: 'Edit files with a patch.',
    format: { type: 'grammar' as const, syntax: 'lark' as const, definition: 'start: begin_patch hunk+ end_patch' },
  };

  it('serves a freeform custom tool (Codex apply_patch): engines see one string parameter, the client gets a custom_tool_call with the raw text', async () => {
    // Codex also asks for one call at a time: the engine is told so in its own wire's terms.
    const first = await client(main).responses.create({ model: `ollama:${OLLAMA_MODEL}`, input: 'Add hello.txt', tools: [applyPatch], parallel_tool_calls: false });
    expect(first.parallel_tool_calls).toBe(false);
    expect(lastEngineRequest(ollama).parallel_tool_calls).toBe(false);
    const sentTool = lastEngineRequest(ollama).tools?.[0] as { type: string; function: { name: string; description: string; parameters: unknown } };
    expect(sentTool).toMatchObject({ type: 'function', function: { name: 'apply_patch', parameters: { type: 'object', required: ['input'] } } });
    expect(sentTool.function.description).toContain('Edit files with a patch.');
    expect(sentTool.function.description).toContain('start: begin_patch hunk+ end_patch');
    const call = first.output.find((item) => item.type === 'custom_tool_call');
    expect(call).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch', input: DEFAULT_ANSWER, id: expect.stringMatching(/^ctc_/) });
    expect(first.output.some((item) => item.type === 'function_call')).toBe(false);
    // The response echoes the tool as the client declared it, not as the engine was told it.
    expect(first.tools).toEqual([applyPatch]);
    if (call?.type !== 'custom_tool_call') throw new Error('expected a custom tool call');

    const second = await client(main).responses.create({
      model: `ollama:${OLLAMA_MODEL}`,
      tools: [applyPatch],
      input: [
        { role: 'user', content: 'Add hello.txt' },
        { type: 'custom_tool_call', call_id: call.call_id, name: call.name, input: '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch' },
        { type: 'custom_tool_call_output', call_id: call.call_id, output: 'Done!' },
      ],
    });
    expect(second.output_text).toBe(DEFAULT_ANSWER);
    const sent = lastEngineRequest(ollama);
    expect(sent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    const sentCall = (sent.messages[1]?.tool_calls as { function: { name: string; arguments: string } }[])[0]!;
    expect(sentCall.function.name).toBe('apply_patch');
    expect(JSON.parse(sentCall.function.arguments)).toEqual({ input: '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch' });
    expect(sent.messages[2]).toMatchObject({ role: 'tool', tool_call_id: call.call_id, content: 'Done!' });
  });

  it('sends a custom tool to OpenAI itself as declared, and echoes it as declared', async () => {
    const response = await client(openaiOnly).responses.create({ model: `openai:${GPT_MODEL}`, input: 'Add hello.txt', tools: [applyPatch] });
    const sent = JSON.parse(openai.exchanges.at(-1)?.requestBody?.toString('utf8') ?? '{}') as { tools?: unknown[] };
    expect(sent.tools).toEqual([{ type: 'custom', custom: { name: 'apply_patch', description: applyPatch.description, format: { type: 'grammar', grammar: { syntax: 'lark', definition: applyPatch.format.definition } } } }]);
    expect(response.tools).toEqual([applyPatch]);
    const undescribed = await client(openaiOnly).responses.create({ model: `openai:${GPT_MODEL}`, input: 'Add hello.txt', tools: [{ type: 'custom', name: 'shell' }] });
    expect(undescribed.tools).toEqual([{ type: 'custom', name: 'shell', description: null }]);
  });

  it('streams a freeform call as custom_tool_call_input events the SDK accumulator folds into the final item', async () => {
    const stream = client(main).responses.stream({ model: `ollama:${OLLAMA_MODEL}`, input: 'Add hello.txt', tools: [applyPatch], tool_choice: { type: 'custom', name: 'apply_patch' } });
    const types: string[] = [];
    let delta = '';
    let done = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.custom_tool_call_input.delta') delta += event.delta;
      if (event.type === 'response.custom_tool_call_input.done') done = event.input;
    }
    const final = await stream.finalResponse();
    expect(done).toBe(DEFAULT_ANSWER);
    expect(delta).toBe(done);
    expect(types).not.toContain('response.function_call_arguments.delta');
    expect(final.output.find((item) => item.type === 'custom_tool_call')).toMatchObject({ name: 'apply_patch', input: done, status: 'completed' });
    expect(final.tool_choice).toEqual({ type: 'custom', name: 'apply_patch' });
  });

  it('talks to an Anthropic-wire provider through the canonical model (answer and stream)', async () => {
    const response = await client(main).responses.create({ model: `claude:${CLAUDE_MODEL}`, input: 'What is the capital of France?' });
    expect(response.output_text).toBe(DEFAULT_ANSWER);
    expect(claude.exchanges.at(-1)?.path).toBe('/v1/messages');
    const stream = client(main).responses.stream({ model: `claude:${CLAUDE_MODEL}`, input: 'What is the capital of France?' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(DEFAULT_ANSWER);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('sends an OpenAI temperature above 1 to an Anthropic-wire provider as 1, with a warning in the evidence, instead of getting its 400', async () => {
    const sentTemperature = (): unknown => (JSON.parse(claude.exchanges.at(-1)?.requestBody.toString('utf8') ?? '{}') as { temperature?: unknown }).temperature;
    const { data, response } = await client(main).responses.create({ model: `claude:${CLAUDE_MODEL}`, input: 'What is the capital of France?', temperature: 1.5 }).withResponse();
    expect(data.output_text).toBe(DEFAULT_ANSWER);
    // The response repeats what the client asked for.
    expect(data.temperature).toBe(1.5);
    expect(sentTemperature()).toBe(1);
    await main.settled();
    expect(getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '')?.warnings).toContainEqual({
      setting: 'temperature',
      message: 'the anthropic wire accepts a temperature of at most 1; 1.5 was sent as 1',
      fields: [{ setting: 'temperature', effect: 'changed' }],
    });
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('temperature');
    const final = await client(main).responses.stream({ model: `claude:${CLAUDE_MODEL}`, input: 'What is the capital of France?', temperature: 2 }).finalResponse();
    expect(final.output_text).toBe(DEFAULT_ANSWER);
    expect(sentTemperature()).toBe(1);
  });

  it('is refused with 403 when a secret would have to go to a hosted provider; nothing reaches it', async () => {
    const before = claude.exchanges.length;
    const error = await client(hostedOnly)
      .responses.create({ model: 'auto', input: 'Remember this for me: password: hunter2' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('route_denied');
    expect(claude.exchanges.length).toBe(before);
  });

  it('is rejected with 401 for a wrong token', async () => {
    const error = await client(main, 'wrong').responses.create({ model: 'auto', input: 'hello' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses what needs server-side state or hosted tools with 400 naming the field', async () => {
    const previous = await client(main)
      .responses.create({ model: 'auto', input: 'and then?', previous_response_id: 'resp_123' })
      .catch((caught: unknown) => caught);
    expect(previous).toBeInstanceOf(OpenAI.BadRequestError);
    expect((previous as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('previous_response_id');
    expect((previous as Error).message).toContain('keeps no responses');
    const hostedTool = await client(main)
      .responses.create({ model: 'auto', input: 'news?', tools: [{ type: 'web_search' }] })
      .catch((caught: unknown) => caught);
    expect(hostedTool).toBeInstanceOf(OpenAI.BadRequestError);
    expect((hostedTool as Error).message).toContain('only function and custom tools are supported');
  });

  it('answers retrieving, cancelling or deleting a stored response with 404 saying the gateway keeps none', async () => {
    for (const attempt of [
      () => client(main).responses.retrieve('resp_123'),
      () => client(main).responses.cancel('resp_123'),
      () => client(main).responses.delete('resp_123'),
      () => client(main).responses.inputItems.list('resp_123'),
    ]) {
      const error = await Promise.resolve(attempt()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as Error).message).toContain('the gateway keeps no responses');
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('not_found');
    }
  });

  it('refuses a conversation id or a stored prompt template with 400 naming the field, instead of answering without them; nothing is sent', async () => {
    const exchangesBefore = ollama.exchanges.length;
    await main.settled();
    const rowsBefore = listEvidence(main.store, { limit: 1000 }).length;
    const conversation = await client(main)
      .responses.create({ model: `ollama:${OLLAMA_MODEL}`, input: 'What did I just ask?', conversation: 'conv_123' })
      .catch((caught: unknown) => caught);
    expect(conversation).toBeInstanceOf(OpenAI.BadRequestError);
    expect((conversation as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('conversation');
    expect((conversation as Error).message).toContain('keeps no conversations');
    const prompt = await client(main)
      .responses.create({ model: `ollama:${OLLAMA_MODEL}`, input: 'Go on.', prompt: { id: 'pmpt_123', version: '2' } })
      .catch((caught: unknown) => caught);
    expect(prompt).toBeInstanceOf(OpenAI.BadRequestError);
    expect((prompt as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('prompt');
    // The count refuses them too: it would count less than the model would read.
    const counted = await client(main)
      .responses.inputTokens.count({ input: 'What did I just ask?', conversation: 'conv_123' })
      .catch((caught: unknown) => caught);
    expect(counted).toBeInstanceOf(OpenAI.BadRequestError);
    expect(ollama.exchanges.slice(exchangesBefore).filter((exchange) => exchange.method === 'POST')).toEqual([]);
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(rowsBefore);
  });

  it('refuses an empty input, a message with no content parts and an output no call of the input asks for, with 400 naming the field; nothing is sent or recorded', async () => {
    const model = `ollama:${OLLAMA_MODEL}`;
    const exchangesBefore = ollama.exchanges.length;
    await main.settled();
    const rowsBefore = listEvidence(main.store, { limit: 1000 }).length;
    const refusals: [OpenAI.Responses.ResponseCreateParamsNonStreaming, string, string][] = [
      [{ model, input: '' }, 'input', "is an empty string: there is nothing to answer; send the user's message as `input`"],
      [{ model, instructions: 'Be brief.', input: [] }, 'input', 'a non-empty array of input items; send the whole conversation as `input`'],
      [
        { model, input: [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: [] }, { role: 'user', content: 'And of Spain?' }] },
        'input[1].content',
        'is an empty array: a message needs at least one content part',
      ],
      [
        { model, tools: [weatherTool], input: [{ role: 'user', content: 'What is the weather in Paris?' }, { type: 'function_call_output', call_id: 'call_gone', output: '{"sky":"clear"}' }] },
        'input[1].call_id',
        'no tool call found for function call output with call_id "call_gone": no item of the input calls it, and the gateway keeps no earlier responses to find it in; send the function_call item it answers before it in `input`',
      ],
    ];
    for (const [body, param, message] of refusals) {
      const error = await client(main).responses.create(body).catch((caught: unknown) => caught);
      expect(error, param).toBeInstanceOf(OpenAI.BadRequestError);
      const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(refusal.status).toBe(400);
      expect(refusal.type).toBe('invalid_request_error');
      expect(refusal.param).toBe(param);
      expect(refusal.message).toContain(message);
    }
    const streamed = await client(main)
      .responses.stream({ model, input: [{ role: 'user', content: 'Hi' }, { type: 'function_call_output', call_id: 'call_gone', output: 'x' }] })
      .finalResponse()
      .catch((caught: unknown) => caught);
    expect(streamed).toBeInstanceOf(OpenAI.BadRequestError);
    // Refused before routing: no permit, no evidence row, no upstream call — as every other request the reader refuses.
    expect(ollama.exchanges.slice(exchangesBefore).filter((exchange) => exchange.method === 'POST')).toEqual([]);
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(rowsBefore);
    // A message whose content is an empty string OpenAI takes (clients send one to run on instructions alone): answered.
    const answered = await client(main).responses.create({ model, instructions: 'Greet the user.', input: [{ role: 'user', content: '' }] });
    expect(answered.output_text).toBe(DEFAULT_ANSWER);
  });

  it('counts input tokens locally (responses.inputTokens.count), growing with the conversation, recording nothing', async () => {
    await main.settled();
    const rowsBefore = listEvidence(main.store, { limit: 1000 }).length;
    const short = await client(main).responses.inputTokens.count({ input: 'What is the capital of France?' });
    expect(short).toEqual({ object: 'response.input_tokens', input_tokens: expect.any(Number) });
    expect(short.input_tokens).toBeGreaterThan(5);
    const { data: long, response } = await client(main)
      .responses.inputTokens.count({
        model: 'auto',
        instructions: 'You are terse.',
        tools: [weatherTool],
        input: [
          { role: 'user', content: 'What is the capital of France?' },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: JSON.stringify({ city: 'Paris '.repeat(300) }) },
          { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        ],
      })
      .withResponse();
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 300);
    expect(response.headers.get('x-syndicate-token-count')).toMatch(/^approximate/);
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(rowsBefore);
  });

  it('refuses to count for a model nothing serves with the 404 responses.create gets; counts for a model it serves, and without one', async () => {
    await main.settled();
    const rowsBefore = listEvidence(main.store, { limit: 1000 }).length;
    const body = { model: 'gpt-4.1-nano', input: 'What is the capital of France?' };
    const counted = await client(main).responses.inputTokens.count(body).catch((caught: unknown) => caught);
    // A count is never recorded, refused or not.
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(rowsBefore);
    const created = await client(main).responses.create(body).catch((caught: unknown) => caught);
    expect(created).toBeInstanceOf(OpenAI.NotFoundError);
    expect(counted).toBeInstanceOf(OpenAI.NotFoundError);
    const [countError, createError] = [counted, created] as InstanceType<typeof OpenAI.NotFoundError>[];
    expect({ status: countError?.status, code: countError?.code, type: countError?.type, message: countError?.message }).toEqual({
      status: createError?.status,
      code: createError?.code,
      type: createError?.type,
      message: createError?.message,
    });
    // A model it serves, by its provider:model name or its own id, and no model at all (OpenAI's is optional): counted.
    for (const model of [`ollama:${OLLAMA_MODEL}`, CLAUDE_MODEL, undefined]) {
      expect((await client(main).responses.inputTokens.count({ ...body, model })).input_tokens, String(model)).toBeGreaterThan(5);
    }
  });

  it('names what it did not honour: reasoning items, reasoning settings and store', async () => {
    const { response } = await client(main)
      .responses.create({
        model: `ollama:${OLLAMA_MODEL}`,
        store: true,
        reasoning: { effort: 'low' },
        input: [
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { role: 'user', content: [{ type: 'input_text', text: 'What is the capital of France?' }] },
        ],
      })
      .withResponse();
    // The effort is read, but the model is not tagged thinking: Ollama would refuse it for such a model, so it is not sent, and named.
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('input.reasoning, reasoning.effort, store');
  });
});

describe('output items one after the other (a thinking engine)', () => {
  const REASONING = 'The user asks about the weather in Paris. I should call the tool.';
  let thinker: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    thinker = await startFakeEngine({ kind: 'llama.cpp', jinja: true, reasoning: REASONING });
    gateway = await startTestGateway({ providers: [{ id: 'thinker', class: 'local', wire: 'openai', baseUrl: thinker.baseUrl, engine: 'llama.cpp', models: [{ id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', tags: ['tools'] }] }] });
  });
  afterAll(async () => {
    await gateway?.close();
    await thinker?.close();
  });

  /** Event types with the output item they are about; a run of one delta type reads as one line. */
  const traceOf = (events: { type: string; output_index?: number }[]): string[] =>
    events
      .filter((event, index) => !(event.type.endsWith('.delta') && event.type === events[index - 1]?.type))
      .map((event) => (event.output_index === undefined ? event.type : `${event.type} #${event.output_index}`));

  it('closes the reasoning item before the message is added (responses.create with stream: true)', async () => {
    const stream = await client(gateway).responses.create({ model: 'thinker:qwen2.5-0.5b-instruct-q4_k_m.gguf', stream: true, input: 'What is the capital of France?' });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(traceOf(events as { type: string; output_index?: number }[])).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added #0',
      'response.content_part.added #0',
      'response.reasoning_text.delta #0',
      'response.reasoning_text.done #0',
      'response.content_part.done #0',
      'response.output_item.done #0',
      'response.output_item.added #1',
      'response.content_part.added #1',
      'response.output_text.delta #1',
      'response.output_text.done #1',
      'response.content_part.done #1',
      'response.output_item.done #1',
      'response.completed',
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('expected response.completed last');
    expect(completed.response.output).toEqual([
      expect.objectContaining({ type: 'reasoning', content: [{ type: 'reasoning_text', text: REASONING }], status: 'completed' }),
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: DEFAULT_ANSWER })], status: 'completed' }),
    ]);
  });

  it('closes the reasoning item before a function call is added (responses.stream, the SDK accumulator)', async () => {
    const stream = client(gateway).responses.stream({ model: 'thinker:qwen2.5-0.5b-instruct-q4_k_m.gguf', input: 'What is the weather in Paris?', tools: [weatherTool] });
    const events: { type: string; output_index?: number }[] = [];
    for await (const event of stream) events.push(event as { type: string; output_index?: number });
    const final = await stream.finalResponse();
    expect(traceOf(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added #0',
      'response.content_part.added #0',
      'response.reasoning_text.delta #0',
      'response.reasoning_text.done #0',
      'response.content_part.done #0',
      'response.output_item.done #0',
      'response.output_item.added #1',
      'response.function_call_arguments.delta #1',
      'response.function_call_arguments.done #1',
      'response.output_item.done #1',
      'response.completed',
    ]);
    expect(final.output).toEqual([
      expect.objectContaining({ type: 'reasoning', content: [{ type: 'reasoning_text', text: REASONING }], status: 'completed' }),
      expect.objectContaining({ type: 'function_call', name: 'get_weather', status: 'completed' }),
    ]);
  });
});

describe('raw HTTP', () => {
  it('ends a Responses stream that breaks after bytes were sent with error and response.failed, never response.completed', async () => {
    const engine = await startFakeEngine({ kind: 'ollama' });
    const gateway = await startTestGateway({ providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL }] }] });
    try {
      gateway.pipeline.health = new HealthMonitor();
      engine.setFault('reset-mid-stream', 1);
      const response = await fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', stream: true, input: 'What is the capital of France?' }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('event: response.output_text.delta');
      expect(text).not.toContain('response.completed');
      const frames = text.trimEnd().split('\n\n');
      expect(frames.at(-2)).toMatch(/^event: error\ndata: \{"type":"error"/);
      const failed = JSON.parse((frames.at(-1) ?? '').split('\ndata: ')[1] ?? '{}') as { type: string; response: { status: string; error: { code: string } } };
      expect(failed).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'stream_broken' } } });
      await gateway.settled();
      expect(listEvidence(gateway.store, { limit: 1 })[0]).toMatchObject({ state: 'failed', markers: expect.arrayContaining(['partial_response']) });
    } finally {
      await gateway.close();
      await engine.close();
    }
  });
});
