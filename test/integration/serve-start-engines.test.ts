import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, makeTempHome, runCli } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';
import { freePort } from '../helpers/ports.js';
import { isAlive, startServe } from '../helpers/serve.js';

/**
 * `syndicate serve --start-engines`: the gateway starts the engines the records declare before it
 * listens, serves requests through them, and stops them after it drains. The engine is
 * syndicate's own `engine serve` on the fake node-llama-cpp (it answers every chat with "hi").
 */
describe('serve --start-engines', () => {
  let home: string;
  let cleanup: () => void;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ home, cleanup } = makeTempHome('syndicate-serve-engines-'));
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    const engineDirectory = join(home, 'engine-install');
    writeFakeNodeLlamaCpp(engineDirectory);
    env = { SYNDICATE_HOME: home, SYNDICATE_ENGINE_DIR: engineDirectory, NO_COLOR: '1' };
    const model = join(home, 'model.gguf');
    writeFileSync(model, 'not read by the fake engine');
    const port = await freePort();
    const deadPort = await freePort();
    const record = (id: string, base: number, args: string[]): string =>
      ['apiVersion: syndicate/v1', 'kind: Provider', `id: ${id}`, 'class: local', 'wire: openai', `baseUrl: http://127.0.0.1:${base}/v1`, 'engine:', '  kind: node-llama-cpp', '  launch:', `    command: ${JSON.stringify(process.execPath)}`, `    args: ${JSON.stringify(args)}`, '    readyPath: /health', '    coldStartSeconds: 5', 'models:', '  - id: model.gguf', '    contextWindow: 512', '    capabilityClass: small', 'deviations: []', ''].join('\n');
    writeFileSync(join(home, 'embedded.yaml'), record('embedded', port, [BIN, 'engine', 'serve', '--model', model, '--port', String(port)]));
    writeFileSync(join(home, 'broken.yaml'), record('broken', deadPort, ['-e', 'process.exit(7)']));
    const registered = await runCli(['provider', 'register', join(home, 'embedded.yaml'), join(home, 'broken.yaml')], { home, env });
    expect(registered.exitCode, registered.stderr).toBe(0);
  });
  afterAll(() => cleanup?.());

  it('starts the declared engines before listening, skips one that fails, serves through the other, and stops what it started on SIGTERM', async () => {
    const { server, url, stderr: stderrSoFar } = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    let stderr = stderrSoFar();
    expect(stderr).toMatch(/started embedded's engine: pid (\d+), ready in/);
    expect(stderr).toContain("broken's engine did not start:");
    const pid = Number(/started embedded's engine: pid (\d+)/.exec(stderr)![1]);
    expect(isAlive(pid)).toBe(true);

    const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'embedded:model.gguf', messages: [{ role: 'user', content: 'Say hi' }] });
    expect(completion.choices[0]?.message.content).toBe('hi');

    server.kill('SIGTERM');
    const result = await server;
    expect(result.exitCode).toBe(0);
    stderr = stderrSoFar();
    expect(stderr).toContain("stopped embedded's engine");
    expect(stderr.indexOf("stopped embedded's engine")).toBeLessThan(stderr.indexOf('gateway stopped'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isAlive(pid)).toBe(false);
  });
});
