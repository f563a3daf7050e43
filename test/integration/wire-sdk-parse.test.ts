/**
 * Proves the official SDKs accept what the gateway codecs produce: a tiny node:http server
 * parses each SDK request with the server codecs and answers with rendered responses,
 * stream encoders' frames and error bodies, translated from the OTHER wire's captured
 * fixtures so every answer also crosses formats through the canonical model.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WireAdapter } from '../../src/wire/adapter.js';
import { anthropicAdapter } from '../../src/wire/anthropic/adapter.js';
import {
  AnthropicStreamEncoder,
  parseAnthropicMessagesRequest,
  renderAnthropicError,
  renderAnthropicMessageResponse,
} from '../../src/wire/anthropic/server.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart } from '../../src/wire/canonical.js';
import type { ClientError } from '../../src/wire/client-errors.js';
import { openAIAdapter } from '../../src/wire/openai/adapter.js';
import {
  OpenAIStreamEncoder,
  parseOpenAIChatRequest,
  renderOpenAIChatResponse,
  renderOpenAIError,
} from '../../src/wire/openai/server.js';
import { parseServerSentEvents } from '../../src/wire/sse.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'wire');
const fixture = (wire: string, name: string): string => readFileSync(resolve(FIXTURES, wire, name), 'utf8');

/** Stream parts of a captured stream, grouped per upstream event as the gateway would forward them. */
function streamEvents(adapter: WireAdapter, wire: string, name: string): StreamPart[][] {
  return parseServerSentEvents(fixture(wire, name)).map((event) => adapter.decodeStreamEvent(event));
}

type Answer =
  | { kind: 'json'; response: CanonicalResponse }
  | { kind: 'stream'; events: StreamPart[][]; breakWith?: ClientError }
  | { kind: 'error'; error: ClientError };

let answer: Answer;
let received: { path: string; request: CanonicalRequest; includeUsage?: boolean } | undefined;
let server: Server;
let origin: string;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  const isOpenAI = request.url === '/v1/chat/completions';
  if (isOpenAI) {
    const parsed = parseOpenAIChatRequest(body);
    received = { path: request.url ?? '', request: parsed.request, includeUsage: parsed.includeUsage };
  } else {
    received = { path: request.url ?? '', request: parseAnthropicMessagesRequest(body).request };
  }
  const current = answer;
  if (current.kind === 'error') {
    const rendered = isOpenAI ? renderOpenAIError(current.error) : renderAnthropicError(current.error);
    response.writeHead(rendered.status, { 'content-type': 'application/json' }).end(rendered.body);
    return;
  }
  if (current.kind === 'json') {
    const rendered = isOpenAI
      ? renderOpenAIChatResponse(current.response, { created: 1_700_000_000, id: 'chatcmpl-gateway', model: received.request.model })
      : renderAnthropicMessageResponse(current.response, { id: 'msg_gateway', model: received.request.model });
    response.writeHead(200, { 'content-type': 'application/json' }).end(rendered.body);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const encoder = isOpenAI
    ? new OpenAIStreamEncoder({ id: 'chatcmpl-gateway', model: received.request.model, created: 1_700_000_000, includeUsage: received.includeUsage ?? false })
    : new AnthropicStreamEncoder({ id: 'msg_gateway', model: received.request.model });
  for (const parts of current.events) {
    const frames = encoder.encodeAll(parts);
    if (frames !== '') response.write(frames);
  }
  if (current.breakWith !== undefined) response.write(encoder.fail(current.breakWith));
  response.end();
}

beforeAll(async () => {
  server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

beforeEach(() => {
  received = undefined;
});

const WEATHER_TOOL_SCHEMA = { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] };

describe('official openai client against the openai codecs', () => {
  const client = (): OpenAI => new OpenAI({ apiKey: 'gateway-token', baseURL: `${origin}/v1`, maxRetries: 0 });

  it('accepts a non-stream tool-call completion translated from an anthropic response', async () => {
    answer = { kind: 'json', response: anthropicAdapter.decodeResponse(fixture('anthropic', 'text-tool-use-no-usage.json')) };
    const completion = await client().chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Weather in SF?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_TOOL_SCHEMA } }],
    });
    expect(received?.request.tools).toEqual([{ name: 'get_weather', inputSchema: WEATHER_TOOL_SCHEMA }]);
    expect(completion.id).toBe('chatcmpl-gateway');
    expect(completion.model).toBe('auto');
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } },
    ]);
    expect(completion.usage).toBeUndefined();
  });

  it('streams text, a tool call and the usage chunk the client asked for, through the SDK stream helper', async () => {
    answer = { kind: 'stream', events: streamEvents(anthropicAdapter, 'anthropic', 'text-tool-no-arguments.chunks.txt') };
    const stream = client().chat.completions.stream({
      model: 'local:qwen3',
      messages: [{ role: 'user', content: 'update the issues' }],
      tools: [{ type: 'function', function: { name: 'updateIssueList', parameters: { type: 'object', properties: {} } } }],
      stream_options: { include_usage: true },
    });
    const completion = await stream.finalChatCompletion();
    expect(received?.includeUsage).toBe(true);
    expect(completion.choices[0]?.message.content).toBe("I'll update the issue list for you.");
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', type: 'function', function: { name: 'updateIssueList', arguments: '{}' } },
    ]);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.usage).toEqual({ prompt_tokens: 565, completion_tokens: 48, total_tokens: 613 });
  });

  it('streams a plain text answer chunk by chunk', async () => {
    answer = { kind: 'stream', events: streamEvents(anthropicAdapter, 'anthropic', 'text.chunks.txt') };
    const stream = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const pieces: string[] = [];
    const finishReasons: Array<string | null | undefined> = [];
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.delta.content ?? '');
      finishReasons.push(chunk.choices[0]?.finish_reason);
    }
    expect(pieces.join('')).toBe("Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?");
    expect(finishReasons.at(-1)).toBe('stop');
  });

  it('surfaces a stream broken after bytes were sent as an APIError, not a clean end', async () => {
    answer = {
      kind: 'stream',
      events: streamEvents(anthropicAdapter, 'anthropic', 'text.chunks.txt').slice(0, 5),
      breakWith: { kind: 'unavailable', message: 'upstream connection reset' },
    };
    const stream = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const pieces: string[] = [];
    const consume = async (): Promise<void> => {
      for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toThrow('upstream connection reset');
    expect(pieces.join('')).toBe('Hello! I');
  });

  it('maps a policy refusal to PermissionDeniedError with the reason', async () => {
    answer = { kind: 'error', error: { kind: 'permission', message: 'confidential data may not leave the host', code: 'route_denied' } };
    const failure = await client()
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    expect((failure as InstanceType<typeof OpenAI.APIError>).code).toBe('route_denied');
    expect((failure as Error).message).toContain('confidential data may not leave the host');
  });
});

