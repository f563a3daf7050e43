import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine, type FakeEngineKind } from '../../helpers/fake-engines/index.js';
import { splitSseFrames } from '../../helpers/fake-engines/sse.js';
import { chatBody, dataPayloads, rawRequest, WEATHER_TOOL } from './raw-client.js';

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

// completionTokens: the 7 tokens of the answer; llama.cpp also counts the end-of-generation token (captured).
const OPENAI_KINDS: Array<{ kind: FakeEngineKind; model: string; jsonType: string; streamType: string; completionTokens: number }> = [
  { kind: 'ollama', model: 'llama3.2:latest', jsonType: 'application/json', streamType: 'text/event-stream', completionTokens: 7 },
  { kind: 'llama.cpp', model: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', jsonType: 'application/json; charset=utf-8', streamType: 'text/event-stream', completionTokens: 8 },
  { kind: 'vllm', model: 'Qwen/Qwen2.5-1.5B-Instruct', jsonType: 'application/json', streamType: 'text/event-stream; charset=utf-8', completionTokens: 7 },
  { kind: 'lmstudio', model: 'qwen2.5-7b-instruct', jsonType: 'application/json; charset=utf-8', streamType: 'text/event-stream', completionTokens: 7 },
  { kind: 'openai', model: 'gpt-4o-mini', jsonType: 'application/json', streamType: 'text/event-stream; charset=utf-8', completionTokens: 7 },
];
const AUTH = { authorization: 'Bearer sk-test-key' };

describe.each(OPENAI_KINDS)('$kind chat completions', ({ kind, model, jsonType, streamType, completionTokens }) => {
  it('answers non-streaming with the answer, usage, and records the exact bytes exchanged', async () => {
    engine = await startFakeEngine({ kind });
    const body = chatBody(model, { temperature: 0 });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body, headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(jsonType);
    const parsed = JSON.parse(response.body.toString('utf8'));
    expect(parsed.object).toBe('chat.completion');
    expect(parsed.model).toBe(model);
    expect(parsed.id).toMatch(/^chatcmpl-/);
    expect(parsed.choices[0].message.content).toBe(DEFAULT_ANSWER);
    expect(parsed.choices[0].finish_reason).toBe('stop');
    expect(parsed.usage.completion_tokens).toBe(completionTokens);
    expect(parsed.usage.total_tokens).toBe(parsed.usage.prompt_tokens + completionTokens);
    const exchange = engine.exchanges.at(-1)!;
    expect(exchange.method).toBe('POST');
    expect(exchange.path).toBe('/v1/chat/completions');
    expect(exchange.requestBody.equals(Buffer.from(body))).toBe(true);
    expect(exchange.responseBody.equals(response.body)).toBe(true);
    expect(exchange.status).toBe(200);
    expect(exchange.responseHeaders['content-type']).toBe(jsonType);
  });

  it('counts the same tokens for identical input', async () => {
    engine = await startFakeEngine({ kind });
    const first = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model), headers: AUTH })).body.toString());
    const second = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model), headers: AUTH })).body.toString());
    for (const field of ['prompt_tokens', 'completion_tokens', 'total_tokens']) expect(second.usage[field]).toBe(first.usage[field]);
    const longer = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: JSON.stringify({ model, messages: [{ role: 'user', content: 'What is the capital of France? Answer in one short sentence please.' }] }), headers: AUTH })).body.toString());
    expect(longer.usage.prompt_tokens).toBeGreaterThan(first.usage.prompt_tokens);
  });

  it('streams SSE frames (one per write; llama.cpp groups a few as captured), ending with data: [DONE]', async () => {
    engine = await startFakeEngine({ kind, answer: 'One two three four.' });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { stream: true }), headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(streamType);
    const exchange = engine.exchanges.at(-1)!;
    expect(exchange.responseBody.equals(response.body)).toBe(true);
    const frames = splitSseFrames(response.body);
    if (kind === 'llama.cpp') {
      expect(splitSseFrames(exchange.responseChunks[0]!)).toHaveLength(2);
      expect(exchange.responseChunks.flatMap((chunk) => splitSseFrames(chunk).map((frame) => frame.raw))).toEqual(frames.map((frame) => frame.raw));
    } else {
      expect(frames.map((frame) => frame.raw)).toEqual(exchange.responseChunks.map((chunk) => chunk.toString('utf8')));
    }
    for (const frame of frames) expect(frame.raw).toMatch(/^data: .*\n\n$/s);
    expect(frames.at(-1)!.raw).toBe('data: [DONE]\n\n');
    const payloads = dataPayloads(response.body);
    const text = payloads.map((payload) => payload.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('One two three four.');
    expect(payloads.filter((payload) => typeof payload.choices[0]?.delta?.content === 'string' && payload.choices[0].delta.content !== '').length).toBeGreaterThanOrEqual(4);
    for (const payload of payloads) {
      expect(payload.object).toBe('chat.completion.chunk');
      expect(payload.id).toBe(payloads[0]!.id);
    }
    expect(payloads.filter((payload) => payload.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
  });

  it('honours max_tokens with finish_reason length and stop sequences', async () => {
    engine = await startFakeEngine({ kind, conforming: true });
    const limited = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { max_tokens: 3 }), headers: AUTH })).body.toString());
    expect(limited.choices[0].message.content).toBe('Paris is the');
    expect(limited.choices[0].finish_reason).toBe('length');
    expect(limited.usage.completion_tokens).toBe(3);
    const stopped = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { stop: [' capital'] }), headers: AUTH })).body.toString());
    expect(stopped.choices[0].message.content).toBe('Paris is the');
    expect(stopped.choices[0].finish_reason).toBe('stop');
  });

  it('answers valid JSON in JSON mode (conforming)', async () => {
    engine = await startFakeEngine({ kind, conforming: true });
    const jsonObject = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { response_format: { type: 'json_object' } }), headers: AUTH })).body.toString());
    expect(JSON.parse(jsonObject.choices[0].message.content)).toEqual({ answer: DEFAULT_ANSWER });
    const schema = { type: 'object', properties: { city: { type: 'string' }, population: { type: 'integer' }, capital: { type: 'boolean' } }, required: ['city'] };
    const jsonSchema = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { response_format: { type: 'json_schema', json_schema: { name: 'city', schema } } }), headers: AUTH })).body.toString());
    expect(JSON.parse(jsonSchema.choices[0].message.content)).toEqual({ city: DEFAULT_ANSWER, population: 42, capital: true });
  });

  it('answers a tool call with finish_reason tool_calls and JSON-text arguments (conforming)', async () => {
    engine = await startFakeEngine({ kind, conforming: true });
    const parsed = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { tools: [WEATHER_TOOL] }), headers: AUTH })).body.toString());
    const call = parsed.choices[0].message.tool_calls[0];
    expect(parsed.choices[0].finish_reason).toBe('tool_calls');
    expect(call.type).toBe('function');
    expect(typeof call.id).toBe('string');
    expect(call.function.name).toBe('get_weather');
    expect(typeof call.function.arguments).toBe('string');
    expect(JSON.parse(call.function.arguments)).toEqual({ location: DEFAULT_ANSWER, days: 42 });
    // After the tool result comes back, the model answers in text.
    const followUp = JSON.parse((await rawRequest(`${engine.baseUrl}/chat/completions`, {
      body: JSON.stringify({ model, tools: [WEATHER_TOOL], messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny' },
      ] }),
      headers: AUTH,
    })).body.toString());
    expect(followUp.choices[0].message.content).toBe(DEFAULT_ANSWER);
  });

  it('streams a tool call whose argument fragments join to the arguments', async () => {
    engine = await startFakeEngine({ kind, conforming: true });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody(model, { stream: true, tools: [WEATHER_TOOL] }), headers: AUTH });
    const payloads = dataPayloads(response.body);
    const calls = payloads.flatMap((payload) => payload.choices[0]?.delta?.tool_calls ?? []);
    expect(calls.find((call: any) => call.id !== undefined).function.name).toBe('get_weather');
    const joined = calls.map((call: any) => call.function?.arguments ?? '').join('');
    expect(JSON.parse(joined)).toEqual({ location: DEFAULT_ANSWER, days: 42 });
    expect(payloads.some((payload) => payload.choices[0]?.finish_reason === 'tool_calls')).toBe(true);
  });
});

