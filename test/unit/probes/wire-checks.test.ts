import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProbeCheck } from '../../../src/probes/types.js';
import { checkContentType, checkResponseBody, checkStreamBody, checkToolCalls, malformedEventStream, withoutDeviations } from '../../../src/probes/wire-checks.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'engines');

function fixture(kind: string, file: string): string {
  return readFileSync(join(FIXTURES, kind, file), 'utf8');
}

function verdictOf(checks: ProbeCheck[], name: string): string | undefined {
  return checks.find((check) => check.name === name)?.verdict;
}

const openai = { wire: 'openai' as const, requestedModel: 'gpt-4o-mini', declared: [] };
const completion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
};

describe('checkResponseBody (openai wire)', () => {
  it('passes every check on a conforming completion', () => {
    const checks = checkResponseBody(JSON.stringify(completion), openai);
    expect(checks.map((check) => [check.name, check.verdict])).toEqual([
      ['wire.json', 'pass'],
      ['wire.id', 'pass'],
      ['wire.object', 'pass'],
      ['wire.created', 'pass'],
      ['wire.model', 'pass'],
      ['wire.choices', 'pass'],
      ['wire.content', 'pass'],
      ['wire.finish_reason', 'pass'],
      ['wire.usage', 'pass'],
    ]);
  });

  it('passes the captured fixtures of every OpenAI-compatible engine, naming their extensions', () => {
    for (const kind of ['ollama', 'llama.cpp', 'vllm', 'lmstudio', 'openai']) {
      const body = fixture(kind, 'chat-completion.json');
      const model = JSON.parse(body).model as string;
      const checks = checkResponseBody(body, { wire: 'openai', requestedModel: model, declared: [] });
      const bad = checks.filter((check) => check.verdict !== 'pass');
      expect(bad, kind).toEqual([]);
    }
    const llama = checkResponseBody(fixture('llama.cpp', 'chat-completion.json'), { wire: 'openai', requestedModel: 'x', declared: [] });
    expect(llama.find((check) => check.name === 'wire.extensions')?.detail).toContain('timings');
  });

  it('missing usage is an undeclared approximate_token_counts, or declared when the record says so', () => {
    const { usage: _usage, ...withoutUsage } = completion;
    const body = JSON.stringify(withoutUsage);
    expect(checkResponseBody(body, openai).find((check) => check.name === 'wire.usage')).toMatchObject({ verdict: 'deviation', deviation: 'approximate_token_counts' });
    expect(verdictOf(checkResponseBody(body, { ...openai, declared: ['approximate_token_counts'] }), 'wire.usage')).toBe('declared');
    const partial = JSON.stringify({ ...completion, usage: { prompt_tokens: 3 } });
    expect(verdictOf(checkResponseBody(partial, openai), 'wire.usage')).toBe('deviation');
  });

  it('required fields of the wrong type fail', () => {
    const body = JSON.stringify({ ...completion, id: 7, object: 'completion', created: '2024', choices: [{ index: 0, message: { role: 'assistant', content: 5 }, finish_reason: 'eos_token' }] });
    const checks = checkResponseBody(body, openai);
    for (const name of ['wire.id', 'wire.object', 'wire.created', 'wire.content', 'wire.finish_reason']) expect(verdictOf(checks, name), name).toBe('fail');
    expect(verdictOf(checkResponseBody('<html>502</html>', openai), 'wire.json')).toBe('fail');
    expect(verdictOf(checkResponseBody(JSON.stringify({ ...completion, choices: [] }), openai), 'wire.choices')).toBe('fail');
  });

  it('model echo: a dated snapshot passes, another model warns, none fails', () => {
    expect(checkResponseBody(JSON.stringify({ ...completion, model: 'gpt-4o-mini-2024-07-18' }), openai).find((check) => check.name === 'wire.model')).toMatchObject({ verdict: 'pass', detail: expect.stringContaining('snapshot') });
    expect(verdictOf(checkResponseBody(JSON.stringify({ ...completion, model: 'llama3' }), openai), 'wire.model')).toBe('warn');
    expect(verdictOf(checkResponseBody(JSON.stringify({ ...completion, model: '' }), openai), 'wire.model')).toBe('fail');
  });

  it('total_tokens that is not the sum is a warning', () => {
    expect(verdictOf(checkResponseBody(JSON.stringify({ ...completion, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 5 } }), openai), 'wire.usage')).toBe('warn');
  });
});

