import type { EngineState, ResolvedModel } from './engine-state.js';
import { lmStudioLoadedContext, ollamaLoadedContext } from './engine-state.js';
import { cloneJson, loadJsonTemplate, loadTextTemplate } from './templates.js';
import { parseJsonObject, tokenIds } from './model-behaviour.js';
import { goJson, jsonHeaders, serializeBody, type Reply } from './wire-format.js';
import { createHash } from 'node:crypto';

type Json = Record<string, unknown>;

/**
 * Answers the metadata endpoints of each engine (model lists, context sizes, health), or returns
 * undefined when the path is not one of them. Bodies are the captured payloads in
 * test/fixtures/engines/<kind>/ with the configured models filled in.
 */
export function answerDiscovery(state: EngineState, method: string, path: string, body: Buffer): Reply | undefined {
  switch (state.kind) {
    case 'ollama':
      return ollama(state, method, path, body);
    case 'llama.cpp':
      return llamaCpp(state, method, path, body);
    case 'vllm':
      return vllm(state, method, path);
    case 'lmstudio':
      return lmstudio(state, method, path);
    case 'openai':
      return method === 'GET' && path === '/v1/models' ? openaiModels(state) : undefined;
    case 'anthropic':
      return method === 'GET' && path === '/v1/models' ? anthropicModels(state) : undefined;
  }
}

function json(state: EngineState, path: string, value: unknown, status = 200): Reply {
  // Ollama's /api/* handlers use gin's c.JSON (compact, no trailing newline); its /v1/* ones use json.Encoder.
  const text = state.kind === 'ollama' && !path.startsWith('/v1/') ? goJson(value) : serializeBody(state.kind, value);
  return { status, headers: jsonHeaders(state.kind, path), body: text };
}

