import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import type { CanonicalRequest, CanonicalResponse, JsonObject, StreamPart } from '../../../src/wire/canonical.js';
import { parseResponsesRequest, renderResponsesResponse, ResponsesStreamEncoder } from '../../../src/wire/openai/responses-server.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';

const problemsOf = (body: unknown): { pointer: string; message: string }[] => {
  try {
    parseResponsesRequest(JSON.stringify(body));
  } catch (error) {
    if (error instanceof InvalidInputError) return error.problems.map(({ pointer, message }) => ({ pointer, message }));
    throw error;
  }
  throw new Error('expected the request to be refused');
};

describe('parseResponsesRequest', () => {
  it('reads instructions, every input item kind and the settings into the canonical request', () => {
    const { request, ignoredFields } = parseResponsesRequest(
      JSON.stringify({
        model: 'auto',
        instructions: 'You are terse.',
        input: [
          { role: 'developer', content: 'Answer in English.' },
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'Weather where this photo was taken?' },
              { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/4AAQ', detail: 'low' },
            ],
          },
          { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
          { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }] },
          { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call', call_id: 'call_10', name: 'get_time', arguments: '' },
          { type: 'function_call_output', call_id: 'call_9', output: 'sunny, 21 C' },
          { type: 'function_call_output', call_id: 'call_10', output: [{ type: 'input_text', text: '14:00' }] },
        ],
        tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }],
        tool_choice: { type: 'function', name: 'get_weather' },
        text: { format: { type: 'json_schema', name: 'weather', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
        temperature: 0.2,
        top_p: 0.9,
        max_output_tokens: 300,
        stream: true,
        store: false,
        parallel_tool_calls: false,
        include: ['reasoning.encrypted_content'],
      }),
    );
    expect(request).toEqual<CanonicalRequest>({
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
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Let me check.' }],
          toolCalls: [
            { id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { id: 'call_10', name: 'get_time', arguments: '{}' },
          ],
        },
        { role: 'tool', toolCallId: 'call_9', content: [{ type: 'text', text: 'sunny, 21 C' }] },
        { role: 'tool', toolCallId: 'call_10', content: [{ type: 'text', text: '14:00' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }],
      toolChoice: { name: 'get_weather' },
      parallelToolCalls: false,
      responseFormat: { type: 'json_schema', name: 'weather', schema: { type: 'object' }, strict: true },
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 300,
      stream: true,
    });
    // store: false is what the gateway does anyway; the rest it does not interpret.
    expect(ignoredFields).toEqual(['include', 'input.reasoning', 'text.verbosity']);
  });

  it('takes a string input as one user message', () => {
    expect(parseResponsesRequest(JSON.stringify({ model: 'm', input: 'hi' })).request).toEqual({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false });
  });

  it('names every field at fault by JSON pointer', () => {
    expect(
      problemsOf({
        input: [{ role: 'robot', content: 'x' }, { type: 'item_reference', id: 'msg_1' }, { type: 'function_call_output', output: 'x' }, { role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }],
        previous_response_id: 'resp_1',
        tools: [{ type: 'web_search' }],
        max_output_tokens: 0,
      }),
    ).toEqual([
      { pointer: '/model', message: 'is required and must be a non-empty string' },
      { pointer: '/previous_response_id', message: 'is not supported: the gateway keeps no responses to continue from' },
      { pointer: '/input/0/role', message: 'must be one of user, assistant, system, developer (got "robot")' },
      { pointer: '/input/1/type', message: 'input item type "item_reference" is not supported by the gateway' },
      { pointer: '/input/2/call_id', message: 'is required' },
      { pointer: '/input/3/content/0/type', message: 'content part type "input_file" is not supported here' },
      { pointer: '/tools/0/type', message: 'only function and custom tools are supported (got "web_search")' },
      { pointer: '/max_output_tokens', message: 'must be at least 1' },
    ]);
    expect(problemsOf({ model: 'm', input: [{ role: 'developer', content: 'Be brief.' }] })).toEqual([
      { pointer: '/input', message: 'holds only instructions: there is no user message to answer' },
    ]);
  });

  it('refuses an empty input, a message with no content parts and an output no call item of the input asks for, saying what to do', () => {
    expect(problemsOf({ model: 'm', input: '' })).toEqual([{ pointer: '/input', message: "is an empty string: there is nothing to answer; send the user's message as `input`" }]);
    for (const input of [[], undefined]) {
      expect(problemsOf({ model: 'm', instructions: 'Be brief.', input })).toEqual([
        { pointer: '/input', message: 'is required: a string or a non-empty array of input items; send the whole conversation as `input` (the gateway keeps no earlier responses)' },
      ]);
    }
    const emptyParts = 'is an empty array: a message needs at least one content part; send its text as a string or in at least one part, or leave the message out';
    expect(problemsOf({ model: 'm', input: [{ role: 'user', content: 'hi' }, { type: 'message', role: 'assistant', content: [] }, { role: 'user', content: [] }] })).toEqual([
      { pointer: '/input/1/content', message: emptyParts },
      { pointer: '/input/2/content', message: emptyParts },
    ]);
    expect(
      problemsOf({
        model: 'm',
        input: [
          { role: 'user', content: 'Weather in Paris, then patch the file.' },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
          { type: 'function_call_output', call_id: 'call_9', output: 'rain' },
          { type: 'custom_tool_call_output', call_id: 'call_8', output: 'done' },
        ],
      }),
    ).toEqual([
      {
        pointer: '/input/3/call_id',
        message:
          'no tool call found for function call output with call_id "call_9": no item of the input calls it, and the gateway keeps no earlier responses to find it in; send the function_call item it answers before it in `input`, or leave the output out',
      },
      {
        pointer: '/input/4/call_id',
        message:
          'no tool call found for custom tool call output with call_id "call_8": no item of the input calls it, and the gateway keeps no earlier responses to find it in; send the custom_tool_call item it answers before it in `input`, or leave the output out',
      },
    ]);
    // With previous_response_id the call could be in the stored response: only that field is at fault.
    expect(problemsOf({ model: 'm', previous_response_id: 'resp_1', input: [{ type: 'function_call_output', call_id: 'call_1', output: 'sunny' }] })).toEqual([
      { pointer: '/previous_response_id', message: 'is not supported: the gateway keeps no responses to continue from' },
    ]);
  });

  it('takes what OpenAI takes: a message whose content is an empty string', () => {
    expect(parseResponsesRequest(JSON.stringify({ model: 'm', instructions: 'Greet the user.', input: [{ role: 'user', content: '' }] })).request).toEqual({
      model: 'm',
      system: 'Greet the user.',
      messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }],
      stream: false,
    });
  });
});

