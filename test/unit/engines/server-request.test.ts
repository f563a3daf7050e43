import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { DEFAULT_SAMPLING, forcedCallInstructions, forcedCallSchema, readEngineChatRequest } from '../../../src/engines/server/request.js';

const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

function read(body: Record<string, unknown>) {
  return readEngineChatRequest(JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], ...body }));
}

function problemsOf(body: Record<string, unknown>): { pointer: string; message: string }[] {
  try {
    read(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).problems.map(({ pointer, message }) => ({ pointer, message }));
  }
  throw new Error('expected the request to be refused');
}

describe('readEngineChatRequest', () => {
  it('uses llama-server sampling defaults and no seed when the client sends none', () => {
    const request = read({});
    expect(request.sampling).toEqual({ temperature: DEFAULT_SAMPLING.temperature, topP: 0.95, topK: 40, minP: 0.05, stop: [] });
    expect(request.constraint).toEqual({ kind: 'text' });
    expect(request.history).toEqual([{ type: 'user', text: 'hi' }, { type: 'model', response: [] }]);
  });

  it('reads sampling, max_completion_tokens over max_tokens, stop as a string, and the llama.cpp extensions', () => {
    const request = read({ temperature: 0, top_p: 0.5, seed: 7, max_tokens: 99, max_completion_tokens: 12, stop: 'END', top_k: 5, min_p: 0.1, frequency_penalty: 0.5 });
    expect(request.sampling).toEqual({ temperature: 0, topP: 0.5, topK: 5, minP: 0.1, seed: 7, maxTokens: 12, stop: ['END'], frequencyPenalty: 0.5 });
  });

  it('keeps a stream with include_usage', () => {
    const request = read({ stream: true, stream_options: { include_usage: true } });
    expect([request.stream, request.includeUsage]).toEqual([true, true]);
  });

  it('refuses fields it cannot honour with a pointer each (400, not silently ignored)', () => {
    expect(problemsOf({ logit_bias: { '1': 2 }, prediction: { type: 'content', content: 'x' } })).toEqual([
      { pointer: '/logit_bias', message: 'logit_bias is not supported by this engine' },
      { pointer: '/prediction', message: 'predicted outputs are not supported by this engine' },
    ]);
    expect(problemsOf({ n: 2 })).toEqual([{ pointer: '/n', message: 'only n = 1 is supported' }]);
  });

  it('reads logprobs: true with its top_logprobs (default 0, as OpenAI); top_logprobs without it is refused', () => {
    expect(read({ logprobs: true, top_logprobs: 3 }).logprobs).toEqual({ top: 3 });
    expect(read({ logprobs: true }).logprobs).toEqual({ top: 0 });
    expect(read({ logprobs: false }).logprobs).toBeUndefined();
    expect(problemsOf({ top_logprobs: 2 }).map((problem) => problem.pointer)).toEqual(['/top_logprobs']);
  });

  it('ignores harmless metadata fields and reports them', () => {
    expect(read({ user: 'u1', metadata: { a: 'b' }, logprobs: false }).ignoredFields).toEqual(['metadata', 'user']);
  });

  it('refuses image parts at the raw message index, system messages included', () => {
    const problems = problemsOf({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
    });
    expect(problems).toEqual([{ pointer: '/messages/1/content/1/type', message: 'image input is not supported: the loaded model is text-only' }]);
  });

  it('turns tools with tool_choice auto into callable functions', () => {
    expect(read({ tools: [WEATHER] }).constraint).toEqual({
      kind: 'functions',
      functions: { get_weather: { description: 'Current weather', params: WEATHER.function.parameters } },
    });
    expect(read({ tools: [WEATHER], tool_choice: 'none' }).constraint).toEqual({ kind: 'text' });
  });

  it('refuses custom (freeform) tools, which node-llama-cpp cannot call, naming the tool', () => {
    expect(problemsOf({ tools: [WEATHER, { type: 'custom', custom: { name: 'apply_patch' } }] })).toEqual([
      { pointer: '/tools/1', message: 'custom (freeform) tools are not supported by this engine' },
    ]);
  });

  it('forces a call for tool_choice required or a named function, and refuses an unknown name', () => {
    const required = read({ tools: [WEATHER], tool_choice: 'required' }).constraint;
    expect(required).toMatchObject({ kind: 'forced-tool-call', schema: forcedCallSchema([{ name: 'get_weather', inputSchema: WEATHER.function.parameters }]) });
    expect(problemsOf({ tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } })).toEqual([
      { pointer: '/tool_choice/function/name', message: 'names a function that is not among the tools (get_weather)' },
    ]);
  });

  it('gives a forced call the definitions of the allowed tools in a system message after the caller\'s own', () => {
    const TIME = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } };
    const request = read({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'weather in Paris?' }], tools: [WEATHER, TIME], tool_choice: 'required' });
    const instructions = forcedCallInstructions([
      { name: 'get_weather', description: 'Current weather', inputSchema: WEATHER.function.parameters },
      { name: 'get_time', inputSchema: TIME.function.parameters },
    ]);
    expect(request.history).toEqual([
      { type: 'system', text: 'be brief' },
      { type: 'system', text: instructions },
      { type: 'user', text: 'weather in Paris?' },
      { type: 'model', response: [] },
    ]);
    expect(instructions).toBe(
      [
        'Answer with exactly one call to one of the functions below, written as a JSON object {"name": <the function\'s name>, "arguments": <an object matching its parameters>}, and nothing else.',
        '',
        'Functions:',
        JSON.stringify(WEATHER),
        JSON.stringify(TIME),
      ].join('\n'),
    );

    // A named function: only that one is defined; without a system prompt the definitions come first.
    const named = read({ tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    expect(named.history[0]).toEqual({ type: 'system', text: forcedCallInstructions([{ name: 'get_weather', description: 'Current weather', inputSchema: WEATHER.function.parameters }]) });
    expect((named.history[0] as { text: string }).text).not.toContain('get_time');
    expect((named.history[0] as { text: string }).text).toContain('call to the function below');

    // tool_choice auto leaves documenting the functions to node-llama-cpp.
    expect(read({ tools: [WEATHER] }).history.filter((item) => item.type === 'system')).toEqual([]);
  });

  it('builds the forced-call schema as one object per tool, oneOf for several', () => {
    const one = forcedCallSchema([{ name: 'a', inputSchema: { type: 'object' } }]);
    expect(one).toEqual({ type: 'object', properties: { name: { const: 'a' }, arguments: { type: 'object' } }, required: ['name', 'arguments'], additionalProperties: false });
    const two = forcedCallSchema([{ name: 'a', inputSchema: { type: 'object' } }, { name: 'b', inputSchema: { type: 'object' } }]);
    expect((two['oneOf'] as unknown[]).length).toBe(2);
  });

  it('refuses response_format together with tools', () => {
    expect(problemsOf({ tools: [WEATHER], response_format: { type: 'json_object' } })[0]?.pointer).toBe('/response_format');
  });

  it('maps response_format to a JSON or JSON-schema constraint', () => {
    expect(read({ response_format: { type: 'json_object' } }).constraint).toEqual({ kind: 'json' });
    const schema = { type: 'object', properties: { city: { type: 'string' } } };
    expect(read({ response_format: { type: 'json_schema', json_schema: { name: 'c', schema } } }).constraint).toEqual({ kind: 'json-schema', schema });
  });

  it('pairs assistant tool calls with the tool messages that answer them', () => {
    const request = read({
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ],
    });
    expect(request.history).toEqual([
      { type: 'system', text: 'sys' },
      { type: 'user', text: 'weather?' },
      { type: 'model', response: [{ type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: 'sunny' }] },
      { type: 'model', response: [] },
    ]);
  });

  it('refuses a tool message that answers no call, pointing at the raw message', () => {
    expect(problemsOf({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'tool', tool_call_id: 'x', content: 'r' }] })).toEqual([
      { pointer: '/messages/2/tool_call_id', message: 'answers no earlier assistant tool call ("x")' },
    ]);
  });
});
