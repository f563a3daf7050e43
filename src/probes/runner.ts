import { PolicyRefusalError, SyndicateError, UpstreamError } from '../errors.js';
import { getEvidence } from '../evidence/queries.js';
import { PROBE_CALLER } from '../evidence/types.js';
import { invoke } from '../invoke/pipeline.js';
import { attemptsOfFailure } from '../invoke/failure.js';
import type { AttemptReport, InvocationResult, PipelineContext } from '../invoke/types.js';
import type { Policy } from '../policy/types.js';
import type { RegisteredProvider } from '../registry/types.js';
import { HealthMonitor } from '../router/health.js';
import { releaseHolds, storeHoldBook, type HoldBook, type HoldReport, type SharedHold, type SharedToolsRefusal } from '../router/shared-holds.js';
import { isUnparsedValue } from '../store/json-columns.js';
import type { CanonicalRequest, WireWarning } from '../wire/canonical.js';
import { malformedEventStream } from './wire-checks.js';

/** Default bound of one probe request: connect, first byte and whole answer. */
export const DEFAULT_PROBE_TIMEOUT_MS = 60_000;

/** A probe request: everything but the model, which the runner pins to the probed provider. */
export type ProbeRequest = Omit<CanonicalRequest, 'model'>;

/**
 * Why a call that reached the upstream brought no answer. `refused`: the upstream said no (an
 * HTTP error status, or an error object in place of a 2xx answer) — it read the request, so a
 * refusal can say what it does not support. `malformed`: a 2xx answer whose bytes are not the
 * wire format (not JSON, not an SSE stream, an event that is not JSON). `broken`: the exchange
 * failed (a reset, a timeout, a body or stream cut before its end, an error mid-stream). Neither
 * of the last two is an answer, so neither can show a capability deviation.
 */
export type ProbeFailureKind = 'refused' | 'malformed' | 'broken';

/** One probe request as it went through the pipeline, with the bytes evidence holds. */
export interface ProbeCall {
  probe: string;
  request: ProbeRequest;
  /** Present when the pipeline returned an answer. */
  result?: InvocationResult;
  /** Present when the upstream answered but the attempt failed (HTTP error, broken body or stream). */
  failure?: { kind: ProbeFailureKind; code: string; message: string; status?: number };
  evidenceId?: string;
  /** The exact response bytes as text (JSON body or SSE stream), from evidence. */
  responseText?: string;
  /** The response's `content-type` header as received, from evidence. */
  responseContentType?: string;
  /** The exact request body sent, from evidence. */
  requestText?: string;
  /** Settings the wire adapter could not honour (e.g. no seed on the anthropic wire). */
  warnings: WireWarning[];
}

export interface ProbeRunnerOptions {
  timeoutMs?: number;
  /** How the operator sets `timeoutMs` (`syndicate provider test ID --timeout`), for the hint when a probe runs out of it. */
  timeoutOption?: string;
  /** Called before each request (spinner text). */
  onRequest?: (probe: string) => void;
  /** Aborts the probe in flight (recorded as cancelled by the caller) and every later one. */
  signal?: AbortSignal;
}

/**
 * Sends probe requests through the one governed pipeline (classify -> route -> permit -> invoke
 * -> evidence), each pinned to `provider:model` with its own permit and evidence row of kind
 * `probe`. The policy's sensitivity, egress and cost rules all apply; only the capability rules
 * are relaxed (a probe must be able to send tools to a model not tagged `tools` to find out) and
 * fallback is off. Each call gets a fresh health view, so one refused probe does not mark the
 * engine down for the next, and no hold of another process keeps a probe from the provider; but a
 * hold a failed call begins (nothing answered, a 429, a model not served) is recorded in the store
 * as a request's is, so every process stops sending there (`recordingOnly`).
 */
