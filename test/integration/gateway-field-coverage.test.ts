/**
 * Every field of every gateway face, one at a time, holding the only secret of its request: the
 * hosted provider either never sees the secret (the gateway drops the field: the request goes,
 * without it) or is sent nothing (the field is scanned, or refused). A field that reached a hosted
 * provider unscanned would fail here. The fields are those of the red-team pass in the README's
 * Privacy and routing section; images have their own test (gateway-image-bytes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';

let openai: FakeEngine;
let claude: FakeEngine;
/** An operator's workstation on the tailnet: hosted, an Ollama engine that takes text completions and embeddings. */
let workstation: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [openai, claude, workstation] = await Promise.all([
    startFakeEngine({ kind: 'openai' }),
    startFakeEngine({ kind: 'anthropic' }),
    startFakeEngine({ kind: 'ollama', models: [{ id: 'qwen2.5-coder:1.5b', fillInMiddle: true }, { id: 'nomic-embed-text:latest', embedding: true }] }),
  ]);
  gateway = await startTestGateway({
    providers: [
      { id: 'openai', class: 'approved_hosted', wire: 'openai', vendor: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: 'gpt-4o-mini', tags: ['tools'], price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] },
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', vendor: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      {
        id: 'workstation',
        class: 'approved_hosted',
        wire: 'openai',
        baseUrl: workstation.baseUrl,
        models: [
          { id: 'qwen2.5-coder:1.5b', tags: ['completions', 'fill-in-middle'], price: { inputPerMTok: 0.01, outputPerMTok: 0.01 } },
          { id: 'nomic-embed-text:latest', kind: 'embedding', price: { inputPerMTok: 0.01, outputPerMTok: 0 } },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), claude?.close(), workstation?.close()]);
});

/** `dropped`: the request goes without the field; `refused`: nothing is sent (the secret was found, or the field is refused). */
type Outcome = 'dropped' | 'refused';
interface Probe {
  field: string;
  path: string;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  outcome: Outcome;
}

const CHAT_MODELS = ['openai:gpt-4o-mini', 'claude:claude-sonnet-4-20250514'];
const hi = [{ role: 'user', content: 'hi' }];
const toolTurn = (call: Record<string, unknown>, result: Record<string, unknown> = { role: 'tool', tool_call_id: 'c1', content: 'ok' }): unknown[] => [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', ...call }] }, result];
const fn = [{ type: 'function', function: { name: 'f' } }];

const chatProbes = (model: string): Probe[] => {
  const chat = (field: string, outcome: Outcome, body: Record<string, unknown>): Probe => ({ field, path: '/v1/chat/completions', body: { model, messages: hi, ...body }, outcome });
  return [
    chat('user', 'dropped', { user: KEY }),
    chat('metadata', 'dropped', { metadata: { note: KEY } }),
    chat('prediction', 'dropped', { prediction: { type: 'content', content: KEY } }),
    chat('logit_bias keys', 'dropped', { logit_bias: { [KEY]: 1 } }),
    chat('an unknown top-level key', 'dropped', { [KEY]: 1 }),
    chat('messages[].name', 'dropped', { messages: [{ role: 'user', name: KEY, content: 'hi' }] }),
    chat('an unknown key of a content part', 'dropped', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', note: KEY }] }] }),
    chat('response_format.json_schema.description', 'dropped', { response_format: { type: 'json_schema', json_schema: { name: 'answer', description: KEY, schema: { type: 'object' } } } }),
    chat('stream_options', 'dropped', { stream: true, stream_options: { include_usage: true, note: KEY } }),
    chat('audio', 'refused', { audio: { voice: KEY, format: 'wav' } }),
    chat('n', 'refused', { n: 2, user: KEY }),
    chat('an input_audio part', 'refused', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: Buffer.from(KEY).toString('base64'), format: 'wav' } }] }] }),
    chat('a file part', 'refused', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: Buffer.from(KEY).toString('base64') } }] }] }),
    chat('system message', 'refused', { messages: [{ role: 'system', content: KEY }, ...hi] }),
    chat('developer message', 'refused', { messages: [{ role: 'developer', content: KEY }, ...hi] }),
    chat('a refusal part', 'refused', { messages: [...hi, { role: 'assistant', content: [{ type: 'refusal', refusal: KEY }] }, ...hi] }),
    chat('stop', 'refused', { stop: [KEY] }),
    chat('tools[].function.name', 'refused', { tools: [{ type: 'function', function: { name: `f-${KEY}` } }] }),
    chat('tools[].function.description', 'refused', { tools: [{ type: 'function', function: { name: 'f', description: KEY } }] }),
    chat('tools[].function.parameters enum', 'refused', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', enum: [KEY] } } } } }] }),
    chat('tools[].function.parameters description', 'refused', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', description: KEY } } } } }] }),
    chat('custom tool grammar', 'refused', { tools: [{ type: 'custom', custom: { name: 'p', format: { type: 'grammar', grammar: { syntax: 'lark', definition: `start: "${KEY}"` } } } }] }),
    chat('tool_choice naming no tool', 'refused', { tools: fn, tool_choice: { type: 'function', function: { name: KEY } } }),
    chat('response_format.json_schema.name', 'refused', { response_format: { type: 'json_schema', json_schema: { name: KEY, schema: { type: 'object' } } } }),
    chat('response_format.json_schema.schema', 'refused', { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { const: KEY } } } } } }),
    chat('tool_calls[].id', 'refused', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: '{}' } }).map((message, index) => (index === 1 ? { role: 'assistant', content: null, tool_calls: [{ id: KEY, type: 'function', function: { name: 'f', arguments: '{}' } }] } : index === 2 ? { role: 'tool', tool_call_id: KEY, content: 'ok' } : message)) }),
    chat('tool_calls[].function.arguments (string, escaped)', 'refused', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: '{"k":"\\u0041KIAIOSFODNN7EXAMPLE"}' } }) }),
    chat('tool_calls[].function.arguments (object)', 'refused', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: { k: KEY } } }) }),
    chat('a custom tool call input', 'refused', { tools: [{ type: 'custom', custom: { name: 'p' } }], messages: [...hi, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'p', input: KEY } }] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }] }),
    chat('a tool result', 'refused', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: '{}' } }, { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: KEY }] }) }),
    chat('image_url.url query', 'refused', { messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: `https://example.com/a.png?X-Amz-Credential=${KEY}` } }] }] }),
  ];
};

