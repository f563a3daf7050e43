/**
 * Interleaved thinking (Anthropic's `interleaved-thinking-2025-05-14` beta): one answer holds
 * several `thinking` blocks, each signed on its own, between its text and tool_use blocks. An
 * Anthropic client replays them on its next turn, and the provider checks each signature and
 * the sequence, so they must survive Anthropic → canonical → Anthropic block for block, in order —
 * whole, streamed, and replayed in a request. OpenAI-family clients get the reasoning joined.
 * `redacted_thinking` blocks (reasoning the provider encrypted) travel the same way, their data
 * unmodified; no other wire and no OpenAI-family client ever sees them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partsOfResponse } from '../../../src/gateway/faces.js';
import { anthropicAdapter, encodeAnthropicRequest } from '../../../src/wire/anthropic/adapter.js';
import { AnthropicStreamEncoder, parseAnthropicMessagesRequest, renderAnthropicMessageResponse } from '../../../src/wire/anthropic/server.js';
import { inTurnOrder, type StreamPart } from '../../../src/wire/canonical.js';
import { openAIAdapter } from '../../../src/wire/openai/adapter.js';
import { renderOpenAIChatResponse } from '../../../src/wire/openai/server.js';
import { parseServerSentEvents } from '../../../src/wire/sse.js';
import { StreamAccumulator } from '../../../src/wire/stream-accumulator.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', 'fixtures', 'wire', 'anthropic');
const fixture = (name: string): string => readFileSync(resolve(FIXTURES, name), 'utf8');

type Block = Record<string, unknown> & { type: string };

/** The content blocks of a captured message, as the client must replay them. */
const contentOf = (name: string): Block[] => (JSON.parse(fixture(`${name}.json`)) as { content: Block[] }).content;

/** Decoded stream parts of a captured SSE body, one array per upstream event (as the gateway batches them). */
const streamedParts = (name: string): StreamPart[][] => parseServerSentEvents(fixture(`${name}.chunks.txt`)).map((event) => anthropicAdapter.decodeStreamEvent(event));

/**
 * The content blocks an Anthropic SSE body adds up to, as a client reassembles them; fails on a
 * delta for a block that is not the open one (Anthropic's blocks are strictly sequential).
 */
function blocksOfStream(body: string): Block[] {
  const blocks: Block[] = [];
  const json: string[] = [];
  let open: number | undefined;
  for (const event of parseServerSentEvents(body)) {
    const data = JSON.parse(event.data) as { index?: number; content_block?: Block; delta?: Record<string, string> };
    if (event.event === 'content_block_start') {
      expect(open).toBeUndefined();
      open = data.index;
      expect(open).toBe(blocks.length);
      blocks.push({ ...(data.content_block as Block) });
      json.push('');
    } else if (event.event === 'content_block_delta') {
      expect(data.index).toBe(open);
      const block = blocks[open as number] as Block;
      const delta = data.delta ?? {};
      if (delta['type'] === 'text_delta') block['text'] = String(block['text']) + delta['text'];
      if (delta['type'] === 'thinking_delta') block['thinking'] = String(block['thinking']) + delta['thinking'];
      if (delta['type'] === 'signature_delta') block['signature'] = String(block['signature']) + delta['signature'];
      if (delta['type'] === 'input_json_delta') json[open as number] = `${json[open as number] ?? ''}${delta['partial_json'] ?? ''}`;
    } else if (event.event === 'content_block_stop') {
      expect(data.index).toBe(open);
      const block = blocks[open as number] as Block;
      if (block.type === 'tool_use' && json[open as number] !== '') block['input'] = JSON.parse(json[open as number] as string);
      open = undefined;
    }
  }
  return blocks;
}

const CAPTURES = [
  ['interleaved-thinking-tool-use', 'thinking, tool_use, thinking, tool_use'],
  ['interleaved-thinking-text', 'thinking, text, thinking, text'],
  ['redacted-thinking-tool-use', 'redacted_thinking, tool_use'],
] as const;

