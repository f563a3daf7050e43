import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { freePort } from '../helpers/ports.js';
import { processesMentioning } from '../helpers/processes.js';
import { Scenario } from '../helpers/scenario.js';

const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

/**
 * Engine control against llama.cpp's own `llama-server` in router mode (built from source by the
 * suite's global setup) over a directory of two generated test models, the whole way an operator
 * drives it: `engine start` runs the declared command, `engine load` asks the router to load and
 * follows its status, a higher-priority model evicts the other when the declared budget holds one
 * only, a lower one is refused, a governed `run` is answered by the loaded model, and `engine stop`
 * takes the router and its model processes down.
 */
// One walk-through in steps, each starting from the state the one before left (a router started
// once: its models take seconds to load on two cores), so its tests are never shuffled (a shuffled
// run, seed 1796594039160, found the router down or holding the wrong model: load exited 5).
describe('engine start/load/unload/stop against a real llama-server router', { shuffle: false }, () => {
  let scenario: Scenario;
  let modelsDirectory: string;

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    modelsDirectory = join(scenario.home, 'models');
    mkdirSync(modelsDirectory);
    await writeTestModel(join(modelsDirectory, 'tiny-a.gguf'), { seed: 1 });
    await writeTestModel(join(modelsDirectory, 'tiny-b.gguf'), { seed: 2 });
    const port = await freePort();
    const record = [
      'apiVersion: syndicate/v1',
      'kind: Provider',
      'id: router',
      'class: local',
      'wire: openai',
      `baseUrl: http://127.0.0.1:${port}/v1`,
      'engine:',
      '  kind: llama.cpp',
      '  vramBudgetGb: 0.01',
      '  launch:',
      `    command: ${JSON.stringify(serverPath)}`,
      `    args: ["--models-dir", ${JSON.stringify(modelsDirectory)}, "--host", "127.0.0.1", "--port", "${port}", "-t", "1", "-c", "512"]`,
      '    readyPath: /health',
      '    coldStartSeconds: 30',
      'models:',
      '  - id: tiny-a',
      '    contextWindow: 512',
      '    capabilityClass: small',
      '    vramGb: 0.006',
      '    priority: 1',
      '  - id: tiny-b',
      '    contextWindow: 512',
      '    capabilityClass: small',
      '    vramGb: 0.006',
      '    priority: 5',
      'deviations: []',
    ].join('\n');
    writeFileSync(join(scenario.home, 'router.yaml'), `${record}\n`);
    const registered = await scenario.cli(['provider', 'register', join(scenario.home, 'router.yaml')]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await scenario?.cli(['engine', 'stop', 'router', '--grace', '2s']);
    scenario?.cleanup();
  });

  const resident = async (): Promise<string[]> => {
    const { result, document } = await scenario.json(['engine', 'status', 'router']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [report] = document['engines'] as { mode: string; resident: { model: string }[] }[];
    expect(report!.mode).toBe('router');
    return report!.resident.map((model) => model.model);
  };

  it('engine start: the router comes up holding nothing; both models are available', async () => {
    const { result, document } = await scenario.json(['engine', 'start', 'router']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ started: true, loaded: [] });
    expect(await resident()).toEqual([]);
  }, 120_000);

  it('engine load: the router loads the model in a child process; a governed run is answered by it', async () => {
    const { result, document } = await scenario.json(['engine', 'load', 'router:tiny-a']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ model: 'tiny-a', evicted: [], loadMs: expect.any(Number) });
    expect(await resident()).toEqual(['tiny-a']);
    const run = await scenario.json(['run', '--provider', 'router:tiny-a', '--no-stream', '--max-tokens', '4', 'Say hi']);
    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(run.document).toMatchObject({ provider: { id: 'router', class: 'local' }, model: 'tiny-a' });
  }, 120_000);

  it('hot-swap: the higher-priority model evicts the other when the budget holds one; the lower one is then refused', async () => {
    const swapped = await scenario.json(['engine', 'load', 'router:tiny-b']);
    expect(swapped.result.exitCode, swapped.result.stderr).toBe(0);
    expect(swapped.document).toMatchObject({ model: 'tiny-b', evicted: [{ model: 'tiny-a' }] });
    expect(await resident()).toEqual(['tiny-b']);
    const refused = await scenario.json(['engine', 'load', 'router:tiny-a']);
    expect(refused.result.exitCode).toBe(4);
    expect((refused.document['error'] as { code: string }).code).toBe('engine_swap_refused');
    expect(await resident()).toEqual(['tiny-b']);
  }, 120_000);

  it('a model file added while the router runs: load names the restart it needs, and after it loads', async () => {
    await writeTestModel(join(modelsDirectory, 'tiny-c.gguf'), { seed: 3 });
    const recordPath = join(scenario.home, 'router.yaml');
    const tinyC = '  - id: tiny-c\n    contextWindow: 512\n    capabilityClass: small\n    vramGb: 0.006\n    priority: 9\n';
    writeFileSync(recordPath, readFileSync(recordPath, 'utf8').replace('deviations: []', `${tinyC}deviations: []`));
    const registered = await scenario.cli(['provider', 'register', recordPath]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const refused = await scenario.json(['engine', 'load', 'router:tiny-c']);
    expect(refused.result.exitCode).toBe(5);
    const error = refused.document['error'] as { code: string; message: string; hint: string };
    expect(error.code).toBe('engine_model_not_found');
    expect(error.message).toContain('tiny-c');
    expect(error.hint).toMatch(/restart llama-server, which reads that directory only when it starts \(`syndicate engine stop router` and `syndicate engine start router`/);

    expect((await scenario.cli(['engine', 'stop', 'router'])).exitCode).toBe(0);
    expect((await scenario.cli(['engine', 'start', 'router'])).exitCode).toBe(0);
    const loaded = await scenario.json(['engine', 'load', 'router:tiny-c']);
    expect(loaded.result.exitCode, loaded.result.stderr).toBe(0);
    expect(await resident()).toEqual(['tiny-c']);
    // As the next test expects it: tiny-b alone.
    expect((await scenario.cli(['engine', 'unload', 'router:tiny-c'])).exitCode).toBe(0);
    expect((await scenario.cli(['engine', 'load', 'router:tiny-b'])).exitCode).toBe(0);
  }, 120_000);

  it('engine unload, then engine stop: the router and every model process are gone', async () => {
    const unloaded = await scenario.json(['engine', 'unload', 'router:tiny-b']);
    expect(unloaded.result.exitCode, unloaded.result.stderr).toBe(0);
    expect(await resident()).toEqual([]);
    await scenario.json(['engine', 'load', 'router:tiny-a']);
    expect(processesMentioning(modelsDirectory).length).toBeGreaterThanOrEqual(2);
    const stopped = await scenario.json(['engine', 'stop', 'router']);
    expect(stopped.result.exitCode, stopped.result.stderr).toBe(0);
    expect(stopped.document).toMatchObject({ stopped: true });
    // engine stop returns once the router's whole process group is gone, its model processes too.
    expect(processesMentioning(modelsDirectory)).toEqual([]);
  }, 120_000);
});
