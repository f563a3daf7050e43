/**
 * Edge cases of the official clients against a real gateway over fake engines (the gateway SDK
 * QA pass): what each client reads where the real APIs say more than "it stopped".
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { explainRequestRoute } from '../../src/invoke/explain-route.js';
import { decodeGatewayRequest } from '../../src/wire/request-family.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const VLLM_MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
const OLLAMA_MODEL = 'llama3.2:latest';
const QUESTION = 'What is the capital of France?';

let claude: FakeEngine;
let vllm: FakeEngine;
let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [claude, vllm, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic' }), startFakeEngine({ kind: 'vllm' }), startFakeEngine({ kind: 'ollama' })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      { id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: VLLM_MODEL, tags: ['tools'] }] },
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, tags: ['vision'] }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude?.close(), vllm?.close(), ollama?.close()]);
});

const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const openAIClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
/** The JSON body of the last inference request an engine received. */
const lastSent = (engine: FakeEngine): Record<string, unknown> => JSON.parse(engine.exchanges.filter((exchange) => exchange.method === 'POST').at(-1)?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>;

describe('Anthropic client: stop_sequences', () => {
  const ask = (model: string) => ({ model, max_tokens: 64, stop_sequences: ['nope', 'capital'], messages: [{ role: 'user' as const, content: QUESTION }] });

  it('reads which stop sequence ended the answer, as the Messages API names it, streamed and not (Anthropic upstream)', async () => {
    const message = await anthropicClient().messages.create(ask(`claude:${CLAUDE_MODEL}`));
    expect(message.content).toEqual([{ type: 'text', text: 'Paris is the ' }]);
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
    const streamed = await anthropicClient().messages.stream(ask(`claude:${CLAUDE_MODEL}`)).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
  });

  it('reads the stop sequence vLLM names in its stop_reason, streamed and not', async () => {
    const message = await anthropicClient().messages.create(ask(`vllm:${VLLM_MODEL}`));
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
    const streamed = await anthropicClient().messages.stream(ask(`vllm:${VLLM_MODEL}`)).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
  });

  it('is told end_turn with no stop sequence when the engine does not say which one stopped it (Ollama, which never does), or none did', async () => {
    const stopped = await anthropicClient().messages.create(ask(`ollama:${OLLAMA_MODEL}`));
    expect(stopped).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
    const natural = await anthropicClient().messages.create({ ...ask(`claude:${CLAUDE_MODEL}`), stop_sequences: ['nope'] });
    expect(natural).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
  });
});

/**
 * llama-server names the stop string that ended an answer only in `__verbose` (its native result),
 * which it adds when the request says `verbose: true` (captured from llama-server b1-de3ff81):
 * the gateway asks for it when an Anthropic client sent stop_sequences, and tells the client.
 */
describe('Anthropic client: stop_sequences through llama-server', () => {
  const LLAMA_MODEL = 'tiny';
  let llama: FakeEngine;
  let llamaGateway: TestGateway;
  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: LLAMA_MODEL }] });
    llamaGateway = await startTestGateway({ providers: [{ id: 'llama', class: 'local', wire: 'openai', baseUrl: llama.baseUrl, engine: 'llama.cpp', models: [{ id: LLAMA_MODEL }] }] });
  });
  afterAll(async () => {
    await llamaGateway?.close();
    await llama?.close();
  });
  const client = (): Anthropic => new Anthropic({ baseURL: llamaGateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
  const ask = { model: `llama:${LLAMA_MODEL}`, max_tokens: 64, stop_sequences: ['nope', 'capital'], messages: [{ role: 'user' as const, content: QUESTION }] };

  it('reads the stop sequence llama-server names in __verbose, streamed and not; the request asked for it', async () => {
    const message = await client().messages.create(ask);
    expect(message.content).toEqual([{ type: 'text', text: 'Paris is the ' }]);
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
    expect(lastSent(llama)).toMatchObject({ stop: ['nope', 'capital'], verbose: true });
    const streamed = await client().messages.stream(ask).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'capital' });
    expect(lastSent(llama)).toMatchObject({ stream: true, verbose: true });
  });

  it('end_turn when no stop sequence ended it; an OpenAI client, told nothing of it, does not ask for verbose answers', async () => {
    const natural = await client().messages.create({ ...ask, stop_sequences: ['nope'] });
    expect(natural).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
    const openAI = new OpenAI({ baseURL: `${llamaGateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    await openAI.chat.completions.create({ model: `llama:${LLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }], stop: ['capital'] });
    expect(lastSent(llama)).toMatchObject({ stop: ['capital'] });
    expect(lastSent(llama)).not.toHaveProperty('verbose');
  });
});

