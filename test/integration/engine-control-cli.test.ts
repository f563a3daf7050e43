import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';

import { BIN } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { freePort } from '../helpers/ports.js';
import { processesMentioning } from '../helpers/processes.js';
import { isAlive } from '../helpers/serve.js';
import { inferenceExchanges, launchedEngineYaml, registeredEngineScenario, Scenario } from '../helpers/scenario.js';
import { withStore } from '../helpers/store.js';
import { retireProvider } from '../../src/registry/registry.js';

const GB = 1e9;


/** The fake engine's /api/generate requests (loads and unloads), as parsed JSON, in order. */
function generateRequests(engine: FakeEngine): Record<string, unknown>[] {
  return engine.exchanges.filter((exchange) => exchange.path === '/api/generate').map((exchange) => JSON.parse(exchange.requestBody.toString('utf8')) as Record<string, unknown>);
}

/**
 * The fake Ollama registered with an 8 GB budget: llama3.2 (4 GB, priority 2, chat) and qwen2.5-coder
 * (5 GB, priority 5, code), stored by this process (no test here is about `provider register`).
 */
async function registerBudgetedOllama(scenario: Scenario, engine: FakeEngine): Promise<void> {
  const record = [
    'apiVersion: syndicate/v1',
    'kind: Provider',
    'id: ollama',
    'class: local',
    'wire: openai',
    `baseUrl: ${engine.baseUrl}`,
    'engine:',
    '  kind: ollama',
    '  vramBudgetGb: 8',
    'models:',
    '  - id: "llama3.2:latest"',
    '    contextWindow: 32768',
    '    capabilityClass: small',
    '    vramGb: 4',
    '    priority: 2',
    '    tags: [chat]',
    '  - id: "qwen2.5-coder:7b"',
    '    contextWindow: 32768',
    '    capabilityClass: medium',
    '    vramGb: 5',
    '    priority: 5',
    '    tags: [code]',
    'deviations: []',
  ].join('\n');
  writeFileSync(join(scenario.home, 'ollama.yaml'), `${record}\n`);
  await scenario.registerFilesInProcess(join(scenario.home, 'ollama.yaml'));
}

function startBudgetedOllama(): Promise<FakeEngine> {
  return startFakeEngine({
    kind: 'ollama',
    models: [
      { id: 'llama3.2:latest', sizeBytes: 4 * GB },
      { id: 'qwen2.5-coder:7b', sizeBytes: 5 * GB },
    ],
  });
}

/**
 * `startBudgetedOllama` registered in a fresh home for each test of one describe block: each test
 * meets llama3.2 resident and nothing loaded by syndicate, whichever tests ran before it, and loads
 * what it needs loaded itself.
 */
function budgetedOllamaScenario(): { scenario: Scenario; engine: FakeEngine } {
  const setup = {} as { scenario: Scenario; engine: FakeEngine };
  beforeEach(async () => {
    setup.engine = await startBudgetedOllama();
    setup.scenario = await Scenario.create();
    await registerBudgetedOllama(setup.scenario, setup.engine);
  });
  afterEach(async () => {
    setup.scenario?.cleanup();
    await setup.engine?.close();
  });
  return setup;
}

/** `engine load TARGET ...options` through syndicate, exit 0 asserted: the state a test starts from. */
async function loaded(scenario: Scenario, target: string, ...options: string[]): Promise<void> {
  const result = await scenario.cli(['engine', 'load', target, ...options]);
  expect(result.exitCode, result.stderr).toBe(0);
}

/**
 * `syndicate engine status|load|unload` against a fake Ollama: what the operator sees, what the
 * engine receives, and the hot-swap rule (evict only lower-ranked models, only when the declared
 * VRAM budget requires it), end to end through the built CLI.
 */
