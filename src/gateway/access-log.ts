import { elapsedMs } from '../common/duration.js';
import { SyndicateError } from '../errors.js';
import { attemptsOfFailure } from '../invoke/failure.js';
import type { InvocationResult } from '../invoke/types.js';
import type { GatewayApi } from '../metrics/prometheus.js';
import { clientErrorOf } from './errors.js';

/**
 * One request as it ended, for an access log: never a prompt, an answer or a header value, only
 * what routed it where and what became of it. A stream ends when its last frame was written.
 */
export interface AccessLogEntry {
  /** When the request arrived (ISO 8601). */
  at: string;
  method: string;
  path: string;
  /** The HTTP status sent (a stream that broke after its 200 keeps 200; `outcome` says how it ended). */
  status: number;
  /** Arrival to end, microsecond precision. */
  durationMs: number;
  /** `ok`, or the error code (`route_denied`, `stream_broken`, `interrupted`, `token_invalid`, ...). */
  outcome: string;
  /** Set for inference requests. */
  api?: GatewayApi;
  provider?: string;
  providerClass?: string;
  model?: string;
  sensitivity?: string;
  streamed?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  evidenceId?: string;
  requestId?: string;
}

/** What an inference request adds to its entry once it settled. */
export type InferenceEnd = { api: GatewayApi; streamed: boolean } & ({ result: InvocationResult } | { error: unknown });

/**
 * Collects one request's entry from the two places that know its parts — the HTTP status when
 * the reply is handed over, the outcome when the pipeline settles (for a stream, later) — and
 * emits it once both are known.
 */
export class AccessRecord {
  private readonly at = new Date().toISOString();
  private readonly started = performance.now();
  private status: number | undefined;
  private end: Partial<AccessLogEntry> | undefined;
  private awaitingInference = false;

  constructor(
    private readonly call: { method: string; path: string },
    private readonly emit: (entry: AccessLogEntry) => void,
  ) {}

  /** An inference request will report its end through `inferenceEnded`. */
  expectInference(): void {
    this.awaitingInference = true;
  }

  inferenceEnded(end: InferenceEnd): void {
    this.end = { api: end.api, streamed: end.streamed, ...('result' in end ? resultFields(end.result) : errorFields(end.error)) };
    this.emitIfComplete();
  }

  /** The reply was handed to the server (`error`: what the core turned into it, if it failed). */
  replied(status: number, error?: unknown): void {
    this.status = status;
    if (!this.awaitingInference) this.end ??= error === undefined ? { outcome: 'ok' } : errorFields(error);
    this.emitIfComplete();
  }

  private emitIfComplete(): void {
    if (this.status === undefined || this.end === undefined) return;
    const entry: AccessLogEntry = {
      at: this.at,
      method: this.call.method,
      path: this.call.path,
      status: this.status,
      durationMs: elapsedMs(this.started),
      outcome: 'ok',
      ...this.end,
    };
    this.status = undefined;
    try {
      this.emit(entry);
    } catch {
      // The log is for watching; a logger that fails must not fail the request it describes.
    }
  }
}

function resultFields(result: InvocationResult): Partial<AccessLogEntry> {
  return {
    outcome: 'ok',
    provider: result.provider.id,
    providerClass: result.provider.class,
    model: result.model,
    sensitivity: result.classification.level,
    ...(result.usage === undefined ? {} : { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens }),
    evidenceId: result.evidenceId,
    requestId: result.requestId,
  };
}

/** A failure's code, and where its last attempt went when it got that far. */
function errorFields(error: unknown): Partial<AccessLogEntry> {
  const clientError = clientErrorOf(error);
  const last = attemptsOfFailure(error).at(-1);
  const details = error instanceof SyndicateError ? error.details : undefined;
  const requestId = details?.['requestId'];
  const sensitivity = details?.['sensitivity'];
  // The decisive row (the last attempt's, or a refusal's own before any attempt).
  const evidenceId = details?.['evidenceId'] ?? last?.evidenceId;
  return {
    outcome: clientError.code ?? clientError.kind,
    ...(typeof requestId === 'string' ? { requestId } : {}),
    ...(typeof sensitivity === 'string' ? { sensitivity } : {}),
    ...(last === undefined ? {} : { provider: last.provider.id, providerClass: last.provider.class, model: last.model }),
    ...(typeof evidenceId === 'string' ? { evidenceId } : {}),
  };
}
