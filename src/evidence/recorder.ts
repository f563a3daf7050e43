import { StoreError } from '../errors.js';
import type { GroupCommitter } from '../store/group-commit.js';
import { storeErrorFrom, type Store } from '../store/store.js';
import { redactRequestHeaders, redactResponseHeaders } from '../transport/redact.js';
import type { CaptureSink as TransportCaptureSink } from '../transport/transport.js';
import { openAttempts, type OpenAttempt } from './open-attempt.js';
import { statementsFor, type EvidenceStatements } from './statements.js';
import type { VerbatimCapture } from './types.js';

/** The request exactly as the transport sent it (credential headers already redacted). */
export interface CapturedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The exact body bytes (a string is taken as its UTF-8 bytes). */
  body: string | Uint8Array;
  /** Wall-clock moment the request was sent (ISO 8601); every `atMs` is an offset from it. */
  startedAt?: string;
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
 * What the recorder accepts: the transport's `CaptureSink` calls (`src/transport/transport.ts`),
 * with every field the recorder does not need left optional, so tests and benchmarks can feed it
 * directly. `EvidenceRecorder` is checked below to be a valid transport sink.
 */
export interface RecorderSink {
  /** Returns a promise when the pending row is group-committed (see `RecorderOptions.commits`). */
  onRequest(request: CapturedRequest): void | Promise<void>;
  onResponseStart(response: CapturedResponseStart): void;
  /** One piece of the response body as received (raw SSE bytes for streams). */
  onChunk(bytes: Uint8Array, atMs: number): void;
  onEnd(end: CapturedEnd): void;
  onRetry?(reason: string): void;
}

export interface RecorderOptions {
  /**
   * The provider's key the request was sent with: an upstream that quotes it back whole in its
   * answer (an error naming the key it refused) has it masked in the stored bytes, each of its
   * bytes as `*` (lengths and chunk timings stay as received), and the capture is then `partial`.
   * Secrets are never stored; the request's header carrying it is redacted, whatever its name.
   */
  credential?: string;
  /**
   * The response head, chunks and end are written at most this often (default 50 ms), in one
   * transaction: a chunk arriving after a quiet interval is written at once, bursts are batched,
   * and `completeAttempt` writes whatever is still buffered in its finishing transaction. A crash loses at
   * most this window; everything older is already in the store. `0` writes every event at once.
   * With `commits`, a chunk waits for the process's next shared tick instead (at most this long),
   * so every stream in flight is written in one batch transaction.
   */
  flushIntervalMs?: number;
  /**
   * Group commit (the gateway): the pending row and the request bytes are written in the next
   * batch transaction and `onRequest` returns a promise that resolves once they are committed;
   * the transport sends nothing before that. Without it they are committed synchronously.
   */
  commits?: GroupCommitter;
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
  /** The transport sent the request a second time on a new connection (see `onRetry`). */
  retried: boolean;
}

/**
 * Persists one attempt's bytes as they arrive. The pending row and the request bytes are written
 * in one transaction when the transport hands them over, before it opens the socket (at once, or
 * in the group committer's next batch, which the transport waits for); the response is
 * written in small batches (see `flushIntervalMs`), so a SIGKILL mid-stream leaves the request
 * and the chunks received so far in the store, where `recoverInterrupted` finds them.
 */
export class EvidenceRecorder implements RecorderSink, TransportCaptureSink {
  readonly evidenceId: string;
  private readonly attempt: OpenAttempt;
  private readonly statements: EvidenceStatements;
  private readonly storePath: string;
  private readonly flushIntervalMs: number;
  private readonly commits: GroupCommitter | undefined;
  /** On the global `performance` clock (not node:perf_hooks' own binding), which tests fake. */
  private lastFlushAt: number;
  private timer: NodeJS.Timeout | undefined;
  private waitingForTick = false;
  private closed = false;
  private detached = false;
  private readonly credential: Buffer | undefined;
  /** The key itself, however short: a request header carrying it is redacted. */
  private readonly sentCredential: string | undefined;
  /** Some received bytes were the credential, masked before they were stored. */
  private masked = false;
  private readonly summary: CaptureSummary = {
    requestCaptured: false,
    responseStarted: false,
    status: undefined,
    chunks: 0,
    responseBytes: 0,
    ended: false,
    complete: false,
    endError: undefined,
    retried: false,
  };