describe('engine status, load and unload with hot-swap (fake Ollama, 8 GB budget)', () => {
  const setup = budgetedOllamaScenario();
  let scenario: Scenario;
  let engine: FakeEngine;
  beforeEach(() => {
    ({ scenario, engine } = setup);
  });

  it('status: what the engine holds, its size and the declared priority, the budget in use', async () => {
    const { result, document } = await scenario.json(['engine', 'status']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [report] = document['engines'] as Record<string, unknown>[];
    expect(report).toMatchObject({
      provider: 'ollama',
      kind: 'ollama',
      reachable: true,
      engineVersion: expect.any(String),
      vramBudgetGb: 8,
      residentVramGb: 4,
      resident: [{ model: 'llama3.2:latest', state: 'loaded', declared: 'llama3.2:latest', priority: 2, vramGb: 4, sizeBytes: 4 * GB }],
      available: ['llama3.2:latest', 'qwen2.5-coder:7b'],
      process: null,
    });
    const human = await scenario.cli(['engine', 'status']);
    expect(human.stdout).toContain('resident: llama3.2:latest (4 GB, priority 2, until ');
    expect(human.stdout).toContain('VRAM: 4 GB in use of a 8 GB budget');
  });

  it('load --dry-run: prints the swap plan and sends nothing', async () => {
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b', '--dry-run']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ dryRun: true, evicted: [{ model: 'llama3.2:latest' }] });
    expect(document['explanation']).toContain('budget 8 GB, in use 4 GB, qwen2.5-coder:7b needs 5 GB');
    expect(generateRequests(engine)).toEqual([]);
  });

  it('load of a higher-priority model the budget has no room for: unloads the lower one first, then loads', async () => {
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b', '--keep-alive', '30m']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ model: 'qwen2.5-coder:7b', alreadyResident: false, loadMs: expect.any(Number), evicted: [{ model: 'llama3.2:latest' }] });
    expect(generateRequests(engine)).toEqual([
      { model: 'llama3.2:latest', keep_alive: 0 },
      { model: 'qwen2.5-coder:7b', keep_alive: '30m' },
    ]);
    const status = await scenario.json(['engine', 'status', 'ollama']);
    expect(((status.document['engines'] as Record<string, unknown>[])[0]!['resident'] as { model: string }[]).map((model) => model.model)).toEqual(['qwen2.5-coder:7b']);
  });

  it('load again: already loaded, nothing sent', async () => {
    await loaded(scenario, 'ollama:qwen2.5-coder:7b');
    const before = generateRequests(engine).length;
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ alreadyResident: true, evicted: [] });
    expect(generateRequests(engine)).toHaveLength(before);
  });

  it('load again with --keep-alive: Ollama is sent the keep-alive (it sets the expiry anew), no load is recorded', async () => {
    await loaded(scenario, 'ollama:qwen2.5-coder:7b');
    const before = generateRequests(engine).length;
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b', '--keep-alive', '2h']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ alreadyResident: true, evicted: [], explanation: ['qwen2.5-coder:7b is already loaded; its keep-alive is now 2h'] });
    expect(document['loadMs']).toBeUndefined();
    expect(generateRequests(engine).slice(before)).toEqual([{ model: 'qwen2.5-coder:7b', keep_alive: '2h' }]);
  });

  it('load of a lower-priority model that would need the higher one out: refused (exit 4), nothing changes', async () => {
    await loaded(scenario, 'ollama:qwen2.5-coder:7b');
    const before = generateRequests(engine).length;
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:llama3.2:latest']);
    expect(result.exitCode).toBe(4);
    expect(document['error']).toMatchObject({
      code: 'engine_swap_refused',
      message: 'llama3.2:latest does not fit in the 8 GB budget: llama3.2:latest (priority 2) does not outrank qwen2.5-coder:7b (priority 5, 5 GB)',
      // The provider and the model in the way named (it said `engine unload PROVIDER:MODEL`).
      hint: "unload a model first (`syndicate engine unload ollama:qwen2.5-coder:7b`), raise the model's priority, or evict by rank regardless with `syndicate engine load --force ollama:llama3.2:latest`",
    });
    expect(generateRequests(engine)).toHaveLength(before);
    const human = await scenario.cli(['engine', 'load', 'ollama:llama3.2:latest']);
    expect(human.stderr).toContain('error: llama3.2:latest does not fit in the 8 GB budget');
    expect(human.stderr).toContain('`syndicate engine unload ollama:qwen2.5-coder:7b`');
    expect(human.stderr).not.toContain('PROVIDER');
  });

  it('--task: a model tagged for the task outranks an untagged one whatever the priorities', async () => {
    await loaded(scenario, 'ollama:qwen2.5-coder:7b');
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:llama3.2:latest', '--task', 'chat']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ model: 'llama3.2:latest', evicted: [{ model: 'qwen2.5-coder:7b' }] });
  });

  it('unload: the engine releases it; unloading what it does not hold is not an error', async () => {
    const unloaded = await scenario.json(['engine', 'unload', 'ollama:llama3.2']);
    expect(unloaded.result.exitCode, unloaded.result.stderr).toBe(0);
    expect(unloaded.document).toMatchObject({ wasResident: true, model: 'llama3.2:latest' });
    const again = await scenario.json(['engine', 'unload', 'ollama:llama3.2']);
    expect(again.result.exitCode).toBe(0);
    expect(again.document).toMatchObject({ wasResident: false });
  });

  it('metrics: every load is a load time per model', async () => {
    await loaded(scenario, 'ollama:qwen2.5-coder:7b');
    await loaded(scenario, 'ollama:llama3.2:latest', '--task', 'chat');
    const { result, document } = await scenario.json(['metrics']);
    expect(result.exitCode, result.stderr).toBe(0);
    const loadTimes = (document['metrics'] as Record<string, unknown>)['loadTimes'] as { provider: string; model: string; loads: number }[];
    expect(loadTimes).toEqual([
      expect.objectContaining({ provider: 'ollama', model: 'llama3.2:latest', loads: 1 }),
      expect.objectContaining({ provider: 'ollama', model: 'qwen2.5-coder:7b', loads: 1 }),
    ]);
  });

  it('bad targets: no model, an undeclared model, an unknown provider — exit 2 with the fix', async () => {
    const [noModel, undeclared, unknown] = await Promise.all([
      scenario.json(['engine', 'load', 'ollama']),
      scenario.json(['engine', 'load', 'ollama:mistral:7b']),
      scenario.json(['engine', 'status', 'nope']),
    ]);
    expect(noModel.result.exitCode).toBe(2);
    expect((noModel.document['error'] as { hint: string }).hint).toContain('ollama:llama3.2:3b');
    expect(undeclared.result.exitCode).toBe(2);
    expect((undeclared.document['error'] as { message: string }).message).toBe('ollama declares no model mistral:7b (it declares llama3.2:latest, qwen2.5-coder:7b)');
    expect(unknown.result.exitCode).toBe(2);
  });
});

/** The fake engine's `/api/ps`: each resident model and the context it was loaded with. */
async function residentContexts(engine: FakeEngine): Promise<Record<string, number>> {
  const body = (await (await fetch(new URL('/api/ps', engine.baseUrl))).json()) as { models: { name: string; context_length: number }[] };
  return Object.fromEntries(body.models.map((model) => [model.name, model.context_length]));
}

/**
 * `engine load --num-ctx`: the context Ollama loads the model with (`options.num_ctx`, as the
 * gateway's Ollama face sends a client's), and a reload for a new context decided by the same
 * hot-swap plan as a load.
 */
