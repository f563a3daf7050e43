import { counted } from '../common/counted.js';
import type { HostCheck } from '../common/host-check.js';
import { highestSensitivity, SENSITIVITY_LEVELS, SESSION_ID_PATTERN, SESSION_ID_RULE, WORKFLOW_CLASSES, type SensitivityLevel, type WorkflowClass } from '../common/vocabulary.js';
import { answeringEngineReports } from '../engines/manage.js';
import { ownCopyOf, SyndicateError } from '../errors.js';
import type { HomePaths } from '../home/home.js';
import { unknownModelOf, unservableReason } from '../invoke/failure.js';
import { GATEWAY_MODEL_NAMING } from '../invoke/model-naming.js';
import type { AttemptStarted, InvocationInput, InvocationResult, PipelineContext } from '../invoke/types.js';
import { CALLER_REFUSALS, GatewayMetrics, type CallerRefusal } from '../metrics/prometheus.js';
import { readEngineOperationsAfter } from '../metrics/query.js';
import type { McpHttpEndpoint, McpHttpExchange } from '../mcp/http.js';
import { currentProviders } from '../registry/provider-cache.js';
import { classifyLargeOffThread } from '../classify/off-thread.js';
import { estimatePromptTokens, loadClassifier } from '../router/route-request.js';
import { GroupCommitter } from '../store/group-commit.js';
import { parseAnthropicMessagesRequest } from '../wire/anthropic/server.js';
import { OLLAMA_ROOT_ANSWER, ollamaShowModelOf, OLLAMA_VERSION } from '../wire/ollama/server.js';
import { parseResponsesRequest } from '../wire/openai/responses-server.js';
import { ANTHROPIC_BETA_SETTING, type CanonicalRequest, type FieldEffect, type StreamPart, type WireWarning } from '../wire/canonical.js';
import { REASONING_UNSENT_SETTING, requestedEffort } from '../wire/reasoning.js';
import { AccessRecord, type AccessLogEntry } from './access-log.js';
import { TokenGuard } from './auth.js';
import { CorsPolicy } from './cors.js';
import { apiFamilyOf, bodyTooLarge, clientErrorOf, errorReply, GatewayRequestError, hostNotAllowed, invalidHeader, requestIdHeaders, shuttingDown } from './errors.js';
import {
  anthropicFace,
  clientAnswer,
  completionsFace,
  embeddingsFace,
  ollamaChatFace,
  ollamaEmbeddingsFace,
  ollamaEmbedFace,
  ollamaGenerateFace,
  openAIFace,
  partsOfResponse,
  responsesFace,
  type ApiFace,
  type FaceModelManagement,
  type FaceRequest,
  SETTING_FIELDS,
  type StreamEncoder,
} from './faces.js';
import { changeModelResidency } from './model-residency.js';
import { modelById, modelList, ollamaModelId, ollamaModelList, ollamaModelShow, ollamaRunningModelList } from './models.js';
import { SSE_HEADERS, SseChannel } from './sse-channel.js';
import { INPUT_LIMIT_BYTES } from '../validation/input-file.js';

/**
 * 32 MiB, the Messages API's own limit (Anthropic answers a larger request 413 `request_too_large`):
 * a coding agent's long session, resent whole on every turn with the screenshots and files read in
 * it, is taken here wherever the provider would take it. The same bound as every other input
 * (`INPUT_LIMIT_BYTES`: the CLI's files and stdin, MCP's stdio messages).
 */
export const DEFAULT_BODY_LIMIT_BYTES = INPUT_LIMIT_BYTES;

/** The pipeline entry point (`invoke` from src/invoke/pipeline.ts); injectable for tests. */
export type InvokeFunction = (context: PipelineContext, input: InvocationInput) => Promise<InvocationResult>;

/** How to build a gateway core. */
export interface GatewayOptions {
  pipeline: PipelineContext;
  invoke: InvokeFunction;
  /** The bearer token clients must present (`syndicate init` writes it), or a guard that follows its file. */
  token: string | TokenGuard;
  metrics?: GatewayMetrics;
  /** Request bodies above this are refused with 413. Default 32 MiB. */
  bodyLimitBytes?: number;
  /** Trust tier of gateway callers; default: the policy's `defaultTrustTier`. */
  trustTier?: string;
  /** Called with unexpected (500) errors so the operator can see them; the client sees a generic message. */
  onInternalError?: (error: unknown) => void;
  /** Called once per request as it ends (a stream: when it settled), for an access log. */
  onRequestEnd?: (entry: AccessLogEntry) => void;
  /** Browser origins allowed to call the gateway (`serve --cors-origin`); none by default. */
  corsOrigins?: readonly string[];
  /** Refuses requests whose `Host` the gateway does not answer to (DNS rebinding); absent: any `Host`. */
  hostCheck?: HostCheck;
  /** The home the gateway serves: the `syndicate …` commands of error hints name it when it came from `--home`. */
  home?: HomePaths;
  /** The MCP server over Streamable HTTP, served at `/mcp` (`startGateway` gives it); absent: no `/mcp` route. */
  mcp?: McpHttpEndpoint;
}

/**
 * One HTTP request as the core sees it, whichever server received it: the node:http adapter
 * builds one straight from the IncomingMessage, `fetch` from a web `Request`.
 */
export interface GatewayCall {
  method: string;
  /** The path, without query or fragment. */
  path: string;
  /** The query parameters (`queryOf` the request target); absent: none. */
  query?: URLSearchParams;
  /** A header by lower-case name, repeated headers joined with `, ` (as web `Headers.get`); undefined when absent. */
  header(name: string): string | undefined;
  /**
   * The body as text; rejects with a 413 `GatewayRequestError` once it exceeds `limit` bytes. Read
   * only when a route asks for it, once the token, the route and the method are checked.
   */
  readBody(limit: number): Promise<string>;
  /**
   * Aborted when the client goes away (by the adapter) or stops reading a stream (by the
   * core): the pipeline then cancels its upstream call.
   */
  cancellation: AbortController;
  /**
   * The adapter admitted it (`Gateway.admit`) when its head arrived, before any drain began: it
   * is served even when SIGTERM comes while its body is still arriving.
   */
  admitted?: boolean;
}

