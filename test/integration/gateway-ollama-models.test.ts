/**
 * What Ollama clients (Open WebUI, ollama-js) do to models besides asking them: list the ones
 * loaded now (`GET /api/ps`), preload one (`/api/generate` without a prompt, `/api/chat` without
 * messages, `/api/embeddings` without a prompt) and unload it (the same with `keep_alive: 0`).
 * A real gateway over fake engines that keep what they hold as the real ones do, driven by the
 * official `ollama` client; each test checks what the client saw and what the engine now holds.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Ollama } from 'ollama';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadEngineModel } from '../../src/engines/manage.js';
import { listEvidence } from '../../src/evidence/index.js';
import { computeMetrics } from '../../src/metrics/index.js';
import { requireProvider } from '../../src/registry/registry.js';
import { coldStartEstimator } from '../../src/router/cold-starts.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { freePort } from '../helpers/ports.js';
import { parsePrometheusText, startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const CHAT = 'llama3.2:latest';
const CODER = 'qwen2.5-coder:7b';
const EMBED = 'nomic-embed-text:latest';
/** Resident in the engine, declared by no record: it has no name a client could use. */
const UNDECLARED = 'mistral:7b';
const CLAUDE = 'claude-sonnet-4-20250514';
/** What the fake Ollama says the chat model takes (`size` and `size_vram` of /api/ps). */
const CHAT_BYTES = 2_019_393_189;

let ollama: FakeEngine;
let router: FakeEngine;
let singleModel: FakeEngine;
let claude: FakeEngine;
let silent: Server;
const silentSockets = new Set<Socket>();
let main: TestGateway;
let slow: TestGateway;
let gonePort: number;

function ollamaProvider(id: string, baseUrl: string): TestProvider {
  return {
    id,
    class: 'local',
    wire: 'openai',
    baseUrl,
    engine: 'ollama',
    models: [
      { id: CHAT, contextWindow: 131_072 },
      { id: CODER, contextWindow: 32_768, aliases: ['coder'] },
      { id: EMBED, kind: 'embedding' },
    ],
  };
}

const claudeProvider = (engine: FakeEngine): TestProvider => ({ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: CLAUDE }] });

const client = (gateway: TestGateway): Ollama => new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });

/** A raw POST without `stream`, as a hand-written client sends it. */
const post = (gateway: TestGateway, path: string, body: unknown): Promise<Response> =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: JSON.stringify(body) });

/** What the fake Ollama itself lists in its /api/ps now. */
async function engineResident(): Promise<string[]> {
  const body = (await (await fetch(`${ollama.url}/api/ps`)).json()) as { models: { name: string }[] };
  return body.models.map((model) => model.name);
}

/** The bodies the fake Ollama received on /api/generate (its load and unload endpoint) since `from`. */
function generateBodies(from: number): Record<string, unknown>[] {
  return ollama.exchanges.slice(from).filter((exchange) => exchange.path === '/api/generate').map((exchange) => JSON.parse(exchange.requestBody.toString('utf8')) as Record<string, unknown>);
}

/** The context `GET /api/ps` (through the official client) says `name` is loaded with (the client's type leaves the field out). */
async function contextOf(name: string): Promise<unknown> {
  const listed = (await client(main).ps()).models.find((model) => model.name === name) as unknown as Record<string, unknown> | undefined;
  return listed?.['context_length'];
}

function engineEvents(gateway: TestGateway): { provider_id: string; model: string; kind: string; detail: string | null }[] {
  return gateway.store.statement('SELECT provider_id, model, kind, detail FROM engine_events ORDER BY id').all() as { provider_id: string; model: string; kind: string; detail: string | null }[];
}

beforeAll(async () => {
  // Accepts connections and never answers: an engine that hangs.
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  gonePort = await freePort();
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
});

