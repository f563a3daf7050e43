import { describe, expect, it } from 'vitest';
import { InvalidInputError, PolicyRefusalError, StoreError, UpstreamError } from '../../../src/errors.js';
import { anthropicUnsendableTurn, decodeAnthropicResponse, decodeAnthropicStreamEvent, encodeAnthropicRequest } from '../../../src/wire/anthropic/adapter.js';
import { parseAnthropicMessagesRequest } from '../../../src/wire/anthropic/server.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';
import { clientErrorFor, pointerToParam } from '../../../src/wire/client-errors.js';
import { deviationForObservation, WIRE_OBSERVATIONS } from '../../../src/wire/observations.js';
import { decodeOpenAIResponse, decodeOpenAIStreamEvent, encodeOpenAIRequest } from '../../../src/wire/openai/adapter.js';
import { parseResponsesRequest } from '../../../src/wire/openai/responses-server.js';
import { parseOpenAIChatRequest } from '../../../src/wire/openai/server.js';
import { formatServerSentEvent, parseServerSentEvents } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const TARGET = { baseUrl: 'http://127.0.0.1:1/v1' };

describe('openai adapter quirks', () => {
  it('sends a tool-call id over the 40 characters OpenAI takes (another engine made it) shortened alike for the call and its result, with a warning', () => {
    // An id vLLM makes (`chatcmpl-tool-` and 32 hex digits: 46 characters), and a Responses-style one of 53.
    const long = ['chatcmpl-tool-0123456789abcdef0123456789abcdef', 'fc_0f0e50a1476a6c35006912c58dc9f8819192c25864eb16f07f'];
    const short = 'toolu_01A09q90qw90lq917835lq9';
    const encoded = encodeOpenAIRequest(
      {
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'list the files' }] },
          { role: 'assistant', content: [], toolCalls: [...long, short].map((id) => ({ id, name: 'shell', arguments: '{}' })) },
          ...[...long, short].map((id) => ({ role: 'tool' as const, toolCallId: id, content: [{ type: 'text' as const, text: 'ok' }] })),
        ],
        stream: false,
      },
      { baseUrl: 'https://api.openai.com/v1', apiKey: 'k', vendor: 'openai' },
    );
    const body = JSON.parse(encoded.body) as { messages: Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }> };
    const calls = body.messages[1]!.tool_calls!.map((call) => call.id);
    const results = body.messages.slice(2).map((message) => message.tool_call_id);
    expect(results).toEqual(calls);
    expect(calls[2]).toBe(short);
    for (const [index, id] of calls.slice(0, 2).entries()) {
      expect(id.length).toBe(40);
      expect(id.startsWith(long[index]!.slice(0, 31))).toBe(true);
    }
    expect(new Set(calls).size).toBe(3);
    expect(encoded.warnings).toEqual(
      long.map((id, index) => ({
        setting: `messages[1].toolCalls[${index}].id`,
        message: `tool call id ${JSON.stringify(id)} is longer than the 40 characters OpenAI's Chat Completions takes in an id; it was sent as ${JSON.stringify(calls[index])}, and so was the tool_call_id of its result`,
      })),
    );
  });

  it('serialises object arguments in a stream delta and reports the observation', () => {
    const parts = decodeOpenAIStreamEvent({
      data: '{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":{"a":1}}}]},"finish_reason":null}]}',
    });
    expect(parts).toEqual([
      { type: 'response-metadata', id: 'c', model: 'm' },
      { type: 'tool-call-delta', index: 0, id: 't', name: 'f', argumentsDelta: '{"a":1}', observations: ['tool_arguments_object'] },
    ]);
    expect(new StreamAccumulator().addAll(parts).toResponse().observations).toEqual(['tool_arguments_object']);
    expect(deviationForObservation('tool_arguments_object')).toBe('nonstandard_tool_call_serialization');
  });

  it('reads content given as parts, tool calls without ids, legacy function_call and incomplete usage', () => {
    expect(
      decodeOpenAIResponse(
        JSON.stringify({
          id: 'x',
          model: 'm',
          choices: [{ message: { content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], tool_calls: [{ function: { name: 'f', arguments: '' } }] }, finish_reason: 'tool_calls' }],
          usage: { prompt_tokens: 3 },
        }),
      ),
    ).toEqual({
      id: 'x',
      model: 'm',
      text: 'ab',
      toolCalls: [{ id: 'call_0', name: 'f', arguments: '{}' }],
      finishReason: 'tool_calls',
      rawFinishReason: 'tool_calls',
      observations: ['content_parts_array', 'tool_call_id_missing', 'usage_incomplete'],
    });
    expect(
      decodeOpenAIResponse(JSON.stringify({ choices: [{ message: { content: null, function_call: { name: 'g', arguments: '{"x":2}' } }, finish_reason: 'function_call' }] })),
    ).toMatchObject({ toolCalls: [{ id: 'call_0', name: 'g', arguments: '{"x":2}' }], finishReason: 'tool_calls', observations: ['legacy_function_call'] });
  });

  it('decodes usage in a chunk with empty choices and cached prompt tokens', () => {
    expect(decodeOpenAIStreamEvent({ data: '{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}}' })).toEqual([
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 2, cachedInputTokens: 4 } },
    ]);
  });

  it('takes a negative or fractional token count for no count: the usage is then counted locally', () => {
    for (const promptTokens of [-1, 2.5, 1e300]) {
      const decoded = decodeOpenAIResponse(JSON.stringify({ choices: [{ message: { content: 'a' }, finish_reason: 'stop' }], usage: { prompt_tokens: promptTokens, completion_tokens: 2 } }));
      expect(decoded.usage).toBeUndefined();
      expect(decoded.observations).toEqual(['usage_incomplete']);
    }
    expect(decodeOpenAIStreamEvent({ data: '{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":-4}}}' })).toEqual([
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 2 } },
    ]);
    expect(
      decodeAnthropicResponse(
        JSON.stringify({ id: 'm', type: 'message', role: 'assistant', model: 'c', content: [{ type: 'text', text: 'a' }], stop_reason: 'end_turn', usage: { input_tokens: 5, output_tokens: 1.5, cache_read_input_tokens: -3 } }),
      ).usage,
    ).toBeUndefined();
  });

  it('keeps a mid-conversation system message in place and warns about images where only text goes; a tool result\'s image follows the tool results in a user turn', () => {
    const request: CanonicalRequest = {
      model: 'm',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a' }] },
        { role: 'system', content: [{ type: 'text', text: 'b' }, { type: 'image', url: 'https://x/s.png' }] },
        { role: 'tool', toolCallId: 't', content: [{ type: 'image', url: 'https://x/y.png' }], isError: true },
        { role: 'assistant', content: [{ type: 'text', text: 'c' }] },
      ],
      stream: false,
    };
    const encoded = encodeOpenAIRequest(request, TARGET);
    expect(JSON.parse(encoded.body).messages).toEqual([
      { role: 'user', content: 'a' },
      { role: 'system', content: 'b' },
      { role: 'tool', tool_call_id: 't', content: '(an image, sent in the next user message)' },
      { role: 'user', content: [{ type: 'text', text: 'The image of the result of tool call t:' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
      { role: 'assistant', content: 'c' },
    ]);
    expect(encoded.warnings.map((warning) => warning.setting)).toEqual(['messages[1].content', 'messages[2].content', 'messages[2].isError']);
    expect(encoded.warnings[0]?.message).toContain('1 image part was not sent');
    expect(encoded.warnings[1]?.message).toContain('1 image part was sent in the user turn after the tool results');
  });

  it('passes an image part\'s detail on to an openai-wire engine as the client sent it', () => {
    const request: CanonicalRequest = {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image', url: 'https://x/y.png', detail: 'high' }, { type: 'image', url: 'https://x/z.png' }] }],
      stream: false,
    };
    expect(JSON.parse(encodeOpenAIRequest(request, TARGET).body).messages[0].content).toEqual([
      { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'high' } },
      { type: 'image_url', image_url: { url: 'https://x/z.png' } },
    ]);
  });
});

