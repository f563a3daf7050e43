import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
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
 * Throws only when nothing answered; any HTTP status is returned (a redirect too: it is not followed).
 *
 * On node:http, not `fetch`: Node 20's `fetch` is undici, which a process loads on its first call
 * (~13 MB resident for good, ~60 ms) and whose llhttp WebAssembly V8 then recompiles in the
 * background (~30 MB more for a moment): the gateway's health probes made that its peak RSS
 * (bench/RESULTS.md, twenty-sixth session). The transport already speaks node:http.
 */
export async function engineRequest(url: string, options: EngineInfoOptions = {}): Promise<EngineAnswer> {
  const verdict = await checkLoopbackUrl(url);
  if (!verdict.loopback) {
    throw new UsageError(`refusing to query engine metadata at ${url}: ${verdict.reason}`, {
      hint: 'engine discovery, health checks and engine control only talk to engines on this host',
    });
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
    ...options.headers,
  };
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : undefined;
  if (send === undefined) throw new UpstreamError(`${url} is unreachable: ${target.protocol} is not http: or https:`, { code: 'engine_unreachable' });
  return new Promise<EngineAnswer>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      timeout.clear();
      outcome();
    };
    const fail = (error: unknown): void =>
      settle(() => reject(new UpstreamError(`${url} is unreachable: ${describeRequestFailure(error, timeoutMs)}`, { code: 'engine_unreachable', cause: error })));
    // A connection of its own (no keep-alive): a probe every few seconds never meets a socket the
    // engine closed while it sat idle in a pool.
    const request = send(target, { method: options.method ?? 'GET', headers, agent: false });
    // An answer waiting in the socket when the time ran out is read first, as the transport's clocks
    // read theirs (`IoAwareTimeout`); only a request still unanswered then is aborted.
    const timeout = new IoAwareTimeout(timeoutMs, () => {
      const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      fail(reason);
      request.destroy(reason);
    }).unref();
    request.on('error', fail);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      const decoded = decodedBody(response);
      decoded.on('data', (chunk: Buffer) => chunks.push(chunk));
      decoded.on('error', fail);
      // Ended before its end: the engine closed the connection mid-answer.
      response.on('close', () => {
        if (!response.complete) fail(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' }));
      });
      decoded.on('end', () => {
        const contentType = response.headers['content-type'];
        // As `Response.text()` reads it: UTF-8, a byte order mark dropped, bad sequences replaced.
        const text = new TextDecoder().decode(Buffer.concat(chunks));
        settle(() => resolve({ status: response.statusCode ?? 0, text, ...(contentType === undefined ? {} : { contentType }) }));
      });
    });
    request.end(body);
  });
}

/** A response's body as sent before any `content-encoding` the engine applied (what `fetch` undid). */
function decodedBody(response: IncomingMessage): Readable {
  const encoding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  if (decoder === undefined) return response;
  response.on('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
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
 * long-running surface runs warm code: the loopback check, node:http's client and its parser, the
 * answer's reading. (When it was `fetch`, its first call loaded undici: 20–30 ms on an idle 2-core VM
 * and several times that under load.)
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

function describeRequestFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (isTimeout(error)) return `no answer within ${timeoutMs} ms`;
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined) return code === 'ECONNREFUSED' ? 'connection refused (is the engine running?)' : code;
    return error.message;
  }
  return String(error);
}