const request: CanonicalRequest = { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: true, maxTokens: 64 };
const options = { id: 'resp_abc', createdAt: 1_700_000_000, model: 'ollama:llama3', request };

describe('renderResponsesResponse', () => {
  it('renders text and function calls as output items, with usage', () => {
    const response: CanonicalResponse = {
      id: 'x',
      model: 'llama3',
      text: 'Checking.',
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      finishReason: 'tool_calls',
      rawFinishReason: 'tool_calls',
      usage: { inputTokens: 12, outputTokens: 7, cachedInputTokens: 4 },
    };
    expect(JSON.parse(renderResponsesResponse(response, options))).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      model: 'ollama:llama3',
      max_output_tokens: 64,
      output: [
        { type: 'message', id: 'msg_abc_0', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', id: 'fc_abc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
      ],
      usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 4 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 19 },
    });
  });

  it('reports an answer cut at max tokens as incomplete', () => {
    const response: CanonicalResponse = { id: 'x', model: 'm', text: 'Once upon', toolCalls: [], finishReason: 'length', rawFinishReason: 'length' };
    const body = JSON.parse(renderResponsesResponse(response, options)) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ status: 'incomplete' }] });
    expect(body).not.toHaveProperty('usage');
  });
});

const eventsOf = (text: string): { event: string | undefined; data: Record<string, unknown> }[] =>
  parseServerSentEvents(text).map((event) => ({ event: event.event, data: JSON.parse(event.data) as Record<string, unknown> }));

/** Each event's type, with the output item it is about (`#1`) when it names one. */
const traceOf = (events: { event: string | undefined; data: Record<string, unknown> }[]): string[] =>
  events.map((event) => (event.data['output_index'] === undefined ? String(event.event) : `${event.event} #${String(event.data['output_index'])}`));