const messagesProbes = (model: string): Probe[] => {
  const messages = (field: string, outcome: Outcome, body: Record<string, unknown>, headers?: Record<string, string>): Probe => ({
    field,
    path: '/v1/messages',
    body: { model, max_tokens: 16, messages: hi, ...body },
    ...(headers === undefined ? {} : { headers }),
    outcome,
  });
  const tool = [{ name: 'f', input_schema: { type: 'object' } }];
  const toolResult = (content: unknown): unknown[] => [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content }] }];
  return [
    messages('metadata.user_id', 'dropped', { metadata: { user_id: KEY } }),
    messages('container', 'dropped', { container: KEY }),
    messages('an unknown top-level key', 'dropped', { [KEY]: 1 }),
    messages('citations of a system block', 'dropped', { system: [{ type: 'text', text: 'be brief', citations: [{ cited_text: KEY }] }] }),
    messages('citations of a text block', 'dropped', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', citations: [{ type: 'char_location', cited_text: KEY }] }] }] }),
    messages('an unknown key of thinking', 'dropped', { thinking: { type: 'disabled', note: KEY } }),
    messages('tools[].input_examples', 'dropped', { tools: [{ name: 'f', input_schema: { type: 'object' }, input_examples: [{ a: KEY }] }] }),
    messages('an unknown key of tool_choice', 'dropped', { tools: tool, tool_choice: { type: 'auto', note: KEY } }),
    messages('a user-agent header', 'dropped', {}, { 'user-agent': KEY }),
    messages('any other client header', 'dropped', {}, { 'x-request-note': KEY }),
    messages('system blocks', 'refused', { system: [{ type: 'text', text: 'be brief' }, { type: 'text', text: KEY, cache_control: { type: 'ephemeral' } }] }),
    messages('a document block', 'refused', { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: KEY } }] }] }),
    messages('a search_result block', 'refused', { messages: [{ role: 'user', content: [{ type: 'search_result', source: 'https://example.com', title: 't', content: [{ type: 'text', text: KEY }] }] }] }),
    messages('mcp_servers', 'refused', { mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'x', authorization_token: KEY }] }),
    messages('a server tool', 'refused', { tools: [{ type: 'web_search_20250305', name: 'web_search', allowed_domains: [KEY] }] }),
    messages('tool_use.input', 'refused', { tools: tool, messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { a: KEY } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] }] }),
    messages('tool_result nested text blocks', 'refused', { tools: tool, messages: toolResult([{ type: 'text', text: 'ok' }, { type: 'text', text: KEY }]) }),
    messages('a document inside a tool_result', 'refused', { tools: tool, messages: toolResult([{ type: 'document', source: { type: 'text', data: KEY } }]) }),
    messages('tools[].input_schema description', 'refused', { tools: [{ name: 'f', input_schema: { type: 'object', properties: { a: { type: 'string', description: KEY } } } }] }),
    messages('tools[].input_schema enum', 'refused', { tools: [{ name: 'f', input_schema: { type: 'object', properties: { a: { type: 'string', enum: [KEY] } } } }] }),
    messages('a thinking block', 'refused', { messages: [...hi, { role: 'assistant', content: [{ type: 'thinking', thinking: KEY, signature: 'sig' }, { type: 'text', text: 'ok' }] }, ...hi] }),
    messages("a thinking block's signature", 'refused', { messages: [...hi, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: KEY }, { type: 'text', text: 'ok' }] }, ...hi] }),
    messages('a redacted_thinking block', 'refused', { messages: [...hi, { role: 'assistant', content: [{ type: 'redacted_thinking', data: KEY }, { type: 'text', text: 'ok' }] }, ...hi] }),
    messages('output_config.format schema', 'refused', { output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string', enum: [KEY] } } } } } }),
    messages('stop_sequences', 'refused', { stop_sequences: [KEY] }),
    messages('the anthropic-beta header', 'refused', {}, { 'anthropic-beta': `beta-${KEY}` }),
  ];
};

