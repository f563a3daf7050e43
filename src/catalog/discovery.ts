import { join } from 'node:path';

import { engineRoot } from '../common/engine-root.js';
import { shellWord } from '../common/shell-word.js';
import { COMPLETIONS_TAG, FILL_IN_MIDDLE_TAG, type CapabilityClass, type EngineKind } from '../common/vocabulary.js';
import { UpstreamError } from '../errors.js';
import type { ProviderModel } from '../registry/types.js';
import { member } from '../engines/control/http.js';
import { llamaCppModels } from '../engines/control/llama-cpp.js';
import { engineRequest, fetchEngineJson, type EngineAnswer, type EngineAnswerDetails } from '../transport/engine-info.js';
import { examplesDirectory } from './catalog.js';

/** Models read from a running local engine, and what had to be guessed on the way. */
export interface DiscoveryResult {
  engine: EngineKind;
  /** The engine root that was queried, e.g. http://127.0.0.1:11434. */
  engineUrl: string;
  models: ProviderModel[];
  /** Human-readable notes: every guessed value, every skipped model. */
  notes: string[];
}

export interface DiscoveryOptions {
  timeoutMs?: number;
  /** Called before each request, e.g. to update a spinner. */
  onProgress?: (text: string) => void;
  /** Where the engine listens by default (its catalog entry's base URL): named in the hint when another server answers at `baseUrl`. */
  defaultBaseUrl?: string;
  /**
   * The `provider add` command that asked, with the `--id` and `--base-url` it was given: what a
   * note says to run again once the engine is restarted (default: `syndicate provider add KIND`).
   */
  addCommand?: string;
}

/** Context window used when the engine reports none; always noted as a guess. */
export const FALLBACK_CONTEXT_WINDOW = 4096;

/**
 * How to start each engine so that it listens where `baseUrl` says (the hint of an
 * unreachable-engine error): `provider add llama.cpp --base-url http://127.0.0.1:8081/v1` is told
 * `--port 8081`, not the engine's default.
 */
export function engineStartHint(kind: EngineKind, baseUrl: string): string {
  const port = portOf(baseUrl);
  const host = new URL(baseUrl).hostname;
  switch (kind) {
    case 'ollama':
      return `start Ollama with \`${port === '11434' ? '' : `OLLAMA_HOST=${host}:${port} `}ollama serve\` (and \`ollama pull llama3.2:3b\` for a first model), or pass --base-url if it listens elsewhere`;
    case 'llama.cpp':
      return `start it with \`llama-server -m model.gguf --jinja --port ${port}\` (\`--jinja\`: tool calls; the default in current builds), or pass --base-url if it listens elsewhere`;
    case 'vllm':
      return `start it with \`vllm serve <model> --port ${port}\`, or pass --base-url if it listens elsewhere`;
    case 'lmstudio':
      return `start the LM Studio server with \`lms server start --port ${port}\` or from the Developer tab, or pass --base-url if it listens elsewhere`;
    case 'llama-swap':
      return `start it with \`llama-swap --config config.yaml --listen ${host}:${port}\`, or pass --base-url if it listens elsewhere`;
    case 'node-llama-cpp':
      return `start it with \`syndicate engine serve --model model.gguf --port ${port}\`, or pass --base-url if it listens elsewhere`;
  }
}

/** The port a base URL names, or its scheme's. */
function portOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  return url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
}

/**
 * What answered a discovery request, when it is plainly not the engine's API: a 2xx body that is
 * not JSON, or any web page (an engine answers in JSON, its errors too). Undefined otherwise.
 */
function notTheEngine(error: UpstreamError): string | undefined {
  const details = error.details as Partial<EngineAnswerDetails> | undefined;
  if (details?.url === undefined || details.status === undefined) return undefined;
  const html = details.contentType !== undefined && /^text\/html\b/i.test(details.contentType);
  if (error.code !== 'engine_bad_response' && !html) return undefined;
  const type = details.contentType === undefined ? 'no content type' : details.contentType.split(';')[0]?.trim();
  return `${details.url} answered HTTP ${details.status} with ${html ? 'a web page' : 'a body that is not JSON'} (${type})`;
}

