import { execa, type ResultPromise } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, makeTempHome, runCli } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';
import { freePort } from '../helpers/ports.js';
import { launchedEngineYaml } from '../helpers/scenario.js';
import { isAlive, startServe, type RunningServe } from '../helpers/serve.js';

/**
 * A gateway run for weeks under systemd (its journal is its stderr): an engine that goes down or
 * comes back, and an engine `--start-engines` started that exits later, are said in the journal
 * when they happen — once per change, not once per probe — not only as requests that fail.
 */
describe('serve: local engines going down and coming back', () => {
  let home: string;
  let cleanup: () => void;
  let env: Record<string, string>;
  let model: string;
  let port: number;
  let token: string;

  beforeAll(async () => {
    ({ home, cleanup } = makeTempHome('syndicate-serve-engine-health-'));
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    const engineDirectory = join(home, 'engine-install');
    writeFakeNodeLlamaCpp(engineDirectory);
    env = { SYNDICATE_HOME: home, SYNDICATE_ENGINE_DIR: engineDirectory, NO_COLOR: '1' };
    model = join(home, 'model.gguf');
    writeFileSync(model, 'not read by the fake engine');
    port = await freePort();
    const record = launchedEngineYaml({
      id: 'embedded',
      baseUrl: `http://127.0.0.1:${port}/v1`,
      kind: 'node-llama-cpp',
      command: process.execPath,
      args: [BIN, 'engine', 'serve', '--model', model, '--port', String(port)],
      readyPath: '/health',
      coldStartSeconds: 5,
      model: 'model.gguf',
      contextWindow: 512,
    });
    writeFileSync(join(home, 'embedded.yaml'), record);
    const registered = await runCli(['provider', 'register', join(home, 'embedded.yaml')], { home, env });
    expect(registered.exitCode, registered.stderr).toBe(0);
    token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
  });
  afterAll(() => cleanup?.());

  const chat = async (url: string): Promise<number> => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'embedded:model.gguf', messages: [{ role: 'user', content: 'Say hi' }] }),
    });
    await response.arrayBuffer();
    return response.status;
  };

  /** The engine `--start-engines` started, killed outright (an OOM kill): its pid from serve's start line. */
  const killStartedEngine = (gateway: RunningServe, pidPattern: RegExp): number => {
    const pid = Number(pidPattern.exec(gateway.stderr())![1]);
    expect(isAlive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    return pid;
  };

  /** The same engine started again by hand (not by serve), on the record's port. */
  const serveEngineByHand = (): ResultPromise => execa('node', [BIN, 'engine', 'serve', '--model', model, '--port', String(port)], { env, reject: false });

  it('says once that the started engine exited (killed by SIGKILL, not restarted), once that it stopped answering, and once that it answers again', { timeout: 90_000 }, async () => {
    const gateway = await startServe(['serve', '--port', '0', '--start-engines'], env, 90_000);
    let byHand: ResultPromise | undefined;
    try {
      expect(await chat(gateway.url)).toBe(200);
      const pid = killStartedEngine(gateway, /started embedded's engine: pid (\d+)/);
      await gateway.waitForStderr(`warning: embedded's engine (pid ${pid}, http://127.0.0.1:${port}/v1) was killed by SIGKILL; serve does not restart it`);
      // Routing finds it down (a request, or the gateway's own watch): said once, however many requests meet it.
      expect(await chat(gateway.url)).toBe(503);
      await gateway.waitForStderr(`warning: embedded's engine at http://127.0.0.1:${port}/v1 stopped answering (`);
      expect(await chat(gateway.url)).toBe(503);
      byHand = serveEngineByHand();
      // Found back by the gateway's own watch once the hold of the down engine is over: no request needed.
      await gateway.waitForStderr(`embedded's engine at http://127.0.0.1:${port}/v1 answers again: routes use it`);
      expect(await chat(gateway.url)).toBe(200);
      gateway.server.kill('SIGTERM');
      const result = await gateway.server;
      expect(result.exitCode, gateway.stderr()).toBe(0);
      const stderr = gateway.stderr();
      expect(stderr.split('stopped answering')).toHaveLength(2);
      expect(stderr.split('answers again: routes use it')).toHaveLength(2);
      expect(stderr.split('serve does not restart it')).toHaveLength(2);
      // The engine it started is gone: the one started by hand since is not serve's to stop.
      expect(stderr).not.toContain("stopped embedded's engine");
      expect(byHand.pid !== undefined && isAlive(byHand.pid)).toBe(true);
    } finally {
      gateway.server.kill('SIGKILL');
      byHand?.kill('SIGTERM');
      await byHand;
    }
  });

  it('with --json every line on stderr is one JSON object (time, level, message, fields): notices, access lines, the engine exit and health warnings', { timeout: 90_000 }, async () => {
    const gateway = await startServe(['--json', 'serve', '--port', '0', '--start-engines', '--access-log'], env, 90_000);
    try {
      expect(await chat(gateway.url)).toBe(200);
      killStartedEngine(gateway, /started embedded's engine: pid (\d+)/);
      await gateway.waitForStderr('"event":"engine_exit"');
      expect(await chat(gateway.url)).toBe(503);
      await gateway.waitForStderr('"event":"engine_health"');
      gateway.server.kill('SIGTERM');
      const result = await gateway.server;
      expect(result.exitCode, gateway.stderr()).toBe(0);
    } finally {
      gateway.server.kill('SIGKILL');
    }
    const lines = gateway
      .stderr()
      .split('\n')
      .filter((line) => line !== '');
    const parsed = lines.map((line) => {
      expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      return JSON.parse(line) as { time: string; level: string; message: string; fields: Record<string, unknown> };
    });
    for (const line of parsed) {
      expect(Object.keys(line)).toEqual(['time', 'level', 'message', 'fields']);
      expect(Number.isNaN(Date.parse(line.time))).toBe(false);
      expect(['info', 'warn', 'error']).toContain(line.level);
    }
    expect(parsed.find((line) => line.fields['event'] === 'engine_exit')).toMatchObject({ level: 'warn', fields: { provider: 'embedded', signal: 'SIGKILL', code: null, restarted: false, baseUrl: `http://127.0.0.1:${port}/v1` } });
    expect(parsed.find((line) => line.fields['event'] === 'engine_health')).toMatchObject({ level: 'warn', fields: { provider: 'embedded', state: 'down', baseUrl: `http://127.0.0.1:${port}/v1` } });
    const access = parsed.filter((line) => line.fields['path'] === '/v1/chat/completions');
    expect(access.map((line) => line.fields['status'])).toEqual([200, 503]);
    expect(access[0]?.message).toMatch(/ POST \/v1\/chat\/completions 200 /);
    expect(parsed.some((line) => line.message.startsWith('started embedded\'s engine: pid'))).toBe(true);
    expect(parsed.at(-1)?.message).toBe('gateway stopped');
  });
});
