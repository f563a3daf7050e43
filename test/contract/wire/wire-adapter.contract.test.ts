import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import type { WireAdapter } from '../../../src/wire/adapter.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart, Usage } from '../../../src/wire/canonical.js';
import { anthropicAdapter } from '../../../src/wire/anthropic/adapter.js';
import { openAIAdapter } from '../../../src/wire/openai/adapter.js';
import { wireAdapterFor } from '../../../src/wire/index.js';
import { parseServerSentEvents, ServerSentEventSplitter } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'wire');
const fixture = (wire: string, name: string): string => readFileSync(resolve(FIXTURES, wire, name), 'utf8');

const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const ANSWER_SCHEMA = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };

/** One request using every canonical feature. */
const FULL_REQUEST: CanonicalRequest = {
  model: 'test-model',
  system: 'You are terse.',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this image?' },
        { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
      ],
    },
    {
      role: 'assistant',
      content: [{ type: 'text', text: 'Let me check the weather.' }],
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    },
    { role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: '{"temperature":21}' }] },
    { role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] },
  ],
  tools: [{ name: 'get_weather', description: 'Current weather', inputSchema: WEATHER_SCHEMA }],
  toolChoice: 'required',
  responseFormat: { type: 'json_schema', name: 'answer', schema: ANSWER_SCHEMA, strict: true },
  temperature: 0.2,
  topP: 0.9,
  maxTokens: 256,
  seed: 7,
  stop: ['END'],
  anthropicBeta: ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'],
  stream: false,
};

const MINIMAL_REQUEST: CanonicalRequest = {
  model: 'test-model',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  stream: false,
};

interface ExpectedResponse {
  id: string;
  model: string;
  text: string;
  toolCalls: CanonicalResponse['toolCalls'];
  finishReason: CanonicalResponse['finishReason'];
  rawFinishReason: string | null;
  usage?: Usage;
  observations?: string[];
  reasoning?: string;
  reasoningSignature?: string;
  parts?: CanonicalResponse['parts'];
  generationTimings?: CanonicalResponse['generationTimings'];
}

/** Interleaved thinking: two signed thinking blocks, each before its tool call. */
const INTERLEAVED_THINKING_TOOL_USE: ExpectedResponse = {
  id: 'msg_01Vd8xTq3nRk5bGw2LmZy7Hc',
  model: 'claude-sonnet-4-5-20250929',
  text: '',
  reasoning: 'The user wants the weather in Paris and in London. I will look up Paris first.London needs its own call; the two lookups do not depend on each other.',
  parts: [
    { type: 'reasoning', text: 'The user wants the weather in Paris and in London. I will look up Paris first.', signature: 'q6pIcaYm7T2HVvUk4KkwjqF8k5xNt0aytDCcJvMxmyM=' },
    { type: 'reasoning', text: 'London needs its own call; the two lookups do not depend on each other.', signature: 'EEoxQxKxR8/a+N/R5yV3QZ4U5o2UaSX8FKVW78E8cW4=' },
  ],
  toolCalls: [
    { id: 'toolu_01Fz3kq2Wc8pLx5vT9nYbR4e', name: 'get_weather', arguments: '{"city":"Paris"}', position: 1 },
    { id: 'toolu_01Hm7sD4vQ1rKj6wP2xNcZ8a', name: 'get_weather', arguments: '{"city":"London"}', position: 2 },
  ],
  finishReason: 'tool_calls',
  rawFinishReason: 'tool_use',
  usage: { inputTokens: 612, outputTokens: 171 },
};

/** Interleaved thinking: thinking, text, thinking, text. */
const INTERLEAVED_THINKING_TEXT: ExpectedResponse = {
  id: 'msg_01Pq6rNc2hWt9yKx4GvLb3Ds',
  model: 'claude-sonnet-4-5-20250929',
  text: '925 ÷ 5 = 185. Adding 15 gives 200.',
  reasoning: 'The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185Then add 15 as asked: 185 + 15 = 200.',
  parts: [
    { type: 'reasoning', text: 'The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185', signature: 'hqjkhG5b5iako5WgHTSGFT4L3Em1FrAuQWBG7tVnp70=' },
    { type: 'text', text: '925 ÷ 5 = 185.' },
    { type: 'reasoning', text: 'Then add 15 as asked: 185 + 15 = 200.', signature: 'L11WfPK8AonS5VgZ1WuKgwhdim05zCnv7ycHgvX0Ixs=' },
    { type: 'text', text: ' Adding 15 gives 200.' },
  ],
  toolCalls: [],
  finishReason: 'stop',
  rawFinishReason: 'end_turn',
  usage: { inputTokens: 612, outputTokens: 96 },
};