/**
 * Custom (freeform) tools on the openai wire. Shapes from openai-node 6.x: `ChatCompletionCustomTool`
 * `{type: "custom", custom: {name, description?, format?: {type: "text"} | {type: "grammar", grammar:
 * {definition, syntax}}}}`, `ChatCompletionNamedToolChoiceCustom` `{type: "custom", custom: {name}}`,
 * `ChatCompletionMessageCustomToolCall` `{id, type: "custom", custom: {input, name}}`; streamed as
 * `{index, id, type: "custom", custom: {name, input}}` then `{index, custom: {input}}`
 * (openai/openai-openapi#576: the spec's chunk schema still names only `function`).
 */
describe('custom tools on the openai wire', () => {
  const request = parseOpenAIChatRequest(
    JSON.stringify({
      model: 'gpt-6.2-sol',
      messages: [
        { role: 'user', content: 'Add hello.txt' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Done!' },
      ],
      tools: [
        { type: 'custom', custom: { name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', grammar: { syntax: 'lark', definition: 'start: "x"' } } } },
        { type: 'custom', custom: { name: 'shell', format: { type: 'text' } } },
        { type: 'custom', custom: { name: 'note' } },
      ],
      tool_choice: { type: 'custom', custom: { name: 'apply_patch' } },
    }),
  ).request;

  it('are sent as the client declared them to OpenAI itself (vendor: openai), grammar nested, no grammar folded into the description', () => {
    const body = JSON.parse(encodeOpenAIRequest(request, { ...TARGET, vendor: 'openai' }).body) as Record<string, unknown>;
    expect(body['tools']).toEqual([
      { type: 'custom', custom: { name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', grammar: { syntax: 'lark', definition: 'start: "x"' } } } },
      { type: 'custom', custom: { name: 'shell', format: { type: 'text' } } },
      { type: 'custom', custom: { name: 'note' } },
    ]);
    expect(body['tool_choice']).toEqual({ type: 'custom', custom: { name: 'apply_patch' } });
    expect((body['messages'] as { tool_calls?: unknown }[])[1]?.tool_calls).toEqual([{ id: 'call_1', type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch' } }]);
  });

  it('are functions of one string `input` for any other server of the wire', () => {
    const body = JSON.parse(encodeOpenAIRequest(request, TARGET).body) as { tools: { type: string; function: { description: string } }[]; tool_choice: unknown; messages: { tool_calls?: unknown }[] };
    expect(body.tools.map((tool) => tool.type)).toEqual(['function', 'function', 'function']);
    expect(body.tools[0]?.function.description).toContain('lark grammar:\nstart: "x"');
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'apply_patch' } });
    expect(body.messages[1]?.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' } }]);
  });

  it('come back as calls whose arguments carry the raw input, whole and streamed', () => {
    const answer = decodeOpenAIResponse(
      JSON.stringify({ id: 'x', model: 'm', choices: [{ message: { content: null, tool_calls: [{ id: 'call_2', type: 'custom', custom: { name: 'apply_patch', input: '{"not": "json args"}' } }] }, finish_reason: 'tool_calls' }] }),
    );
    expect(answer.toolCalls).toEqual([{ id: 'call_2', name: 'apply_patch', arguments: '{"input":"{\\"not\\": \\"json args\\"}"}' }]);

    const chunk = (toolCall: unknown): string => JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [toolCall] }, finish_reason: null }] });
    const parts = [
      chunk({ index: 0, id: 'call_3', type: 'custom', custom: { name: 'apply_patch', input: '' } }),
      chunk({ index: 0, custom: { input: '{"a"' } }),
      chunk({ index: 0, custom: { input: ': 1}' } }),
    ].flatMap((data) => decodeOpenAIStreamEvent({ data }));
    expect(parts).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_3', name: 'apply_patch', argumentsDelta: '', freeform: true },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"a"', freeform: true },
      { type: 'tool-call-delta', index: 0, argumentsDelta: ': 1}', freeform: true },
    ]);
    // A raw input that happens to be JSON stays the input, not the arguments.
    expect(new StreamAccumulator().addAll(parts).toResponse().toolCalls).toEqual([{ id: 'call_3', name: 'apply_patch', arguments: JSON.stringify({ input: '{"a": 1}' }) }]);
    // An empty `custom` echoed beside a function's delta does not make it a custom call (earendil-works/pi#8504).
    expect(decodeOpenAIStreamEvent({ data: chunk({ index: 0, function: { arguments: '{}' }, custom: {} }) })).toEqual([{ type: 'tool-call-delta', index: 0, argumentsDelta: '{}' }]);
  });
});

