/**
 * Cold starts observed end to end: Ollama says which models it holds (`/api/ps`); an answer from
 * a model it had not loaded records `chosen.warm: false` in its route evidence, and `metrics`
 * reports those answers apart — what a cold start costs on an engine that reports no load times.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

let ollama: FakeEngine;
let home: string;
let cleanup: () => void;

beforeAll(async () => {
  // The fake reports its first model resident: llama3.2:3b is warm, qwen2.5-coder:7b is not.
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:3b' }, { id: 'qwen2.5-coder:7b' }] });
  ({ home, cleanup } = makeTempHome('syndicate-cold-starts-'));
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const record = join(home, 'ollama.yaml');
  writeFileSync(
    record,
    `apiVersion: syndicate/v1\nkind: Provider\nid: ollama\nclass: local\nwire: openai\nbaseUrl: ${ollama.baseUrl}\nengine:\n  kind: ollama\nmodels:\n` +
      `  - id: llama3.2:3b\n    contextWindow: 8192\n    capabilityClass: small\n  - id: qwen2.5-coder:7b\n    contextWindow: 8192\n    capabilityClass: medium\n`,
  );
  expect((await runCli(['provider', 'register', record], { home })).exitCode).toBe(0);
});

afterAll(async () => {
  await ollama?.close();
  cleanup?.();
});

describe('cold starts', () => {
  it('records whether the engine held the model, and metrics reports the cold answers apart', async () => {
    const answer = async (model: string): Promise<string> => {
      const result = await runCli(['--json', 'run', 'Name the capital of France.', '--model', `ollama:${model}`, '--no-stream'], { home });
      expect(result.exitCode, result.stderr).toBe(0);
      return (parseJsonDocument(result.stdout) as { evidenceId: string }).evidenceId;
    };
    const coldId = await answer('qwen2.5-coder:7b');
    const warmId = await answer('llama3.2:3b');
    const routeOf = async (id: string): Promise<{ chosen: { warm?: boolean; reasons: string[] } }> => {
      const shown = await runCli(['--json', 'evidence', 'show', id], { home });
      return (parseJsonDocument(shown.stdout) as { evidence: { route: { chosen: { warm?: boolean; reasons: string[] } } } }).evidence.route;
    };
    expect((await routeOf(coldId)).chosen).toMatchObject({ warm: false, reasons: expect.arrayContaining(['model is cold; its load time is unknown']) });
    expect((await routeOf(warmId)).chosen).toMatchObject({ warm: true, reasons: expect.arrayContaining(['model is loaded (warm)']) });

    const metrics = parseJsonDocument((await runCli(['--json', 'metrics', '--since', '1h'], { home })).stdout) as { metrics: { coldStarts: unknown[] } };
    expect(metrics.metrics.coldStarts).toEqual([
      { provider: 'ollama', model: 'qwen2.5-coder:7b', coldRequests: 1, coldFirstTokenMs: expect.objectContaining({ samples: 1 }), warmFirstTokenMs: null },
    ]);
  });
});

describe('cold starts of a llama-server asleep (--sleep-idle-seconds)', () => {
  let llama: FakeEngine;
  let llamaHome: { home: string; cleanup: () => void };

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'tiny', contextWindow: 2048 }], asleep: true });
    llamaHome = makeTempHome('syndicate-cold-starts-llama-');
    expect((await runCli(['init'], { home: llamaHome.home })).exitCode).toBe(0);
    await registerLlama('llama', llama);
  });
  afterAll(async () => {
    await llama?.close();
    llamaHome?.cleanup();
  });

  /** A record `id` for the fake llama-server's model `tiny`. */
  const registerLlama = async (id: string, engine: FakeEngine): Promise<void> => {
    const record = join(llamaHome.home, `${id}.yaml`);
    writeFileSync(
      record,
      `apiVersion: syndicate/v1\nkind: Provider\nid: ${id}\nclass: local\nwire: openai\nbaseUrl: ${engine.baseUrl}\nengine:\n  kind: llama.cpp\nmodels:\n` +
        `  - id: tiny\n    contextWindow: 2048\n    capabilityClass: small\n`,
    );
    expect((await runCli(['provider', 'register', record], { home: llamaHome.home })).exitCode).toBe(0);
  };

  it('engine status says its model sleeps; the answer that wakes it is recorded cold, the next one warm', { timeout: 90_000 }, async () => {
    const status = async (): Promise<unknown> => {
      const result = await runCli(['--json', 'engine', 'status', 'llama'], { home: llamaHome.home });
      expect(result.exitCode, result.stderr).toBe(0);
      return (parseJsonDocument(result.stdout) as { engines: Array<{ resident: unknown }> }).engines[0]?.resident;
    };
    expect(await status()).toEqual([expect.objectContaining({ model: 'tiny', state: 'sleeping' })]);
    const warmth = async (): Promise<boolean | undefined> => {
      const result = await runCli(['--json', 'run', 'Name the capital of France.', '--provider', 'llama', '--no-stream'], { home: llamaHome.home });
      expect(result.exitCode, result.stderr).toBe(0);
      const id = (parseJsonDocument(result.stdout) as { evidenceId: string }).evidenceId;
      const shown = parseJsonDocument((await runCli(['--json', 'evidence', 'show', id], { home: llamaHome.home })).stdout);
      return (shown as { evidence: { route: { chosen: { warm?: boolean } } } }).evidence.route.chosen.warm;
    };
    expect(await warmth()).toBe(false);
    expect(await status()).toEqual([expect.objectContaining({ model: 'tiny', state: 'loaded' })]);
    expect(await warmth()).toBe(true);
  });

  it('engine load wakes it (the model is loaded again), recorded as a load; loaded, it is already loaded', async () => {
    const asleep = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'tiny', contextWindow: 2048 }], asleep: true });
    try {
      await registerLlama('asleep', asleep);
      const load = async (): Promise<Record<string, unknown>> => {
        const result = await runCli(['--json', 'engine', 'load', 'asleep:tiny'], { home: llamaHome.home });
        expect(result.exitCode, result.stderr).toBe(0);
        return parseJsonDocument(result.stdout);
      };
      expect(await load()).toMatchObject({ alreadyResident: false, loadMs: expect.any(Number) });
      expect(asleep.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => [exchange.path, exchange.requestBody.toString()])).toEqual([['/tokenize', '{"content":""}']]);
      expect(await load()).toMatchObject({ alreadyResident: true });
    } finally {
      await asleep.close();
    }
  });
});

