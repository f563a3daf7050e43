import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { anthropicAdapter, encodeAnthropicRequest } from '../../../src/wire/anthropic/adapter.js';
import type { CanonicalResponse } from '../../../src/wire/canonical.js';
import { openAIAdapter } from '../../../src/wire/openai/adapter.js';
import {
  OpenAIStreamEncoder,
  parseOpenAIChatRequest,
  renderOpenAIChatResponse,
  renderOpenAIError,
} from '../../../src/wire/openai/server.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'wire');
const fixture = (wire: string, name: string): string => readFileSync(resolve(FIXTURES, wire, name), 'utf8');

const CLIENT_BODY = {
  model: 'auto',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Weather where this photo was taken?' },
        { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ', detail: 'low' } },
      ],
    },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    },
    { role: 'tool', tool_call_id: 'call_9', content: 'sunny, 21 C' },
  ],
  tools: [
    {
      type: 'function',
      function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
    },
  ],
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
  response_format: { type: 'json_object' },
  temperature: 0.5,
  max_completion_tokens: 300,
  seed: 3,
  stop: 'END',
  stream: true,
  stream_options: { include_usage: true },
  user: 'someone',
  logprobs: false,
};

function problemsOf(body: unknown): Array<{ pointer: string; message: string }> {
  try {
    parseOpenAIChatRequest(typeof body === 'string' ? body : JSON.stringify(body));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).exitCode).toBe(3);
    return (error as InvalidInputError).problems.map(({ pointer, message }) => ({ pointer, message }));
  }
  throw new Error('expected the request to be refused');
}

describe('parseOpenAIChatRequest', () => {
  it('reads every supported field into the canonical request, keeping the model as sent', () => {
    const parsed = parseOpenAIChatRequest(JSON.stringify(CLIENT_BODY));
    expect(parsed).toEqual({
      request: {
        model: 'auto',
        system: 'You are terse.\n\nAnswer in English.',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Weather where this photo was taken?' },
              { type: 'image', mediaType: 'image/jpeg', data: '/9j/4AAQ', detail: 'low' },
            ],
          },
          { role: 'assistant', content: [], toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
          { role: 'tool', toolCallId: 'call_9', content: [{ type: 'text', text: 'sunny, 21 C' }] },
        ],
        tools: [{ name: 'get_weather', description: 'Current weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }],
        toolChoice: { name: 'get_weather' },
        responseFormat: { type: 'json_object' },
        temperature: 0.5,
        maxTokens: 300,
        seed: 3,
        stop: ['END'],
        stream: true,
      },
      includeUsage: true,
      ignoredFields: ['user'],
      maxTokensField: 'max_completion_tokens',
    });
  });

  it('keeps a system message that comes after the conversation started in place', () => {
    const parsed = parseOpenAIChatRequest(
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }] }),
    );
    expect(parsed.request.system).toBeUndefined();
    expect(parsed.request.messages.map((message) => message.role)).toEqual(['user', 'system']);
    expect(parsed.includeUsage).toBe(false);
  });

  it('accepts tool-call arguments sent as an object by lenient clients, as JSON text', () => {
    const parsed = parseOpenAIChatRequest(
      JSON.stringify({
        model: 'm',
        messages: [{ role: 'assistant', content: '', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] }],
      }),
    );
    expect(parsed.request.messages[0]).toEqual({ role: 'assistant', content: [{ type: 'text', text: '' }], toolCalls: [{ id: 'c', name: 'f', arguments: '{"a":1}' }] });
  });

  it.each([
    ['not JSON', '{"model":', [{ pointer: '', message: 'the body is not valid JSON' }]],
    ['an array body', '[]', [{ pointer: '', message: 'the body must be a JSON object' }]],
    ['no model', { messages: [{ role: 'user', content: 'x' }] }, [{ pointer: '/model', message: 'is required and must be a non-empty string' }]],
    ['no messages', { model: 'm', messages: [] }, [{ pointer: '/messages', message: 'is required and must be a non-empty array of messages' }]],
    [
      'an unknown role',
      { model: 'm', messages: [{ role: 'robot', content: 'x' }] },
      [{ pointer: '/messages/0/role', message: 'must be one of system, developer, user, assistant, tool (got "robot")' }],
    ],
    ['a tool message without its call id', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }, [{ pointer: '/messages/0/tool_call_id', message: 'is required on tool messages' }]],
    [
      'an audio part',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
      [{ pointer: '/messages/0/content/0/type', message: 'content part type "input_audio" is not supported here' }],
    ],
    [
      'out-of-range numbers and n > 1',
      { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3, max_tokens: 0, n: 2 },
      [
        { pointer: '/temperature', message: 'must be at most 2' },
        { pointer: '/max_tokens', message: 'must be at least 1' },
        { pointer: '/n', message: 'only n = 1 is supported' },
      ],
    ],
    [
      'an image detail OpenAI does not define',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'ultra' } }] }] },
      [{ pointer: '/messages/0/content/0/image_url/detail', message: 'must be one of "auto", "low", "high"' }],
    ],
    [
      'a tool neither function nor custom',
      { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search' }] },
      [{ pointer: '/tools/0', message: 'must be {type: "function", function: {name, description?, parameters?}} or {type: "custom", custom: {name, description?, format?}}' }],
    ],
    [
      'custom tools, choices and calls that are not whole',
      {
        model: 'm',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'apply_patch', input: { patch: 'p' } } }, { id: 'c2', type: 'custom' }] },
        ],
        tools: [{ type: 'custom' }, { type: 'custom', custom: { name: 'x', format: { type: 'json' } } }, { type: 'custom', custom: { name: 'y', format: { type: 'grammar', grammar: { syntax: 'lark' } } } }],
        tool_choice: { type: 'custom', custom: {} },
      },
      [
        { pointer: '/messages/1/tool_calls/0/custom/input', message: 'must be a string: the raw text the tool was called with' },
        { pointer: '/messages/1/tool_calls/1', message: 'must be {id, type: "function", function: {name, arguments}} or {id, type: "custom", custom: {name, input}}' },
        { pointer: '/tools/0/custom', message: 'must be {name, description?, format?}' },
        { pointer: '/tools/1/custom/format', message: 'must be {type: "text"} or {type: "grammar", grammar: {syntax, definition}}' },
        { pointer: '/tools/2/custom/format', message: 'has no grammar definition: must be {type: "grammar", grammar: {syntax, definition}}' },
        { pointer: '/tool_choice', message: 'must be "auto", "none", "required", {type: "function", function: {name}} or {type: "custom", custom: {name}}' },
      ],
    ],
  ])('refuses %s naming the field at fault', (_name, body, expected) => {
    expect(problemsOf(body)).toEqual(expected);
  });

  it('puts the first field at fault in the error message', () => {
    expect(() => parseOpenAIChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'robot' }], temperature: -1 }))).toThrow(
      'invalid chat completions request: /messages/0/role: must be one of system, developer, user, assistant, tool (got "robot") (and 1 more problem)',
    );
  });
});