describe('strict tools (the arguments held to the schema)', () => {
  const citySchema = { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

  it('an OpenAI client’s strict function reaches an OpenAI-wire engine and an Anthropic-wire provider as strict', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: citySchema, strict: true } }];
    const local = await openAIClient().chat.completions.create({ model: `vllm:${VLLM_MODEL}`, messages: [{ role: 'user', content: QUESTION }], tools });
    expect(local.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } });
    expect(lastSent(vllm)['tools']).toEqual([{ type: 'function', function: { name: 'get_weather', parameters: citySchema, strict: true } }]);
    await openAIClient().chat.completions.create({ model: `claude:${CLAUDE_MODEL}`, messages: [{ role: 'user', content: QUESTION }], tools });
    expect(lastSent(claude)['tools']).toEqual([{ name: 'get_weather', input_schema: citySchema, strict: true }]);
  });

  it('an Anthropic client’s strict tool reaches an OpenAI-wire engine as a strict function', async () => {
    await anthropicClient().messages.create({
      model: `vllm:${VLLM_MODEL}`,
      max_tokens: 64,
      messages: [{ role: 'user', content: QUESTION }],
      tools: [{ name: 'get_weather', input_schema: citySchema, strict: true }],
    });
    expect(lastSent(vllm)['tools']).toEqual([{ type: 'function', function: { name: 'get_weather', parameters: citySchema, strict: true } }]);
  });

  it('the Responses API sends a strict function on and echoes its strict in the response’s tools', async () => {
    const response = await openAIClient().responses.create({ model: `vllm:${VLLM_MODEL}`, input: QUESTION, tools: [{ type: 'function', name: 'get_weather', parameters: citySchema, strict: true }] });
    expect(response.tools).toEqual([expect.objectContaining({ type: 'function', name: 'get_weather', strict: true })]);
    expect(lastSent(vllm)['tools']).toEqual([{ type: 'function', function: { name: 'get_weather', parameters: citySchema, strict: true } }]);
    const loose = await openAIClient().responses.create({ model: `vllm:${VLLM_MODEL}`, input: QUESTION, tools: [{ type: 'function', name: 'get_weather', parameters: citySchema, strict: false }] });
    expect(loose.tools).toEqual([expect.objectContaining({ strict: false })]);
  });
});

describe("Anthropic client: the Models API's paging", () => {
  it('pages with limit, after_id and before_id as the Models API does, so the SDK auto-paginates through every model once', async () => {
    const everyId = (await anthropicClient().models.list({ limit: 1000 })).data.map((model) => model.id);
    expect([...everyId].sort()).toEqual(['auto', `claude:${CLAUDE_MODEL}`, `ollama:${OLLAMA_MODEL}`, `vllm:${VLLM_MODEL}`]);
    const first = await anthropicClient().models.list({ limit: 2 });
    expect(first.data.map((model) => model.id)).toEqual(everyId.slice(0, 2));
    expect(first).toMatchObject({ has_more: true, first_id: everyId[0], last_id: everyId[1] });
    const paged: string[] = [];
    for await (const model of anthropicClient().models.list({ limit: 1 })) paged.push(model.id);
    expect(paged).toEqual(everyId);
    const next = await first.getNextPage();
    expect(next.data.map((model) => model.id)).toEqual(everyId.slice(2));
    expect(next.has_more).toBe(false);

    // Backwards from before_id: the page immediately before it, has_more while more lie before.
    const before = await anthropicClient().models.list({ before_id: everyId[3], limit: 2 });
    expect(before.data.map((model) => model.id)).toEqual(everyId.slice(1, 3));
    expect(before).toMatchObject({ has_more: true, first_id: everyId[1], last_id: everyId[2] });
    const backwards: string[] = [];
    for await (const model of anthropicClient().models.list({ before_id: everyId[3], limit: 2 })) backwards.push(model.id);
    expect(backwards.sort()).toEqual(everyId.slice(0, 3).sort());

    // Without limit, Anthropic's default page of 20 holds them all.
    expect(await anthropicClient().models.list()).toMatchObject({ has_more: false, first_id: 'auto', last_id: everyId[3] });
    const refused = await anthropicClient().models.list({ limit: 0 }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as Error).message).toContain('limit: must be a whole number from 1 to 1000');
    const unknownCursor = await anthropicClient().models.list({ after_id: 'nope' }).catch((caught: unknown) => caught);
    expect(unknownCursor).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('an image by URL for an Ollama model', () => {
  const withImage = (url: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
    model: `ollama:${OLLAMA_MODEL}`,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url } }] }],
  });

  it('is refused before the call with a 400 that says to send base64 data (Ollama fetches no URL, nor does syndicate); inline data goes through', async () => {
    const posts = (): number => ollama.exchanges.filter((exchange) => exchange.method === 'POST').length;
    const before = posts();
    const refused = await openAIClient().chat.completions.create(withImage('https://example.com/cat.png')).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'image_url_unsupported',
      param: 'messages',
      message: expect.stringContaining('image URLs are not currently supported, please use base64 encoded data instead'),
    });
    expect((refused as Error).message).toContain('data:image/png;base64');
    expect(posts()).toBe(before);

    const inline = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const answered = await openAIClient().chat.completions.create(withImage(inline));
    expect(answered.choices[0]?.message.content).toBeTruthy();
    expect(JSON.stringify(lastSent(ollama)['messages'])).toContain(inline);
  });
});