/** The hint of another server answering where the engine was looked for: point at the engine's own port, or free this one. */
function otherServerHint(kind: EngineKind, baseUrl: string, defaultBaseUrl: string | undefined): string {
  const port = portOf(baseUrl);
  const usual = defaultBaseUrl === undefined || defaultBaseUrl.replace(/\/+$/, '') === baseUrl.replace(/\/+$/, '') ? '' : ` (${defaultBaseUrl} by default)`;
  return `another server listens on port ${port}: pass --base-url with the address ${kind} listens on${usual}, or start ${kind} on a free port and pass that`;
}

/**
 * The hint of an engine that refused discovery for want of a key (`llama-server --api-key`, `vllm
 * serve --api-key`, LM Studio's authentication): it runs, and `provider add` sends no key.
 */
function keyedEngineHint(kind: EngineKind): string {
  // Named where syndicate is installed: an installed user's current directory holds no providers/examples/.
  const example = kind === 'llama.cpp' ? ` (${shellWord(join(examplesDirectory(), 'llamacpp-local.yaml'))} is one to copy and edit)` : '';
  return `the engine runs but asks for an API key, and provider add sends none: write its provider record with auth.env naming the environment variable that holds the key${example} and register it with \`syndicate provider register FILE\``;
}

/**
 * Asks a running local engine which models it serves and how long their context is:
 * Ollama `GET /api/tags` + `POST /api/show`; llama.cpp `GET /v1/models` + `GET /props` (and, for
 * a single-model llama-server, a one-token `POST /v1/embeddings` and a `POST /apply-template` with
 * a tool: see `probeLlamaServer`); vLLM `GET /v1/models` (`max_model_len`); LM Studio
 * `GET /v1/models` + `GET /api/v0/models`. Metadata and fixed probe texts only (no prompt data),
 * loopback only. Unreachable => UpstreamError (exit 5) whose hint says how to start the engine.
 */
export async function discoverModels(kind: EngineKind, baseUrl: string, options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const root = engineRoot(baseUrl);
  const context: DiscoveryContext = { kind, root, baseUrl: baseUrl.replace(/\/+$/, ''), notes: [], options };
  let models: ProviderModel[];
  try {
    switch (kind) {
      case 'ollama':
        models = await discoverOllama(context);
        break;
      case 'llama.cpp':
      // `syndicate engine serve` answers /v1/models and /props the way llama-server does.
      case 'node-llama-cpp':
        models = await discoverLlamaCpp(context);
        break;
      case 'vllm':
        models = await discoverVllm(context);
        break;
      case 'lmstudio':
        models = await discoverLmStudio(context);
        break;
      case 'llama-swap':
        models = await discoverOpenAiModelList(context);
        break;
    }
  } catch (error) {
    const other = error instanceof UpstreamError ? notTheEngine(error) : undefined;
    if (other !== undefined) {
      throw new UpstreamError(`cannot discover models: what answers at ${root} is not ${kind}'s API: ${other}`, {
        code: 'engine_bad_response',
        isRetryable: false,
        hint: otherServerHint(kind, baseUrl, options.defaultBaseUrl),
        cause: error,
      });
    }
    if (error instanceof UpstreamError) {
      throw new UpstreamError(`cannot discover models: ${kind} at ${root} ${error.status === undefined ? 'is not reachable' : 'answered with an error'} (${error.message})`, {
        code: error.code,
        ...(error.status === undefined ? {} : { status: error.status }),
        hint: error.status === 401 || error.status === 403 ? keyedEngineHint(kind) : engineStartHint(kind, baseUrl),
        cause: error,
      });
    }
    throw error;
  }
  if (models.length === 0) {
    throw new UpstreamError(`${kind} at ${root} serves no chat models, so there is nothing to register`, {
      code: 'engine_no_models',
      isRetryable: false,
      hint: kind === 'ollama' ? 'pull one first, e.g. `ollama pull llama3.2:3b`' : 'load a model into the engine first',
    });
  }
  return { engine: kind, engineUrl: root, models, notes: context.notes };
}

/** Capability guessed from the parameter count in billions: < 10 small, < 40 medium, else large. */
export function capabilityFromParameters(billions: number): CapabilityClass {
  if (billions < 10) return 'small';
  if (billions < 40) return 'medium';
  return 'large';
}

