/**
 * Structured outputs across wires, through a real gateway with the official clients. An OpenAI
 * client's `response_format` json_schema (Responses: `text.format`) reaches Anthropic's own API
 * (a record with `vendor: anthropic`) as `output_config.format`, the GA form, which needs no beta
 * header (platform.claude.com/docs/en/build-with-claude/structured-outputs: "The output_format
 * parameter has moved to output_config.format, and beta headers are no longer required"); another
 * anthropic-wire server keeps the system-prompt instruction. An Anthropic client's
 * `output_config.format` (or the beta's `output_format`) reaches an OpenAI-wire engine as
 * `response_format` json_schema, which vLLM, llama-server and Ollama enforce by grammar. The
 * answer is the JSON text either way: OpenAI's `message.content`, Anthropic's text block.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { ANTHROPIC_JSON_INSTRUCTION } from '../../src/wire/anthropic/adapter.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine, type RecordedExchange } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE_MODEL = 'claude-sonnet-5-5';
const CLAUDE = `claude:${CLAUDE_MODEL}`;
/** The same fake Anthropic server behind a record without `vendor` (a third-party anthropic-wire server). */
const PROXY = `proxy:${CLAUDE_MODEL}`;
const LOCAL = 'vllm:qwen3-8b';
const QUESTION = 'Largest city of France, and its population?';

const CITY_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, population: { type: 'integer' } },
  required: ['city', 'population'],
  additionalProperties: false,
};
/** What the fake models write for CITY_SCHEMA. */
const CITY = { city: DEFAULT_ANSWER, population: 42 };

let claude: FakeEngine;
let vllm: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [claude, vllm] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: CLAUDE_MODEL }] }), startFakeEngine({ kind: 'vllm', models: [{ id: 'qwen3-8b' }] })]);
  const claudeModels = [{ id: CLAUDE_MODEL, price: { inputPerMTok: 2, outputPerMTok: 10 } }];
  gateway = await startTestGateway({
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', vendor: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: claudeModels },
      { id: 'proxy', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: claudeModels },
      { id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: 'qwen3-8b' }] },
      { id: 'openai', class: 'approved_hosted', wire: 'openai', vendor: 'openai', baseUrl: vllm.baseUrl, auth: true, models: [{ id: 'qwen3-8b', price: { inputPerMTok: 1, outputPerMTok: 4 } }] },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude?.close(), vllm?.close()]);
});

