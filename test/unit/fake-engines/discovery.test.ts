import { afterEach, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../../helpers/fake-engines/index.js';

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; contentType: string | null; body: any; text: string }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, body: text === '' ? undefined : JSON.parse(text) };
}

describe('ollama discovery', () => {
  it('lists models on /api/tags with details', async () => {
    engine = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest', contextWindow: 131072 }, { id: 'qwen2.5:0.5b', contextWindow: 32768 }] });
    const tags = await getJson(`${engine.url}/api/tags`);
    expect(tags.status).toBe(200);
    expect(tags.contentType).toBe('application/json; charset=utf-8');
    expect(tags.body.models.map((model: { name: string }) => model.name)).toEqual(['llama3.2:latest', 'qwen2.5:0.5b']);
    const first = tags.body.models[0];
    expect(Object.keys(first)).toEqual(['name', 'model', 'modified_at', 'size', 'digest', 'details']);
    expect(first.model).toBe('llama3.2:latest');
    expect(first.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(first.details)).toEqual(['parent_model', 'format', 'family', 'families', 'parameter_size', 'quantization_level']);
    expect(tags.body.models[1].details.family).toBe('qwen');
  });

  it('reports the context length on /api/show under <arch>.context_length, 404 for an unknown model', async () => {
    engine = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest', contextWindow: 131072 }, { id: 'qwen2.5:0.5b', contextWindow: 32768 }] });
    const show = await getJson(`${engine.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5:0.5b' }) });
    expect(show.status).toBe(200);
    expect(show.body.model_info['general.architecture']).toBe('qwen');
    expect(show.body.model_info['qwen.context_length']).toBe(32768);
    expect(show.body.capabilities).toEqual(['completion', 'tools']);
    expect(show.body.details.format).toBe('gguf');
    const bare = await getJson(`${engine.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2' }) });
    expect(bare.body.model_info['llama.context_length']).toBe(131072);
    const missing = await getJson(`${engine.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'nope' }) });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: "model 'nope' not found" });
  });

  it('lists the resident model on /api/ps, answers /api/version, /v1/models and /', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    const ps = await getJson(`${engine.url}/api/ps`);
    expect(ps.body.models).toHaveLength(1);
    expect(ps.body.models[0].name).toBe('llama3.2:latest');
    expect(ps.body.models[0].context_length).toBe(4096);
    expect(ps.body.models[0].size_vram).toBeGreaterThan(0);
    expect(Date.parse(ps.body.models[0].expires_at)).toBeGreaterThan(Date.now());
    expect((await getJson(`${engine.url}/api/version`)).body).toEqual({ version: '0.12.6' });
    const models = await getJson(`${engine.url}/v1/models`);
    expect(models.contentType).toBe('application/json');
    expect(models.text.endsWith('}\n')).toBe(true);
    expect(models.body.data.map((entry: { id: string }) => entry.id)).toEqual(['llama3.2:latest', 'qwen2.5-coder:7b']);
    const root = await fetch(`${engine.url}/`);
    expect(await root.text()).toBe('Ollama is running');
  });
});

describe('llama.cpp discovery', () => {
  it('answers /v1/models with meta, /props with n_ctx, /health and /slots', async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'tiny.gguf', contextWindow: 2048 }] });
    const models = await getJson(`${engine.url}/v1/models`);
    expect(models.contentType).toBe('application/json; charset=utf-8');
    expect(models.body.object).toBe('list');
    expect(models.body.data[0]).toMatchObject({ id: 'tiny.gguf', object: 'model', owned_by: 'llamacpp' });
    expect(Object.keys(models.body.data[0].meta)).toEqual(['vocab_type', 'n_vocab', 'n_ctx', 'n_ctx_train', 'n_embd', 'n_params', 'size', 'ftype']);
    expect(models.body.data[0].meta.n_ctx).toBe(2048);
    expect(models.body.data[0].aliases).toEqual(['tiny.gguf']);
    expect(models.body.models[0].name).toBe('tiny.gguf');
    const props = await getJson(`${engine.url}/props`);
    expect(props.body.default_generation_settings.n_ctx).toBe(2048);
    expect(props.body.total_slots).toBe(4);
    expect(props.body.model_path).toBe('tiny.gguf');
    expect(props.body.model_alias).toBe('tiny.gguf');
    expect(props.body.build_info).toBe('b1-de3ff81');
    expect((await getJson(`${engine.url}/health`)).body).toEqual({ status: 'ok' });
    const slots = await getJson(`${engine.url}/slots`);
    expect(slots.body).toEqual([0, 1, 2, 3].map((id) => ({ id, n_ctx: 2048, speculative: false, is_processing: false })));
  });
});

describe('vLLM discovery', () => {
  it('answers /v1/models with max_model_len, root and permission; /health empty; /version', async () => {
    engine = await startFakeEngine({ kind: 'vllm', models: [{ id: 'org/model-a', contextWindow: 8192 }] });
    const models = await getJson(`${engine.url}/v1/models`);
    expect(models.contentType).toBe('application/json');
    const entry = models.body.data[0];
    expect(entry).toMatchObject({ id: 'org/model-a', object: 'model', owned_by: 'vllm', root: 'org/model-a', parent: null, max_model_len: 8192 });
    expect(entry.permission[0].object).toBe('model_permission');
    expect(entry.permission[0].id).toMatch(/^modelperm-[0-9a-f]{32}$/);
    const health = await fetch(`${engine.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    expect((await getJson(`${engine.url}/version`)).body.version).toMatch(/^\d+\.\d+/);
  });
});

describe('LM Studio discovery', () => {
  it('answers /v1/models and /api/v0/models with max_context_length and state', async () => {
    engine = await startFakeEngine({ kind: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct', contextWindow: 32768 }, { id: 'llama-3.2-1b-instruct', contextWindow: 131072 }] });
    const models = await getJson(`${engine.url}/v1/models`);
    expect(models.body).toEqual({ data: [
      { id: 'qwen2.5-7b-instruct', object: 'model', owned_by: 'organization_owner' },
      { id: 'llama-3.2-1b-instruct', object: 'model', owned_by: 'organization_owner' },
    ], object: 'list' });
    expect(models.text.startsWith('{\n  "data"')).toBe(true);
    const native = await getJson(`${engine.url}/api/v0/models`);
    expect(native.body.data[0]).toMatchObject({ id: 'qwen2.5-7b-instruct', type: 'llm', state: 'loaded', max_context_length: 32768, loaded_context_length: 4096 });
    expect(native.body.data[1]).toMatchObject({ id: 'llama-3.2-1b-instruct', state: 'not-loaded', max_context_length: 131072 });
    expect(native.body.data[1].loaded_context_length).toBeUndefined();
    const single = await getJson(`${engine.url}/api/v0/models/llama-3.2-1b-instruct`);
    expect(single.body.id).toBe('llama-3.2-1b-instruct');
  });
});

describe('hosted discovery and addresses', () => {
  it('gives openai-wire engines a /v1 baseUrl and anthropic the root', async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    expect(engine.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(engine.baseUrl).toBe(`${engine.url}/v1`);
    expect((await getJson(`${engine.url}/v1/models`)).body.data[0].id).toBe('gpt-4o-mini');
    await engine.close();
    engine = await startFakeEngine({ kind: 'anthropic' });
    expect(engine.baseUrl).toBe(engine.url);
    const models = await getJson(`${engine.url}/v1/models`);
    expect(models.body.data[0]).toMatchObject({ type: 'model', id: 'claude-sonnet-4-20250514' });
  });

  it('records every discovery exchange with exact bytes', async () => {
    engine = await startFakeEngine({ kind: 'ollama' });
    const response = await fetch(`${engine.url}/api/tags`);
    const text = await response.text();
    expect(engine.exchanges).toHaveLength(1);
    const exchange = engine.exchanges[0]!;
    expect(exchange.method).toBe('GET');
    expect(exchange.path).toBe('/api/tags');
    expect(exchange.status).toBe(200);
    expect(exchange.responseBody.toString('utf8')).toBe(text);
    expect(exchange.responseHeaders['content-type']).toBe('application/json; charset=utf-8');
  });
});
