import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { goJson } from './wire-format.js';

export interface FakeLlamaSwapOptions {
  models: string[];
  /** How long an upstream process takes to become ready (ms). Default 30. */
  startDelayMs?: number;
  /** A release from before `POST /api/models/unload/:model` (only `GET /unload`, which stops everything). */
  legacy?: boolean;
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

/**
 * llama-swap's own API as its proxymanager answers it (gin, Go's sorted map keys): `GET /running`,
 * `GET /v1/models`, `/upstream/:model/...` (starts the model's process first, then proxies),
 * `POST /api/models/unload/:model`, `GET /unload`, `GET /health`. With no groups configured,
 * models swap exclusively: starting one stops the one running.
 */
export async function startFakeLlamaSwap(options: FakeLlamaSwapOptions): Promise<FakeLlamaSwap> {
  const running = new Map<string, 'starting' | 'ready'>();
  const requests: string[] = [];
  const startDelayMs = options.startDelayMs ?? 30;
  const json = (response: import('node:http').ServerResponse, status: number, value: unknown): void => {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(goJson(value));
  };
  const text = (response: import('node:http').ServerResponse, status: number, body: string): void => {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const method = request.method ?? 'GET';
    requests.push(`${method} ${path}`);
    request.resume();
    request.on('end', () => {
      if (method === 'GET' && path === '/health') return text(response, 200, 'OK');
      if (method === 'GET' && path === '/running') {
        return json(response, 200, {
          running: [...running].filter(([, state]) => state === 'ready').map(([model, state]) => ({ cmd: `llama-server --port 5800 -m /models/${model}.gguf`, description: '', model, name: '', proxy: 'http://127.0.0.1:5800', state, ttl: 0 })),
        });
      }
      if (method === 'GET' && path === '/v1/models') {
        const created = Math.floor(Date.now() / 1000);
        return json(response, 200, { data: options.models.map((id) => ({ created, id, object: 'model', owned_by: 'llama-swap' })), object: 'list' });
      }
      if (method === 'GET' && path === '/unload') {
        running.clear();
        return text(response, 200, 'OK');
      }
      const unload = /^\/api\/models\/unload\/(.+)$/.exec(path);
      if (method === 'POST' && unload !== null && options.legacy !== true) {
        // apiUnloadSingleModelHandler: a model its config does not list is 404, else StopImmediately and a plain "OK".
        const model = decodeURIComponent(unload[1]!);
        if (!options.models.includes(model)) return text(response, 404, 'Model not found');
        running.delete(model);
        return text(response, 200, 'OK');
      }
      const upstream = /^\/upstream\/([^/]+)(\/.*)?$/.exec(path);
      if (upstream !== null) {
        const model = decodeURIComponent(upstream[1]!);
        if (!options.models.includes(model)) return json(response, 400, { error: `could not find suitable handler for ${model}` });
        if (running.get(model) === 'ready') return json(response, 200, { status: 'ok' });
        running.clear(); // exclusive swap: the running model's process is stopped first
        running.set(model, 'starting');
        setTimeout(() => {
          running.set(model, 'ready');
          json(response, 200, { status: 'ok' });
        }, startDelayMs);
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