export class ProbeRunner {
  readonly evidenceIds: string[] = [];
  private reached = false;
  private calls = 0;
  /** False once a call brought no whole, decodable answer. */
  private everyCallAnswered = true;
  private readonly policy: Policy;
  private readonly holdBook: HoldBook;

  constructor(
    private readonly context: PipelineContext,
    readonly provider: RegisteredProvider,
    readonly model: string,
    private readonly options: ProbeRunnerOptions = {},
  ) {
    this.policy = probePolicy(context.policy);
    this.holdBook = recordingOnly(storeHoldBook(context.store));
  }

  /**
   * When every request of the run got a whole, decodable answer: lifts in every process the holds
   * saying the provider, or the probed model, is down — disproved, as a success disproves its own
   * in one process. A rate limit is not: it ends by time. Returns the holds lifted.
   */
  releaseDownHolds(): HoldReport[] {
    if (this.calls === 0 || !this.everyCallAnswered) return [];
    return releaseHolds(this.context.store, [{ provider: this.provider }, { provider: this.provider, model: this.model }], 'down');
  }

  /**
   * Sends one request. Until some request has reached the upstream, a failure to reach it is
   * thrown (`UpstreamError`, exit 5); so is an HTTP error answering the first request of a run.
   * Otherwise a failure is returned as the call's `failure`. A policy refusal is always thrown.
   */
  async call(probe: string, request: ProbeRequest): Promise<ProbeCall> {
    // Told to stop between two probes: no further request is sent.
    this.options.signal?.throwIfAborted();
    this.options.onRequest?.(probe);
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const call: ProbeCall = { probe, request, warnings: [] };
    try {
      const result = await invoke(
        { ...this.context, policy: this.policy, health: new HealthMonitor({ holdBook: this.holdBook }) },
        {
          request: { ...request, model: `${this.provider.id}:${this.model}` },
          caller: PROBE_CALLER,
          kind: 'probe',
          provider: this.provider.id,
          workflow: 'batch',
          timeouts: { connectMs: Math.min(timeoutMs, 10_000), firstByteMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
          ...(this.options.timeoutOption === undefined ? {} : { timeoutOption: this.options.timeoutOption }),
          ...(this.options.signal === undefined ? {} : { signal: this.options.signal }),
        },
      );
      call.result = result;
      call.evidenceId = result.evidenceId;
      call.warnings = result.warnings;
      this.reached = true;
    } catch (error) {
      if (error instanceof PolicyRefusalError || !(error instanceof SyndicateError)) throw error;
      const attempt = lastAttempt(error);
      const answered = attempt?.status !== undefined;
      if (!(error instanceof UpstreamError) || (!answered && !this.reached)) throw error;
      // The first request of a run is the plainest one: an HTTP error there (bad key, unknown model) means nothing else can be judged.
      if (this.calls === 0 && attempt?.status !== undefined && attempt.status >= 400) throw error;
      // The attempt's own error names what the upstream said; the pipeline's wraps it in "inference unavailable".
      const message = attempt?.error?.message ?? error.message;
      call.failure = { kind: 'broken', code: attempt?.error?.code ?? error.code, message, ...(attempt?.status === undefined ? {} : { status: attempt.status }) };
      if (attempt?.evidenceId !== undefined) call.evidenceId = attempt.evidenceId;
      if (answered) this.reached = true;
    }
    this.calls += 1;
    if (call.result === undefined) this.everyCallAnswered = false;
    if (call.evidenceId !== undefined) {
      this.evidenceIds.push(call.evidenceId);
      const evidence = getEvidence(this.context.store, call.evidenceId);
      if (evidence?.response.body != null) call.responseText = evidence.response.body.toString('utf8');
      if (evidence?.request.body != null) call.requestText = evidence.request.body.toString('utf8');
      const headers = evidence?.response.headers;
      const contentType = headers == null || isUnparsedValue(headers) ? undefined : headers['content-type'];
      if (contentType !== undefined) call.responseContentType = contentType;
      if (call.warnings.length === 0 && evidence !== undefined && !isUnparsedValue(evidence.warnings)) call.warnings = evidence.warnings;
    }
    if (call.failure !== undefined) call.failure = classifyFailure(call.failure, call);
    return call;
  }
}

const NO_HOLDS: readonly SharedHold[] = Object.freeze([]);
const NO_TOOLS_REFUSALS: ReadonlyMap<string, readonly SharedToolsRefusal[]> = new Map();

/**
 * The store's hold book as probes use it: the holds their failed calls begin (and tools an engine
 * refuses) are recorded for every process, but no other process's hold or tools refusal is
 * honoured — a probe asks the provider itself.
 */
function recordingOnly(book: HoldBook): HoldBook {
  return { ...book, othersHolds: () => NO_HOLDS, toolsRefusals: () => NO_TOOLS_REFUSALS };
}

/** Errors in place of an answer: the upstream said no in a 2xx body. */
const REFUSAL_CODES = new Set(['upstream_error_body']);
/** Statuses that say the upstream could not answer now (timeout, rate limit, overload, a proxy's), not what it supports. */
const TRANSIENT_STATUSES = new Set([408, 429, 502, 503, 504, 529]);
/** The adapters could not decode a 2xx answer. */
const MALFORMED_CODES = new Set(['upstream_malformed_response', 'upstream_malformed_stream']);

/**
 * Sorts a failure into `ProbeFailureKind`. An HTTP error is a refusal unless its status says the
 * upstream could not answer now (429, 503, ...). A stream is judged by its bytes, because the
 * pipeline reports a stream that goes wrong after its first token as `stream_broken` whatever the
 * cause: one whose complete events are not all JSON, or that holds no event at all (an HTML
 * page), is malformed; one cut in the middle is broken.
 */
function classifyFailure(failure: NonNullable<ProbeCall['failure']>, call: ProbeCall): NonNullable<ProbeCall['failure']> {
  const { status, code } = failure;
  if (status !== undefined && (status < 200 || status >= 300)) return { ...failure, kind: TRANSIENT_STATUSES.has(status) ? 'broken' : 'refused' };
  if (REFUSAL_CODES.has(code)) return { ...failure, kind: 'refused' };
  if (call.request.stream && call.responseText !== undefined) {
    const problem = malformedEventStream(call.responseText);
    if (problem !== undefined) {
      const contentType = call.responseContentType === undefined ? 'no content-type' : `content-type ${call.responseContentType}`;
      return { ...failure, kind: 'malformed', message: `the 2xx answer to a streamed request is not a well-formed SSE stream (${contentType}): ${problem}` };
    }
  }
  return { ...failure, kind: MALFORMED_CODES.has(code) ? 'malformed' : 'broken' };
}

/** The policy probes run under: the operator's, with capability gates opened and no fallback. */
export function probePolicy(policy: Policy): Policy {
  return {
    ...policy,
    capabilities: {
      ...policy.capabilities,
      requireToolsTag: false,
      nonstandardToolCalls: 'repair',
      weakJson: 'demote',
      rules: [],
    },
    fallback: { order: [], maxHops: 0 },
  };
}

function lastAttempt(error: SyndicateError): AttemptReport | undefined {
  return attemptsOfFailure(error).at(-1);
}

/** Whether the upstream answered with a 2xx status, even if the answer then broke or did not decode. */
export function answeredSuccessStatus(call: ProbeCall): boolean {
  if (call.failure === undefined) return call.result !== undefined;
  const status = call.failure.status;
  return status !== undefined && status >= 200 && status < 300;
}

/** A one-line description of a failed call (a malformed answer only by reference: its decode check says what was wrong). */
export function describeFailure(call: ProbeCall): string {
  if (call.failure === undefined) return 'no failure';
  if (call.failure.kind === 'malformed') return 'the answer did not decode';
  return call.failure.status === undefined ? call.failure.message : `HTTP ${call.failure.status}: ${call.failure.message}`;
}