describe('official anthropic client against the anthropic codecs', () => {
  const client = (): Anthropic => new Anthropic({ apiKey: 'gateway-token', baseURL: origin, maxRetries: 0 });

  it('accepts a non-stream tool_use message translated from an openai response', async () => {
    answer = { kind: 'json', response: openAIAdapter.decodeResponse(fixture('openai', 'tool-call.json')) };
    const message = await client().messages.create({
      model: 'auto',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Weather in Boston?' }],
      tools: [{ name: 'get_current_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
    });
    expect(received?.request.maxTokens).toBe(200);
    expect(message.id).toBe('msg_gateway');
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([{ type: 'tool_use', id: 'call_abc123', name: 'get_current_weather', input: { location: 'Boston, MA' } }]);
    expect(message.usage).toEqual({ input_tokens: 82, output_tokens: 17 });
  });

  it('streams text and a tool_use block through the SDK MessageStream', async () => {
    answer = { kind: 'stream', events: streamEvents(openAIAdapter, 'openai', 'text-tool-call.chunks.txt') };
    const stream = client().messages.stream({
      model: 'auto',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ name: 'weather', input_schema: { type: 'object', properties: {} } }],
    });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect(texts.join('')).toBe('PRE_TOOL');
    expect(message.content).toEqual([
      { type: 'text', text: 'PRE_TOOL' },
      { type: 'tool_use', id: 'call_NZa7xqfefoaMI2YYHowVXVlU', name: 'weather', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 58, output_tokens: 12 });
  });

  it('streams tool input JSON deltas that the SDK reassembles into the input object', async () => {
    answer = {
      kind: 'stream',
      events: [
        [{ type: 'response-metadata', id: 'x', model: 'm' }],
        [{ type: 'tool-call-delta', index: 0, id: 'call_1', name: 'lookup', argumentsDelta: '{"city": ' }],
        [{ type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris", "days": 3}' }],
        [{ type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' }],
        [{ type: 'usage', usage: { inputTokens: 9, outputTokens: 4 } }],
        [{ type: 'stream-end' }],
      ],
    };
    const message = await client()
      .messages.stream({ model: 'auto', max_tokens: 50, messages: [{ role: 'user', content: 'go' }] })
      .finalMessage();
    expect(message.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'lookup', input: { city: 'Paris', days: 3 } }]);
    expect(message.usage).toMatchObject({ input_tokens: 9, output_tokens: 4 });
  });

  it('surfaces a stream broken after bytes were sent as an error event', async () => {
    answer = {
      kind: 'stream',
      events: streamEvents(openAIAdapter, 'openai', 'llama-cpp-usage-in-finish-chunk.chunks.txt').slice(0, 4),
      breakWith: { kind: 'timeout', message: 'upstream idle for 30s' },
    };
    const stream = client().messages.stream({ model: 'auto', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    await expect(stream.finalMessage()).rejects.toThrow('upstream idle for 30s');
    expect(texts.join('')).toBe('Hello! \u{1F44B}');
  });

  it('maps a bad request to BadRequestError with the Anthropic error envelope', async () => {
    answer = { kind: 'error', error: { kind: 'invalid_request', message: 'invalid messages request: /messages/0/role: must be "user" or "assistant"' } };
    const failure = await client()
      .messages.create({ model: 'auto', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.BadRequestError);
    expect((failure as InstanceType<typeof Anthropic.APIError>).status).toBe(400);
    expect((failure as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'invalid messages request: /messages/0/role: must be "user" or "assistant"' },
    });
  });
});
