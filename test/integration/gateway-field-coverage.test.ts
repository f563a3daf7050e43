/**
 * Every field of every gateway face, one at a time, holding the only secret of its request: the
 * hosted provider either never sees the secret (the gateway drops the field: the request goes,
 * without it) or is sent nothing (the field is scanned, or refused). A field that reached a hosted
 * provider unscanned would fail here. The fields are those of the red-team pass in the README's
 * Privacy and routing section; images have their own test (gateway-image-bytes). A request the
 * policy refuses (403) is refused at the secret's level, restricted. A field added to a face is
 * added here: one line, a body with the secret in it and what must become of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
/** A private key block: its line breaks are escaped (`\\n`) wherever the field is JSON (a schema, tool arguments). */
const PRIVATE_KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${PRIVATE_KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----`;

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
  /** What of the secret must not reach a provider, when it is not KEY (a private key's body). */
  secret?: string;
}

const CHAT_MODELS = ['openai:gpt-4o-mini', 'claude:claude-sonnet-4-20250514'];
const hi = [{ role: 'user', content: 'hi' }];
const toolTurn = (call: Record<string, unknown>, result: Record<string, unknown> = { role: 'tool', tool_call_id: 'c1', content: 'ok' }): unknown[] => [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', ...call }] }, result];
const fn = [{ type: 'function', function: { name: 'f' } }];

const chatProbes = (model: string): Probe[] => {
  const chat = (field: string, outcome: Outcome, body: Record<string, unknown>, secret?: string): Probe => ({ field, path: '/v1/chat/completions', body: { model, messages: hi, ...body }, outcome, ...(secret === undefined ? {} : { secret }) });
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
    chat('tool message name', 'dropped', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: '{}' } }, { role: 'tool', tool_call_id: 'c1', name: KEY, content: 'ok' }) }),
    chat("an assistant's reasoning_content, reasoning and audio", 'dropped', { messages: [...hi, { role: 'assistant', content: 'ok', reasoning_content: KEY, reasoning: KEY, audio: { id: KEY } }, ...hi] }),
    chat('service_tier, verbosity, modalities, prompt_cache_key, safety_identifier, store', 'dropped', { service_tier: KEY, verbosity: KEY, modalities: [KEY], prompt_cache_key: KEY, safety_identifier: KEY, store: true }),
    chat('web_search_options', 'dropped', { web_search_options: { user_location: { approximate: { city: KEY } } } }),
    chat('engine extras (chat_template_kwargs, guided_json)', 'dropped', { chat_template_kwargs: { note: KEY }, top_k: 5, guided_json: { description: KEY } }),
    chat('stop (a string)', 'refused', { stop: KEY }),
    chat("an assistant's text", 'refused', { messages: [...hi, { role: 'assistant', content: KEY }, ...hi] }),
    chat('legacy functions', 'refused', { functions: [{ name: 'f', description: KEY }] }),
    chat('tools[].function.parameters default', 'refused', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', default: KEY } } } } }] }),
    chat('tools[].function.parameters examples', 'refused', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', examples: [KEY] } } } } }] }),
    chat('tools[].function.parameters property names', 'refused', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { [KEY]: { type: 'string' } } } } }] }),
    chat('tools[].function.parameters default (a private key)', 'refused', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', default: PRIVATE_KEY } } } } }] }, PRIVATE_KEY_BODY),
    chat('tools[].function.description (a private key)', 'refused', { tools: [{ type: 'function', function: { name: 'f', description: PRIVATE_KEY } }] }, PRIVATE_KEY_BODY),
    chat('tool_calls[].function.name', 'refused', { tools: fn, messages: toolTurn({ function: { name: `g${KEY}`, arguments: '{}' } }) }),
    chat('tool_calls[].function.arguments (a private key)', 'refused', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: JSON.stringify({ k: PRIVATE_KEY }) } }) }, PRIVATE_KEY_BODY),
    chat('a tool result (a private key)', 'refused', { tools: fn, messages: toolTurn({ function: { name: 'f', arguments: '{}' } }, { role: 'tool', tool_call_id: 'c1', content: PRIVATE_KEY }) }, PRIVATE_KEY_BODY),
    chat('response_format.json_schema.schema default', 'refused', { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string', default: KEY } } } } } }),
    chat("a data URL image's media type", 'refused', { messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: `data:image/${KEY};base64,iVBORw0KGgo=` } }] }] }),
    chat('a data URL image that decodes to text', 'refused', { messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from(`key ${KEY}`).toString('base64')}` } }] }] }),
  ];
};

