import type { ServerSentEvent, StreamFraming } from './adapter.js';
import { tryParseJson } from './json.js';

/**
 * Splits NDJSON (Ollama's native streams, `application/x-ndjson`), fed in arbitrary chunks, into
 * lines, each handed on as an event whose `data` is the line (blank lines skipped, `\r\n` taken).
 * A last line without its newline is a complete line when it is whole JSON; anything else left at
 * the end is a line cut in the middle. Pure apart from its own buffer: no I/O.
 */
export class NdjsonLineSplitter implements StreamFraming {
  private buffered = '';

  push(text: string): ServerSentEvent[] {
    this.buffered += text;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    return lines.map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '').map((line) => ({ data: line }));
  }

  finish(): ServerSentEvent[] | undefined {
    const rest = this.buffered.replace(/\r$/, '');
    this.buffered = '';
    if (rest.trim() === '') return [];
    return tryParseJson(rest) === undefined ? undefined : [{ data: rest }];
  }
}