describe('anthropic adapter details', () => {
  it('folds a mid-conversation system message into the system prompt with a warning, merges same-role turns', () => {
    const encoded = encodeAnthropicRequest(
      {
        model: 'm',
        maxTokens: 10,
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'first' }] },
          { role: 'user', content: [{ type: 'text', text: 'a' }] },
          { role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'b' }] },
          { role: 'system', content: [{ type: 'text', text: 'later' }] },
          { role: 'assistant', content: [], toolCalls: [{ id: 't', name: 'f', arguments: 'not json' }] },
          { role: 'tool', toolCallId: 't', content: [{ type: 'text', text: 'r' }], isError: true },
        ],
        tools: [{ name: 'f', inputSchema: { type: 'object' } }],
        stream: false,
      },
      { baseUrl: 'https://api.anthropic.com/', apiKey: 'k' },
    );
    expect(encoded.url).toBe('https://api.anthropic.com/v1/messages');
    expect(encoded.headers['anthropic-version']).toBe('2023-06-01');
    expect(JSON.parse(encoded.body)).toEqual({
      model: 'm',
      max_tokens: 10,
      system: 'first\n\nlater',
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'r', is_error: true }] },
      ],
    });
    expect(encoded.warnings.map((warning) => warning.setting)).toEqual(['messages[3]', 'messages[4].toolCalls[0].arguments']);
  });

  it('sends a tool history as text when the request declares no tools (the Messages API refuses the blocks without them): images and a cache breakpoint kept', () => {
    const encoded = encodeAnthropicRequest(
      {
        model: 'm',
        maxTokens: 10,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'show me the chart' }] },
          { role: 'assistant', content: [], toolCalls: [{ id: 'toolu_1', name: 'screenshot', arguments: '{"window":"chart"}' }] },
          { role: 'tool', toolCallId: 'toolu_1', content: [{ type: 'text', text: 'captured' }, { type: 'image', mediaType: 'image/png', data: 'AAAA' }], cacheControl: {} },
        ],
        stream: false,
      },
      { baseUrl: 'https://api.anthropic.com/', apiKey: 'k' },
    );
    const body = JSON.parse(encoded.body) as Record<string, unknown>;
    expect(body['tools']).toBeUndefined();
    expect(body['messages']).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'show me the chart' }] },
      { role: 'assistant', content: [{ type: 'text', text: '[tool call toolu_1: screenshot with input {"window":"chart"}]' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: '[result of tool call toolu_1 (screenshot)]' },
          { type: 'text', text: 'captured' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' }, cache_control: { type: 'ephemeral' } },
        ],
      },
    ]);
    expect(encoded.warnings).toContainEqual({
      setting: 'messages',
      message: "the request declares no tools, and the anthropic wire refuses tool calls and results without them: the history's 1 tool call and 1 tool result were sent as text in their turns",
    });
  });

  it('sends temperature without top_p when a request sets both (newer Claude models refuse the pair), with a warning', () => {
    const encode = (settings: Pick<CanonicalRequest, 'temperature' | 'topP'>) => {
      const encoded = encodeAnthropicRequest({ model: 'claude-sonnet-4-5', maxTokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false, ...settings }, { baseUrl: 'x' });
      const body = JSON.parse(encoded.body) as Record<string, unknown>;
      return { temperature: body['temperature'], top_p: body['top_p'], warnings: encoded.warnings };
    };
    expect(encode({ temperature: 0.7, topP: 0.9 })).toEqual({
      temperature: 0.7,
      top_p: undefined,
      warnings: [
        {
          setting: 'topP',
          message: 'the anthropic wire refuses temperature and top_p together on newer Claude models; top_p 0.9 was left out and temperature 0.7 sent',
          fields: [{ setting: 'topP', effect: 'dropped' }],
        },
      ],
    });
    // Clamped first, so the warning names the temperature that was sent.
    expect(encode({ temperature: 1.5, topP: 0.5 }).warnings.map((warning) => warning.message)).toEqual([
      'the anthropic wire accepts a temperature of at most 1; 1.5 was sent as 1',
      'the anthropic wire refuses temperature and top_p together on newer Claude models; top_p 0.5 was left out and temperature 1 sent',
    ]);
    // Each names the client's setting it changed or left out, for the gateway's headers.
    expect(encode({ temperature: 1.5, topP: 0.5 }).warnings.map((warning) => warning.fields)).toEqual([[{ setting: 'temperature', effect: 'changed' }], [{ setting: 'topP', effect: 'dropped' }]]);
    // Either alone is sent as given.
    expect(encode({ topP: 0.9 })).toEqual({ temperature: undefined, top_p: 0.9, warnings: [] });
    expect(encode({ temperature: 0 })).toEqual({ temperature: 0, top_p: undefined, warnings: [] });
  });

  it('maps every tool choice', () => {
    const tools = [{ name: 'f', inputSchema: { type: 'object' } }];
    const choices = (['auto', 'none', 'required', { name: 'f' }] as const).map(
      (toolChoice) =>
        JSON.parse(encodeAnthropicRequest({ model: 'm', maxTokens: 1, messages: [], tools, toolChoice, stream: false }, { baseUrl: 'x' }).body).tool_choice,
    );
    expect(choices).toEqual([{ type: 'auto' }, { type: 'none' }, { type: 'any' }, { type: 'tool', name: 'f' }]);
  });

  it('leaves out a tool choice of auto or none without tools (the Messages API refuses any), with a warning; one asking for a call goes as asked', () => {
    const encoded = (toolChoice: 'auto' | 'none' | 'required') => encodeAnthropicRequest({ model: 'm', maxTokens: 1, messages: [], toolChoice, stream: false }, { baseUrl: 'x' });
    for (const choice of ['auto', 'none'] as const) {
      const request = encoded(choice);
      expect(JSON.parse(request.body)).not.toHaveProperty('tool_choice');
      expect(request.warnings.filter((warning) => warning.setting === 'toolChoice')).toEqual([
        {
          setting: 'toolChoice',
          message: `the request declares no tools, and the anthropic wire refuses a tool_choice without them: tool_choice ${choice} was left out, which lets the model call no tool all the same`,
          fields: [{ setting: 'toolChoice', effect: 'dropped' }],
        },
      ]);
    }
    expect(JSON.parse(encoded('required').body).tool_choice).toEqual({ type: 'any' });
    expect(encoded('required').warnings.filter((warning) => warning.setting === 'toolChoice')).toEqual([]);
  });
});