const responses = (field: string, outcome: Outcome, body: Record<string, unknown>): Probe => ({ field, path: '/v1/responses', body: { model: 'openai:gpt-4o-mini', input: 'hi', ...body }, outcome });
const call = { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' };
const RESPONSES_PROBES: Probe[] = [
  responses('metadata', 'dropped', { metadata: { note: KEY } }),
  responses('user', 'dropped', { user: KEY }),
  responses('safety_identifier', 'dropped', { safety_identifier: KEY }),
  responses('prompt_cache_key', 'dropped', { prompt_cache_key: KEY }),
  responses('text.verbosity', 'dropped', { text: { verbosity: KEY } }),
  responses('a reasoning item', 'dropped', { input: [{ role: 'user', content: 'hi' }, { type: 'reasoning', id: 'r1', summary: [{ type: 'summary_text', text: KEY }], encrypted_content: KEY }] }),
  responses('text.format description', 'dropped', { text: { format: { type: 'json_schema', name: 'answer', description: KEY, schema: { type: 'object' } } } }),
  responses('instructions', 'refused', { instructions: KEY }),
  responses('prompt', 'refused', { prompt: { id: 'pmpt_1', variables: { key: KEY } } }),
  responses('an input_file part', 'refused', { input: [{ role: 'user', content: [{ type: 'input_file', file_data: Buffer.from(KEY).toString('base64') }] }] }),
  responses('a hosted tool', 'refused', { tools: [{ type: 'web_search', filters: { allowed_domains: [KEY] } }] }),
  responses('tools[].parameters', 'refused', { tools: [{ type: 'function', name: 'f', parameters: { type: 'object', description: KEY } }] }),
  responses('function_call arguments', 'refused', { tools: [{ type: 'function', name: 'f' }], input: [{ role: 'user', content: 'hi' }, { ...call, arguments: `{"a":"${KEY}"}` }, { type: 'function_call_output', call_id: 'c1', output: 'ok' }] }),
  responses('function_call_output parts', 'refused', { tools: [{ type: 'function', name: 'f' }], input: [{ role: 'user', content: 'hi' }, call, { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: KEY }] }] }),
];

const LEGACY_PROBES: Probe[] = [
  { field: 'completions user', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'def add(a, b):', user: KEY }, outcome: 'dropped' },
  { field: 'completions logit_bias', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'def add(a, b):', logit_bias: { [KEY]: 1 } }, outcome: 'dropped' },
  { field: 'completions prompt', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: KEY }, outcome: 'refused' },
  { field: 'completions suffix', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'x = ', suffix: KEY }, outcome: 'refused' },
  { field: 'embeddings user', path: '/v1/embeddings', body: { model: 'workstation:nomic-embed-text:latest', input: 'hello', user: KEY }, outcome: 'dropped' },
  { field: 'embeddings input', path: '/v1/embeddings', body: { model: 'workstation:nomic-embed-text:latest', input: ['hello', KEY] }, outcome: 'refused' },
];

