import { EngineOperationError, InvalidInputError, NoProvidersError, PolicyRefusalError, SessionChainBrokenError, StoreError, SyndicateError, UnknownModelError, UpstreamError, UsageError } from '../errors.js';

/** What went wrong for a gateway client, independent of the API family it speaks. */
export type ClientErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_too_large'
  | 'rate_limit'
  | 'internal'
  | 'upstream'
  | 'unavailable'
  | 'timeout';

/** An error to report to a gateway client; rendered by each family's `render…Error`. */
export interface ClientError {
  kind: ClientErrorKind;
  message: string;
  /** Stable machine code, e.g. syndicate's error code (`route_denied`). */
  code?: string;
  /** The request field at fault, e.g. `messages[0].role` (OpenAI's `param`). */
  param?: string;
  /** Sent as `Retry-After` (whole seconds, rounded up). */
  retryAfterSeconds?: number;
  /**
   * False when sending the same request again cannot help (a key unset, a provider refusing the
   * key): sent as `x-should-retry: false`, which the official OpenAI and Anthropic SDKs obey
   * instead of retrying a 5xx twice with back-off.
   */
  shouldRetry?: false;
}

/** The HTTP status of each kind; the same for both API families. */
export const CLIENT_ERROR_STATUS: Record<ClientErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_too_large: 413,
  rate_limit: 429,
  internal: 500,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
};

/**
 * The router's refusals that a field of the request is the cause of (`details.param` names it):
 * too long for every model, a setting every model it may use refuses, or an image URL its level
 * keeps from the network — 400s, not 403s.
 */
const REQUEST_FIELD_REFUSALS: ReadonlySet<string> = new Set(['context_length_exceeded', 'tool_choice_unsupported', 'thinking_unsupported', 'reasoning_effort_unsupported', 'tools_not_supported', 'empty_content', 'no_messages', 'image_url_unsupported', 'remote_media_url']);

/** Upstream statuses that refuse the request itself, not the service: 400, 413, 422. */
export const REQUEST_REFUSED_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/**
 * Classifies anything thrown by the pipeline: invalid input and a prompt (or an embeddings input)
 * too long for every model or for the engine 400, an unknown model 404, policy refusal 403, nothing registered 503 (not to retry),
 * upstream failures 502/503/504, a store another process holds (busy) 503, anything else 500 with a generic message (no internals leak).
 */
