import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TLSSocket } from 'node:tls';
import { elapsedMs } from '../common/duration.js';
import {
  ExitCode,
  InterruptedError,
  PolicyRefusalError,
  SyndicateError,
  toSyndicateError,
  UpstreamError,
} from '../errors.js';
import { topLevelMemberValues } from '../common/json-members.js';
import { isLoopbackAddress } from '../common/loopback.js';
import { isVerifiedPermit, spendVerifiedPermit, type VerifiedPermit } from '../permits/permits.js';
import type { WireHttpRequest } from '../wire/adapter.js';
import { IoAwareTimeout } from './io-aware-timeout.js';
import { redactRequestHeaders, redactResponseHeaders, redactUrl } from './redact.js';

/**
 * Upstream connections are kept alive and reused (an engine on loopback or a hosted API answers
 * many calls): a new TCP (and TLS) handshake per call would dominate small requests. Idle
 * sockets are dropped after 4 s, below the keep-alive timeout of common servers (5 s), so a
 * request is not written onto a socket the server is about to close.
 */
const HTTP_AGENT = new HttpAgent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: 64, timeout: 4000 });
const HTTPS_AGENT = new HttpsAgent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: 64, timeout: 4000 });

/** The four clocks of one upstream call, in milliseconds. */
export interface TransportTimeouts {
  /** From the start until the socket is connected (TLS handshake included for https). */
  connectMs: number;
  /** From the connection until the response status and headers arrive. */
  firstByteMs: number;
  /** Longest silence between two body chunks. */
  idleMs: number;
  /** From the start until the last body byte. */
  totalMs: number;
}

/** Defaults sized for LLM calls: a cold local model can take a while before its first byte. */
export const DEFAULT_TRANSPORT_TIMEOUTS: TransportTimeouts = {
  connectMs: 10_000,
  firstByteMs: 120_000,
  idleMs: 60_000,
  totalMs: 600_000,
};

/** The request exactly as sent, credentials redacted. Handed to the sink before the socket opens. */
export interface CapturedRequest {
  method: string;
  /** The URL, with user info and credential-like query parameters redacted. */
  url: string;
  /** Every header written on the wire (`host`, `content-length` and `connection` included), redacted. */
  headers: Record<string, string>;
  /** The exact body bytes. */
  body: Buffer;
  /** Wall-clock start, ISO 8601; every `atMs` is an offset from this moment. */
  startedAt: string;
}

/** The status line and headers, as soon as they arrive. */
export interface CapturedResponseStart {
  status: number;
  statusMessage: string;
  /** Lower-cased names; cookies and credential-like values redacted. */
  headers: Record<string, string>;
  atMs: number;
}

/** How the exchange ended. Reported exactly once per sent request. */
export interface CaptureEnd {
  atMs: number;
  /** True when the whole response body arrived; false for timeouts, resets, aborts and refusals mid-way. */
  complete: boolean;
  /** Body bytes received (and passed to `onChunk`). */
  bytesReceived: number;
  error?: SyndicateError;
}

/**
 * Where the verbatim bytes go (evidence), before anything parses them. Calls are in order:
 * onRequest, onResponseStart?, onChunk*, onEnd; all but onRequest are synchronous. If a sink
 * method throws (or onRequest's promise rejects), the call is aborted and the sink's error is
 * surfaced: nothing reaches the caller unrecorded.
 */
export interface CaptureSink {
  /**
   * The exact request, before the socket opens. A sink that makes the request durable
   * asynchronously (group commit) returns a promise: nothing is sent until it resolves.
   */
  onRequest(request: CapturedRequest): void | Promise<void>;
  onResponseStart(response: CapturedResponseStart): void;
  /** `atMs` is the offset from the request start at which these bytes arrived. */
  onChunk(bytes: Buffer, atMs: number): void;
  onEnd(end: CaptureEnd): void;
  /** The request is being sent once more on a new connection (the first one was reset unread). */
  onRetry?(reason: string): void;
}