/** A redacted_thinking block (reasoning the provider encrypted), then a tool call: carried in its place as parts. */
const REDACTED_THINKING_TOOL_USE: ExpectedResponse = {
  id: 'msg_01Kq4nWz8Tb2Rc6Xm1Pv9Lsd',
  model: 'claude-sonnet-4-5-20250929',
  text: '',
  parts: [
    {
      type: 'redacted-reasoning',
      data: 'EpwCCoTqV7pgDLO05nhWFM581EqEwNUZfX4zJ17l9YvY2wBEYYJ1h28u7ymONfXz99KVaHOUhlWJTPETzwu2teC7TBBSS7Mx0oszJGAwyj86eusNgyUWC5I41vvgnE558y1giody32YT6xuLGcRXSQlrkVeMdiJZs2h99ugGZJ2NQei00poD7bCzpc4oju3NIvlLSNlP3CE25lbcpp0SbugtcAAbBXvVf1TNPEHAip7zUdVg5Kbi3pXnnX4te86UjhMMxQ==',
    },
  ],
  toolCalls: [{ id: 'toolu_01Bx6mR3Tq9Wn2Lc8Vz5Kp7d', name: 'get_weather', arguments: '{"city":"Paris"}', position: 1 }],
  finishReason: 'tool_calls',
  rawFinishReason: 'tool_use',
  usage: { inputTokens: 598, outputTokens: 97 },
};

interface ExpectedStream extends Omit<ExpectedResponse, 'observations'> {
  ended: boolean;
  error?: { message: string; errorType?: string };
}

interface ExpectedError {
  status: number;
  body: string;
  message: string;
  errorType?: string;
  isRetryable: boolean;
}

interface WireContract {
  adapter: WireAdapter;
  baseUrl: string;
  expectedUrl: string;
  credentialHeader: [string, string];
  /** The exact body FULL_REQUEST encodes to. */
  fullRequestBody: Record<string, unknown>;
  /** Settings of FULL_REQUEST the wire cannot honour. */
  fullRequestWarnings: string[];
  /** The `anthropic-beta` header FULL_REQUEST is sent with, if any. */
  fullRequestBetaHeader: string | undefined;
  /** Fields a streaming request adds to the body. */
  streamFields: Record<string, unknown>;
  /** What an absent maxTokens turns into: the body's max_tokens and the warnings. */
  missingMaxTokens: { maxTokens: number | undefined; warnings: string[] };
  /** A minimal successful body with the given raw finish reason. */
  responseWithFinish: (raw: string) => string;
  finishReasons: Array<[string, CanonicalResponse['finishReason']]>;
  responses: Array<[string, ExpectedResponse]>;
  streams: Array<[string, ExpectedStream]>;
  errors: Array<[string, ExpectedError]>;
}