describe.each(CAPTURES)('an answer of %s (%s)', (name) => {
  const expected = contentOf(name);

  it('non-streamed: each thinking block comes back with its own signature, in its place', () => {
    const response = anthropicAdapter.decodeResponse(fixture(`${name}.json`));
    const rendered = JSON.parse(renderAnthropicMessageResponse(response, { thinking: true }).body) as { content: Block[] };
    expect(rendered.content).toEqual(expected);
  });

  it('streamed: the blocks are re-encoded one after the other, each thinking block closed by its own signature', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude', thinking: true });
    let output = '';
    for (const parts of streamedParts(name)) output += encoder.encodeAll(parts);
    expect(encoder.closed).toBe(true);
    expect(blocksOfStream(output)).toEqual(expected);
  });

  it('streamed, then written from the reassembled answer (a stream that delivered nothing as it came): the same blocks', () => {
    const response = new StreamAccumulator().addAll(streamedParts(name).flat()).toResponse();
    expect(response).toEqual(anthropicAdapter.decodeResponse(fixture(`${name}.json`)));
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude', thinking: true });
    expect(blocksOfStream(encoder.encodeAll(partsOfResponse(response)))).toEqual(expected);
  });

  it('replayed by the client on its next turn: the provider is sent the same blocks in the same order', () => {
    const body = {
      model: 'claude',
      max_tokens: 1024,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      // The tools its calls name: without them the Messages API refuses tool_use blocks, and the wire sends them as text.
      tools: [...new Set(expected.filter((block) => block.type === 'tool_use').map((block) => String(block['name'])))].map((toolName) => ({ name: toolName, input_schema: { type: 'object' } })),
      messages: [
        { role: 'user', content: 'Go on.' },
        { role: 'assistant', content: expected },
        { role: 'user', content: 'Thanks.' },
      ],
    };
    const { request } = parseAnthropicMessagesRequest(JSON.stringify(body));
    const sent = JSON.parse(encodeAnthropicRequest(request, { baseUrl: 'https://api.anthropic.com' }).body) as { messages: Array<{ content: Block[] }> };
    expect(sent.messages[1]?.content).toEqual(expected);
  });

  it('an OpenAI client gets the reasoning joined, the text and every tool call, and nothing of a redacted block', () => {
    const response = anthropicAdapter.decodeResponse(fixture(`${name}.json`));
    const thinking = expected.filter((block) => block.type === 'thinking').map((block) => block['thinking']);
    const text = expected.filter((block) => block.type === 'text').map((block) => block['text']);
    const { body } = renderOpenAIChatResponse(response, { id: 'chatcmpl-1', model: 'claude', created: 1 });
    const rendered = JSON.parse(body) as {
      choices: Array<{ message: { content: string | null; reasoning_content?: string; tool_calls?: Array<{ id: string }> } }>;
    };
    const message = rendered.choices[0]?.message;
    expect(message?.reasoning_content).toBe(thinking.length === 0 ? undefined : thinking.join(''));
    for (const block of expected.filter((candidate) => candidate.type === 'redacted_thinking')) expect(body).not.toContain(String(block['data']));
    expect(message?.content ?? '').toBe(text.join(''));
    expect(message?.tool_calls?.map((call) => call.id) ?? []).toEqual(expected.filter((block) => block.type === 'tool_use').map((block) => block['id']));
  });
});

describe('two thinking blocks back to back', () => {
  const parts: StreamPart[] = [
    { type: 'response-metadata', id: 'msg_1', model: 'claude' },
    { type: 'reasoning-delta', text: 'First thought.' },
    { type: 'reasoning-signature', signature: 'c2lnLTE=' },
    { type: 'reasoning-delta', text: 'Second thought.' },
    { type: 'reasoning-signature', signature: 'c2lnLTI=' },
    { type: 'text-delta', text: 'Done.' },
    { type: 'finish', finishReason: 'stop', rawFinishReason: 'end_turn' },
    { type: 'stream-end' },
  ];
  const expected = [
    { type: 'thinking', thinking: 'First thought.', signature: 'c2lnLTE=' },
    { type: 'thinking', thinking: 'Second thought.', signature: 'c2lnLTI=' },
    { type: 'text', text: 'Done.' },
  ];

  it('stay two blocks: a signature ends the block it signs', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude', thinking: true });
    expect(blocksOfStream(encoder.encodeAll(parts))).toEqual(expected);
    const response = new StreamAccumulator().addAll(parts).toResponse();
    expect(response).toMatchObject({ reasoning: 'First thought.Second thought.', text: 'Done.' });
    expect(response.reasoningSignature).toBeUndefined();
    expect(JSON.parse(renderAnthropicMessageResponse(response, { thinking: true }).body)).toMatchObject({ content: expected });
  });

  it('without thinking enabled the client gets the text alone', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude' });
    expect(blocksOfStream(encoder.encodeAll(parts))).toEqual([{ type: 'text', text: 'Done.' }]);
    const response = new StreamAccumulator().addAll(parts).toResponse();
    expect(JSON.parse(renderAnthropicMessageResponse(response).body)).toMatchObject({ content: [{ type: 'text', text: 'Done.' }] });
  });
});

