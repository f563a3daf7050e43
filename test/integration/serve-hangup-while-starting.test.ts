import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, makeTempHome, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { launchedEngineYaml } from '../helpers/scenario.js';
import { isAlive } from '../helpers/serve.js';

/**
 * An engine that answers its readyPath only once `flag` exists: `serve --start-engines` waits for
 * it, so the test decides how long serve stays before its listening line.
 */
const GATED_ENGINE = `
const { existsSync } = require('node:fs');
const { createServer } = require('node:http');
const [flag, port] = process.argv.slice(1);
const timer = setInterval(() => {
  if (!existsSync(flag)) return;
  clearInterval(timer);
  createServer((request, response) => response.end('{}')).listen(Number(port), '127.0.0.1');
}, 20);
`;

/**
 * A service manager's reload (`systemctl reload`, whose ExecReload the README gives as SIGHUP) or a
 * closed terminal's hangup that comes while `serve` is still starting — here while --start-engines
 * waits for an engine — must not end it: node's default for SIGHUP ended serve silently (killed by
 * the signal, nothing in its log), with the engine it had started left running.
 */
describe('serve: a SIGHUP before it listens', () => {
  let home: string;
  let cleanup: () => void;
  let flag: string;

  beforeAll(async () => {
    ({ home, cleanup } = makeTempHome('syndicate-serve-hangup-'));
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    flag = join(home, 'engine-may-listen');
    const port = await freePort();
    writeFileSync(
      join(home, 'gated.yaml'),
      launchedEngineYaml({ id: 'gated', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args: ['-e', GATED_ENGINE, flag, String(port)], readyPath: '/health', coldStartSeconds: 60, model: 'model.gguf', contextWindow: 512 }),
    );
    const registered = await runCli(['provider', 'register', join(home, 'gated.yaml')], { home });
    expect(registered.exitCode, registered.stderr).toBe(0);
  });
  afterAll(() => cleanup?.());

  it('is not the end of it: serve goes on starting, listens, and stops cleanly (its engine too) on SIGTERM', { timeout: 90_000 }, async () => {
    const server = execa('node', [BIN, 'serve', '--port', '0', '--start-engines'], { env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false, timeout: 80_000 });
    let stdout = '';
    let stderr = '';
    server.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
    server.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    const ended = server.then(() => undefined);
    const seen = (what: () => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => (what() ? resolve() : void setTimeout(check, 20));
        check();
        void ended.then(() => reject(new Error(`serve ended (exit ${String(server.exitCode)}, signal ${String(server.signalCode)}): ${stderr}`)));
      });

    await seen(() => /started gated's engine|waiting for gated's engine|starting gated's engine/.test(stderr));
    server.kill('SIGHUP');
    await seen(() => stderr.includes('SIGHUP while starting: nothing to re-read yet'));
    writeFileSync(flag, '');
    await seen(() => stdout.includes('syndicate gateway listening on http://'));
    const pid = Number(/started gated's engine: pid (\d+)/.exec(stderr)?.[1]);
    expect(isAlive(pid)).toBe(true);

    server.kill('SIGTERM');
    const result = await server;
    expect(result.signal, result.stderr).toBeUndefined();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain("stopped gated's engine");
    await expect.poll(() => isAlive(pid), { timeout: 20_000, interval: 20 }).toBe(false);
  });
});