export function clientErrorFor(error: unknown): ClientError {
  if (error instanceof InvalidInputError) {
    const problem = error.problems[0];
    const param = problem === undefined || problem.pointer === '' ? undefined : pointerToParam(problem.pointer);
    // The hint is the fix (Codex's hosted web search: turn it off in config.toml); a client shows the message alone.
    return { kind: 'invalid_request', message: withHint(error), code: error.code, ...(param === undefined ? {} : { param }) };
  }
  if (error instanceof UnknownModelError) {
    return { kind: 'not_found', message: withHint(error), code: error.code, param: 'model' };
  }
  // Nothing registered behind the gateway: the operator's to fix, not the request's (a 4xx) nor
  // an outage that passes (the SDKs would retry a 503 twice, hence `x-should-retry: false`).
  if (error instanceof NoProvidersError) return { kind: 'unavailable', message: withHint(error), code: error.code, shouldRetry: false };
  // A model named of the other kind (a chat model for embeddings): the hint names those of the right kind.
  if (error instanceof UsageError) {
    const param = error.details?.['param'];
    return { kind: 'invalid_request', message: withHint(error), code: error.code, ...(typeof param === 'string' ? { param } : {}) };
  }
  // A load or unload the engine cannot do (a single-model server's unload): asked of the wrong engine, and the hint says what does it.
  if (error instanceof EngineOperationError) {
    return { kind: 'invalid_request', message: error.hint === undefined ? error.message : `${error.message} (${error.hint})`, code: error.code };
  }
  // Too long for every model the router may use, or for the engine that refused it: the same 400,
  // naming the field to shorten (`messages`, an embeddings request's `input`). A setting every
  // model it may use refuses (a forced tool, thinking turned off): a 400 naming that field.
  if ((error instanceof PolicyRefusalError && REQUEST_FIELD_REFUSALS.has(error.code)) || (error instanceof UpstreamError && error.condition === 'input_too_long')) {
    const param = error.details?.['param'];
    return { kind: 'invalid_request', message: withHint(error), code: error.code, param: typeof param === 'string' ? param : 'messages' };
  }
  // A session whose stored chain is broken is refused as its envelope would be: nothing was sent.
  if (error instanceof PolicyRefusalError || error instanceof SessionChainBrokenError) {
    return { kind: 'permission', message: withHint(error), code: error.code };
  }
  // The engine takes no tools (llama-server's 500 without --jinja): a 400 about `tools`, as Ollama answers it, not an outage to retry.
  if (error instanceof UpstreamError && error.condition === 'tools_not_supported') {
    return { kind: 'invalid_request', message: withHint(error), code: error.code, param: 'tools' };
  }
  // The engine takes no images (llama-server's 500 without --mmproj): a 400 about the messages that carry them.
  if (error instanceof UpstreamError && error.condition === 'images_not_supported') {
    return { kind: 'invalid_request', message: withHint(error), code: error.code, param: 'messages' };
  }
  if (error instanceof UpstreamError) {
    if (error.code === 'rate_limited') {
      return { kind: 'rate_limit', message: error.message, code: error.code, ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }) };
    }
    // The provider refused this request's content (a bad thinking signature, a field it rejects): the
    // client's to fix, not a gateway failure to retry.
    if (!error.isRetryable && error.status !== undefined && REQUEST_REFUSED_STATUSES.has(error.status)) {
      return { kind: 'invalid_request', message: error.message, code: error.code };
    }
    // Every call of the request ran out of time (`inference_unavailable` with condition `timed_out`): a 504, as an upstream's own.
    const timedOut = error.status === 408 || error.status === 504 || /timeout|timed_out/.test(error.code) || error.condition === 'timed_out';
    // No candidate could be called (503), even when calling again cannot help (`shouldRetry` says so).
    const kind: ClientErrorKind = timedOut ? 'timeout' : error.isRetryable || error.code === 'inference_unavailable' ? 'unavailable' : 'upstream';
    // Every candidate down or failing: what to do about it depends on why (start the engine, read its log, wait).
    const message = error.code === 'inference_unavailable' ? withHint(error) : error.message;
    // Every candidate held out for a known time: clients retrying sooner (the SDKs back off under a second) would find none.
    // A 504 too: every call timed out, and the engine that hung is held for as long as it made them wait.
    const wait = (kind === 'unavailable' || kind === 'timeout') && error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {};
    return { kind, message, code: error.code, ...wait, ...(error.isRetryable ? {} : { shouldRetry: false as const }) };
  }
  // Another process held the store's write lock past the busy timeout (a long prune batch, a backup
  // tool): nothing was sent, and the same request a moment later goes through — a 503 to retry, as
  // `run` exits 6 with the hint to retry, not a 500 with SQLite's words alone.
  if (error instanceof StoreError && error.reason === 'busy') {
    return { kind: 'unavailable', message: withHint(error), code: error.code, retryAfterSeconds: 1 };
  }
  if (error instanceof SyndicateError && error.code !== 'internal') {
    return { kind: 'internal', message: error.message, code: error.code };
  }
  return { kind: 'internal', message: 'internal error in the syndicate gateway', code: 'internal' };
}

/** The message with the hint after it in parentheses, when the error has one. */
function withHint(error: SyndicateError): string {
  return error.hint === undefined ? error.message : `${error.message} (${error.hint})`;
}

/** `/messages/0/role` → `messages[0].role`. */
export function pointerToParam(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path === '' ? segment : `${path}.${segment}`), '');
}