describe('engine load --num-ctx (fake Ollama, 8 GB budget)', () => {
  const setup = budgetedOllamaScenario();

  it('a context that is not a positive whole number, or beyond the record\'s contextWindow: exit 2 before the engine is asked anything', async () => {
    const before = setup.engine.exchanges.length;
    // Refusals before the engine is asked: all at once.
    const [tooLarge, ...malformed] = await Promise.all(['65536', '0', '-5', '4096.5', 'big'].map((value) => setup.scenario.json(['engine', 'load', 'ollama:llama3.2:latest', '--num-ctx', value])));
    for (const [index, value] of ['0', '-5', '4096.5', 'big'].entries()) {
      const { result, document } = malformed[index]!;
      expect(result.exitCode, value).toBe(2);
      expect(document['error']).toMatchObject({ code: 'usage', message: `--num-ctx must be a positive whole number, got "${value}"` });
    }
    const { result, document } = tooLarge!;
    expect(result.exitCode).toBe(2);
    expect(document['error']).toMatchObject({
      code: 'usage',
      message: 'a context of 65536 tokens does not fit ollama:llama3.2:latest: its record declares a contextWindow of 32768',
      hint: expect.stringContaining('from 1 to 32768'),
    });
    expect(setup.engine.exchanges.slice(before)).toEqual([]);
  });

  it('loads the model with num_ctx, as the gateway\'s Ollama face sends a client\'s options.num_ctx', async () => {
    const { result, document } = await setup.scenario.json(['engine', 'load', 'ollama:llama3.2:latest', '--num-ctx', '8192']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ model: 'llama3.2:latest', alreadyResident: false, loadMs: expect.any(Number) });
    expect(document['explanation']).toContain('llama3.2:latest was loaded with a 4096-token context: loaded again with num_ctx 8192');
    expect(generateRequests(setup.engine)).toEqual([{ model: 'llama3.2:latest', options: { num_ctx: 8192 } }]);
    expect(await residentContexts(setup.engine)).toEqual({ 'llama3.2:latest': 8192 });
  });

  it('a reload for a new num_ctx goes through the swap plan: it evicts the lower-ranked model the budget needs out', async () => {
    await loaded(setup.scenario, 'ollama:llama3.2:latest', '--num-ctx', '8192');
    // qwen2.5-coder (5 GB) loaded beside llama3.2 (4 GB) behind syndicate's back: 9 GB in an 8 GB budget.
    await fetch(new URL('/api/generate', setup.engine.baseUrl), { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', options: { num_ctx: 4096 } }) });
    expect(await residentContexts(setup.engine)).toEqual({ 'llama3.2:latest': 8192, 'qwen2.5-coder:7b': 4096 });
    const before = generateRequests(setup.engine).length;
    const { result, document } = await setup.scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b', '--num-ctx', '16384']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ evicted: [{ model: 'llama3.2:latest' }], loadMs: expect.any(Number) });
    expect(document['explanation']).toEqual([
      'qwen2.5-coder:7b was loaded with a 4096-token context: loaded again with num_ctx 16384',
      'budget 8 GB, in use 4 GB, qwen2.5-coder:7b needs 5 GB',
      'evicting lower-ranked: llama3.2:latest (priority 2, 4 GB)',
    ]);
    expect(generateRequests(setup.engine).slice(before)).toEqual([
      { model: 'llama3.2:latest', keep_alive: 0 },
      { model: 'qwen2.5-coder:7b', options: { num_ctx: 16384 } },
    ]);
    expect(await residentContexts(setup.engine)).toEqual({ 'qwen2.5-coder:7b': 16384 });
  });

  it('a reload that would need a higher-ranked model out is refused (exit 4) as a load is, and the model stays loaded as it was', async () => {
    await loaded(setup.scenario, 'ollama:qwen2.5-coder:7b', '--num-ctx', '16384');
    expect(await residentContexts(setup.engine)).toEqual({ 'qwen2.5-coder:7b': 16384 });
    // llama3.2 loaded again behind syndicate's back, with Ollama's default context.
    await fetch(new URL('/api/generate', setup.engine.baseUrl), { method: 'POST', body: JSON.stringify({ model: 'llama3.2:latest' }) });
    const before = generateRequests(setup.engine).length;
    const dryRun = await setup.scenario.json(['engine', 'load', 'ollama:llama3.2:latest', '--num-ctx', '8192', '--dry-run']);
    expect(dryRun.result.exitCode).toBe(4);
    const { result, document } = await setup.scenario.json(['engine', 'load', 'ollama:llama3.2:latest', '--num-ctx', '8192']);
    expect(result.exitCode).toBe(4);
    expect(document['error']).toMatchObject({
      code: 'engine_swap_refused',
      message: 'llama3.2:latest does not fit in the 8 GB budget: llama3.2:latest (priority 2) does not outrank qwen2.5-coder:7b (priority 5, 5 GB)',
    });
    expect(generateRequests(setup.engine).slice(before)).toEqual([]);
    expect(await residentContexts(setup.engine)).toEqual({ 'llama3.2:latest': 4096, 'qwen2.5-coder:7b': 16384 });
  });
});

describe('engine load of a model larger than the whole budget', () => {
  const setup = budgetedOllamaScenario();

  it('exit 4 naming both sizes, and a hint that fixes it: the budget or the size in the record, not --force or an unload that cannot help', async () => {
    // The coder declared at 12 GB in the 8 GB budget, re-registered over the budgeted record.
    const yaml = readFileSync(join(setup.scenario.home, 'ollama.yaml'), 'utf8').replace('vramGb: 5', 'vramGb: 12');
    writeFileSync(join(setup.scenario.home, 'ollama.yaml'), yaml);
    await setup.scenario.registerFilesInProcess(join(setup.scenario.home, 'ollama.yaml'));
    for (const force of [[], ['--force']]) {
      const { result, document } = await setup.scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b', ...force]);
      expect(result.exitCode).toBe(4);
      expect(document['error']).toMatchObject({
        code: 'engine_swap_refused',
        message: "qwen2.5-coder:7b needs 12 GB, more than the engine's whole budget of 8 GB",
        hint: "no eviction makes room for it (--force neither): if the host has the memory, raise engine.vramBudgetGb in ollama's record; if the model takes less, correct its vramGb there",
      });
    }
    expect(generateRequests(setup.engine)).toEqual([]);
  });
});

describe('engine load --num-ctx on an engine other than Ollama', () => {
  const setup = registeredEngineScenario('llamacpp', { kind: 'llama.cpp' }, 'in-process');

  it('is ignored with a warning (the engine keeps the context it was started with), as the Ollama face names it in x-syndicate-ignored-fields', async () => {
    const { result, document } = await setup.scenario.json(['engine', 'load', 'llamacpp:qwen2.5-0.5b-instruct-q4_k_m.gguf', '--num-ctx', '2048']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ alreadyResident: true, ignored: ['num_ctx'] });
    expect(result.stderr).toContain("warning: --num-ctx ignored: llamacpp's engine is openai-compatible, which keeps the context it was started with");
    expect(inferenceExchanges(setup.engine)).toEqual([]);
    const tooLarge = await setup.scenario.json(['engine', 'load', 'llamacpp:qwen2.5-0.5b-instruct-q4_k_m.gguf', '--num-ctx', '65536']);
    expect(tooLarge.result.exitCode).toBe(2);
  });
});