describe('turns the anthropic wire cannot send as asked (anthropicUnsendableTurn)', () => {
  const text = (value: string) => [{ type: 'text' as const, text: value }];
  const unsendable = (messages: CanonicalRequest['messages']): number | undefined => anthropicUnsendableTurn({ model: 'm', messages, stream: false });

  it('names a conversation of nothing but empty turns (it would go out as messages: []) and a final empty user turn (it would make a prefill)', () => {
    expect(unsendable([{ role: 'system', content: text('be brief') }, { role: 'user', content: text('') }])).toBe(1);
    expect(unsendable([{ role: 'user', content: [] }])).toBe(0);
    expect(unsendable([{ role: 'user', content: [{ type: 'reasoning', text: 'unsigned' }] }])).toBe(0);
    expect(unsendable([{ role: 'user', content: text('a') }, { role: 'assistant', content: text('b') }, { role: 'user', content: text('') }])).toBe(2);
  });

  it('lets through what it sends as asked: an empty turn merged into its neighbour, an empty final assistant turn, a tool call or result', () => {
    expect(unsendable([{ role: 'user', content: text('') }, { role: 'user', content: text('hi') }])).toBeUndefined();
    expect(unsendable([{ role: 'user', content: text('a') }, { role: 'assistant', content: text('') }])).toBeUndefined();
    expect(unsendable([{ role: 'user', content: text('a') }, { role: 'assistant', content: [], toolCalls: [{ id: 't', name: 'f', arguments: '{}' }] }, { role: 'tool', toolCallId: 't', content: text('') }])).toBeUndefined();
  });
});

