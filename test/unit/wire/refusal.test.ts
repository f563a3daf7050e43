import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partsOfResponse } from '../../../src/gateway/faces.js';
import { AnthropicStreamEncoder, renderAnthropicMessageResponse } from '../../../src/wire/anthropic/server.js';
import type { StreamPart } from '../../../src/wire/canonical.js';
import { decodeOpenAIResponse, decodeOpenAIStreamEvent } from '../../../src/wire/openai/adapter.js';
import { OpenAICompletionStreamEncoder, renderOpenAICompletionResponse } from '../../../src/wire/openai/completions-server.js';
import { OpenAIStreamEncoder, renderOpenAIChatResponse } from '../../../src/wire/openai/server.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

/**
 * OpenAI's refusal (structured outputs: `message.refusal`, `content: null`; streamed as
 * `delta.refusal`) through the canonical model: an OpenAI client gets it back as `refusal`, an
 * Anthropic client as the answer's text with `stop_reason: "refusal"`, a legacy Completions client
 * as the text with `finish_reason: "content_filter"`.
 */
const REFUSAL = "I'm sorry, I cannot assist with that request.";
const fixture = (name: string): string => readFileSync(resolve(import.meta.dirname, '..', '..', 'fixtures', 'wire', 'openai', name), 'utf8');

/**
 * A refusal in the shape OpenAI's API answers one (gpt-4o, a json_schema response_format: `content`
 * null, `refusal` the text, finish `stop`), whole and streamed (a role chunk with an empty refusal,
 * the refusal in pieces, the finish, the usage chunk, [DONE]). Written after OpenAI's documented
 * shapes, not captured.
 */
const REFUSAL_BODY = fixture('refusal.json');
const REFUSAL_STREAM = fixture('refusal.chunks.txt');

function streamParts(text: string): StreamPart[] {
  return parseServerSentEvents(text).flatMap((event) => decodeOpenAIStreamEvent(event));
}

function dataOf(sse: string): Record<string, unknown>[] {
  return parseServerSentEvents(sse)
    .filter((event) => event.data !== '[DONE]')
    .map((event) => JSON.parse(event.data) as Record<string, unknown>);
}

describe('decoding an OpenAI refusal', () => {
  it('a whole answer: the refusal apart from the (empty) text, finish stop as sent', () => {
    expect(decodeOpenAIResponse(REFUSAL_BODY)).toMatchObject({ text: '', refusal: REFUSAL, toolCalls: [], finishReason: 'stop', rawFinishReason: 'stop' });
    // No refusal (null, as every other answer carries it): no field.
    const answered = JSON.parse(REFUSAL_BODY) as { choices: [{ message: Record<string, unknown> }] };
    answered.choices[0].message = { role: 'assistant', content: '{"ok":true}', refusal: null };
    expect(decodeOpenAIResponse(JSON.stringify(answered))).not.toHaveProperty('refusal');
  });

  it('a stream: refusal deltas (the empty one of the role chunk dropped), which add up to the refusal', () => {
    const parts = streamParts(REFUSAL_STREAM);
    const refusal = parts.filter((part) => part.type === 'refusal-delta');
    expect(refusal).toHaveLength(10);
    expect(refusal[0]).toEqual({ type: 'refusal-delta', text: "I'm" });
    expect(new StreamAccumulator().addAll(parts).toResponse()).toMatchObject({ text: '', refusal: REFUSAL, finishReason: 'stop' });
  });
});

describe('an OpenAI client is given the refusal back', () => {
  it('whole: message.refusal, content null, finish_reason stop', () => {
    const body = JSON.parse(renderOpenAIChatResponse(decodeOpenAIResponse(REFUSAL_BODY), { created: 1 }).body) as { choices: [{ message: Record<string, unknown>; finish_reason: string }] };
    expect(body.choices[0].message).toEqual({ role: 'assistant', content: null, refusal: REFUSAL });
    expect(body.choices[0].finish_reason).toBe('stop');
  });

  it('streamed: delta.refusal chunks, then the finish', () => {
    const encoder = new OpenAIStreamEncoder({ id: 'chatcmpl-x', model: 'm', created: 1, includeUsage: false });
    const chunks = dataOf(encoder.encodeAll(streamParts(REFUSAL_STREAM))) as { choices: [{ delta: Record<string, unknown>; finish_reason: string | null }] }[];
    const refusal = chunks.map((chunk) => chunk.choices[0].delta['refusal']).filter((piece) => piece !== undefined);
    expect(refusal.join('')).toBe(REFUSAL);
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('stop');
    // A whole answer sent as a stream (`partsOfResponse`) carries it too.
    const replayed = dataOf(new OpenAIStreamEncoder({ id: 'c', model: 'm', created: 1, includeUsage: false }).encodeAll(partsOfResponse(decodeOpenAIResponse(REFUSAL_BODY)))) as typeof chunks;
    expect(replayed.map((chunk) => chunk.choices[0].delta['refusal']).filter((piece) => piece !== undefined)).toEqual([REFUSAL]);
  });
});

