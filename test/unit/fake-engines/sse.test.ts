import { describe, expect, it } from 'vitest';
import { formatSseFrame, splitSseFrames } from '../../helpers/fake-engines/sse.js';

describe('splitSseFrames', () => {
  it('keeps each frame\'s exact text, event and data', () => {
    const stream = 'event: message_start\ndata: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const frames = splitSseFrames(Buffer.from(stream));
    expect(frames).toEqual([
      { raw: 'event: message_start\ndata: {"a":1}\n\n', event: 'message_start', data: '{"a":1}' },
      { raw: 'data: {"b":2}\n\n', data: '{"b":2}' },
      { raw: 'data: [DONE]\n\n', data: '[DONE]' },
    ]);
    expect(frames.map((frame) => frame.raw).join('')).toBe(stream);
  });

  it('returns a truncated last frame as received, handles CRLF and multi-line data', () => {
    const frames = splitSseFrames('data: a\r\ndata: b\r\n\r\ndata: {"cut');
    expect(frames).toEqual([
      { raw: 'data: a\r\ndata: b\r\n\r\n', data: 'a\nb' },
      { raw: 'data: {"cut', data: '{"cut' },
    ]);
  });

  it('formats frames the way the engines write them', () => {
    expect(formatSseFrame('{"x":1}')).toBe('data: {"x":1}\n\n');
    expect(formatSseFrame('{"type":"ping"}', 'ping')).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });
});
