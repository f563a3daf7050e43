import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { answerControl } from './control.js';
import { answerDiscovery, findOllamaModel } from './discovery.js';
import { DEFAULT_MODELS, FALLBACK_CONTEXT, type EngineState } from './engine-state.js';
import { answerInference, errorReply, isInferencePath } from './inference.js';
import { DEFAULT_ANSWER, parseJsonObject } from './model-behaviour.js';
import { loadJsonTemplate, loadTextTemplate } from './templates.js';
import { goJson, jsonHeaders, type Reply } from './wire-format.js';

export type FakeEngineKind = 'ollama' | 'llama.cpp' | 'vllm' | 'lmstudio' | 'openai' | 'anthropic';

/** A model a fake engine serves. */
export interface FakeModel {
  id: string;
  contextWindow?: number;
  /** Memory the model takes once loaded, as Ollama and LM Studio report it. */
  sizeBytes?: number;
  /** An embedding model: Ollama lists it with the `embedding` capability (not `completion`), LM Studio with `type: "embeddings"`; both embed with it. */
  embedding?: boolean;
  /** A thinking model: Ollama lists it with the `thinking` capability (qwen3, gpt-oss, deepseek-r1). */
  thinking?: boolean;
  /** A model whose template fills in the middle: Ollama lists it with the `insert` capability (qwen2.5-coder, codellama:code) and takes a `suffix`. */
  fillInMiddle?: boolean;
  /** The length of its vectors (default 8). */
  dimensions?: number;
  /**
   * llama.cpp only: its other names of `--alias` (recent builds take a comma-separated list, kept
   * as a sorted set): llama-server lists every name in byte order as `aliases`, under the first as
   * `id` (also `/props` `model_alias`) — `--alias tiny-chat,chat,small` is listed as `chat`, aliases
   * `["chat","small","tiny-chat"]` (test/fixtures/llama.cpp-real/alias-v1-models.http). So the id
   * given here must come first in byte order.
   */
  aliases?: string[];
}

/** What the next request(s) to the inference endpoint get. Default 'ok'. */
export type FakeFault =
  | 'ok'
  // e.g. 429 with retry-after, 500; a header set to null is left out (the 429s' default `retry-after: 1`)
  | { status: number; body?: string; headers?: Record<string, string | null> }
  | 'reset' // destroy the socket before any byte
  | 'hang' // accept, never answer (until closed)
  | 'malformed-json' // 200 with a broken JSON body
  | 'truncate-stream' // stream some chunks, then end the response without [DONE] / message_stop
  // Stream the whole answer (finish reason and usage included), then end the response cleanly
  // without [DONE] / message_stop: what ik_llama.cpp without --send-done and older
  // text-generation-webui do. Non-streamed answers are unaffected.
  | 'omit-terminal-marker'
  | 'reset-mid-stream' // stream some chunks, then destroy the socket
  | { slowStreamMs: number } // delay between stream chunks
  // Stream some chunks, then an error in the stream and a clean end: Ollama's native streams write
  // `{"error":"…"}` as a line when the runner fails mid-answer; OpenAI-wire SSE streams a
  // `data: {"error":{…}}` event; Anthropic an `event: error` whose data is its error envelope
  // (`{"type":"error","error":{"type":"overloaded_error","message":…}}`, what its API sends when
  // overloaded after the 200).
  | { errorMidStream: string }
  | { contentType: string }; // the usual answer, under this Content-Type header

/** Which inference requests a fault applies to (see `FakeEngine.setFault`). */
export type FaultScope = 'all' | 'streams' | { model: string };

