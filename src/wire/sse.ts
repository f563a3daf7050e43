import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { ServerSentEvent, StreamFraming } from './adapter.js';

const LINE_BREAK = /[\r\n]/;

/** Frames one server-sent event: optional `event:` line, one `data:` line per line of data, blank line. */
export function formatServerSentEvent(event: ServerSentEvent): string {
  const eventLine = event.event === undefined ? '' : `event: ${event.event}\n`;
  // Data without a line break (JSON always, `[DONE]`) is one line: framed without splitting, as
  // every chunk of every stream is.
  if (!LINE_BREAK.test(event.data)) return `${eventLine}data: ${event.data}\n\n`;
  const dataLines = event.data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `${eventLine}${dataLines}\n`;
}

/**
 * Splits SSE text, fed in arbitrary chunks, into events (comments and `retry:` are skipped).
 * Pure apart from its own buffer: no I/O.
 */
export class ServerSentEventSplitter {
  private readonly pending: ServerSentEvent[] = [];
  private readonly parser: EventSourceParser;

  constructor() {
    this.parser = createParser({
      onEvent: (message) => {
        this.pending.push(message.event === undefined ? { data: message.data } : { event: message.event, data: message.data });
      },
    });
  }

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    this.parser.feed(chunk);
    return this.pending.splice(0, this.pending.length);
  }

  /** Ends the input; returns an event left unterminated at the end of the stream, if any. */
  finish(): ServerSentEvent[] {
    this.parser.reset({ consume: true });
    return this.pending.splice(0, this.pending.length);
  }
}

/** SSE as a stream framing: an event left unterminated at the end means the stream was cut. */
export function serverSentEventFraming(): StreamFraming {
  const splitter = new ServerSentEventSplitter();
  return {
    push: (text) => splitter.push(text),
    finish: () => (splitter.finish().length > 0 ? undefined : []),
  };
}

/** Every event in a complete SSE text (a captured stream, a fixture). */
export function parseServerSentEvents(text: string): ServerSentEvent[] {
  const splitter = new ServerSentEventSplitter();
  return [...splitter.push(text), ...splitter.finish()];
}