describe('a redacted_thinking block between signed thinking blocks', () => {
  const DATA = 'EpwCCm9OKtAbPezfflLA18hPfBtf0lfLNbJqhIqnwqUg84dWypOWvsZzetcl4BX4St==';
  const parts: StreamPart[] = [
    { type: 'response-metadata', id: 'msg_1', model: 'claude' },
    { type: 'reasoning-delta', text: 'First thought.' },
    { type: 'reasoning-signature', signature: 'c2lnLTE=' },
    { type: 'redacted-reasoning', data: DATA },
    { type: 'reasoning-delta', text: 'Second thought.' },
    { type: 'reasoning-signature', signature: 'c2lnLTI=' },
    { type: 'tool-call-delta', index: 0, id: 'toolu_1', name: 'f', argumentsDelta: '{"a":1}' },
    { type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_use' },
    { type: 'stream-end' },
  ];
  const expected = [
    { type: 'thinking', thinking: 'First thought.', signature: 'c2lnLTE=' },
    { type: 'redacted_thinking', data: DATA },
    { type: 'thinking', thinking: 'Second thought.', signature: 'c2lnLTI=' },
    { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } },
  ];

  it('keeps its place streamed, reassembled and rendered whole', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude', thinking: true });
    expect(blocksOfStream(encoder.encodeAll(parts))).toEqual(expected);
    const response = new StreamAccumulator().addAll(parts).toResponse();
    expect(response.parts).toEqual([
      { type: 'reasoning', text: 'First thought.', signature: 'c2lnLTE=' },
      { type: 'redacted-reasoning', data: DATA },
      { type: 'reasoning', text: 'Second thought.', signature: 'c2lnLTI=' },
    ]);
    expect(JSON.parse(renderAnthropicMessageResponse(response, { thinking: true }).body)).toMatchObject({ content: expected });
    expect(blocksOfStream(new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude', thinking: true }).encodeAll(partsOfResponse(response)))).toEqual(expected);
  });

  it('alone (no other thinking) still comes back in its place: an answer holding one is always given as parts', () => {
    const alone = parts.filter((part) => part.type !== 'reasoning-delta' && part.type !== 'reasoning-signature');
    const response = new StreamAccumulator().addAll(alone).toResponse();
    expect(response.parts).toEqual([{ type: 'redacted-reasoning', data: DATA }]);
    expect(response.toolCalls[0]?.position).toBe(1);
    expect(JSON.parse(renderAnthropicMessageResponse(response, { thinking: true }).body)).toMatchObject({ content: [expected[1], expected[3]] });
  });

  it('without thinking enabled the client gets neither thinking nor redacted blocks', () => {
    const encoder = new AnthropicStreamEncoder({ id: 'msg_syn', model: 'claude' });
    expect(blocksOfStream(encoder.encodeAll(parts))).toEqual([expected[3]]);
    const response = new StreamAccumulator().addAll(parts).toResponse();
    expect(JSON.parse(renderAnthropicMessageResponse(response).body)).toMatchObject({ content: [expected[3]] });
  });

  it('replayed to an openai-wire engine, is dropped with a warning naming its place', () => {
    const { request } = parseAnthropicMessagesRequest(
      JSON.stringify({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'Go.' }, { role: 'assistant', content: expected }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] }] }),
    );
    const encoded = openAIAdapter.encodeRequest(request, { baseUrl: 'http://127.0.0.1:8080/v1' });
    expect(encoded.body).not.toContain(DATA);
    expect(encoded.warnings).toContainEqual({ setting: 'messages[1].content[1]', message: expect.stringContaining('redacted_thinking') as unknown });
  });
});

describe('one thinking block (no interleaving)', () => {
  it('decodes as before: one reasoning text with its signature, no parts, no positions', () => {
    const response = anthropicAdapter.decodeResponse(
      '{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"thinking","thinking":"Think.","signature":"sig"},{"type":"text","text":"Calling."},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":3}}',
    );
    expect(response).toMatchObject({ reasoning: 'Think.', reasoningSignature: 'sig', text: 'Calling.', toolCalls: [{ id: 'toolu_1', name: 'f', arguments: '{}' }] });
    expect(response.parts).toBeUndefined();
    expect(response.toolCalls[0]?.position).toBeUndefined();
  });

  it('a replayed turn whose parts all come before its calls keeps no positions', () => {
    const { request } = parseAnthropicMessagesRequest(
      JSON.stringify({
        model: 'claude',
        max_tokens: 64,
        messages: [
          { role: 'user', content: 'Go.' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'Think.', signature: 'sig' }, { type: 'text', text: 'Calling.' }, { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
        ],
      }),
    );
    expect(request.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'Think.', signature: 'sig' },
        { type: 'text', text: 'Calling.' },
      ],
      toolCalls: [{ id: 'toolu_1', name: 'f', arguments: '{}' }],
    });
  });
});

describe('inTurnOrder', () => {
  it('puts each call before the part at its position and keeps the calls in their own order', () => {
    const call = (id: string, position?: number) => ({ id, name: 'f', arguments: '{}', ...(position === undefined ? {} : { position }) });
    const order = (calls: ReturnType<typeof call>[]) => inTurnOrder(['a', 'b'], calls).map((item) => (item.call === undefined ? item.part : item.call.id));
    expect(order([call('x', 1), call('y', 2)])).toEqual(['a', 'x', 'b', 'y']);
    expect(order([call('x', 0), call('y', 0)])).toEqual(['x', 'y', 'a', 'b']);
    expect(order([call('x'), call('y')])).toEqual(['a', 'b', 'x', 'y']);
    // A call without a position comes after every part, and the calls after it follow it.
    expect(order([call('x', 0), call('y'), call('z', 1)])).toEqual(['x', 'a', 'b', 'y', 'z']);
    expect(order([call('x', 9)])).toEqual(['a', 'b', 'x']);
  });
});