const messagesProbes = (model: string): Probe[] => {
  const messages = (field: string, outcome: Outcome, body: Record<string, unknown>, headers?: Record<string, string>, secret?: string): Probe => ({
    field,
    path: '/v1/messages',
    body: { model, max_tokens: 16, messages: hi, ...body },
    ...(headers === undefined ? {} : { headers }),
    outcome,
    ...(secret === undefined ? {} : { secret }),
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
    messages('an unknown key of a tool_result', 'dropped', { tools: tool, messages: toolResult('ok').map((message, index) => (index === 2 ? { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok', note: KEY }] } : message)) }),
    messages("citations of a tool_result's text block", 'dropped', { tools: tool, messages: toolResult([{ type: 'text', text: 'ok', citations: [{ cited_text: KEY }] }]) }),
    messages('an unknown key of a tool', 'dropped', { tools: [{ name: 'f', input_schema: { type: 'object' }, note: KEY }] }),
    messages('service_tier, inference_geo, context_management', 'dropped', { service_tier: KEY, inference_geo: KEY, context_management: { edits: [{ type: KEY }] } }),
    messages('an unknown key of metadata', 'dropped', { metadata: { user_id: 'u', note: KEY } }),
    messages('other client headers (anthropic-version, x-stainless-*)', 'dropped', {}, { 'anthropic-version': KEY, 'x-stainless-os': KEY }),
    messages('system (a string)', 'refused', { system: KEY }),
    messages("an assistant's text", 'refused', { messages: [...hi, { role: 'assistant', content: KEY }, ...hi] }),
    messages('tool_choice naming no tool', 'refused', { tools: tool, tool_choice: { type: 'tool', name: KEY } }),
    messages('tool_result with is_error', 'refused', { tools: tool, messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: KEY }] }] }),
    messages('tool_result (a private key)', 'refused', { tools: tool, messages: toolResult(PRIVATE_KEY) }, undefined, PRIVATE_KEY_BODY),
    messages("a tool_result image's URL", 'refused', { tools: tool, messages: toolResult([{ type: 'image', source: { type: 'url', url: `https://example.com/a.png?k=${KEY}` } }]) }),
    messages("a tool_result image's media_type", 'refused', { tools: tool, messages: toolResult([{ type: 'image', source: { type: 'base64', media_type: `image/${KEY}`, data: 'iVBORw0KGgo=' } }]) }),
    messages('tool_use.input (a private key)', 'refused', { tools: tool, messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { k: PRIVATE_KEY } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] }] }, undefined, PRIVATE_KEY_BODY),
    messages("tool_use.input's keys", 'refused', { tools: tool, messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { [KEY]: 1 } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] }] }),
    messages('tool_use.id', 'refused', { tools: tool, messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: KEY, name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: KEY, content: 'ok' }] }] }),
    messages('tool_use.name', 'refused', { tools: tool, messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: `g${KEY}`, input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] }] }),
    messages('tools[].description', 'refused', { tools: [{ name: 'f', description: KEY, input_schema: { type: 'object' } }] }),
    messages('tools[].input_schema default', 'refused', { tools: [{ name: 'f', input_schema: { type: 'object', properties: { a: { type: 'string', default: KEY } } } }] }),
    messages('tools[].input_schema examples (a private key)', 'refused', { tools: [{ name: 'f', input_schema: { type: 'object', properties: { a: { type: 'string', examples: [PRIVATE_KEY] } } } }] }, undefined, PRIVATE_KEY_BODY),
    messages("a custom-typed tool's description", 'refused', { tools: [{ type: 'custom', name: 'f', description: KEY, input_schema: { type: 'object' } }] }),
    messages("an image's URL", 'refused', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: `https://example.com/a.png?k=${KEY}` } }, { type: 'text', text: 'x' }] }] }),
    messages('output_format schema', 'refused', { output_format: { type: 'json_schema', schema: { type: 'object', description: KEY } } }),
  ];
};