/** The core's answer: a complete body, or an SSE channel whose frames follow as they are produced. */
export interface GatewayReply {
  status: number;
  headers: Record<string, string>;
  body: string | SseChannel;
}

/** The gateway core: a call in, a reply out; no sockets. `fetch` speaks web Request/Response. */
export interface Gateway {
  handle(call: GatewayCall): Promise<GatewayReply>;
  fetch(request: Request): Promise<Response>;
  readonly metrics: GatewayMetrics;
  /** Inference requests not yet fully settled (streams still running, evidence not yet completed). */
  readonly inFlight: number;
  /** True once `drain` began: new requests are refused. */
  readonly draining: boolean;
  /**
   * Refuses new inference requests (503) and resolves once every request in flight has finished
   * its stream and completed its evidence, and every admitted request has been answered.
   */
  drain(): Promise<void>;
  /**
   * Cancels every inference request in flight with `reason` (an operator's stop that cannot wait
   * for them): each upstream call is aborted and its evidence finished as cancelled by the caller,
   * with the reason's message and the bytes so far. Returns how many were cancelled.
   */
  cancelInFlight(reason: Error): number;
  /**
   * Resolves once every request in flight now has settled: after `cancelInFlight`, once each
   * stream it cut short has written its API's error event and its evidence is complete.
   */
  settledInFlight(): Promise<void>;
  /**
   * Admits a request whose head has arrived (before its body is read), so a drain that begins
   * meanwhile serves it and waits for it: call the returned release once it is answered.
   * Undefined when draining already (the request will be refused).
   */
  admit(): (() => void) | undefined;
}

interface Route {
  method: 'GET' | 'POST';
  /** No token needed (only `/healthz` and Ollama's `GET /`). */
  public?: boolean;
  /**
   * A request from a browser page (an `Origin` header) is refused (403) before anything else
   * unless `--cors-origin` names its origin: MCP's defence against DNS rebinding.
   */
  browserOriginChecked?: boolean;
  handle(call: GatewayCall): Promise<GatewayReply>;
}

/**
 * How `POST /v1/messages/count_tokens` counts: a real BPE tokenizer (not the model's own) plus the
 * margin the router's context-window check uses, so a client compacting at the count does not
 * overrun the window.
 */
const TOKEN_COUNT_METHOD = 'approximate; cl100k_base + 10 %, images 1000 each';

/** `GET /v1/models`: every model a client may ask for. */
const MODEL_LIST_PATH = '/v1/models';
/** `GET /v1/models/{id}`: the rest of the path is the id (`provider:model` ids may hold `/`, as vLLM's do). */
const MODEL_PATH_PREFIX = '/v1/models/';
/** `/v1/responses/{id}[/cancel|/input_items]`: stored responses, which the gateway does not keep. */
const RESPONSES_PATH_PREFIX = '/v1/responses/';
/** `/v1/chat/completions/{id}[/messages]`: stored chat completions (`store: true`), which it does not keep either. */
const CHAT_COMPLETIONS_PATH_PREFIX = '/v1/chat/completions/';
/**
 * Ollama's model store: what Ollama clients offer besides chat (Open WebUI's pull and delete
 * buttons, ollama-js `pull`, `push`, `create`, `copy`, `delete`; `ollama create` uploads to
 * `/api/blobs/{digest}` first). The gateway serves registered models and manages none.
 */
const OLLAMA_MODEL_STORE_PATHS: ReadonlySet<string> = new Set(['/api/pull', '/api/push', '/api/create', '/api/copy', '/api/delete']);
const OLLAMA_BLOBS_PATH_PREFIX = '/api/blobs/';

/** Access-log status of a request whose caller closed the connection before any reply (nginx's). */
const CLIENT_CLOSED_REQUEST = 499;

/** Where the MCP server answers over Streamable HTTP. */
const MCP_PATH = '/mcp';

/** How long `GET /api/ps` waits for each local engine to say what it holds: one slower than this is left out of the list. */
const RUNNING_MODELS_TIMEOUT_MS = 2000;

/**
 * For a path the gateway would serve with `/v1` added or removed, the client's base URL that
 * caused it: an OpenAI client's without `/v1` (it appends `/chat/completions`), or an Anthropic
 * client's with it (it appends `/v1/messages` itself).
 */
function baseUrlClue(path: string, host: string | undefined, served: (path: string) => boolean): string {
  const root = host === undefined ? 'the gateway' : `http://${host}`;
  if (path.startsWith('/v1/v1/') && served(path.slice(3))) {
    return ` (the client's base URL ends in /v1 and the client adds /v1 itself, as Anthropic clients and Claude Code do: give it ${root} without /v1, e.g. ANTHROPIC_BASE_URL=${root})`;
  }
  if (!path.startsWith('/v1/') && served(`/v1${path}`)) {
    return ` (the client's base URL lacks /v1, which OpenAI clients expect in it: give it ${root}/v1, e.g. OPENAI_BASE_URL=${root}/v1)`;
  }
  return '';
}

/**
 * The key of the routes that serve a path: any `/v1/models/{id}` the model route; `/v1/models/`
 * with no id the list, as `/v1/models` (clients that join a base URL ending in `/` ask for it).
 */
function routeKeyOf(path: string): string {
  if (path === MODEL_PATH_PREFIX) return MODEL_LIST_PATH;
  return path.startsWith(MODEL_PATH_PREFIX) ? MODEL_PATH_PREFIX : path;
}

/** The Ollama face's paths: what an Ollama client may send with a trailing slash (`ollamaTrailingSlashRedirect`). */
const OLLAMA_PATH_PREFIX = '/api/';

/**
 * Ollama's router (gin, `RedirectTrailingSlash` on) answers a path one trailing slash away from a
 * route of the same method with a redirect to that route: 301 for GET, 307 (the method and body kept)
 * for any other. The same for the Ollama face's routes (`GET /api/tags/` → `/api/tags`), after the
 * token is checked; undefined for any other path, and for a method the route does not take (a 404, as gin's).
 */
