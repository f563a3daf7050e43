import { ollamaDefaultContext, ollamaLoadedContext, type EngineState, type ResolvedModel } from './engine-state.js';
import { findOllamaModel } from './discovery.js';
import { parseJsonObject } from './model-behaviour.js';
import { loadJsonTemplate } from './templates.js';
import { compactJson, goJson, jsonHeaders, prettyJson, type Reply } from './wire-format.js';

type Json = Record<string, unknown>;
type Later = (delayMs: number, action: () => void) => void;

/** Ollama's default size for a model without one (the captured /api/ps payload's). */
function ollamaSize(model: ResolvedModel): number {
  const template = loadJsonTemplate<{ models: Json[] }>('ollama', 'api-ps.json').models[0]!;
  return model.sizeBytes ?? (template['size'] as number);
}

/**
 * The engines' model-management endpoints (what `syndicate engine load|unload|status` drives):
 * Ollama's load/unload through `/api/generate` with no prompt, llama.cpp's router
 * (`/models/load`, `/models/unload`, `status` in the model list), LM Studio's v1 REST API and
 * vLLM's sleep mode. Each answers as the real engine does, quirks included: Ollama answers an
 * unload before the model leaves `/api/ps`; llama.cpp's router answers a load at once and loads
 * in the background; LM Studio loads a second instance of a loaded model.
 * Returns undefined for any other request; a promise for answers that come after a delay.
 */