describe('custom (freeform) tools', () => {
  const applyPatch = { type: 'custom', custom: { name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', grammar: { syntax: 'regex', definition: '^\\*\\*\\* Begin Patch' } } } };

  it('reads a custom tool as a function of one string `input` (grammar in the description), a custom choice, and custom calls as {"input": …}', () => {
    const { request } = parseOpenAIChatRequest(
      JSON.stringify({
        model: 'm',
        messages: [
          { role: 'user', content: 'Add a file' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch\n"q"' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'Done!' },
        ],
        tools: [applyPatch, { type: 'custom', custom: { name: 'note', format: { type: 'text' } } }],
        tool_choice: { type: 'custom', custom: { name: 'apply_patch' } },
      }),
    );
    expect(request.tools).toEqual([
      {
        name: 'apply_patch',
        description: 'Edit files.\n\nThe input must match this regex grammar:\n^\\*\\*\\* Begin Patch',
        inputSchema: expect.objectContaining({ properties: { input: expect.objectContaining({ type: 'string' }) }, required: ['input'] }),
        freeform: true,
        // Kept as the client declared it, for OpenAI's own API, which takes the tool natively.
        freeformDeclaration: { description: 'Edit files.', format: { type: 'grammar', syntax: 'regex', definition: '^\\*\\*\\* Begin Patch' } },
      },
      expect.objectContaining({ name: 'note', description: 'Freeform tool note', freeform: true, freeformDeclaration: { format: { type: 'text' } } }),
    ]);
    expect(request.toolChoice).toEqual({ name: 'apply_patch' });
    expect(request.messages[1]).toEqual({ role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n"q"' }), freeform: true }] });
  });

  it('renders the calls of custom tools as custom calls with the raw input, other calls as functions', () => {
    const response: CanonicalResponse = {
      id: 'r',
      model: 'm',
      text: '',
      toolCalls: [
        { id: 'call_1', name: 'apply_patch', arguments: '{"input":"*** Begin Patch\\n"}' },
        { id: 'call_2', name: 'get_weather', arguments: '{"city":"Paris"}' },
      ],
      finishReason: 'tool_calls',
      rawFinishReason: 'tool_calls',
    };
    const body = JSON.parse(renderOpenAIChatResponse(response, { created: 1, freeformTools: new Set(['apply_patch']) }).body) as { choices: [{ message: { tool_calls: unknown[] } }] };
    expect(body.choices[0].message.tool_calls).toEqual([
      { id: 'call_1', type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch\n' } },
      { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
  });

  it('streams a custom call as its announcement, then its raw input whole before the finish, beside an interleaved function call', () => {
    const encoder = new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: false, freeformTools: new Set(['apply_patch', 'note']) });
    const output = encoder.encodeAll([
      { type: 'tool-call-delta', index: 0, id: 'a', name: 'apply_patch', argumentsDelta: '{"input":"*** Be' },
      { type: 'tool-call-delta', index: 1, id: 'b', name: 'get_weather', argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: 'gin Patch\\n"}' },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '"Paris"}' },
      { type: 'tool-call-delta', index: 2, id: 'c', name: 'note', argumentsDelta: '' },
      { type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' },
      { type: 'stream-end' },
    ]);
    const chunks = parseServerSentEvents(output)
      .slice(0, -1)
      .map((event) => JSON.parse(event.data) as { choices: Array<{ delta: { tool_calls?: unknown[] }; finish_reason: string | null }> });
    expect(chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])).toEqual([
      { index: 0, id: 'a', type: 'custom', custom: { name: 'apply_patch', input: '' } },
      { index: 1, id: 'b', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } },
      { index: 1, function: { arguments: '"Paris"}' } },
      { index: 2, id: 'c', type: 'custom', custom: { name: 'note', input: '' } },
      // A call whose input is empty gets nothing more; the function call keeps its arguments as streamed.
      { index: 0, custom: { input: '*** Begin Patch\n' } },
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

describe('OpenAI client request → canonical → anthropic wire', () => {
  it('translates every field, and warns about what the anthropic wire cannot carry', () => {
    const { request } = parseOpenAIChatRequest(JSON.stringify(CLIENT_BODY));
    const encoded = encodeAnthropicRequest({ ...request, model: 'claude-sonnet-4-5' }, { baseUrl: 'https://api.anthropic.com', apiKey: 'k' });
    expect(JSON.parse(encoded.body)).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 300,
      system: 'You are terse.\n\nAnswer in English.\n\nRespond with a single JSON object and nothing else: no prose, no code fences.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather where this photo was taken?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_9', content: 'sunny, 21 C' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Current weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'tool', name: 'get_weather' },
      temperature: 0.5,
      stop_sequences: ['END'],
      stream: true,
    });
    expect(encoded.warnings.map((warning) => warning.setting)).toEqual(['messages[0].content[1].detail', 'responseFormat', 'seed']);
  });
});

const RESPONSE: CanonicalResponse = {
  id: 'msg_1',
  model: 'claude-sonnet-4-5',
  text: 'Checking.',
  toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
  finishReason: 'tool_calls',
  rawFinishReason: 'tool_use',
  usage: { inputTokens: 20, outputTokens: 7 },
};

describe('renderOpenAIChatResponse', () => {
  it('renders a chat.completion with tool calls and usage', () => {
    const rendered = renderOpenAIChatResponse(RESPONSE, { created: 1_700_000_000, id: 'chatcmpl-syn1', model: 'auto' });
    expect(rendered.warnings).toEqual([]);
    expect(JSON.parse(rendered.body)).toEqual({
      id: 'chatcmpl-syn1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'auto',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Checking.',
            refusal: null,
            tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 },
    });
  });

  it('omits usage the upstream did not report and decodes back to the same response', () => {
    const { usage: _usage, ...withoutUsage } = RESPONSE;
    const rendered = renderOpenAIChatResponse({ ...withoutUsage, text: '' }, { created: 1 });
    expect(JSON.parse(rendered.body)).not.toHaveProperty('usage');
    expect(openAIAdapter.decodeResponse(rendered.body)).toEqual({ ...withoutUsage, text: '', rawFinishReason: 'tool_calls' });
  });
});

function decodeStream(adapter: typeof openAIAdapter, text: string): StreamAccumulator {
  const accumulator = new StreamAccumulator();
  for (const event of parseServerSentEvents(text)) accumulator.addAll(adapter.decodeStreamEvent(event));
  return accumulator;
}

describe('OpenAIStreamEncoder', () => {
  it('re-encodes an anthropic tool-use stream as chunks that decode to the same response', () => {
    const source = fixture('anthropic', 'text-tool-no-arguments.chunks.txt');
    const encoder = new OpenAIStreamEncoder({ id: 'chatcmpl-syn2', model: 'auto', created: 5, includeUsage: true });
    let output = '';
    for (const event of parseServerSentEvents(source)) output += encoder.encodeAll(anthropicAdapter.decodeStreamEvent(event));
    expect(encoder.closed).toBe(true);

    const events = parseServerSentEvents(output);
    expect(events.every((event) => event.event === undefined)).toBe(true);
    expect(events.at(-1)).toEqual({ data: '[DONE]' });
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data) as Record<string, unknown>);
    expect(chunks[0]).toEqual({
      id: 'chatcmpl-syn2',
      object: 'chat.completion.chunk',
      created: 5,
      model: 'auto',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(chunks.at(-1)).toEqual({
      id: 'chatcmpl-syn2',
      object: 'chat.completion.chunk',
      created: 5,
      model: 'auto',
      choices: [],
      usage: { prompt_tokens: 565, completion_tokens: 48, total_tokens: 613 },
    });

    expect(decodeStream(openAIAdapter, output).toResponse()).toEqual({
      id: 'chatcmpl-syn2',
      model: 'auto',
      text: "I'll update the issue list for you.",
      toolCalls: [{ id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', arguments: '{}' }],
      finishReason: 'tool_calls',
      rawFinishReason: 'tool_calls',
      usage: { inputTokens: 565, outputTokens: 48 },
    });
  });

  it('renumbers tool-call indices densely from 0 (anthropic block indices start after text)', () => {
    const encoder = new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: false });
    const output = encoder.encodeAll([
      { type: 'text-delta', text: 'x' },
      { type: 'tool-call-delta', index: 3, id: 'a', name: 'f', argumentsDelta: '{"q":' },
      { type: 'tool-call-delta', index: 3, argumentsDelta: '1}' },
      { type: 'tool-call-delta', index: 5, id: 'b', name: 'g', argumentsDelta: '{}' },
    ]);
    const toolDeltas = parseServerSentEvents(output)
      .map((event) => JSON.parse(event.data) as { choices: Array<{ delta: { tool_calls?: unknown[] } }> })
      .flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas).toEqual([
      { index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{"q":' } },
      { index: 0, function: { arguments: '1}' } },
      { index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '{}' } },
    ]);
  });

  it('sends no usage chunk unless the client asked, and a stop finish when the upstream gave none', () => {
    const encoder = new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: false });
    const output =
      encoder.encode({ type: 'text-delta', text: 'hi' }) +
      encoder.encode({ type: 'usage', usage: { inputTokens: 1, outputTokens: 1 } }) +
      encoder.encode({ type: 'stream-end' });
    const events = parseServerSentEvents(output);
    expect(events.map((event) => event.data.includes('"usage"'))).not.toContain(true);
    expect(JSON.parse(events.at(-2)?.data ?? '{}')).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    expect(events.at(-1)).toEqual({ data: '[DONE]' });
  });

  it('ends a broken stream with an error frame and never [DONE]', () => {
    const source = fixture('openai', 'stream-error.chunks.txt');
    const encoder = new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: true });
    let output = '';
    for (const event of parseServerSentEvents(source)) output += encoder.encodeAll(openAIAdapter.decodeStreamEvent(event));
    output += encoder.encode({ type: 'stream-end' });
    const events = parseServerSentEvents(output);
    expect(events.map((event) => event.data)).not.toContain('[DONE]');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toEqual({
      error: {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'upstream_error',
        param: null,
        code: 'server_error',
      },
    });
    const decoded = decodeStream(openAIAdapter, output);
    expect(decoded.text).toBe('Partial answer');
    expect(decoded.ended).toBe(false);
  });

  it('writes one error frame when the gateway fails the stream after bytes were sent', () => {
    const encoder = new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: false });
    encoder.encode({ type: 'text-delta', text: 'partial' });
    const frame = encoder.fail({ kind: 'timeout', message: 'upstream idle for 30s' });
    expect(frame).toBe('data: {"error":{"message":"upstream idle for 30s","type":"timeout","param":null,"code":null}}\n\n');
    expect(encoder.closed).toBe(true);
    expect(encoder.fail({ kind: 'internal', message: 'again' })).toBe('');
    expect(encoder.encode({ type: 'stream-end' })).toBe('');
  });
});