/**
 * Hot-swap when a request is routed: a cold model on the budgeted engine is called only after the
 * lower-priority models its route names are unloaded; one that would need a higher-priority model
 * out is not routed there at all.
 */
describe('routing to a cold model on a full engine (run through the pipeline)', () => {
  const setup = budgetedOllamaScenario();

  it('a higher-priority cold model: the lower one is unloaded first, then the call; the route evidence names the eviction', async () => {
    const { result, document } = await setup.scenario.json(['run', '--provider', 'ollama:qwen2.5-coder:7b', '--no-stream', 'Write a haiku about rivers.']);
    expect(result.exitCode, result.stderr).toBe(0);
    const posts = setup.engine.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => exchange.path);
    expect(posts).toEqual(['/api/generate', '/v1/chat/completions']);
    expect(generateRequests(setup.engine)).toEqual([{ model: 'llama3.2:latest', keep_alive: 0 }]);
    const evidence = setup.scenario.storedEvidence(document['evidenceId'] as string);
    expect((evidence['route'] as { chosen: Record<string, unknown> }).chosen).toMatchObject({ model: 'qwen2.5-coder:7b', warm: false, evicts: ['llama3.2:latest'] });
  });

  it('a lower-priority cold model that would need the higher one out: not routed (exit 4), nothing unloaded, the hint says what to do', async () => {
    await loaded(setup.scenario, 'ollama:qwen2.5-coder:7b');
    const before = setup.engine.exchanges.length;
    const { result, document } = await setup.scenario.json(['run', '--provider', 'ollama:llama3.2:latest', '--no-stream', 'Hello there.']);
    expect(result.exitCode).toBe(4);
    const error = document['error'] as { message: string; hint: string };
    expect(error.hint).toContain('syndicate engine unload');
    expect(setup.engine.exchanges.slice(before).filter((exchange) => exchange.method === 'POST')).toEqual([]);
  });
});

function readProvider(scenario: Scenario, id: string): string {
  return /baseUrl: (\S+)/.exec(readFileSync(join(scenario.home, `${id}.yaml`), 'utf8'))![1]!;
}

describe('engine load and unload that the engine does not finish within --timeout', () => {
  /** The budgeted fake Ollama, registered in a fresh home, whose loads and unloads each take 3 s: longer than the --timeout below. */
  async function slowOllama(resident: string[]): Promise<Scenario> {
    const engine = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest', sizeBytes: 4 * GB }, { id: 'qwen2.5-coder:7b', sizeBytes: 5 * GB }], loadDelayMs: 3000, resident });
    const scenario = await Scenario.create();
    onTestFinished(async () => {
      scenario.cleanup();
      await engine.close();
    });
    await registerBudgetedOllama(scenario, engine);
    return scenario;
  }

  it('a load the engine does not answer in time: exit 5 with a hint naming engine status and --timeout (the error document had no hint)', async () => {
    const scenario = await slowOllama([]);
    const { result, document } = await scenario.json(['engine', 'load', 'ollama:qwen2.5-coder:7b', '--timeout', '200ms']);
    expect(result.exitCode, result.stdout).toBe(5);
    expect(document['error']).toEqual({
      code: 'engine_unreachable',
      message: expect.stringMatching(/\/api\/generate is unreachable: no answer within 200 ms$/),
      hint: 'the engine may still be at it: `syndicate engine status ollama` shows what it holds; allow it longer than 200ms with --timeout',
    });
  });

  it('an unload the engine has not finished in time says the time given (it said "within 0 s")', async () => {
    const scenario = await slowOllama(['llama3.2:latest']);
    const { result, document } = await scenario.json(['engine', 'unload', 'ollama:llama3.2:latest', '--timeout', '200ms']);
    expect(result.exitCode, result.stdout).toBe(5);
    expect(document['error']).toMatchObject({ code: 'engine_timeout', message: 'Ollama releasing llama3.2:latest: not done within 200ms', hint: expect.stringContaining('--timeout') });
  });
});