  constructor(store: Store, evidenceId: string, options: RecorderOptions = {}) {
    const attempt = openAttempts.get(evidenceId);
    if (attempt === undefined) {
      throw new StoreError(`no open attempt ${evidenceId} in this process`, {
        hint: 'create the recorder with the id beginAttempt returned, before completeAttempt',
      });
    }
    this.evidenceId = evidenceId;
    this.attempt = attempt;
    this.statements = statementsFor(store);
    this.storePath = store.path;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.commits = options.commits;
    this.sentCredential = options.credential;
    this.credential = options.credential === undefined || options.credential.length < SHORTEST_MASKED_CREDENTIAL ? undefined : Buffer.from(options.credential, 'utf8');
    this.lastFlushAt = performance.now();
    attempt.detach = () => this.detach();
  }

  onRequest(request: CapturedRequest): void | Promise<void> {
    this.throwIfFailed();
    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : Buffer.from(request.body);
    const capture = (): void =>
      this.attempt.captureRequest(this.statements, {
        method: request.method,
        url: request.url,
        // Again (defence in depth), and by value: the transport tells a credential by its header's name alone.
        headersJson: JSON.stringify(redactRequestHeaders(request.headers, this.sentCredential)),
        startedAt: request.startedAt ?? null,
        body,
      });
    if (this.commits === undefined) {
      this.write(capture);
      this.summary.requestCaptured = true;
      return undefined;
    }
    return this.commits.run(capture).then(
      () => {
        this.summary.requestCaptured = true;
      },
      (error: unknown) => {
        this.attempt.failure ??= error;
        this.throwIfFailed();
      },
    );
  }

  onResponseStart(response: CapturedResponseStart): void {
    this.throwIfFailed();
    if (this.detached) return;
    this.attempt.bufferResponseStart({ status: response.status, headersJson: JSON.stringify(redactResponseHeaders(response.headers, this.sentCredential)), atMs: response.atMs });
    this.summary.responseStarted = true;
    this.summary.status = response.status;
    this.schedule();
  }

  onChunk(bytes: Uint8Array, atMs: number): void {
    this.throwIfFailed();
    if (this.closed || this.detached) return;
    // Copy: the transport may reuse its buffer after we return.
    const chunk = Buffer.from(bytes);
    if (this.credential !== undefined && maskCredential(chunk, this.credential)) this.masked = true;
    this.attempt.bufferChunk(chunk, atMs);
    this.summary.chunks += 1;
    this.summary.responseBytes += bytes.byteLength;
    this.schedule();
  }

  onEnd(end: CapturedEnd): void {
    this.throwIfFailed();
    this.summary.ended = true;
    this.summary.complete = end.complete;
    this.summary.endError = end.error;
    if (this.detached) return;
    this.attempt.bufferEnd({ atMs: end.atMs, complete: end.complete });
    // Usually completeAttempt follows at once and writes it in its own transaction; the timer
    // covers a caller that does not.
    this.schedule(true);
  }

  onRetry(): void {
    this.summary.retried = true;
  }

  /**
   * Writes everything captured and not yet written in one transaction: now, or with group commit
   * in the committer's next batch, shared with the other requests' writes (a failure is kept on
   * the attempt and fails its next call closed). A long stream flushes every `flushIntervalMs`.
   */
  flush(): void {
    this.throwIfFailed();
    this.cancelTimer();
    this.lastFlushAt = performance.now();
    if (this.detached) return;
    const flush = (): void => this.attempt.flush(this.statements);
    if (this.commits === undefined) {
      this.write(flush);
      return;
    }
    this.commits.run(flush).catch((error: unknown) => {
      this.attempt.failure ??= error;
    });
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
    if (this.summary.requestCaptured && this.summary.ended && this.summary.complete && !this.masked) return 'full';
    return 'partial';
  }

  /**
   * Stops accepting chunks. What is still buffered is written by `completeAttempt` (which must
   * follow) or, failing that, by the flush timer.
   */
  close(): void {
    this.closed = true;
  }