function ollamaTrailingSlashRedirect(call: GatewayCall, routes: ReadonlyMap<string, readonly Route[]>): GatewayReply | undefined {
  const { path, method } = call;
  if (!path.startsWith(OLLAMA_PATH_PREFIX) || !path.endsWith('/') || path.length <= OLLAMA_PATH_PREFIX.length) return undefined;
  const target = path.slice(0, -1);
  const taken = routes.get(target)?.some((route) => route.method === method || (method === 'HEAD' && route.method === 'GET'));
  if (taken !== true) return undefined;
  const query = call.query === undefined || call.query.size === 0 ? '' : `?${call.query.toString()}`;
  const location = `${target}${query}`;
  // Go's http.Redirect writes a short HTML body for GET, none for other methods (gin's 307 for HEAD too).
  if (method === 'GET') {
    return { status: 301, headers: { location, 'content-type': 'text/html; charset=utf-8' }, body: `<a href="${location.replaceAll('&', '&amp;').replaceAll('"', '&#34;')}">Moved Permanently</a>.\n\n` };
  }
  return { status: 307, headers: { location }, body: '' };
}

function modelIdOf(path: string): string {
  const encoded = path.slice(MODEL_PATH_PREFIX.length);
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new GatewayRequestError('invalid_request', `the model id in ${path} is not valid percent-encoding`, { code: 'invalid_model_id' });
  }
}

