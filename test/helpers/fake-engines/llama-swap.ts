import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { goJson } from './wire-format.js';

export interface FakeLlamaSwapOptions {
  models: string[];
  /** How long an upstream process takes to become ready (ms). Default 30. */
  startDelayMs?: number;
  /** A release from before `POST /api/models/unload/:model` (only `GET /unload`, which stops everything). */
  legacy?: boolean;
  /**
   * The server every model's process would be (`http://127.0.0.1:PORT`, e.g. a fake llama.cpp's
   * `url`): inference requests and `/upstream/MODEL/...` are proxied to it, bytes as they come.
   * Without it the inference endpoints are not served and `/upstream/MODEL/health` answers as
   * llama-server's `/health` does.
   */
  upstream?: string;
  /**
   * Models whose process cannot start, with what llama-swap says of it (Process.start:
   * `upstream command exited prematurely but successfully` when the command exits before its
   * health check passes — a wrong model path, too little memory —, `health check timed out after
   * 120s`, `start() failed for command '…': …`). A request for one, proxied or under
   * `/upstream/MODEL/`, is answered after `startDelayMs` as Process.ProxyRequest answers it:
   * `http.Error(w, "unable to start process: " + reason, 502)`, plain text whatever the Accept.
   */
  unstartable?: Record<string, string>;
}

