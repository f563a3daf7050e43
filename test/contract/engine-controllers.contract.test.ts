import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { controllerFor, type EngineController } from '../../src/engines/control/index.js';
import type { EngineKind } from '../../src/common/vocabulary.js';
import { SyndicateError } from '../../src/errors.js';
import { startFakeEngine } from '../helpers/fake-engines/index.js';
import { startFakeLlamaSwap } from '../helpers/fake-engines/llama-swap.js';

/** A running engine that can hold either of two models, neither or only the first at start. */
interface EngineUnderTest {
  baseUrl: string;
  /** The engine's names for two models it can serve. */
  first: string;
  second: string;
  close(): Promise<void>;
}

interface SwappableCase {
  name: string;
  kind: EngineKind;
  start(): Promise<EngineUnderTest>;
}

// A bound on an answer, not the time it is expected in: a loaded machine may take seconds to answer a load.
const TIMEOUTS = { timeoutMs: 20_000 };

const swappable: SwappableCase[] = [
  {
    name: 'Ollama (/api/generate load and keep_alive 0 unload, /api/ps)',
    kind: 'ollama',
    start: async () => {
      const engine = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llama3.2:latest' }, { id: 'qwen2.5-coder:7b' }] });
      return { baseUrl: engine.baseUrl, first: 'llama3.2:latest', second: 'qwen2.5-coder:7b', close: () => engine.close() };
    },
  },
  {
    name: 'llama.cpp router (POST /models/load, /models/unload, status in /v1/models)',
    kind: 'llama.cpp',
    start: async () => {
      const engine = await startFakeEngine({ kind: 'llama.cpp', router: true, resident: ['tiny-a'], models: [{ id: 'tiny-a' }, { id: 'tiny-b' }] });
      return { baseUrl: engine.baseUrl, first: 'tiny-a', second: 'tiny-b', close: () => engine.close() };
    },
  },
  {
    name: 'llama-swap (/upstream/MODEL/health, POST /api/models/unload/MODEL, /running)',
    kind: 'llama-swap',
    start: async () => {
      const swap = await startFakeLlamaSwap({ models: ['coder', 'chat'] });
      const controller = controllerFor({ baseUrl: swap.baseUrl, engine: { kind: 'llama-swap' } });
      await controller.load('coder', TIMEOUTS);
      return { baseUrl: swap.baseUrl, first: 'coder', second: 'chat', close: () => swap.close() };
    },
  },
  {
    name: 'LM Studio (v1 REST API: /api/v1/models, load, unload by instance)',
    kind: 'lmstudio',
    start: async () => {
      const engine = await startFakeEngine({ kind: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct' }, { id: 'llama-3.2-3b-instruct' }] });
      return { baseUrl: engine.baseUrl, first: 'qwen2.5-7b-instruct', second: 'llama-3.2-3b-instruct', close: () => engine.close() };
    },
  },
];

/**
 * The contract every engine controller keeps (STYLE: one suite for every implementation):
 * `state` tells what is resident, `load` returns once the engine reports the model ready,
 * `unload` once it no longer reports it, both are idempotent, and an unknown model is an
 * `engine_model_not_found` error naming it — whatever the engine's own API and quirks.
 */
describe.each(swappable)('engine controller contract: $name', ({ kind, start }) => {
  let engine: EngineUnderTest;
  let controller: EngineController;

  beforeAll(async () => {
    engine = await start();
    controller = controllerFor({ baseUrl: engine.baseUrl, engine: { kind } });
  });
  afterAll(() => engine?.close());

  const residentModels = async (): Promise<string[]> => ((await controller.state()).resident ?? []).filter((model) => model.state === 'loaded').map((model) => model.model);

  it('state: the first model resident, both available', async () => {
    // The state the engine started in, whichever of the tests that load and unload ran before this one
    // (both are idempotent): the second model out, the first in (llama-swap swapped it out for the second).
    await controller.unload(engine.second, TIMEOUTS);
    await controller.load(engine.first, TIMEOUTS);
    const state = await controller.state();
    expect(state.resident?.map((model) => model.model)).toEqual([engine.first]);
    expect(state.available).toEqual(expect.arrayContaining([engine.first, engine.second]));
  });

  it('load: returns once the engine reports the model loaded; loading it again changes nothing', async () => {
    await controller.load(engine.second, TIMEOUTS);
    expect(await residentModels()).toContain(engine.second);
    await controller.load(engine.second, TIMEOUTS);
    const loadedTwice = (await residentModels()).filter((model) => model === engine.second);
    expect(loadedTwice).toHaveLength(1);
  });

  it('unload: returns once the engine no longer reports the model; unloading it again is no error', async () => {
    await controller.unload(engine.second, TIMEOUTS);
    expect(await residentModels()).not.toContain(engine.second);
    await controller.unload(engine.second, TIMEOUTS);
  });

  it('load of a model the engine does not have: engine_model_not_found, naming it', async () => {
    const error = await controller.load('no-such-model', TIMEOUTS).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SyndicateError);
    expect((error as SyndicateError).code).toBe('engine_model_not_found');
    expect((error as SyndicateError).message).toContain('no-such-model');
  });

  it('an engine that is not running: engine_unreachable', async () => {
    const gone = controllerFor({ baseUrl: 'http://127.0.0.1:9/v1', engine: { kind } });
    await expect(gone.state()).rejects.toMatchObject({ code: 'engine_unreachable' });
  });
});

describe('engine controllers that serve one model for their lifetime', () => {
  const cases: { name: string; kind: EngineKind | undefined; options: Parameters<typeof startFakeEngine>[0]; hint: RegExp }[] = [
    { name: 'llama.cpp started with -m', kind: 'llama.cpp', options: { kind: 'llama.cpp' }, hint: /--models-dir|stop/ },
    { name: 'vLLM without sleep mode', kind: 'vllm', options: { kind: 'vllm' }, hint: /enable-sleep-mode/ },
    { name: 'an OpenAI-compatible server of no declared kind', kind: undefined, options: { kind: 'llama.cpp' }, hint: /stop/ },
  ];

  describe.each(cases)('$name', ({ kind, options, hint }) => {
    let engine: Awaited<ReturnType<typeof startFakeEngine>>;
    let controller: EngineController;
    beforeAll(async () => {
      engine = await startFakeEngine(options);
      controller = controllerFor({ baseUrl: engine.baseUrl, ...(kind === undefined ? {} : { engine: { kind } }) });
    });
    afterAll(() => engine?.close());

    it('reports its model resident; loading that model is a no-op; anything else, and any unload, is engine_operation_unsupported with what to do', async () => {
      const state = await controller.state();
      const served = state.resident?.map((model) => model.model) ?? [];
      expect(served.length).toBeGreaterThan(0);
      await controller.load(served[0]!, TIMEOUTS);
      await expect(controller.load('another-model', TIMEOUTS)).rejects.toMatchObject({ code: 'engine_operation_unsupported', exitCode: 2 });
      const unload = await controller.unload(served[0]!, TIMEOUTS).then(
        () => undefined,
        (caught: unknown) => caught as SyndicateError,
      );
      expect(unload?.code).toBe('engine_operation_unsupported');
      expect(unload?.hint).toMatch(hint);
    });
  });
});

describe('vLLM in sleep mode (--enable-sleep-mode, VLLM_SERVER_DEV_MODE=1)', () => {
  it('unload puts it to sleep (/sleep?level=1), load wakes it (/wake_up); state says which', async () => {
    const engine = await startFakeEngine({ kind: 'vllm', sleepMode: true });
    try {
      const controller = controllerFor({ baseUrl: engine.baseUrl, engine: { kind: 'vllm' } });
      const model = (await controller.state()).resident![0]!.model;
      expect((await controller.state()).mode).toBe('sleep-mode');
      await controller.unload(model, TIMEOUTS);
      expect((await controller.state()).resident).toEqual([{ model, state: 'sleeping' }]);
      await controller.load(model, TIMEOUTS);
      expect((await controller.state()).resident).toEqual([{ model, state: 'loaded' }]);
      expect(engine.exchanges.map((exchange) => `${exchange.method} ${exchange.path}`)).toEqual(expect.arrayContaining(['POST /sleep?level=1', 'POST /wake_up']));
    } finally {
      await engine.close();
    }
  });
});

describe('engine quirks the controllers follow', () => {
  it('Ollama answers an unload before the model leaves /api/ps: unload waits until it has', async () => {
    const engine = await startFakeEngine({ kind: 'ollama', loadDelayMs: 300 });
    try {
      const controller = controllerFor({ baseUrl: engine.baseUrl, engine: { kind: 'ollama' } });
      await controller.unload('llama3.2', TIMEOUTS);
      // `llama3.2` is `llama3.2:latest` to Ollama; right after the answer the fake still lists it for 300 ms.
      expect((await controller.state()).resident).toEqual([]);
      const unloadBody = engine.exchanges.find((exchange) => exchange.path === '/api/generate')!.requestBody.toString('utf8');
      expect(JSON.parse(unloadBody)).toEqual({ model: 'llama3.2', keep_alive: 0 });
    } finally {
      await engine.close();
    }
  });

  it('llama.cpp router answers a load at once and loads in the background: load waits for status loaded', async () => {
    const engine = await startFakeEngine({ kind: 'llama.cpp', router: true, loadDelayMs: 300, models: [{ id: 'tiny-a' }] });
    try {
      const controller = controllerFor({ baseUrl: engine.baseUrl, engine: { kind: 'llama.cpp' } });
      await controller.load('tiny-a', TIMEOUTS);
      expect((await controller.state()).resident).toEqual([{ model: 'tiny-a', state: 'loaded' }]);
    } finally {
      await engine.close();
    }
  });

  it('LM Studio would load a second instance of a loaded model: load sends nothing when one is loaded', async () => {
    const engine = await startFakeEngine({ kind: 'lmstudio' });
    try {
      const controller = controllerFor({ baseUrl: engine.baseUrl, engine: { kind: 'lmstudio' } });
      await controller.load('qwen2.5-7b-instruct', TIMEOUTS);
      expect(engine.exchanges.filter((exchange) => exchange.path === '/api/v1/models/load')).toHaveLength(0);
    } finally {
      await engine.close();
    }
  });

  it('an older llama-swap without per-model unload is refused, not unloaded wholesale through GET /unload', async () => {
    const swap = await startFakeLlamaSwap({ models: ['coder', 'chat'], legacy: true });
    try {
      const controller = controllerFor({ baseUrl: swap.baseUrl, engine: { kind: 'llama-swap' } });
      await controller.load('coder', TIMEOUTS);
      await expect(controller.unload('coder', TIMEOUTS)).rejects.toMatchObject({ code: 'engine_operation_unsupported' });
      expect(swap.requests).not.toContain('GET /unload');
      expect(swap.running()).toEqual(['coder']);
    } finally {
      await swap.close();
    }
  });
});