describe('engine status of an engine that does not answer', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await Scenario.create();
    const port = await freePort();
    writeFileSync(join(scenario.home, 'gone.yaml'), ['apiVersion: syndicate/v1', 'kind: Provider', 'id: gone', 'class: local', 'wire: openai', `baseUrl: http://127.0.0.1:${port}/v1`, 'engine:', '  kind: llama.cpp', 'models:', '  - id: m', '    contextWindow: 4096', '    capabilityClass: small', 'deviations: []', ''].join('\n'));
    await scenario.registerFilesInProcess(join(scenario.home, 'gone.yaml'));
  });
  afterAll(() => scenario?.cleanup());

  it('exit 1, the report in the error details, the hint names what to do', async () => {
    const { result, document } = await scenario.json(['engine', 'status']);
    expect(result.exitCode).toBe(1);
    const error = document['error'] as { code: string; message: string; hint: string; details: { engines: Record<string, unknown>[] } };
    expect(error.code).toBe('check_failed');
    expect(error.message).toBe('1 of 1 engine did not answer: gone');
    expect(error.details.engines[0]).toMatchObject({ provider: 'gone', reachable: false, reason: expect.stringContaining('connection refused') });
    expect(error.hint).toContain('start gone');
  });

  it('an engine that answers with an error runs: exit 1 saying so (cause failing), not "did not answer", and the hint does not say to start it', async () => {
    const failing = createServer((_request, response) => response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}'));
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => failing.close(() => resolve())));
    const port = (failing.address() as AddressInfo).port;
    writeFileSync(join(scenario.home, 'broken.yaml'), ['apiVersion: syndicate/v1', 'kind: Provider', 'id: broken', 'class: local', 'wire: openai', `baseUrl: http://127.0.0.1:${port}/v1`, 'engine:', '  kind: llama-swap', 'models:', '  - id: m', '    contextWindow: 4096', '    capabilityClass: small', 'deviations: []', ''].join('\n'));
    await scenario.registerFilesInProcess(join(scenario.home, 'broken.yaml'));
    onTestFinished(async () => {
      withStore(scenario.home, (store) => retireProvider(store, 'broken'));
    });
    const { result, document } = await scenario.json(['engine', 'status', 'broken']);
    expect(result.exitCode).toBe(1);
    const error = document['error'] as { message: string; hint: string; details: { engines: Record<string, unknown>[] } };
    expect(error.message).toBe('1 of 1 engine answered with an error: broken');
    expect(error.details.engines[0]).toMatchObject({ provider: 'broken', reachable: false, cause: 'failing', reason: expect.stringContaining('answered HTTP 500') });
    expect(error.hint).toBe(`broken's engine runs but answers with errors: read the engine's own log, and check that its baseUrl (http://127.0.0.1:${port}/v1) is that engine's and its record's engine.kind (llama-swap) is right`);
    const human = await scenario.cli(['engine', 'status']);
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toMatch(/^broken v1 {2}failing {2}llama-swap/m);
    expect(human.stderr).toContain('2 engines did not answer: gone; answered with an error: broken');
  });

  it('load --keep-alive on an engine other than Ollama: refused (exit 2) before the engine is asked anything, not silently dropped', async () => {
    const { result, document } = await scenario.json(['engine', 'load', 'gone:m', '--keep-alive', '30m']);
    expect(result.exitCode).toBe(2);
    expect(document['error']).toMatchObject({ code: 'usage', message: "--keep-alive is Ollama's: gone's engine is llama.cpp, which would not honour it" });
  });

  it('load and unload of a down engine: exit 5 saying whose engine is down and how to start it', async () => {
    const load = await scenario.json(['engine', 'load', 'gone:m']);
    expect(load.result.exitCode).toBe(5);
    expect(load.document['error']).toMatchObject({
      code: 'engine_unreachable',
      message: expect.stringMatching(/^gone's engine is down: http:\/\/127\.0\.0\.1:\d+\/v1\/models is unreachable/),
      hint: expect.stringContaining("start gone's engine (its record declares no engine.launch"),
    });
    const port = new URL(readProvider(scenario, 'gone')).port;
    // Retired when the test ends: the other tests meet gone alone.
    onTestFinished(async () => {
      withStore(scenario.home, (store) => retireProvider(store, 'startable'));
    });
    writeFileSync(join(scenario.home, 'startable.yaml'), launchedEngineYaml({ id: 'startable', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: 'llama-server', readyPath: '/health', model: 'm', contextWindow: 4096 }));
    await scenario.registerFilesInProcess(join(scenario.home, 'startable.yaml'));
    const unload = await scenario.json(['engine', 'unload', 'startable:m']);
    expect(unload.result.exitCode).toBe(5);
    expect(unload.document['error']).toMatchObject({ code: 'engine_unreachable', hint: 'start it: `syndicate engine start startable`' });
    const human = await scenario.cli(['engine', 'load', 'startable:m']);
    expect(human.stderr).toContain("error: startable's engine is down");
    expect(human.stderr).toContain('hint: start it: `syndicate engine start startable`');
  });
});

/**
 * `engine start|stop` run the process a record declares. The engine here is syndicate's own
 * `engine serve` on the fake node-llama-cpp (a real process that answers /health and /v1/models).
 */