describe('openai (hosted recorder)', () => {
  it('refuses a request without a bearer key with OpenAI\'s 401 envelope, and records it', async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    const response = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody('gpt-4o-mini') });
    expect(response.status).toBe(401);
    const error = JSON.parse(response.body.toString()).error;
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toMatch(/^You didn't provide an API key/);
    expect(engine.exchanges[0]!.requestHeaders['authorization']).toBeUndefined();
  });

  it('rejects unknown request fields and unknown models like the real API', async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    const unknownField = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody('gpt-4o-mini', { cache_prompt: true }), headers: AUTH });
    expect(unknownField.status).toBe(400);
    expect(JSON.parse(unknownField.body.toString()).error.message).toBe('Unrecognized request argument supplied: cache_prompt');
    const unknownModel = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody('gpt-nope'), headers: AUTH });
    expect(unknownModel.status).toBe(404);
  });

  it('answers a custom tool with a custom call, and refuses a grammar not nested under format.grammar as OpenAI does', async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    const custom = { name: 'apply_patch', format: { type: 'grammar', grammar: { syntax: 'lark', definition: 'start: /.+/' } } };
    const answered = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody('gpt-4o-mini', { tools: [{ type: 'custom', custom }] }), headers: AUTH });
    const message = JSON.parse(answered.body.toString()).choices[0].message;
    expect(message.tool_calls).toEqual([{ id: expect.stringMatching(/^call_/), type: 'custom', custom: { name: 'apply_patch', input: DEFAULT_ANSWER } }]);
    // The Responses API's flat grammar, on Chat Completions (the message captured in Oaklight/llm-rosetta#488).
    const flat = { name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } };
    const refused = await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody('gpt-4o-mini', { tools: [{ type: 'custom', custom: flat }] }), headers: AUTH });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body.toString()).error.message).toBe("Missing required parameter: 'tools[0].custom.format.grammar'.");
  });

  it('records the authorization header it received (it is a recorder of every byte)', async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    await rawRequest(`${engine.baseUrl}/chat/completions`, { body: chatBody('gpt-4o-mini'), headers: AUTH });
    expect(engine.exchanges[0]!.requestHeaders['authorization']).toBe('Bearer sk-test-key');
  });
});

