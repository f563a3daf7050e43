import { describe, expect, it } from 'vitest';
import { ServerSentEventSplitter, StreamAssembler } from '../../../src/invoke/stream-assembler.js';

describe('ServerSentEventSplitter', () => {
  it('splits frames across arbitrary chunk boundaries, including inside a multi-byte character', () => {
    const bytes = Buffer.from('event: a\ndata: {"t":"héllo"}\n\ndata: [DONE]\n\n', 'utf8');
    const splitter = new ServerSentEventSplitter();
    const events = [];
    for (let offset = 0; offset < bytes.length; offset += 3) events.push(...splitter.push(bytes.subarray(offset, offset + 3)));
    events.push(...splitter.end());
    expect(events).toEqual([{ event: 'a', data: '{"t":"héllo"}' }, { data: '[DONE]' }]);
  });

  it('does not emit a final frame that was cut off before its blank line', () => {
    const splitter = new ServerSentEventSplitter();
    expect(splitter.push(Buffer.from('data: {"a":1}\n\ndata: {"b"'))).toEqual([{ data: '{"a":1}' }]);
    expect(splitter.end()).toEqual([]);
  });
});

describe('StreamAssembler', () => {
  it('assembles text, tool calls by index, usage and the terminal marker', () => {
    const assembler = new StreamAssembler();
    assembler.accept({ type: 'response-metadata', id: 'chatcmpl-1', model: 'm' });
    assembler.accept({ type: 'text-delta', text: 'Hel' });
    assembler.accept({ type: 'text-delta', text: 'lo' });
    assembler.accept({ type: 'tool-call-delta', index: 1, id: 'call_b', name: 'two', argumentsDelta: '{"b"' });
    assembler.accept({ type: 'tool-call-delta', index: 0, id: 'call_a', name: 'one', argumentsDelta: '{}' });
    assembler.accept({ type: 'tool-call-delta', index: 1, argumentsDelta: ':2}' });
    assembler.accept({ type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' });
    assembler.accept({ type: 'usage', usage: { inputTokens: 5 } });
    assembler.accept({ type: 'usage', usage: { outputTokens: 7 } });
    assembler.accept({ type: 'stream-end' });
    expect(assembler.sawStreamEnd).toBe(true);
    expect(assembler.response('fallback')).toEqual({
      id: 'chatcmpl-1',
      model: 'm',
      text: 'Hello',
      toolCalls: [
        { id: 'call_a', name: 'one', arguments: '{}' },
        { id: 'call_b', name: 'two', arguments: '{"b":2}' },
      ],
      finishReason: 'tool_calls',
      rawFinishReason: 'tool_calls',
      usage: { inputTokens: 5, outputTokens: 7 },
    });
  });

  it('leaves usage absent when only one side was reported, and marks an unfinished stream', () => {
    const assembler = new StreamAssembler();
    assembler.accept({ type: 'text-delta', text: 'x' });
    assembler.accept({ type: 'usage', usage: { outputTokens: 1 } });
    const response = assembler.response('model-a');
    expect(response.usage).toBeUndefined();
    expect(response.model).toBe('model-a');
    expect(response.finishReason).toBe('other');
    expect(assembler.sawStreamEnd).toBe(false);
  });
});