describe('engine start and stop (engine.launch)', () => {
  let scenario: Scenario;
  let env: Record<string, string>;
  let port: number;

  const writeRecord = (id: string, command: string, args: string[], readyPath = '/health', baseUrl = `http://127.0.0.1:${port}/v1`): string => {
    const path = join(scenario.home, `${id}.yaml`);
    writeFileSync(path, launchedEngineYaml({ id, baseUrl, kind: 'node-llama-cpp', command, args, readyPath, coldStartSeconds: 5, model: 'model', contextWindow: 4096 }));
    return path;
  };

  beforeAll(async () => {
    scenario = await Scenario.create();
    const engineDirectory = join(scenario.home, 'engine-install');
    writeFakeNodeLlamaCpp(engineDirectory);
    env = { SYNDICATE_ENGINE_DIR: engineDirectory };
    const modelPath = join(scenario.home, 'model.gguf');
    writeFileSync(modelPath, 'not read by the fake engine');
    port = await freePort();
    const wrappedPort = await freePort();
    const files = [
      writeRecord('embedded', process.execPath, [BIN, 'engine', 'serve', '--model', modelPath, '--port', String(port)]),
      writeRecord('wrapped', 'sh', ['-c', `exec "${process.execPath}" "${BIN}" engine serve --model "${modelPath}" --port ${wrappedPort}`], '/health', `http://127.0.0.1:${wrappedPort}/v1`),
      writeRecord('crashes', process.execPath, ['-e', "console.error('unknown argument: --frobnicate'); process.exit(3)"], '/health', `http://127.0.0.1:${await freePort()}/v1`),
      writeRecord('missing', 'no-such-engine-binary-xyz', [], '/health', `http://127.0.0.1:${await freePort()}/v1`),
    ];
    const retiredPort = await freePort();
    files.push(writeRecord('retired', 'sh', ['-c', `exec "${process.execPath}" "${BIN}" engine serve --model "${modelPath}" --port ${retiredPort}`], '/health', `http://127.0.0.1:${retiredPort}/v1`));
    await scenario.registerFilesInProcess(...files);
  });
  // Each test meets every engine stopped, whichever tests ran before it (or failed partway): each
  // one the store records a process of is stopped through syndicate.
  afterEach(async () => {
    const recorded = withStore(scenario.home, (store) => store.statement('SELECT provider_id FROM engine_processes').pluck().all() as string[]);
    await Promise.all(recorded.map((id) => scenario.cli(['engine', 'stop', id, '--grace', '1s'], { env })));
  });
  afterAll(() => scenario?.cleanup());

  /** `engine start embedded`, which the test asserts started it: its pid. */
  const startEmbedded = async (): Promise<number> => {
    const { result, document } = await scenario.json(['engine', 'start', 'embedded'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ started: true, pid: expect.any(Number) });
    return document['pid'] as number;
  };
  const loadTimes = async (): Promise<{ provider: string; loads: number }[]> =>
    ((await scenario.json(['metrics'], { env })).document['metrics'] as { loadTimes: { provider: string; loads: number }[] }).loadTimes;

  it('start: runs the declared command detached, waits for readyPath, records the start and the model it loaded', async () => {
    // Counted from the starts the earlier tests made: the tests may run in any order.
    const loadsBefore = (await loadTimes()).find((entry) => entry.provider === 'embedded')?.loads ?? 0;
    const { result, document } = await scenario.json(['engine', 'start', 'embedded'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ started: true, pid: expect.any(Number), readyMs: expect.any(Number), loaded: [expect.any(String)], logPath: join(scenario.home, 'engines', 'embedded.log') });
    const pid = document['pid'] as number;
    expect(isAlive(pid)).toBe(true);
    const status = await scenario.json(['engine', 'status', 'embedded'], { env });
    expect(status.result.exitCode, status.result.stderr).toBe(0);
    expect((status.document['engines'] as Record<string, unknown>[])[0]).toMatchObject({ reachable: true, process: { pid, alive: true } });
    expect((await loadTimes()).filter((entry) => entry.provider === 'embedded')).toEqual([expect.objectContaining({ provider: 'embedded', loads: loadsBefore + 1 })]);
  });

  it('start again: already running, the same process', async () => {
    const pid = await startEmbedded();
    const { result, document } = await scenario.json(['engine', 'start', 'embedded'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ started: false, reason: 'already-running', pid });
  });

  it('stop: SIGTERM to its process group; the process is gone; stopping again is not an error', async () => {
    const pid = await startEmbedded();
    const { result, document } = await scenario.json(['engine', 'stop', 'embedded'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ stopped: true, pid, killed: false });
    expect(isAlive(pid)).toBe(false);
    const again = await scenario.json(['engine', 'stop', 'embedded'], { env });
    expect(again.result.exitCode).toBe(0);
    expect(again.document).toMatchObject({ stopped: false, reason: 'not-running' });
  });

  it('an engine launched through a wrapper that execs it is still the one syndicate started: status says alive, stop stops it', async () => {
    const started = await scenario.json(['engine', 'start', 'wrapped'], { env });
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const wrappedPid = started.document['pid'] as number;
    const status = await scenario.json(['engine', 'status', 'wrapped'], { env });
    expect((status.document['engines'] as Record<string, unknown>[])[0]).toMatchObject({ reachable: true, process: { pid: wrappedPid, alive: true } });
    const stopped = await scenario.json(['engine', 'stop', 'wrapped'], { env });
    expect(stopped.result.exitCode, stopped.result.stderr).toBe(0);
    expect(stopped.document).toMatchObject({ stopped: true, pid: wrappedPid });
    expect(isAlive(wrappedPid)).toBe(false);
  });

  it('a recorded pid the system has given to another program (same executable) is never signalled', async () => {
    const started = await scenario.json(['engine', 'start', 'embedded'], { env });
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const enginePid = started.document['pid'] as number;
    process.kill(enginePid, 'SIGKILL');
    // Another node program now holds the pid the row names (as after the engine died and the pid was reused).
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      withStore(scenario.home, (store) => store.statement('UPDATE engine_processes SET pid = ? WHERE provider_id = ?').run(other.pid, 'embedded'));
      const status = await scenario.json(['engine', 'status', 'embedded'], { env });
      expect((status.document['error'] as { details: { engines: Record<string, unknown>[] } }).details.engines[0]).toMatchObject({ process: { pid: other.pid, alive: false } });
      // Said as an engine that exited, with its log — not as syndicate's engine that does not answer yet.
      const hint = (status.document['error'] as { hint: string }).hint;
      expect(hint).toContain(`the engine syndicate started (pid ${other.pid}, `);
      expect(hint).toContain('has exited — its log: ');
      expect(hint).not.toContain('does not answer yet');
      const text = await scenario.cli(['engine', 'status', 'embedded'], { env });
      expect(text.stdout).toContain(`process: pid ${other.pid} (exited), started by syndicate`);
      const stopped = await scenario.json(['engine', 'stop', 'embedded', '--grace', '1s'], { env });
      expect(stopped.result.exitCode, stopped.result.stderr).toBe(0);
      expect(stopped.document).toMatchObject({ stopped: false, reason: 'exited', pid: other.pid, logPath: expect.stringContaining('embedded') });
      expect(isAlive(other.pid!)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('two starts at once: one starts the engine, the other waits and finds it running; stop leaves nothing answering', async () => {
    const [first, second] = await Promise.all([scenario.json(['engine', 'start', 'embedded'], { env }), scenario.json(['engine', 'start', 'embedded'], { env })]);
    expect(first.result.exitCode, first.result.stderr).toBe(0);
    expect(second.result.exitCode, second.result.stderr).toBe(0);
    const outcomes = [first.document, second.document];
    expect(outcomes.filter((document) => document['started'] === true)).toHaveLength(1);
    const startedPid = outcomes.find((document) => document['started'] === true)!['pid'];
    expect(outcomes.find((document) => document['started'] === false)).toMatchObject({ reason: 'already-running', pid: startedPid });
    const stopped = await scenario.json(['engine', 'stop', 'embedded'], { env });
    expect(stopped.document).toMatchObject({ stopped: true, pid: startedPid });
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('a start while another syndicate is starting the same engine waits for it instead of spawning a second one', async () => {
    // The lock another `engine start` holds while it starts the engine: this test process plays that syndicate.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const lock = join(scenario.home, 'engines', 'embedded.start.lock');
    mkdirSync(join(scenario.home, 'engines'), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: process.pid, startTicks }));
    let settled = false;
    const waiting = scenario.json(['engine', 'start', 'embedded'], { env }).finally(() => {
      settled = true;
    });
    // The start writes its own claim (`embedded.start.lock.PID`) before it tries the lock and removes
    // it once it holds the lock (or gives up): there, then still there after several of its 200 ms
    // looks, it is waiting for the lock, not starting the engine.
    const claimed = (): boolean => readdirSync(join(scenario.home, 'engines')).some((name) => /^embedded\.start\.lock\.\d+$/.test(name));
    const deadline = Date.now() + 30_000;
    while (!claimed() && !settled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(claimed()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(settled).toBe(false);
    expect(claimed()).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    rmSync(lock);
    const { result, document } = await waiting;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ started: true });
    expect((await scenario.json(['engine', 'stop', 'embedded'], { env })).document).toMatchObject({ stopped: true, pid: document['pid'] });
  });

  it('an engine that exits before it is ready: exit 5 with the end of its log, nothing left recorded', async () => {
    const { result, document } = await scenario.json(['engine', 'start', 'crashes'], { env });
    expect(result.exitCode).toBe(5);
    const error = document['error'] as { code: string; message: string; hint: string };
    expect(error.code).toBe('engine_start_failed');
    expect(error.message).toContain('exited with code 3');
    expect(error.hint).toContain('unknown argument: --frobnicate');
    const status = await scenario.json(['engine', 'status', 'crashes'], { env });
    expect((status.document['error'] as { details: { engines: Record<string, unknown>[] } }).details.engines[0]).toMatchObject({ process: null });
  });

  it('an engine started before its provider was retired can still be stopped', async () => {
    // A provider of its own (wrapped as `wrapped` is): the other tests still start theirs.
    const started = await scenario.json(['engine', 'start', 'retired'], { env });
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    expect((await scenario.cli(['provider', 'remove', 'retired'], { env })).exitCode).toBe(0);
    const stopped = await scenario.json(['engine', 'stop', 'retired'], { env });
    expect(stopped.result.exitCode, stopped.result.stderr).toBe(0);
    expect(stopped.document).toMatchObject({ stopped: true, pid: started.document['pid'] });
    expect(isAlive(started.document['pid'] as number)).toBe(false);
    // Starting it is still refused: a retired provider is not used.
    expect((await scenario.json(['engine', 'start', 'retired'], { env })).result.exitCode).toBe(2);
  });

  it('a command that does not exist: exit 2 naming it and the fix', async () => {
    const { result, document } = await scenario.json(['engine', 'start', 'missing'], { env });
    expect(result.exitCode).toBe(2);
    expect(document['error']).toMatchObject({ code: 'engine_launch_failed', message: 'could not run no-such-engine-binary-xyz: not found' });
  });
});

describe('engine stop of an engine whose own child outlives it', () => {
  it('SIGKILLs what is left of its process group after --grace: nothing of it stays behind', async () => {
    const scenario = await Scenario.create();
    const port = await freePort();
    // As llama-server's router runs each model in a child that, answering a stream, waits for it to
    // end: the engine exits on SIGTERM, its child (in its process group) does not.
    const marker = `model-process-of ${scenario.home}`;
    const childScript = `process.on('SIGTERM', () => {}); process.stdout.write('ready'); setInterval(() => {}, 1000); // ${marker}`;
    const engineScript = [
      "const child = require('node:child_process').spawn(process.execPath, ['-e', process.argv[1]], { stdio: ['ignore', 'pipe', 'ignore'] });",
      `const server = require('node:http').createServer((request, response) => response.end('{}'));`,
      `child.stdout.once('data', () => server.listen(${port}, '127.0.0.1'));`,
      "process.on('SIGTERM', () => process.exit(0));",
    ].join('\n');
    try {
      writeFileSync(join(scenario.home, 'router.yaml'), launchedEngineYaml({ id: 'router', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args: ['-e', engineScript, childScript], readyPath: '/health', model: 'm', contextWindow: 4096 }));
      await scenario.registerFilesInProcess(join(scenario.home, 'router.yaml'));
      const started = await scenario.cli(['engine', 'start', 'router']);
      expect(started.exitCode, started.stderr).toBe(0);
      expect(processesMentioning(marker)).toHaveLength(2);
      const stopped = await scenario.json(['engine', 'stop', 'router', '--grace', '1s']);
      expect(stopped.result.exitCode, stopped.result.stderr).toBe(0);
      expect(stopped.document).toMatchObject({ stopped: true, killed: true });
      expect(processesMentioning(marker)).toEqual([]);
    } finally {
      for (const pid of processesMentioning(marker)) process.kill(pid, 'SIGKILL');
      scenario.cleanup();
    }
  }, 90_000);
});

describe('engine stop of an engine syndicate did not start', () => {
  let scenario: Scenario;
  let engine: FakeEngine;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'llama.cpp' });
    scenario = await Scenario.create();
    await scenario.registerInProcess({ id: 'theirs', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  it('is refused (exit 2, engine_not_managed) and the engine keeps running', async () => {
    const { result, document } = await scenario.json(['engine', 'stop', 'theirs']);
    expect(result.exitCode).toBe(2);
    expect(document['error']).toMatchObject({ code: 'engine_not_managed' });
    expect((await fetch(`${engine.baseUrl}/models`)).ok).toBe(true);
  });
});

describe('doctor and an engine syndicate started', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await Scenario.create();
    const port = await freePort();
    const server = `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ object: 'list', data: [{ id: 'm' }] })); }).listen(${port}, '127.0.0.1')`;
    writeFileSync(join(scenario.home, 'tiny.yaml'), launchedEngineYaml({ id: 'tiny', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args: ['-e', server], readyPath: '/v1/models', model: 'm', contextWindow: 4096 }));
    await scenario.registerFilesInProcess(join(scenario.home, 'tiny.yaml'));
  });
  afterAll(async () => {
    await scenario?.cli(['engine', 'stop', 'tiny', '--grace', '1s']);
    scenario?.cleanup();
  });

  it('says which process answers, and when it has died, that it exited, where its log is and how to start it again', async () => {
    const started = await scenario.json(['engine', 'start', 'tiny']);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const pid = started.document['pid'] as number;
    const healthy = await scenario.json(['doctor']);
    const check = (document: Record<string, unknown>): { status: string; detail: string; hint?: string } => {
      const checks = (document['checks'] ?? (document['error'] as { details: { checks: unknown } }).details.checks) as { name: string; status: string; detail: string; hint?: string }[];
      return checks.find((entry) => entry.name === 'engine tiny')!;
    };
    expect(check(healthy.document)).toMatchObject({ status: 'pass', detail: expect.stringContaining(`(started by syndicate, pid ${pid})`) });
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const dead = await scenario.json(['doctor']);
    expect(dead.result.exitCode).toBe(1);
    // The hint says it: syndicate's engine exited, where its log is, how to start it again.
    expect(check(dead.document)).toMatchObject({
      status: 'fail',
      hint: expect.stringContaining(`the engine syndicate started (pid ${pid}, `),
    });
    expect(check(dead.document).hint).toContain(
      `has exited — its log: ${join(scenario.home, 'engines', 'tiny.log')}; start it again: \`syndicate engine start tiny\`; or retire it: \`syndicate provider remove tiny\``,
    );
  });
});