const openaiClient = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const anthropicClient = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const sentBody = (exchange: RecordedExchange | undefined): Record<string, unknown> => JSON.parse(exchange?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>;
const responseFormat = { type: 'json_schema' as const, json_schema: { name: 'city', schema: CITY_SCHEMA, strict: true } };

describe('an OpenAI client’s json_schema to Anthropic’s own API', () => {
  it('is sent as output_config.format, no beta header, no instruction; message.content is the JSON', async () => {
    const completion = await openaiClient().chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: QUESTION }], response_format: responseFormat });
    const sent = claude.exchanges.at(-1);
    expect(sentBody(sent)).toMatchObject({ output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } });
    expect(sentBody(sent)['system']).toBeUndefined();
    expect(sent?.requestHeaders['anthropic-beta']).toBeUndefined();
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual(CITY);
  });

  it('streamed, the content deltas join to the JSON', async () => {
    const stream = await openaiClient().chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: QUESTION }], response_format: responseFormat, stream: true });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(sentBody(claude.exchanges.at(-1))).toMatchObject({ stream: true, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } });
    expect(JSON.parse(content)).toEqual(CITY);
  });

  it('from the Responses API’s text.format too, streamed and not', async () => {
    const response = await openaiClient().responses.create({ model: CLAUDE, input: QUESTION, text: { format: { type: 'json_schema', name: 'city', schema: CITY_SCHEMA, strict: true } } });
    expect(sentBody(claude.exchanges.at(-1))).toMatchObject({ output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } });
    expect(JSON.parse(response.output_text)).toEqual(CITY);
    const streamed = await openaiClient().responses.stream({ model: CLAUDE, input: QUESTION, text: { format: { type: 'json_schema', name: 'city', schema: CITY_SCHEMA, strict: true } } }).finalResponse();
    expect(sentBody(claude.exchanges.at(-1))).toMatchObject({ stream: true, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } });
    expect(JSON.parse(streamed.output_text)).toEqual(CITY);
  });

  it('a record without vendor: anthropic keeps the system-prompt instruction, and the evidence says why', async () => {
    const { response } = await openaiClient().chat.completions.create({ model: PROXY, messages: [{ role: 'user', content: QUESTION }], response_format: responseFormat }).withResponse();
    const body = sentBody(claude.exchanges.at(-1));
    expect(body['output_config']).toBeUndefined();
    expect(body['system']).toBe(`${ANTHROPIC_JSON_INSTRUCTION} It must validate against this JSON Schema: ${JSON.stringify(CITY_SCHEMA)}`);
    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.warnings).toContainEqual(expect.objectContaining({ setting: 'responseFormat', message: expect.stringContaining('vendor: anthropic') }));
    // Sent, but not as a format the provider enforces: the client is told the field was changed (a
    // `chat.completions.parse()` that fails on prose has its clue), and nothing was ignored.
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('response_format');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    // The Responses API names its own field; Anthropic's own API enforces the format: nothing named.
    const { response: viaResponses } = await openaiClient()
      .responses.create({ model: PROXY, input: QUESTION, text: { format: { type: 'json_schema', name: 'city', schema: CITY_SCHEMA, strict: true } } })
      .withResponse();
    expect(viaResponses.headers.get('x-syndicate-changed-fields')).toBe('text.format');
    const { response: enforced } = await openaiClient().chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: QUESTION }], response_format: responseFormat }).withResponse();
    expect(enforced.headers.get('x-syndicate-changed-fields')).toBeNull();
  });

  it('an Anthropic client’s output_config.format (or output_format) to a record without vendor: anthropic is named changed in its own field name', async () => {
    const request = { model: PROXY, max_tokens: 256, messages: [{ role: 'user' as const, content: QUESTION }] };
    const { response } = await anthropicClient()
      .messages.create({ ...request, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } })
      .withResponse();
    expect(sentBody(claude.exchanges.at(-1))['output_config']).toBeUndefined();
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('output_config.format');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    // The SDK's beta client now sends `output_format` as `output_config.format`; an older client sends it as it is.
    const beta = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_TOKEN, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'structured-outputs-2025-11-13', 'content-type': 'application/json' },
      body: JSON.stringify({ ...request, output_format: { type: 'json_schema', schema: CITY_SCHEMA } }),
    });
    expect(beta.status, await beta.clone().text()).toBe(200);
    expect(beta.headers.get('x-syndicate-changed-fields')).toBe('output_format');
    const { response: enforced } = await anthropicClient()
      .messages.create({ ...request, model: CLAUDE, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } })
      .withResponse();
    expect(enforced.headers.get('x-syndicate-changed-fields')).toBeNull();
  });
});