function fakeDigest(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function family(id: string): string {
  const match = /^[a-z]+/i.exec(id.replace(/^.*\//, ''));
  return match ? match[0].toLowerCase() : 'llama';
}

// ---------------------------------------------------------------- Ollama

function ollamaDetails(template: Json, model: ResolvedModel): Json {
  const details = cloneJson(template);
  details['family'] = family(model.id);
  details['families'] = [family(model.id)];
  return details;
}

function ollama(state: EngineState, method: string, path: string, body: Buffer): Reply | undefined {
  if (method === 'GET' && (path === '/' || path === '')) {
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Ollama is running' };
  }
  if (method === 'GET' && path === '/api/version') return json(state, path, { version: state.ollamaVersion });
  if (method === 'GET' && path === '/api/tags') {
    const payload = loadJsonTemplate<{ models: Json[] }>('ollama', 'api-tags.json');
    const template = payload.models[0]!;
    payload.models = state.models.map((model) => {
      const entry = cloneJson(template);
      entry['name'] = model.id;
      entry['model'] = model.id;
      entry['digest'] = fakeDigest(model.id);
      entry['details'] = ollamaDetails(template['details'] as Json, model);
      return entry;
    });
    return json(state, path, payload);
  }
  if (method === 'GET' && path === '/api/ps') {
    const payload = loadJsonTemplate<{ models: Json[] }>('ollama', 'api-ps.json');
    const template = payload.models[0]!;
    const defaultExpiry = Date.now() + 5 * 60_000;
    const expiryOf = (model: ResolvedModel): number => state.ollamaRunners.get(model.id)?.expiresAt ?? defaultExpiry;
    payload.models = state.models
      .filter((model) => state.resident.has(model.id))
      // PsHandler: slices.SortStableFunc by ExpiresAt.Unix(), descending ("longest duration remaining listed first").
      .sort((left, right) => Math.floor(expiryOf(right) / 1000) - Math.floor(expiryOf(left) / 1000))
      .map((model) => {
        const entry = cloneJson(template);
        entry['name'] = model.id;
        entry['model'] = model.id;
        entry['digest'] = fakeDigest(model.id);
        entry['details'] = ollamaDetails(template['details'] as Json, model);
        entry['expires_at'] = new Date(expiryOf(model)).toISOString();
        if (model.sizeBytes !== undefined) {
          entry['size'] = model.sizeBytes;
          entry['size_vram'] = model.sizeBytes;
        }
        entry['context_length'] = ollamaLoadedContext(state, model);
        return entry;
      });
    return json(state, path, payload);
  }
  if (method === 'POST' && path === '/api/show') {
    let requested: unknown;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as Json;
      requested = parsed['model'] ?? parsed['name'];
    } catch {
      return json(state, path, { error: 'invalid character looking for beginning of value' }, 400);
    }
    const model = findOllamaModel(state, requested);
    if (model === undefined) return json(state, path, { error: `model '${String(requested)}' not found` }, 404);
    const payload = loadJsonTemplate<Json>('ollama', 'api-show.json');
    const architecture = family(model.id);
    const templateInfo = payload['model_info'] as Json;
    const modelInfo: Json = {};
    for (const [key, value] of Object.entries(templateInfo)) {
      modelInfo[key.startsWith('llama.') ? `${architecture}.${key.slice('llama.'.length)}` : key] = value;
    }
    modelInfo['general.architecture'] = architecture;
    modelInfo[`${architecture}.context_length`] = model.contextWindow;
    payload['model_info'] = modelInfo;
    payload['details'] = ollamaDetails(payload['details'] as Json, model);
    // What Ollama reports for an embedding model (all-minilm, nomic-embed-text): no `completion`.
    if (model.embedding === true) payload['capabilities'] = ['embedding'];
    // What Ollama reports for a thinking model (qwen3): `thinking` beside completion and tools.
    if (model.thinking === true) payload['capabilities'] = ['completion', 'tools', 'thinking'];
    // What Ollama reports for a code model whose template has a suffix (qwen2.5-coder): `insert`.
    if (model.fillInMiddle === true) payload['capabilities'] = [...(payload['capabilities'] as string[]), 'insert'];
    return json(state, path, payload);
  }
  if (method === 'GET' && path === '/v1/models') {
    const payload = loadJsonTemplate<{ data: Json[] }>('ollama', 'v1-models.json');
    const template = payload.data[0]!;
    payload.data = state.models.map((model) => ({ ...cloneJson(template), id: model.id }));
    return json(state, path, payload);
  }
  return undefined;
}

/** Ollama resolves a bare name to its `:latest` tag. */
export function findOllamaModel(state: EngineState, requested: unknown): ResolvedModel | undefined {
  if (typeof requested !== 'string') return undefined;
  return state.models.find((model) => model.id === requested || model.id === `${requested}:latest`);
}

// ---------------------------------------------------------------- llama.cpp

function llamaCpp(state: EngineState, method: string, path: string, body: Buffer): Reply | undefined {
  // llama-server serves one model: the first configured one, named as given to -m.
  const model = state.models[0]!;
  // The chat template applied without generating: tools need --jinja here as in a chat request.
  if (method === 'POST' && path === '/apply-template') {
    const refused = !state.conforming && !state.jinja;
    const body = loadTextTemplate('llama.cpp', refused ? 'no-jinja-apply-template-tools.json' : 'apply-template-tools.json');
    return { status: refused ? 500 : 200, headers: jsonHeaders(state.kind, path), body };
  }
  // Asleep (--sleep-idle-seconds), it loads the model again before it tokenizes (tokenize-empty.http).
  if (method === 'POST' && path === '/tokenize') {
    state.sleeping = false;
    const content = parseJsonObject(body)?.['content'];
    return json(state, path, { tokens: tokenIds(typeof content === 'string' ? content : '') });
  }
  if (method !== 'GET') return undefined;
  if (path === '/health' || path === '/v1/health') return json(state, path, loadJsonTemplate('llama.cpp', 'health.json'));
  if (path === '/v1/models' || path === '/models') {
    const payload = loadJsonTemplate<{ models: Json[]; data: Json[] }>('llama.cpp', 'v1-models.json');
    payload.models[0]!['name'] = model.id;
    payload.models[0]!['model'] = model.id;
    const entry = payload.data[0]!;
    entry['id'] = model.id;
    entry['aliases'] = [model.id, ...(model.aliases ?? [])].sort();
    entry['created'] = Math.floor(Date.now() / 1000);
    const meta = entry['meta'] as Json;
    meta['n_ctx'] = model.contextWindow;
    meta['n_ctx_train'] = Math.max(model.contextWindow, meta['n_ctx_train'] as number);
    return json(state, path, payload);
  }
  // A router's own /props: no model, n_ctx 0 (captured: router-props.http).
  if (path === '/props' && state.router) return { status: 200, headers: jsonHeaders(state.kind, path), body: loadTextTemplate('llama.cpp', 'router-props.json') };
  if (path === '/props') {
    // Patched as text: nlohmann writes whole-number floats as `1.0`, which a JSON round trip would lose.
    const body = loadTextTemplate('llama.cpp', 'props.json')
      .replace(/"n_ctx":\d+/, `"n_ctx":${model.contextWindow}`)
      .replace(/"model_alias":"(?:[^"\\]|\\.)*"/, `"model_alias":${JSON.stringify(model.id)}`)
      .replace(/"model_path":"(?:[^"\\]|\\.)*"/, `"model_path":${JSON.stringify(state.modelPath ?? model.id)}`)
      .replace(/"is_sleeping":(?:true|false)/, `"is_sleeping":${String(state.sleeping)}`);
    return { status: 200, headers: jsonHeaders(state.kind, path), body };
  }
  if (path === '/slots') {
    state.sleeping = false;
    const slots = loadJsonTemplate<Json[]>('llama.cpp', 'slots.json');
    return json(state, path, slots.map((slot) => ({ ...slot, n_ctx: model.contextWindow })));
  }
  return undefined;
}