/**
 * The most of one upstream response body received, streamed or read whole (a non-streamed answer,
 * an error answer): a broken or hostile upstream sending gigabytes, or a body that never ends (a
 * stream included, which the evidence records verbatim), fails the call past it instead of growing
 * the process and the store without bound. Generous: 2 048 embeddings of 3 072 dimensions as JSON
 * are about 125 MB.
 */
export const MAX_RESPONSE_BODY_BYTES = 256 * 1024 * 1024;

/** A bound as messages say it: `256 MiB`, or its bytes when it is no whole number of MiB. */
function bytesAsSaid(bytes: number): string {
  const mebibytes = bytes / (1024 * 1024);
  return Number.isInteger(mebibytes) ? `${mebibytes} MiB` : `${bytes} bytes`;
}

export interface SendInvocationOptions {
  /** Missing clocks take DEFAULT_TRANSPORT_TIMEOUTS. */
  timeouts?: Partial<TransportTimeouts>;
  /** The most of the body received before the call fails (default `MAX_RESPONSE_BODY_BYTES`). */
  maxBodyBytes?: number;
  /** Aborting ends the call (`interrupted`, or the signal's reason when it is a SyndicateError). */
  signal?: AbortSignal;
}

/** A response whose status and headers have arrived; the body streams. */
export interface TransportResponse {
  status: number;
  statusMessage: string;
  /** Lower-cased names, not redacted (this stays in process), repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Offset from the request start at which the headers arrived. */
  firstByteMs: number;
  /** When the request was handed to the socket (after the sink made it durable), on the `performance.now()` clock. */
  sentAt: number;
  /**
   * The body chunks as received (already passed to the sink). Read once. After the last
   * chunk received, a failed exchange throws its `UpstreamError` — `upstream_response_too_large`
   * once more than the call's `maxBodyBytes` arrived. Leaving the loop early cancels the call.
   */
  body: AsyncIterable<Buffer>;
  /** The whole body (throws like `body`). */
  readAll(): Promise<Buffer>;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
  /** Resolves (never rejects) once the exchange has ended, with what the sink was told. */
  done: Promise<CaptureEnd>;
  /** Stops the call now; the sink is told the capture is partial. */
  cancel(): void;
}

/**
 * Refuses (before any I/O) a request that does not go where the permit allows: the URL must
 * be under the base URL of the provider version the permit was verified for, and the body
 * must name the permitted model.
 */