/** Parses `3.2B`, `70B`, `500M` (Ollama's parameter_size) or a model name containing `-7b-`. */
export function parameterBillions(text: string): number | undefined {
  const match = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)\s*([bm])(?![a-z0-9])/i.exec(text);
  if (match === null || match[1] === undefined || match[2] === undefined) return undefined;
  const value = Number(match[1]);
  return match[2].toLowerCase() === 'm' ? value / 1000 : value;
}

interface DiscoveryContext {
  kind: EngineKind;
  root: string;
  baseUrl: string;
  notes: string[];
  options: DiscoveryOptions;
}

async function getJson(context: DiscoveryContext, url: string, body?: Record<string, unknown>): Promise<unknown> {
  context.options.onProgress?.(`${body === undefined ? 'GET' : 'POST'} ${url}`);
  return fetchEngineJson(url, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body }),
    timeoutMs: context.options.timeoutMs ?? 5000,
  });
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
}

function gigabytes(bytes: unknown): number | undefined {
  return typeof bytes === 'number' && bytes > 0 ? Math.round((bytes / 1e9) * 10) / 10 : undefined;
}

function guessCapability(context: DiscoveryContext, modelId: string, reportedBillions: number | undefined): CapabilityClass {
  if (reportedBillions !== undefined) {
    const capability = capabilityFromParameters(reportedBillions);
    context.notes.push(`${modelId}: capabilityClass ${capability} guessed from ${formatBillions(reportedBillions)} parameters`);
    return capability;
  }
  const fromName = parameterBillions(modelId);
  if (fromName !== undefined) {
    const capability = capabilityFromParameters(fromName);
    context.notes.push(`${modelId}: capabilityClass ${capability} guessed from the size in its name (${formatBillions(fromName)})`);
    return capability;
  }
  context.notes.push(`${modelId}: parameter count not reported; capabilityClass set to small`);
  return 'small';
}

function formatBillions(billions: number): string {
  // A test model's 120 768 parameters are 121K, not "0M".
  if (billions < 0.001) return `${Math.round(billions * 1e6)}K`;
  return billions < 1 ? `${Math.round(billions * 1000)}M` : `${Math.round(billions * 10) / 10}B`;
}

function contextOrFallback(context: DiscoveryContext, modelId: string, value: number | undefined, source: string): number {
  if (value !== undefined) return value;
  context.notes.push(`${modelId}: ${source} not reported; contextWindow set to ${FALLBACK_CONTEXT_WINDOW} (edit it if the model allows more)`);
  return FALLBACK_CONTEXT_WINDOW;
}

async function discoverOllama(context: DiscoveryContext): Promise<ProviderModel[]> {
  const tags = record(await getJson(context, `${context.root}/api/tags`));
  const models: ProviderModel[] = [];
  for (const entry of list(tags.models)) {
    const item = record(entry);
    const id = typeof item.name === 'string' ? item.name : typeof item.model === 'string' ? item.model : undefined;
    if (id === undefined) continue;
    const show = record(await getJson(context, `${context.root}/api/show`, { model: id }));
    const capabilities = list(show.capabilities).filter((capability): capability is string => typeof capability === 'string');
    // all-minilm, nomic-embed-text, bge-m3: `embedding` and no `completion`. Registered for /v1/embeddings only.
    const embedding = capabilities.includes('embedding') && !capabilities.includes('completion');
    if (embedding) context.notes.push(`${id}: an embedding model (capabilities ${capabilities.join(', ')}): registered with kind embedding`);
    else if (capabilities.length > 0 && !capabilities.includes('completion')) {
      context.notes.push(`${id}: skipped (capabilities ${capabilities.join(', ')}; neither a chat nor an embedding model)`);
      continue;
    }
    const modelInfo = record(show.model_info);
    const architecture = typeof modelInfo['general.architecture'] === 'string' ? modelInfo['general.architecture'] : undefined;
    const contextLength =
      positiveInteger(architecture === undefined ? undefined : modelInfo[`${architecture}.context_length`]) ??
      positiveInteger(Object.entries(modelInfo).find(([key]) => key.endsWith('.context_length'))?.[1]);
    const details = record(show.details ?? item.details);
    const family = nonEmptyString(details.family) ?? nonEmptyString(architecture);
    const parameterSize = typeof details.parameter_size === 'string' ? parameterBillions(details.parameter_size) : undefined;
    const parameterCount = typeof modelInfo['general.parameter_count'] === 'number' ? modelInfo['general.parameter_count'] / 1e9 : undefined;
    const vramGb = gigabytes(item.size);
    if (vramGb !== undefined) context.notes.push(`${id}: vramGb ${vramGb} estimated from the model file size`);
    // `thinking`: the model takes a reasoning effort (Ollama answers `think` for any other with a 400).
    // `completions`: Ollama's /v1/completions continues a prompt with any model that completes text;
    // `fill-in-middle`: it takes a `suffix` only for a model whose template has one (capability `insert`).
    const tags = [
      ...capabilities.filter((capability) => capability === 'tools' || capability === 'vision' || capability === 'thinking'),
      ...(embedding ? [] : [COMPLETIONS_TAG]),
      ...(capabilities.includes('insert') ? [FILL_IN_MIDDLE_TAG] : []),
    ];
    models.push({
      id,
      ...(embedding ? { kind: 'embedding' as const } : {}),
      contextWindow: contextOrFallback(context, id, contextLength, 'context_length'),
      capabilityClass: guessCapability(context, id, parameterSize ?? parameterCount),
      ...(vramGb === undefined ? {} : { vramGb }),
      ...(tags.length === 0 ? {} : { tags }),
      ...(family === undefined ? {} : { family }),
    });
  }
  return models;
}

