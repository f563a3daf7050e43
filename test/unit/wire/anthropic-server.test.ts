import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { anthropicAdapter } from '../../../src/wire/anthropic/adapter.js';
import {
  AnthropicStreamEncoder,
  parseAnthropicBeta,
  parseAnthropicMessagesRequest,
  renderAnthropicError,
  renderAnthropicMessageResponse,
} from '../../../src/wire/anthropic/server.js';
import type { CanonicalResponse } from '../../../src/wire/canonical.js';
import { encodeOpenAIRequest, openAIAdapter } from '../../../src/wire/openai/adapter.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'wire');
const fixture = (wire: string, name: string): string => readFileSync(resolve(FIXTURES, wire, name), 'utf8');

const CLIENT_BODY = {
  model: 'local:qwen3-8b',
  max_tokens: 512,
  system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Weather in this city?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'They want weather.', signature: 'sig' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] },
        { type: 'tool_result', tool_use_id: 'toolu_2', content: 'clock unavailable', is_error: true },
        { type: 'text', text: 'And tomorrow?' },
      ],
    },
  ],
  tools: [
    { name: 'get_weather', description: 'Current weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
    { name: 'get_time', input_schema: { type: 'object', properties: {} } },
  ],
  tool_choice: { type: 'any' },
  temperature: 0.3,
  top_p: 0.8,
  top_k: 40,
  stop_sequences: ['END'],
  stream: true,
  metadata: { user_id: 'u' },
};

function problemsOf(body: unknown): Array<{ pointer: string; message: string }> {
  try {
    parseAnthropicMessagesRequest(JSON.stringify(body));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).problems.map(({ pointer, message }) => ({ pointer, message }));
  }
  throw new Error('expected the request to be refused');
}

describe('parseAnthropicMessagesRequest', () => {
  it('reads every supported field; tool results become tool messages ahead of the user text', () => {
    expect(parseAnthropicMessagesRequest(JSON.stringify(CLIENT_BODY))).toEqual({
      request: {
        model: 'local:qwen3-8b',
        system: 'You are terse.',
        systemCacheControl: {},
        maxTokens: 512,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Weather in this city?' },
              { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: 'They want weather.', signature: 'sig' },
              { type: 'text', text: 'Checking.' },
            ],
            toolCalls: [
              { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
              { id: 'toolu_2', name: 'get_time', arguments: '{}' },
            ],
          },
          { role: 'tool', toolCallId: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] },
          { role: 'tool', toolCallId: 'toolu_2', content: [{ type: 'text', text: 'clock unavailable' }], isError: true },
          { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
        ],
        tools: [
          { name: 'get_weather', description: 'Current weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } },
          { name: 'get_time', inputSchema: { type: 'object', properties: {} } },
        ],
        toolChoice: 'required',
        temperature: 0.3,
        topP: 0.8,
        stop: ['END'],
        stopSequenceWanted: true,
        stream: true,
      },
      ignoredFields: ['metadata', 'top_k'],
      thinking: false,
      formatField: 'output_config.format',
    });
  });

  it('notes whether the client turned thinking on (enabled or adaptive) and keeps the setting for anthropic-wire providers', () => {
    const base = { model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
    for (const [thinking, expected] of [
      [{ type: 'enabled', budget_tokens: 1024 }, true],
      [{ type: 'adaptive' }, true],
      [{ type: 'disabled' }, false],
    ] as const) {
      const parsed = parseAnthropicMessagesRequest(JSON.stringify({ ...base, thinking }));
      expect(parsed.thinking).toBe(expected);
      expect(parsed.request.thinking).toEqual(thinking);
      expect(parsed.ignoredFields).toEqual([]);
    }
    // Sent to a provider unclassified, so it is rebuilt from the defined fields only.
    const extra = parseAnthropicMessagesRequest(JSON.stringify({ ...base, thinking: { type: 'enabled', budget_tokens: 2048, note: 'ops password hunter2' } }));
    expect(extra.request.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(() => parseAnthropicMessagesRequest(JSON.stringify({ ...base, thinking: { type: 'on' } }))).toThrow(/\/thinking\/type/);
    expect(() => parseAnthropicMessagesRequest(JSON.stringify({ ...base, thinking: { type: 'enabled', budget_tokens: 'lots' } }))).toThrow(/\/thinking\/budget_tokens/);
  });

  it('reads the anthropic-beta header as beta names, refusing one that could carry anything else', () => {
    expect(parseAnthropicBeta('interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14,context-1m-2025-08-07')).toEqual([
      'interleaved-thinking-2025-05-14',
      'fine-grained-tool-streaming-2025-05-14',
      'context-1m-2025-08-07',
    ]);
    // Repeated headers arrive joined by ", "; empty list elements are allowed and skipped.
    expect(parseAnthropicBeta(' claude-code-20250219 , oauth-2025-04-20,,v1.2_x ')).toEqual(['claude-code-20250219', 'oauth-2025-04-20', 'v1.2_x']);
    expect(parseAnthropicBeta('')).toEqual([]);
    expect(parseAnthropicBeta(' , ')).toEqual([]);
    for (const malformed of ['context-1m-2025-08-07;drop', 'a b', 'ünicode-1', '"quoted"', 'x'.repeat(65), Array.from({ length: 60 }, (_, index) => `beta-${index}-2025-01-01`).join(',')]) {
      expect(parseAnthropicBeta(malformed), malformed).toBeUndefined();
    }
    expect(parseAnthropicBeta('x'.repeat(64))).toEqual(['x'.repeat(64)]);
  });

  it.each([
    ['no max_tokens', { model: 'm', messages: [{ role: 'user', content: 'x' }] }, [{ pointer: '/max_tokens', message: 'is required by the Messages API' }]],
    [
      'a system role in messages',
      { model: 'm', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] },
      [{ pointer: '/messages/0/role', message: 'must be "user" or "assistant" (got "system")' }],
    ],
    [
      'a server tool',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
      [{ pointer: '/tools/0/type', message: 'server tool "web_search_20250305" is not supported through the gateway' }],
    ],
    [
      'a tool result without its id, and a document block',
      {
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }, { type: 'document', source: {} }] }],
      },
      [
        { pointer: '/messages/0/content/0/tool_use_id', message: 'is required' },
        { pointer: '/messages/0/content/1/type', message: 'content block type "document" is not supported in user messages' },
      ],
    ],
    [
      'a bad tool choice and temperature',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'tool' }, temperature: 1.5 },
      [
        { pointer: '/tool_choice', message: 'must be {type: "auto"}, {type: "any"}, {type: "none"} or {type: "tool", name}' },
        { pointer: '/temperature', message: 'must be at most 1' },
      ],
    ],
  ])('refuses %s naming the field at fault', (_name, body, expected) => {
    expect(problemsOf(body)).toEqual(expected);
  });
});