/** How to start a fake engine. */
export interface FakeEngineOptions {
  kind: FakeEngineKind;
  /** Sensible defaults per kind (see DEFAULT_MODELS in engine-state.ts). */
  models?: FakeModel[];
  /** false (default): the engine's real quirks; true: canonical, fully conforming behaviour. */
  conforming?: boolean;
  /**
   * llama.cpp only: started with --jinja (tool calls supported). false models `--no-jinja` (or a build
   * from before jinja became the default): `tools` get the captured HTTP 500, in a chat request and
   * in `POST /apply-template` alike.
   */
  jinja?: boolean;
  /**
   * llama.cpp only: the `-m` path, when the model's id is an `--alias` (`/props` reports it as
   * `model_path`); default: the model's id, as llama-server names a model started without an alias.
   */
  modelPath?: string;
  /** Text the model answers with (default a short fixed sentence); streams split it into several chunks. */
  answer?: string;
  /**
   * A thinking model: reasoning sent before the answer, apart from it — Ollama as `reasoning`,
   * llama.cpp, vLLM and LM Studio as `reasoning_content` (message field, and stream deltas that
   * carry only the reasoning). Ignored by the hosted kinds.
   */
  reasoning?: string;
  /**
   * Captured answers replayed verbatim instead of generated ones, once a request passed the
   * engine's checks: `stream`, the SSE frames of every streamed answer (a `*.chunks.txt`); `body`,
   * every non-streamed answer's JSON. For shapes the fake model does not generate: parallel tool
   * calls, an old engine's answer without usage.
   */
  replay?: FakeReplay;
  /**
   * llama.cpp only: started without -m, as a router over a models directory (`GET /v1/models`
   * with each model's `status`, `POST /models/load`, `POST /models/unload`); no model is loaded
   * at start.
   */
  router?: boolean;
  /** vLLM only: started with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1 (`/sleep`, `/wake_up`, `/is_sleeping`). */
  sleepMode?: boolean;
  /**
   * llama.cpp only: started with `--sleep-idle-seconds N` and idle that long, so asleep at start:
   * its model is unloaded, `/props` says `is_sleeping: true` (reading it, `/health` or `/v1/models`
   * does not wake it), and the next inference request or `GET /slots` loads it again (measured,
   * build de3ff81).
   */
  asleep?: boolean;
  /**
   * Ollama only: the release it is, as `GET /api/version` reports it (default 0.12.6, the captured
   * one). From 0.12.11 on it returns token logprobs (see logprobs.ts); before, it ignores the fields.
   */
  ollamaVersion?: string;
  /**
   * Ollama only: `OLLAMA_CONTEXT_LENGTH`, the num_ctx it loads a model with when a load asks for
   * none (default 4096, never more than the model allows), as `/api/ps` reports it in `context_length`.
   */
  ollamaContextLength?: number;
  /**
   * LM Studio only: the release it is (default 0.4.2). From 0.3.18 on it honours
   * `stream_options.include_usage` with OpenAI's usage chunk (its API changelog, lmstudio.ai/docs/app/api-changelog);
   * before, its streams carry no usage whatever the request asks (lmstudio-bug-tracker #676, #713).
   */
  lmStudioVersion?: string;
  /** How long a model load takes (Ollama's `/api/generate` load and its first request for a model it does not hold, llama.cpp's router, LM Studio's load), default 30 ms. */
  loadDelayMs?: number;
  /** Models resident at start (default: the first; none for a llama.cpp router). */
  resident?: string[];
  /**
   * llama.cpp only: started with --embeddings, so `POST /v1/embeddings` answers (default: true when
   * a model is declared `embedding`); without it llama-server answers the captured 501. With it, a
   * model not declared `embedding` pools nothing: the captured 400 "Pooling type 'none' …".
   */
  embeddings?: boolean;
  /**
   * llama.cpp only: `-ub`, llama-server's physical batch (default 512, as llama-server's), clamped
   * to the model's context: an embeddings input longer than it gets the captured HTTP 500 ``input
   * (N tokens) is too large to process. increase the physical batch size (current batch size: B)``.
   */
  physicalBatchSize?: number;
  /**
   * llama.cpp only: started with `--api-key KEY`: every path but `/health` and `/v1/health` needs
   * `Authorization: Bearer KEY` or `X-Api-Key: KEY`, else the captured 401 `Invalid API Key`
   * (test/fixtures/llama.cpp-real/api-key-missing.http).
   */
  apiKey?: string;
  /**
   * llama.cpp only: false models a server started without `--mmproj` (its model's multimodal
   * projector): a chat request with an image part gets the captured 500 ``image input is not
   * supported - hint: if this is unexpected, you may need to provide the mmproj``
   * (test/fixtures/llama.cpp-real/error-image-unsupported.json). Default: images are taken.
   */
  mmproj?: boolean;
  /**
   * llama.cpp only: `-c`, each slot's context in tokens: a chat prompt of that many tokens or more
   * gets the captured 400 `exceed_context_size_error` (``request (N tokens) exceeds the available
   * context size (M tokens), try increasing it``, test/fixtures/llama.cpp-real/chat-exceed-context.http),
   * streamed or not, before any answer. Discovery still reports the model's `contextWindow`, as
   * a record may declare more than the engine was started with. Default 1 048 576: no test prompt reaches it.
   */
  contextSize?: number;
}

