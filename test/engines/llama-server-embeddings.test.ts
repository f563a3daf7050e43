import type { ResultPromise } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { startLlamaServer } from '../helpers/llama-server.js';
import { Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/**
 * Embeddings against llama.cpp's own `llama-server` (built by the suite's global setup) serving the
 * generated test model: with `--embeddings` (and `--pooling mean`: the test model declares no
 * pooling type, and llama-server refuses pooling `none` on its OpenAI endpoint), through
 * `syndicate embed` and through `syndicate serve` with the official `openai` client, whose default
 * base64 the gateway asks llama-server for; without `--embeddings`, its 501.
 */
const serverPath = process.env['SYNDICATE_LLAMA_SERVER'];

function providerYaml(id: string, url: string, priority: number): string {
  return [
    'apiVersion: syndicate/v1',
    'kind: Provider',
    `id: ${id}`,
    'class: local',
    'wire: openai',
    `baseUrl: ${url}/v1`,
    'engine:',
    '  kind: llama.cpp',
    'models:',
    '  - id: tiny.gguf',
    '    kind: embedding',
    '    contextWindow: 2048',
    '    capabilityClass: small',
    `    priority: ${priority}`,
    '',
  ].join('\n');
}

describe('embeddings from a real llama-server', () => {
  let scenario: Scenario;
  let gateway: RunningServe | undefined;
  const servers: ResultPromise[] = [];

  async function startServer(extra: string[]): Promise<string> {
    const server = await startLlamaServer(join(scenario.home, 'tiny.gguf'), extra);
    servers.push(server.process);
    return server.url;
  }

  beforeAll(async () => {
    expect(serverPath !== undefined && existsSync(serverPath), `SYNDICATE_LLAMA_SERVER=${String(serverPath)} does not exist (the global setup builds it)`).toBe(true);
    scenario = await Scenario.create();
    await writeTestModel(join(scenario.home, 'tiny.gguf'));
    const [embedding, plain] = await Promise.all([startServer(['--embeddings', '--pooling', 'mean']), startServer([])]);
    const files = [
      [join(scenario.home, 'embed.yaml'), providerYaml('llama-embed', embedding, 1)],
      [join(scenario.home, 'noembed.yaml'), providerYaml('llama-noembed', plain, 9)],
    ] as const;
    for (const [path, text] of files) writeFileSync(path, text);
    const registered = await scenario.cli(['provider', 'register', ...files.map(([path]) => path)]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    gateway?.server.kill('SIGTERM');
    await gateway?.server;
    for (const server of servers) server.kill();
    await Promise.allSettled(servers);
    scenario?.cleanup();
  });

  it('a server without --embeddings answers 501; the call falls back to the one with it', async () => {
    // Batch work ranks by cost, then priority (interactive work would rank the one whose last call failed last).
    const { result, document } = await scenario.json(['embed', 'hello world', 'abc', '--workflow', 'batch']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document).toMatchObject({ provider: { id: 'llama-embed' }, model: 'tiny.gguf', fidelity: { tokenAccounting: 'exact' } });
    const attempts = document.attempts as { provider: { id: string }; status?: number; error?: { message: string } }[];
    expect(attempts.map((attempt) => [attempt.provider.id, attempt.status])).toEqual([
      ['llama-noembed', 501],
      ['llama-embed', 200],
    ]);
    expect(attempts[0]?.error?.message).toContain('This server does not support embeddings. Start it with `--embeddings`');
    const vectors = document.embeddings as number[][];
    expect(vectors).toHaveLength(2);
    expect(vectors[0]).toHaveLength(64);
    expect(vectors[0]).not.toEqual(vectors[1]);

    // Pinned to it, a later process fails: held back by the 501 the first one recorded (for 5 s), else answered 501 again.
    const alone = await scenario.json(['embed', 'hello world', '--provider', 'llama-noembed']);
    expect(alone.result.exitCode).toBe(5);
    expect(JSON.stringify(alone.document)).toMatch(/llama-noembed serves no embeddings|This server does not support embeddings/);
  });

  it('the openai client through the gateway gets the same vectors with its default base64 (asked of llama-server as base64) and with floats', async () => {
    const cli = await scenario.json(['embed', 'hello world', '--provider', 'llama-embed']);
    const reference = (cli.document.embeddings as number[][])[0]!.map((value) => Math.fround(value));
    // startServe's last argument is how long the gateway may live: the next test uses it too, so long enough for both.
    gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 600_000);
    const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    const base64 = await client.embeddings.create({ model: 'llama-embed:tiny.gguf', input: 'hello world' });
    expect(base64.data[0]?.embedding).toEqual(reference);
    const floats = await client.embeddings.create({ model: 'llama-embed:tiny.gguf', input: 'hello world', encoding_format: 'float' });
    expect(floats.data[0]?.embedding.map((value) => Math.fround(value))).toEqual(reference);
    expect(base64.usage.prompt_tokens).toBeGreaterThan(0);
    const verify = await scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr).toBe(0);
  });

  it('an input the 2 048-token window holds but llama-server\'s physical batch (512) does not: its 500 reaches the client as a 400 with the hint, and holds nothing back', async () => {
    // The text of the captured refusal (test/fixtures/llama.cpp-real/embeddings-input-too-large.json): 1 054 tokens to this model.
    const long = Array.from({ length: 400 }, (_, index) => `word${index}`).join(' ');
    const cli = await scenario.json(['embed', 'short text', long, '--provider', 'llama-embed']);
    expect(cli.result.exitCode).toBe(4);
    expect(cli.document.error).toMatchObject({
      code: 'context_length_exceeded',
      message: 'llama-embed answered HTTP 500: input (1054 tokens) is too large to process. increase the physical batch size (current batch size: 512)',
      hint: expect.stringContaining('declaring contextWindow: 512 for llama-embed:tiny.gguf in its provider record'),
    });

    gateway ??= await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 600_000);
    const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    // Three in a row would hold a failing provider back: these are the request's fault, not its.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error = await client.embeddings.create({ model: 'llama-embed:tiny.gguf', input: ['short text', long] }).then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as Error).message).toContain('input (1054 tokens) is too large to process');
    }
    const next = await client.embeddings.create({ model: 'llama-embed:tiny.gguf', input: 'short text' });
    expect(next.data[0]?.embedding).toHaveLength(64);
  });
});