/** Builds the gateway core. */
export function createGateway(options: GatewayOptions): Gateway {
  // Concurrent requests share their commits (permit + pending row before the call, finishes
  // after). Set on the caller's context itself: it stays the one object the pipeline sees.
  const pipeline = options.pipeline;
  pipeline.commits ??= new GroupCommitter(pipeline.store);
  pipeline.onBackgroundError ??= (error: unknown) => options.onInternalError?.(error);
  // A large request is classified in a worker thread: the event loop keeps serving the other clients meanwhile.
  pipeline.classify ??= classifyLargeOffThread(loadClassifier);
  const commits = pipeline.commits;
  const guard = typeof options.token === 'string' ? new TokenGuard(options.token) : options.token;
  const metrics = options.metrics ?? new GatewayMetrics();
  metrics.followEngineOperations((afterId) => readEngineOperationsAfter(pipeline.store, afterId));
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  // Each request in flight until it settles, with its cancellation (for `cancelInFlight`).
  const inFlight = new Map<Promise<void>, AbortController>();
  let draining = false;
  // Requests admitted at their head and not yet answered (`admit`): a counter, not a promise each,
  // as this runs for every request; drains wait on `admittedWaiters` only while some are left.
  let admitted = 0;
  const admittedWaiters: (() => void)[] = [];
  // Only when an access log is asked for: each call's record, filled by `handle` and the inference route.
  const accessRecords = new WeakMap<GatewayCall, AccessRecord>();

  /** Registers a request as in flight until `settle` is called. */
  const track = (cancellation: AbortController): (() => void) => {
    let settle!: () => void;
    const promise = new Promise<void>((resolve) => {
      settle = resolve;
    });
    inFlight.set(promise, cancellation);
    void promise.then(() => inFlight.delete(promise));
    return settle;
  };

  const inference = (face: ApiFace) => async (call: GatewayCall): Promise<GatewayReply> => {
    if (draining && call.admitted !== true) {
      throw shuttingDown();
    }
    // In flight from here, not from when the body has arrived: reading it can take several turns,
    // and a drain that saw no request in flight meanwhile would close the store under this one.
    const settle = track(call.cancellation);
    let read: FaceRequest | FaceModelManagement;
    let receivedAt: number;
    try {
      const body = await call.readBody(bodyLimit);
      // The request is all here: what follows until the upstream call is the gateway's own time.
      receivedAt = performance.now();
      read = face.parse(body, (name) => call.header(name));
    } catch (error) {
      settle();
      throw error;
    }
    if ('management' in read) {
      try {
        return await manageModel(read, call);
      } finally {
        settle();
      }
    }
    const parsed = read;
    let input: InvocationInput;
    try {
      // Ollama clients add `:latest` to a tagless name (`auto`, an alias): it names that model.
      if (face.family === 'ollama') parsed.request.model = ollamaModelId(pipeline.store, parsed.request.model);
      input = {
        request: parsed.request,
        caller: 'gateway',
        modelNaming: GATEWAY_MODEL_NAMING,
        receivedAt,
        ...readHints(call),
        ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
        signal: call.cancellation.signal,
        ...(parsed.ignoredFields.length === 0 ? {} : { callerWarnings: ignoredFieldWarnings(parsed.ignoredFields) }),
      };
    } catch (error) {
      settle();
      throw error;
    }
    const controller = call.cancellation;
    metrics.started();
    const record = accessRecords.get(call);
    record?.expectInference();
    const finish = (outcome: { result: InvocationResult } | { error: unknown }): void => {
      try {
        if ('result' in outcome) metrics.recordSuccess(face.api, outcome.result);
        else metrics.recordFailure(face.api, outcome.error);
        record?.inferenceEnded({ api: face.api, streamed: parsed.request.stream, ...outcome });
      } finally {
        // Whatever happened above, the request is over: the in-flight count and the drain must know.
        metrics.settled();
        settle();
      }
    };

    if (!parsed.request.stream) {
      let result: InvocationResult;
      try {
        result = await options.invoke(pipeline, input);
      } catch (error) {
        finish({ error });
        throw error;
      }
      finish({ result });
      return {
        status: 200,
        headers: { 'content-type': 'application/json', ...resultHeaders(result), ...fieldHeaders(parsed, result.warnings) },
        body: face.render(result, modelLabel(result.provider.id, result.model), parsed),
      };
    }
    return stream(face, parsed, input, controller, finish);
  };

  /**
   * Loads or unloads the model a request with nothing to answer names (see `changeModelResidency`),
   * then answers as the face's API does. The fields it does not interpret are named in
   * `x-syndicate-ignored-fields` — `keep_alive` and `options.<name>` too when no Ollama engine took them.
   */
  const manageModel = async ({ management, endpoint, render }: FaceModelManagement, call: GatewayCall): Promise<GatewayReply> => {
    const outcome = await changeModelResidency(pipeline, {
      model: ollamaModelId(pipeline.store, management.model),
      requestedName: management.model,
      action: management.action,
      ...(management.keepAlive === undefined ? {} : { keepAlive: management.keepAlive }),
      ...(management.options === undefined ? {} : { options: management.options }),
      ...(endpoint === 'chat' || endpoint === 'generate' ? { completes: endpoint } : {}),
      requestedBy: `gateway: ${call.method} ${call.path}`,
    });
    const notSent = outcome.ollamaSettingsSent ? [] : [...(management.keepAlive === undefined ? [] : ['keep_alive']), ...Object.keys(management.options ?? {}).map((name) => `options.${name}`)];
    const ignored = [...notSent, ...management.ignoredFields].sort();
    return { status: 200, headers: { 'content-type': 'application/json', ...fieldHeaders({ ignoredFields: ignored }, undefined) }, body: render(new Date().toISOString()) };
  };

  /**
   * Streams an answer: the HTTP status waits for the first part the pipeline forwards (so a
   * refusal or an upstream that fails before answering is a proper 403/5xx), then every part
   * is encoded and written as it arrives. Parts forwarded in one synchronous burst (one
   * upstream chunk) are encoded together as one write.
   */
  const stream = async (
    face: ApiFace,
    parsed: FaceRequest,
    input: InvocationInput,
    controller: AbortController,
    finish: (outcome: { result: InvocationResult } | { error: unknown }) => void,
  ): Promise<GatewayReply> => {
    const channel = new SseChannel(() => controller.abort());
    let attempt: AttemptStarted | undefined;
    let attemptStartedAt: number | undefined;
    let encoder: StreamEncoder | undefined;
    const encoderFor = (): StreamEncoder => {
      encoder ??= face.createEncoder(attempt === undefined ? input.request.model : modelLabel(attempt.provider.id, attempt.model), parsed, attemptStartedAt);
      return encoder;
    };
    const batch: StreamPart[] = [];
    let flushScheduled = false;
    let partsSeen = false;
    let announceStart!: () => void;
    const started = new Promise<void>((resolve) => {
      announceStart = resolve;
    });
    const flush = (): void => {
      flushScheduled = false;
      if (batch.length > 0) channel.write(encoderFor().encodeAll(batch.splice(0)));
    };

    const invocation = options.invoke(pipeline, {
      ...input,
      onAttempt: (current) => {
        attempt = current;
        attemptStartedAt = performance.now();
      },
      onPart: (part) => {
        batch.push(part);
        partsSeen = true;
        if (!flushScheduled) {
          flushScheduled = true;
          queueMicrotask(flush);
        }
        announceStart();
      },
      // Parts of one upstream chunk are written together, then the stream waits while the client lags.
      whenWritable: () => {
        flush();
        return channel.whenWritable();
      },
    });
    const settled = invocation.then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    await Promise.race([started, settled]);

    if (!partsSeen) {
      const outcome = await settled;
      finish(outcome);
      if ('error' in outcome) throw outcome.error;
      channel.write(encoderFor().encodeAll(partsOfResponse(clientAnswer(outcome.result))));
      channel.end();
      return streamReply(face, channel, { ...resultHeaders(outcome.result), ...fieldHeaders(parsed, outcome.result.warnings) });
    }

    const headers: Record<string, string> = { ...(attempt === undefined ? {} : attemptHeaders(attempt)), ...fieldHeaders(parsed, attempt?.warnings) };
    void settled.then((outcome) => {
      try {
        flush();
        if ('error' in outcome) channel.write(encoderFor().fail(clientErrorOf(outcome.error, options.home)));
        else if (!encoderFor().closed) channel.write(encoderFor().encodeAll([{ type: 'stream-end' }]));
        channel.end();
      } finally {
        // The evidence is complete once the pipeline settled; the request is no longer in flight.
        finish(outcome);
      }
    });
    return streamReply(face, channel, headers);
  };

  /**
   * A count for a model nothing serves (`/v1/messages/count_tokens`, `/v1/responses/input_tokens`)
   * is refused as the invocation would refuse it (404 `model_not_found`, Anthropic's
   * `not_found_error`): a client must not learn of the unknown name only when it sends the counted
   * request.
   */
  const refuseUnknownModel = (model: string): void => {
    const unknown = unknownModelOf(model, currentProviders(pipeline.store), undefined, unservableReason(pipeline.env, pipeline.health), GATEWAY_MODEL_NAMING);
    if (unknown !== undefined) throw unknown;
  };
  const routes = new Map<string, Route[]>([
    ['/v1/chat/completions', [{ method: 'POST', handle: inference(openAIFace) }]],
    ['/v1/completions', [{ method: 'POST', handle: inference(completionsFace) }]],
    ['/v1/responses', [{ method: 'POST', handle: inference(responsesFace) }]],
    ['/v1/embeddings', [{ method: 'POST', handle: inference(embeddingsFace) }]],
    ['/v1/messages', [{ method: 'POST', handle: inference(anthropicFace) }]],
    ['/api/chat', [{ method: 'POST', handle: inference(ollamaChatFace) }]],
    ['/api/generate', [{ method: 'POST', handle: inference(ollamaGenerateFace) }]],
    ['/api/embed', [{ method: 'POST', handle: inference(ollamaEmbedFace) }]],
    ['/api/embeddings', [{ method: 'POST', handle: inference(ollamaEmbeddingsFace) }]],
    ['/api/tags', [{ method: 'GET', handle: async () => jsonReply(200, ollamaModelList(pipeline.store)) }]],
    [
      '/api/ps',
      [
        {
          method: 'GET',
          // Hosted providers hold nothing resident; local engines are asked at once, and one that does not answer in time is left out.
          handle: async () => jsonReply(200, ollamaRunningModelList(pipeline.store, await answeringEngineReports(pipeline.store, RUNNING_MODELS_TIMEOUT_MS))),
        },
      ],
    ],
    ['/api/version', [{ method: 'GET', handle: async () => jsonReply(200, { version: OLLAMA_VERSION }) }]],
    [
      '/api/show',
      [
        {
          method: 'POST',
          handle: async (call) => {
            const id = ollamaShowModelOf(await call.readBody(bodyLimit));
            const shown = ollamaModelShow(pipeline.store, id);
            if (shown === undefined) {
              throw new GatewayRequestError('not_found', `model "${id}" not found; GET /api/tags lists auto, every provider:model and every alias`, { code: 'model_not_found' });
            }
            return jsonReply(200, shown);
          },
        },
      ],
    ],
    [
      '/v1/messages/count_tokens',
      [
        {
          method: 'POST',
          // Counted here, with the local tokenizer: nothing leaves the host, so nothing to permit or record.
          handle: async (call) => {
            const { request } = parseAnthropicMessagesRequest(await call.readBody(bodyLimit), { countTokens: true });
            refuseUnknownModel(request.model);
            return tokenCountReply({ input_tokens: await estimatePromptTokens(request) });
          },
        },
      ],
    ],
    [
      '/v1/responses/input_tokens',
      [
        {
          method: 'POST',
          // OpenAI's count for the Responses API, the same local estimate: nothing leaves the host or is recorded.
          handle: async (call) => {
            const { request } = parseResponsesRequest(await call.readBody(bodyLimit), { countTokens: true });
            refuseUnknownModel(request.model);
            return tokenCountReply({ object: 'response.input_tokens', input_tokens: await estimatePromptTokens(request) });
          },
        },
      ],
    ],
    [
      MODEL_LIST_PATH,
      [
        {
          method: 'GET',
          handle: async (call) => jsonReply(200, modelList(pipeline.store, apiFamilyOf(call.path, call.header), call.query)),
        },
      ],
    ],
    [
      MODEL_PATH_PREFIX,
      [
        {
          method: 'GET',
          handle: async (call) => {
            const id = modelIdOf(call.path);
            const model = modelById(pipeline.store, id, apiFamilyOf(call.path, call.header));
            if (model === undefined) {
              throw new GatewayRequestError('not_found', `no model "${id}" here; GET /v1/models lists auto, every provider:model and every alias`, {
                code: 'model_not_found',
              });
            }
            return jsonReply(200, model);
          },
        },
      ],
    ],
    [
      '/metrics',
      [
        {
          method: 'GET',
          handle: async () => {
            const exposition = await metrics.exposition();
            return { status: 200, headers: { 'content-type': exposition.contentType }, body: exposition.body };
          },
        },
      ],
    ],
    [
      '/',
      [
        {
          method: 'GET',
          // Ollama's own liveness answer, which Ollama tools (Page Assist, ...) fetch before anything
          // else, without a key: it tells no more than /healthz.
          public: true,
          handle: async () => ({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: OLLAMA_ROOT_ANSWER }),
        },
      ],
    ],
    [
      '/healthz',
      [
        {
          method: 'GET',
          public: true,
          handle: async () => {
            // A store file removed under the gateway, or a store a newer syndicate migrated: it refuses every request, so a monitor should see it down.
            const status = draining
              ? 'draining'
              : pipeline.storeFile?.current() !== undefined
                ? 'store_unavailable'
                : pipeline.store.newerSchema() !== undefined
                  ? 'store_upgraded'
                  : 'ok';
            return jsonReply(status === 'ok' ? 200 : 503, { status, inFlight: inFlight.size });
          },
        },
      ],
    ],
  ]);

  /**
   * `POST /mcp`: one MCP message (or batch) for the SDK's transport, with the body read within the
   * gateway's limit; in flight (a drain waits for it) until its answer ended and its calls' evidence is complete.
   */
  const mcpRoute = (endpoint: McpHttpEndpoint) => async (call: GatewayCall): Promise<GatewayReply> => {
    if (draining && call.admitted !== true) throw shuttingDown();
    const settle = track(call.cancellation);
    let exchange: McpHttpExchange;
    try {
      const body = await call.readBody(bodyLimit);
      exchange = await endpoint({ method: call.method, body, header: (name) => call.header(name), signal: call.cancellation.signal });
    } catch (error) {
      settle();
      throw error;
    }
    void exchange.ended.then(settle);
    return mcpReply(exchange.response, call.cancellation);
  };
  if (options.mcp !== undefined) routes.set(MCP_PATH, [{ method: 'POST', browserOriginChecked: true, handle: mcpRoute(options.mcp) }]);

  const cors = options.corsOrigins === undefined || options.corsOrigins.length === 0 ? undefined : new CorsPolicy(options.corsOrigins);
  /** Refuses a browser page's request (it sends `Origin`) from an origin `--cors-origin` does not name. */
  const refuseForeignOrigin = (call: GatewayCall): void => {
    const origin = call.header('origin');
    if (origin === undefined || cors?.allowedOrigin(call) !== undefined) return;
    throw new GatewayRequestError(
      'permission',
      `a browser page on ${origin} may not call ${call.path} (the origin is checked against DNS rebinding); \`syndicate serve --cors-origin ORIGIN\` lets pages from a named origin call it, with the token`,
      { code: 'origin_not_allowed' },
    );
  };
  const answerLogged = async (call: GatewayCall): Promise<GatewayReply> => {
    if (options.onRequestEnd === undefined) return answer(call);
    const record = new AccessRecord(call, options.onRequestEnd);
    accessRecords.set(call, record);
    return answer(call, record);
  };
  const handle = async (call: GatewayCall): Promise<GatewayReply> => {
    const origin = cors?.allowedOrigin(call);
    if (cors === undefined || origin === undefined) return answerLogged(call);
    const preflight = cors.preflight(call, origin);
    if (preflight === undefined) return cors.decorate(await answerLogged(call), origin);
    // Answered here, before any route; still one request the access log owes a line.
    if (options.onRequestEnd !== undefined) new AccessRecord(call, options.onRequestEnd).replied(preflight.status);
    return preflight;
  };

  const answer = async (call: GatewayCall, record?: AccessRecord): Promise<GatewayReply> => {
    const { path } = call;
    const family = apiFamilyOf(path, call.header);
    try {
      // First of all: a page that reached the gateway by DNS rebinding gets nothing, token or not.
      const host = call.header('host');
      if (host !== undefined && options.hostCheck?.allowsHost(host) === false) throw hostNotAllowed(host);
      const candidates = routes.get(routeKeyOf(path));
      if (candidates?.some((route) => route.browserOriginChecked === true) === true) refuseForeignOrigin(call);
      if (candidates === undefined || !candidates.every((route) => route.public === true)) guard.check(call);
      if (candidates === undefined && path.startsWith(RESPONSES_PATH_PREFIX)) {
        // Clients of the Responses API fetch, cancel or delete a stored response by id (`store`, background mode).
        throw new GatewayRequestError('not_found', `no stored response at ${path}: the gateway keeps no responses (each is answered when asked; \`store\` is ignored); send the conversation as \`input\` again`, {
          code: 'not_found',
        });
      }
      if (candidates === undefined && path.startsWith(CHAT_COMPLETIONS_PATH_PREFIX)) {
        // openai-node's chat.completions.retrieve / update / delete / messages.list, after a request with `store: true`.
        throw new GatewayRequestError('not_found', `no stored chat completion at ${path}: the gateway keeps no chat completions (\`store\` is ignored: each answer goes only to the request that asked for it)`, {
          code: 'not_found',
        });
      }
      if (candidates === undefined && (OLLAMA_MODEL_STORE_PATHS.has(path) || path.startsWith(OLLAMA_BLOBS_PATH_PREFIX))) {
        throw new GatewayRequestError(
          'not_found',
          `${call.method} ${path}: the gateway serves the models its provider records declare and manages none: pull, create, copy, push or delete a model on the engine itself (\`ollama pull NAME\` where Ollama runs), then \`syndicate provider add ollama\` registers what it serves; GET /api/tags lists the models the gateway serves`,
          { code: 'not_found' },
        );
      }
      const redirect = candidates === undefined ? ollamaTrailingSlashRedirect(call, routes) : undefined;
      if (redirect !== undefined) {
        record?.replied(redirect.status);
        return redirect;
      }
      if (candidates === undefined) {
        throw new GatewayRequestError('not_found', `no route ${call.method} ${path}${baseUrlClue(path, call.header('host'), (other) => routes.has(routeKeyOf(other)))}; the gateway serves /v1/chat/completions, /v1/completions, /v1/responses[/input_tokens], /v1/embeddings, /v1/messages[/count_tokens], /v1/models[/{id}], Ollama's /api/chat, /api/generate, /api/embed, /api/embeddings, /api/tags, /api/ps, /api/show, /api/version and GET /, ${options.mcp === undefined ? '' : 'the MCP server at /mcp, '}/metrics and /healthz`, {
          code: 'not_found',
        });
      }
      // HEAD is GET without the body (node's response drops it): health checks and `curl -I`.
      const route = candidates.find((candidate) => candidate.method === call.method || (call.method === 'HEAD' && candidate.method === 'GET'));
      if (route === undefined) {
        const allowed = candidates.flatMap((candidate) => (candidate.method === 'GET' ? ['GET', 'HEAD'] : [candidate.method])).join(', ');
        throw new GatewayRequestError('method_not_allowed', `${call.method} is not allowed on ${path}; use ${allowed}`, {
          code: 'method_not_allowed',
          headers: { allow: allowed },
        });
      }
      const reply = await route.handle(call);
      record?.replied(reply.status);
      return reply;
    } catch (error) {
      if (error instanceof GatewayRequestError && isCallerRefusal(error.code)) metrics.recordCallerRefused(error.code);
      if (clientErrorOf(error).kind === 'internal' && !(error instanceof SyndicateError)) options.onInternalError?.(error);
      const reply = errorReply(error, family, options.home);
      // A caller that went away before its reply: nothing was sent (nginx's 499 in the log).
      record?.replied(call.cancellation.signal.aborted ? CLIENT_CLOSED_REQUEST : reply.status, error);
      return reply;
    }
  };

  return {
    metrics,
    get inFlight() {
      return inFlight.size;
    },
    get draining() {
      return draining;
    },
    handle,
    async fetch(request: Request): Promise<Response> {
      const reply = await handle(callOfRequest(request));
      if (typeof reply.body === 'string') return new Response(reply.body, { status: reply.status, headers: reply.headers });
      return reply.body.toResponse(reply.headers);
    },
    admit(): (() => void) | undefined {
      if (draining) return undefined;
      admitted += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        admitted -= 1;
        if (admitted === 0) for (const wake of admittedWaiters.splice(0)) wake();
      };
    },
    cancelInFlight(reason: Error): number {
      const cancelled = [...inFlight.values()].filter((cancellation) => !cancellation.signal.aborted);
      // Each its own copy: the pipeline adds its request's ids to the error it ends with
      // (`withDetails`), which one shared error would carry for the last request only (the access
      // log would name that request's evidence for every line).
      for (const cancellation of cancelled) cancellation.abort(ownCopyOf(reason));
      return cancelled.length;
    },
    async settledInFlight(): Promise<void> {
      await Promise.all([...inFlight.keys()]);
    },
    async drain(): Promise<void> {
      draining = true;
      while (inFlight.size > 0 || admitted > 0) {
        if (admitted > 0) await new Promise<void>((resolve) => admittedWaiters.push(resolve));
        await Promise.all([...inFlight.keys()]);
      }
      // Finishes committed after their answers were sent.
      await commits.idle();
    },
  };
}