describe('Anthropic client request → canonical → openai wire', () => {
  it('translates every field and warns that the openai wire has no tool error flag', () => {
    const { request } = parseAnthropicMessagesRequest(JSON.stringify(CLIENT_BODY));
    const encoded = encodeOpenAIRequest({ ...request, model: 'qwen3-8b' }, { baseUrl: 'http://127.0.0.1:8080/v1' });
    expect(encoded.url).toBe('http://127.0.0.1:8080/v1/chat/completions');
    expect(encoded.headers['authorization']).toBeUndefined();
    expect(JSON.parse(encoded.body)).toEqual({
      model: 'qwen3-8b',
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in this city?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'toolu_2', content: 'clock unavailable' },
        { role: 'user', content: 'And tomorrow?' },
      ],
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
      ],
      tool_choice: 'required',
      temperature: 0.3,
      top_p: 0.8,
      max_tokens: 512,
      stop: ['END'],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(encoded.warnings).toEqual([
      { setting: 'messages[3].isError', message: 'the openai wire has no error flag on tool results; the result was sent as ordinary tool output' },
    ]);
  });
});

const RESPONSE: CanonicalResponse = {
  id: 'chatcmpl-1',
  model: 'qwen3-8b',
  text: 'Checking.',
  toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
  finishReason: 'tool_calls',
  rawFinishReason: 'tool_calls',
  usage: { inputTokens: 20, outputTokens: 7 },
};

describe('renderAnthropicMessageResponse', () => {
  it('renders a message with text and tool_use blocks that decodes back to the same response', () => {
    const rendered = renderAnthropicMessageResponse(RESPONSE, { id: 'msg_syn1', model: 'local:qwen3-8b' });
    expect(rendered.warnings).toEqual([]);
    expect(JSON.parse(rendered.body)).toEqual({
      id: 'msg_syn1',
      type: 'message',
      role: 'assistant',
      model: 'local:qwen3-8b',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 7 },
    });
    expect(anthropicAdapter.decodeResponse(rendered.body)).toEqual({
      ...RESPONSE,
      id: 'msg_syn1',
      model: 'local:qwen3-8b',
      rawFinishReason: 'tool_use',
    });
  });

  it('warns when the model produced arguments that are not a JSON object', () => {
    const rendered = renderAnthropicMessageResponse({ ...RESPONSE, toolCalls: [{ id: 'c', name: 'f', arguments: '{"city": "Par' }] });
    expect(JSON.parse(rendered.body).content[1]).toEqual({ type: 'tool_use', id: 'c', name: 'f', input: {} });
    expect(rendered.warnings.map((warning) => warning.setting)).toEqual(['toolCalls[0].arguments']);
  });

  it('renders arguments an engine nested thousands of levels deep as an empty input with the warning, not a stack overflow', () => {
    const arguments_ = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const rendered = renderAnthropicMessageResponse({ ...RESPONSE, toolCalls: [{ id: 'c', name: 'f', arguments: arguments_ }] });
    expect(JSON.parse(rendered.body).content[1]).toEqual({ type: 'tool_use', id: 'c', name: 'f', input: {} });
    expect(rendered.warnings).toEqual([expect.objectContaining({ setting: 'toolCalls[0].arguments', message: expect.stringContaining('more than 128 levels deep') })]);
  });
});

