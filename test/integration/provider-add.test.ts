import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startFakeLlamaSwap } from '../helpers/fake-engines/llama-swap.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { registerFilesInHome, storedProviders } from '../helpers/store.js';

interface AddDocument {
  ok: boolean;
  entry: string;
  outcome: { id: string; status: string; version: number };
  record: { id: string; class: string; baseUrl: string; auth?: { env: string }; vendor?: string; models: { id: string; contextWindow: number; capabilityClass: string; tags?: string[]; aliases?: string[] }[] };
  discovery: { engine: string; engineUrl: string; notes: string[] } | null;
  notes: string[];
}

describe('provider add: discovery from running engines through the built CLI', () => {
  const engines: FakeEngine[] = [];
  let home: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ home, cleanup } = makeTempHome());
  });
  afterEach(() => cleanup());
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
  });

  async function engine(options: Parameters<typeof startFakeEngine>[0]): Promise<FakeEngine> {
    const started = await startFakeEngine(options);
    engines.push(started);
    return started;
  }

  async function add(args: string[], env: Record<string, string | undefined> = {}): Promise<AddDocument> {
    const result = await runCli(['provider', 'add', ...args, '--json'], { home, env });
    expect(result.exitCode, result.stderr).toBe(0);
    return parseJsonDocument(result.stdout) as unknown as AddDocument;
  }

  /** The registered providers as `provider list --json` names them (id, version, model ids), read by this process. */
  function providers(): { id: unknown; version: unknown; models: unknown[] }[] {
    return storedProviders(home).map((provider) => ({
      id: provider.id,
      version: provider.currentVersion,
      models: (provider.record as { models: { id: string }[] }).models.map((model) => model.id),
    }));
  }

  /** Nothing registered, nor a store made, by a refused add: a fresh home stays without one (`provider list` exits 6 there). */
  function expectNoStore(): void {
    expect(existsSync(join(home, 'syndicate.db'))).toBe(false);
  }

  /** Makes this test's home a copy of an initialised one (`init` is not this file's subject). */
  async function initialise(): Promise<void> {
    cleanup();
    ({ home, cleanup } = await initialisedHome());
  }

  it('ollama: registers every model with the context length from /api/show', async () => {
    const ollama = await engine({
      kind: 'ollama',
      models: [
        { id: 'llama3.2:3b', contextWindow: 131072 },
        { id: 'qwen2.5-coder:32b', contextWindow: 32768 },
      ],
    });
    const document = await add(['ollama', '--base-url', ollama.baseUrl]);
    expect(document.outcome).toMatchObject({ id: 'ollama', status: 'registered', version: 1 });
    expect(document.record).toMatchObject({ id: 'ollama', class: 'local', baseUrl: ollama.baseUrl });
    expect(document.record.models.map((model) => [model.id, model.contextWindow])).toEqual([
      ['llama3.2:3b', 131072],
      ['qwen2.5-coder:32b', 32768],
    ]);
    // The captured /api/tags reports parameter_size 3.2B for every model.
    expect(document.record.models.map((model) => model.capabilityClass)).toEqual(['small', 'small']);
    expect(document.discovery?.notes).toContain('llama3.2:3b: capabilityClass small guessed from 3.2B parameters');
    expect(ollama.exchanges.map((exchange) => `${exchange.method} ${exchange.path}`)).toEqual(['GET /api/tags', 'POST /api/show', 'POST /api/show']);
    expect(JSON.parse(ollama.exchanges[1]!.requestBody.toString('utf8'))).toEqual({ model: 'llama3.2:3b' });

    expect(providers()).toEqual([{ id: 'ollama', version: 1, models: ['llama3.2:3b', 'qwen2.5-coder:32b'] }]);
    const again = await runCli(['provider', 'add', 'ollama', '--base-url', ollama.baseUrl], { home });
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe('unchanged ollama (v1)');
  });

  it('a local engine given by its root (as OLLAMA_HOST names it) is registered at its /v1 API, said in a note, and answers', async () => {
    await initialise();
    const ollama = await engine({ kind: 'ollama' });
    const document = await add(['ollama', '--base-url', `${ollama.url}/`]);
    expect(document.record.baseUrl).toBe(ollama.baseUrl);
    expect(document.discovery?.notes[0]).toBe(`--base-url ${ollama.url}/ has no path: registered ${ollama.baseUrl}, where ollama's OpenAI-compatible API answers`);
    const run = await runCli(['run', 'Name the capital of France.', '--provider', 'ollama', '--no-stream'], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    // A path given is taken as written.
    const llama = await engine({ kind: 'llama.cpp' });
    expect((await add(['llama.cpp', '--base-url', llama.baseUrl])).record.baseUrl).toBe(llama.baseUrl);
  });

  it('ollama: a thinking model (capability thinking) is tagged thinking, so a reasoning effort is sent to it', async () => {
    const ollama = await engine({ kind: 'ollama', models: [{ id: 'llama3.2:3b' }, { id: 'qwen3:8b', thinking: true }] });
    const document = await add(['ollama', '--base-url', ollama.baseUrl]);
    expect(document.record.models.map((model) => [model.id, model.tags])).toEqual([
      ['llama3.2:3b', ['tools', 'completions']],
      ['qwen3:8b', ['tools', 'thinking', 'completions']],
    ]);
  });

  it('ollama: a model whose template fills in the middle (capability insert) is tagged fill-in-middle, every chat model completions, an embedding model neither', async () => {
    const ollama = await engine({ kind: 'ollama', models: [{ id: 'qwen2.5-coder:7b', fillInMiddle: true }, { id: 'llama3.2:3b' }, { id: 'nomic-embed-text:latest', embedding: true }] });
    const document = await add(['ollama', '--base-url', ollama.baseUrl]);
    expect(document.record.models.map((model) => [model.id, model.tags])).toEqual([
      ['qwen2.5-coder:7b', ['tools', 'completions', 'fill-in-middle']],
      ['llama3.2:3b', ['tools', 'completions']],
      ['nomic-embed-text:latest', undefined],
    ]);
  });

  it('ollama: an embedding model (capability embedding, no completion) is registered with kind embedding', async () => {
    const ollama = await engine({ kind: 'ollama', models: [{ id: 'llama3.2:3b' }, { id: 'nomic-embed-text:latest', embedding: true, contextWindow: 2048 }] });
    const document = await add(['ollama', '--base-url', ollama.baseUrl]);
    expect(document.record.models).toEqual([
      expect.not.objectContaining({ kind: expect.anything() }),
      expect.objectContaining({ id: 'nomic-embed-text:latest', kind: 'embedding', contextWindow: 2048 }),
    ]);
    expect(document.discovery?.notes).toContain('nomic-embed-text:latest: an embedding model (capabilities embedding): registered with kind embedding');
  });

  it('llama.cpp: the served model with n_ctx from /props, under a chosen id', async () => {
    const llama = await engine({ kind: 'llama.cpp', models: [{ id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', contextWindow: 8192 }] });
    const document = await add(['llama.cpp', '--id', 'my-llama', '--base-url', llama.baseUrl]);
    expect(document.outcome).toMatchObject({ id: 'my-llama', status: 'registered' });
    expect(document.record.models).toEqual([
      // Its /v1/completions continues a prompt; it refuses a suffix, so not fill-in-middle.
      expect.objectContaining({ id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', contextWindow: 8192, capabilityClass: 'small', tags: ['completions'] }),
    ]);
    // The captured /v1/models is of a tiny test model (n_params 120768): its size in thousands, not "0M".
    expect(document.discovery?.notes).toContain('qwen2.5-0.5b-instruct-q4_k_m.gguf: capabilityClass small guessed from 121K parameters');
    // /props says the same whatever the flags: the server itself is asked whether it embeds and takes tools.
    expect(llama.exchanges.map((exchange) => `${exchange.method} ${exchange.path}`)).toEqual(['GET /v1/models', 'GET /props', 'POST /v1/embeddings', 'POST /apply-template']);
  });

  describe('llama.cpp: registers what the server serves', () => {
    const MODEL_PATH = '/models/qwen2.5-0.5b-instruct-q4_k_m.gguf';

    it('started with -m PATH and --jinja: the file name without .gguf as the id, tagged tools; engine status and run find it', async () => {
      await initialise();
      const llama = await engine({ kind: 'llama.cpp', models: [{ id: MODEL_PATH, contextWindow: 8192 }], jinja: true });
      const document = await add(['llama.cpp', '--base-url', llama.baseUrl]);
      expect(document.record.models).toEqual([
        expect.objectContaining({ id: 'qwen2.5-0.5b-instruct-q4_k_m', contextWindow: 8192, tags: ['tools', 'completions'] }),
      ]);
      expect(document.record.models[0]).not.toHaveProperty('kind');
      expect(document.discovery?.notes).toContain(
        `qwen2.5-0.5b-instruct-q4_k_m: llama-server names it by its -m path ${MODEL_PATH}; registered under its file name (a single-model llama-server answers whatever model a request names)`,
      );
      const probes = llama.exchanges.filter((exchange) => exchange.method === 'POST');
      expect(probes.map((exchange) => [exchange.path, JSON.parse(exchange.requestBody.toString('utf8')) as unknown])).toEqual([
        ['/v1/embeddings', { model: 'qwen2.5-0.5b-instruct-q4_k_m', input: 'x' }],
        ['/apply-template', { messages: [{ role: 'user', content: 'probe' }], tools: [{ type: 'function', function: { name: 'probe', description: 'probe', parameters: { type: 'object', properties: {} } } }] }],
      ]);

      const status = await runCli(['engine', 'status', 'llama.cpp', '--json'], { home });
      expect(status.exitCode, status.stderr).toBe(0);
      expect(parseJsonDocument(status.stdout)).toMatchObject({ engines: [{ resident: [{ model: MODEL_PATH, declared: 'qwen2.5-0.5b-instruct-q4_k_m' }] }] });
      const run = await runCli(['run', 'Name the capital of France.', '--model', 'llama.cpp:qwen2.5-0.5b-instruct-q4_k_m', '--no-stream', '--json'], { home });
      expect(run.exitCode, run.stdout).toBe(0);
      expect(parseJsonDocument(run.stdout)).toMatchObject({ provider: { id: 'llama.cpp' }, model: 'qwen2.5-0.5b-instruct-q4_k_m' });
    });

    it('without --jinja: not tagged tools, and the output says to start it with --jinja and repeat the same command, --id and --base-url included', async () => {
      const llama = await engine({ kind: 'llama.cpp', models: [{ id: MODEL_PATH }], jinja: false });
      const result = await runCli(['provider', 'add', 'llama.cpp', '--id', 'no-jinja', '--base-url', llama.baseUrl], { home });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain(
        `note: qwen2.5-0.5b-instruct-q4_k_m: not tagged tools: llama-server runs without --jinja (POST /apply-template answered "tools param requires --jinja flag"), so it refuses requests with tools; start it with --jinja (or without --no-jinja) and run \`syndicate provider add llama.cpp --id no-jinja --base-url ${llama.baseUrl}\` again to tag it tools`,
      );
      const models = (storedProviders(home).find((provider) => provider.id === 'no-jinja')?.record as { models: { id: string; tags?: string[] }[] }).models;
      expect(models).toEqual([expect.objectContaining({ id: 'qwen2.5-0.5b-instruct-q4_k_m', tags: ['completions'] })]);
    });

    it('started with --embeddings over an embedding model: registered with kind embedding, and syndicate embed reaches it', async () => {
      await initialise();
      const llama = await engine({ kind: 'llama.cpp', models: [{ id: '/models/nomic-embed-text-v1.5.Q8_0.gguf', embedding: true, contextWindow: 2048 }], embeddings: true, jinja: true });
      const document = await add(['llama.cpp', '--id', 'embedder', '--base-url', llama.baseUrl]);
      expect(document.record.models).toEqual([{ id: 'nomic-embed-text-v1.5.Q8_0', kind: 'embedding', contextWindow: 2048, capabilityClass: 'small', vramGb: expect.any(Number) as number }]);
      expect(document.discovery?.notes.join('\n')).toContain('nomic-embed-text-v1.5.Q8_0: an embedding model (started with --embeddings; POST /v1/embeddings answers): registered with kind embedding');
      // An embedding model's server is not asked about tools.
      expect(llama.exchanges.map((exchange) => exchange.path)).not.toContain('/apply-template');
      const embedded = await runCli(['embed', 'hello', '--provider', 'embedder', '--json'], { home });
      expect(embedded.exitCode, embedded.stdout).toBe(0);
      expect(parseJsonDocument(embedded.stdout)).toMatchObject({ model: 'nomic-embed-text-v1.5.Q8_0' });
    });

    it('started with --embeddings over a chat model that pools nothing: a chat model, and the note names --pooling', async () => {
      const llama = await engine({ kind: 'llama.cpp', models: [{ id: MODEL_PATH }], embeddings: true, jinja: true });
      const document = await add(['llama.cpp', '--base-url', llama.baseUrl]);
      expect(document.record.models).toEqual([expect.objectContaining({ id: 'qwen2.5-0.5b-instruct-q4_k_m', tags: ['tools', 'completions'] })]);
      expect(document.record.models[0]).not.toHaveProperty('kind');
      expect(document.discovery?.notes).toContain(
        `qwen2.5-0.5b-instruct-q4_k_m: started with --embeddings, but its model pools nothing, so POST /v1/embeddings refuses it ("Pooling type 'none' is not OAI compatible. Please use a different pooling type"): registered as a chat model; to serve embeddings start it with --embeddings --pooling mean (or cls, last)`,
      );
    });

    it('an --alias is kept as the id', async () => {
      const llama = await engine({ kind: 'llama.cpp', models: [{ id: 'tiny-chat' }], modelPath: MODEL_PATH, jinja: true });
      const document = await add(['llama.cpp', '--base-url', llama.baseUrl]);
      expect(document.record.models.map((model) => model.id)).toEqual(['tiny-chat']);
    });

    it('--alias with several names (`--alias tiny-chat,chat,small`): the one listed as the id (the first in byte order), the others its aliases, which requests may name', async () => {
      await initialise();
      const llama = await engine({ kind: 'llama.cpp', models: [{ id: 'chat', aliases: ['tiny-chat', 'small'] }], modelPath: MODEL_PATH, jinja: true });
      const document = await add(['llama.cpp', '--base-url', llama.baseUrl]);
      expect(document.record.models.map((model) => [model.id, model.aliases])).toEqual([['chat', ['small', 'tiny-chat']]]);
      expect(document.discovery?.notes).toContain("chat: also served as small, tiny-chat (llama-server's --alias), registered as its aliases");
      const run = await runCli(['run', 'Name the capital of France.', '--model', 'llama.cpp:tiny-chat', '--no-stream', '--json'], { home });
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(parseJsonDocument(run.stdout)).toMatchObject({ provider: { id: 'llama.cpp' }, model: 'chat' });
    });

    it('a router: its names as listed, nothing probed (a probe would load each model), not tagged tools', async () => {
      const llama = await engine({ kind: 'llama.cpp', router: true, models: [{ id: 'tiny-a', contextWindow: 1024 }, { id: 'tiny-b', contextWindow: 8192 }], jinja: true });
      const document = await add(['llama.cpp', '--base-url', llama.baseUrl]);
      // Each model's context as the router starts it (its --ctx-size), not a 4096 guess.
      expect(document.record.models.map((model) => [model.id, model.contextWindow, model.tags])).toEqual([
        ['tiny-a', 1024, ['completions']],
        ['tiny-b', 8192, ['completions']],
      ]);
      expect(document.discovery?.notes).toContain('tiny-a: contextWindow 1024, the context its router starts it with (--ctx-size, per --parallel slot)');
      expect(llama.exchanges.filter((exchange) => exchange.method === 'POST')).toEqual([]);
      expect(document.discovery?.notes).toContain(
        'tiny-a: not tagged tools (a router\'s models are not probed, since a probe would load each one): add tools to its tags by hand if the router starts its models with --jinja (the default in current builds)',
      );
    });
  });

  it('vLLM: max_model_len per model; capability guessed from the size in the name', async () => {
    const vllm = await engine({ kind: 'vllm', models: [{ id: 'Qwen/Qwen2.5-32B-Instruct', contextWindow: 16384 }] });
    const document = await add(['vllm', '--base-url', vllm.baseUrl]);
    expect(document.record.models).toEqual([{ id: 'Qwen/Qwen2.5-32B-Instruct', contextWindow: 16384, capabilityClass: 'medium', tags: ['completions'] }]);
    expect(document.discovery?.notes).toEqual(['Qwen/Qwen2.5-32B-Instruct: capabilityClass medium guessed from the size in its name (32B)']);
  });

  it('LM Studio: /v1/models plus max_context_length from /api/v0/models', async () => {
    const lmstudio = await engine({
      kind: 'lmstudio',
      models: [
        { id: 'qwen2.5-7b-instruct', contextWindow: 32768 },
        { id: 'mistral-nemo-instruct', contextWindow: 131072 },
      ],
    });
    const document = await add(['lmstudio', '--base-url', lmstudio.baseUrl]);
    expect(document.record.models.map((model) => [model.id, model.contextWindow, model.capabilityClass])).toEqual([
      ['qwen2.5-7b-instruct', 32768, 'small'],
      ['mistral-nemo-instruct', 131072, 'small'],
    ]);
    expect(document.discovery?.notes).toContain('mistral-nemo-instruct: parameter count not reported; capabilityClass set to small');
    expect(lmstudio.exchanges.map((exchange) => exchange.path)).toEqual(['/v1/models', '/api/v0/models']);
  });

  it('llama-swap: every model of its config from /v1/models, with what it cannot say noted; engine status reads /running', async () => {
    await initialise();
    const llama = await engine({ kind: 'llama.cpp' });
    const swap = await startFakeLlamaSwap({ models: ['qwen2.5-coder-7b', 'llama-3.2-3b'], upstream: llama.url });
    try {
      const document = await add(['llama-swap', '--base-url', swap.baseUrl]);
      expect(document.record).toMatchObject({ id: 'llama-swap', class: 'local', baseUrl: swap.baseUrl, engine: { kind: 'llama-swap' } });
      // Sorted by id, as llama-swap lists them; no context window reported.
      expect(document.record.models.map((model) => [model.id, model.contextWindow, model.capabilityClass])).toEqual([
        ['llama-3.2-3b', 4096, 'small'],
        ['qwen2.5-coder-7b', 4096, 'small'],
      ]);
      expect(document.discovery?.notes).toContain('qwen2.5-coder-7b: context window not reported; contextWindow set to 4096 (edit it if the model allows more)');
      expect(document.discovery?.notes.some((note) => note.includes('not tagged tools or completions'))).toBe(true);
      // Discovery starts no model: only the listing was asked.
      expect(swap.requests).toEqual(['GET /v1/models']);
      const status = await runCli(['engine', 'status', 'llama-swap', '--json'], { home });
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.stdout).toContain('llama-3.2-3b');
    } finally {
      await swap.close();
    }
  });

  it('an unreachable engine exits 5 with how to start it, and registers nothing', async () => {
    const stopped = await startFakeEngine({ kind: 'ollama' });
    const deadUrl = stopped.baseUrl;
    await stopped.close();
    // A fresh home: no store before, and none after.
    expectNoStore();
    const result = await runCli(['provider', 'add', 'ollama', '--base-url', deadUrl], { home });
    expect(result.exitCode).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`error: cannot discover models: ollama at ${deadUrl.replace(/\/v1$/, '')} is not reachable`);
    // Told to start it where the given base URL says, not on Ollama's default port.
    const deadPort = new URL(deadUrl).port;
    expect(result.stderr).toContain(`hint: start Ollama with \`OLLAMA_HOST=127.0.0.1:${deadPort} ollama serve\``);
    const llama = await runCli(['provider', 'add', 'llama.cpp', '--base-url', `http://127.0.0.1:${deadPort}/v1`], { home });
    expect(llama.exitCode).toBe(5);
    expect(llama.stderr).toContain(`hint: start it with \`llama-server -m model.gguf --jinja --port ${deadPort}\``);
    const json = await runCli(['provider', 'add', 'ollama', '--base-url', deadUrl, '--json'], { home });
    expect(json.exitCode).toBe(5);
    expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'engine_unreachable' } });
    expectNoStore();
  });

  it('another server on the port (a web page): says what answered, that it is not the engine, and where the engine listens; registers nothing', async () => {
    const page = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Dashboard</title>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const { port } = page.address() as AddressInfo;
    try {
      const result = await runCli(['provider', 'add', 'ollama', '--base-url', `http://127.0.0.1:${port}/v1`], { home });
      expect(result.exitCode, result.stderr).toBe(5);
      expect(result.stderr).toContain(
        `error: cannot discover models: what answers at http://127.0.0.1:${port} is not ollama's API: http://127.0.0.1:${port}/api/tags answered HTTP 200 with a web page (text/html)`,
      );
      expect(result.stderr).not.toContain('not reachable');
      expect(result.stderr).toContain(`hint: another server listens on port ${port}: pass --base-url with the address ollama listens on (http://127.0.0.1:11434/v1 by default), or start ollama on a free port and pass that`);
      const json = await runCli(['provider', 'add', 'llama.cpp', '--base-url', `http://127.0.0.1:${port}/v1`, '--json'], { home });
      expect(json.exitCode).toBe(5);
      expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'engine_bad_response', message: expect.stringContaining(`/v1/models answered HTTP 200 with a web page`) } });
      expectNoStore();
    } finally {
      await new Promise<void>((resolve) => page.close(() => resolve()));
    }
  });

  it('a local engine off loopback is refused before any request (exit 2, class rule)', async () => {
    const result = await runCli(['provider', 'add', 'ollama', '--base-url', 'http://192.168.1.20:11434/v1'], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('class "local" requires a baseUrl on this host');
  });

  it('hosted entries register with their class and auth.env without any network call', async () => {
    const anthropic = await engine({ kind: 'anthropic' });
    const document = await add(['anthropic', '--base-url', anthropic.baseUrl], { ANTHROPIC_API_KEY: 'sk-ant-test' });
    expect(document.record).toMatchObject({ id: 'anthropic', class: 'approved_hosted', auth: { env: 'ANTHROPIC_API_KEY' }, baseUrl: anthropic.baseUrl });
    expect(document.discovery).toBeNull();
    expect(anthropic.exchanges).toEqual([]);
    // Another host than Anthropic's own API (a proxy, here the fake): the vendor's extensions are not sent to it.
    expect(document.record.vendor).toBeUndefined();
    expect(document.notes).toEqual([
      `registered without vendor: anthropic: ${new URL(anthropic.baseUrl).host} is not api.anthropic.com, so anthropic's own extensions of the anthropic wire are not sent to it (write vendor: anthropic in a record for \`syndicate provider register\` if it is anthropic's own API behind another name)`,
    ]);
    for (const [name, env] of [['openai', 'OPENAI_API_KEY'], ['glm', 'ZHIPUAI_API_KEY']] as const) {
      const hosted = await add([name], { [env]: 'sk-test' });
      expect(hosted.record).toMatchObject({ id: name, class: 'approved_hosted', auth: { env } });
      expect(hosted.notes).toEqual([]);
    }
    expect((await add(['openai', '--id', 'openai-own', '--base-url', 'https://api.openai.com/v1/'])).record.vendor).toBe('openai');
    // The price column shows each input-length tier after the base rates.
    const shown = await runCli(['provider', 'show', 'openai'], { home });
    expect(shown.stdout).toMatch(/^gpt-6\.2-sol .*\$2 \/ \$10 \(cached in \$0\.1\); over 272000 in: \$4 \/ \$15 /m);
  });

  it('a hosted entry whose key variable is not set here is registered, with a note that nothing will call it until it is set', async () => {
    const document = await add(['anthropic'], { ANTHROPIC_API_KEY: undefined });
    expect(document.outcome).toMatchObject({ id: 'anthropic', status: 'registered' });
    expect(document.notes).toEqual([
      'ANTHROPIC_API_KEY is not set in this environment: anthropic is skipped by every request until it is (export ANTHROPIC_API_KEY=… where syndicate runs: this shell, the gateway\'s, the MCP client\'s)',
    ]);
    // The human output: the note on stderr, the key's variable on stdout as before.
    const human = await runCli(['provider', 'add', 'openai', '--id', 'openai-empty-key'], { home, env: { OPENAI_API_KEY: '' } });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stderr).toContain('note: OPENAI_API_KEY is not set in this environment: openai-empty-key is skipped by every request until it is (export OPENAI_API_KEY=…');
    expect(human.stdout).toContain('the key is read from $OPENAI_API_KEY at call time');
  });

  it('--list prints the catalog; a missing name is a usage error', async () => {
    const listed = await runCli(['provider', 'add', '--list', '--json'], { home });
    expect(listed.exitCode).toBe(0);
    const catalog = (parseJsonDocument(listed.stdout).catalog as { name: string; discoversModels: boolean; authEnv: string | null }[]).map(
      (entry) => [entry.name, entry.discoversModels, entry.authEnv],
    );
    expect(catalog).toEqual([
      ['llama-swap', true, null],
      ['llama.cpp', true, null],
      ['lmstudio', true, null],
      ['ollama', true, null],
      ['vllm', true, null],
      ['anthropic', false, 'ANTHROPIC_API_KEY'],
      ['glm', false, 'ZHIPUAI_API_KEY'],
      ['openai', false, 'OPENAI_API_KEY'],
    ]);
    const missing = await runCli(['provider', 'add'], { home });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('provider add --list');
    // The human list names what a hosted entry registers: the current models, not retired ones.
    const human = await runCli(['provider', 'add', '--list'], { home });
    expect(human.stdout).toMatch(/^anthropic .*claude-fable-5-2, claude-opus-5-5, claude-sonnet-5-5, claude-haiku-5-5,/m);
    expect(human.stdout).toMatch(/^openai .*gpt-6\.2-astra, gpt-6\.2-sol, gpt-6\.1-terra, gpt-6-luna/m);
    expect(human.stdout).not.toMatch(/claude-sonnet-4-5|claude-opus-4-1|gpt-5\b|gpt-4o-mini/);
  });

  it('--list names the ready-to-edit examples where syndicate is installed, whatever the current directory', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'syndicate-elsewhere-'));
    try {
      const listed = await runCli(['provider', 'add', '--list', '--json'], { home, cwd: elsewhere });
      const examples = parseJsonDocument(listed.stdout).examples as string;
      expect(isAbsolute(examples)).toBe(true);
      expect(readdirSync(examples)).toEqual(expect.arrayContaining(['ollama-local.yaml', 'llamacpp-local.yaml', 'anthropic-hosted.yaml']));
      const human = await runCli(['provider', 'add', '--list'], { home, cwd: elsewhere });
      expect(human.stdout).toContain(`or copy and edit a record from ${examples} and \`syndicate provider register FILE\` it`);
      // What it names registers from there.
      await registerFilesInHome(home, join(examples, 'ollama-local.yaml'));
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