export interface FakeLlamaSwap {
  url: string;
  baseUrl: string;
  /** Models whose upstream process runs now. */
  running(): string[];
  /** Every request as `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

/** The endpoints proxyInferenceHandler serves (mostlygeek/llama-swap proxy/proxymanager.go setupGinEngine). */
const INFERENCE_PATHS = new Set(['/v1/chat/completions', '/v1/responses', '/v1/completions', '/v1/messages', '/v1/messages/count_tokens', '/v1/embeddings', '/reranking', '/rerank', '/v1/rerank', '/v1/reranking', '/infill', '/completion']);

/**
 * llama-swap's own API as its proxymanager answers it (gin, Go's sorted map keys), from
 * mostlygeek/llama-swap proxy/proxymanager.go, proxymanager_api.go, processgroup.go, process.go:
 *
 * - `GET /running` lists the processes that are `ready`; `GET /v1/models` the configured models,
 *   sorted by id; `GET /health` a plain `OK`.
 * - A request for a model starts its process first (`/upstream/MODEL/...` too) and is answered
 *   once the process is ready, however long that takes. With no groups configured, models swap
 *   exclusively: a request for another model waits until the running one's requests have ended
 *   (`Process.Stop` waits for them), then stops it, and holds the swap until its own answer is done.
 * - `POST /api/models/unload/MODEL` stops a model at once (`StopImmediately`: a stream it is
 *   serving is cut), `404 Model not found` for a model its config does not list; `GET /unload`
 *   stops every model.
 * - Errors (`sendErrorResponse`) are `{"error":"…"}` when the request's Accept names
 *   `application/json`, else the message as plain text: a model it does not have is a 400
 *   `could not find suitable inference handler for MODEL` (`model id required in path` under
 *   `/upstream/`), a body without a model 400 `missing or invalid 'model' key`.
 * - A model whose process cannot start (`unstartable`) gets Process.ProxyRequest's 502
 *   `unable to start process: …` in plain text, and stays stopped.
 * - Answers are proxied byte for byte (httputil.ReverseProxy), an event stream with
 *   `X-Accel-Buffering: no` added.
 */
export async function startFakeLlamaSwap(options: FakeLlamaSwapOptions): Promise<FakeLlamaSwap> {
  const running = new Map<string, 'starting' | 'ready'>();
  const requests: string[] = [];
  const startDelayMs = options.startDelayMs ?? 30;
  /** Requests each model's process is answering, and the responses to cut when it is stopped at once. */
  const inFlight = new Map<string, Set<ServerResponse>>();
  const idleWaiters = new Map<string, (() => void)[]>();
  let lastUsed: string | undefined;
  let groupLock: Promise<void> = Promise.resolve();

  const json = (response: ServerResponse, status: number, value: unknown): void => {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(goJson(value));
  };
  const text = (response: ServerResponse, status: number, body: string): void => {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
  };
  const sendError = (request: IncomingMessage, response: ServerResponse, status: number, message: string): void => {
    if ((request.headers.accept ?? '').includes('application/json')) json(response, status, { error: message });
    else text(response, status, message);
  };

  const inFlightOf = (model: string): Set<ServerResponse> => {
    let set = inFlight.get(model);
    if (set === undefined) inFlight.set(model, (set = new Set()));
    return set;
  };
  const whenIdle = (model: string): Promise<void> =>
    inFlightOf(model).size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.set(model, [...(idleWaiters.get(model) ?? []), resolve]));
  const finished = (model: string, response: ServerResponse): void => {
    const set = inFlightOf(model);
    set.delete(response);
    if (set.size > 0) return;
    for (const resolve of idleWaiters.get(model) ?? []) resolve();
    idleWaiters.delete(model);
  };
  const stopImmediately = (model: string): void => {
    running.delete(model);
    for (const response of inFlightOf(model)) response.destroy();
  };
  /** Starts the model's process; what llama-swap says when it cannot (`unstartable`), else undefined once it is ready. */
  const startIfStopped = async (model: string): Promise<string | undefined> => {
    if (running.get(model) === 'ready') return undefined;
    running.set(model, 'starting');
    await new Promise((resolve) => setTimeout(resolve, startDelayMs));
    const failure = options.unstartable?.[model];
    if (failure !== undefined) {
      running.delete(model);
      return failure;
    }
    running.set(model, 'ready');
    return undefined;
  };
  const answer = async (model: string, request: IncomingMessage, response: ServerResponse, body: Buffer, path: string): Promise<void> => {
    const failure = await startIfStopped(model);
    if (failure !== undefined) {
      // Go's http.Error: plain text with a newline, whatever the request accepts.
      response.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end(`unable to start process: ${failure}\n`);
      return;
    }
    inFlightOf(model).add(response);
    response.on('close', () => finished(model, response));
    if (options.upstream === undefined) return json(response, 200, { status: 'ok' });
    await proxy(options.upstream, request, response, body, path);
  };
  /** ProcessGroup.ProxyRequest: a request for another model than the last swaps under the group's lock, held until it is answered. */
  const serve = async (model: string, request: IncomingMessage, response: ServerResponse, body: Buffer, path: string): Promise<void> => {
    let swapped = false;
    const turn = groupLock.then(async () => {
      if (lastUsed === model) return;
      swapped = true;
      if (lastUsed !== undefined) {
        await whenIdle(lastUsed);
        running.delete(lastUsed);
      }
      await answer(model, request, response, body, path);
      lastUsed = model;
    });
    groupLock = turn.catch(() => undefined);
    await turn;
    if (!swapped) await answer(model, request, response, body, path);
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const method = request.method ?? 'GET';
    requests.push(`${method} ${path}`);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      if (method === 'GET' && path === '/health') return text(response, 200, 'OK');
      if (method === 'GET' && path === '/running') {
        return json(response, 200, {
          running: [...running].filter(([, state]) => state === 'ready').map(([model, state]) => ({ cmd: `llama-server --port 5800 -m /models/${model}.gguf`, description: '', model, name: '', proxy: 'http://127.0.0.1:5800', state, ttl: 0 })),
        });
      }
      if (method === 'GET' && path === '/v1/models') {
        const created = Math.floor(Date.now() / 1000);
        const data = [...options.models].sort().map((id) => ({ created, id, object: 'model', owned_by: 'llama-swap' }));
        return json(response, 200, { data, object: 'list' });
      }
      if (method === 'GET' && path === '/unload') {
        for (const model of [...running.keys()]) stopImmediately(model);
        return text(response, 200, 'OK');
      }
      const unload = /^\/api\/models\/unload\/(.+)$/.exec(path);
      if (method === 'POST' && unload !== null && options.legacy !== true) {
        // apiUnloadSingleModelHandler: a model its config does not list is 404, else StopImmediately and a plain "OK".
        const model = decodeURIComponent(unload[1]!);
        if (!options.models.includes(model)) return sendError(request, response, 404, 'Model not found');
        stopImmediately(model);
        return text(response, 200, 'OK');
      }
      const upstream = /^\/upstream\/([^/]+)(\/.*)?$/.exec(path);
      if (upstream !== null) {
        const model = decodeURIComponent(upstream[1]!);
        if (!options.models.includes(model)) return sendError(request, response, 400, 'model id required in path');
        if (upstream[2] === undefined) {
          // proxyToUpstream: the model's own root gets its trailing slash (301 for GET and HEAD, else 308).
          response.writeHead(method === 'GET' || method === 'HEAD' ? 301 : 308, { Location: `/upstream/${upstream[1]}/` }).end();
          return;
        }
        void serve(model, request, response, body, upstream[2]);
        return;
      }
      if (method === 'POST' && INFERENCE_PATHS.has(path) && options.upstream !== undefined) {
        let model: unknown;
        try {
          model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
        } catch {
          model = undefined;
        }
        if (typeof model !== 'string' || model === '') return sendError(request, response, 400, "missing or invalid 'model' key");
        if (!options.models.includes(model)) return sendError(request, response, 400, `could not find suitable inference handler for ${model}`);
        void serve(model, request, response, body, path);
        return;
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    running: () => [...running].filter(([, state]) => state === 'ready').map(([model]) => model),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** httputil.ReverseProxy to the model's process: status, headers and body as they come; `X-Accel-Buffering: no` on an event stream (process.go ModifyResponse). */
function proxy(upstream: string, request: IncomingMessage, response: ServerResponse, body: Buffer, path: string): Promise<void> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    for (const name of ['content-type', 'accept']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const outgoing = httpRequest(`${upstream}${path}`, { method: request.method, headers }, (answer) => {
      const answerHeaders = { ...answer.headers };
      if (String(answer.headers['content-type'] ?? '').toLowerCase().includes('text/event-stream')) answerHeaders['x-accel-buffering'] = 'no';
      response.writeHead(answer.statusCode ?? 502, answerHeaders);
      answer.pipe(response);
      answer.on('end', resolve);
      answer.on('error', () => resolve());
      response.on('close', () => {
        answer.destroy();
        resolve();
      });
    });
    outgoing.on('error', (error) => {
      // ReverseProxy's default ErrorHandler: 502 with an empty body.
      if (!response.headersSent) response.writeHead(502).end();
      else response.destroy(error);
      resolve();
    });
    outgoing.end(body);
  });
}