describe('anthropic messages', () => {
  const headers = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
  const model = 'claude-sonnet-4-20250514';
  const body = (extra: Record<string, unknown> = {}): string => JSON.stringify({ model, max_tokens: 256, messages: [{ role: 'user', content: 'What is the capital of France?' }], ...extra });

  it('requires x-api-key (401) and anthropic-version (400) in Anthropic\'s error shape', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const noKey = await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body(), headers: { 'anthropic-version': '2023-06-01' } });
    expect(noKey.status).toBe(401);
    expect(JSON.parse(noKey.body.toString())).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } });
    const noVersion = await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body(), headers: { 'x-api-key': 'k' } });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body.toString())).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
    const noMaxTokens = await rawRequest(`${engine.baseUrl}/v1/messages`, { body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }), headers });
    expect(noMaxTokens.status).toBe(400);
  });

  it('answers a message with a text block, stop_reason and usage', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const response = await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body({ system: 'Be brief.' }), headers });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['request-id']).toMatch(/^req_/);
    const message = JSON.parse(response.body.toString());
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model, content: [{ type: 'text', text: DEFAULT_ANSWER }], stop_reason: 'end_turn', stop_sequence: null });
    expect(message.id).toMatch(/^msg_01/);
    expect(message.usage.output_tokens).toBe(7);
    expect(engine.exchanges[0]!.responseBody.equals(response.body)).toBe(true);
  });

  it('streams the real event sequence with event: and data: lines', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const response = await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body({ stream: true }), headers });
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const frames = splitSseFrames(response.body);
    const events = frames.map((frame) => frame.event);
    expect(events).toEqual([
      'message_start', 'content_block_start', 'ping',
      ...Array.from({ length: 7 }, () => 'content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    for (const frame of frames) {
      expect(frame.raw).toBe(`event: ${frame.event}\ndata: ${frame.data}\n\n`);
      expect(JSON.parse(frame.data).type).toBe(frame.event);
    }
    expect(frames[2]!.data).toBe('{"type": "ping"}');
    const text = frames.filter((frame) => frame.event === 'content_block_delta').map((frame) => JSON.parse(frame.data).delta.text).join('');
    expect(text).toBe(DEFAULT_ANSWER);
    const delta = JSON.parse(frames.at(-2)!.data);
    expect(delta).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } });
    expect(engine.exchanges[0]!.responseChunks.map((chunk) => chunk.toString())).toEqual(frames.map((frame) => frame.raw));
  });

  it('answers tool_use blocks, streamed as input_json_delta', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const tools = [{ name: 'get_weather', description: 'Weather', input_schema: WEATHER_TOOL.function.parameters }];
    const message = JSON.parse((await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body({ tools }), headers })).body.toString());
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: DEFAULT_ANSWER, days: 42 } });
    expect(message.content[0].id).toMatch(/^toolu_01/);
    const streamed = splitSseFrames((await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body({ tools, stream: true }), headers })).body);
    const start = JSON.parse(streamed[1]!.data);
    expect(start.content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
    const partial = streamed.filter((frame) => frame.event === 'content_block_delta').map((frame) => JSON.parse(frame.data).delta);
    expect(partial.every((delta) => delta.type === 'input_json_delta')).toBe(true);
    expect(JSON.parse(partial.map((delta) => delta.partial_json).join(''))).toEqual({ location: DEFAULT_ANSWER, days: 42 });
    expect(JSON.parse(streamed.at(-2)!.data).delta.stop_reason).toBe('tool_use');
  });

  it('honours stop_sequences and max_tokens', async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    const stopped = JSON.parse((await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body({ stop_sequences: [' of'] }), headers })).body.toString());
    expect(stopped.content[0].text).toBe('Paris is the capital');
    expect(stopped.stop_reason).toBe('stop_sequence');
    expect(stopped.stop_sequence).toBe(' of');
    const limited = JSON.parse((await rawRequest(`${engine.baseUrl}/v1/messages`, { body: body({ max_tokens: 2 }), headers })).body.toString());
    expect(limited.content[0].text).toBe('Paris is');
    expect(limited.stop_reason).toBe('max_tokens');
  });
});
