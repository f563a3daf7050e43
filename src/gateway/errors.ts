import { ExitCode, SyndicateError } from '../errors.js';
import { commandsForHome, type HomePaths } from '../home/home.js';
import { renderAnthropicError } from '../wire/anthropic/server.js';
import { clientErrorFor, type ClientError, type ClientErrorKind } from '../wire/client-errors.js';
import { renderOllamaError } from '../wire/ollama/server.js';
import { renderOpenAIError } from '../wire/openai/server.js';

/** The API family a route speaks, which decides the error envelope a client gets. */
export type ApiFamily = 'openai' | 'anthropic' | 'ollama';

/**
 * The family a request speaks: `/v1/messages…` Anthropic's, `/v1/chat/completions`,
 * `/v1/completions`, `/v1/embeddings` and `/v1/responses…` OpenAI's, `/api/…` Ollama's (`{"error": "..."}`). Routes both SDKs call (`/v1/models…`, and any path the gateway does
 * not serve) answer in Anthropic's shape when the client sent `anthropic-version`, as the Anthropic
 * SDKs always do and the OpenAI SDKs never do; else in OpenAI's.
 */
export function apiFamilyOf(path: string, header: (name: string) => string | undefined): ApiFamily {
  if (path.startsWith('/v1/messages')) return 'anthropic';
  if (path.startsWith('/api/')) return 'ollama';
  if (path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings' || path.startsWith('/v1/responses')) return 'openai';
  return header('anthropic-version') !== undefined ? 'anthropic' : 'openai';
}

/**
 * An HTTP-level refusal by the gateway itself (401, 404, 405, 413, a bad hint header): the
 * request never reached the pipeline. `headers` are added to the error response (`Allow`,
 * `WWW-Authenticate`).
 */
export class GatewayRequestError extends SyndicateError {
  readonly clientError: ClientError;
  readonly headers: Record<string, string>;

  constructor(kind: ClientErrorKind, message: string, options: { code: string; param?: string; headers?: Record<string, string> }) {
    super(options.code, ExitCode.usage, message);
    this.clientError = { kind, message, code: options.code, ...(options.param === undefined ? {} : { param: options.param }) };
    this.headers = options.headers ?? {};
  }
}

/**
 * 413: the request body exceeds `limit` bytes (found while reading it, or from its Content-Length),
 * with what to do for the route at `path`: an embeddings request's documents are split over several
 * requests, a text completion's prompt is shortened; a conversation sheds images, files or turns.
 */
export function bodyTooLarge(limit: number, path: string): GatewayRequestError {
  return new GatewayRequestError('request_too_large', `the request body exceeds the gateway's limit of ${limit} bytes: ${smallerBodyAdvice(path)}`, { code: 'body_too_large' });
}

function smallerBodyAdvice(path: string): string {
  if (path === '/v1/embeddings' || path === '/api/embed') return 'split the inputs over several requests, or cut the longest into smaller chunks';
  if (path === '/api/embeddings') return 'cut the prompt into smaller chunks and embed each';
  if (path === '/v1/completions' || path === '/api/generate') return 'shorten the prompt (and suffix): send less of the file or document';
  return 'send fewer or smaller images and files, or leave the oldest turns out of the conversation';
}

/** 403 for a request whose `Host` (`HostCheck.allowsHost`) the gateway does not answer to: a page that reached it by DNS rebinding. */
export function hostNotAllowed(host: string): GatewayRequestError {
  return new GatewayRequestError(
    'permission',
    `the gateway does not answer to the host "${host.slice(0, 100)}" (Host is checked against DNS rebinding); call it by its address, localhost or [::1], or let a reverse proxy's name in with \`syndicate serve --allow-host NAME\``,
    { code: 'host_not_allowed' },
  );
}

/** 503 for a request that came after the drain began: the client should go to the next instance. */
export function shuttingDown(): GatewayRequestError {
  return new GatewayRequestError('unavailable', 'the gateway is shutting down; retry against the next instance', {
    code: 'shutting_down',
    headers: { connection: 'close' },
  });
}

/** 400 for a request header the gateway reads whose value is malformed, naming the header. */
export function invalidHeader(name: string, message: string): GatewayRequestError {
  return new GatewayRequestError('invalid_request', `header ${name} ${message}`, { code: 'invalid_header', param: name });
}

/**
 * The client-facing classification of anything a handler threw; with the gateway's `home`, the
 * `syndicate …` commands its message quotes (the hint ends it) work as typed for that home.
 */
export function clientErrorOf(error: unknown, home?: HomePaths): ClientError {
  const clientError = error instanceof GatewayRequestError ? error.clientError : clientErrorFor(error);
  return home === undefined ? clientError : { ...clientError, message: commandsForHome(clientError.message, home) };
}

/**
 * The ONE place an error becomes a response: typed errors map to 400/401/403/404/405/413/429/
 * 502/503/504 in the envelope of the route's API family (429 with `Retry-After` when the
 * providers gave one); anything untyped is a 500 whose body reveals nothing internal.
 */
export function errorReply(error: unknown, family: ApiFamily, home?: HomePaths): { status: number; headers: Record<string, string>; body: string } {
  const clientError = clientErrorOf(error, home);
  const rendered = family === 'anthropic' ? renderAnthropicError(clientError) : family === 'ollama' ? renderOllamaError(clientError) : renderOpenAIError(clientError);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (error instanceof GatewayRequestError) Object.assign(headers, error.headers);
  const requestId = error instanceof SyndicateError ? error.details?.['requestId'] : undefined;
  if (typeof requestId === 'string') Object.assign(headers, requestIdHeaders(requestId));
  // The row that recorded the refusal or failure (the last attempt's), under the header an answer names its own in.
  const evidenceId = error instanceof SyndicateError ? error.details?.['evidenceId'] : undefined;
  if (typeof evidenceId === 'string') headers['x-syndicate-evidence'] = evidenceId;
  if (clientError.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.ceil(clientError.retryAfterSeconds));
  if (clientError.shouldRetry === false) headers['x-should-retry'] = 'false';
  return { status: rendered.status, headers, body: rendered.body };
}

/**
 * The request id under the names the SDKs read it from: `x-request-id` (openai-node's
 * `_request_id` and `APIError.requestID`) and `request-id` (@anthropic-ai/sdk's), so what an
 * agent logs is the id `syndicate evidence` finds (`x-syndicate-request` carries the same).
 */
export function requestIdHeaders(requestId: string): Record<string, string> {
  return { 'x-request-id': requestId, 'request-id': requestId };
}

/** `errorReply` as a web Response. */
export function errorResponse(error: unknown, family: ApiFamily): Response {
  const reply = errorReply(error, family);
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}