function isCallerRefusal(code: string): code is CallerRefusal {
  return (CALLER_REFUSALS as readonly string[]).includes(code);
}

/** A token count answered on this host, saying how it was counted. */
function tokenCountReply(body: Record<string, unknown>): GatewayReply {
  return { status: 200, headers: { 'content-type': 'application/json', 'x-syndicate-token-count': TOKEN_COUNT_METHOD }, body: JSON.stringify(body) };
}

/** `provider:model`, the id a client can send back to pin the same model. */
function modelLabel(provider: string, model: string): string {
  return `${provider}:${model}`;
}

function resultHeaders(result: InvocationResult): Record<string, string> {
  const { provider, model, evidenceId, requestId } = result;
  return attemptHeaders({ provider, model, sensitivity: result.classification.level, evidenceId, requestId });
}

/** Which attempt answered and where its evidence is; a streamed answer sends them with its first part. */
function attemptHeaders(attempt: Pick<AttemptStarted, 'provider' | 'model' | 'sensitivity' | 'evidenceId' | 'requestId'>): Record<string, string> {
  return {
    'x-syndicate-provider': attempt.provider.id,
    'x-syndicate-model': attempt.model,
    'x-syndicate-sensitivity': attempt.sensitivity,
    'x-syndicate-evidence': attempt.evidenceId,
    'x-syndicate-request': attempt.requestId,
    ...requestIdHeaders(attempt.requestId),
  };
}

