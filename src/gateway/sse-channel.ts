/** Where an SSE channel's frames go once a consumer is attached. */
export interface SseSink {
  write(text: string): void;
  end(): void;
  /** A promise while the consumer holds more than it should take at once (a slow client); absent or `undefined`: it has room. */
  whenWritable?(): Promise<void> | undefined;
}

const encoder = new TextEncoder();

/** The response headers of every SSE answer (the core's stream replies start from these). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });

/**
 * A push channel for one streamed answer. The gateway core writes SSE frames as the pipeline
 * emits them; exactly one consumer reads them: the web `ReadableStream` of the `Response`
 * (in-process callers, `toResponse`), or the node:http adapter, which writes each frame
 * straight to the socket without a web-stream hop. Frames written before a consumer is
 * attached are kept and flushed on attach; nothing is ever held back after that.
 */
export class SseChannel {
  private sink: SseSink | undefined;
  private readonly pending: string[] = [];
  private ended = false;
  private cancelled = false;
  private readonly onCancel: () => void;

  constructor(onCancel: () => void) {
    this.onCancel = onCancel;
  }

  write(text: string): void {
    if (text === '' || this.cancelled) return;
    if (this.sink !== undefined) this.sink.write(text);
    else this.pending.push(text);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.cancelled) this.sink?.end();
  }

  /**
   * Resolves once the consumer has room again, `undefined` when it has room now: the producer
   * waits on it between upstream chunks, so a client that reads slowly holds its upstream back
   * instead of its whole answer being kept in memory for it.
   */
  whenWritable(): Promise<void> | undefined {
    if (this.cancelled || this.ended) return undefined;
    return this.sink?.whenWritable?.();
  }

  /** The consumer went away (client disconnected): stop the upstream call. */
  cancel(): void {
    if (this.cancelled || this.ended) return;
    this.cancelled = true;
    this.onCancel();
  }

  attach(sink: SseSink): void {
    if (this.sink !== undefined) throw new Error('an SSE channel has exactly one consumer');
    this.sink = sink;
    for (const text of this.pending.splice(0)) sink.write(text);
    if (this.ended) sink.end();
  }

  /** A 200 response whose body is this channel, with `headers` as given (the reply's: `SSE_HEADERS` and its own). */
  toResponse(headers: Record<string, string>): Response {
    const stream = new ReadableStream<Uint8Array>(
      {
        // highWaterMark 0: pull only runs when someone reads, so a direct consumer can claim the channel first.
        pull: (controller) => {
          if (this.sink !== undefined) return;
          this.attach({
            write: (text) => controller.enqueue(encoder.encode(text)),
            end: () => controller.close(),
          });
        },
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
    return new Response(stream, { status: 200, headers });
  }
}
