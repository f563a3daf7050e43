import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { boundedLines, type DroppedMessage } from '../../../src/mcp/bounded-lines.js';
import { tooDeeplyNestedAnswer } from '../../../src/mcp/malformed-messages.js';

/** What `boundedLines` passes on and drops when `chunks` arrive in that order. */
async function through(chunks: string[], limitBytes: number): Promise<{ lines: string; dropped: DroppedMessage[] }> {
  const input = new PassThrough();
  const dropped: DroppedMessage[] = [];
  const output = boundedLines(input, limitBytes, (message) => dropped.push(message));
  const read: Buffer[] = [];
  output.on('data', (chunk: Buffer) => read.push(chunk));
  const ended = new Promise((resolve) => output.on('end', resolve));
  for (const chunk of chunks) input.write(chunk);
  input.end();
  await ended;
  return { lines: Buffer.concat(read).toString(), dropped };
}

describe('boundedLines', () => {
  it('passes whole lines on, however the chunks split them', async () => {
    expect(await through(['{"a":1}\n{"b"', ':2}\n{"c":3}\n'], 64)).toEqual({ lines: '{"a":1}\n{"b":2}\n{"c":3}\n', dropped: [] });
  });

  it('drops a line over the limit, wherever it is cut, with the id its end gives; the next lines go on', async () => {
    const long = `{"method":"tools/call","params":{"arguments":{"prompt":"${'x'.repeat(100)}","nested":{"id":9}}},"jsonrpc":"2.0","id":7}`;
    const { lines, dropped } = await through(['{"a":1}\n', long.slice(0, 30), long.slice(30, 90), `${long.slice(90)}\n{"b":2}\n`], 64);
    expect(lines).toBe('{"a":1}\n{"b":2}\n');
    expect(dropped).toEqual([{ bytes: long.length + 1, id: 7 }]);
  });

  it('a string id, and none when the line does not end with one (a nested id is not taken)', async () => {
    const { dropped } = await through([`{"jsonrpc":"2.0","id":"call-1","params":{"x":"${'y'.repeat(80)}"}}\n`, `{"jsonrpc":"2.0","params":{"x":"${'y'.repeat(80)}","id":3}}\n`, `{"x":"${'y'.repeat(80)}","id":"a\\"b"}\n`], 64);
    expect(dropped.map((message) => message.id)).toEqual([null, null, 'a"b']);
  });

  it('a line exactly at the limit is passed on; a last line without its newline too', async () => {
    const atLimit = `{"p":"${'z'.repeat(64 - 8)}"}`;
    expect(atLimit).toHaveLength(64);
    expect(await through([`${atLimit}\n`, '{"tail":1}'], 64)).toEqual({ lines: `${atLimit}\n{"tail":1}`, dropped: [] });
  });
});

describe('tooDeeplyNestedAnswer', () => {
  const nested = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
  it('128 levels in all pass (and so does text that is not JSON: the SDK answers it)', () => {
    expect(tooDeeplyNestedAnswer(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":${nested(126)}}}`)).toBeUndefined();
    expect(tooDeeplyNestedAnswer(`${'['.repeat(500)}`)).toBeUndefined();
  });
  it('129: Invalid Request to the request\'s id, naming the limit and the field', () => {
    expect(tooDeeplyNestedAnswer(`{"jsonrpc":"2.0","id":"c-1","method":"tools/call","params":{"arguments":{"x":${nested(126)}}}}`)).toEqual({
      jsonrpc: '2.0',
      id: 'c-1',
      error: { code: -32600, message: 'Invalid Request: /params/arguments/x/a nests arrays and objects more than 128 levels deep, the most syndicate reads: send arguments nested at most 128 levels deep' },
    });
    expect(tooDeeplyNestedAnswer(`[${nested(200)}]`)).toMatchObject({ id: null, error: { code: -32600 } });
  });
});
