import { performance } from 'node:perf_hooks';
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import { statementsFor, type EvidenceStatements } from './statements.js';
import type { VerbatimCapture } from './types.js';

/** The request exactly as the transport sent it (credential headers already redacted). */
export interface CapturedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The exact body bytes (a string is taken as its UTF-8 bytes). */
  body: string | Uint8Array;
}

/** The response head; `atMs` is milliseconds since the request was sent. */
export interface CapturedResponseStart {
  status: number;
  headers: Record<string, string>;
  atMs: number;
}

/** The end of the response: `complete` is false when it was cut (timeout, reset, abort). */
export interface CapturedEnd {
  atMs: number;
  complete: boolean;
  error?: { code?: string; message: string } | string;
}

/**
 * What the transport hands its bytes to, before anything is parsed. Implemented by
 * `EvidenceRecorder`; the transport depends on this shape only.
 */
export interface CaptureSink {
  onRequest(request: CapturedRequest): void;
  onResponseStart(response: CapturedResponseStart): void;
  /** One piece of the response body as received (raw SSE bytes for streams). */
  onChunk(bytes: Uint8Array, atMs: number): void;
  onEnd(end: CapturedEnd): void;
}

export interface RecorderOptions {
  /**
   * Chunks are written at most this often (default 50 ms): the first chunk and any chunk arriving
   * after a quiet interval are written at once, bursts are batched. `0` writes every chunk at once.
   * A crash loses at most this window; everything older is already in the store.
   */
  flushIntervalMs?: number;
}

/** What the recorder has seen, for deciding `verbatim_capture` honestly. */
export interface CaptureSummary {
  requestCaptured: boolean;
  responseStarted: boolean;
  status: number | undefined;
  chunks: number;
  responseBytes: number;
  ended: boolean;
  complete: boolean;
  endError: CapturedEnd['error'];
}

/** Header names whose values are credentials; redacted again here even if the transport did. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  'set-cookie',
]);
/** Other credential-looking names (`x-auth-token`, `openai-api-key`, `x-client-secret`); not `*-ratelimit-*-tokens`. */
const CREDENTIAL_NAME = /(^|-)(api-?key|secret|access-token|auth-token|session-token|id-token)$/;
export const REDACTED = '[redacted]';

/** Copies headers with credential values replaced by `[redacted]` (names lower-cased). */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const redacted: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    redacted[lower] = CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME.test(lower) ? REDACTED : value;
  }
  return redacted;
}

/** Recorders not yet completed, so `completeAttempt` can flush what is still buffered. */
const openRecorders = new Map<string, EvidenceRecorder>();

/** @internal used by completeAttempt. */
export function takeOpenRecorder(evidenceId: string): EvidenceRecorder | undefined {
  const recorder = openRecorders.get(evidenceId);
  openRecorders.delete(evidenceId);
  return recorder;
}

/**
 * Persists one attempt's bytes as they arrive. Every write is a small statement of its own, so a
 * SIGKILL mid-stream leaves the request and the chunks received so far (minus at most one flush
 * interval) in the store, where `recoverInterrupted` finds them.
 */
export class EvidenceRecorder implements CaptureSink {
  readonly evidenceId: string;
  private readonly store: Store;
  private readonly statements: EvidenceStatements;
  private readonly flushIntervalMs: number;
  private buffered: { bytes: Buffer; atMs: number }[] = [];
  private nextSeq = 0;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  private closed = false;
  private readonly summary: CaptureSummary = {
    requestCaptured: false,
    responseStarted: false,
    status: undefined,
    chunks: 0,
    responseBytes: 0,
    ended: false,
    complete: false,
    endError: undefined,
  };

  constructor(store: Store, evidenceId: string, options: RecorderOptions = {}) {
    this.store = store;
    this.evidenceId = evidenceId;
    this.statements = statementsFor(store);
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    openRecorders.set(evidenceId, this);
  }

  onRequest(request: CapturedRequest): void {
    this.throwIfFailed();
    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : Buffer.from(request.body);
    this.write(() =>
      this.statements.captureRequest.run(request.method, request.url, JSON.stringify(redactHeaders(request.headers)), body, this.evidenceId),
    );
    this.summary.requestCaptured = true;
  }

  onResponseStart(response: CapturedResponseStart): void {
    this.throwIfFailed();
    this.write(() =>
      this.statements.captureResponseStart.run(response.status, JSON.stringify(redactHeaders(response.headers)), response.atMs, this.evidenceId),
    );
    this.summary.responseStarted = true;
    this.summary.status = response.status;
  }

  onChunk(bytes: Uint8Array, atMs: number): void {
    this.throwIfFailed();
    if (this.closed) return;
    // Copy: the transport may reuse its buffer after we return.
    this.buffered.push({ bytes: Buffer.from(bytes), atMs });
    this.summary.chunks += 1;
    this.summary.responseBytes += bytes.byteLength;
    const elapsed = performance.now() - this.lastFlushAt;
    if (elapsed >= this.flushIntervalMs) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        try {
          this.flush();
        } catch (error) {
          // Surfaced by the next call into the recorder or by completeAttempt: fail closed.
          this.failure = error;
        }
      }, this.flushIntervalMs - elapsed);
      this.timer.unref();
    }
  }

  onEnd(end: CapturedEnd): void {
    this.flush();
    this.write(() => this.statements.captureEnd.run(end.atMs, end.complete ? 1 : 0, this.evidenceId));
    this.summary.ended = true;
    this.summary.complete = end.complete;
    this.summary.endError = end.error;
  }

  /** Writes buffered chunks now (one transaction). Throws if an earlier background flush failed. */
  flush(): void {
    this.throwIfFailed();
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.lastFlushAt = performance.now();
    if (this.buffered.length === 0) return;
    const pending = this.buffered;
    this.buffered = [];
    const insert = this.statements.insertChunk;
    const id = this.evidenceId;
    const first = this.nextSeq;
    this.nextSeq += pending.length;
    const writeAll = (): void => {
      pending.forEach((chunk, index) => insert.run(id, first + index, chunk.atMs, chunk.bytes));
    };
    this.write(() => (pending.length === 1 ? writeAll() : this.store.transaction(writeAll)));
  }

  /** What has been captured so far. */
  captured(): Readonly<CaptureSummary> {
    return { ...this.summary };
  }

  /**
   * The honest `verbatim_capture` for what was seen: `full` when the request was captured and the
   * response ended normally, `none` when nothing was captured, otherwise `partial`.
   */
  verbatimCapture(): VerbatimCapture {
    if (!this.summary.requestCaptured && this.summary.chunks === 0) return 'none';
    if (this.summary.requestCaptured && this.summary.ended && this.summary.complete) return 'full';
    return 'partial';
  }

  /** Flushes and detaches; further chunks are ignored. Called by completeAttempt. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    openRecorders.delete(this.evidenceId);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      const failure = this.failure;
      throw failure instanceof StoreError
        ? failure
        : new StoreError(`evidence capture for ${this.evidenceId} failed: ${(failure as Error).message}`, {
            hint: 'run `syndicate doctor` to check the store',
            cause: failure,
          });
    }
  }

  private write(work: () => unknown): void {
    try {
      work();
    } catch (error) {
      this.failure = error;
      this.throwIfFailed();
    }
  }
}

/** A recorder (the transport's CaptureSink) for an attempt started with `beginAttempt`. */
export function createRecorder(store: Store, evidenceId: string, options?: RecorderOptions): EvidenceRecorder {
  return new EvidenceRecorder(store, evidenceId, options);
}
