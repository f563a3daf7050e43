import { createParser, type EventSourceParser } from 'eventsource-parser';
import { StringDecoder } from 'node:string_decoder';
import type { ServerSentEvent } from '../wire/adapter.js';
import type { CanonicalResponse, FinishReason, StreamPart, ToolCall, Usage } from '../wire/canonical.js';

/**
 * Splits upstream SSE bytes into events. Bytes are decoded incrementally, so a multi-byte
 * character split across two network chunks is never mangled.
 */
export class ServerSentEventSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly parser: EventSourceParser;
  private pending: ServerSentEvent[] = [];

  constructor() {
    this.parser = createParser({
      onEvent: (event) => {
        this.pending.push(event.event === undefined ? { data: event.data } : { event: event.event, data: event.data });
      },
    });
  }

  /** Feeds one network chunk; returns the events it completed. */
  push(chunk: Uint8Array): ServerSentEvent[] {
    this.parser.feed(this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    return this.drain();
  }

  /** Flushes at end of stream. A final event without its blank line is *not* emitted: it was cut off. */
  end(): ServerSentEvent[] {
    const rest = this.decoder.end();
    if (rest !== '') this.parser.feed(rest);
    return this.drain();
  }

  private drain(): ServerSentEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }
}

interface ToolCallBuilder {
  id: string;
  name: string;
  arguments: string;
}

/** Folds stream parts into the response they describe, and remembers how the stream ended. */
export class StreamAssembler {
  private id = '';
  private model = '';
  private text = '';
  private readonly toolCalls = new Map<number, ToolCallBuilder>();
  private finishReason: FinishReason | undefined;
  private rawFinishReason: string | null = null;
  private usage: Partial<Usage> | undefined;
  /** True once the wire's terminal marker (`[DONE]` / `message_stop`) arrived. */
  sawStreamEnd = false;
  /** First in-stream error, if any. */
  streamError: { message: string; errorType?: string } | undefined;
  /** Count of content-bearing parts (text or tool deltas), to tell "nothing arrived" from "cut off". */
  contentParts = 0;

  accept(part: StreamPart): void {
    switch (part.type) {
      case 'response-metadata':
        if (part.id !== undefined && this.id === '') this.id = part.id;
        if (part.model !== undefined && this.model === '') this.model = part.model;
        break;
      case 'text-delta':
        this.text += part.text;
        this.contentParts += 1;
        break;
      case 'tool-call-delta': {
        const builder = this.toolCalls.get(part.index) ?? { id: '', name: '', arguments: '' };
        if (part.id !== undefined && part.id !== '') builder.id = part.id;
        if (part.name !== undefined && part.name !== '') builder.name = part.name;
        builder.arguments += part.argumentsDelta;
        this.toolCalls.set(part.index, builder);
        this.contentParts += 1;
        break;
      }
      case 'usage':
        this.usage = { ...this.usage, ...definedOnly(part.usage) };
        break;
      case 'finish':
        this.finishReason = part.finishReason;
        this.rawFinishReason = part.rawFinishReason;
        break;
      case 'stream-end':
        this.sawStreamEnd = true;
        break;
      case 'error':
        this.streamError ??= { message: part.message, ...(part.errorType === undefined ? {} : { errorType: part.errorType }) };
        break;
    }
  }

  /** The response as far as it got. `usage` is present only when both counts were reported. */
  response(fallbackModel: string): CanonicalResponse {
    const toolCalls: ToolCall[] = [...this.toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, builder]) => ({ id: builder.id, name: builder.name, arguments: builder.arguments }));
    const usage =
      this.usage?.inputTokens !== undefined && this.usage.outputTokens !== undefined
        ? { inputTokens: this.usage.inputTokens, outputTokens: this.usage.outputTokens }
        : undefined;
    return {
      id: this.id,
      model: this.model === '' ? fallbackModel : this.model,
      text: this.text,
      toolCalls,
      finishReason: this.finishReason ?? (this.streamError === undefined ? 'other' : 'error'),
      rawFinishReason: this.rawFinishReason,
      ...(usage === undefined ? {} : { usage }),
    };
  }

  get finished(): boolean {
    return this.finishReason !== undefined;
  }
}

function definedOnly(usage: Partial<Usage>): Partial<Usage> {
  const result: Partial<Usage> = {};
  if (usage.inputTokens !== undefined) result.inputTokens = usage.inputTokens;
  if (usage.outputTokens !== undefined) result.outputTokens = usage.outputTokens;
  return result;
}