// Engines and gateways of each test's own: the tests load, unload and keep models alive, and what one
// left resident (a keep-alive for ever, an embedding model, tiny-b) failed another run after it (a
// shuffled run, seed 7730519: /api/ps listed five models, not three).
beforeEach(async () => {
  [ollama, router, singleModel, claude] = await Promise.all([
    startFakeEngine({
      kind: 'ollama',
      models: [{ id: CHAT, sizeBytes: CHAT_BYTES }, { id: CODER }, { id: EMBED, embedding: true }, { id: UNDECLARED }],
      resident: [CHAT, UNDECLARED],
    }),
    startFakeEngine({ kind: 'llama.cpp', router: true, resident: ['tiny-a'], models: [{ id: 'tiny-a' }, { id: 'tiny-b' }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'solo' }] }),
    startFakeEngine({ kind: 'anthropic' }),
  ]);
  main = await startTestGateway({
    providers: [
      ollamaProvider('ollama', ollama.baseUrl),
      { id: 'llamacpp', class: 'local', wire: 'openai', baseUrl: router.baseUrl, engine: 'llama.cpp', models: [{ id: 'tiny-a', contextWindow: 4096 }, { id: 'tiny-b' }] },
      { id: 'solo', class: 'local', wire: 'openai', baseUrl: singleModel.baseUrl, engine: 'llama.cpp', models: [{ id: 'solo' }] },
      ollamaProvider('gone', `http://127.0.0.1:${gonePort}/v1`),
      claudeProvider(claude),
    ],
  });
  const silentPort = (silent.address() as { port: number }).port;
  slow = await startTestGateway({ providers: [ollamaProvider('ollama', ollama.baseUrl), ollamaProvider('silent', `http://127.0.0.1:${silentPort}/v1`)] });
});

afterEach(async () => {
  await Promise.all([main?.close(), slow?.close()]);
  await Promise.all([ollama?.close(), router?.close(), singleModel?.close(), claude?.close()]);
});