export function answerControl(state: EngineState, method: string, path: string, body: Buffer, later: Later): Reply | Promise<Reply> | undefined {
  switch (state.kind) {
    case 'ollama':
      return method === 'POST' && (path === '/api/generate' || path === '/api/embed') ? ollamaGenerate(state, path, body, later) : undefined;
    case 'llama.cpp':
      return state.router ? llamaCppRouter(state, method, path, body, later) : undefined;
    case 'lmstudio':
      return lmStudio(state, method, path, body, later);
    case 'vllm':
      return state.sleepMode ? vllmSleep(state, method, path) : undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- Ollama

function ollamaJson(value: unknown, status = 200): Reply {
  // gin's c.JSON: compact, no trailing newline.
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: goJson(value) };
}

/** Go's `math.MaxInt64` nanoseconds, in milliseconds: the keep-alive of a negative `keep_alive` (for ever). */
const OLLAMA_FOREVER_MS = 9_223_372_036_854;
const GO_DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `keep_alive` in milliseconds as Ollama's api.Duration reads it (seconds, or a Go duration; negative: for ever); default 5 minutes. */
function keepAliveMs(value: unknown): number {
  let milliseconds = 5 * 60_000;
  if (typeof value === 'number') milliseconds = value * 1000;
  else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) milliseconds = Number(value) * 1000;
  else if (typeof value === 'string') {
    const sign = value.startsWith('-') ? -1 : 1;
    milliseconds = sign * [...value.matchAll(/(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g)].reduce((sum, [, amount, unit]) => sum + Number(amount) * (GO_DURATION_UNITS_MS[unit as string] as number), 0);
  }
  return milliseconds < 0 ? OLLAMA_FOREVER_MS : milliseconds;
}

/**
 * Ollama's loads and unloads: `/api/generate` without a prompt (with `keep_alive: 0`, an unload,
 * checked before anything else), `/api/embed` without input. A load starts a runner with the
 * request's `options.num_ctx` (at most the model's own context, as Ollama clamps it) that
 * expires after its `keep_alive`; a loaded model whose runner has that context only has its
 * expiry set anew, at once. GenerateHandler refuses a model without the completion capability
 * (`"%q does not support generate"`, 400, the name as sent); EmbedHandler asks for none.
 */
function ollamaGenerate(state: EngineState, path: string, body: Buffer, later: Later): Reply | Promise<Reply> {
  const request = parseJsonObject(body);
  if (request === undefined) return ollamaJson({ error: 'invalid character looking for beginning of value' }, 400);
  const name = request['model'];
  const model = findOllamaModel(state, name);
  if (model === undefined) return ollamaJson({ error: `model "${String(name)}" not found, try pulling it first` }, 404);
  const payload = path === '/api/embed' ? request['input'] : request['prompt'];
  if (payload !== undefined && payload !== null && payload !== '' && !(Array.isArray(payload) && payload.length === 0)) {
    return ollamaJson({ error: `the fake engine only answers ${path} loads and unloads (no ${path === '/api/embed' ? 'input' : 'prompt'})` }, 501);
  }
  if (path === '/api/generate' && (request['keep_alive'] === 0 || request['keep_alive'] === '0')) {
    // The runner is expired in the background: /api/ps still lists the model for a moment.
    later(state.loadDelayMs, () => {
      state.resident.delete(model.id);
      state.ollamaRunners.delete(model.id);
    });
    return ollamaJson({ model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'unload' });
  }
  if (path === '/api/generate' && model.embedding === true) return ollamaJson({ error: `${JSON.stringify(name)} does not support generate` }, 400);
  const options = request['options'];
  const asked = typeof options === 'object' && options !== null ? (options as Json)['num_ctx'] : undefined;
  const contextLength = typeof asked === 'number' && asked > 0 ? Math.min(asked, model.contextWindow) : ollamaDefaultContext(state, model);
  const answer = (): Reply =>
    ollamaJson(path === '/api/embed' ? { model: name, embeddings: [] } : { model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
  const runner = { expiresAt: Date.now() + keepAliveMs(request['keep_alive']), contextLength };
  if (state.resident.has(model.id) && ollamaLoadedContext(state, model) === contextLength) {
    state.ollamaRunners.set(model.id, runner);
    return answer();
  }
  return new Promise((resolve) =>
    later(state.loadDelayMs, () => {
      state.resident.add(model.id);
      state.ollamaRunners.set(model.id, { ...runner, expiresAt: Date.now() + keepAliveMs(request['keep_alive']) });
      resolve(answer());
    }),
  );
}

// ---------------------------------------------------------------- llama.cpp router

function llamaJson(state: EngineState, path: string, value: unknown, status = 200): Reply {
  return { status, headers: jsonHeaders(state.kind, path), body: compactJson(value) };
}

function llamaError(state: EngineState, path: string, status: number, message: string, type: string): Reply {
  return llamaJson(state, path, { error: { code: status, message, type } }, status);
}

function routerStatus(state: EngineState, model: ResolvedModel): string {
  const transition = state.transitions.get(model.id);
  if (transition === 'loading') return 'loading';
  return state.resident.has(model.id) ? 'loaded' : 'unloaded';
}

function llamaCppRouter(state: EngineState, method: string, path: string, body: Buffer, later: Later): Reply | undefined {
  if (method === 'GET' && (path === '/v1/models' || path === '/models')) {
    const created = Math.floor(Date.now() / 1000);
    // Key order and fields as llama-server's router writes them (ordered_json), captured from the
    // build the engine suite runs: `llama-server --models-dir DIR -c N -t 1`, N the model's
    // context; a loaded model also has the `meta` of its process (router-models-one-loaded.http).
    const meta = (loadJsonTemplate<{ data: Array<Record<string, unknown>> }>('llama.cpp', 'v1-models.json').data[0]?.['meta'] ?? {}) as Record<string, unknown>;
    const data = state.models.map((model) => {
      const status = routerStatus(state, model);
      const file = `/models/${model.id}.gguf`;
      return {
        id: model.id,
        aliases: [],
        tags: [],
        object: 'model',
        owned_by: 'llamacpp',
        created,
        status: {
          value: status,
          args: ['llama-server', '--host', '127.0.0.1', '--port', status === 'unloaded' ? '0' : '49505', '--alias', model.id, '--ctx-size', String(model.contextWindow), '--model', file, '--threads', '1'],
          preset: `[${model.id}]\nctx-size = ${model.contextWindow}\nmodel = ${file}\nthreads = 1\n\n`,
        },
        architecture: { input_modalities: ['text'], output_modalities: ['text'] },
        source: 'models_dir',
        can_remove: false,
        ...(status === 'loaded' ? { meta: { ...meta, n_ctx: model.contextWindow, n_ctx_train: Math.max(model.contextWindow, Number(meta['n_ctx_train'])) } } : {}),
      };
    });
    return llamaJson(state, path, { data, object: 'list' });
  }
  if (method !== 'POST' || (path !== '/models/load' && path !== '/models/unload')) return undefined;
  const name = parseJsonObject(body)?.['model'];
  const model = state.models.find((candidate) => candidate.id === name);
  const running = model !== undefined && routerStatus(state, model) !== 'unloaded';
  if (path === '/models/load') {
    if (model === undefined) return llamaJson(state, path, { error: { message: 'File Not Found', type: 'not_found_error', code: 404 } }, 404);
    if (running) return llamaError(state, path, 400, 'model is already running', 'invalid_request_error');
    state.transitions.set(model.id, 'loading');
    later(state.loadDelayMs, () => {
      state.transitions.delete(model.id);
      state.resident.add(model.id);
    });
    return llamaJson(state, path, { success: true });
  }
  if (model === undefined) return llamaError(state, path, 400, 'model is not found', 'invalid_request_error');
  if (!running) return llamaError(state, path, 400, 'model is not running', 'invalid_request_error');
  // The child process is told to exit; the model reads `loaded` until it has.
  later(Math.ceil(state.loadDelayMs / 2), () => state.resident.delete(model.id));
  return llamaJson(state, path, { success: true });
}

// ---------------------------------------------------------------- LM Studio v1 REST API

const lmInstances = new WeakMap<EngineState, Map<string, string[]>>();

/** LM Studio's loaded instances, kept in step with what requests loaded (JIT) and evicted since. */
function instancesOf(state: EngineState): Map<string, string[]> {
  let instances = lmInstances.get(state);
  if (instances === undefined) {
    instances = new Map();
    lmInstances.set(state, instances);
  }
  for (const id of state.resident) if ((instances.get(id) ?? []).length === 0) instances.set(id, [id]);
  for (const id of instances.keys()) if (!state.resident.has(id)) instances.delete(id);
  return instances;
}

function lmJson(value: unknown, status = 200): Reply {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-Powered-By': 'Express' }, body: prettyJson(value) };
}

function lmStudio(state: EngineState, method: string, path: string, body: Buffer, later: Later): Reply | Promise<Reply> | undefined {
  const instances = instancesOf(state);
  if (method === 'GET' && path === '/api/v1/models') {
    const models = state.models.map((model) => ({
      type: model.embedding === true ? 'embedding' : 'llm',
      publisher: 'lmstudio-community',
      key: model.id,
      display_name: model.id,
      architecture: 'qwen2',
      quantization: { name: 'Q4_K_M', bits_per_weight: 4.8 },
      size_bytes: model.sizeBytes ?? 4_683_073_184,
      params_string: '7B',
      loaded_instances: (instances.get(model.id) ?? []).map((id) => ({ id, config: { context_length: Math.min(4096, model.contextWindow), eval_batch_size: 512, flash_attention: false, num_experts: 0, offload_kv_cache_to_gpu: true } })),
      max_context_length: model.contextWindow,
      format: 'gguf',
      capabilities: { vision: false, trained_for_tool_use: true },
      description: null,
    }));
    return lmJson({ models });
  }
  if (method !== 'POST') return undefined;
  if (path === '/api/v1/models/load') {
    const key = parseJsonObject(body)?.['model'];
    const model = state.models.find((candidate) => candidate.id === key);
    if (model === undefined) return lmJson({ error: { message: `Model "${String(key)}" not found`, type: 'model_not_found' } }, 404);
    return new Promise((resolve) =>
      later(state.loadDelayMs, () => {
        // A model already loaded gets a second instance, `key:2`.
        const existing = instances.get(model.id) ?? [];
        const id = existing.length === 0 ? model.id : `${model.id}:${existing.length + 1}`;
        instances.set(model.id, [...existing, id]);
        state.resident.add(model.id);
        state.jitLoaded.delete(model.id); // loaded on purpose: not Auto-Evict's to unload
        resolve(lmJson({ type: 'llm', instance_id: id, load_time_seconds: state.loadDelayMs / 1000, status: 'loaded' }));
      }),
    );
  }
  if (path === '/api/v1/models/unload') {
    const id = parseJsonObject(body)?.['instance_id'];
    for (const [key, ids] of instances) {
      if (typeof id === 'string' && ids.includes(id)) {
        const left = ids.filter((candidate) => candidate !== id);
        instances.set(key, left);
        if (left.length === 0) state.resident.delete(key);
        return lmJson({ instance_id: id });
      }
    }
    return lmJson({ error: { message: `No loaded model instance with id "${String(id)}"`, type: 'instance_not_found' } }, 404);
  }
  return undefined;
}

// ---------------------------------------------------------------- vLLM sleep mode

function vllmSleep(state: EngineState, method: string, path: string): Reply | undefined {
  if (method === 'GET' && path === '/is_sleeping') {
    return { status: 200, headers: { server: 'uvicorn', 'content-type': 'application/json' }, body: compactJson({ is_sleeping: state.sleeping }) };
  }
  if (method === 'POST' && (path === '/sleep' || path === '/wake_up')) {
    state.sleeping = path === '/sleep';
    return { status: 200, headers: { server: 'uvicorn', 'content-length': '0' }, body: '' };
  }
  return undefined;
}