describe('Ctrl-C while engine start waits', () => {
  let scenario: Scenario;
  const marker = `never-ready-${process.pid}-${Date.now()}`;
  beforeAll(async () => {
    scenario = await Scenario.create();
    const port = await freePort();
    writeFileSync(join(scenario.home, 'slow.yaml'), launchedEngineYaml({ id: 'slow', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args: ['-e', `setInterval(() => {}, 1000) // ${marker}`], readyPath: '/health', model: 'm', contextWindow: 4096 }));
    await scenario.registerFilesInProcess(join(scenario.home, 'slow.yaml'));
  });
  afterAll(() => scenario?.cleanup());

  const enginesRunning = (): number =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker) && isAlive(Number(entry));
        } catch {
          return false;
        }
      }).length;

  it('stops the engine it was starting, forgets it, and exits 130 saying so', async () => {
    const start = execa('node', [BIN, 'engine', 'start', 'slow', '--timeout', '1m'], { env: { SYNDICATE_HOME: scenario.home, NO_COLOR: '1' }, reject: false });
    const deadline = Date.now() + 10_000;
    while (enginesRunning() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(enginesRunning()).toBe(1);
    start.kill('SIGINT');
    const result = await start;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain("slow's engine start was cancelled; the engine (pid");
    expect(enginesRunning()).toBe(0);
    const status = await scenario.json(['engine', 'status', 'slow']);
    expect((status.document['error'] as { details: { engines: Record<string, unknown>[] } }).details.engines[0]).toMatchObject({ process: null });
  });
});