const responses = (field: string, outcome: Outcome, body: Record<string, unknown>, secret?: string): Probe => ({ field, path: '/v1/responses', body: { model: 'openai:gpt-4o-mini', input: 'hi', ...body }, outcome, ...(secret === undefined ? {} : { secret }) });
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
  responses('include, store, service_tier', 'dropped', { include: [KEY], store: true, service_tier: KEY }),
  responses('an unknown key of a message item', 'dropped', { input: [{ type: 'message', role: 'user', content: 'hi', note: KEY }] }),
  responses('an unknown key of an input_text part', 'dropped', { input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi', note: KEY }] }] }),
  responses('function_call id', 'dropped', { tools: [{ type: 'function', name: 'f' }], input: [{ role: 'user', content: 'hi' }, { ...call, id: KEY }, { type: 'function_call_output', call_id: 'c1', output: 'ok' }] }),
  responses('previous_response_id', 'refused', { previous_response_id: KEY }),
  responses('conversation', 'refused', { conversation: KEY }),
  responses('an item_reference', 'refused', { input: [{ type: 'item_reference', id: KEY }, { role: 'user', content: 'hi' }] }),
  responses('a developer message', 'refused', { input: [{ role: 'developer', content: KEY }, { role: 'user', content: 'hi' }] }),
  responses('a system message', 'refused', { input: [{ role: 'system', content: KEY }, { role: 'user', content: 'hi' }] }),
  responses("an assistant's output_text", 'refused', { input: [{ role: 'user', content: 'hi' }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: KEY }] }, { role: 'user', content: 'hi' }] }),
  responses("an assistant's refusal", 'refused', { input: [{ role: 'user', content: 'hi' }, { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: KEY }] }, { role: 'user', content: 'hi' }] }),
  responses('function_call name', 'refused', { tools: [{ type: 'function', name: 'f' }], input: [{ role: 'user', content: 'hi' }, { ...call, name: `g${KEY}` }, { type: 'function_call_output', call_id: 'c1', output: 'ok' }] }),
  responses('call_id', 'refused', { tools: [{ type: 'function', name: 'f' }], input: [{ role: 'user', content: 'hi' }, { ...call, call_id: KEY }, { type: 'function_call_output', call_id: KEY, output: 'ok' }] }),
  responses('function_call_output (a private key)', 'refused', { tools: [{ type: 'function', name: 'f' }], input: [{ role: 'user', content: 'hi' }, call, { type: 'function_call_output', call_id: 'c1', output: PRIVATE_KEY }] }, PRIVATE_KEY_BODY),
  responses('a custom_tool_call input', 'refused', { tools: [{ type: 'custom', name: 'p' }], input: [{ role: 'user', content: 'hi' }, { type: 'custom_tool_call', call_id: 'c1', name: 'p', input: KEY }, { type: 'custom_tool_call_output', call_id: 'c1', output: 'ok' }] }),
  responses('a custom_tool_call_output', 'refused', { tools: [{ type: 'custom', name: 'p' }], input: [{ role: 'user', content: 'hi' }, { type: 'custom_tool_call', call_id: 'c1', name: 'p', input: 'x' }, { type: 'custom_tool_call_output', call_id: 'c1', output: KEY }] }),
  responses('tools[].name', 'refused', { tools: [{ type: 'function', name: `f${KEY}` }] }),
  responses('tools[].description', 'refused', { tools: [{ type: 'function', name: 'f', description: KEY }] }),
  responses("a custom tool's description", 'refused', { tools: [{ type: 'custom', name: 'p', description: KEY }] }),
  responses('text.format name', 'refused', { text: { format: { type: 'json_schema', name: KEY, schema: { type: 'object' } } } }),
  responses('text.format schema', 'refused', { text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object', description: KEY } } } }),
  responses('tool_choice naming no tool', 'refused', { tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'function', name: KEY } }),
  responses('input_image URL query', 'refused', { input: [{ role: 'user', content: [{ type: 'input_text', text: 'x' }, { type: 'input_image', image_url: `https://example.com/a.png?k=${KEY}` }] }] }),
];