describe('one tool call at a time (parallelToolCalls: false)', () => {
  const tool = { name: 'f', inputSchema: { type: 'object' } };
  const request = (overrides: Partial<CanonicalRequest>): CanonicalRequest => ({ model: 'm', maxTokens: 1, messages: [], stream: false, tools: [tool], parallelToolCalls: false, ...overrides });

  it('is parallel_tool_calls on the openai wire, only when tools are sent', () => {
    expect(JSON.parse(encodeOpenAIRequest(request({}), TARGET).body).parallel_tool_calls).toBe(false);
    expect(JSON.parse(encodeOpenAIRequest(request({ parallelToolCalls: true }), TARGET).body).parallel_tool_calls).toBe(true);
    expect(JSON.parse(encodeOpenAIRequest(request({ tools: [] }), TARGET).body)).not.toHaveProperty('parallel_tool_calls');
    expect(JSON.parse(encodeOpenAIRequest(request({ parallelToolCalls: undefined }), TARGET).body)).not.toHaveProperty('parallel_tool_calls');
  });

  it('is disable_parallel_tool_use on the anthropic tool choice (auto when none was given; nothing to limit under none)', () => {
    const choiceOf = (overrides: Partial<CanonicalRequest>): unknown => JSON.parse(encodeAnthropicRequest(request(overrides), { baseUrl: 'x' }).body).tool_choice;
    expect(choiceOf({})).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(choiceOf({ toolChoice: 'required' })).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(choiceOf({ toolChoice: { name: 'f' } })).toEqual({ type: 'tool', name: 'f', disable_parallel_tool_use: true });
    expect(choiceOf({ toolChoice: 'none' })).toEqual({ type: 'none' });
    expect(choiceOf({ parallelToolCalls: true })).toBeUndefined();
  });

  it('is read from each client API, and no longer named as ignored', () => {
    const chat = parseOpenAIChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], parallel_tool_calls: false }));
    expect(chat.request.parallelToolCalls).toBe(false);
    expect(chat.ignoredFields).not.toContain('parallel_tool_calls');
    const responses = parseResponsesRequest(JSON.stringify({ model: 'm', input: 'hi', parallel_tool_calls: false }));
    expect(responses.request.parallelToolCalls).toBe(false);
    expect(responses.ignoredFields).not.toContain('parallel_tool_calls');
    const messages = parseAnthropicMessagesRequest(
      JSON.stringify({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], tool_choice: { type: 'auto', disable_parallel_tool_use: true } }),
    );
    expect(messages.request.parallelToolCalls).toBe(false);
    expect(parseAnthropicMessagesRequest(JSON.stringify({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })).request).not.toHaveProperty('parallelToolCalls');
    expect(() => parseOpenAIChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], parallel_tool_calls: 'no' }))).toThrow(InvalidInputError);
  });
});