/** At most this many ignored field names are named (in the header and the evidence); the rest are counted. */
const IGNORED_FIELDS_NAMED = 20;

/**
 * What became of the client's request fields on the way to the answering provider, in the
 * client's own field names (only names that are safe in a header):
 * - `x-syndicate-ignored-fields`: the fields it was not sent (`metadata, user`) — those the
 *   gateway does not interpret, `anthropic-beta` when the attempt's wire could not send the
 *   client's betas, the reasoning field (`reasoning_effort`, `reasoning.effort`, `think`,
 *   `output_config.effort`, `thinking`) when the wire could not carry the request's reasoning, and
 *   every setting the wire left out (`seed` and `logprobs` on the anthropic wire, `temperature` beside thinking);
 * - `x-syndicate-changed-fields`: the fields it was sent with another value than the client's (a
 *   temperature above 1 sent as 1, `top_p` raised to 0.95 beside thinking, `max_tokens` raised
 *   above a thinking budget or lowered to fit the context window, an effort sent as the nearest level,
 *   an answer format sent as a system-prompt instruction rather than one the provider enforces, or
 *   without strict to OpenAI).
 * The attempt's `warnings` say which (`fields`); a field changed and then left out is ignored.
 */
function fieldHeaders(face: Pick<FaceRequest, 'ignoredFields' | 'settingFields'> & { request?: CanonicalRequest }, attemptWarnings: readonly WireWarning[] | undefined): Record<string, string> {
  // Most answers carry no warning: only the face's own list, without the per-request work below.
  if (attemptWarnings === undefined || attemptWarnings.length === 0) return fieldsHeader('x-syndicate-ignored-fields', face.ignoredFields);
  const { request } = face;
  const betasUnsent = attemptWarnings.some((warning) => warning.setting === ANTHROPIC_BETA_SETTING);
  const reasoningUnsent = attemptWarnings.some((warning) => warning.setting === REASONING_UNSENT_SETTING || warning.setting === 'thinking');
  const reasoningField = request === undefined ? undefined : (requestedEffort(request)?.field ?? (request.thinking === undefined ? undefined : 'thinking'));
  const names = { ...SETTING_FIELDS, ...face.settingFields };
  const fieldOf = (effect: FieldEffect): string | undefined => (effect.setting === 'reasoning' ? reasoningField : names[effect.setting]);
  const effects = attemptWarnings.flatMap((warning) => warning.fields ?? []);
  const left = [...(reasoningUnsent ? [reasoningField] : []), ...effects.filter((effect) => effect.effect === 'dropped').map(fieldOf)];
  const leftOut = [...new Set(left.filter((field): field is string => field !== undefined && !face.ignoredFields.includes(field)))];
  const dropped = leftOut.length === 0 ? face.ignoredFields : [...face.ignoredFields, ...leftOut].sort();
  const changed = new Set(effects.filter((effect) => effect.effect === 'changed').map(fieldOf).filter((field): field is string => field !== undefined && !dropped.includes(field)));
  const ignored = [...(betasUnsent ? ['anthropic-beta'] : []), ...dropped];
  return { ...fieldsHeader('x-syndicate-ignored-fields', ignored), ...fieldsHeader('x-syndicate-changed-fields', [...changed].sort()) };
}