/** See `FakeEngineOptions.replay`. */
export interface FakeReplay {
  stream?: string;
  body?: string;
}

/** One HTTP exchange as the fake engine saw it: the exact bytes in and out. */
export interface RecordedExchange {
  method: string;
  path: string;
  requestHeaders: Record<string, string | string[] | undefined>;
  /** Exact bytes received. */
  requestBody: Buffer;
  status: number;
  responseHeaders: Record<string, string | number | string[]>;
  /** Exact bytes sent (concatenated chunks, SSE framing included). */
  responseBody: Buffer;
  /** Each write, in order. */
  responseChunks: Buffer[];
  /**
   * True once the client closed the connection before the answer ended (a caller that aborted its
   * request upstream); the engine's own `close()` does not count.
   */
  abortedByClient: boolean;
}

/** A running fake engine on 127.0.0.1. */
export interface FakeEngine {
  kind: FakeEngineKind;
  /** http://127.0.0.1:PORT (engine root, used for /api/tags, /props, ...). */
  url: string;
  /** What a provider record uses: url + '/v1' for openai-wire engines, url for anthropic. */
  baseUrl: string;
  /** Every request, including discovery GETs. */
  exchanges: RecordedExchange[];
  /**
   * Applies to the next `times` inference requests (default: all); `streams`: only to streamed
   * ones; `{ model }`: only to those for that model (a hosted API rate-limits each model apart).
   */
  setFault(fault: FakeFault, times?: number, scope?: FaultScope): void;
  /** What the real engine would have written to its own log (e.g. vLLM's ignored-fields warning). */
  serverLog: string[];
  close(): Promise<void>;
}

export { DEFAULT_ANSWER } from './model-behaviour.js';
export { splitSseFrames, type SseFrame } from './sse.js';

/** llama-server's key check: `Authorization: Bearer KEY` or `X-Api-Key: KEY`. */
function presentsKey(request: IncomingMessage, key: string): boolean {
  return request.headers.authorization === `Bearer ${key}` || request.headers['x-api-key'] === key;
}