const LEGACY_PROBES: Probe[] = [
  { field: 'completions user', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'def add(a, b):', user: KEY }, outcome: 'dropped' },
  { field: 'completions logit_bias', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'def add(a, b):', logit_bias: { [KEY]: 1 } }, outcome: 'dropped' },
  { field: 'completions prompt', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: KEY }, outcome: 'refused' },
  { field: 'completions suffix', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'x = ', suffix: KEY }, outcome: 'refused' },
  { field: 'embeddings user', path: '/v1/embeddings', body: { model: 'workstation:nomic-embed-text:latest', input: 'hello', user: KEY }, outcome: 'dropped' },
  { field: 'embeddings input', path: '/v1/embeddings', body: { model: 'workstation:nomic-embed-text:latest', input: ['hello', KEY] }, outcome: 'refused' },
  { field: 'completions metadata', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'x', metadata: { note: KEY } }, outcome: 'dropped' },
  { field: 'completions stop (a string)', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'x', stop: KEY }, outcome: 'refused' },
  { field: 'completions stop (an array)', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: 'x', stop: ['a', KEY] }, outcome: 'refused' },
  { field: 'completions prompt (several)', path: '/v1/completions', body: { model: 'workstation:qwen2.5-coder:1.5b', prompt: ['x', KEY] }, outcome: 'refused' },
  { field: 'embeddings input (a string)', path: '/v1/embeddings', body: { model: 'workstation:nomic-embed-text:latest', input: KEY }, outcome: 'refused' },
];