describe('ResponsesStreamEncoder', () => {
  it('announces, streams and closes text and a tool call, then completes with usage', () => {
    const encoder = new ResponsesStreamEncoder(options);
    const parts: StreamPart[][] = [
      [{ type: 'response-metadata', id: 'x' }, { type: 'text-delta', text: 'Let me ' }],
      [{ type: 'text-delta', text: 'check.' }],
      [{ type: 'tool-call-delta', index: 1, id: 'toolu_1', name: 'get_weather', argumentsDelta: '' }],
      [{ type: 'tool-call-delta', index: 1, argumentsDelta: '{"city":' }, { type: 'tool-call-delta', index: 1, argumentsDelta: '"Paris"}' }],
      [{ type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_use' }, { type: 'usage', usage: { inputTokens: 10, outputTokens: 5 } }],
      [{ type: 'stream-end' }],
    ];
    const events = eventsOf(parts.map((batch) => encoder.encodeAll(batch)).join(''));
    expect(encoder.closed).toBe(true);
    expect(events.map((event) => event.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.every((event, index) => event.data['type'] === event.event && event.data['sequence_number'] === index)).toBe(true);
    expect(events[2]?.data).toMatchObject({ output_index: 0, item: { type: 'message', id: 'msg_abc_0', status: 'in_progress', content: [] } });
    expect(events[8]?.data).toMatchObject({ output_index: 0, item: { type: 'message', status: 'completed', content: [{ text: 'Let me check.' }] } });
    expect(events[9]?.data).toMatchObject({ output_index: 1, item: { type: 'function_call', id: 'fc_abc_1', call_id: 'toolu_1', name: 'get_weather', arguments: '' } });
    expect(events[12]?.data).toMatchObject({ item_id: 'fc_abc_1', arguments: '{"city":"Paris"}' });
    expect(events.at(-1)?.data['response']).toMatchObject({
      status: 'completed',
      output: [
        { type: 'message', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.' }] },
        { type: 'function_call', status: 'completed', arguments: '{"city":"Paris"}' },
      ],
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    });
    expect(encoder.encodeAll([{ type: 'text-delta', text: 'late' }])).toBe('');
  });

  it('closes the reasoning item (all its done events) before the message item is added', () => {
    const encoder = new ResponsesStreamEncoder(options);
    // What the OpenAI-wire decoder makes of a llama.cpp / vLLM stream with `reasoning_content`.
    const text = [
      [{ type: 'response-metadata', id: 'chatcmpl-r' }, { type: 'reasoning-delta', text: 'Two plus two… ' }],
      [{ type: 'reasoning-delta', text: '思考 is four.' }],
      [{ type: 'text-delta', text: 'The answer is 4.' }],
      [{ type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' }],
      [{ type: 'stream-end' }],
    ]
      .map((batch) => encoder.encodeAll(batch as StreamPart[]))
      .join('');
    const events = eventsOf(text);
    expect(traceOf(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added #0',
      'response.content_part.added #0',
      'response.reasoning_text.delta #0',
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
    expect(events.every((event, index) => event.data['sequence_number'] === index)).toBe(true);
    expect(events[8]?.data['item']).toEqual({ type: 'reasoning', id: 'rs_abc_0', summary: [], content: [{ type: 'reasoning_text', text: 'Two plus two… 思考 is four.' }], status: 'completed' });
    expect(events[9]?.data['item']).toMatchObject({ type: 'message', id: 'msg_abc_1', status: 'in_progress' });
    expect(events.at(-1)?.data['response']).toMatchObject({
      status: 'completed',
      output: [
        { type: 'reasoning', status: 'completed', content: [{ text: 'Two plus two… 思考 is four.' }] },
        { type: 'message', status: 'completed', content: [{ text: 'The answer is 4.' }] },
      ],
    });
  });

  it('closes the reasoning item before a tool call is added', () => {
    const encoder = new ResponsesStreamEncoder(options);
    const events = eventsOf(
      [
        [{ type: 'reasoning-delta', text: 'The user wants the weather.' }],
        [{ type: 'tool-call-delta', index: 0, id: 'call_1', name: 'get_weather', argumentsDelta: '' }],
        [{ type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":"Paris"}' }],
        [{ type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' }, { type: 'stream-end' }],
      ]
        .map((batch) => encoder.encodeAll(batch as StreamPart[]))
        .join(''),
    );
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
    expect(events[8]?.data['item']).toMatchObject({ type: 'function_call', id: 'fc_abc_1', call_id: 'call_1', name: 'get_weather', arguments: '', status: 'in_progress' });
    expect(events.at(-1)?.data['response']).toMatchObject({
      output: [
        { type: 'reasoning', status: 'completed' },
        { type: 'function_call', status: 'completed', arguments: '{"city":"Paris"}' },
      ],
    });
  });

  it('holds back what comes while a tool call is open (interleaved parallel calls, text after a call) and writes it item by item at the end', () => {
    const encoder = new ResponsesStreamEncoder(options);
    // Argument deltas of two parallel calls interleaved, as the OpenAI chat wire allows (`index`), then more text.
    const events = eventsOf(
      [
        [{ type: 'text-delta', text: 'Let me check. ' }],
        [{ type: 'tool-call-delta', index: 0, id: 'call_a', name: 'get_weather', argumentsDelta: '{"ci' }],
        [{ type: 'tool-call-delta', index: 1, id: 'call_b', name: 'get_time', argumentsDelta: '{"tz":"UTC"}' }],
        [{ type: 'tool-call-delta', index: 0, argumentsDelta: 'ty":"Paris"}' }],
        [{ type: 'text-delta', text: 'Done.' }],
        [{ type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' }],
        [{ type: 'stream-end' }],
      ]
        .map((batch) => encoder.encodeAll(batch as StreamPart[]))
        .join(''),
    );
    expect(traceOf(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added #0',
      'response.content_part.added #0',
      'response.output_text.delta #0',
      'response.output_text.done #0',
      'response.content_part.done #0',
      'response.output_item.done #0',
      'response.output_item.added #1',
      'response.function_call_arguments.delta #1',
      'response.function_call_arguments.delta #1',
      // The stream ended: the open call is closed, then the held parts are written.
      'response.function_call_arguments.done #1',
      'response.output_item.done #1',
      'response.output_item.added #2',
      'response.function_call_arguments.delta #2',
      'response.function_call_arguments.done #2',
      'response.output_item.done #2',
      'response.output_item.added #3',
      'response.content_part.added #3',
      'response.output_text.delta #3',
      'response.output_text.done #3',
      'response.content_part.done #3',
      'response.output_item.done #3',
      'response.completed',
    ]);
    expect(events.every((event, index) => event.data['sequence_number'] === index)).toBe(true);
    expect(events.at(-1)?.data['response']).toMatchObject({
      output: [
        { type: 'message', id: 'msg_abc_0', content: [{ text: 'Let me check. ' }] },
        { type: 'function_call', id: 'fc_abc_1', call_id: 'call_a', arguments: '{"city":"Paris"}', status: 'completed' },
        { type: 'function_call', id: 'fc_abc_2', call_id: 'call_b', arguments: '{"tz":"UTC"}', status: 'completed' },
        { type: 'message', id: 'msg_abc_3', content: [{ text: 'Done.' }] },
      ],
    });
  });

  it('marks only the items still open at a max-tokens cut incomplete, and on failure drops what was held back', () => {
    const cut = new ResponsesStreamEncoder(options);
    const cutEvents = eventsOf(
      cut.encodeAll([{ type: 'reasoning-delta', text: 'Hmm.' }, { type: 'text-delta', text: 'Once upon' }, { type: 'finish', finishReason: 'length', rawFinishReason: 'length' }, { type: 'stream-end' }]),
    );
    expect(cutEvents.at(-1)).toMatchObject({
      event: 'response.incomplete',
      data: { response: { output: [{ type: 'reasoning', status: 'completed' }, { type: 'message', status: 'incomplete' }] } },
    });
    const broken = new ResponsesStreamEncoder(options);
    const head = broken.encodeAll([
      { type: 'reasoning-delta', text: 'Hmm.' },
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'get_weather', argumentsDelta: '{"ci' },
      { type: 'text-delta', text: 'held back' },
    ]);
    const events = eventsOf(head + broken.fail({ kind: 'upstream', message: 'the stream from ollama broke', code: 'stream_broken' }));
    expect(events.some((event) => event.event === 'response.output_text.delta')).toBe(false);
    expect(events.at(-1)).toMatchObject({
      event: 'response.failed',
      data: { response: { output: [{ type: 'reasoning', status: 'completed' }, { type: 'function_call', arguments: '{"ci', status: 'incomplete' }] } },
    });
  });

  it('gives a call streamed without arguments `{}`, and an answer with nothing in it one empty message', () => {
    const call = new ResponsesStreamEncoder(options);
    const callEvents = eventsOf(call.encodeAll([{ type: 'tool-call-delta', index: 0, id: 't', name: 'now', argumentsDelta: '' }, { type: 'stream-end' }]));
    expect(callEvents.find((event) => event.event === 'response.function_call_arguments.done')?.data['arguments']).toBe('{}');
    const empty = new ResponsesStreamEncoder(options);
    const emptyEvents = eventsOf(empty.encodeAll([{ type: 'finish', finishReason: 'length', rawFinishReason: 'length' }, { type: 'stream-end' }]));
    expect(emptyEvents.at(-1)).toMatchObject({ event: 'response.incomplete', data: { response: { status: 'incomplete', output: [{ type: 'message', content: [{ text: '' }] }] } } });
  });

  it('ends a broken stream with error and response.failed, never a completion', () => {
    const encoder = new ResponsesStreamEncoder(options);
    const head = encoder.encodeAll([{ type: 'text-delta', text: 'Par' }]);
    const tail = encoder.fail({ kind: 'upstream', message: 'the stream from ollama broke', code: 'stream_broken' });
    const events = eventsOf(head + tail);
    expect(events.slice(-2)).toEqual([
      { event: 'error', data: { type: 'error', sequence_number: 5, code: 'stream_broken', message: 'the stream from ollama broke', param: null } },
      { event: 'response.failed', data: expect.objectContaining({ response: expect.objectContaining({ status: 'failed', error: { code: 'stream_broken', message: 'the stream from ollama broke' } }) }) },
    ]);
    expect(events.some((event) => event.event === 'response.completed')).toBe(false);
    expect(encoder.fail({ kind: 'internal', message: 'again' })).toBe('');
    expect(encoder.encodeAll([{ type: 'stream-end' }])).toBe('');
  });
});

describe('token logprobs', () => {
  const llamaEntry = (token: string, logprob: number): JsonObject => ({ id: 7, token, bytes: [...Buffer.from(token, 'utf8')], logprob });
  /** llama-server's chat logprobs for `tokens`: its token `id` beside each, one alternative. */
  const llamaLogprobs = (...tokens: string[]): JsonObject => ({ content: tokens.map((token) => ({ ...llamaEntry(token, -0.5), top_logprobs: [llamaEntry(`${token}~`, -1)] })) });
  const asResponses = (token: string): Record<string, unknown> => ({ token, logprob: -0.5, bytes: [...Buffer.from(token, 'utf8')], top_logprobs: [{ token: `${token}~`, logprob: -1, bytes: [...Buffer.from(`${token}~`, 'utf8')] }] });

  it('reads include: ["message.output_text.logprobs"] and top_logprobs as the canonical logprobs request; other includes and a lone top_logprobs are ignored', () => {
    const asked = parseResponsesRequest(JSON.stringify({ model: 'm', input: 'hi', include: ['message.output_text.logprobs'], top_logprobs: 3 }));
    expect(asked.request.logprobs).toEqual({ top: 3 });
    expect(asked.ignoredFields).toEqual([]);
    expect(parseResponsesRequest(JSON.stringify({ model: 'm', input: 'hi', include: ['message.output_text.logprobs'] })).request.logprobs).toEqual({});
    const mixed = parseResponsesRequest(JSON.stringify({ model: 'm', input: 'hi', include: ['reasoning.encrypted_content', 'message.output_text.logprobs'] }));
    expect(mixed.request.logprobs).toEqual({});
    expect(mixed.ignoredFields).toEqual(['include']);
    const lone = parseResponsesRequest(JSON.stringify({ model: 'm', input: 'hi', top_logprobs: 2 }));
    expect(lone.request.logprobs).toBeUndefined();
    expect(lone.ignoredFields).toEqual(['top_logprobs']);
    expect(problemsOf({ model: 'm', input: 'hi', include: 'message.output_text.logprobs', top_logprobs: 21 })).toEqual([
      { pointer: '/include', message: 'must be an array of strings' },
      { pointer: '/top_logprobs', message: expect.stringContaining('20') as unknown as string },
    ]);
  });

  it('renders the engine logprobs in the Responses shape: token, logprob, bytes, top_logprobs, nothing else', () => {
    const response: CanonicalResponse = { id: 'x', model: 'm', text: 'Hi!', toolCalls: [], finishReason: 'stop', rawFinishReason: 'stop', logprobs: llamaLogprobs('Hi', '!') };
    const body = JSON.parse(renderResponsesResponse(response, options)) as { output: { content: { logprobs: unknown }[] }[] };
    expect(body.output[0]?.content[0]?.logprobs).toEqual([asResponses('Hi'), asResponses('!')]);
    // An engine that gave no bytes: made from the token.
    const withoutBytes: CanonicalResponse = { ...response, logprobs: { content: [{ token: 'é', logprob: -0.25, bytes: null, top_logprobs: [] }] } };
    expect((JSON.parse(renderResponsesResponse(withoutBytes, options)) as typeof body).output[0]?.content[0]?.logprobs).toEqual([{ token: 'é', logprob: -0.25, bytes: [195, 169], top_logprobs: [] }]);
  });

  it('streams each delta with its own logprobs, and all of them in output_text.done, content_part.done and the final response', () => {
    const encoder = new ResponsesStreamEncoder(options);
    const parts: StreamPart[][] = [
      [{ type: 'logprobs', logprobs: llamaLogprobs('Hi') }, { type: 'text-delta', text: 'Hi' }],
      [{ type: 'logprobs', logprobs: llamaLogprobs('!', ' You') }, { type: 'text-delta', text: '! You' }],
      [{ type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' }],
      [{ type: 'stream-end' }],
    ];
    const events = eventsOf(parts.map((batch) => encoder.encodeAll(batch)).join(''));
    const all = [asResponses('Hi'), asResponses('!'), asResponses(' You')];
    expect(events.filter((event) => event.event === 'response.output_text.delta').map((event) => event.data['logprobs'])).toEqual([[asResponses('Hi')], all.slice(1)]);
    expect(events.find((event) => event.event === 'response.output_text.done')?.data['logprobs']).toEqual(all);
    expect(events.find((event) => event.event === 'response.content_part.done')?.data['part']).toMatchObject({ logprobs: all });
    expect(events.at(-1)?.data['response']).toMatchObject({ output: [{ content: [{ text: 'Hi! You', logprobs: all }] }] });
  });

  it('gives the logprobs of reasoning and call tokens to no text delta, and text held back behind a call its own', () => {
    const reasoning = new ResponsesStreamEncoder(options);
    const text = reasoning.encodeAll([{ type: 'logprobs', logprobs: llamaLogprobs('Hmm') }, { type: 'reasoning-delta', text: 'Hmm' }, { type: 'text-delta', text: 'Hi' }, { type: 'stream-end' }]);
    expect(eventsOf(text).find((event) => event.event === 'response.output_text.delta')?.data['logprobs']).toEqual([]);

    const call = new ResponsesStreamEncoder(options);
    const parts: StreamPart[][] = [
      [{ type: 'logprobs', logprobs: llamaLogprobs('{"') }, { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', argumentsDelta: '{"' }],
      [{ type: 'logprobs', logprobs: llamaLogprobs('Hi') }, { type: 'text-delta', text: 'Hi' }],
      [{ type: 'logprobs', logprobs: llamaLogprobs('}') }, { type: 'tool-call-delta', index: 0, argumentsDelta: '}' }],
      [{ type: 'stream-end' }],
    ];
    const events = eventsOf(parts.map((batch) => call.encodeAll(batch)).join(''));
    expect(events.filter((event) => event.event === 'response.output_text.delta').map((event) => event.data['logprobs'])).toEqual([[asResponses('Hi')]]);
  });
});

describe('freeform (custom) tools', () => {
  const grammarTool = { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: "*** Begin Patch" /.+/s' } };

  it('reads a custom tool as a function of one string `input`, its grammar in the description, and custom calls and outputs as tool turns', () => {
    const { request } = parseResponsesRequest(
      JSON.stringify({
        model: 'auto',
        tools: [grammarTool, { type: 'custom', name: 'note' }],
        tool_choice: { type: 'custom', name: 'apply_patch' },
        input: [
          { role: 'user', content: 'Add a file.' },
          { type: 'custom_tool_call', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch\n"quoted"\n' },
          { type: 'custom_tool_call_output', call_id: 'call_1', output: 'Done!' },
        ],
      }),
    );
    expect(request.tools).toEqual([
      {
        name: 'apply_patch',
        description: 'Edit files.\n\nThe input must match this lark grammar:\nstart: "*** Begin Patch" /.+/s',
        inputSchema: { type: 'object', properties: { input: { type: 'string', description: expect.any(String) } }, required: ['input'], additionalProperties: false },
        freeform: true,
        // The flat Responses grammar, kept as declared for OpenAI's own API (sent nested on Chat Completions).
        freeformDeclaration: { description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: "*** Begin Patch" /.+/s' } },
      },
      { name: 'note', description: 'Freeform tool note', inputSchema: expect.any(Object), freeform: true, freeformDeclaration: {} },
    ]);
    expect(request.toolChoice).toEqual({ name: 'apply_patch' });
    expect(request.messages.slice(1)).toEqual([
      { role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n"quoted"\n' }), freeform: true }] },
      { role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: 'Done!' }] },
    ]);
  });

  it('refuses a custom call without its raw input, a format it does not know, and a grammar without its definition', () => {
    expect(
      problemsOf({
        model: 'm',
        tools: [{ type: 'custom', name: 'x', format: { type: 'json' } }, { type: 'custom' }, { type: 'custom', name: 'y', format: { type: 'grammar', syntax: 'lark' } }],
        input: [{ role: 'user', content: 'hi' }, { type: 'custom_tool_call', call_id: 'c', name: 'x', input: { patch: 'p' } }],
      }),
    ).toEqual([
      { pointer: '/input/1/input', message: 'must be a string' },
      { pointer: '/tools/0/format', message: 'must be {type: "text"} or {type: "grammar", syntax, definition}' },
      { pointer: '/tools/1/name', message: 'is required' },
      { pointer: '/tools/2/format', message: 'has no grammar definition: must be {type: "grammar", syntax, definition}' },
    ]);
  });

  it('answers a freeform call with its raw text, unwrapped from the arguments the engine produced', () => {
    const { request: freeformRequest } = parseResponsesRequest(JSON.stringify({ model: 'auto', input: 'Add a file.', tools: [grammarTool] }));
    const render = (argumentsText: string): unknown =>
      (JSON.parse(
        renderResponsesResponse(
          { id: 'x', model: 'm', text: '', toolCalls: [{ id: 'call_9', name: 'apply_patch', arguments: argumentsText }], finishReason: 'tool_calls', rawFinishReason: 'tool_calls' },
          { ...options, request: freeformRequest },
        ),
      ) as { output: unknown[] }).output[0];
    expect(render('{"input":"*** Begin Patch\\n+hi\\n"}')).toEqual({ type: 'custom_tool_call', id: 'ctc_abc_0', call_id: 'call_9', name: 'apply_patch', input: '*** Begin Patch\n+hi\n', status: 'completed' });
    // A model that ignored the schema: a bare JSON string, or the raw text itself.
    expect(render('"*** Begin Patch"')).toMatchObject({ input: '*** Begin Patch' });
    expect(render('*** Begin Patch\n+hi')).toMatchObject({ input: '*** Begin Patch\n+hi' });
    expect(render('{"patch":"x"}')).toMatchObject({ input: '{"patch":"x"}' });
    // No arguments at all (an Anthropic-wire engine's empty tool_use input) is empty text.
    expect(render('{}')).toMatchObject({ input: '' });
  });

  it('streams a freeform call: announced empty, its raw input sent whole at the end, no argument deltas', () => {
    const { request: freeformRequest } = parseResponsesRequest(JSON.stringify({ model: 'auto', input: 'Add a file.', tools: [grammarTool], stream: true }));
    const encoder = new ResponsesStreamEncoder({ ...options, request: freeformRequest });
    const text = [
      encoder.encodeAll([{ type: 'tool-call-delta', index: 0, id: 'call_9', name: 'apply_patch', argumentsDelta: '{"input":"*** Begin' }]),
      encoder.encodeAll([{ type: 'tool-call-delta', index: 0, argumentsDelta: ' Patch\\n"}' }]),
      encoder.encodeAll([{ type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' }, { type: 'stream-end' }]),
    ].join('');
    const events = eventsOf(text);
    expect(events.map((event) => event.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[2]?.data).toMatchObject({ item: { type: 'custom_tool_call', id: 'ctc_abc_0', call_id: 'call_9', name: 'apply_patch', input: '', status: 'in_progress' } });
    expect(events[3]?.data).toMatchObject({ item_id: 'ctc_abc_0', output_index: 0, delta: '*** Begin Patch\n' });
    expect(events[4]?.data).toMatchObject({ item_id: 'ctc_abc_0', input: '*** Begin Patch\n' });
    expect(events.at(-1)?.data['response']).toMatchObject({
      output: [{ type: 'custom_tool_call', input: '*** Begin Patch\n', status: 'completed' }],
      tools: [{ type: 'custom', name: 'apply_patch' }],
    });
  });
});
