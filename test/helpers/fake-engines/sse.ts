/** One server-sent event frame as it appeared on the wire. */
export interface SseFrame {
  /** The exact text of the frame including its terminating blank line (`\n\n`), when present. */
  raw: string;
  /** The `event:` field, when the frame had one (Anthropic streams do; OpenAI-compatible ones do not). */
  event?: string;
  /** The `data:` field(s), joined with `\n` as the SSE spec says. */
  data: string;
}

/**
 * Splits an SSE byte stream into frames, keeping each frame's exact text so tests can compare
 * evidence bytes frame by frame. Accepts `\n\n`, `\r\n\r\n` and `\r\r` separators; a trailing
 * frame without its blank line (a truncated stream) is returned too, with `raw` as received.
 * Comment lines (`: ping`) count as frames with empty data only when nothing else is in them.
 */
export function splitSseFrames(input: Buffer | string): SseFrame[] {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const frames: SseFrame[] = [];
  const separator = /\r\n\r\n|\n\n|\r\r/g;
  let start = 0;
  let match: RegExpExecArray | null;
  while ((match = separator.exec(text)) !== null) {
    const end = match.index + match[0].length;
    frames.push(parseFrame(text.slice(start, end)));
    start = end;
  }
  if (start < text.length && text.slice(start).trim() !== '') frames.push(parseFrame(text.slice(start)));
  return frames;
}

function parseFrame(raw: string): SseFrame {
  const dataLines: string[] = [];
  let event: string | undefined;
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') dataLines.push(value);
    else if (field === 'event') event = value;
  }
  const frame: SseFrame = { raw, data: dataLines.join('\n') };
  if (event !== undefined) frame.event = event;
  return frame;
}

/** Frames the way every engine here does: `data: <payload>\n\n`, with `event: <name>\n` first for Anthropic. */
export function formatSseFrame(data: string, event?: string): string {
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}
