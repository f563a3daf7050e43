import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { HostCheck } from '../../common/host-check.js';
import { readLimitedBody } from '../../common/http-body.js';
import type { StreamPart } from '../../wire/canonical.js';
import { clientErrorFor, type ClientError } from '../../wire/client-errors.js';
import { OpenAIStreamEncoder, renderOpenAIChatResponse, renderOpenAIError } from '../../wire/openai/server.js';
import type { EngineGenerationResult, LoadedModelInfo, PartSink } from './engine.js';
import { EngineBusyError, SlotQueue } from './queue.js';
import { DEFAULT_SAMPLING, readEngineChatRequest, type EngineChatRequest } from './request.js';

/** What the HTTP layer needs of an engine (EmbeddedEngine; a fake in tests). */
export interface GenerationEngine {
  readonly info: LoadedModelInfo;
  readonly slots: number;
  generate(request: EngineChatRequest, slot: number, signal: AbortSignal, onPart?: PartSink): Promise<EngineGenerationResult>;
}

/** Largest request body accepted (a long conversation fits; a runaway upload does not). */
export const ENGINE_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** llama-server's answer to every model endpoint while the model loads, byte for byte. */
export const LOADING_BODY = '{"error":{"message":"Loading model","type":"unavailable_error","code":503}}';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', server: 'syndicate-engine' } as const;

/** Options of the HTTP face. */
export interface EngineHttpOptions {
  /** Requests allowed to wait for a sequence before new ones get 503. */
  maxQueued: number;
  /** Largest request body accepted; default ENGINE_BODY_LIMIT_BYTES. */
  bodyLimitBytes?: number;
  /** Unexpected failures (bugs), for the operator's log. */
  onInternalError?: (error: unknown) => void;
  /** The `Host` and `Origin` requests may carry (`engine serve --allow-host`); default: loopback names and addresses, and this machine's name. */
  hostCheck?: HostCheck;
}

/**
 * The OpenAI-compatible HTTP face of the embedded engine, shaped like llama-server: `GET /health`,
 * `GET /v1/models`, `GET /props`, `POST /v1/chat/completions` (also without `/v1`). It exists
 * before the model is loaded (every model endpoint answers 503 "Loading model" until `attach`),
 * serves one request per sequence through a FIFO queue, and on `drain` stops taking requests and
 * waits for the generations in flight. It takes no token, so before anything else it refuses the
 * requests of web pages (`browserRefusal`): the loopback socket keeps out other machines, not the
 * pages the operator's browser visits.
 */
export class EngineHttpFace {
  private engine: GenerationEngine | undefined;
  private queue: SlotQueue | undefined;
  private closing = false;
  private readonly inFlight = new Set<Promise<void>>();
  // Each chat request from its head until it is answered, with what cancels it at shutdown (`cancelInFlight`).
  private readonly chats = new Set<AbortController>();
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly hostCheck: HostCheck;

  constructor(private readonly options: EngineHttpOptions) {
    this.hostCheck = options.hostCheck ?? new HostCheck();
  }

  /** The model is loaded: model endpoints start answering. */
  attach(engine: GenerationEngine): void {
    this.engine = engine;
    this.queue = new SlotQueue(engine.slots, this.options.maxQueued);
  }