describe('AnthropicStreamEncoder', () => {
  it('re-encodes an openai text + tool-call stream as events that decode to the same response', () => {
    const source = fixture('openai', 'text-tool-call.chunks.txt');
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn2', model: 'auto' });
    let output = '';
    for (const event of parseServerSentEvents(source)) output += encoder.encodeAll(openAIAdapter.decodeStreamEvent(event));
    expect(encoder.closed).toBe(true);

    const events = parseServerSentEvents(output);
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const event of events) expect((JSON.parse(event.data) as { type: string }).type).toBe(event.event);
    expect(JSON.parse(events[5]?.data ?? '{}')).toEqual({
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'call_NZa7xqfefoaMI2YYHowVXVlU', name: 'weather', input: {} },
    });
    expect(JSON.parse(events[8]?.data ?? '{}')).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 58, output_tokens: 12 },
    });

    const accumulator = new StreamAccumulator();
    for (const event of events) accumulator.addAll(anthropicAdapter.decodeStreamEvent(event));
    expect(accumulator.toResponse()).toEqual({
      id: 'msg_syn2',
      model: 'auto',
      text: 'PRE_TOOL',
      toolCalls: [{ id: 'call_NZa7xqfefoaMI2YYHowVXVlU', name: 'weather', arguments: '{}' }],
      finishReason: 'tool_calls',
      rawFinishReason: 'tool_use',
      usage: { inputTokens: 58, outputTokens: 12 },
    });
  });

  it('keeps its blocks sequential when an openai upstream interleaves parallel tool calls and text: the others wait for the stream end', () => {
    const source = parseServerSentEvents(fixture('openai', 'parallel-tool-calls-interleaved.chunks.txt'));
    const encoder = new AnthropicStreamEncoder({ id: 'msg', model: 'm' });
    const upstream = new StreamAccumulator();
    let output = '';
    for (const event of source) {
      const parts = openAIAdapter.decodeStreamEvent(event);
      upstream.addAll(parts);
      output += encoder.encodeAll(parts);
    }
    const events = parseServerSentEvents(output).map((event) => JSON.parse(event.data) as { type: string; index?: number; content_block?: { type: string; id?: string } });
    // Block i's deltas all come between its start and its stop, and i + 1 starts after i stopped.
    const blocks = events.filter((event) => event.type.startsWith('content_block')).map((event) => `${event.type.replace('content_block_', '')} ${event.index}`);
    expect(blocks.join(', ')).toBe(
      'start 0, delta 0, delta 0, stop 0, start 1, delta 1, delta 1, stop 1, start 2, delta 2, delta 2, stop 2, start 3, delta 3, stop 3',
    );
    expect(events.filter((event) => event.type === 'content_block_start').map((event) => event.content_block?.id ?? event.content_block?.type)).toEqual([
      'text',
      'call_paris0000000000000000',
      'call_tokyo0000000000000000',
      'text',
    ]);
    const accumulator = new StreamAccumulator();
    for (const event of parseServerSentEvents(output)) accumulator.addAll(anthropicAdapter.decodeStreamEvent(event));
    const { toolCalls, text, usage } = upstream.toResponse();
    expect(accumulator.toResponse()).toMatchObject({ toolCalls, text, usage, finishReason: 'tool_calls' });
  });

  it('puts the input tokens an anthropic upstream reports up front into message_start', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg', model: 'm' });
    const source = parseServerSentEvents(fixture('anthropic', 'text.chunks.txt'));
    const first = encoder.encodeAll(anthropicAdapter.decodeStreamEvent(source[0] ?? { data: '' }));
    expect(parseServerSentEvents(first)).toEqual([
      {
        event: 'message_start',
        data: '{"type":"message_start","message":{"id":"msg","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":0}}}',
      },
    ]);
  });

  it('ends a broken stream with an error event and never message_stop', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg', model: 'm' });
    let output = '';
    for (const event of parseServerSentEvents(fixture('anthropic', 'stream-error.chunks.txt'))) {
      output += encoder.encodeAll(anthropicAdapter.decodeStreamEvent(event));
    }
    output += encoder.encode({ type: 'stream-end' });
    const events = parseServerSentEvents(output);
    expect(events.map((event) => event.event)).not.toContain('message_stop');
    expect(events.at(-1)).toEqual({ event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
  });

  it('sends only the error event when the stream fails before anything was said', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg', model: 'm' });
    expect(encoder.encode({ type: 'error', message: 'upstream reset' })).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream reset"}}\n\n',
    );
    expect(encoder.encode({ type: 'text-delta', text: 'late' })).toBe('');
  });
});

describe('renderAnthropicError', () => {
  it('builds the Anthropic error envelope with the status of the kind', () => {
    expect(renderAnthropicError({ kind: 'authentication', message: 'missing bearer token' })).toEqual({
      status: 401,
      body: '{"type":"error","error":{"type":"authentication_error","message":"missing bearer token"}}',
    });
    expect(renderAnthropicError({ kind: 'request_too_large', message: 'x' }).status).toBe(413);
    expect(JSON.parse(renderAnthropicError({ kind: 'unavailable', message: 'x' }).body).error.type).toBe('overloaded_error');
  });
});