function checkRequestAgainstPermit(permit: VerifiedPermit, request: WireHttpRequest): URL {
  const refuse = (message: string): PolicyRefusalError =>
    new PolicyRefusalError('permit_out_of_scope', `refusing to call upstream with permit ${permit.id}: ${message}`, {
      hint: 'issue and verify a permit for the provider and model the request actually targets',
      details: { permitId: permit.id },
    });
  if (permit.provider.providerClass === 'blocked') {
    throw new PolicyRefusalError('provider_blocked', `refusing to call ${permit.provider.id}: its class is blocked`, {
      hint: 'choose another provider; blocked providers are never called',
    });
  }
  let target: URL;
  let base: URL;
  let nativeInference: URL | undefined;
  try {
    target = new URL(request.url);
    base = new URL(permit.provider.baseUrl);
    nativeInference = permit.provider.nativeInferenceUrl === undefined ? undefined : new URL(permit.provider.nativeInferenceUrl);
  } catch {
    throw refuse(`"${redactUrl(request.url)}" is not a valid URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw refuse(`unsupported protocol ${target.protocol}`);
  const basePath = base.pathname.replace(/\/+$/, '');
  const underBase =
    target.protocol === base.protocol &&
    target.host === base.host &&
    (target.pathname === basePath || target.pathname.startsWith(`${basePath}/`));
  // The one endpoint outside the base URL an engine is called at (Ollama's native /api/generate): exactly that one.
  const atNativeInference = nativeInference !== undefined && target.origin === nativeInference.origin && target.pathname === nativeInference.pathname && target.search === '';
  if (!underBase && !atNativeInference) {
    const beside = nativeInference === undefined ? '' : ` and its engine's ${redactUrl(nativeInference.href)}`;
    throw refuse(
      `the request goes to ${redactUrl(request.url)}, outside ${permit.provider.id}@v${permit.provider.version}'s base URL ${redactUrl(permit.provider.baseUrl)}${beside}`,
    );
  }
  // Read from the bytes about to be sent, not from what the encoder was given. Every top-level
  // `model` member counts: engines differ on which duplicate wins.
  const models = topLevelMemberValues(request.body, 'model');
  if (models === undefined) throw refuse('the request body is not a JSON object, so the model it targets cannot be checked');
  if (models.length === 0) throw refuse('the request body names no model');
  for (const model of models) {
    if (typeof model !== 'string') throw refuse('the request body names no model');
    if (!permit.acceptedModelNames.includes(model)) {
      throw refuse(`the request targets model "${model}", the permit is for "${permit.model}"`);
    }
  }
  return target;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENETDOWN']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function isTlsFailure(code: string, message: string): boolean {
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/.test(code) || (code === 'EPROTO' && /SSL routines/.test(message));
}

/** OpenSSL's reason (`wrong version number`) from its error text, which never holds secrets. */
function tlsReason(message: string): string | undefined {
  return /SSL routines:[^:]*:([^:]+):/.exec(message)?.[1];
}

/** Everything one call needs to describe its failures without secrets. */
interface CallDescription {
  host: string;
  url: string;
}

/** The error code of a `local` provider's host name that resolved to an address off this host (see `loopbackOnlyLookup`). */
const NOT_LOOPBACK = 'ERR_SYNDICATE_NOT_LOOPBACK';

/**
 * The DNS lookup of a `local` provider's host name: registration proved the name resolved only to
 * loopback, but the name is resolved again for each connection, and an edited hosts file or a
 * DNS answer that changed since (a rebinding name) would send the request off this host while the
 * evidence says local. The connection fails (`NOT_LOOPBACK`) unless every address is loopback.
 */
function loopbackOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) {
      callback(error, '');
      return;
    }
    const outside = addresses.filter((entry) => !isLoopbackAddress(entry.address));
    const first = addresses[0];
    if (outside.length > 0 || first === undefined) {
      const failure: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${outside.map((entry) => entry.address).join(', ') || 'nothing'}, not only to loopback`);
      failure.code = NOT_LOOPBACK;
      callback(failure, '');
      return;
    }
    if (options.all === true) callback(null, addresses);
    else callback(null, first.address, first.family);
  });
}

function networkFailure(error: unknown, call: CallDescription, responded: boolean, bytesReceived: number, atMs: number): UpstreamError {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : 'unknown';
  const details = { url: call.url, errorCode: codeText, atMs, bytesReceived };
  if (codeText === NOT_LOOPBACK) {
    return new UpstreamError(`refusing to call ${call.host}: ${error instanceof Error ? error.message : 'not loopback'}, and its provider is class local (nothing was sent)`, {
      code: 'upstream_not_loopback',
      hint: "a local provider is called on this host only: fix the name's resolution (hosts file, DNS), or register the record with a loopback address (http://127.0.0.1:PORT) as its baseUrl",
      details,
    });
  }
  if (!responded && UNREACHABLE_CODES.has(codeText)) {
    const reason = codeText === 'ECONNREFUSED' ? 'connection refused' : codeText === 'ENOTFOUND' || codeText === 'EAI_AGAIN' ? 'the name does not resolve' : 'no route to the host';
    return new UpstreamError(`cannot reach ${call.host}: ${reason} (${codeText})`, {
      code: 'upstream_unreachable',
      hint: 'check that the engine or service is running and the base URL is right (`syndicate provider test ID`)',
      details,
    });
  }
  const errorMessage = error instanceof Error ? error.message : '';
  if (isTlsFailure(codeText, errorMessage)) {
    const reason = tlsReason(errorMessage);
    return new UpstreamError(`TLS with ${call.host} failed (${codeText}${reason === undefined ? '' : `: ${reason}`})`, {
      code: 'upstream_tls_failure',
      isRetryable: false,
      hint: 'check the base URL scheme and the host certificate; syndicate never disables certificate checks',
      details,
    });
  }
  const socketHangUp = error instanceof Error && /socket hang up|aborted/i.test(error.message);
  if (RESET_CODES.has(codeText) || socketHangUp) {
    return new UpstreamError(
      responded
        ? `${call.host} reset the connection in the middle of the response (${bytesReceived} bytes received)`
        : `${call.host} reset the connection before answering`,
      { code: 'upstream_reset', hint: 'the engine may have crashed or restarted; check its logs and retry', details },
    );
  }
  return new UpstreamError(`the call to ${call.host} failed (${codeText})`, {
    code: 'upstream_failure',
    hint: 'check that the engine or service is running and reachable',
    details,
  });
}

type Clock = keyof TransportTimeouts;

function timeoutFailure(clock: Clock, limitMs: number, call: CallDescription, bytesReceived: number, atMs: number): UpstreamError {
  const details = { url: call.url, timeoutMs: limitMs, atMs, bytesReceived };
  switch (clock) {
    case 'connectMs':
      return new UpstreamError(`no connection to ${call.host} within ${limitMs} ms`, {
        code: 'upstream_connect_timeout',
        hint: 'check that the host is reachable; raise the connect timeout only for a slow network',
        details,
      });
    case 'firstByteMs':
      return new UpstreamError(`${call.host} accepted the connection but sent no response within ${limitMs} ms`, {
        code: 'upstream_first_byte_timeout',
        hint: 'the engine is hung or overloaded, or its model was still loading (load it first: `syndicate engine load PROVIDER:MODEL`); the first-byte timeout is fixed at 120 s outside `provider test` and `provider capabilities` (their --timeout)',
        details,
      });
    case 'idleMs':
      return new UpstreamError(`${call.host} sent nothing for ${limitMs} ms in the middle of the response (${bytesReceived} bytes received)`, {
        code: 'upstream_idle_timeout',
        hint: 'the engine stalled; retry, or raise the idle timeout for very slow generation',
        details,
      });
    case 'totalMs':
      return new UpstreamError(`the call to ${call.host} took longer than ${limitMs} ms (${bytesReceived} bytes received)`, {
        code: 'upstream_total_timeout',
        hint: 'ask for fewer tokens, or raise the total timeout',
        details,
      });
  }
}

/** Read through a call: TypeScript would keep an earlier check's narrowing across an await. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function abortFailure(reason: unknown): SyndicateError {
  if (reason instanceof SyndicateError) return reason;
  return new InterruptedError('the invocation was aborted before the response ended', {
    hint: 'the capture so far is kept as partial evidence',
  });
}

/**
 * Bytes a response body holds unread before the upstream socket is paused: a caller that reads
 * slowly (a gateway client reading its stream slowly) holds the upstream back instead of the
 * process holding the whole answer in memory. Read again below half of it.
 */
const BODY_QUEUE_HIGH_WATER_BYTES = 256 * 1024;

/** Where a body queue says its reader fell behind (`pause`) and caught up again (`resume`). */
interface FlowControl {
  pause(): void;
  resume(): void;
}

/**
 * The body as a single-reader queue: chunks are captured as they arrive and read at the caller's
 * pace; past the high-water mark the upstream socket is paused until the reader catches up.
 */
class BodyQueue implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private queuedBytes = 0;
  private paused = false;
  private closed = false;
  private failure: SyndicateError | undefined;
  private waiting: { resolve: (result: IteratorResult<Buffer>) => void; reject: (error: unknown) => void } | undefined;
  private claimed = false;

  constructor(
    private readonly onAbandon: () => void,
    private readonly flow: FlowControl,
  ) {}

  push(chunk: Buffer): void {
    if (this.waiting !== undefined) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
    if (!this.paused && this.queuedBytes > BODY_QUEUE_HIGH_WATER_BYTES) {
      this.paused = true;
      this.flow.pause();
    }
  }

  private take(): Buffer | undefined {
    const chunk = this.chunks.shift();
    if (chunk === undefined) return undefined;
    this.queuedBytes -= chunk.length;
    if (this.paused && this.queuedBytes <= BODY_QUEUE_HIGH_WATER_BYTES / 2) {
      this.paused = false;
      if (!this.closed) this.flow.resume();
    }
    return chunk;
  }

  close(failure?: SyndicateError): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = failure;
    if (this.waiting !== undefined) {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (failure === undefined) waiting.resolve({ value: undefined, done: true });
      else waiting.reject(failure);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.claimed) throw new TypeError('the response body can be read only once');
    this.claimed = true;
    return {
      next: () => {
        const chunk = this.take();
        if (chunk !== undefined) return Promise.resolve({ value: chunk, done: false });
        if (this.closed) {
          return this.failure === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.failure);
        }
        return new Promise((resolve, reject) => {
          this.waiting = { resolve, reject };
        });
      },
      return: () => {
        if (!this.closed) this.onAbandon();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * Sends one inference request upstream — the only function in syndicate that does. It takes
 * a `VerifiedPermit` (spent by this call) and refuses requests outside the permit's provider
 * base URL or model. The sink receives the exact request bytes before the socket opens, then
 * the response status, every body chunk with its arrival offset, and how it ended.
 * Resolves when the response headers arrive (any status: the caller decides what a non-2xx
 * means); rejects with `UpstreamError` (codes `upstream_connect_timeout`,
 * `upstream_first_byte_timeout`, `upstream_unreachable`, `upstream_reset`, ...) before that.
 */
export async function sendInvocation(
  permit: VerifiedPermit,
  request: WireHttpRequest,
  capture: CaptureSink,
  options: SendInvocationOptions = {},
): Promise<TransportResponse> {
  if (!isVerifiedPermit(permit)) spendVerifiedPermit(permit); // throws permit_forged
  const target = checkRequestAgainstPermit(permit, request);
  const signal = options.signal;
  if (signal?.aborted === true) throw abortFailure(signal.reason);
  spendVerifiedPermit(permit);

  const timeouts: TransportTimeouts = { ...DEFAULT_TRANSPORT_TIMEOUTS, ...options.timeouts };
  const maxBodyBytes = options.maxBodyBytes ?? MAX_RESPONSE_BODY_BYTES;
  const call: CallDescription = { host: target.host, url: redactUrl(request.url) };
  const body = Buffer.from(request.body, 'utf8');
  const headers: Record<string, string> = { host: target.host };
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding') continue;
    headers[lower] = value;
  }
  if (request.method !== 'GET' || body.length > 0) headers['content-length'] = String(body.length);
  headers.connection = 'keep-alive';

  const startedAtClock = performance.now();
  const at = (): number => elapsedMs(startedAtClock);

  const recorded = capture.onRequest({
    method: request.method,
    url: call.url,
    headers: redactRequestHeaders(headers),
    body: Buffer.from(body),
    startedAt: new Date().toISOString(),
  });
  if (recorded !== undefined) {
    // Durable before any byte leaves; a caller that gave up meanwhile gets nothing sent.
    await recorded;
    if (isAborted(signal)) throw abortFailure(signal?.reason);
  }
  let sentAt = performance.now();

  return new Promise<TransportResponse>((resolve, reject) => {
    let finished = false;
    let responded = false;
    let bytesReceived = 0;
    let resolveDone: (end: CaptureEnd) => void = () => {};
    const done = new Promise<CaptureEnd>((resolveEnd) => {
      resolveDone = resolveEnd;
    });
    // A clock that ran out is acted on after the bytes waiting in the socket are read: one they
    // moved, or stopped, has not run out after all (`IoAwareTimeout`).
    const timers = new Map<Clock, IoAwareTimeout>();
    let clientRequest: ClientRequest | undefined;
    let incoming: IncomingMessage | undefined;

    const startClock = (clock: Clock): void => {
      const running = timers.get(clock);
      // The idle clock restarts on every chunk of a stream: moving the running timer allocates nothing.
      if (running !== undefined) {
        running.refresh();
        return;
      }
      timers.set(
        clock,
        new IoAwareTimeout(timeouts[clock], () => {
          if (!finished) finish(timeoutFailure(clock, timeouts[clock], call, bytesReceived, at()));
        }),
      );
    };
    const stopClock = (clock: Clock): void => {
      timers.get(clock)?.clear();
      timers.delete(clock);
    };

    const queue = new BodyQueue(
      () => finish(new InterruptedError('the caller stopped reading the response before it ended', { hint: 'the capture so far is kept as partial evidence' })),
      {
        // The upstream is not idle while its reader holds it back: the idle clock waits too.
        pause: () => {
          incoming?.pause();
          stopClock('idleMs');
        },
        resume: () => {
          if (finished) return;
          startClock('idleMs');
          incoming?.resume();
        },
      },
    );

    const onAbort = (): void => finish(abortFailure(signal?.reason));

    function finish(failure?: SyndicateError): void {
      if (finished) return;
      finished = true;
      for (const clock of [...timers.keys()]) stopClock(clock);
      signal?.removeEventListener('abort', onAbort);
      const end: CaptureEnd = { atMs: at(), complete: failure === undefined, bytesReceived, ...(failure === undefined ? {} : { error: failure }) };
      let surfaced = failure;
      try {
        capture.onEnd(end);
      } catch (error) {
        surfaced ??= toSyndicateError(error);
      }
      if (failure !== undefined) {
        incoming?.destroy();
        clientRequest?.destroy();
      }
      if (!responded) reject(surfaced ?? new UpstreamError(`${call.host} closed the connection without a response`, { code: 'upstream_reset' }));
      else queue.close(surfaced);
      resolveDone(end);
    }

    const onConnected = (): void => {
      if (finished) return;
      stopClock('connectMs');
      startClock('firstByteMs');
    };

    startClock('totalMs');
    startClock('connectMs');
    signal?.addEventListener('abort', onAbort, { once: true });

    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = target.protocol === 'https:' ? HTTPS_AGENT : HTTP_AGENT;
    // A local provider's host name must still resolve to this host only (a literal was checked by the router).
    const loopbackOnly = permit.provider.providerClass === 'local' && isIP(target.hostname.replace(/^\[|\]$/g, '')) === 0;
    // A kept-alive socket the server closed while it sat in the pool fails the next request
    // with a reset before any response byte. Real servers do this: llama.cpp's llama-server
    // closes the connection after every streamed response while still announcing keep-alive,
    // and a hosted API's load balancer closes idle connections on its own clock. Such a request
    // is sent once more on a fresh connection, with the same permit (it is one invocation),
    // marked `retried` in evidence — what Node's documentation prescribes for `reusedSocket`,
    // and less than the vendors' SDKs do (they resend on any connection error). Only once, and
    // only from a pooled socket: a reset on a fresh connection is reported, and the pipeline's
    // fallback rules decide.
    const dispatch = (isRetry: boolean): ClientRequest => {
      const sent = send(target, { method: request.method, headers, agent: isRetry ? false : agent, ...(loopbackOnly ? { lookup: loopbackOnlyLookup } : {}) });
      sent.on('error', (error: NodeJS.ErrnoException) => {
        const staleSocket = sent.reusedSocket && RESET_CODES.has(error.code ?? '');
        if (!isRetry && !responded && !finished && staleSocket) {
          capture.onRetry?.(`${error.code ?? 'reset'} on a reused connection before any response byte; sent again on a new connection`);
          sentAt = performance.now();
          clientRequest = dispatchOrFail(true);
          return;
        }
        finish(networkFailure(error, call, responded, bytesReceived, at()));
      });
      sent.on('socket', (socket: Socket) => {
        // A kept-alive socket is already connected (and its TLS session established).
        if (socket.connecting) socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', onConnected);
        else onConnected();
      });
      sent.on('response', onResponse);
      sent.end(body);
      return sent;
    };
    const dispatchOrFail = (isRetry: boolean): ClientRequest | undefined => {
      try {
        return dispatch(isRetry);
      } catch (error) {
        finish(
          new SyndicateError('transport_invalid_request', ExitCode.internal, `cannot build the request to ${call.host}: ${(error as Error).message}`, {
            hint: 'this is a bug in the wire adapter that built the request; please report it',
          }),
        );
        return undefined;
      }
    };
    function onResponse(response: IncomingMessage): void {
      if (finished) {
        response.destroy();
        return;
      }
      incoming = response;
      stopClock('connectMs');
      stopClock('firstByteMs');
      const firstByteMs = at();
      const status = response.statusCode ?? 0;
      const statusMessage = response.statusMessage ?? '';
      const receivedHeaders = flattenHeaders(response.headers);
      try {
        capture.onResponseStart({ status, statusMessage, headers: redactResponseHeaders(receivedHeaders), atMs: firstByteMs });
      } catch (error) {
        finish(toSyndicateError(error));
        return;
      }
      responded = true;
      startClock('idleMs');
      response.on('data', (chunk: Buffer) => {
        if (finished) return;
        const atMs = at();
        startClock('idleMs');
        bytesReceived += chunk.length;
        try {
          capture.onChunk(chunk, atMs);
        } catch (error) {
          finish(toSyndicateError(error));
          return;
        }
        // Past the bound the call stops: the chunk that crossed it is in the evidence, not handed on.
        if (bytesReceived > maxBodyBytes) {
          finish(
            new UpstreamError(`${call.host} sent a response body of more than ${bytesAsSaid(maxBodyBytes)}, the most syndicate receives of one answer; the call was stopped there`, {
              code: 'upstream_response_too_large',
              status,
              // As a malformed answer: not retried elsewhere, where the same request could draw as much again.
              isRetryable: false,
              hint: 'the upstream is broken or not the engine its provider record names; what it sent up to the limit is in the evidence',
              details: { url: call.url, limitBytes: maxBodyBytes, bytesReceived, atMs },
            }),
          );
          return;
        }
        queue.push(chunk);
      });
      response.on('end', () => {
        if (response.complete) finish();
        else finish(networkFailure(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), call, true, bytesReceived, at()));
      });
      response.on('error', (error) => finish(networkFailure(error, call, true, bytesReceived, at())));
      response.on('close', () => {
        if (!finished) finish(networkFailure(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), call, true, bytesReceived, at()));
      });
      const readAll = async (): Promise<Buffer> => {
        const parts: Buffer[] = [];
        for await (const chunk of queue) parts.push(chunk);
        return Buffer.concat(parts);
      };
      resolve({
        status,
        statusMessage,
        headers: receivedHeaders,
        firstByteMs,
        sentAt,
        body: queue,
        readAll,
        text: async () => (await readAll()).toString('utf8'),
        done,
        cancel: () =>
          finish(new InterruptedError('the call was cancelled before the response ended', { hint: 'the capture so far is kept as partial evidence' })),
      });
    }
    clientRequest = dispatchOrFail(false);
  });
}