describe('GET /api/ps with the official ollama client', () => {
  it('lists what the local engines hold under the names /api/tags gives them, in Ollama’s shape; engines that are down are left out', async () => {
    const { models } = await client(main).ps();
    // `gone` is down and Claude holds nothing; mistral is resident but no record declares it.
    expect(models.map((model) => model.name).sort()).toEqual(['llamacpp:tiny-a', `ollama:${CHAT}`, 'solo:solo']);
    const tags = new Map((await client(main).list()).models.map((model) => [model.name, model]));
    for (const model of models) {
      expect(Object.keys(model).sort()).toEqual(['context_length', 'details', 'digest', 'expires_at', 'model', 'name', 'size', 'size_vram']);
      expect(model.model).toBe(model.name);
      // The same model as the list: a client can send the name back, and match it by digest.
      expect(model.digest).toBe(tags.get(model.name)?.digest);
      expect(model.details).toEqual(tags.get(model.name)?.details);
    }
    const chat = models.find((model) => model.name === `ollama:${CHAT}`) as unknown as Record<string, unknown>;
    // The engine's own figures: its size, VRAM, keep-alive expiry and loaded context.
    expect(chat).toMatchObject({ size: CHAT_BYTES, size_vram: CHAT_BYTES, context_length: 4096 });
    expect(Date.parse(String(chat['expires_at'])) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    // llama.cpp keeps a model until it is unloaded: Ollama's "for ever" (keep_alive -1, ~292 years ahead), and the record's context.
    const tiny = models.find((model) => model.name === 'llamacpp:tiny-a') as unknown as Record<string, unknown>;
    expect(new Date(String(tiny['expires_at'])).getUTCFullYear()).toBeGreaterThan(2300);
    expect(tiny).toMatchObject({ size: 0, size_vram: 0, context_length: 4096 });
  });

  it('does not wait for an engine that hangs: it is left out once the short timeout passes', async () => {
    // The silent engine never answers and this client sets no timeout: the list arriving at all is the
    // gateway giving up on it (its 2 s; one longer than this test's 30 s would fail it), not a
    // wall-clock bound a loaded machine breaks.
    const { models } = await client(slow).ps();
    expect(models.map((model) => model.name)).toEqual([`ollama:${CHAT}`]);
  });

  it('needs the gateway token, like every /api/* route', async () => {
    const response = await fetch(`${main.url}/api/ps`);
    expect(response.status).toBe(401);
    expect(Object.keys((await response.json()) as object)).toEqual(['error']);
  });
});

describe('loading and unloading a model as Ollama clients do', () => {
  it('loads with /api/generate and no prompt, unloads with keep_alive: 0: the engine holds it, then no longer; each recorded as an engine event, no evidence', async () => {
    const exchanges = ollama.exchanges.length;
    const evidenceRows = listEvidence(main.store).length;
    const loaded = await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: '1h' });
    expect(loaded).toMatchObject({ model: `ollama:${CODER}`, response: '', done: true, done_reason: 'load' });
    expect(Date.parse(String(loaded.created_at))).not.toBeNaN();
    expect(await engineResident()).toContain(CODER);
    expect(generateBodies(exchanges)).toEqual([{ model: CODER, keep_alive: '1h' }]);
    expect((await client(main).ps()).models.map((model) => model.name)).toContain(`ollama:${CODER}`);

    const unloaded = await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: 0 });
    expect(unloaded).toMatchObject({ model: `ollama:${CODER}`, response: '', done: true, done_reason: 'unload' });
    expect(await engineResident()).not.toContain(CODER);
    expect((await client(main).ps()).models.map((model) => model.name)).not.toContain(`ollama:${CODER}`);

    // No prompt: nothing classified, permitted or sent for inference, so no evidence — the engine events say what was done and who asked.
    expect(ollama.exchanges.slice(exchanges).filter((exchange) => exchange.method === 'POST' && exchange.path !== '/api/generate')).toEqual([]);
    expect(listEvidence(main.store)).toHaveLength(evidenceRows);
    expect(engineEvents(main).slice(-2)).toEqual([
      { provider_id: 'ollama', model: CODER, kind: 'load', detail: 'gateway: POST /api/generate' },
      { provider_id: 'ollama', model: CODER, kind: 'unload', detail: 'gateway: POST /api/generate' },
    ]);
  });

  it('loads with /api/chat and no messages, by alias with the :latest clients add, on the engine that answers; unloads the same way', async () => {
    // `coder` is an alias in both `gone`'s record and `ollama`'s: the engine that is down is passed over.
    const loaded = await client(main).chat({ model: 'coder:latest', messages: [] });
    expect(loaded).toMatchObject({ model: 'coder:latest', message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
    expect(await engineResident()).toContain(CODER);
    const unloaded = await client(main).chat({ model: 'coder:latest', messages: [], keep_alive: 0 });
    expect(unloaded).toMatchObject({ model: 'coder:latest', message: { role: 'assistant', content: '' }, done: true, done_reason: 'unload' });
    expect(await engineResident()).not.toContain(CODER);
    expect(engineEvents(main).at(-1)).toMatchObject({ kind: 'unload', detail: 'gateway: POST /api/chat' });
  });

  it('answers one JSON object even when the request does not say stream: false, as Ollama does', async () => {
    const response = await post(main, '/api/chat', { model: `ollama:${CODER}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(await response.text())).toMatchObject({ model: `ollama:${CODER}`, done: true, done_reason: 'load' });
    expect(await engineResident()).toContain(CODER);
    await client(main).chat({ model: `ollama:${CODER}`, messages: [], keep_alive: 0 });
    // The older /api/embeddings loads with an empty prompt too, and answers an empty vector.
    const embeddings = await client(main).embeddings({ model: `ollama:${EMBED}`, prompt: '' });
    expect(embeddings).toEqual({ embedding: [] });
    expect(await engineResident()).toContain(EMBED);
  });

  it('loads with /api/embed and no input, as Ollama does, answering no vectors; unloads with keep_alive: 0', async () => {
    const evidenceRows = listEvidence(main.store).length;
    await client(main).embed({ model: `ollama:${EMBED}`, input: [], keep_alive: 0 });
    expect(await engineResident()).not.toContain(EMBED);
    const loaded = await client(main).embed({ model: `ollama:${EMBED}`, input: [] });
    expect(loaded).toEqual({ model: `ollama:${EMBED}`, embeddings: [] });
    expect(await engineResident()).toContain(EMBED);
    expect(engineEvents(main).at(-1)).toMatchObject({ model: EMBED, kind: 'load', detail: 'gateway: POST /api/embed' });
    expect(listEvidence(main.store)).toHaveLength(evidenceRows);
  });

  it('sends a loaded model’s keep-alive anew (Ollama resets its expiry); records no cold start for it', async () => {
    const exchanges = ollama.exchanges.length;
    const events = engineEvents(main).length;
    await client(main).generate({ model: `ollama:${CHAT}`, prompt: '', keep_alive: -1 });
    expect(generateBodies(exchanges)).toEqual([{ model: CHAT, keep_alive: -1 }]);
    expect(engineEvents(main)).toHaveLength(events);
  });

  it('loads on other local engines through their own API; keep_alive, which only Ollama takes, is named as ignored', async () => {
    const response = await post(main, '/api/generate', { model: 'llamacpp:tiny-b', keep_alive: '10m', options: { num_ctx: 8192 } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('keep_alive, options.num_ctx');
    expect(await response.json()).toMatchObject({ model: 'llamacpp:tiny-b', done_reason: 'load' });
    expect(router.exchanges.filter((exchange) => exchange.path === '/models/load').map((exchange) => JSON.parse(exchange.requestBody.toString('utf8')) as unknown)).toEqual([{ model: 'tiny-b' }]);
    expect((await client(main).ps()).models.map((model) => model.name)).toContain('llamacpp:tiny-b');
  });

  it('loads an Ollama model with the client’s options (num_ctx) and keep_alive, as Ollama does; a new num_ctx loads it again (a cold start), the same one only sets its expiry', async () => {
    const exchanges = ollama.exchanges.length;
    const events = engineEvents(main).length;
    const loaded = await post(main, '/api/generate', { model: `ollama:${CODER}`, keep_alive: '10m', options: { num_ctx: 8192 } });
    expect(loaded.status).toBe(200);
    // Taken, not ignored.
    expect(loaded.headers.get('x-syndicate-ignored-fields')).toBeNull();
    expect(generateBodies(exchanges)).toEqual([{ model: CODER, keep_alive: '10m', options: { num_ctx: 8192 } }]);
    expect(await contextOf(`ollama:${CODER}`)).toBe(8192);

    // Ollama's scheduler starts a new runner when num_ctx changes: a load, timed and recorded.
    await client(main).chat({ model: `ollama:${CODER}`, messages: [], options: { num_ctx: 16384 } });
    expect(await contextOf(`ollama:${CODER}`)).toBe(16384);
    await client(main).chat({ model: `ollama:${CODER}`, messages: [], options: { num_ctx: 16384 } });
    expect(generateBodies(exchanges).map((body) => body['options'])).toEqual([{ num_ctx: 8192 }, { num_ctx: 16384 }, { num_ctx: 16384 }]);
    expect(engineEvents(main).slice(events)).toEqual([
      { provider_id: 'ollama', model: CODER, kind: 'load', detail: 'gateway: POST /api/generate' },
      { provider_id: 'ollama', model: CODER, kind: 'load', detail: 'gateway: POST /api/chat' },
    ]);
    await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: 0, options: { num_ctx: 1 } });
    expect(await engineResident()).not.toContain(CODER);
  });

  it('loads an embedding model through Ollama’s /api/embed, with its options (Ollama’s /api/generate refuses such a model)', async () => {
    await client(main).embed({ model: `ollama:${EMBED}`, input: [], keep_alive: 0 });
    const exchanges = ollama.exchanges.length;
    expect(await client(main).embed({ model: `ollama:${EMBED}`, input: [], options: { num_ctx: 512 } })).toEqual({ model: `ollama:${EMBED}`, embeddings: [] });
    const loads = ollama.exchanges.slice(exchanges).filter((exchange) => exchange.method === 'POST');
    expect(loads.map((exchange) => [exchange.path, JSON.parse(exchange.requestBody.toString('utf8')) as unknown, exchange.status])).toEqual([['/api/embed', { model: EMBED, options: { num_ctx: 512 } }, 200]]);
    expect(await contextOf(`ollama:${EMBED}`)).toBe(512);
  });

  it('refuses to load an embedding model through /api/chat or /api/generate with Ollama’s own 400, naming the model as sent; unloads it there, and loads a chat model through /api/embed, as Ollama does', async () => {
    const contacted = ollama.exchanges.length;
    // ChatHandler/GenerateHandler: c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("%q does not support chat", req.Model)}).
    const chat = await post(main, '/api/chat', { model: `ollama:${EMBED}`, messages: [] });
    expect(chat.status).toBe(400);
    expect(await chat.text()).toBe(JSON.stringify({ error: `"ollama:${EMBED}" does not support chat` }));
    const generate = await client(main)
      .generate({ model: `ollama:${EMBED}`, prompt: '' })
      .catch((caught: unknown) => caught);
    expect(generate).toMatchObject({ name: 'ResponseError', status_code: 400 });
    expect((generate as Error).message).toBe(`"ollama:${EMBED}" does not support generate`);
    expect(ollama.exchanges.length).toBe(contacted);

    // Ollama expires a runner before it checks any capability; its EmbedHandler asks for none.
    await client(main).chat({ model: `ollama:${EMBED}`, messages: [], keep_alive: 0 });
    expect(await engineResident()).not.toContain(EMBED);
    expect(await client(main).embed({ model: `ollama:${CODER}`, input: '' })).toEqual({ model: `ollama:${CODER}`, embeddings: [] });
    expect(await engineResident()).toContain(CODER);
    await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: 0 });
  });

  it('lists /api/ps as Ollama’s PsHandler does: the longest time left first, whichever engine holds the model', async () => {
    // PsHandler: slices.SortStableFunc(models, ... cmp.Compare(j.ExpiresAt.Unix(), i.ExpiresAt.Unix())) — "longest duration remaining listed first".
    try {
      await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: '2h' });
      await client(main).chat({ model: `ollama:${CHAT}`, messages: [], keep_alive: '30m' });
      await client(main).embed({ model: `ollama:${EMBED}`, input: [], keep_alive: '1m' });
      const { models } = await client(main).ps();
      const listed = models.map((model) => [model.name, Math.floor(new Date(model.expires_at).getTime() / 1000)] as const);
      expect(listed.map(([, seconds]) => seconds)).toEqual(listed.map(([, seconds]) => seconds).sort((left, right) => right - left));
      // llama.cpp's models are kept until unloaded ("Forever"): before Ollama's 2 h, 30 min and 1 min.
      expect(listed.map(([name]) => name).filter((name) => name.startsWith('ollama:'))).toEqual([`ollama:${CODER}`, `ollama:${CHAT}`, `ollama:${EMBED}`]);
      expect(listed.findIndex(([name]) => name === 'llamacpp:tiny-a')).toBeLessThan(listed.findIndex(([name]) => name === `ollama:${CODER}`));
    } finally {
      await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: 0 });
      await client(main).embed({ model: `ollama:${EMBED}`, input: [], keep_alive: 0 });
    }
  });

  it('answers at once for auto and for a hosted model, which hold nothing: no engine or provider is contacted', async () => {
    const contacted = (): number => ollama.exchanges.length + router.exchanges.length + claude.exchanges.length;
    const before = contacted();
    expect(await client(main).generate({ model: 'auto', prompt: '' })).toMatchObject({ model: 'auto', done: true, done_reason: 'load' });
    expect(await client(main).chat({ model: 'auto:latest', messages: [] })).toMatchObject({ model: 'auto:latest', done_reason: 'load' });
    expect(await client(main).chat({ model: `claude:${CLAUDE}`, messages: [] })).toMatchObject({ done_reason: 'load' });
    expect(await client(main).generate({ model: `claude:${CLAUDE}`, prompt: '', keep_alive: 0 })).toMatchObject({ done_reason: 'unload' });
    expect(contacted()).toBe(before);
  });

  it('refuses a load that would evict a model it does not outrank: 403, with a command the operator can run (an Ollama client has no --force)', async () => {
    const budgeted = await startTestGateway({
      providers: [{ ...ollamaProvider('ollama', ollama.baseUrl), vramBudgetGb: 3, models: [{ id: CHAT, priority: 50, vramGb: 2 }, { id: CODER, priority: 10, vramGb: 2 }] }],
    });
    try {
      const exchanges = ollama.exchanges.length;
      const refused = await post(budgeted, '/api/generate', { model: `ollama:${CODER}` });
      expect(refused.status).toBe(403);
      const { error } = (await refused.json()) as { error: string };
      expect(error).toMatch(/^qwen2\.5-coder:7b does not fit in the 3 GB budget: .*does not outrank llama3\.2:latest/);
      expect(error).toContain(`syndicate engine load --force ollama:${CODER}`);
      expect(error).not.toContain('pass --force');
      expect(generateBodies(exchanges)).toEqual([]);
      expect(await engineResident()).not.toContain(CODER);
    } finally {
      await budgeted.close();
    }
  });

  it('refuses in Ollama’s {"error"} shape: an unknown model 404, an engine that is down 502, an unload the engine cannot do 400', async () => {
    const unknown = await client(main)
      .generate({ model: 'mistral:7b', prompt: '' })
      .catch((caught: unknown) => caught);
    expect(unknown).toMatchObject({ name: 'ResponseError', status_code: 404 });
    expect((unknown as Error).message).toMatch(/unknown model "mistral:7b"/);

    const down = await post(main, '/api/generate', { model: `gone:${CHAT}` });
    expect(down.status).toBe(502);
    const downBody = (await down.json()) as Record<string, unknown>;
    expect(Object.keys(downBody)).toEqual(['error']);
    expect(downBody['error']).toMatch(/gone's engine is down: .* connection refused/);

    // llama-server started with -m keeps its model for its whole life.
    const fixed = await client(main)
      .chat({ model: 'solo:solo', messages: [], keep_alive: 0 })
      .catch((caught: unknown) => caught);
    expect(fixed).toMatchObject({ name: 'ResponseError', status_code: 400 });
    expect((fixed as Error).message).toMatch(/cannot unload it \(stop the process instead \(`syndicate engine stop solo`/);
    expect((await client(main).ps()).models.map((model) => model.name)).toContain('solo:solo');

    const badKeepAlive = await post(main, '/api/chat', { model: `ollama:${CHAT}`, messages: [], keep_alive: 'soon' });
    expect(badKeepAlive.status).toBe(400);
    expect(((await badKeepAlive.json()) as { error: string }).error).toContain('/keep_alive');
  });
});

describe('model loads and unloads in /metrics', () => {
  const scrape = async (): Promise<Map<string, number>> => {
    const response = await fetch(`${main.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(response.status).toBe(200);
    return parsePrometheusText(await response.text());
  };
  const operations = (samples: Map<string, number>, model: string, action: string, outcome: string): number | undefined =>
    samples.get(`syndicate_engine_model_operations_total{provider="ollama",model="${model}",action="${action}",outcome="${outcome}"}`);

  it('counts every load and unload asked of an engine — through the gateway, by engine load, failed ones by their code — and times the loads as syndicate metrics does', async () => {
    const before = await scrape();
    const loadsBefore = operations(before, CODER, 'load', 'ok') ?? 0;
    await client(main).generate({ model: `ollama:${CODER}`, prompt: '' });
    await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: 0 });
    // What `syndicate engine load` does, in another process or this one: the store's engine events are what is counted.
    const registered = requireProvider(main.store, 'ollama');
    await loadEngineModel(main.store, registered, CODER, { timeoutMs: 10_000 });
    // A record that declares a model the engine has not pulled: Ollama's 404, recorded by its code.
    const stale = { ...registered, record: { ...registered.record, models: [...registered.record.models, { id: 'phi3:mini', contextWindow: 4096, capabilityClass: 'small' as const }] } };
    await expect(loadEngineModel(main.store, stale, 'phi3:mini', { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'engine_model_not_found' });

    const after = await scrape();
    expect((operations(after, CODER, 'load', 'ok') ?? 0) - loadsBefore).toBe(2);
    expect(operations(after, CODER, 'unload', 'ok')).toBeGreaterThanOrEqual(1);
    expect(operations(after, 'phi3:mini', 'load', 'engine_model_not_found')).toBe(1);
    // A scrape counts each event once.
    expect(operations(await scrape(), CODER, 'load', 'ok')).toBe(operations(after, CODER, 'load', 'ok'));

    // The load times `syndicate metrics` reports are the histogram's observations: the same counts, the longest within the sum.
    const { loadTimes } = computeMetrics(main.store, testPolicy(), { sinceMs: 0, untilMs: Date.now() + 1000 });
    expect(loadTimes.length).toBeGreaterThan(0);
    for (const entry of loadTimes) {
      const labels = `provider="${entry.provider}",model="${entry.model}"`;
      expect(after.get(`syndicate_engine_model_load_seconds_count{${labels}}`), labels).toBe(entry.loads);
      expect(after.get(`syndicate_engine_model_load_seconds_sum{${labels}}`)).toBeGreaterThanOrEqual(entry.maxMs / 1000);
    }
    expect(after.get('syndicate_engine_model_load_seconds_count{provider="ollama",model="phi3:mini"}')).toBeUndefined();
    await client(main).generate({ model: `ollama:${CODER}`, prompt: '', keep_alive: 0 });
  });

  it('counts a load refused by the hot-swap plan as outcome "refused" — asked for, never sent — and never as a load time or a cold start', async () => {
    const registered = requireProvider(main.store, 'ollama');
    const large = { id: 'llama3.1:70b', contextWindow: 131_072, capabilityClass: 'large' as const, vramGb: 40 };
    const budgeted = { ...registered, record: { ...registered.record, engine: { kind: 'ollama' as const, vramBudgetGb: 24 }, models: [...registered.record.models, large] } };
    const before = ollama.exchanges.length;
    const refusal = { code: 'engine_swap_refused', message: "llama3.1:70b needs 40 GB, more than the engine's whole budget of 24 GB" };
    await expect(loadEngineModel(main.store, budgeted, large.id, { timeoutMs: 10_000 })).rejects.toMatchObject(refusal);
    // The Ollama face asks through the same function: its 403 is counted the same way.
    await expect(loadEngineModel(main.store, budgeted, large.id, { timeoutMs: 10_000, detail: 'gateway: POST /api/generate' })).rejects.toMatchObject(refusal);
    // A dry run asked for nothing.
    await expect(loadEngineModel(main.store, budgeted, large.id, { timeoutMs: 10_000, dryRun: true })).rejects.toMatchObject(refusal);
    expect(ollama.exchanges.slice(before).filter((exchange) => exchange.method === 'POST')).toEqual([]);

    const samples = await scrape();
    expect(operations(samples, large.id, 'load', 'refused')).toBe(2);
    expect(operations(samples, large.id, 'load', 'ok')).toBeUndefined();
    expect(samples.get(`syndicate_engine_model_load_seconds_count{provider="ollama",model="${large.id}"}`)).toBeUndefined();
    const { loadTimes } = computeMetrics(main.store, testPolicy(), { sinceMs: 0, untilMs: Date.now() + 1000 });
    expect(loadTimes.map((entry) => entry.model)).not.toContain(large.id);
    expect(coldStartEstimator(main.store)('ollama', large.id)).toBeUndefined();
    const recorded = main.store.statement("SELECT detail, duration_ms FROM engine_events WHERE model = ? AND outcome = 'refused' ORDER BY id").all(large.id);
    expect(recorded).toEqual([
      { detail: `engine load: ${refusal.message}`, duration_ms: null },
      { detail: `gateway: POST /api/generate: ${refusal.message}`, duration_ms: null },
    ]);
  });
});
