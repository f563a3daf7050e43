import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';

interface AddDocument {
  ok: boolean;
  entry: string;
  outcome: { id: string; status: string; version: number };
  record: { id: string; class: string; baseUrl: string; auth?: { env: string }; vendor?: string; models: { id: string; contextWindow: number; capabilityClass: string; tags?: string[] }[] };
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

  async function add(args: string[]): Promise<AddDocument> {
    const result = await runCli(['provider', 'add', ...args, '--json'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    return parseJsonDocument(result.stdout) as unknown as AddDocument;
  }

  async function providers(): Promise<unknown> {
    const result = await runCli(['provider', 'list', '--json'], { home });
    expect(result.exitCode).toBe(0);
    return parseJsonDocument(result.stdout);
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

    expect(await providers()).toMatchObject({ providers: [{ id: 'ollama', version: 1, models: ['llama3.2:3b', 'qwen2.5-coder:32b'] }] });
    const again = await runCli(['provider', 'add', 'ollama', '--base-url', ollama.baseUrl], { home });
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe('unchanged ollama (v1)');
  });

  it('a local engine given by its root (as OLLAMA_HOST names it) is registered at its /v1 API, said in a note, and answers', async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
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
    expect(llama.exchanges.map((exchange) => `${exchange.method} ${exchange.path}`)).toEqual(['GET /v1/models', 'GET /props']);
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

  it('an unreachable engine exits 5 with how to start it, and registers nothing', async () => {
    const stopped = await startFakeEngine({ kind: 'ollama' });
    const deadUrl = stopped.baseUrl;
    await stopped.close();
    // A fresh home: `provider list` refuses it (exit 6, no store) before and after alike.
    const listing = async (): Promise<[number | undefined, string]> => {
      const listed = await runCli(['provider', 'list', '--json'], { home });
      return [listed.exitCode, listed.stdout];
    };
    const before = await listing();
    const result = await runCli(['provider', 'add', 'ollama', '--base-url', deadUrl], { home });
    expect(result.exitCode).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`error: cannot discover models: ollama at ${deadUrl.replace(/\/v1$/, '')} is not reachable`);
    // Told to start it where the given base URL says, not on Ollama's default port.
    const deadPort = new URL(deadUrl).port;
    expect(result.stderr).toContain(`hint: start Ollama with \`OLLAMA_HOST=127.0.0.1:${deadPort} ollama serve\``);
    const llama = await runCli(['provider', 'add', 'llama.cpp', '--base-url', `http://127.0.0.1:${deadPort}/v1`], { home });
    expect(llama.exitCode).toBe(5);
    expect(llama.stderr).toContain(`hint: start it with \`llama-server -m model.gguf --port ${deadPort}\``);
    const json = await runCli(['provider', 'add', 'ollama', '--base-url', deadUrl, '--json'], { home });
    expect(json.exitCode).toBe(5);
    expect(parseJsonDocument(json.stdout)).toMatchObject({ ok: false, error: { code: 'engine_unreachable' } });
    expect(await listing()).toEqual(before);
  });

  it('a local engine off loopback is refused before any request (exit 2, class rule)', async () => {
    const result = await runCli(['provider', 'add', 'ollama', '--base-url', 'http://192.168.1.20:11434/v1'], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('class "local" requires a baseUrl on this host');
  });

  it('hosted entries register with their class and auth.env without any network call', async () => {
    const anthropic = await engine({ kind: 'anthropic' });
    const document = await add(['anthropic', '--base-url', anthropic.baseUrl]);
    expect(document.record).toMatchObject({ id: 'anthropic', class: 'approved_hosted', auth: { env: 'ANTHROPIC_API_KEY' }, baseUrl: anthropic.baseUrl });
    expect(document.discovery).toBeNull();
    expect(anthropic.exchanges).toEqual([]);
    // Another host than Anthropic's own API (a proxy, here the fake): the vendor's extensions are not sent to it.
    expect(document.record.vendor).toBeUndefined();
    expect(document.notes).toEqual([
      `registered without vendor: anthropic: ${new URL(anthropic.baseUrl).host} is not api.anthropic.com, so anthropic's own extensions of the anthropic wire are not sent to it (write vendor: anthropic in a record for \`syndicate provider register\` if it is anthropic's own API behind another name)`,
    ]);
    for (const [name, env] of [['openai', 'OPENAI_API_KEY'], ['glm', 'ZHIPUAI_API_KEY']] as const) {
      const hosted = await add([name]);
      expect(hosted.record).toMatchObject({ id: name, class: 'approved_hosted', auth: { env } });
      expect(hosted.notes).toEqual([]);
    }
    expect((await add(['openai', '--id', 'openai-own', '--base-url', 'https://api.openai.com/v1/'])).record.vendor).toBe('openai');
    // The price column shows each input-length tier after the base rates.
    const shown = await runCli(['provider', 'show', 'openai'], { home });
    expect(shown.stdout).toMatch(/^gpt-6\.2-sol .*\$2 \/ \$10 \(cached in \$0\.1\); over 272000 in: \$4 \/ \$15 /m);
  });

  it('--list prints the catalog; a missing name is a usage error', async () => {
    const listed = await runCli(['provider', 'add', '--list', '--json'], { home });
    expect(listed.exitCode).toBe(0);
    const catalog = (parseJsonDocument(listed.stdout).catalog as { name: string; discoversModels: boolean; authEnv: string | null }[]).map(
      (entry) => [entry.name, entry.discoversModels, entry.authEnv],
    );
    expect(catalog).toEqual([
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
});