describe('renderOpenAIError', () => {
  it('builds the OpenAI error envelope with the status of the kind', () => {
    expect(renderOpenAIError({ kind: 'invalid_request', message: 'bad', code: 'invalid_input', param: 'messages[0].role' })).toEqual({
      status: 400,
      body: '{"error":{"message":"bad","type":"invalid_request_error","param":"messages[0].role","code":"invalid_input"}}',
    });
    expect(renderOpenAIError({ kind: 'permission', message: 'denied' }).status).toBe(403);
    expect(renderOpenAIError({ kind: 'unavailable', message: 'x' }).status).toBe(503);
  });
});

describe('token logprobs on the openai wire and face', () => {
  const entry = (token: string, logprob: number): Record<string, unknown> => ({ token, logprob, bytes: [...Buffer.from(token)], top_logprobs: [] });
  const upstreamChunk = (content: string, logprobs: Record<string, unknown> | null, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id: 'u', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: content === '' ? {} : { content }, logprobs, finish_reason: finish }] })}\n\n`;

  it('sends logprobs: true and top_logprobs upstream, and reads them back as data', () => {
    const request = parseOpenAIChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 2 }));
    expect(request.request.logprobs).toEqual({ top: 2 });
    expect(request.ignoredFields).toEqual([]);
    const sent = JSON.parse(openAIAdapter.encodeRequest(request.request, { baseUrl: 'http://x/v1' }).body) as Record<string, unknown>;
    expect(sent).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const logprobs = { content: [entry('Hi', -0.5)], refusal: null };
    const response = openAIAdapter.decodeResponse(
      JSON.stringify({ id: 'u', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, logprobs, finish_reason: 'stop' }] }),
    );
    expect(response.logprobs).toEqual(logprobs);
    const rendered = JSON.parse(renderOpenAIChatResponse(response, { created: 1 }).body) as { choices: Array<{ logprobs: unknown }> };
    expect(rendered.choices[0]?.logprobs).toEqual(logprobs);
  });

  it('streams each chunk its own logprobs, one left alone in a chunk of its own; the accumulator joins them', () => {
    const stream =
      upstreamChunk('Hel', { content: [entry('Hel', -0.25)] }) +
      upstreamChunk('', { content: [entry('', -1)] }) +
      upstreamChunk('lo', { content: [entry('lo', -0.125)] }) +
      upstreamChunk('', null, 'stop') +
      'data: [DONE]\n\n';
    const parts = parseServerSentEvents(stream).flatMap((event) => openAIAdapter.decodeStreamEvent(event));
    const encoder = new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: false });
    const frames = parseServerSentEvents(encoder.encodeAll(parts))
      .filter((event) => event.data !== '[DONE]')
      .map((event) => (JSON.parse(event.data) as { choices: Array<{ delta: { content?: string }; logprobs: { content: Array<{ token: string }> } | null }> }).choices[0]!);
    expect(frames.map((choice) => [choice.delta.content ?? null, choice.logprobs?.content.map((item) => item.token).join('|') ?? null])).toEqual([
      ['', null],
      ['Hel', 'Hel'],
      [null, ''],
      ['lo', 'lo'],
      [null, null],
    ]);
    const accumulated = new StreamAccumulator().addAll(parts).toResponse();
    expect(accumulated.logprobs).toEqual({ content: [entry('Hel', -0.25), entry('', -1), entry('lo', -0.125)] });
  });

  it('the anthropic wire sends none and says which fields it left out', () => {
    const request = parseOpenAIChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 1 }));
    const encoded = encodeAnthropicRequest(request.request, { baseUrl: 'http://x/v1' });
    expect(encoded.body).not.toContain('logprobs');
    expect(encoded.warnings.find((warning) => warning.setting === 'logprobs')?.fields).toEqual([
      { setting: 'logprobs', effect: 'dropped' },
      { setting: 'topLogprobs', effect: 'dropped' },
    ]);
  });
});
