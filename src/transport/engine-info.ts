import { checkLoopbackUrl } from '../common/loopback.js';
import { UpstreamError, UsageError } from '../errors.js';

export interface EngineInfoOptions {
  method?: 'GET' | 'POST';
  /** JSON body for POST (e.g. Ollama `/api/show`). Metadata only: never prompt data. */
  body?: Record<string, unknown>;
  timeoutMs?: number;
}

/**
 * Reads metadata (model lists, context sizes, resident models) from a *local* engine.
 * It carries no prompt data and refuses any host that is not loopback, which is why it
 * needs no permit; every inference call goes through the permit-gated transport instead.
 */
export async function fetchEngineJson(url: string, options: EngineInfoOptions = {}): Promise<unknown> {
  const verdict = await checkLoopbackUrl(url);
  if (!verdict.loopback) {
    throw new UsageError(`refusing to query engine metadata at ${url}: ${verdict.reason}`, {
      hint: 'engine discovery and health checks only talk to engines on this host',
    });
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const reason = describeFetchFailure(error, timeoutMs);
    throw new UpstreamError(`${url} is unreachable: ${reason}`, { code: 'engine_unreachable', cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new UpstreamError(`${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`, {
      status: response.status,
      code: 'engine_error',
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamError(`${url} did not return JSON: ${text.slice(0, 200)}`, { code: 'engine_bad_response', isRetryable: false });
  }
}

function describeFetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== undefined) return cause.code === 'ECONNREFUSED' ? 'connection refused (is the engine running?)' : cause.code;
    return error.message;
  }
  return String(error);
}