/**
 * Ollama loads a model it does not hold when a request asks for it, and its native answers say how
 * long that took (`load_duration`): a raw text completion syndicate sent to `/api/generate` that
 * made it load the model is a cold start `metrics` reports among the load times, streamed or not.
 * Answers from a model it held record none.
 */
describe('cold starts Ollama reports (load_duration)', () => {
  const LOAD_MS = 400;
  let engine: FakeEngine;
  let temporary: { home: string; cleanup: () => void };
  let gateway: RunningServe;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'ollama', loadDelayMs: LOAD_MS, models: [{ id: 'llama3.2:3b' }, { id: 'qwen2.5-coder:7b' }, { id: 'gemma3:4b' }] });
    temporary = makeTempHome('syndicate-cold-starts-ollama-load-');
    expect((await runCli(['init'], { home: temporary.home })).exitCode).toBe(0);
    const added = await runCli(['provider', 'add', 'ollama', '--base-url', engine.baseUrl], { home: temporary.home });
    expect(added.exitCode, added.stderr).toBe(0);
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: temporary.home });
  }, 90_000);
  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    await engine?.close();
    temporary?.cleanup();
  });

  it('records the load of a model Ollama had to load, with its load_duration, and none for one it held', { timeout: 90_000 }, async () => {
    const token = readFileSync(join(temporary.home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    const prompt = 'def add(a, b):\n    ';
    // Cold, not streamed; cold, streamed; warm (the fake's first model is resident from the start).
    expect((await client.completions.create({ model: 'ollama:qwen2.5-coder:7b', prompt, max_tokens: 8 })).choices[0]?.text).not.toBe('');
    const stream = await client.completions.create({ model: 'ollama:gemma3:4b', prompt, max_tokens: 8, stream: true });
    for await (const chunk of stream) expect(chunk.object).toBe('text_completion');
    await client.completions.create({ model: 'ollama:llama3.2:3b', prompt, max_tokens: 8 });
    await client.completions.create({ model: 'ollama:qwen2.5-coder:7b', prompt, max_tokens: 8 });
    // Each call went to Ollama's native /api/generate, whose answer carries load_duration.
    expect(engine.exchanges.filter((exchange) => exchange.method === 'POST' && exchange.path !== '/api/show').map((exchange) => exchange.path)).toEqual(Array(4).fill('/api/generate'));

    const metrics = await runCli(['--json', 'metrics', '--since', '1h'], { home: temporary.home });
    expect(metrics.exitCode, metrics.stderr).toBe(0);
    const { loadTimes } = (parseJsonDocument(metrics.stdout) as { metrics: { loadTimes: { provider: string; model: string; loads: number; maxMs: number }[] } }).metrics;
    expect(loadTimes.map(({ provider, model, loads }) => ({ provider, model, loads })).sort((a, b) => a.model.localeCompare(b.model))).toEqual([
      { provider: 'ollama', model: 'gemma3:4b', loads: 1 },
      { provider: 'ollama', model: 'qwen2.5-coder:7b', loads: 1 },
    ]);
    // The fake's load_duration: the load it waited for, plus its runner's own 21 ms.
    for (const entry of loadTimes) expect(entry.maxMs).toBe(LOAD_MS + 21);
  });
});