describe('a routed request to a vLLM asleep in sleep mode', () => {
  let scenario: Scenario;
  let engine: FakeEngine;
  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'vllm', sleepMode: true });
    scenario = await Scenario.create();
    const model = 'Qwen/Qwen2.5-1.5B-Instruct';
    const record = ['apiVersion: syndicate/v1', 'kind: Provider', 'id: vllm', 'class: local', 'wire: openai', `baseUrl: ${engine.baseUrl}`, 'engine:', '  kind: vllm', 'models:', `  - id: ${model}`, '    contextWindow: 32768', '    capabilityClass: small', 'deviations: []'];
    writeFileSync(join(scenario.home, 'vllm.yaml'), `${record.join('\n')}\n`);
    await scenario.registerFilesInProcess(join(scenario.home, 'vllm.yaml'));
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  it('is routed as cold and the engine is woken (/wake_up) before the call; the wake is a recorded load', async () => {
    const asleep = await scenario.json(['engine', 'unload', 'vllm:Qwen/Qwen2.5-1.5B-Instruct']);
    expect(asleep.result.exitCode, asleep.result.stderr).toBe(0);
    const { result, document } = await scenario.json(['run', '--provider', 'vllm', '--no-stream', 'Say hello.']);
    expect(result.exitCode, result.stderr).toBe(0);
    const posts = engine.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => exchange.path);
    expect(posts).toEqual(['/sleep?level=1', '/wake_up', '/v1/chat/completions']);
    const evidence = scenario.storedEvidence(document['evidenceId'] as string);
    expect((evidence['route'] as { chosen: Record<string, unknown> }).chosen).toMatchObject({ warm: false });
    const metrics = await scenario.json(['metrics']);
    expect((metrics.document['metrics'] as { loadTimes: unknown[] }).loadTimes).toEqual([expect.objectContaining({ provider: 'vllm', loads: 1 })]);
  });
});

describe('engine unload of an engine that keeps its model while it runs', () => {
  let scenario: Scenario;
  let single: FakeEngine;
  let vllm: FakeEngine;
  beforeAll(async () => {
    [single, vllm] = await Promise.all([startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'solo' }] }), startFakeEngine({ kind: 'vllm' })]);
    scenario = await Scenario.create();
    const record = (id: string, kind: string, baseUrl: string, model: string): string =>
      ['apiVersion: syndicate/v1', 'kind: Provider', `id: ${id}`, 'class: local', 'wire: openai', `baseUrl: ${baseUrl}`, 'engine:', `  kind: ${kind}`, 'models:', `  - id: ${model}`, '    contextWindow: 4096', '    capabilityClass: small', 'deviations: []', ''].join('\n');
    writeFileSync(join(scenario.home, 'solo.yaml'), record('solo', 'llama.cpp', single.baseUrl, 'solo'));
    writeFileSync(join(scenario.home, 'big.yaml'), record('big', 'vllm', vllm.baseUrl, 'Qwen/Qwen2.5-1.5B-Instruct'));
    await scenario.registerFilesInProcess(...['solo.yaml', 'big.yaml'].map((file) => join(scenario.home, file)));
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([single?.close(), vllm?.close()]);
  });

  it('llama-server started with -m: exit 2, the hint names the provider to stop (it said `engine stop PROVIDER`)', async () => {
    const { result, document } = await scenario.json(['engine', 'unload', 'solo:solo']);
    expect(result.exitCode).toBe(2);
    expect(document['error']).toMatchObject({
      code: 'engine_operation_unsupported',
      message: 'this llama-server was started with -m and serves solo for its lifetime: it cannot unload it',
      hint: 'stop the process instead (`syndicate engine stop solo`, if syndicate started it)',
    });
    const human = await scenario.cli(['engine', 'unload', 'solo:solo']);
    expect(human.exitCode).toBe(2);
    expect(human.stderr).toContain('`syndicate engine stop solo`');
    expect(human.stderr).not.toContain('PROVIDER');
  });

  it('vLLM without sleep mode: the hint names the provider to stop', async () => {
    const { result, document } = await scenario.json(['engine', 'unload', 'big:Qwen/Qwen2.5-1.5B-Instruct']);
    expect(result.exitCode).toBe(2);
    expect((document['error'] as { hint: string }).hint).toContain('or stop the process (`syndicate engine stop big`, if syndicate started it)');
  });
});