describe('reasoning sent apart from the answer', () => {
  it('is read from reasoning_content (llama.cpp, vLLM) and reasoning (Ollama), whole and streamed; empty fields are none', () => {
    const whole = (message: string): string => `{"id":"c","model":"m","choices":[{"index":0,"message":${message},"finish_reason":"stop"}]}`;
    expect(decodeOpenAIResponse(whole('{"role":"assistant","content":"Paris","reasoning_content":"Think."}')).reasoning).toBe('Think.');
    expect(decodeOpenAIResponse(whole('{"role":"assistant","content":"Paris","reasoning":"Think."}')).reasoning).toBe('Think.');
    expect(decodeOpenAIResponse(whole('{"role":"assistant","content":"Paris","reasoning_content":null}'))).not.toHaveProperty('reasoning');
    const parts = [
      ...decodeOpenAIStreamEvent({ data: '{"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Thi"},"finish_reason":null}]}' }),
      ...decodeOpenAIStreamEvent({ data: '{"choices":[{"index":0,"delta":{"reasoning_content":"nk."},"finish_reason":null}]}' }),
      ...decodeOpenAIStreamEvent({ data: '{"choices":[{"index":0,"delta":{"content":"Paris"},"finish_reason":"stop"}]}' }),
    ];
    expect(parts.filter((part) => part.type === 'reasoning-delta')).toEqual([{ type: 'reasoning-delta', text: 'Thi' }, { type: 'reasoning-delta', text: 'nk.' }]);
    expect(new StreamAccumulator().addAll(parts).toResponse()).toMatchObject({ text: 'Paris', reasoning: 'Think.' });
  });

  it('is read from Anthropic thinking blocks, whole and streamed', () => {
    const body = '{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"thinking","thinking":"Think.","signature":"sig"},{"type":"text","text":"Paris"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":3}}';
    expect(decodeAnthropicResponse(body)).toMatchObject({ text: 'Paris', reasoning: 'Think.', reasoningSignature: 'sig' });
    const parts = [
      ...decodeAnthropicStreamEvent({ event: 'content_block_start', data: '{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}' }),
      ...decodeAnthropicStreamEvent({ event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Think."}}' }),
      ...decodeAnthropicStreamEvent({ event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}' }),
    ];
    expect(parts).toEqual([
      { type: 'reasoning-delta', text: 'Think.' },
      { type: 'reasoning-signature', signature: 'sig' },
    ]);
    expect(new StreamAccumulator().addAll(parts).toResponse()).toMatchObject({ reasoning: 'Think.', reasoningSignature: 'sig' });
  });
});

describe('the end of a stream', () => {
  it('tells a stream that finished without its terminal marker from one cut before its finish reason', () => {
    const chunk = (delta: string, finish: string | null): string => `{"id":"c","model":"m","choices":[{"index":0,"delta":${delta},"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}`;
    const cut = new StreamAccumulator().addAll(decodeOpenAIStreamEvent({ data: chunk('{"content":"Par"}', null) }));
    expect([cut.finished, cut.ended]).toEqual([false, false]);
    // ik_llama.cpp without --send-done: the finish reason and usage, then the body ends.
    const finished = cut.addAll(decodeOpenAIStreamEvent({ data: chunk('{}', 'stop') })).addAll(decodeOpenAIStreamEvent({ data: '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}' }));
    expect([finished.finished, finished.ended]).toEqual([true, false]);
    expect(finished.toResponse()).toMatchObject({ text: 'Par', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 2 } });
    expect(finished.addAll(decodeOpenAIStreamEvent({ data: '[DONE]' })).ended).toBe(true);
    const anthropic = new StreamAccumulator().addAll(
      decodeAnthropicStreamEvent({ event: 'message_delta', data: '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}' }),
    );
    expect([anthropic.finished, anthropic.ended]).toEqual([true, false]);
  });

  it('names the missing marker as evidence of partial_streaming_reliability', () => {
    expect(WIRE_OBSERVATIONS.terminalMarkerMissing).toBe('terminal_marker_missing');
    expect(deviationForObservation(WIRE_OBSERVATIONS.terminalMarkerMissing)).toBe('partial_streaming_reliability');
  });
});

describe('SSE helpers', () => {
  it('frames multi-line data as several data lines and parses it back', () => {
    const framed = formatServerSentEvent({ event: 'x', data: 'a\nb' });
    expect(framed).toBe('event: x\ndata: a\ndata: b\n\n');
    expect(formatServerSentEvent({ data: 'a\r\nb\rc' })).toBe('data: a\ndata: b\ndata: c\n\n');
    expect(formatServerSentEvent({ data: '{"a":"b"}' })).toBe('data: {"a":"b"}\n\n');
    expect(formatServerSentEvent({ event: 'x', data: '' })).toBe('event: x\ndata: \n\n');
    expect(parseServerSentEvents(`${framed}: comment\n\ndata: [DONE]\n\n`)).toEqual([{ event: 'x', data: 'a\nb' }, { data: '[DONE]' }]);
  });
});

describe('clientErrorFor', () => {
  it('passes a request the provider refused for its content (400, 413, 422) to the client as its own bad request', () => {
    for (const status of [400, 413, 422]) {
      const refused = new UpstreamError(`claude answered HTTP ${status}: messages.1.content.0: Invalid signature`, { status, isRetryable: false, code: 'upstream_http_error' });
      expect(clientErrorFor(refused)).toEqual({ kind: 'invalid_request', message: refused.message, code: 'upstream_http_error' });
    }
    expect(clientErrorFor(new UpstreamError('claude answered HTTP 500', { status: 500, isRetryable: true })).kind).toBe('unavailable');
    expect(clientErrorFor(new UpstreamError('claude answered HTTP 401', { status: 401, isRetryable: false })).kind).toBe('upstream');
  });

  it('classifies pipeline errors for the gateway', () => {
    expect(
      clientErrorFor(new InvalidInputError('invalid', [{ file: 'request body', pointer: '/messages/0/content/1/type', message: 'm' }])),
    ).toEqual({ kind: 'invalid_request', message: 'invalid', code: 'invalid_input', param: 'messages[0].content[1].type' });
    expect(clientErrorFor(new PolicyRefusalError('route_denied', 'confidential data may not leave the host', { hint: 'use a local model' }))).toEqual({
      kind: 'permission',
      message: 'confidential data may not leave the host (use a local model)',
      code: 'route_denied',
    });
    expect(clientErrorFor(new UpstreamError('slow', { status: 504 })).kind).toBe('timeout');
    expect(clientErrorFor(new UpstreamError('down', { status: 503 })).kind).toBe('unavailable');
    expect(clientErrorFor(new UpstreamError('unreachable')).kind).toBe('unavailable');
    expect(clientErrorFor(new UpstreamError('bad body', { status: 200, isRetryable: false })).kind).toBe('upstream');
    expect(clientErrorFor(new StoreError('disk full')).kind).toBe('internal');
    expect(clientErrorFor(new TypeError('secret internals'))).toEqual({ kind: 'internal', message: 'internal error in the syndicate gateway', code: 'internal' });
    expect(pointerToParam('/tools/0/function/name')).toBe('tools[0].function.name');
  });
});