// ---------------------------------------------------------------- vLLM

function vllm(state: EngineState, method: string, path: string): Reply | undefined {
  if (method !== 'GET') return undefined;
  if (path === '/health') return { status: 200, headers: { server: 'uvicorn' }, body: '' };
  if (path === '/version') return json(state, path, loadJsonTemplate('vllm', 'version.json'));
  if (path === '/v1/models') {
    const payload = loadJsonTemplate<{ data: Json[] }>('vllm', 'v1-models.json');
    const template = payload.data[0]!;
    payload.data = state.models.map((model, index) => {
      const entry = cloneJson(template);
      entry['id'] = model.id;
      entry['root'] = model.id;
      entry['created'] = state.startedAt;
      entry['max_model_len'] = model.contextWindow;
      const permission = (entry['permission'] as Json[])[0]!;
      permission['id'] = `modelperm-${fakeDigest(`${model.id}:${index}`).slice(0, 32)}`;
      permission['created'] = state.startedAt;
      return entry;
    });
    return json(state, path, payload);
  }
  return undefined;
}

// ---------------------------------------------------------------- LM Studio

function lmstudio(state: EngineState, method: string, path: string): Reply | undefined {
  if (method !== 'GET') return undefined;
  if (path === '/v1/models') {
    const payload = loadJsonTemplate<{ data: Json[] }>('lmstudio', 'v1-models.json');
    const template = payload.data[0]!;
    payload.data = state.models.map((model) => ({ ...cloneJson(template), id: model.id }));
    return json(state, path, payload);
  }
  if (path === '/api/v0/models') {
    const payload = loadJsonTemplate<{ data: Json[] }>('lmstudio', 'api-v0-models.json');
    const template = payload.data[0]!;
    payload.data = state.models.map((model) => {
      const entry = cloneJson(template);
      entry['id'] = model.id;
      entry['arch'] = family(model.id);
      // LM Studio's embedding models (text-embedding-nomic-embed-text-v1.5): `type: "embeddings"`, no tool use.
      if (model.embedding === true) {
        entry['type'] = 'embeddings';
        entry['arch'] = 'nomic-bert';
        entry['capabilities'] = [];
      }
      entry['max_context_length'] = model.contextWindow;
      if (state.resident.has(model.id)) {
        entry['loaded_context_length'] = lmStudioLoadedContext(model);
      } else {
        entry['state'] = 'not-loaded';
        delete entry['loaded_context_length'];
      }
      return entry;
    });
    return json(state, path, payload);
  }
  const single = /^\/api\/v0\/models\/(.+)$/.exec(path);
  if (single) {
    const all = JSON.parse(lmstudio(state, 'GET', '/api/v0/models')!.body!) as { data: Json[] };
    const entry = all.data.find((candidate) => candidate['id'] === decodeURIComponent(single[1]!));
    if (entry === undefined) return json(state, path, { error: `Model "${decodeURIComponent(single[1]!)}" not found` }, 404);
    return json(state, path, entry);
  }
  return undefined;
}

// ---------------------------------------------------------------- hosted

function openaiModels(state: EngineState): Reply {
  const payload = loadJsonTemplate<{ data: Json[] }>('openai', 'v1-models.json');
  const template = payload.data[0]!;
  payload.data = state.models.map((model) => ({ ...cloneJson(template), id: model.id }));
  return json(state, '/v1/models', payload);
}

function anthropicModels(state: EngineState): Reply {
  const payload = loadJsonTemplate<{ data: Json[] } & Json>('anthropic', 'v1-models.json');
  const template = payload.data[0]!;
  payload.data = state.models.map((model) => ({ ...cloneJson(template), id: model.id, display_name: model.id }));
  payload['first_id'] = state.models[0]?.id ?? null;
  payload['last_id'] = state.models.at(-1)?.id ?? null;
  return json(state, '/v1/models', payload);
}