describe('a conversation whose only user turn is empty', () => {
  const posts = (engine: FakeEngine): number => engine.exchanges.filter((exchange) => exchange.method === 'POST').length;

  it('is refused before the call for an Anthropic-wire provider with the 400 the Messages API gives, and goes to an OpenAI-wire engine, which takes it', async () => {
    const before = posts(claude);
    const refused = await openAIClient()
      .chat.completions.create({ model: `claude:${CLAUDE_MODEL}`, messages: [{ role: 'user', content: '' }] })
      .catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'messages',
      message: expect.stringContaining('messages.0: all messages must have non-empty content except for the optional final assistant message'),
    });
    // A final empty user turn after an answer would otherwise go out as a prefill of that answer.
    const afterAnswer = await anthropicClient()
      .messages.create({
        model: `claude:${CLAUDE_MODEL}`,
        max_tokens: 64,
        messages: [
          { role: 'user', content: QUESTION },
          { role: 'assistant', content: 'Paris.' },
          { role: 'user', content: [{ type: 'text', text: '' }] },
        ],
      })
      .catch((caught: unknown) => caught);
    expect(afterAnswer).toBeInstanceOf(Anthropic.BadRequestError);
    expect((afterAnswer as Error).message).toContain('messages.2: all messages must have non-empty content');
    expect(posts(claude)).toBe(before);

    const local = await openAIClient().chat.completions.create({ model: `vllm:${VLLM_MODEL}`, messages: [{ role: 'user', content: '' }] });
    expect(local.choices[0]?.message.content).toBeTruthy();
    expect(lastSent(vllm)['messages']).toEqual([{ role: 'user', content: '' }]);
  });
});

describe('a conversation of a system message only (no user turn)', () => {
  const posts = (engine: FakeEngine): number => engine.exchanges.filter((exchange) => exchange.method === 'POST').length;
  const SYSTEM_ONLY = [{ role: 'system' as const, content: 'Write a haiku about the sea.' }];

  it('is refused before any call for an Anthropic-wire provider (400 `no_messages` naming the fix), goes to an OpenAI-wire engine, and route --explain says why claude was left out', async () => {
    const before = posts(claude);
    const refused = await openAIClient()
      .chat.completions.create({ model: `claude:${CLAUDE_MODEL}`, messages: SYSTEM_ONLY })
      .catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'no_messages',
      param: 'messages',
      message: expect.stringContaining('messages: at least one message is required'),
    });
    expect((refused as Error).message).toContain('add a user message');
    expect(posts(claude)).toBe(before);

    // Unpinned, the router leaves claude out and an OpenAI-wire engine answers it as sent.
    const answered = await openAIClient().chat.completions.create({ model: 'auto', messages: SYSTEM_ONLY });
    expect(answered.choices[0]?.message.content).toBeTruthy();
    expect(answered.model).not.toContain('claude');
    expect(posts(claude)).toBe(before);

    // What `route --explain --request` prints of the same body.
    const { request } = decodeGatewayRequest(JSON.stringify({ model: 'auto', messages: SYSTEM_ONLY }), 'body.json');
    const { plan } = await explainRequestRoute(gateway.store, testPolicy(), request, { workflow: 'interactive' });
    expect(plan.excluded).toContainEqual(expect.objectContaining({ provider: 'claude', rules: ['no_messages'] }));
    expect(plan.explanation).toContain(`claude:${CLAUDE_MODEL} (approved_hosted) — the anthropic wire needs a message besides the system prompt (messages: at least one message is required)`);
  });
});