const ollama = (field: string, outcome: Outcome, path: string, body: Record<string, unknown>): Probe => ({ field, path, body: { stream: false, ...body }, outcome });
const OLLAMA_PROBES: Probe[] = [
  ...CHAT_MODELS.flatMap((model) => [
    ollama(`${model} chat options`, 'dropped', '/api/chat', { model, messages: hi, options: { num_ctx: 4096, note: KEY } }),
    ollama(`${model} chat keep_alive`, 'dropped', '/api/chat', { model, messages: hi, keep_alive: '5m', note: KEY }),
    ollama(`${model} chat a message's thinking`, 'dropped', '/api/chat', { model, messages: [...hi, { role: 'assistant', content: 'ok', thinking: KEY }, ...hi] }),
    ollama(`${model} chat content`, 'refused', '/api/chat', { model, messages: [{ role: 'user', content: KEY }] }),
    ollama(`${model} chat options.stop`, 'refused', '/api/chat', { model, messages: hi, options: { stop: [KEY] } }),
    ollama(`${model} chat format schema`, 'refused', '/api/chat', { model, messages: hi, format: { type: 'object', description: KEY } }),
    ollama(`${model} chat tool_calls arguments`, 'refused', '/api/chat', { model, tools: fn, messages: [...hi, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: KEY } } }] }, { role: 'tool', content: 'ok' }] }),
    ollama(`${model} generate system`, 'refused', '/api/generate', { model, prompt: 'hi', system: KEY }),
    ollama(`${model} generate template`, 'refused', '/api/generate', { model, prompt: 'hi', template: `{{ .Prompt }} ${KEY}` }),
    ollama(`${model} generate context`, 'refused', '/api/generate', { model, prompt: KEY, context: [1, 2, 3] }),
  ]),
  ollama('generate raw prompt', 'refused', '/api/generate', { model: 'workstation:qwen2.5-coder:1.5b', prompt: KEY, raw: true }),
  ollama('generate suffix', 'refused', '/api/generate', { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'x = ', suffix: KEY }),
  ollama('embed input', 'refused', '/api/embed', { model: 'workstation:nomic-embed-text:latest', input: [KEY] }),
  ollama('embeddings prompt', 'refused', '/api/embeddings', { model: 'workstation:nomic-embed-text:latest', prompt: KEY }),
];

const HEADER_PROBES: Probe[] = [
  { field: 'x-api-key and OpenAI organization headers', path: '/v1/chat/completions', headers: { 'x-api-key': KEY, 'openai-organization': KEY, 'openai-project': KEY }, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
  { field: 'x-syndicate-session', path: '/v1/chat/completions', headers: { 'x-syndicate-session': KEY }, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
  { field: 'the query string', path: `/v1/chat/completions?note=${KEY}`, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
  { field: 'a provider:model naming no model', path: '/v1/chat/completions', body: { model: `openai:${KEY}`, messages: hi }, outcome: 'refused' },
];

/** The inference requests each engine received, every byte of them (path, headers, body). */
const received = (engine: FakeEngine): string[] =>
  engine.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => `${exchange.path} ${JSON.stringify(exchange.requestHeaders)} ${exchange.requestBody.toString('latin1')}`);

async function probe({ path, body, headers, outcome }: Probe): Promise<void> {
  const engines = [openai, claude, workstation];
  const before = engines.map((engine) => received(engine).length);
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const answer = await response.text();
  await gateway.settled();
  const sent = engines.flatMap((engine, index) => received(engine).slice(before[index]));
  for (const request of sent) expect(request).not.toContain(KEY);
  if (outcome === 'refused') {
    expect(response.status, answer).toBeGreaterThanOrEqual(400);
    expect(response.status, answer).toBeLessThan(500);
    expect(sent).toEqual([]);
  } else {
    expect(response.status, answer).toBe(200);
    expect(sent).toHaveLength(1);
  }
}

describe('no field carries a secret to a hosted provider unscanned', () => {
  describe.each(CHAT_MODELS)('OpenAI chat completions to %s', (model) => {
    it.each(chatProbes(model).map((entry) => [entry.field, entry.outcome, entry] as const))('%s: %s', async (_field, _outcome, entry) => probe(entry));
  });
  describe.each(CHAT_MODELS)('Anthropic messages to %s', (model) => {
    it.each(messagesProbes(model).map((entry) => [entry.field, entry.outcome, entry] as const))('%s: %s', async (_field, _outcome, entry) => probe(entry));
  });
  describe('OpenAI responses', () => {
    it.each(RESPONSES_PROBES.map((entry) => [entry.field, entry.outcome, entry] as const))('%s: %s', async (_field, _outcome, entry) => probe(entry));
  });
  describe('OpenAI completions and embeddings', () => {
    it.each(LEGACY_PROBES.map((entry) => [entry.field, entry.outcome, entry] as const))('%s: %s', async (_field, _outcome, entry) => probe(entry));
  });
  describe('Ollama', () => {
    it.each(OLLAMA_PROBES.map((entry) => [entry.field, entry.outcome, entry] as const))('%s: %s', async (_field, _outcome, entry) => probe(entry));
  });
  describe('headers, query and model', () => {
    it.each(HEADER_PROBES.map((entry) => [entry.field, entry.outcome, entry] as const))('%s: %s', async (_field, _outcome, entry) => probe(entry));
  });
});