  /** Generations running or waiting. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Refuses new and waiting requests; resolves when every running generation has finished. */
  async drain(): Promise<void> {
    this.closing = true;
    this.queue?.close();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops every chat request in flight (the drain's bound passed, or a second signal): a generation
   * stops at its next token and its client gets an error naming `reason` (a stream ends with an
   * error event, never `[DONE]` or a `finish_reason`; an answer not yet begun is a 503), and a
   * request still uploading its body is answered 503 without waiting for the rest. Returns how
   * many it stopped.
   */
  cancelInFlight(reason: Error): number {
    const cancelled = [...this.chats].filter((cancellation) => !cancellation.signal.aborted);
    for (const cancellation of cancelled) cancellation.abort(reason);
    return cancelled.length;
  }

  readonly listener = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const done = this.handle(incoming, outgoing).catch((error: unknown) => {
      this.options.onInternalError?.(error);
      if (!outgoing.headersSent) this.sendError(outgoing, { kind: 'internal', message: 'internal error in the syndicate engine', code: 'internal' });
      else outgoing.destroy();
    });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  };

  private async handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const refusal = this.browserRefusal(incoming);
    if (refusal !== undefined) {
      incoming.resume();
      this.sendError(outgoing, refusal);
      return;
    }
    const method = incoming.method ?? 'GET';
    const path = new URL(incoming.url ?? '/', 'http://engine').pathname.replace(/\/+$/, '') || '/';
    const routes: Record<string, { method: string; run: () => Promise<void> | void }> = {
      '/health': { method: 'GET', run: () => this.health(outgoing) },
      '/v1/health': { method: 'GET', run: () => this.health(outgoing) },
      '/v1/models': { method: 'GET', run: () => this.models(outgoing) },
      '/models': { method: 'GET', run: () => this.models(outgoing) },
      '/props': { method: 'GET', run: () => this.props(outgoing) },
      '/v1/chat/completions': { method: 'POST', run: () => this.chat(incoming, outgoing) },
      '/chat/completions': { method: 'POST', run: () => this.chat(incoming, outgoing) },
    };
    const route = routes[path];
    if (route === undefined) {
      incoming.resume();
      this.sendError(outgoing, { kind: 'not_found', message: `no such endpoint: ${method} ${path}`, code: 'not_found' });
      return;
    }
    if (method !== route.method && !(route.method === 'GET' && method === 'HEAD')) {
      incoming.resume();
      outgoing.setHeader('allow', route.method);
      this.sendError(outgoing, { kind: 'method_not_allowed', message: `${path} accepts ${route.method} only`, code: 'method_not_allowed' });
      return;
    }
    await route.run();
  }

  /**
   * 403 for a web page's request, whatever its route: one that reached the engine by DNS rebinding
   * (its `Host` is a name the engine does not answer to), or one a page on another site sent (its
   * `Origin` is not served from this machine) — a "simple" POST with a `text/plain` body needs no
   * preflight, and would be parsed and generated for. Clients outside browsers send no `Origin`.
   */
  private browserRefusal(incoming: IncomingMessage): ClientError | undefined {
    const { host, origin } = incoming.headers;
    if (!this.hostCheck.allowsHost(host)) {
      return {
        kind: 'permission',
        code: 'host_not_allowed',
        message: `the engine does not answer to the host "${(host ?? '').slice(0, 100)}" (Host is checked against DNS rebinding); call it by its address, localhost or [::1], or let a reverse proxy's name in with \`syndicate engine serve --allow-host NAME\``,
      };
    }
    if (origin !== undefined && !this.hostCheck.allowsOrigin(origin)) {
      return {
        kind: 'permission',
        code: 'origin_not_allowed',
        message: `a browser page on ${origin.slice(0, 100)} may not call the engine: only pages served from this machine (localhost, a loopback address, its host name) may, against DNS rebinding and cross-site requests; pages served under a reverse proxy's name need \`syndicate engine serve --allow-host NAME\``,
      };
    }
    return undefined;
  }

  private health(outgoing: ServerResponse): void {
    if (this.engine === undefined) this.send(outgoing, 503, LOADING_BODY);
    else this.send(outgoing, 200, '{"status":"ok"}');
  }

  private models(outgoing: ServerResponse): void {
    const engine = this.engine;
    if (engine === undefined) return this.send(outgoing, 503, LOADING_BODY);
    const { info } = engine;
    const body = {
      object: 'list',
      data: [
        {
          id: info.id,
          object: 'model',
          created: this.created,
          owned_by: 'syndicate',
          meta: { n_ctx: info.contextWindow, n_ctx_train: info.trainedContextWindow, size: info.sizeBytes, backend: info.backend },
        },
      ],
    };
    this.send(outgoing, 200, JSON.stringify(body));
  }