describe('an engine that takes no tools (llama-server without --jinja), its model tagged tools all the same', () => {
  let llamaServer: FakeEngine;
  let noJinja: TestGateway;

  beforeAll(async () => {
    llamaServer = await startFakeEngine({ kind: 'llama.cpp', jinja: false });
    noJinja = await startTestGateway({ providers: [{ id: 'llama', class: 'local', wire: 'openai', baseUrl: llamaServer.baseUrl, engine: 'llama.cpp', models: [{ id: 'qwen', tags: ['tools'] }] }] });
  });

  afterAll(async () => {
    await noJinja?.close();
    await llamaServer?.close();
  });

  it('refuses each tools request with 400 about `tools` naming --jinja (not 503 "try again later"), and keeps answering requests without tools', async () => {
    const openai = new OpenAI({ baseURL: `${noJinja.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: noJinja.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const weather = { name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
    // Three in a row: as many failures as take an engine out for everyone.
    for (let call = 0; call < 3; call += 1) {
      const refused = await anthropic.messages.create({ model: 'llama:qwen', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }], tools: [weather] }).catch((caught: unknown) => caught);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect((refused as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining('tools param requires --jinja flag') },
      });
      expect((refused as Error).message).toContain('start llama-server with `--jinja`');
    }
    const viaOpenAI = await openai.chat.completions
      .create({ model: 'llama:qwen', messages: [{ role: 'user', content: QUESTION }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather.input_schema } }] })
      .catch((caught: unknown) => caught);
    expect(viaOpenAI).toBeInstanceOf(OpenAI.BadRequestError);
    expect((viaOpenAI as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', param: 'tools' });
    const plain = await openai.chat.completions.create({ model: 'llama:qwen', messages: [{ role: 'user', content: QUESTION }] });
    expect(plain.choices[0]?.message.content).toBeTruthy();
  });
});

describe('a tools request for a model or alias some of whose engines take no tools', () => {
  let llamaServer: FakeEngine;
  let toolsEngine: FakeEngine;
  let mixed: TestGateway;
  const weather = { name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
  const openAITools = [{ type: 'function' as const, function: { name: weather.name, parameters: weather.input_schema } }];
  const posts = (engine: FakeEngine): number => engine.exchanges.filter((exchange) => exchange.method === 'POST').length;

  beforeAll(async () => {
    [llamaServer, toolsEngine] = await Promise.all([startFakeEngine({ kind: 'llama.cpp', jinja: false }), startFakeEngine({ kind: 'vllm' })]);
    mixed = await startTestGateway({
      providers: [
        // Both tagged tools, the one without --jinja preferred: only its answer says it takes none.
        { id: 'llama', class: 'local', wire: 'openai', baseUrl: llamaServer.baseUrl, engine: 'llama.cpp', models: [{ id: 'qwen', tags: ['tools'], priority: 10, aliases: ['coder'] }] },
        { id: 'vllm', class: 'local', wire: 'openai', baseUrl: toolsEngine.baseUrl, engine: 'vllm', models: [{ id: VLLM_MODEL, tags: ['tools'], priority: 1, aliases: ['coder'] }] },
      ],
    });
  });

  afterAll(async () => {
    await mixed?.close();
    await Promise.all([llamaServer?.close(), toolsEngine?.close()]);
  });

  it('falls back to the next tools-capable candidate, then routes later tools requests past the refusing model without calling it; a pinned one keeps the 400', async () => {
    const openai = new OpenAI({ baseURL: `${mixed.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: mixed.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const first = await openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: QUESTION }], tools: openAITools });
    expect(first.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } });
    expect([posts(llamaServer), posts(toolsEngine)]).toEqual([1, 1]);
    await mixed.settled();
    const hops = mixed.store.db.prepare("SELECT hop, provider_id, state FROM evidence WHERE kind = 'invocation' ORDER BY row_key").all();
    expect(hops).toEqual([
      { hop: 0, provider_id: 'llama', state: 'failed' },
      { hop: 1, provider_id: 'vllm', state: 'completed' },
    ]);

    // Remembered: the next tools requests (alias or auto) go straight to the engine that takes tools.
    await openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: QUESTION }], tools: openAITools });
    const viaAnthropic = await anthropic.messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }], tools: [weather] });
    expect(viaAnthropic.content).toContainEqual(expect.objectContaining({ type: 'tool_use', name: 'get_weather' }));
    expect([posts(llamaServer), posts(toolsEngine)]).toEqual([1, 3]);

    // Requests without tools still go to the preferred model.
    const plain = await openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: QUESTION }] });
    expect(plain.choices[0]?.message.content).toBeTruthy();
    expect(posts(llamaServer)).toBe(2);

    // Pinned: the same 400 about `tools` as the engine's own answer, without calling it again.
    const pinned = await openai.chat.completions.create({ model: 'llama:qwen', messages: [{ role: 'user', content: QUESTION }], tools: openAITools }).catch((caught: unknown) => caught);
    expect(pinned).toBeInstanceOf(OpenAI.BadRequestError);
    expect((pinned as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', param: 'tools', message: expect.stringContaining('tools param requires --jinja flag') });
    expect((pinned as Error).message).toContain('`--jinja`');
    expect(posts(llamaServer)).toBe(2);
  });
});