function fieldsHeader(name: string, fields: readonly string[]): Record<string, string> {
  if (fields.length === 0) return {};
  const safe = fields.filter((field) => /^[A-Za-z0-9_.-]{1,64}$/.test(field));
  return { [name]: describeFields(safe, fields.length - safe.length) };
}

/** The same list as evidence warnings, one per field. */
function ignoredFieldWarnings(fields: readonly string[]): WireWarning[] {
  const named = fields.slice(0, IGNORED_FIELDS_NAMED).map((field) => ({ setting: field.slice(0, 64), message: 'not interpreted by the gateway; not sent to the provider' }));
  const rest = fields.length - named.length;
  return rest > 0 ? [...named, { setting: 'more ignored fields', message: `${counted(rest, 'more field')} not interpreted by the gateway` }] : named;
}

function describeFields(names: readonly string[], unnamed: number): string {
  const shown = names.slice(0, IGNORED_FIELDS_NAMED);
  const more = names.length - shown.length + unnamed;
  return [...shown, ...(more > 0 ? [`${more} more`] : [])].join(', ');
}

function jsonReply(status: number, body: unknown): GatewayReply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** A streamed answer: SSE, or the face's own stream type (Ollama's NDJSON) over the same channel. */
function streamReply(face: ApiFace, channel: SseChannel, headers: Record<string, string>): GatewayReply {
  const streamHeaders: Record<string, string> = face.streamContentType === undefined ? { ...SSE_HEADERS } : { ...SSE_HEADERS, 'content-type': face.streamContentType };
  return { status: 200, headers: { ...streamHeaders, ...headers }, body: channel };
}

/**
 * The MCP transport's answer as a reply: its SSE stream relayed frame by frame (the client going
 * away cancels `cancellation`, and with it the calls), anything else read whole. `Connection` is
 * node's to decide (a draining gateway closes the connection after the answer).
 */