describe('an Anthropic client is given the refusal as text, stop_reason refusal', () => {
  it('whole', () => {
    const body = JSON.parse(renderAnthropicMessageResponse(decodeOpenAIResponse(REFUSAL_BODY)).body) as Record<string, unknown>;
    expect(body).toMatchObject({ content: [{ type: 'text', text: REFUSAL }], stop_reason: 'refusal', stop_sequence: null });
    // Without a refusal, a stop is end_turn as before.
    const { refusal: _refusal, ...answered } = decodeOpenAIResponse(REFUSAL_BODY);
    expect(JSON.parse(renderAnthropicMessageResponse({ ...answered, text: '{}' }).body)).toMatchObject({ stop_reason: 'end_turn' });
  });

  it('streamed: a text block of the refusal deltas, and message_delta stop_reason refusal', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg_1', model: 'm' });
    const events = parseServerSentEvents(encoder.encodeAll(streamParts(REFUSAL_STREAM))).map((event) => JSON.parse(event.data) as Record<string, unknown>);
    expect(events.map((event) => event['type'])).toEqual([
      'message_start',
      'content_block_start',
      ...Array.from({ length: 10 }, () => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1]).toMatchObject({ content_block: { type: 'text', text: '' } });
    const text = events.filter((event) => event['type'] === 'content_block_delta').map((event) => (event['delta'] as { text: string }).text);
    expect(text.join('')).toBe(REFUSAL);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 11 } });
    // A whole answer sent as a stream says the same.
    const replayed = parseServerSentEvents(new AnthropicStreamEncoder({ id: 'msg_2', model: 'm' }).encodeAll(partsOfResponse(decodeOpenAIResponse(REFUSAL_BODY))));
    expect(replayed.map((event) => JSON.parse(event.data) as Record<string, unknown>).find((event) => event['type'] === 'message_delta')).toMatchObject({ delta: { stop_reason: 'refusal' } });
  });
});

describe('a legacy Completions client is given the refusal as its text, finish_reason content_filter', () => {
  const options = { id: 'cmpl-x', model: 'm', created: 1 };

  it('whole', () => {
    const body = JSON.parse(renderOpenAICompletionResponse(decodeOpenAIResponse(REFUSAL_BODY), options)) as { choices: [Record<string, unknown>] };
    expect(body.choices[0]).toEqual({ text: REFUSAL, index: 0, logprobs: null, finish_reason: 'content_filter' });
    // Without a refusal, a stop is stop as before.
    const { refusal: _refusal, ...answered } = decodeOpenAIResponse(REFUSAL_BODY);
    expect(JSON.parse(renderOpenAICompletionResponse({ ...answered, text: 'return a + b' }, options))).toMatchObject({ choices: [{ text: 'return a + b', finish_reason: 'stop' }] });
  });

  it('streamed: a text chunk per refusal delta, then the finish; also for a whole answer sent as a stream', () => {
    for (const parts of [streamParts(REFUSAL_STREAM), partsOfResponse(decodeOpenAIResponse(REFUSAL_BODY))]) {
      const chunks = dataOf(new OpenAICompletionStreamEncoder({ ...options, includeUsage: false }).encodeAll(parts)) as { choices: [{ text: string; finish_reason: string | null }] }[];
      expect(chunks.map((chunk) => chunk.choices[0].text).join('')).toBe(REFUSAL);
      expect(chunks.map((chunk) => chunk.choices[0].finish_reason).filter((reason) => reason !== null)).toEqual(['content_filter']);
    }
  });
});