const ollama = (field: string, outcome: Outcome, path: string, body: Record<string, unknown>, secret?: string): Probe => ({ field, path, body: { stream: false, ...body }, outcome, ...(secret === undefined ? {} : { secret }) });
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
  ...CHAT_MODELS.flatMap((model) => [
    ollama(`${model} chat a message's unknown key`, 'dropped', '/api/chat', { model, messages: [{ role: 'user', content: 'hi', note: KEY }] }),
    ollama(`${model} chat a tool message's tool_name`, 'dropped', '/api/chat', { model, tools: fn, messages: [...hi, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] }, { role: 'tool', tool_name: KEY, content: 'ok' }] }),
    ollama(`${model} generate keep_alive`, 'dropped', '/api/generate', { model, prompt: 'hi', keep_alive: KEY }),
    ollama(`${model} chat system message`, 'refused', '/api/chat', { model, messages: [{ role: 'system', content: KEY }, ...hi] }),
    ollama(`${model} chat a tool result`, 'refused', '/api/chat', { model, tools: fn, messages: [...hi, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] }, { role: 'tool', tool_name: 'f', content: KEY }] }),
    ollama(`${model} chat tool_calls id`, 'refused', '/api/chat', { model, tools: fn, messages: [...hi, { role: 'assistant', content: '', tool_calls: [{ id: KEY, function: { name: 'f', arguments: {} } }] }, { role: 'tool', tool_call_id: KEY, content: 'ok' }] }),
    ollama(`${model} chat tool_calls name`, 'refused', '/api/chat', { model, tools: fn, messages: [...hi, { role: 'assistant', content: '', tool_calls: [{ function: { name: `g${KEY}`, arguments: {} } }] }, { role: 'tool', content: 'ok' }] }),
    ollama(`${model} chat tool_calls arguments (a private key)`, 'refused', '/api/chat', { model, tools: fn, messages: [...hi, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { k: PRIVATE_KEY } } }] }, { role: 'tool', content: 'ok' }] }, PRIVATE_KEY_BODY),
    ollama(`${model} chat tools description`, 'refused', '/api/chat', { model, messages: hi, tools: [{ type: 'function', function: { name: 'f', description: KEY } }] }),
    ollama(`${model} chat tools parameters default`, 'refused', '/api/chat', { model, messages: hi, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', default: KEY } } } } }] }),
    ollama(`${model} chat format schema default (a private key)`, 'refused', '/api/chat', { model, messages: hi, format: { type: 'object', properties: { a: { type: 'string', default: PRIVATE_KEY } } } }, PRIVATE_KEY_BODY),
    ollama(`${model} chat images that decode to text`, 'refused', '/api/chat', { model, messages: [{ role: 'user', content: 'see', images: [Buffer.from(`key ${KEY}`).toString('base64')] }] }),
    ollama(`${model} generate images that decode to text`, 'refused', '/api/generate', { model, prompt: 'see', images: [Buffer.from(`key ${KEY}`).toString('base64')] }),
    ollama(`${model} generate format schema`, 'refused', '/api/generate', { model, prompt: 'hi', format: { type: 'object', description: KEY } }),
    ollama(`${model} generate options.stop`, 'refused', '/api/generate', { model, prompt: 'hi', options: { stop: [KEY] } }),
  ]),
  ollama('embed options and keep_alive', 'dropped', '/api/embed', { model: 'workstation:nomic-embed-text:latest', input: 'hi', options: { note: KEY }, keep_alive: KEY }),
  ollama('embed input (a string)', 'refused', '/api/embed', { model: 'workstation:nomic-embed-text:latest', input: KEY }),
];

const HEADER_PROBES: Probe[] = [
  { field: 'x-api-key and OpenAI organization headers', path: '/v1/chat/completions', headers: { 'x-api-key': KEY, 'openai-organization': KEY, 'openai-project': KEY }, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
  { field: 'x-syndicate-session', path: '/v1/chat/completions', headers: { 'x-syndicate-session': KEY }, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
  { field: 'the query string', path: `/v1/chat/completions?note=${KEY}`, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
  { field: 'a provider:model naming no model', path: '/v1/chat/completions', body: { model: `openai:${KEY}`, messages: hi }, outcome: 'refused' },
  { field: 'other client headers (openai-beta, x-stainless-*, traceparent, cookie, anthropic-version)', path: '/v1/chat/completions', headers: { 'openai-beta': KEY, 'x-stainless-lang': KEY, traceparent: KEY, cookie: KEY, 'anthropic-version': KEY }, body: { model: 'openai:gpt-4o-mini', messages: hi }, outcome: 'dropped' },
];

/** The inference requests each engine received, every byte of them (path, headers, body). */
const received = (engine: FakeEngine): string[] =>
  engine.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => `${exchange.path} ${JSON.stringify(exchange.requestHeaders)} ${exchange.requestBody.toString('latin1')}`);

async function probe({ path, body, headers, outcome, secret = KEY }: Probe): Promise<void> {
  const engines = [openai, claude, workstation];
  const before = engines.map((engine) => received(engine).length);
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const answer = await response.text();
  await gateway.settled();
  const sent = engines.flatMap((engine, index) => received(engine).slice(before[index]));
  for (const request of sent) expect(request).not.toContain(secret);
  if (outcome === 'refused') {
    // Refused by the policy (403): at the secret's level, found in the field. Any other refusal is the field's own (400).
    if (response.status === 403) expect(answer).toContain('no provider may receive this restricted request');
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