/** `value` when it is a string with something in it (Ollama and llama-server report an unknown family as `""`). */
function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

async function discoverLlamaCpp(context: DiscoveryContext): Promise<ProviderModel[]> {
  const listingBody = await getJson(context, `${context.baseUrl}/models`);
  const listing = record(listingBody);
  const props = record(await getJson(context, `${context.root}/props`));
  const generation = record(props.default_generation_settings);
  const serverContext = positiveInteger(generation.n_ctx) ?? positiveInteger(props.n_ctx);
  // llama-server itself (not `engine serve`, which answers the same listing) started with -m: its
  // one model, whose flags /props does not report, is asked what it takes (see `probeLlamaServer`).
  // A router is not probed: each probe would load a model.
  const singleModel = context.kind === 'llama.cpp' && !llamaCppModels(listingBody).router;
  const models: ProviderModel[] = [];
  // Every name listed, and those given so far: a record's names are unique across its models.
  const names = new Set(list(listing.data).map((entry) => record(entry).id));
  for (const entry of list(listing.data)) {
    const item = record(entry);
    if (typeof item.id !== 'string') continue;
    const id = singleModel ? shortLlamaCppId(context, item.id, props.model_path) : item.id;
    const meta = record(item.meta);
    const trained = positiveInteger(meta.n_ctx_train);
    // A router lists the context of a model it has loaded (meta.n_ctx), else the arguments it starts it with.
    const started = singleModel ? undefined : (positiveInteger(meta.n_ctx) ?? routerModelContext(member(item.status, 'args')));
    let contextWindow: number;
    if (serverContext !== undefined) contextWindow = serverContext;
    else if (started !== undefined) {
      contextWindow = started;
      context.notes.push(`${id}: contextWindow ${started}, the context its router ${positiveInteger(meta.n_ctx) === undefined ? 'starts it with (--ctx-size, per --parallel slot)' : 'loaded it with'}`);
    } else if (trained !== undefined) {
      contextWindow = trained;
      context.notes.push(`${id}: /props reported no n_ctx; contextWindow set to the trained context ${trained}`);
    } else contextWindow = contextOrFallback(context, id, undefined, 'n_ctx');
    const parameters = typeof meta.n_params === 'number' ? meta.n_params / 1e9 : undefined;
    const vramGb = gigabytes(meta.size);
    if (vramGb !== undefined) context.notes.push(`${id}: vramGb ${vramGb} estimated from the model file size`);
    const served = singleModel ? await probeLlamaServer(context, id) : undefined;
    const aliases = llamaCppAliases(item, id, names);
    if (aliases.length > 0) context.notes.push(`${id}: also served as ${aliases.join(', ')} (llama-server's --alias), registered as its aliases`);
    if (context.kind === 'llama.cpp' && !singleModel) {
      context.notes.push(`${id}: not tagged tools (a router's models are not probed, since a probe would load each one): add tools to its tags by hand if the router starts its models with --jinja (the default in current builds)`);
    }
    models.push({
      id,
      ...(served?.embedding === true ? { kind: 'embedding' as const } : {}),
      contextWindow,
      capabilityClass: guessCapability(context, id, parameters),
      ...(vramGb === undefined ? {} : { vramGb }),
      // llama-server's /v1/completions continues a prompt; it refuses `suffix` (its fill-in-the-middle is /infill).
      ...(served?.embedding === true ? {} : { tags: [...(served?.tools === true ? ['tools'] : []), COMPLETIONS_TAG] }),
      ...(aliases.length === 0 ? {} : { aliases }),
    });
  }
  return models;
}