async function mcpReply(response: Response, cancellation: AbortController): Promise<GatewayReply> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'connection') headers[name] = value;
  });
  const body = response.body;
  if (body === null || !(headers['content-type'] ?? '').startsWith('text/event-stream')) return { status: response.status, headers, body: await response.text() };
  const channel = new SseChannel(() => cancellation.abort());
  void (async () => {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        channel.write(decoder.decode(value, { stream: true }));
      }
    } finally {
      channel.end();
    }
  })().catch(() => undefined);
  return { status: response.status, headers, body: channel };
}

/** A web Request as a call (in-process callers and tests); the client going away aborts the call. */
function callOfRequest(request: Request): GatewayCall {
  const cancellation = new AbortController();
  const signal = request.signal as AbortSignal | null | undefined;
  if (signal !== undefined && signal !== null) {
    if (signal.aborted) cancellation.abort();
    else signal.addEventListener('abort', () => cancellation.abort(), { once: true });
  }
  return {
    method: request.method,
    path: pathOf(request.url),
    query: queryOf(request.url),
    header: (name) => request.headers.get(name) ?? undefined,
    readBody: (limit) => readBody(request, limit, pathOf(request.url)),
    cancellation,
  };
}

/**
 * The path of a request target, without query or fragment: an origin-form target as node:http
 * hands it over (`/v1/models?x`, which may itself hold `//`) or an absolute URL as a web
 * `Request` has it (`http://host/v1/models?x`).
 */
export function pathOf(target: string): string {
  const queryAt = target.search(/[?#]/);
  const end = queryAt === -1 ? target.length : queryAt;
  let start = 0;
  if (!target.startsWith('/')) {
    const authorityAt = target.indexOf('//');
    start = target.indexOf('/', authorityAt === -1 ? 0 : authorityAt + 2);
    if (start === -1 || start > end) return '/';
  }
  return start === 0 && end === target.length ? target : target.slice(start, end);
}

/** The query parameters of a request target (origin-form or absolute), without its fragment. */
export function queryOf(target: string): URLSearchParams {
  const queryAt = target.indexOf('?');
  if (queryAt === -1) return new URLSearchParams();
  const fragmentAt = target.indexOf('#', queryAt);
  return new URLSearchParams(target.slice(queryAt + 1, fragmentAt === -1 ? undefined : fragmentAt));
}

/** Reads the body as text, refusing with 413 as soon as it exceeds the limit. */
async function readBody(request: Request, limit: number, path: string): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw bodyTooLarge(limit, path);
  if (request.body === null) return '';
  if (declared !== null) return request.text();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw bodyTooLarge(limit, path);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The `x-syndicate-*` hint headers; a malformed one is a 400 naming the header. A header sent more
 * than once arrives as one comma-separated list: repeats of one value are that value, several
 * sensitivity levels are the highest of them (a hint only ever raises the level), and a workflow
 * or session named twice differently is refused rather than guessed.
 */
function readHints(call: GatewayCall): Pick<InvocationInput, 'sensitivityHint' | 'workflow' | 'sessionId'> {
  const hints: Pick<InvocationInput, 'sensitivityHint' | 'workflow' | 'sessionId'> = {};
  const sensitivity = hintValues(call, 'x-syndicate-sensitivity');
  if (sensitivity !== undefined) {
    let highest: SensitivityLevel | undefined;
    for (const value of sensitivity) {
      const level = value.toLowerCase();
      if (!(SENSITIVITY_LEVELS as readonly string[]).includes(level)) {
        throw invalidHeader('x-syndicate-sensitivity', `must be one of ${SENSITIVITY_LEVELS.join(', ')} (got ${JSON.stringify(value)})`);
      }
      highest = highestSensitivity([highest, level as SensitivityLevel]);
    }
    if (highest !== undefined) hints.sensitivityHint = highest;
  }
  const workflow = hintValues(call, 'x-syndicate-workflow');
  if (workflow !== undefined) {
    const value = singleValue('x-syndicate-workflow', workflow.map((item) => item.toLowerCase()));
    if (!(WORKFLOW_CLASSES as readonly string[]).includes(value)) {
      throw invalidHeader('x-syndicate-workflow', `must be one of ${WORKFLOW_CLASSES.join(', ')} (got ${JSON.stringify(value)})`);
    }
    hints.workflow = value as WorkflowClass;
  }
  const session = hintValues(call, 'x-syndicate-session');
  if (session !== undefined) {
    const value = singleValue('x-syndicate-session', session);
    if (!SESSION_ID_PATTERN.test(value)) throw invalidHeader('x-syndicate-session', `must be ${SESSION_ID_RULE}`);
    hints.sessionId = value;
  } else {
    const agentSession = agentSessionOf(call);
    if (agentSession !== undefined) hints.sessionId = agentSession;
  }
  return hints;
}

/** A hint header's values, trimmed (one per line it was sent on, or per element of a comma-separated list); undefined when absent. */
function hintValues(call: GatewayCall, name: string): string[] | undefined {
  return call.header(name)?.split(',').map((value) => value.trim());
}

/** The one value a header sent more than once repeats; a 400 naming it when the values differ. */
function singleValue(name: string, values: readonly string[]): string {
  const distinct = [...new Set(values)];
  if (distinct.length > 1) throw invalidHeader(name, `was sent with different values (${distinct.map((value) => JSON.stringify(value)).join(', ')}): send it once`);
  return distinct[0] ?? '';
}

/** Session headers coding agents send on every request of one conversation: Claude Code's, then Codex CLI's. */
const AGENT_SESSION_HEADERS = ['x-claude-code-session-id', 'session-id', 'session_id'] as const;

/**
 * The agent's own conversation id, so its requests group into one session in the evidence
 * without any configuration. Not our header: a value that is not a valid session id is ignored,
 * never refused.
 */
function agentSessionOf(call: GatewayCall): string | undefined {
  for (const name of AGENT_SESSION_HEADERS) {
    const value = call.header(name)?.trim();
    if (value !== undefined && SESSION_ID_PATTERN.test(value)) return value;
  }
  return undefined;
}