describe('a tools request whose one engine refuses tools while the other is unreachable', () => {
  const openAITools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const ask = { model: 'coder', messages: [{ role: 'user' as const, content: QUESTION }], tools: openAITools };
  let llamaServer: FakeEngine;
  let ollamaEngine: FakeEngine;
  const gateways: TestGateway[] = [];

  /** A fresh gateway (its own monitor): llama-server without --jinja preferred, Ollama (which takes tools) next, both serving `coder`. */
  const startMixed = async (): Promise<TestGateway> => {
    const started = await startTestGateway({
      providers: [
        { id: 'llama', class: 'local', wire: 'openai', baseUrl: llamaServer.baseUrl, engine: 'llama.cpp', models: [{ id: 'qwen', tags: ['tools'], priority: 10, aliases: ['coder'] }] },
        { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollamaEngine.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, tags: ['tools'], priority: 1, aliases: ['coder'] }] },
      ],
    });
    gateways.push(started);
    return started;
  };
  const unavailable = async (mixed: TestGateway): Promise<InstanceType<typeof OpenAI.APIError>> => {
    const openai = new OpenAI({ baseURL: `${mixed.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const caught = await openai.chat.completions.create(ask).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    return caught as InstanceType<typeof OpenAI.APIError>;
  };
  /** Both facts and both fixes: the engine that refused tools (start llama-server with --jinja) and the one nothing answers at (start it). */
  const expectBothNamed = (error: InstanceType<typeof OpenAI.APIError>): void => {
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ code: 'inference_unavailable' });
    expect(error.message).toContain('tools param requires --jinja flag');
    expect(error.message).toContain('llama:qwen refused the tools');
    expect(error.message).toContain('start llama-server with `--jinja`');
    expect(error.message).toContain('nothing answers at ollama: start the engine');
  };

  beforeAll(async () => {
    [llamaServer, ollamaEngine] = await Promise.all([startFakeEngine({ kind: 'llama.cpp', jinja: false }), startFakeEngine({ kind: 'ollama' })]);
  });

  afterAll(async () => {
    await Promise.all(gateways.map((each) => each.close()));
    await Promise.all([llamaServer?.close(), ollamaEngine?.close()]);
  });

  it('gets a 503 that names the refusal and the engine down, with the fix of each: tried in one walk, down before the route, then the refusal known', async () => {
    const mixed = await startMixed();
    const openai = new OpenAI({ baseURL: `${mixed.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    // Both engines answered the probe (kept 5 s) when Ollama stops: the walk tries llama, then Ollama.
    await openai.chat.completions.create({ model: 'coder', messages: [{ role: 'user', content: QUESTION }] });
    await ollamaEngine.close();
    const walked = await unavailable(mixed);
    expectBothNamed(walked);
    await mixed.settled();
    const walk = mixed.store.db.prepare("SELECT provider_id, state FROM evidence WHERE kind = 'invocation' ORDER BY row_key").all().slice(1);
    expect(walk).toHaveLength(2);
    expect(walk).toEqual(expect.arrayContaining([{ provider_id: 'llama', state: 'failed' }, { provider_id: 'ollama', state: 'failed' }]));
    // Now the route leaves both out before any call: llama for the tools it refused, Ollama as down.
    const posts = llamaServer.exchanges.filter((exchange) => exchange.method === 'POST').length;
    expectBothNamed(await unavailable(mixed));
    expect(llamaServer.exchanges.filter((exchange) => exchange.method === 'POST').length).toBe(posts);

    // A fresh gateway finds Ollama down before routing; llama alone is tried, and refuses: not the request's fault (a 400) while Ollama could take it.
    const fresh = await startMixed();
    const alone = await unavailable(fresh);
    expectBothNamed(alone);
    expect(alone.message).not.toContain('ollama answered');
  });
});

