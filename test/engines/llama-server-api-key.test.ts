import type { ResultPromise } from 'execa';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { Scenario } from '../helpers/scenario.js';

const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];
const KEY = 'engine-suite-key';

/**
 * A real llama-server started with `--api-key` (every path but /health refuses a request without
 * the key: what the fake's `apiKey` assumes), and a router started from presets: syndicate sends
 * the record's key on its probes as on its calls, and `provider add` registers each router model at
 * the context the router lists it will start it with (its `status.args`: the router's own `-c`
 * wins over a preset's `ctx-size`, and `parallel` splits it).
 */
describe('a real llama-server with a key, and a router with per-model contexts', () => {
  let scenario: Scenario;
  const servers: ResultPromise[] = [];

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    await writeTestModel(join(scenario.home, 'tiny.gguf'));
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) server.kill();
    await Promise.allSettled(servers);
    scenario?.cleanup();
  });

  it('run, engine status and provider test send the key; provider add says the engine wants one', async () => {
    const started = await startLlamaServer(join(scenario.home, 'tiny.gguf'), ['--alias', 'tiny', '--api-key', KEY]);
    servers.push(started.process);
    const added = await scenario.json(['provider', 'add', 'llama.cpp', '--id', 'keyed', '--base-url', `${started.url}/v1`]);
    expect(added.result.exitCode).toBe(5);
    expect((added.document['error'] as { hint: string }).hint).toContain('asks for an API key');
    const record = ['apiVersion: syndicate/v1', 'kind: Provider', 'id: keyed', 'class: local', 'wire: openai', `baseUrl: ${started.url}/v1`, 'auth:', '  env: LLAMA_KEY', 'engine:', '  kind: llama.cpp', 'models:', '  - id: tiny', '    contextWindow: 2048', '    capabilityClass: small', 'deviations: []'];
    writeFileSync(join(scenario.home, 'keyed.yaml'), `${record.join('\n')}\n`);
    expect((await scenario.cli(['provider', 'register', join(scenario.home, 'keyed.yaml')])).exitCode).toBe(0);
    const env = { LLAMA_KEY: KEY };
    const ran = await scenario.cli(['run', 'Name a colour.', '--provider', 'keyed', '--max-tokens', '3', '--no-stream'], { env });
    expect(ran.exitCode, ran.stderr).toBe(0);
    const status = await scenario.json(['engine', 'status', 'keyed'], { env });
    expect(status.result.exitCode, status.result.stderr).toBe(0);
    const tested = await scenario.json(['provider', 'test', 'keyed'], { env });
    expect(tested.result.exitCode, tested.result.stderr).toBe(0);
    expect(tested.document['checks']).toContainEqual(expect.objectContaining({ name: 'record.context-window.reported', verdict: 'pass' }));
  }, 90_000);

  it("provider add registers a router's models at the context it starts each with (its --ctx-size per --parallel slot)", async () => {
    const directory = join(scenario.home, 'models');
    mkdirSync(directory);
    await writeTestModel(join(directory, 'small.gguf'));
    await writeTestModel(join(directory, 'wide.gguf'));
    const presets = join(scenario.home, 'presets.ini');
    writeFileSync(presets, `[small]\nmodel = ${join(directory, 'small.gguf')}\nctx-size = 1024\n\n[wide]\nmodel = ${join(directory, 'wide.gguf')}\nparallel = 2\n`);
    // The router's own -c 2048 (the helper's) overrides small's preset; wide's 2048 is split between its 2 slots.
    const started = await startLlamaServer(undefined, ['--models-preset', presets]);
    servers.push(started.process);
    const added = await scenario.json(['provider', 'add', 'llama.cpp', '--id', 'router', '--base-url', `${started.url}/v1`]);
    expect(added.result.exitCode, added.result.stderr).toBe(0);
    const models = (added.document['record'] as { models: Array<{ id: string; contextWindow: number }> }).models;
    expect(models.map((model) => [model.id, model.contextWindow])).toEqual([
      ['small', 2048],
      ['wide', 1024],
    ]);
  }, 90_000);
});
