import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkLoopbackUrl } from '../common/loopback.js';
import { UpstreamError, UsageError } from '../errors.js';
import { IoAwareTimeout } from './io-aware-timeout.js';

export interface EngineInfoOptions {
  method?: 'GET' | 'POST';
  /** JSON body for POST (e.g. Ollama `/api/show`). Metadata only: never prompt data. */
  body?: Record<string, unknown>;
  timeoutMs?: number;
  /** The record's credential (`engineCredentialHeaders`), for an engine started with an API key (`llama-server --api-key`, `vllm serve --api-key`). */
  headers?: Record<string, string>;
}

/** An engine's answer to a metadata or control request: its status and body text, whatever the status. */
export interface EngineAnswer {
  status: number;
  text: string;
  /** Its `content-type` header, when it sent one (a web page on the engine's port: `text/html`). */
  contentType?: string;
}

/**
 * Sends one metadata or control request (model lists, resident models, load and unload) to a
 * *local* engine. It carries no prompt data and refuses any host that is not loopback, which is
 * why it needs no permit; every inference call goes through the permit-gated transport instead.
 * Throws only when nothing answered; any HTTP status is returned.
 */
export async function engineRequest(url: string, options: EngineInfoOptions = {}): Promise<EngineAnswer> {
  const verdict = await checkLoopbackUrl(url);
  if (!verdict.loopback) {
    throw new UsageError(`refusing to query engine metadata at ${url}: ${verdict.reason}`, {
      hint: 'engine discovery, health checks and engine control only talk to engines on this host',
    });
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  // An answer waiting in the socket when the time ran out is read first, as the transport's clocks
  // read theirs (`IoAwareTimeout`); only a request still unanswered then is aborted.
  const controller = new AbortController();
  const timeout = new IoAwareTimeout(timeoutMs, () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).unref();
  try {
    const response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: { accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: controller.signal,
    });
    const contentType = response.headers.get('content-type');
    const text = await response.text();
    return { status: response.status, text, ...(contentType === null ? {} : { contentType }) };
  } catch (error) {
    const reason = describeFetchFailure(error, timeoutMs);
    throw new UpstreamError(`${url} is unreachable: ${reason}`, { code: 'engine_unreachable', cause: error });
  } finally {
    timeout.clear();
  }
}

/** Reads JSON metadata from a local engine (see `engineRequest`); a non-2xx status or a body that is not JSON throws. */
export async function fetchEngineJson(url: string, options: EngineInfoOptions = {}): Promise<unknown> {
  const answer = await engineRequest(url, options);
  return engineJson(url, answer);
}

/** What an engine's answer that `engineJson` refused carries in its error's `details`: what answered, as the caller may describe it. */
export interface EngineAnswerDetails {
  url: string;
  status: number;
  contentType?: string;
}

/**
 * The JSON body of a 2xx answer; anything else throws an `UpstreamError` quoting the engine, with
 * the status and content type in its details (`EngineAnswerDetails`).
 */
export function engineJson(url: string, answer: EngineAnswer): unknown {
  const details: EngineAnswerDetails = { url, status: answer.status, ...(answer.contentType === undefined ? {} : { contentType: answer.contentType }) };
  if (answer.status < 200 || answer.status > 299) {
    throw new UpstreamError(`${url} answered HTTP ${answer.status}: ${answer.text.slice(0, 200)}`, {
      status: answer.status,
      code: 'engine_error',
      details: { ...details },
    });
  }
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    throw new UpstreamError(`${url} did not return JSON: ${answer.text.slice(0, 200)}`, { code: 'engine_bad_response', isRetryable: false, details: { ...details } });
  }
}

/**
 * One `engineRequest` to a throwaway server on 127.0.0.1, so that the first health probe of a
 * long-running surface does not load the HTTP client: Node loads `fetch` (undici and its llhttp
 * WebAssembly parser) on first use, 20–30 ms on an idle 2-core VM and several times that under load.
 */
export async function warmEngineRequests(): Promise<void> {
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    await fetchEngineJson(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/models`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Whether `error` is `engineRequest`'s for an engine that sent no answer within its timeout (it may be busy, not gone). */
export function noAnswerInTime(error: unknown): boolean {
  return error instanceof UpstreamError && error.code === 'engine_unreachable' && isTimeout(error.cause);
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function describeFetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (isTimeout(error)) return `no answer within ${timeoutMs} ms`;
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== undefined) return cause.code === 'ECONNREFUSED' ? 'connection refused (is the engine running?)' : cause.code;
    return error.message;
  }
  return String(error);
}