describe('an answer of emoji, accents and CJK, each character split over several stream chunks', () => {
  // 👋🏽 and 🇫🇷 are two code points each (four UTF-8 bytes apiece): the engine's tokens end inside them.
  const ANSWER = 'Héllo 👋🏽 wörld — 日本語 🇫🇷 done.';
  let engine: FakeEngine;
  let unicode: TestGateway;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama', answer: ANSWER });
    unicode = await startTestGateway({ providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL }] }] });
  });

  afterAll(async () => {
    await unicode?.close();
    await engine?.close();
  });

  it('reaches every client whole, streamed as not, in more than one delta', async () => {
    const model = `ollama:${OLLAMA_MODEL}`;
    const messages = [{ role: 'user' as const, content: QUESTION }];
    const openai = new OpenAI({ baseURL: `${unicode.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const deltas: string[] = [];
    for await (const chunk of await openai.chat.completions.create({ model, messages, stream: true })) deltas.push(chunk.choices[0]?.delta.content ?? '');
    expect(deltas.filter((delta) => delta !== '').length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(ANSWER);
    expect((await openai.chat.completions.create({ model, messages })).choices[0]?.message.content).toBe(ANSWER);
    const anthropic = new Anthropic({ baseURL: unicode.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    expect((await anthropic.messages.stream({ model, max_tokens: 64, messages }).finalMessage()).content).toEqual([{ type: 'text', text: ANSWER }]);
    expect((await openai.responses.stream({ model, input: QUESTION }).finalResponse()).output_text).toBe(ANSWER);
    const ollama = new Ollama({ host: unicode.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    let streamed = '';
    for await (const part of await ollama.chat({ model, messages, stream: true })) streamed += part.message.content;
    expect(streamed).toBe(ANSWER);
  });
});

describe('a client whose base URL has /v1 where it should not, or lacks it', () => {
  it("the Anthropic SDK given …/v1 and the OpenAI SDK given the root get a 404 saying which base URL to give, and work with it", async () => {
    const root = gateway.url;
    const host = new URL(root).host;
    const anthropicWithV1 = new Anthropic({ baseURL: `${root}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const fromAnthropic = await anthropicWithV1.messages.create({ model: 'auto', max_tokens: 16, messages: [{ role: 'user', content: QUESTION }] }).catch((error: unknown) => error);
    expect(fromAnthropic).toBeInstanceOf(Anthropic.NotFoundError);
    expect((fromAnthropic as Error).message).toContain(`ANTHROPIC_BASE_URL=http://${host})`);
    const openAIWithoutV1 = new OpenAI({ baseURL: root, apiKey: TEST_TOKEN, maxRetries: 0 });
    const fromOpenAI = await openAIWithoutV1.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] }).catch((error: unknown) => error);
    expect(fromOpenAI).toBeInstanceOf(OpenAI.NotFoundError);
    expect((fromOpenAI as Error).message).toContain(`OPENAI_BASE_URL=http://${host}/v1)`);
    // Given as the clue says, both are answered.
    const answered = await new Anthropic({ baseURL: `http://${host}`, apiKey: TEST_TOKEN, maxRetries: 0 }).messages.create({ model: 'auto', max_tokens: 16, messages: [{ role: 'user', content: QUESTION }] });
    expect(answered.type).toBe('message');
    const completion = await new OpenAI({ baseURL: `http://${host}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 }).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion.object).toBe('chat.completion');
    // A path that is no gateway route either way gets no clue.
    const nowhere = await fetch(`${root}/nowhere`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(((await nowhere.json()) as { error: { message: string } }).error.message).not.toContain('base URL');
  });
});