/**
 * The other names llama-server lists for a model in `/v1/models` (`aliases`: every name of
 * `--alias a,b`, the first being its id; its `-m` path alone without one): those that are not the
 * id it is registered under, nor a name listed or given already (`taken`, which they join: a
 * record's names are unique across its models), as the record schema takes them.
 */
function llamaCppAliases(item: Record<string, unknown>, id: string, taken: Set<unknown>): string[] {
  taken.add(id);
  const aliases: string[] = [];
  for (const name of list(item.aliases)) {
    if (typeof name !== 'string' || name === '' || name.length > 200 || taken.has(name)) continue;
    taken.add(name);
    aliases.push(name);
  }
  return aliases;
}

/**
 * The context a llama-server router gives a model, read from the arguments it lists for the
 * model's process (`status.args`, from its presets and its own flags): `--ctx-size N` (`-c N`),
 * split between `--parallel P` (`-np P`) slots unless `--kv-unified` (`-kvu`), as llama-server
 * splits it. Undefined without `--ctx-size`: the model then gets its trained context, which the
 * router does not list.
 */
export function routerModelContext(args: unknown): number | undefined {
  if (!Array.isArray(args)) return undefined;
  const words = args.filter((word): word is string => typeof word === 'string');
  const value = (...names: string[]): number | undefined => {
    let found: number | undefined;
    words.forEach((word, index) => {
      if (names.includes(word)) found = positiveInteger(Number(words[index + 1]));
    });
    return found;
  };
  const size = value('--ctx-size', '-c');
  if (size === undefined) return undefined;
  const slots = value('--parallel', '-np') ?? 1;
  const unified = words.includes('--kv-unified') || words.includes('-kvu');
  return unified || slots <= 1 ? size : Math.floor(size / slots);
}

/**
 * The id a single-model llama-server's model is registered under. Started with `-m PATH` and no
 * `--alias` it names its model by that path (`/models/qwen2.5-7b-instruct-q4_k_m.gguf`, the
 * `model_path` of /props); the record names it by the file without `.gguf`, as llama-server's
 * router names the files of `--models-dir`. A single-model server answers whatever model a
 * request names, and engine status, load and start match the path to that name
 * (`sameLlamaCppModel`). An alias is kept as it is.
 */
function shortLlamaCppId(context: DiscoveryContext, served: string, modelPath: unknown): string {
  const name = served.split(/[\\/]/).pop() ?? served;
  // A name without a directory (-m run from the model's own directory) is kept as it is: engine
  // status matches a path's file name only, never `tiny.gguf` to `tiny` (it may be an alias).
  if (served !== modelPath || name === served || !/^.+\.gguf$/i.test(name)) return served;
  const file = name.replace(/\.gguf$/i, '');
  context.notes.push(`${file}: llama-server names it by its -m path ${served}; registered under its file name (a single-model llama-server answers whatever model a request names)`);
  return file;
}

/** What a single-model llama-server takes beyond chat, found by asking it (`probeLlamaServer`). */
interface LlamaServerFlags {
  /** Started with --jinja (the default in current builds): it takes tools. */
  tools: boolean;
  /** Started with --embeddings and its model pools: POST /v1/embeddings answers. */
  embedding: boolean;
}