  private props(outgoing: ServerResponse): void {
    const engine = this.engine;
    if (engine === undefined) return this.send(outgoing, 503, LOADING_BODY);
    const { info } = engine;
    const body = {
      default_generation_settings: {
        n_ctx: info.contextWindow,
        params: { temperature: DEFAULT_SAMPLING.temperature, top_k: DEFAULT_SAMPLING.topK, top_p: DEFAULT_SAMPLING.topP, min_p: DEFAULT_SAMPLING.minP, max_tokens: -1 },
      },
      total_slots: info.parallel,
      model_alias: info.id,
      model_path: info.path,
      chat_template: info.chatTemplate ?? null,
      chat_wrapper: info.chatWrapper,
      modalities: { vision: false, audio: false },
      build_info: `node-llama-cpp (llama.cpp ${info.llamaCppRelease}, ${info.backend})`,
    };
    this.send(outgoing, 200, JSON.stringify(body));
  }

  private async chat(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const cancellation = new AbortController();
    this.chats.add(cancellation);
    try {
      await this.answerChat(incoming, outgoing, cancellation.signal);
    } finally {
      this.chats.delete(cancellation);
    }
  }

  /** `shutdown` aborts (with the reason the client is told) when the engine stops before the answer ends. */
  private async answerChat(incoming: IncomingMessage, outgoing: ServerResponse, shutdown: AbortSignal): Promise<void> {
    const limit = this.options.bodyLimitBytes ?? ENGINE_BODY_LIMIT_BYTES;
    const body = await Promise.race([readLimitedBody(incoming, limit), aborted(shutdown)]);
    if (body.kind === 'shutdown') {
      // The rest of the body is never read: it must not be parsed as the next request.
      outgoing.shouldKeepAlive = false;
      return this.sendError(outgoing, shutdownError(shutdown));
    }
    // A client that left while sending has nobody to answer; not an engine error.
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large') {
      // The rest of the body is never read: it must not be parsed as the next request.
      outgoing.shouldKeepAlive = false;
      return this.sendError(outgoing, { kind: 'request_too_large', message: `the request body exceeds ${limit} bytes`, code: 'body_too_large' });
    }
    const bodyText = body.body.toString('utf8');
    const engine = this.engine;
    const queue = this.queue;
    if (engine === undefined || queue === undefined) return this.send(outgoing, 503, LOADING_BODY);
    if (this.closing) return this.sendError(outgoing, { kind: 'unavailable', message: 'the engine is shutting down', code: 'engine_busy' });

    let request: EngineChatRequest;
    try {
      request = readEngineChatRequest(bodyText);
    } catch (error) {
      return this.sendError(outgoing, clientErrorFor(error));
    }