  /** Called by completeAttempt: later events are ignored and the timer is cancelled. */
  private detach(): void {
    this.cancelTimer();
    this.closed = true;
    this.detached = true;
  }

  private schedule(deferOnly = false): void {
    if (this.detached) return;
    if (this.commits !== undefined && this.flushIntervalMs > 0) {
      this.scheduleOnSharedTick();
      return;
    }
    const elapsed = performance.now() - this.lastFlushAt;
    if (!deferOnly && elapsed >= this.flushIntervalMs) {
      this.flush();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flushUnawaited();
      },
      deferOnly ? this.flushIntervalMs : Math.max(0, this.flushIntervalMs - elapsed),
    );
    this.timer.unref();
  }

  /**
   * Group commit: the recorders of the process wait for one shared tick (see `SharedFlushTick`),
   * so the streams in flight write their chunks in the same batch transaction — one commit per
   * tick instead of one per stream — and none waits longer than its interval.
   */
  private scheduleOnSharedTick(): void {
    if (this.waitingForTick) return;
    this.waitingForTick = true;
    SharedFlushTick.join(this.flushIntervalMs, this.tickFlush);
  }

  private readonly tickFlush = (): void => {
    this.waitingForTick = false;
    this.flushUnawaited();
  };

  /** A flush no caller waits for (a timer's): its failure is kept on the attempt (see `write`). */
  private flushUnawaited(): void {
    try {
      this.flush();
    } catch {
      // Surfaced by the next call into the recorder or by completeAttempt — fail closed.
    }
  }

  private cancelTimer(): void {
    if (this.waitingForTick) {
      SharedFlushTick.leave(this.flushIntervalMs, this.tickFlush);
      this.waitingForTick = false;
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private throwIfFailed(): void {
    throwIfAttemptFailed(this.attempt);
  }

  private write(work: () => unknown): void {
    try {
      work();
    } catch (error) {
      // With the fix its SQLite code calls for (another writer holds the store, it is read-only, the disk is full).
      this.attempt.failure ??= storeErrorFrom(error, `evidence capture for ${this.evidenceId} failed`, this.storePath);
      this.throwIfFailed();
    }
  }
}

/** One timer per flush interval for every recorder waiting to flush: they all flush in the same turn. */
const SharedFlushTick = {
  ticks: new Map<number, Set<() => void>>(),

  join(intervalMs: number, flush: () => void): void {
    let waiting = this.ticks.get(intervalMs);
    if (waiting === undefined) {
      const flushes = new Set<() => void>();
      waiting = flushes;
      this.ticks.set(intervalMs, flushes);
      setTimeout(() => {
        this.ticks.delete(intervalMs);
        for (const waitingFlush of flushes) waitingFlush();
      }, intervalMs).unref();
    }
    waiting.add(flush);
  },

  leave(intervalMs: number, flush: () => void): void {
    this.ticks.get(intervalMs)?.delete(flush);
  },
};

/** Throws the attempt's earlier write failure, as a StoreError, if there was one. */
export function throwIfAttemptFailed(attempt: OpenAttempt): void {
  const failure = attempt.failure;
  if (failure === undefined) return;
  throw failure instanceof StoreError
    ? failure
    : new StoreError(`evidence capture for ${attempt.id} failed: ${(failure as Error).message}`, {
        hint: 'run `syndicate doctor` to check the store',
        cause: failure,
      });
}

/** A key shorter than this is not looked for in the answer: it would mask words that merely match it. */
const SHORTEST_MASKED_CREDENTIAL = 8;

/**
 * Overwrites each whole occurrence of `credential` in `chunk` with `*`, in place; whether there was
 * one. A key split across two chunks is not seen (an error body quoting it comes in one).
 */
function maskCredential(chunk: Buffer, credential: Buffer): boolean {
  let found = false;
  for (let at = chunk.indexOf(credential); at !== -1; at = chunk.indexOf(credential, at + credential.length)) {
    chunk.fill(0x2a, at, at + credential.length);
    found = true;
  }
  return found;
}

/** A recorder (the transport's CaptureSink) for an attempt started with `beginAttempt` in this process. */
export function createRecorder(store: Store, evidenceId: string, options?: RecorderOptions): EvidenceRecorder {
  return new EvidenceRecorder(store, evidenceId, options);
}