const CONTRACTS: Array<[string, WireContract]> = [
  [
    'openai',
    {
      adapter: openAIAdapter,
      baseUrl: 'http://127.0.0.1:11434/v1/',
      expectedUrl: 'http://127.0.0.1:11434/v1/chat/completions',
      credentialHeader: ['authorization', 'Bearer secret-key'],
      fullRequestBody: {
        model: 'test-model',
        messages: [
          { role: 'system', content: 'You are terse.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this image?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
          {
            role: 'assistant',
            content: 'Let me check the weather.',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temperature":21}' },
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
        ],
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: WEATHER_SCHEMA } }],
        tool_choice: 'required',
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: ANSWER_SCHEMA, strict: true } },
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 256,
        seed: 7,
        stop: ['END'],
      },
      fullRequestWarnings: ['anthropicBeta'],
      fullRequestBetaHeader: undefined,
      streamFields: { stream: true, stream_options: { include_usage: true } },
      missingMaxTokens: { maxTokens: undefined, warnings: [] },
      responseWithFinish: (raw) =>
        JSON.stringify({ id: 'x', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: raw }] }),
      finishReasons: [
        ['stop', 'stop'],
        ['length', 'length'],
        ['tool_calls', 'tool_calls'],
        ['function_call', 'tool_calls'],
        ['content_filter', 'content_filter'],
        ['something_new', 'other'],
      ],
      responses: [
        [
          'text.json',
          {
            id: 'chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU',
            model: 'gpt-4.1-nano-2025-04-14',
            text: "**Holiday Name:** Galaxy Day  \n\n**Date:** October 31st, aligning with the night sky's peak viewing of constellations and celestial events.",
            toolCalls: [],
            finishReason: 'stop',
            rawFinishReason: 'stop',
            usage: { inputTokens: 16, outputTokens: 363 },
          },
        ],
        [
          'tool-call.json',
          {
            id: 'chatcmpl-abc123',
            model: 'gpt-4o-mini',
            text: '',
            toolCalls: [{ id: 'call_abc123', name: 'get_current_weather', arguments: '{\n"location": "Boston, MA"\n}' }],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_calls',
            usage: { inputTokens: 82, outputTokens: 17 },
          },
        ],
        [
          'llama-cpp-tool-arguments-object.json',
          {
            id: 'chatcmpl-k2V9pQmX7rT4sN1wZ8yB3cL6dF0hJ5gA',
            model: 'qwen3-8b',
            text: '',
            toolCalls: [{ id: 'Kq3Zb1uVQ2nW8cXyR4tLm0PaHs7DfGjE', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_calls',
            usage: { inputTokens: 212, outputTokens: 31 },
            observations: ['tool_arguments_object'],
            // llama-server's `timings`, read with the rest of the body.
            generationTimings: { generationMs: 402.7, perTokenMs: 12.990322580645161 },
          },
        ],
        [
          'ollama-no-usage.json',
          {
            id: 'chatcmpl-636',
            model: 'llama3.2',
            text: 'The sky is blue because of Rayleigh scattering.',
            toolCalls: [],
            finishReason: 'length',
            rawFinishReason: 'length',
          },
        ],
      ],
      streams: [
        [
          'text-tool-call.chunks.txt',
          {
            id: 'chatcmpl-E6yvi7cuDcHZEHTMxcLDyf3CMKIO2',
            model: 'gpt-4o-2024-08-06',
            text: 'PRE_TOOL',
            toolCalls: [{ id: 'call_NZa7xqfefoaMI2YYHowVXVlU', name: 'weather', arguments: '{}' }],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_calls',
            usage: { inputTokens: 58, outputTokens: 12 },
            ended: true,
          },
        ],
        [
          'llama-cpp-usage-in-finish-chunk.chunks.txt',
          {
            id: 'chatcmpl-yPk7z9nC22CofOlh100qQdHVEDMNYCb1',
            model: 'gpt-oss:20b',
            text: 'Hello! \u{1F44B} How can I assist you today?',
            toolCalls: [],
            finishReason: 'stop',
            rawFinishReason: 'stop',
            usage: { inputTokens: 1085, outputTokens: 247 },
            ended: true,
          },
        ],
        [
          'ollama-no-usage.chunks.txt',
          {
            id: 'chatcmpl-712',
            model: 'llama3.2',
            text: 'The sky is blue.',
            toolCalls: [],
            finishReason: 'stop',
            rawFinishReason: 'stop',
            ended: true,
          },
        ],
        [
          'stream-error.chunks.txt',
          {
            id: 'chatcmpl-712',
            model: 'llama3.2',
            text: 'Partial answer',
            toolCalls: [],
            finishReason: 'error',
            rawFinishReason: null,
            ended: false,
            error: { message: 'The server had an error while processing your request. Sorry about that!', errorType: 'server_error' },
          },
        ],
      ],
      errors: [
        [
          'error-401.json',
          {
            status: 401,
            body: fixture('openai', 'error-401.json'),
            message: 'Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.',
            errorType: 'invalid_request_error',
            isRetryable: false,
          },
        ],
        [
          'error-429.json',
          {
            status: 429,
            body: fixture('openai', 'error-429.json'),
            message:
              'Rate limit reached for gpt-4o-mini in organization org-abc123 on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.',
            errorType: 'requests',
            isRetryable: true,
          },
        ],
        [
          'error-503-llama-cpp.json',
          { status: 503, body: fixture('openai', 'error-503-llama-cpp.json'), message: 'Loading model', errorType: 'unavailable_error', isRetryable: true },
        ],
        [
          'error-404-ollama.json',
          { status: 404, body: fixture('openai', 'error-404-ollama.json'), message: 'model "llama3" not found, try pulling it first', isRetryable: false },
        ],
        [
          'error-400-vllm.json',
          {
            status: 400,
            body: fixture('openai', 'error-400-vllm.json'),
            message:
              "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (1000 in the messages, 4000 in the completion). Please reduce the length of the messages or completion.",
            errorType: 'BadRequestError',
            isRetryable: false,
          },
        ],
        ['error-502.html', { status: 502, body: fixture('openai', 'error-502.html'), message: '502 Bad Gateway', isRetryable: true }],
        ['empty body', { status: 500, body: '', message: 'upstream answered HTTP 500', isRetryable: true }],
        ['truncated JSON', { status: 400, body: '{"error":{"mess', message: '{"error":{"mess', isRetryable: false }],
      ],
    },
  ],
  [
    'anthropic',
    {
      adapter: anthropicAdapter,
      baseUrl: 'https://api.anthropic.com',
      expectedUrl: 'https://api.anthropic.com/v1/messages',
      credentialHeader: ['x-api-key', 'secret-key'],
      fullRequestBody: {
        model: 'test-model',
        max_tokens: 256,
        system: `You are terse.\n\nRespond with a single JSON object and nothing else: no prose, no code fences. It must validate against this JSON Schema: ${JSON.stringify(ANSWER_SCHEMA)}`,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this image?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me check the weather.' },
              { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'call_1', content: '{"temperature":21}' },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
            ],
          },
        ],
        tools: [{ name: 'get_weather', description: 'Current weather', input_schema: WEATHER_SCHEMA }],
        tool_choice: { type: 'any' },
        // top_p left out: newer Claude models refuse it beside temperature.
        temperature: 0.2,
        stop_sequences: ['END'],
      },
      fullRequestWarnings: ['responseFormat', 'seed', 'topP'],
      fullRequestBetaHeader: 'interleaved-thinking-2025-05-14,context-1m-2025-08-07',
      streamFields: { stream: true },
      missingMaxTokens: { maxTokens: 1024, warnings: ['maxTokens'] },
      responseWithFinish: (raw) =>
        JSON.stringify({
          id: 'x',
          type: 'message',
          role: 'assistant',
          model: 'm',
          content: [{ type: 'text', text: 'ok' }],
          stop_reason: raw,
          usage: { input_tokens: 1, output_tokens: 1 },
        }),
      finishReasons: [
        ['end_turn', 'stop'],
        ['stop_sequence', 'stop'],
        ['max_tokens', 'length'],
        ['tool_use', 'tool_calls'],
        ['refusal', 'content_filter'],
        ['pause_turn', 'other'],
      ],
      responses: [
        ['interleaved-thinking-tool-use.json', INTERLEAVED_THINKING_TOOL_USE],
        ['interleaved-thinking-text.json', INTERLEAVED_THINKING_TEXT],
        ['redacted-thinking-tool-use.json', REDACTED_THINKING_TOOL_USE],
        [
          'text.json',
          {
            id: 'msg_01TestTextResponse',
            model: 'claude-opus-4-7',
            text: 'Hello!',
            toolCalls: [],
            finishReason: 'stop',
            rawFinishReason: 'end_turn',
            usage: { inputTokens: 10, outputTokens: 5 },
          },
        ],
        [
          'tool-use.json',
          {
            id: 'msg_0191iYfpERYfS27xLsdW2nbb',
            model: 'claude-haiku-4-5-20251001',
            text: '',
            toolCalls: [
              {
                id: 'toolu_01Q9ExVZnzZj7E2QQYHYtNUa',
                name: 'json',
                arguments:
                  '{"elements":[{"location":"San Francisco","temperature":-5,"condition":"snowy"},{"location":"London","temperature":0,"condition":"snowy"}]}',
              },
            ],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_use',
            usage: { inputTokens: 1151, outputTokens: 87 },
          },
        ],
        [
          'text-tool-use-no-usage.json',
          {
            id: 'msg_01Aq9w938a90dw8q',
            model: 'claude-3-5-sonnet-20241022',
            text: '<thinking>I need to call the get_weather function, and the user wants SF, which is likely San Francisco, CA.</thinking>',
            toolCalls: [{ id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' }],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_use',
          },
        ],
        [
          'cache-usage.json',
          {
            id: 'msg_01CacheExample',
            model: 'claude-sonnet-4-5-20250929',
            text: 'Done.',
            toolCalls: [],
            finishReason: 'length',
            rawFinishReason: 'max_tokens',
            usage: { inputTokens: 21 + 188086, outputTokens: 393, cacheWriteInputTokens: 188086 },
          },
        ],
      ],
      streams: [
        [
          'text.chunks.txt',
          {
            id: 'msg_01QC4g3HwBThD4BaNtBckFDJ',
            model: 'claude-sonnet-4-5-20250929',
            text: "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?",
            toolCalls: [],
            finishReason: 'stop',
            rawFinishReason: 'end_turn',
            usage: { inputTokens: 12, outputTokens: 30 },
            ended: true,
          },
        ],
        [
          'tool-use.chunks.txt',
          {
            id: 'msg_01K2JbSUMYhez5RHoK9ZCj9U',
            model: 'claude-haiku-4-5-20251001',
            text: '',
            toolCalls: [
              {
                id: 'toolu_01KFbKqPYSuAKujiL6mTfzYA',
                name: 'json',
                arguments: '{"elements": [{"location": "San Francisco", "temperature": 58, "condition": "sunny"}]}',
              },
            ],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_use',
            usage: { inputTokens: 849, outputTokens: 47 },
            ended: true,
          },
        ],
        ['interleaved-thinking-tool-use.chunks.txt', { ...INTERLEAVED_THINKING_TOOL_USE, ended: true }],
        ['interleaved-thinking-text.chunks.txt', { ...INTERLEAVED_THINKING_TEXT, ended: true }],
        ['redacted-thinking-tool-use.chunks.txt', { ...REDACTED_THINKING_TOOL_USE, ended: true }],
        [
          'text-tool-no-arguments.chunks.txt',
          {
            id: 'msg_01GE2RKp1VYsPzdFs3sS9z5S',
            model: 'claude-sonnet-4-5-20250929',
            text: "I'll update the issue list for you.",
            toolCalls: [{ id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', arguments: '{}' }],
            finishReason: 'tool_calls',
            rawFinishReason: 'tool_use',
            usage: { inputTokens: 565, outputTokens: 48 },
            ended: true,
          },
        ],
        [
          'stream-error.chunks.txt',
          {
            id: 'msg_01QC4g3HwBThD4BaNtBckFDJ',
            model: 'claude-sonnet-4-5-20250929',
            text: 'Hello! I',
            toolCalls: [],
            finishReason: 'error',
            rawFinishReason: null,
            ended: false,
            error: { message: 'Overloaded', errorType: 'overloaded_error' },
          },
        ],
      ],
      errors: [
        ['error-529.json', { status: 529, body: fixture('anthropic', 'error-529.json'), message: 'Overloaded', errorType: 'overloaded_error', isRetryable: true }],
        [
          'error-400.json',
          { status: 400, body: fixture('anthropic', 'error-400.json'), message: 'max_tokens: Field required', errorType: 'invalid_request_error', isRetryable: false },
        ],
        ['error-401.json', { status: 401, body: fixture('anthropic', 'error-401.json'), message: 'invalid x-api-key', errorType: 'authentication_error', isRetryable: false }],
        [
          'error-429.json',
          {
            status: 429,
            body: fixture('anthropic', 'error-429.json'),
            message:
              'This request would exceed the rate limit for your organization (org-abc) of 50 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.',
            errorType: 'rate_limit_error',
            isRetryable: true,
          },
        ],
        ['html 502', { status: 502, body: fixture('openai', 'error-502.html'), message: '502 Bad Gateway', isRetryable: true }],
        ['empty body', { status: 503, body: '', message: 'upstream answered HTTP 503', isRetryable: true }],
      ],
    },
  ],
];

function decodeStreamText(adapter: WireAdapter, text: string): StreamAccumulator {
  const accumulator = new StreamAccumulator();
  for (const event of parseServerSentEvents(text)) accumulator.addAll(adapter.decodeStreamEvent(event));
  return accumulator;
}

function expectResponse(actual: CanonicalResponse, expected: ExpectedResponse): void {
  expect(actual).toEqual({
    id: expected.id,
    model: expected.model,
    text: expected.text,
    toolCalls: expected.toolCalls,
    finishReason: expected.finishReason,
    rawFinishReason: expected.rawFinishReason,
    ...(expected.usage === undefined ? {} : { usage: expected.usage }),
    ...(expected.observations === undefined ? {} : { observations: expected.observations }),
    ...(expected.reasoning === undefined ? {} : { reasoning: expected.reasoning }),
    ...(expected.reasoningSignature === undefined ? {} : { reasoningSignature: expected.reasoningSignature }),
    ...(expected.parts === undefined ? {} : { parts: expected.parts }),
    ...(expected.generationTimings === undefined ? {} : { generationTimings: expected.generationTimings }),
  });
}

describe.each(CONTRACTS)('wire adapter contract: %s', (wire, contract) => {
  const { adapter } = contract;
  const target = { baseUrl: contract.baseUrl, apiKey: 'secret-key' };

  it('is the adapter wireAdapterFor returns, at specification v1', () => {
    expect(wireAdapterFor(adapter.wire)).toBe(adapter);
    expect(adapter.wire).toBe(wire);
    expect(adapter.specificationVersion).toBe('v1');
  });

  describe('encodeRequest', () => {
    it('encodes every canonical feature into the exact wire body', () => {
      const encoded = adapter.encodeRequest(FULL_REQUEST, target);
      expect(encoded.method).toBe('POST');
      expect(encoded.url).toBe(contract.expectedUrl);
      expect(encoded.headers['content-type']).toBe('application/json');
      expect(encoded.headers[contract.credentialHeader[0]]).toBe(contract.credentialHeader[1]);
      expect(encoded.headers['anthropic-beta']).toBe(contract.fullRequestBetaHeader);
      expect(JSON.parse(encoded.body)).toEqual(contract.fullRequestBody);
    });

    it('warns, never silently drops, for every setting the wire cannot honour', () => {
      const encoded = adapter.encodeRequest(FULL_REQUEST, target);
      expect(encoded.warnings.map((warning) => warning.setting)).toEqual(contract.fullRequestWarnings);
      for (const warning of encoded.warnings) expect(warning.message.length).toBeGreaterThan(20);
    });

    it('asks for a stream with the wire-specific fields', () => {
      const body = JSON.parse(adapter.encodeRequest({ ...MINIMAL_REQUEST, stream: true }, target).body) as Record<string, unknown>;
      for (const [key, value] of Object.entries(contract.streamFields)) expect(body[key]).toEqual(value);
      const nonStream = JSON.parse(adapter.encodeRequest(MINIMAL_REQUEST, target).body) as Record<string, unknown>;
      expect(nonStream['stream']).toBeUndefined();
      expect(nonStream['stream_options']).toBeUndefined();
    });

    it('handles an absent max tokens as the wire requires', () => {
      const encoded = adapter.encodeRequest(MINIMAL_REQUEST, target);
      expect((JSON.parse(encoded.body) as Record<string, unknown>)['max_tokens']).toBe(contract.missingMaxTokens.maxTokens);
      expect(encoded.warnings.map((warning) => warning.setting)).toEqual(contract.missingMaxTokens.warnings);
    });

    it("fills an absent max tokens with the target's default only where the wire requires one, saying so", () => {
      const encoded = adapter.encodeRequest(MINIMAL_REQUEST, { ...target, defaultMaxTokens: 3000 });
      const required = contract.missingMaxTokens.maxTokens !== undefined;
      expect((JSON.parse(encoded.body) as Record<string, unknown>)['max_tokens']).toBe(required ? 3000 : undefined);
      expect(encoded.warnings).toEqual(required ? [{ setting: 'maxTokens', message: expect.stringContaining('so 3000 was sent') as unknown, code: 'max_tokens_filled_in', value: 3000 }] : []);
      expect((JSON.parse(adapter.encodeRequest(FULL_REQUEST, { ...target, defaultMaxTokens: 3000 }).body) as Record<string, unknown>)['max_tokens']).toBe(256);
    });

    it('sends no credential header when there is no key, and honours a header override', () => {
      const withoutKey = adapter.encodeRequest(MINIMAL_REQUEST, { baseUrl: contract.baseUrl });
      expect(Object.keys(withoutKey.headers).sort()).toEqual(
        ['accept', 'content-type', ...(wire === 'anthropic' ? ['anthropic-version'] : [])].sort(),
      );
      const overridden = adapter.encodeRequest(MINIMAL_REQUEST, { baseUrl: contract.baseUrl, apiKey: 'k', authHeader: 'Api-Key' });
      expect(overridden.headers['api-key']).toBe('k');
      const bearer = adapter.encodeRequest(MINIMAL_REQUEST, { baseUrl: contract.baseUrl, apiKey: 'k', authHeader: 'Authorization' });
      expect(bearer.headers['authorization']).toBe('Bearer k');
    });

    it('is pure: the same input encodes to the same bytes', () => {
      expect(adapter.encodeRequest(FULL_REQUEST, target)).toEqual(adapter.encodeRequest(FULL_REQUEST, target));
    });
  });

  describe('decodeResponse', () => {
    it.each(contract.responses)('decodes %s', (file, expected) => {
      expectResponse(adapter.decodeResponse(fixture(wire, file)), expected);
    });

    it.each(contract.finishReasons)('maps finish reason %s to %s', (raw, canonical) => {
      const response = adapter.decodeResponse(contract.responseWithFinish(raw));
      expect(response.finishReason).toBe(canonical);
      expect(response.rawFinishReason).toBe(raw);
    });

    it.each([['not json'], ['{"unexpected":true}'], ['']])('throws a non-retryable UpstreamError for %j', (body) => {
      let thrown: unknown;
      try {
        adapter.decodeResponse(body);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(UpstreamError);
      expect((thrown as UpstreamError).isRetryable).toBe(false);
      expect((thrown as UpstreamError).exitCode).toBe(5);
    });
  });

  describe('decodeStreamEvent', () => {
    it.each(contract.streams)('reassembles the whole stream %s', (file, expected) => {
      const accumulator = decodeStreamText(adapter, fixture(wire, file));
      const { ended, error, ...response } = expected;
      expectResponse(accumulator.toResponse(), response);
      expect(accumulator.ended).toBe(ended);
      expect(accumulator.error).toEqual(error);
    });

    it.each(contract.streams)('decodes %s the same whatever the chunk boundaries', (file) => {
      const text = fixture(wire, file);
      const whole = decodeStreamText(adapter, text).toResponse();
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 12 }), (cuts) => {
          const boundaries = [...new Set(cuts)].sort((left, right) => left - right);
          const splitter = new ServerSentEventSplitter();
          const accumulator = new StreamAccumulator();
          let start = 0;
          for (const boundary of [...boundaries, text.length]) {
            for (const event of splitter.push(text.slice(start, boundary))) accumulator.addAll(adapter.decodeStreamEvent(event));
            start = boundary;
          }
          for (const event of splitter.finish()) accumulator.addAll(adapter.decodeStreamEvent(event));
          expect(accumulator.toResponse()).toEqual(whole);
        }),
        { numRuns: 40 },
      );
    });

    it('reports a malformed event as an error part, not an exception', () => {
      const parts: StreamPart[] = adapter.decodeStreamEvent({ event: wire === 'anthropic' ? 'content_block_delta' : undefined, data: '{"broken' });
      expect(parts).toEqual([{ type: 'error', message: 'malformed stream event: {"broken', errorType: 'malformed_event' }]);
    });
  });

  describe('decodeError', () => {
    it.each(contract.errors)('decodes %s', (_name, expected) => {
      expect(adapter.decodeError(expected.status, expected.body)).toEqual({
        status: expected.status,
        message: expected.message,
        ...(expected.errorType === undefined ? {} : { errorType: expected.errorType }),
        isRetryable: expected.isRetryable,
      });
    });

    it.each([
      [400, false],
      [401, false],
      [403, false],
      [404, false],
      [408, true],
      [409, true],
      [413, false],
      [422, false],
      [429, true],
      [500, true],
      [502, true],
      [503, true],
      [504, true],
      [529, true],
    ])('HTTP %i is retryable: %s', (status, retryable) => {
      expect(adapter.decodeError(status, '').isRetryable).toBe(retryable);
    });
  });
});
