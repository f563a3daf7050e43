import type { ResultPromise } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { Scenario } from '../helpers/scenario.js';

const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

/**
 * llama-server started with `--sleep-idle-seconds 1`: idle, it unloads its model and `/props` says
 * `is_sleeping: true` without waking it (what the fake llama.cpp's `asleep` assumes). syndicate
 * reports the model sleeping, records the answer that wakes it cold, and `engine load` wakes it.
 */
describe('a llama-server asleep (--sleep-idle-seconds)', () => {
  let scenario: Scenario;
  let server: ResultPromise | undefined;
  let url: string;

  const sleeping = async (): Promise<boolean> => ((await (await fetch(`${url}/props`)).json()) as { is_sleeping?: unknown }).is_sleeping === true;
  const untilAsleep = async (): Promise<void> => {
    while (!(await sleeping())) await new Promise((resolve) => setTimeout(resolve, 250));
  };

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    await writeTestModel(join(scenario.home, 'tiny.gguf'));
    const started = await startLlamaServer(join(scenario.home, 'tiny.gguf'), ['--alias', 'tiny', '--sleep-idle-seconds', '1']);
    server = started.process;
    url = started.url;
    const record = ['apiVersion: syndicate/v1', 'kind: Provider', 'id: sleepy', 'class: local', 'wire: openai', `baseUrl: ${url}/v1`, 'engine:', '  kind: llama.cpp', 'models:', '  - id: tiny', '    contextWindow: 2048', '    capabilityClass: small', 'deviations: []'];
    writeFileSync(join(scenario.home, 'sleepy.yaml'), `${record.join('\n')}\n`);
    const registered = await scenario.cli(['provider', 'register', join(scenario.home, 'sleepy.yaml')]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    server?.kill();
    await server?.catch(() => undefined);
    scenario?.cleanup();
  });

  it('engine status holds the model sleeping (asking does not wake it); the answer that wakes it is recorded cold', async () => {
    await untilAsleep();
    const { result, document } = await scenario.json(['engine', 'status', 'sleepy']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect((document['engines'] as Array<{ resident: unknown }>)[0]?.resident).toEqual([expect.objectContaining({ model: 'tiny', state: 'sleeping' })]);
    expect(await sleeping()).toBe(true);
    const ran = await scenario.json(['run', 'Name a colour.', '--provider', 'sleepy', '--max-tokens', '3', '--no-stream']);
    expect(ran.result.exitCode, ran.result.stderr).toBe(0);
    const evidence = await scenario.evidence(ran.document['evidenceId'] as string);
    expect((evidence['route'] as { chosen: { warm?: boolean } }).chosen.warm).toBe(false);
  }, 90_000);

  it('engine load wakes it, recorded as a load', async () => {
    await untilAsleep();
    const { result, document } = await scenario.json(['engine', 'load', 'sleepy:tiny']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ alreadyResident: false, loadMs: expect.any(Number) });
    // It may have gone back to sleep a second after the load: the load's own answer is what counts.
    const { document: metrics } = await scenario.json(['metrics', '--since', '1h']);
    expect((metrics['metrics'] as { loadTimes: unknown[] }).loadTimes).toContainEqual(expect.objectContaining({ provider: 'sleepy', model: 'tiny', loads: 1 }));
  }, 90_000);
});