describe('checkResponseBody (anthropic wire)', () => {
  const anthropic = { wire: 'anthropic' as const, requestedModel: 'claude-sonnet-4-20250514', declared: [] };
  it('passes the captured message', () => {
    const body = fixture('anthropic', 'message.json');
    const model = JSON.parse(body).model as string;
    const checks = checkResponseBody(body, { ...anthropic, requestedModel: model });
    expect(checks.filter((check) => check.verdict !== 'pass')).toEqual([]);
  });
  it('flags a missing usage and a bad stop_reason', () => {
    const body = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: anthropic.requestedModel, content: [{ type: 'text', text: 'hi' }], stop_reason: 'done' });
    const checks = checkResponseBody(body, anthropic);
    expect(verdictOf(checks, 'wire.stop_reason')).toBe('fail');
    expect(verdictOf(checks, 'wire.usage')).toBe('deviation');
  });
});

describe('checkResponseBody: the opening checks both wires share', () => {
  for (const wire of ['openai', 'anthropic'] as const) {
    it(`${wire}: a body that is no JSON object is one failing check, under the expectation's prefix`, () => {
      expect(checkResponseBody('<html>502 Bad Gateway</html>', { wire, requestedModel: 'm', declared: [], prefix: 'probe' })).toEqual([
        { name: 'probe.json', verdict: 'fail', detail: 'the body is not a JSON object: <html>502 Bad Gateway</html>' },
      ]);
    });
    it(`${wire}: an id that is not a non-empty string fails, after the JSON check`, () => {
      const checks = checkResponseBody(JSON.stringify({ id: 7 }), { wire, requestedModel: 'm', declared: [] });
      expect(checks.slice(0, 2)).toEqual([
        { name: 'wire.json', verdict: 'pass', detail: 'the body is a JSON object' },
        { name: 'wire.id', verdict: 'fail', detail: '`id` must be a non-empty string, got number' },
      ]);
      expect(checkResponseBody(JSON.stringify({ id: 'x1' }), { wire, requestedModel: 'm', declared: [] })[1]).toEqual({ name: 'wire.id', verdict: 'pass', detail: 'id x1' });
    });
  }
});

function sse(payloads: string[]): string {
  return payloads.map((payload) => `data: ${payload}\n\n`).join('');
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...extra });
const usageChunk = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }, ...extra });