    // A client that goes away stops its generation (or leaves the queue); so does the engine stopping.
    const abort = new AbortController();
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) abort.abort();
    });
    const stop = AbortSignal.any([abort.signal, shutdown]);
    const id = `chatcmpl-${randomBytes(16).toString('base64url')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = engine.info.id;

    if (!request.stream) {
      let result: EngineGenerationResult;
      try {
        result = await queue.run((slot) => engine.generate(request, slot, stop), stop);
      } catch (error) {
        if (abort.signal.aborted) return;
        return this.sendError(outgoing, shutdown.aborted ? shutdownError(shutdown) : this.clientError(error));
      }
      if (abort.signal.aborted) return;
      // What a stopped generation returns is cut short: never answered as if it had finished.
      if (shutdown.aborted) return this.sendError(outgoing, shutdownError(shutdown));
      const rendered = renderOpenAIChatResponse({ id, model, ...result }, { created, id, model });
      // As llama-server's: the only account of when the first token of an answer not streamed came.
      const timings = llamaServerTimings(result.timings);
      return this.send(outgoing, 200, JSON.stringify({ ...(JSON.parse(rendered.body) as Record<string, unknown>), timings }));
    }

    const encoder = new OpenAIStreamEncoder({ id, model, created, includeUsage: request.includeUsage });
    // A stopped generation still hands over its finish (`stop`) and usage: none of it may reach the client.
    const write = (encode: () => string): void => {
      if (stop.aborted) return;
      if (!outgoing.headersSent) {
        outgoing.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', server: 'syndicate-engine' });
        outgoing.flushHeaders();
      }
      const frames = encode();
      if (frames !== '') outgoing.write(frames);
    };
    // As llama-server's, the last chunk carries the generation's `timings`: the finish and usage wait for them.
    const last: StreamPart[] = [];
    let result: EngineGenerationResult;
    try {
      result = await queue.run(
        (slot) => engine.generate(request, slot, stop, (part) => (part.type === 'finish' || part.type === 'usage' ? last.push(part) : write(() => encoder.encode(part)))),
        stop,
      );
    } catch (error) {
      if (abort.signal.aborted) return;
      if (shutdown.aborted) return this.failStream(outgoing, encoder, shutdownError(shutdown));
      if (!outgoing.headersSent) return this.sendError(outgoing, this.clientError(error));
      this.options.onInternalError?.(error);
      outgoing.end(encoder.fail({ kind: 'internal', message: (error as Error).message, code: 'generation_failed' }));
      return;
    }
    if (abort.signal.aborted) return;
    if (shutdown.aborted) return this.failStream(outgoing, encoder, shutdownError(shutdown));
    write(() => encoder.encodeEnd(last, { timings: llamaServerTimings(result.timings) }));
    outgoing.end();
  }

  /** Ends a stream that broke with `error`: an error event after what was sent, or the error itself when nothing was. */
  private failStream(outgoing: ServerResponse, encoder: OpenAIStreamEncoder, error: ClientError): void {
    if (!outgoing.headersSent) return this.sendError(outgoing, error);
    outgoing.end(encoder.fail(error));
  }

  private clientError(error: unknown): ClientError {
    if (error instanceof EngineBusyError) return { kind: 'unavailable', message: error.message, code: error.code };
    const mapped = clientErrorFor(error);
    if (mapped.kind === 'internal') this.options.onInternalError?.(error);
    return mapped;
  }

  private send(outgoing: ServerResponse, status: number, body: string): void {
    outgoing.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
    outgoing.end(body);
  }

  private sendError(outgoing: ServerResponse, error: ClientError): void {
    const rendered = renderOpenAIError(error);
    this.send(outgoing, rendered.status, rendered.body);
  }
}

/** Resolves once `signal` aborts (never when it does not): the other side of a race. */
function aborted(signal: AbortSignal): Promise<{ kind: 'shutdown' }> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve({ kind: 'shutdown' });
    else signal.addEventListener('abort', () => resolve({ kind: 'shutdown' }), { once: true });
  });
}

/** What a client whose request the engine's stop cut short is told: the stop's reason, as a 503 (send it again elsewhere or later). */
function shutdownError(shutdown: AbortSignal): ClientError {
  const reason: unknown = shutdown.reason;
  return { kind: 'unavailable', message: reason instanceof Error ? reason.message : 'the engine stopped before the answer ended', code: 'engine_stopped' };
}

/** A listening HTTP face. */
export interface ListeningFace {
  server: Server;
  url: string;
  host: string;
  port: number;
}

/** Binds the face to host:port (0 picks a free port). */
export async function listen(face: EngineHttpFace, host: string, port: number): Promise<ListeningFace> {
  const server = createServer(face.listener);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const printableHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${printableHost}:${address.port}`, host: address.address, port: address.port };
}

/**
 * A generation's timings under llama-server's names and in its order (`timings` of its chat
 * completions: test/fixtures/llama.cpp-real/chat-nonstream.json): the prompt tokens reused from the
 * cache and those evaluated, how long these took, then the tokens predicted.
 */
function llamaServerTimings(timings: EngineGenerationResult['timings']): Record<string, number> {
  const { promptTokens, cachedTokens, promptMs, predictedMs, predictedTokens } = timings;
  return {
    cache_n: cachedTokens,
    prompt_n: promptTokens,
    prompt_ms: promptMs,
    prompt_per_token_ms: promptTokens === 0 ? 0 : promptMs / promptTokens,
    prompt_per_second: promptMs === 0 ? 0 : (promptTokens * 1000) / promptMs,
    predicted_n: predictedTokens,
    predicted_ms: predictedMs,
    predicted_per_token_ms: predictedTokens === 0 ? 0 : predictedMs / predictedTokens,
    predicted_per_second: predictedMs === 0 ? 0 : (predictedTokens * 1000) / predictedMs,
  };
}