describe('an Anthropic client’s structured output to an OpenAI-wire engine', () => {
  const request = { model: LOCAL, max_tokens: 256, messages: [{ role: 'user' as const, content: QUESTION }] };

  it('output_config.format is sent as response_format json_schema, strict (the schema fits strict mode); the text block is the JSON', async () => {
    const { data: message, response } = await anthropicClient()
      .messages.create({ ...request, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } })
      .withResponse();
    expect(sentBody(vllm.exchanges.at(-1))['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: CITY_SCHEMA, strict: true } });
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    expect(message.content).toHaveLength(1);
    expect(message.content[0]?.type === 'text' ? JSON.parse(message.content[0].text) : undefined).toEqual(CITY);
  });

  it('streamed', async () => {
    const message = await anthropicClient()
      .messages.stream({ ...request, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } })
      .finalMessage();
    expect(sentBody(vllm.exchanges.at(-1))).toMatchObject({ stream: true, response_format: { type: 'json_schema', json_schema: { schema: CITY_SCHEMA } } });
    expect(message.content[0]?.type === 'text' ? JSON.parse(message.content[0].text) : undefined).toEqual(CITY);
  });

  it('the beta’s output_format (structured-outputs-2025-11-13) too', async () => {
    const message = await anthropicClient().beta.messages.create({
      ...request,
      betas: ['structured-outputs-2025-11-13'],
      output_format: { type: 'json_schema', schema: CITY_SCHEMA },
    });
    expect(sentBody(vllm.exchanges.at(-1))['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: CITY_SCHEMA, strict: true } });
    expect(message.content[0]?.type === 'text' ? JSON.parse(message.content[0].text) : undefined).toEqual(CITY);
  });

  it('a schema outside strict mode goes without strict: to OpenAI’s own API that is named changed; to an engine (grammar) it is not', async () => {
    const loose = { type: 'object', properties: { city: { type: 'string' } } };
    const { response: hinted } = await anthropicClient()
      .messages.create({ ...request, model: 'openai:qwen3-8b', output_config: { format: { type: 'json_schema', schema: loose } } })
      .withResponse();
    expect(sentBody(vllm.exchanges.at(-1))['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: loose } });
    expect(hinted.headers.get('x-syndicate-changed-fields')).toBe('output_config.format');
    const { response: grammar } = await anthropicClient()
      .messages.create({ ...request, output_config: { format: { type: 'json_schema', schema: loose } } })
      .withResponse();
    expect(sentBody(vllm.exchanges.at(-1))['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: loose } });
    expect(grammar.headers.get('x-syndicate-changed-fields')).toBeNull();
    // An OpenAI client's own format without strict went as it was sent: nothing changed.
    const { response: asSent } = await openaiClient()
      .chat.completions.create({ model: 'openai:qwen3-8b', messages: [{ role: 'user', content: QUESTION }], response_format: { type: 'json_schema', json_schema: { name: 'city', schema: loose } } })
      .withResponse();
    expect(asSent.headers.get('x-syndicate-changed-fields')).toBeNull();
  });

  it('and to Anthropic’s own API as output_config.format, as the client sent it', async () => {
    const message = await anthropicClient().messages.create({ ...request, model: CLAUDE, output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } });
    expect(sentBody(claude.exchanges.at(-1))).toMatchObject({ output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } } });
    expect(message.content[0]?.type === 'text' ? JSON.parse(message.content[0].text) : undefined).toEqual(CITY);
  });
});

describe('JSON mode to LM Studio, which refuses json_object', () => {
  // LM Studio answers `response_format: {"type":"json_object"}` with 400 "'response_format.type'
  // must be 'json_schema' or 'text'" (lmstudio-bug-tracker #169): syndicate sends it the schema of
  // any object instead, which LM Studio's grammar enforces, so JSON mode works as with OpenAI.
  let lmstudio: FakeEngine;
  let local: TestGateway;
  beforeAll(async () => {
    lmstudio = await startFakeEngine({ kind: 'lmstudio' });
    local = await startTestGateway({ providers: [{ id: 'lms', class: 'local', wire: 'openai', engine: 'lmstudio', baseUrl: lmstudio.baseUrl, models: [{ id: 'qwen2.5-7b-instruct' }] }] });
  });
  afterAll(async () => {
    await local?.close();
    await lmstudio?.close();
  });
  const lastChat = (): Record<string, unknown> => sentBody(lmstudio.exchanges.filter((exchange) => exchange.path.endsWith('/chat/completions')).at(-1));

  it("an OpenAI client's json_object (Chat Completions and Responses) is answered with a JSON object, not LM Studio's 400", async () => {
    const client = new OpenAI({ baseURL: `${local.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'lms:qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'Answer in JSON.' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toBeTypeOf('object');
    expect(lastChat()['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'json_object', schema: { type: 'object' } } });
    expect(completion.choices[0]?.finish_reason).toBe('stop');

    const response = await client.responses.create({ model: 'lms:qwen2.5-7b-instruct', input: 'Answer in JSON.', text: { format: { type: 'json_object' } } });
    expect(JSON.parse(response.output_text)).toBeTypeOf('object');
    expect(lastChat()['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'json_object', schema: { type: 'object' } } });
  });
});
