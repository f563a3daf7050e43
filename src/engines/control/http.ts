import { formatDuration } from '../../common/duration.js';
import { EngineOperationError, UpstreamError } from '../../errors.js';
import { engineJson, engineRequest, type EngineAnswer, type EngineInfoOptions } from '../../transport/engine-info.js';

import { engineRoot } from '../../common/engine-root.js';

export { engineRoot };

/** Requests to one engine, with the record's credential headers on each (see `EngineInfoOptions.headers`). */
export interface EngineClient {
  /** The engine's root URL (`engineRoot`). */
  root: string;
  /**
   * Sends a request to the engine; throws only when nothing answered (see `engineRequest`). Headers
   * in `options` are sent beside the record's; for a name both set (in any case) the record's is
   * sent, so a caller's header can never drop or replace the record's credential.
   */
  ask(url: string, options?: EngineInfoOptions): Promise<EngineAnswer>;
  /** The JSON of a 2xx answer to `url`. */
  askJson(url: string, options?: EngineInfoOptions): Promise<unknown>;
  /** The model ids of its OpenAI-style `GET /v1/models` answer (`{data: [{id}]}`). */
  servedModels(): Promise<string[]>;
}

export function engineClient(baseUrl: string, headers: Record<string, string> = {}): EngineClient {
  const root = engineRoot(baseUrl);
  const ask = (url: string, options: EngineInfoOptions = {}): Promise<EngineAnswer> => engineRequest(url, { ...options, headers: withRecordHeaders(options.headers, headers) });
  const askJson = async (url: string, options: EngineInfoOptions = {}): Promise<unknown> => engineJson(url, await ask(url, options));
  return {
    root,
    ask,
    askJson,
    async servedModels(): Promise<string[]> {
      return arrayMember(await askJson(`${root}/v1/models`), 'data')
        .map((entry) => stringMember(entry, 'id'))
        .filter((id): id is string => id !== undefined);
    },
  };
}

/**
 * A request's headers and the record's (its credential), the record's winning for a name both set
 * whatever its case: HTTP header names are case-insensitive, and fetch would join the values of
 * `Authorization` and `authorization` into one that the engine refuses.
 */
export function withRecordHeaders(requestHeaders: Readonly<Record<string, string>> | undefined, recordHeaders: Readonly<Record<string, string>>): Record<string, string> {
  if (requestHeaders === undefined) return { ...recordHeaders };
  const recordNames = new Set(Object.keys(recordHeaders).map((name) => name.toLowerCase()));
  const kept = Object.entries(requestHeaders).filter(([name]) => !recordNames.has(name.toLowerCase()));
  return { ...Object.fromEntries(kept), ...recordHeaders };
}

/** A JSON object's member, or undefined when the value is not an object. */
export function member(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

export function stringMember(value: unknown, key: string): string | undefined {
  const found = member(value, key);
  return typeof found === 'string' ? found : undefined;
}

export function numberMember(value: unknown, key: string): number | undefined {
  const found = member(value, key);
  return typeof found === 'number' && Number.isFinite(found) ? found : undefined;
}

export function arrayMember(value: unknown, key: string): unknown[] {
  const found = member(value, key);
  return Array.isArray(found) ? found : [];
}

/** The engine's error message from a JSON error body (`{error: "..."}` or `{error: {message}}`), else the text itself. */
export function engineMessage(answer: EngineAnswer): string {
  try {
    const body = JSON.parse(answer.text) as unknown;
    const error = member(body, 'error');
    if (typeof error === 'string') return error;
    const message = stringMember(error, 'message') ?? stringMember(body, 'message') ?? stringMember(body, 'detail');
    if (message !== undefined) return message;
  } catch {
    // not JSON: the text is the message
  }
  return answer.text.trim().slice(0, 300) || `HTTP ${answer.status}`;
}

/** A non-2xx answer to a control request, as the error the operator sees. */
export function controlFailure(what: string, url: string, answer: EngineAnswer, hint?: string): UpstreamError {
  return new UpstreamError(`${what} failed: ${url} answered HTTP ${answer.status}: ${engineMessage(answer)}`, {
    status: answer.status,
    code: answer.status === 404 ? 'engine_model_not_found' : 'engine_error',
    isRetryable: false,
    ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * Polls `check` until it holds or `timeoutMs` passes. Engines that answer a load or unload
 * request before the model is ready or gone (llama.cpp's router, Ollama's unload) are
 * followed this way until their own status agrees.
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) {
      throw new UpstreamError(`${what}: not done within ${formatDuration(timeoutMs)}`, {
        code: 'engine_timeout',
        hint: 'look at the engine log; a large model may need a longer --timeout',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}

/**
 * `syndicate engine VERB PROVIDER` for a hint, naming the provider whose engine this is when the
 * controller was told it (`controllerFor` a record), else the placeholder `PROVIDER`.
 */
export function engineCommand(verb: 'start' | 'stop', provider: string | undefined): string {
  return `\`syndicate engine ${verb} ${provider ?? 'PROVIDER'}\``;
}

/** The hint of an unload only stopping the engine's process can do. */
export function stopProcessHint(provider: string | undefined): string {
  return `stop the process instead (${engineCommand('stop', provider)}, if syndicate started it)`;
}

/** The engine cannot do this on request: say what does the job instead. */
export function unsupported(message: string, hint: string): EngineOperationError {
  return new EngineOperationError('engine_operation_unsupported', message, { hint });
}