/** Starts a fake engine of the given kind on 127.0.0.1, port 0. */
export async function startFakeEngine(options: FakeEngineOptions): Promise<FakeEngine> {
  const kind = options.kind;
  for (const model of options.models ?? []) {
    if ((model.aliases ?? []).some((alias) => alias < model.id)) throw new Error(`llama-server would list ${model.id}'s first alias in byte order as its id (see FakeModel.aliases)`);
  }
  const models = (options.models ?? DEFAULT_MODELS[kind]).map((model) => ({
    id: model.id,
    contextWindow: model.contextWindow ?? FALLBACK_CONTEXT[kind],
    ...(model.sizeBytes === undefined ? {} : { sizeBytes: model.sizeBytes }),
    ...(model.embedding === undefined ? {} : { embedding: model.embedding }),
    ...(model.thinking === undefined ? {} : { thinking: model.thinking }),
    ...(model.fillInMiddle === undefined ? {} : { fillInMiddle: model.fillInMiddle }),
    ...(model.dimensions === undefined ? {} : { dimensions: model.dimensions }),
    ...(model.aliases === undefined ? {} : { aliases: model.aliases }),
  }));
  if (models.length === 0) throw new Error('a fake engine needs at least one model');
  const state: EngineState = {
    kind,
    models,
    conforming: options.conforming ?? false,
    jinja: options.jinja ?? false,
    ...(options.modelPath === undefined ? {} : { modelPath: options.modelPath }),
    ollamaVersion: options.ollamaVersion ?? loadJsonTemplate<{ version: string }>('ollama', 'api-version.json').version,
    ollamaContextLength: options.ollamaContextLength ?? 4096,
    lmStudioVersion: options.lmStudioVersion ?? '0.4.2',
    answer: options.answer ?? DEFAULT_ANSWER,
    ...(options.reasoning === undefined ? {} : { reasoning: options.reasoning }),
    ...(options.replay === undefined ? {} : { replay: options.replay }),
    resident: new Set(options.resident ?? (options.router === true ? [] : [models[0]!.id])),
    ollamaRunners: new Map(),
    jitLoaded: new Set(),
    promptCache: new Set(),
    seededSamplingCalls: 0,
    serverLog: [],
    startedAt: Math.floor(Date.now() / 1000),
    router: options.router === true,
    transitions: new Map(),
    loadDelayMs: options.loadDelayMs ?? 30,
    sleepMode: options.sleepMode === true,
    sleeping: kind === 'llama.cpp' && options.asleep === true,
    embeddings: options.embeddings ?? models.some((model) => model.embedding === true),
    physicalBatchSize: options.physicalBatchSize ?? 512,
    contextSize: options.contextSize ?? 1_048_576,
    mmproj: options.mmproj ?? true,
  };
  const exchanges: RecordedExchange[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let fault: FakeFault = 'ok';
  let faultRemaining = Number.POSITIVE_INFINITY;
  let faultScope: FaultScope = 'all';
  let closed = false;

  const nextFault = (body: Buffer): FakeFault => {
    if (fault === 'ok' || faultRemaining <= 0) return 'ok';
    if (faultScope === 'streams' && !isStreamRequest(body)) return 'ok';
    if (typeof faultScope === 'object' && requestedModel(body) !== faultScope.model) return 'ok';
    faultRemaining -= 1;
    const current = fault;
    if (faultRemaining <= 0) fault = 'ok';
    return current;
  };

  const later = (delayMs: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) action();
    }, delayMs);
    timers.add(timer);
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const exchange: RecordedExchange = {
      method: request.method ?? 'GET',
      path: url.pathname + url.search,
      requestHeaders: { ...request.headers },
      requestBody: Buffer.alloc(0),
      status: 0,
      responseHeaders: {},
      responseBody: Buffer.alloc(0),
      responseChunks: [],
      abortedByClient: false,
    };
    exchanges.push(exchange);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      exchange.requestBody = Buffer.concat(chunks);
      const writer = new RecordingWriter(response, exchange);
      response.once('close', () => {
        if (!response.writableFinished && !closed && !writer.destroyedByEngine) exchange.abortedByClient = true;
      });
      try {
        route(url.pathname, exchange.method, exchange.requestBody, request, writer);
      } catch (error) {
        writer.send({ status: 500, headers: { 'Content-Type': 'text/plain' }, body: `fake engine bug: ${String(error)}` });
      }
    });
  });

  const route = (path: string, method: string, body: Buffer, request: IncomingMessage, writer: RecordingWriter): void => {
    if (kind === 'llama.cpp' && options.apiKey !== undefined && path !== '/health' && path !== '/v1/health' && !presentsKey(request, options.apiKey)) {
      writer.send({ status: 401, headers: { ...jsonHeaders(kind, path), Connection: 'close' }, body: loadTextTemplate(kind, 'invalid-api-key.json') });
      return;
    }
    if (method === 'POST' && isInferencePath(kind, path, body)) {
      const currentFault = nextFault(body);
      if (currentFault === 'reset') {
        writer.destroyedByEngine = true;
        request.socket.destroy();
        return;
      }
      if (currentFault === 'hang') return; // close() destroys the socket
      if (typeof currentFault === 'object' && 'status' in currentFault) {
        const reply = errorReply(state, path, currentFault.status);
        if (currentFault.body !== undefined) reply.body = currentFault.body;
        for (const [name, value] of Object.entries(currentFault.headers ?? {})) {
          if (value === null) delete reply.headers[name];
          else reply.headers[name] = value;
        }
        writer.send(reply);
        return;
      }
      if (kind === 'llama.cpp') state.sleeping = false;
      // Ollama loads a model it does not hold on the first request for it (its scheduler starts a
      // runner, then the request is answered): that request takes the load's time. So does LM
      // Studio with JIT loading (on by default, lmstudio.ai/docs/app/api/headless), which first
      // unloads the models it loaded that way before (Auto-Evict, on by default,
      // lmstudio.ai/docs/app/api/ttl-and-auto-evict).
      const requested = parseJsonObject(body)?.['model'];
      const cold = kind === 'ollama' ? findOllamaModel(state, requested) : kind === 'lmstudio' ? state.models.find((model) => model.id === requested) : undefined;
      if (cold !== undefined && !state.resident.has(cold.id)) {
        later(state.loadDelayMs, () => {
          if (kind === 'lmstudio') {
            for (const evicted of state.jitLoaded) state.resident.delete(evicted);
            state.jitLoaded.clear();
            state.jitLoaded.add(cold.id);
            state.resident.add(cold.id);
          }
          deliver(answerInference(state, path, body, request.headers), writer, currentFault);
        });
        return;
      }
      const reply = answerInference(state, path, body, request.headers);
      deliver(reply, writer, currentFault);
      return;
    }
    const control = answerControl(state, method, path, body, later);
    if (control instanceof Promise) {
      void control.then((reply) => writer.send(reply));
      return;
    }
    if (control !== undefined) {
      writer.send(control);
      return;
    }
    const discovery = answerDiscovery(state, method, path, body);
    if (discovery !== undefined) {
      writer.send(discovery);
      return;
    }
    writer.send(notFound(kind, method, path));
  };

  const deliver = (reply: Reply, writer: RecordingWriter, currentFault: FakeFault): void => {
    const slowMs = typeof currentFault === 'object' && 'slowStreamMs' in currentFault ? currentFault.slowStreamMs : 0;
    if (typeof currentFault === 'object' && 'contentType' in currentFault) {
      const headers = Object.fromEntries(Object.entries(reply.headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
      reply = { ...reply, headers: { ...headers, 'Content-Type': currentFault.contentType } };
    }
    if (reply.frames === undefined) {
      const body = reply.body ?? '';
      if (currentFault === 'malformed-json' && reply.status < 300) {
        writer.send({ ...reply, body: breakJson(body) });
      } else if ((currentFault === 'truncate-stream' || currentFault === 'reset-mid-stream') && reply.status < 300) {
        // No content-length: the body simply stops (truncate) or the connection dies (reset).
        writer.start(reply.status, reply.headers);
        writer.write(body.slice(0, Math.max(1, Math.floor(body.length / 2))));
        if (currentFault === 'truncate-stream') writer.end();
        else writer.destroy();
      } else if (slowMs > 0) {
        later(slowMs, () => writer.send(reply));
      } else {
        writer.send(reply);
      }
      return;
    }
    let frames = reply.frames;
    const terminal = reply.terminalFrames ?? 1;
    let ending: 'end' | 'destroy' = 'end';
    if (currentFault === 'truncate-stream' || currentFault === 'reset-mid-stream') {
      const keep = Math.max(1, Math.min(Math.floor(frames.length / 2), frames.length - terminal - 1));
      frames = frames.slice(0, keep);
      if (currentFault === 'reset-mid-stream') ending = 'destroy';
    } else if (typeof currentFault === 'object' && 'errorMidStream' in currentFault) {
      const keep = Math.max(1, Math.min(Math.floor(frames.length / 2), frames.length - terminal - 1));
      const ndjson = Object.entries(reply.headers).some(([name, value]) => name.toLowerCase() === 'content-type' && value.includes('ndjson'));
      const message = currentFault.errorMidStream;
      const error = ndjson
        ? `${goJson({ error: message })}\n`
        : kind === 'anthropic'
          ? `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message } })}\n\n`
          : `data: ${JSON.stringify({ error: { message } })}\n\n`;
      frames = [...frames.slice(0, keep), error];
    } else if (currentFault === 'omit-terminal-marker') {
      frames = frames.slice(0, frames.length - terminal);
    } else if (currentFault === 'malformed-json') {
      const broken = Math.min(1, frames.length - 1);
      frames = frames.map((frame, index) => (index === broken ? breakSseFrame(frame) : frame));
    }
    writer.start(reply.status, reply.headers);
    let index = 0;
    const step = (): void => {
      if (writer.isClosed()) return;
      if (index >= frames.length) {
        if (ending === 'destroy') writer.destroy();
        else writer.end();
        return;
      }
      writer.write(frames[index]!);
      index += 1;
      later(slowMs, step);
    };
    step();
  };

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    kind,
    url,
    baseUrl: kind === 'anthropic' ? url : `${url}/v1`,
    exchanges,
    serverLog: state.serverLog,
    setFault(newFault: FakeFault, times?: number, scope: FaultScope = 'all'): void {
      fault = newFault;
      faultRemaining = times ?? Number.POSITIVE_INFINITY;
      faultScope = scope;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes a response and records every byte of it in the exchange. */
class RecordingWriter {
  /** Set when the engine itself kills the connection (a reset fault), so that is not taken for the client's abort. */
  destroyedByEngine = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly exchange: RecordedExchange,
  ) {}

  isClosed(): boolean {
    return this.response.destroyed || this.response.writableEnded;
  }

  start(status: number, headers: Record<string, string>): void {
    for (const [name, value] of Object.entries(headers)) this.response.setHeader(name, value);
    this.response.statusCode = status;
    this.exchange.status = status;
    this.exchange.responseHeaders = { ...this.response.getHeaders() } as Record<string, string | number | string[]>;
    this.response.flushHeaders();
  }

  write(chunk: string): void {
    if (this.isClosed()) return;
    const bytes = Buffer.from(chunk, 'utf8');
    this.exchange.responseChunks.push(bytes);
    this.exchange.responseBody = Buffer.concat(this.exchange.responseChunks);
    this.response.write(bytes);
  }

  end(): void {
    if (!this.isClosed()) this.response.end();
  }

  /** Kills the connection, but only after the bytes already written reached the OS, so the recording equals what the client got. */
  destroy(): void {
    this.destroyedByEngine = true;
    const socket = this.response.socket;
    if (socket !== null && socket.writableLength > 0 && !socket.destroyed) {
      // 'drain' fires only after a write that filled the buffer; an empty write's callback runs once everything before it is flushed.
      socket.write(Buffer.alloc(0), () => socket.destroy());
      return;
    }
    socket?.destroy();
    this.response.destroy();
  }

  /** A complete answer with Content-Length, in one write. */
  send(reply: Reply): void {
    if (this.isClosed()) return;
    const bytes = Buffer.from(reply.body ?? '', 'utf8');
    this.start(reply.status, { ...reply.headers, 'Content-Length': String(bytes.length) });
    if (bytes.length > 0) {
      this.exchange.responseChunks.push(bytes);
      this.exchange.responseBody = bytes;
    }
    this.response.end(bytes);
  }
}

/** The `model` a chat request asks for; undefined when its body says none. */
function requestedModel(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const model = typeof parsed === 'object' && parsed !== null ? (parsed as { model?: unknown }).model : undefined;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

function isStreamRequest(body: Buffer): boolean {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && (parsed as { stream?: unknown }).stream === true;
  } catch {
    return false;
  }
}

/** A body that is not valid JSON: the real one cut in the middle of a token. */
function breakJson(body: string): string {
  const cut = Math.max(1, Math.floor(body.length / 2));
  return body.slice(0, cut);
}

function breakSseFrame(frame: string): string {
  return frame.replace(/^data: (.*)$/m, (_line, data: string) => `data: ${data.slice(0, Math.max(1, Math.floor(data.length / 2)))}`);
}

function notFound(kind: FakeEngineKind, method: string, path: string): Reply {
  switch (kind) {
    case 'ollama':
      return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: '404 page not found' };
    case 'llama.cpp':
      return { status: 404, headers: jsonHeaders(kind, path), body: '{"error":{"message":"File Not Found","type":"not_found_error","code":404}}' };
    case 'vllm':
      return { status: 404, headers: { server: 'uvicorn', 'content-type': 'application/json' }, body: '{"detail":"Not Found"}' };
    case 'lmstudio':
      return { status: 200, headers: { 'X-Powered-By': 'Express', 'Content-Type': 'application/json; charset=utf-8' }, body: `{"error":"Unexpected endpoint or method. (${method} ${path})"}` };
    case 'openai':
      return { status: 404, headers: { 'content-type': 'application/json' }, body: `{\n    "error": {\n        "message": "Invalid URL (${method} ${path})",\n        "type": "invalid_request_error",\n        "param": null,\n        "code": null\n    }\n}\n` };
    case 'anthropic':
      return { status: 404, headers: { 'content-type': 'application/json' }, body: '{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}' };
  }
}