describe('checkStreamBody (openai wire)', () => {
  const expectation = { wire: 'openai' as const, requestedModel: 'm', declared: [], prefix: 'streaming' };

  it('passes a stream with usage in the last chunk and [DONE]', () => {
    const result = checkStreamBody(sse([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hi' }), chunk({}, 'stop'), usageChunk(), '[DONE]']), expectation);
    expect(result.checks.filter((check) => check.verdict !== 'pass')).toEqual([]);
    expect(result.usage).toEqual({ inputTokens: 5, outputTokens: 2 });
    expect(result.events).toBe(5);
  });

  it('a stream without [DONE] is partial_streaming_reliability; without usage approximate_token_counts', () => {
    const result = checkStreamBody(sse([chunk({ content: 'Hi' }), chunk({}, 'stop')]), expectation);
    expect(result.checks.find((check) => check.name === 'streaming.terminal-marker')).toMatchObject({ verdict: 'deviation', deviation: 'partial_streaming_reliability' });
    expect(result.checks.find((check) => check.name === 'streaming.usage')).toMatchObject({ verdict: 'deviation', deviation: 'approximate_token_counts' });
  });

  it('malformed chunks and a missing finish reason are partial_streaming_reliability', () => {
    const result = checkStreamBody(sse(['{"broken', chunk({ content: 'Hi' }), '[DONE]']), expectation);
    expect(verdictOf(result.checks, 'streaming.chunks')).toBe('deviation');
    expect(verdictOf(result.checks, 'streaming.finish_reason')).toBe('deviation');
  });

  it('counts the well-formed chunks in the singular for one', () => {
    const one = checkStreamBody(sse([chunk({ content: 'Hi' }, 'stop'), '[DONE]']), expectation);
    expect(one.checks.find((check) => check.name === 'streaming.chunks')).toMatchObject({ verdict: 'pass', detail: '1 well-formed chat.completion.chunk event' });
    const two = checkStreamBody(sse([chunk({ content: 'Hi' }), chunk({}, 'stop'), '[DONE]']), expectation);
    expect(two.checks.find((check) => check.name === 'streaming.chunks')?.detail).toBe('2 well-formed chat.completion.chunk events');
  });

  it('names llama.cpp timings on the last chunk as an extension', () => {
    const result = checkStreamBody(sse([chunk({ content: 'Hi' }), chunk({}, 'stop'), usageChunk({ timings: { prompt_n: 5 } }), '[DONE]']), expectation);
    expect(result.checks.find((check) => check.name === 'streaming.extensions')).toMatchObject({ verdict: 'pass', detail: expect.stringContaining('timings') });
  });

  it('passes the captured stream fixtures of every OpenAI-compatible engine except where usage is missing', () => {
    for (const kind of ['llama.cpp', 'vllm', 'openai', 'ollama']) {
      const result = checkStreamBody(fixture(kind, 'chat-completion.chunks.txt'), expectation);
      expect(result.checks.filter((check) => check.verdict === 'fail' || check.name === 'streaming.terminal-marker' && check.verdict !== 'pass'), kind).toEqual([]);
    }
  });
});

describe('checkStreamBody (anthropic wire)', () => {
  it('passes the captured Anthropic stream and fails one cut before message_stop', () => {
    const text = fixture('anthropic', 'message.chunks.txt');
    const expectation = { wire: 'anthropic' as const, requestedModel: 'x', declared: [], prefix: 'streaming' };
    const whole = checkStreamBody(text, expectation);
    expect(whole.checks.filter((check) => check.verdict !== 'pass')).toEqual([]);
    const cut = text.slice(0, text.indexOf('event: message_stop'));
    expect(checkStreamBody(cut, expectation).checks.find((check) => check.name === 'streaming.terminal-marker')).toMatchObject({ verdict: 'deviation', deviation: 'partial_streaming_reliability' });
    const first = text.slice(0, text.indexOf('event: ', 1));
    expect(checkStreamBody(first, expectation).checks.find((check) => check.name === 'streaming.chunks')?.detail).toBe('1 well-formed event, each data.type equal to its event name');
  });
});

describe('checkToolCalls', () => {
  const expectation = { wire: 'openai' as const, requestedModel: 'm', declared: [], toolName: 'get_weather' };
  const body = (args: unknown, id: unknown = 'call_1', finish = 'tool_calls') =>
    JSON.stringify({ ...completion, choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: args } }] }, finish_reason: finish }] });

  it('JSON-text arguments, an id and finish tool_calls conform', () => {
    expect(checkToolCalls(body('{"city":"Paris"}'), false, expectation).map((check) => check.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
  });

  it('object arguments, a missing id or a wrong finish reason are nonstandard_tool_call_serialization', () => {
    expect(checkToolCalls(body({ city: 'Paris' }), false, expectation).find((check) => check.name === 'tool-calls.arguments')).toMatchObject({ verdict: 'deviation', deviation: 'nonstandard_tool_call_serialization' });
    expect(verdictOf(checkToolCalls(body('{"city":"Paris"}', ''), false, expectation), 'tool-calls.id')).toBe('deviation');
    expect(verdictOf(checkToolCalls(body('{"city":"Paris"}', 'call_1', 'stop'), false, expectation), 'tool-calls.finish_reason')).toBe('deviation');
    // A forced tool choice answered with `stop` (vLLM, OpenAI for a named function) is the server's way, not a deviation.
    expect(verdictOf(checkToolCalls(body('{"city":"Paris"}', 'call_1', 'stop'), false, { ...expectation, forced: true }), 'tool-calls.finish_reason')).toBe('pass');
    expect(verdictOf(checkToolCalls(body('city=Paris'), false, expectation), 'tool-calls.arguments')).toBe('deviation');
  });

  it('a call cut off by max_tokens is inconclusive, not a serialization defect', () => {
    const checks = checkToolCalls(body('{"city":"<tool_call><tool_call>', 'call_1', 'length'), false, expectation);
    expect(checks.map((check) => [check.name, check.verdict])).toEqual([
      ['tool-calls.name', 'pass'],
      ['tool-calls.id', 'pass'],
      ['tool-calls.arguments', 'inconclusive'],
      ['tool-calls.finish_reason', 'inconclusive'],
    ]);
    expect(verdictOf(checkToolCalls(body('{"city":"Paris"}', 'call_1', 'length'), false, expectation), 'tool-calls.arguments')).toBe('pass');
  });

  it('a text answer is inconclusive', () => {
    expect(checkToolCalls(JSON.stringify(completion), false, expectation)).toMatchObject([{ name: 'tool-calls.present', verdict: 'inconclusive' }]);
  });

  it('streamed argument fragments are concatenated; an object fragment is nonstandard', () => {
    const good = sse([
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(checkToolCalls(good, true, { ...expectation, prefix: 'tool-calls.stream' }).map((check) => check.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    const objectArguments = sse([chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] }), chunk({}, 'tool_calls'), '[DONE]']);
    expect(verdictOf(checkToolCalls(objectArguments, true, { ...expectation, prefix: 'tool-calls.stream' }), 'tool-calls.stream.arguments')).toBe('deviation');
  });

  it('Anthropic tool_use blocks with an input object conform, streamed or not', () => {
    const anthropic = { ...expectation, wire: 'anthropic' as const };
    const message = fixture('anthropic', 'message-tool-use.json');
    const name = (JSON.parse(message).content as { type: string; name?: string }[]).find((block) => block.type === 'tool_use')?.name ?? '';
    expect(checkToolCalls(message, false, { ...anthropic, toolName: name }).filter((check) => check.verdict !== 'pass')).toEqual([]);
    const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const stream = [
      event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 9, output_tokens: 1 } } }),
      event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name, input: {} } }),
      event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"location": "Par' } }),
      event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: 'is"}' } }),
      event('content_block_stop', { index: 0 }),
      event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }),
      event('message_stop', {}),
    ].join('');
    expect(checkToolCalls(stream, true, { ...anthropic, toolName: name }).filter((check) => check.verdict !== 'pass')).toEqual([]);
    const broken = stream.replace('is\\"}', 'is');
    expect(verdictOf(checkToolCalls(broken, true, { ...anthropic, toolName: name }), 'tool-calls.arguments')).toBe('deviation');
  });
});