/** The one function of a tools probe: any tool does, the template only renders it. */
const PROBE_TOOLS = [{ type: 'function', function: { name: 'probe', description: 'probe', parameters: { type: 'object', properties: {} } } }];

/**
 * /props reports the same whatever the flags (measured, commit de3ff81: `chat_template_caps`
 * describes the template even with --no-jinja, and nothing says --embeddings), so two loopback
 * requests ask the server itself:
 * - `POST /apply-template` with a tool renders the template without generating anything, through
 *   the same parsing as a chat request: 200 with --jinja, HTTP 500 "tools param requires --jinja
 *   flag" without. Anything else answers: not tagged tools (fail closed), with a note.
 * - `POST /v1/embeddings` of one token: 200 when started with --embeddings and the model pools
 *   (an embedding model); HTTP 501 without --embeddings (--pooling alone included); HTTP 400
 *   "Pooling type 'none'" for --embeddings on a model that pools nothing (a chat model).
 * llama.cpp calls --embeddings "restrict to only support embedding use case; use only with
 * dedicated embedding models", so a server whose embeddings answer is registered as embedding,
 * even though it still answers chat requests: one kind per model id (see the README).
 */
async function probeLlamaServer(context: DiscoveryContext, id: string): Promise<LlamaServerFlags> {
  const embeddingsUrl = `${context.baseUrl}/embeddings`;
  const embeddings = await probe(context, embeddingsUrl, { model: id, input: 'x' });
  if (embeddings.status === 200) {
    context.notes.push(
      `${id}: an embedding model (started with --embeddings; POST /v1/embeddings answers): registered with kind embedding. llama-server answers its chat requests too, but llama.cpp means --embeddings for embedding models only; for chat start a second llama-server without --embeddings and \`syndicate provider add llama.cpp --id NAME --base-url URL\` it`,
    );
    return { tools: false, embedding: true };
  }
  if (embeddings.status === 400 && /pooling type 'none'/i.test(embeddings.text)) {
    context.notes.push(`${id}: started with --embeddings, but its model pools nothing, so POST /v1/embeddings refuses it (${quoteEngine(embeddings.text)}): registered as a chat model; to serve embeddings start it with --embeddings --pooling mean (or cls, last)`);
  } else if (embeddings.status !== 501) {
    context.notes.push(`${id}: POST /v1/embeddings answered ${describeAnswer(embeddings)}: registered as a chat model`);
  }
  const rendered = await probe(context, `${context.root}/apply-template`, { messages: [{ role: 'user', content: 'probe' }], tools: PROBE_TOOLS });
  if (rendered.status === 200) return { tools: true, embedding: false };
  if (/requires --jinja/.test(rendered.text)) {
    context.notes.push(`${id}: not tagged tools: llama-server runs without --jinja (POST /apply-template answered ${quoteEngine(rendered.text)}), so it refuses requests with tools; start it with --jinja (or without --no-jinja) and run \`${context.options.addCommand ?? 'syndicate provider add llama.cpp'}\` again to tag it tools`);
  } else {
    context.notes.push(`${id}: not tagged tools: whether llama-server takes tools could not be told (POST /apply-template answered ${describeAnswer(rendered)}); if it runs with --jinja, add tools to the model's tags by hand`);
  }
  return { tools: false, embedding: false };
}

/** One probe request; nothing answering is `status: 0`, any HTTP status is returned. */
async function probe(context: DiscoveryContext, url: string, body: Record<string, unknown>): Promise<EngineAnswer> {
  context.options.onProgress?.(`POST ${url}`);
  try {
    return await engineRequest(url, { method: 'POST', body, timeoutMs: context.options.timeoutMs ?? 5000 });
  } catch (error) {
    if (error instanceof UpstreamError) return { status: 0, text: error.message };
    throw error;
  }
}

function describeAnswer(answer: EngineAnswer): string {
  return answer.status === 0 ? `nothing (${answer.text})` : `HTTP ${answer.status} ${quoteEngine(answer.text)}`;
}

/** The engine's own error message, else the start of its body. */
function quoteEngine(text: string): string {
  try {
    const message = record(record(JSON.parse(text) as unknown).error).message;
    if (typeof message === 'string') return `"${message}"`;
  } catch {
    // Not JSON: the body as it came.
  }
  return `"${text.slice(0, 120)}"`;
}

