import type { ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { Scenario } from '../helpers/scenario.js';

const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

interface AddedModel {
  id: string;
  kind?: string;
  tags?: string[];
  aliases?: string[];
}

/**
 * `provider add llama.cpp` against llama.cpp's own `llama-server` started with `-m PATH` and the
 * flags that change what it serves — none (jinja on by default), `--no-jinja`, `--embeddings`
 * over the test model (which pools nothing) and `--embeddings --pooling mean` — none of which
 * `/props` or `/v1/models` report: the record holds what each one really serves.
 */
describe('provider add llama.cpp against a real llama-server', () => {
  let scenario: Scenario;
  let modelPath: string;
  const servers: ResultPromise[] = [];

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    modelPath = join(scenario.home, 'tiny.gguf');
    await writeTestModel(modelPath);
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) server.kill();
    await Promise.allSettled(servers);
    scenario?.cleanup();
  });

  async function add(id: string, flags: string[]): Promise<{ model: AddedModel; notes: string[] }> {
    const server = await startLlamaServer(modelPath, flags);
    servers.push(server.process);
    const { result, document } = await scenario.json(['provider', 'add', 'llama.cpp', '--id', id, '--base-url', `${server.url}/v1`]);
    expect(result.exitCode, result.stdout).toBe(0);
    const models = (document.record as { models: AddedModel[] }).models;
    expect(models).toHaveLength(1);
    return { model: models[0]!, notes: (document.discovery as { notes: string[] }).notes };
  }

  it('default flags (jinja on): tagged tools, under the file name; engine status and run find it', async () => {
    const { model, notes } = await add('plain', []);
    expect(model).toMatchObject({ id: 'tiny', tags: ['tools', 'completions'] });
    expect(model.kind).toBeUndefined();
    expect(notes).toContain(`tiny: llama-server names it by its -m path ${modelPath}; registered under its file name (a single-model llama-server answers whatever model a request names)`);
    const status = await scenario.json(['engine', 'status', 'plain']);
    expect(status.result.exitCode, status.result.stdout).toBe(0);
    expect(status.document).toMatchObject({ engines: [{ resident: [{ model: modelPath, declared: 'tiny' }] }] });
    const run = await scenario.json(['run', 'Write a line about rivers.', '--model', 'plain:tiny', '--max-tokens', '4', '--no-stream']);
    expect(run.result.exitCode, run.result.stdout).toBe(0);
    expect(run.document).toMatchObject({ model: 'tiny' });
  }, 120_000);

  it('--alias with a comma-separated list: the name it lists as the id (the first in byte order), the others its aliases, and run names the model by one', async () => {
    const { model } = await add('aliased', ['--alias', 'tiny-chat,chat,small']);
    expect(model).toMatchObject({ id: 'chat', aliases: ['small', 'tiny-chat'] });
    const run = await scenario.json(['run', 'Write a line about rivers.', '--model', 'aliased:tiny-chat', '--max-tokens', '4', '--no-stream']);
    expect(run.result.exitCode, run.result.stdout).toBe(0);
    expect(run.document).toMatchObject({ model: 'chat' });
  }, 120_000);

  it('--no-jinja: not tagged tools, and the note names --jinja', async () => {
    const { model, notes } = await add('nojinja', ['--no-jinja']);
    expect(model).toMatchObject({ id: 'tiny', tags: ['completions'] });
    expect(notes.join('\n')).toContain('tiny: not tagged tools: llama-server runs without --jinja (POST /apply-template answered "tools param requires --jinja flag")');
  }, 120_000);

  it('--embeddings over a model that pools nothing: a chat model, and the note names --pooling', async () => {
    const { model, notes } = await add('nopooling', ['--embeddings']);
    expect(model).toMatchObject({ id: 'tiny', tags: ['tools', 'completions'] });
    expect(model.kind).toBeUndefined();
    expect(notes.join('\n')).toContain("tiny: started with --embeddings, but its model pools nothing, so POST /v1/embeddings refuses it (\"Pooling type 'none' is not OAI compatible. Please use a different pooling type\")");
  }, 120_000);

  it('--embeddings --pooling mean: an embedding model, and syndicate embed gets its vectors', async () => {
    const { model, notes } = await add('embedder', ['--embeddings', '--pooling', 'mean']);
    expect(model).toMatchObject({ id: 'tiny', kind: 'embedding' });
    expect(model.tags).toBeUndefined();
    expect(notes.join('\n')).toContain('tiny: an embedding model (started with --embeddings; POST /v1/embeddings answers): registered with kind embedding');
    const embedded = await scenario.json(['embed', 'hello', '--provider', 'embedder']);
    expect(embedded.result.exitCode, embedded.result.stdout).toBe(0);
    expect(embedded.document).toMatchObject({ model: 'tiny' });
  }, 120_000);
});
