import { Transform, type Readable } from 'node:stream';

/** A message too long to read: its size so far, and its JSON-RPC id when its end gives it. */
export interface DroppedMessage {
  bytes: number;
  /** The id of a request whose last member is its id (as the SDK client writes every request), else null. */
  id: string | number | null;
}

/** How much of a dropped line's end is kept to find its id in. */
const TAIL_BYTES = 256;
const NEWLINE = 0x0a;
/** `"id": 7}` or `"id": "abc"}` ending a line: the top-level object's last member (a nested one would be followed by more braces). */
const TRAILING_ID = /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*\}\s*$/;

/**
 * `input` as whole lines (each ending in its newline) of at most `limitBytes`: a longer line is
 * dropped as it arrives, never held whole, and told to `onDropped` once its newline comes. The
 * SDK's stdio transport closes itself (and so `syndicate mcp` stops, cancelling every call) on a
 * message over its own 10 MiB buffer: a screenshot sent as MCP image content is that size.
 * A whole line `screen` returns true for was answered there and is not passed on either.
 */
export function boundedLines(input: Readable, limitBytes: number, onDropped: (message: DroppedMessage) => void, screen?: (line: Buffer) => boolean): Transform {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let dropping = false;
  let tail = Buffer.alloc(0);
  const drop = (segment: Buffer): void => {
    heldBytes += segment.length;
    tail = Buffer.concat([tail, segment.subarray(Math.max(0, segment.length - TAIL_BYTES))]);
    if (tail.length > TAIL_BYTES) tail = tail.subarray(tail.length - TAIL_BYTES);
  };
  const lines = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(NEWLINE, start);
        const end = newline === -1 ? chunk.length : newline + 1;
        const segment = chunk.subarray(start, end);
        start = end;
        if (!dropping && heldBytes + segment.length > limitBytes + 1) {
          // Over the limit: what was held goes, and the rest of the line as it comes.
          dropping = true;
          tail = Buffer.concat(held).subarray(-TAIL_BYTES);
          held = [];
        }
        if (dropping) drop(segment);
        else {
          held.push(segment);
          heldBytes += segment.length;
        }
        if (newline === -1) break;
        if (dropping) {
          const id = TRAILING_ID.exec(tail.toString('utf8'))?.[1];
          onDropped({ bytes: heldBytes, id: id === undefined ? null : (JSON.parse(id) as string | number) });
          dropping = false;
          tail = Buffer.alloc(0);
        } else {
          const line = Buffer.concat(held);
          if (screen?.(line) !== true) this.push(line);
        }
        held = [];
        heldBytes = 0;
      }
      done();
    },
    flush(done) {
      // A last line without its newline is passed on as it was (the transport waits for one, as before).
      if (!dropping && held.length > 0) this.push(Buffer.concat(held));
      done();
    },
  });
  return input.pipe(lines);
}