/** The entries of the engine's OpenAI model listing (`GET /models`) that carry a string id, in its order. */
async function listedModels(context: DiscoveryContext): Promise<{ id: string; item: Record<string, unknown> }[]> {
  const listing = record(await getJson(context, `${context.baseUrl}/models`));
  return list(listing.data).flatMap((entry) => {
    const item = record(entry);
    return typeof item.id === 'string' ? [{ id: item.id, item }] : [];
  });
}

async function discoverVllm(context: DiscoveryContext): Promise<ProviderModel[]> {
  return (await listedModels(context)).map(({ id, item }) => ({
    id,
    contextWindow: contextOrFallback(context, id, positiveInteger(item.max_model_len), 'max_model_len'),
    capabilityClass: guessCapability(context, id, undefined),
    // vLLM's /v1/completions continues a prompt; it refuses `suffix` ("suffix is not currently supported").
    tags: [COMPLETIONS_TAG],
  }));
}

async function discoverLmStudio(context: DiscoveryContext): Promise<ProviderModel[]> {
  const listed = await listedModels(context);
  const details = new Map<string, Record<string, unknown>>();
  try {
    const native = record(await getJson(context, `${context.root}/api/v0/models`));
    for (const entry of list(native.data)) {
      const item = record(entry);
      if (typeof item.id === 'string') details.set(item.id, item);
    }
  } catch (error) {
    // Older LM Studio builds have no /api/v0; the OpenAI listing alone still registers.
    if (!(error instanceof UpstreamError) || error.status === undefined) throw error;
    context.notes.push(`GET /api/v0/models answered HTTP ${error.status}; context windows could not be read`);
  }
  return listed.map(({ id }): ProviderModel => {
    const native = details.get(id);
    const embedding = native !== undefined && native.type === 'embeddings';
    if (embedding) context.notes.push(`${id}: an embeddings model: registered with kind embedding`);
    const capabilities = list(native?.capabilities);
    // `completions`: LM Studio's /v1/completions continues a prompt with a loaded LLM (its docs list
    // no `suffix`, so not fill-in-middle); only a model /api/v0 names `llm` or `vlm`, so neither an
    // embeddings model nor one an older build leaves untyped.
    const generates = native?.type === 'llm' || native?.type === 'vlm';
    const tags = [
      ...(capabilities.includes('tool_use') ? ['tools'] : []),
      ...(native?.type === 'vlm' ? ['vision'] : []),
      ...(generates ? [COMPLETIONS_TAG] : []),
    ];
    const maximum = positiveInteger(native?.max_context_length);
    const loaded = positiveInteger(native?.loaded_context_length);
    if (maximum !== undefined && loaded !== undefined && loaded < maximum) {
      context.notes.push(`${id}: loaded with a ${loaded}-token context: a longer prompt is routed to another model, or refused, until it is loaded with more (\`lms load ${id} --context-length ${maximum}\`; the model allows ${maximum})`);
    }
    return {
      id,
      ...(embedding ? { kind: 'embedding' as const } : {}),
      contextWindow: contextOrFallback(context, id, maximum, 'max_context_length'),
      capabilityClass: guessCapability(context, id, undefined),
      ...(tags.length === 0 ? {} : { tags }),
    };
  });
}

/**
 * llama-swap: the models of its config.yaml from `GET /v1/models`, which says nothing of their
 * context or what the server behind each takes; asking that server (`/upstream/MODEL/props`)
 * would start the model, so nothing is guessed beyond the listing, and the notes say so.
 */
async function discoverOpenAiModelList(context: DiscoveryContext): Promise<ProviderModel[]> {
  const listed = await listedModels(context);
  if (listed.length > 0) {
    context.notes.push(
      `not tagged tools or completions: ${context.kind} does not say what the server behind each model takes (asking it would start the model); add them to a model's tags by hand when its cmd serves them (llama-server: completions always, tools with --jinja, the default in current builds)`,
    );
  }
  return listed.map(({ id }) => ({
    id,
    contextWindow: contextOrFallback(context, id, undefined, 'context window'),
    capabilityClass: guessCapability(context, id, undefined),
  }));
}