describe('checkContentType', () => {
  it('a non-streamed answer must be JSON, as the TypeScript SDKs only parse those', () => {
    expect(checkContentType('application/json; charset=utf-8', false, 'wire')).toMatchObject({ name: 'wire.content-type', verdict: 'pass' });
    expect(checkContentType('application/problem+json', false, 'wire').verdict).toBe('pass');
    expect(checkContentType('text/plain', false, 'wire')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('return such a body as a string') });
    expect(checkContentType(undefined, false, 'wire')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('no content-type header') });
  });

  it('a stream should be text/event-stream: anything else is a warning, the SDKs parse it anyway', () => {
    expect(checkContentType('text/event-stream; charset=utf-8', true, 'streaming')).toMatchObject({ name: 'streaming.content-type', verdict: 'pass' });
    expect(checkContentType('text/plain', true, 'streaming').verdict).toBe('warn');
    expect(checkContentType('application/json', true, 'streaming').verdict).toBe('warn');
  });
});

describe('malformedEventStream', () => {
  it('an HTML page or a JSON body is no event stream; a well-formed stream, whole or cut, is one', () => {
    expect(malformedEventStream('<html><body>Bad Gateway</body></html>')).toBe('it holds no server-sent event: "<html><body>Bad Gateway</body></html>"');
    expect(malformedEventStream('{"id":"chatcmpl-1"}')).toContain('no server-sent event');
    expect(malformedEventStream('data: {"choices":[]}\n\ndata: [DONE]\n\n')).toBeUndefined();
    // Cut in the middle of its second event: a broken stream, not a malformed one.
    expect(malformedEventStream('data: {"choices":[]}\n\ndata: {"choi')).toBeUndefined();
  });

  it('a complete event whose data is not JSON is malformed', () => {
    expect(malformedEventStream('data: {"choices":[]}\n\ndata: {"choi\n\ndata: [DONE]\n\n')).toBe('an event\'s data is not JSON: "{\\"choi"');
  });
});

describe('withoutDeviations', () => {
  it('leaves out the checks that name a deviation, declared or not, and keeps the rest', () => {
    const stream = 'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Par"}}]}\n\n';
    const checks = checkStreamBody(stream, { ...openai, declared: ['approximate_token_counts'] }).checks;
    expect(checks.some((check) => check.verdict === 'deviation')).toBe(true);
    expect(checks.some((check) => check.verdict === 'declared')).toBe(true);
    const { judged, unjudged } = withoutDeviations(checks);
    expect(unjudged).toEqual(['streaming.terminal-marker', 'streaming.finish_reason', 'streaming.usage']);
    expect(judged.map((check) => [check.name, check.verdict])).toEqual([
      ['streaming.chunks', 'pass'],
      ['streaming.id', 'pass'],
    ]);
  });
});
