import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, makeTempHome, runCli } from '../helpers/cli.js';
import { writeFakeNodeLlamaCpp } from '../helpers/fake-node-llama-cpp.js';
import { freePort } from '../helpers/ports.js';
import { launchedEngineYaml } from '../helpers/scenario.js';
import { isAlive, startServe } from '../helpers/serve.js';
import { withStore } from '../helpers/store.js';

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
      launchedEngineYaml({ id, baseUrl: `http://127.0.0.1:${base}/v1`, kind: 'node-llama-cpp', command: process.execPath, args, readyPath: '/health', coldStartSeconds: 5, model: 'model.gguf', contextWindow: 512 });
    writeFileSync(join(home, 'embedded.yaml'), record('embedded', port, [BIN, 'engine', 'serve', '--model', model, '--port', String(port)]));
    writeFileSync(join(home, 'broken.yaml'), record('broken', deadPort, ['-e', 'process.exit(7)']));
    const registered = await runCli(['provider', 'register', join(home, 'embedded.yaml'), join(home, 'broken.yaml')], { home, env });
    expect(registered.exitCode, registered.stderr).toBe(0);
  });
  afterAll(() => cleanup?.());

  it('an invalid policy.yaml stops it (exit 3) before any engine is started', { timeout: 90_000 }, async () => {
    const policyPath = join(home, 'policy.yaml');
    const policy = readFileSync(policyPath, 'utf8');
    try {
      writeFileSync(policyPath, 'apiVersion: syndicate/v1\nkind: Policy\nsensitivty: {}\n', { mode: 0o600 });
      const result = await runCli(['serve', '--port', '0', '--start-engines'], { home, env });
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain('/sensitivty');
      expect(result.stderr).not.toContain("starting embedded's engine");
      expect(withStore(home, (store) => store.db.prepare('SELECT count(*) FROM engine_processes').pluck(true).get())).toBe(0);
    } finally {
      writeFileSync(policyPath, policy, { mode: 0o600 });
    }
  });

  it('starts the declared engines before listening, skips one that fails, serves through the other, and stops what it started on SIGTERM', { timeout: 90_000 }, async () => {
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
    // Stopped: gone once the kernel has it reaped (a loaded machine may take more than a fixed 300 ms).
    await expect.poll(() => isAlive(pid), { timeout: 20_000, interval: 20 }).toBe(false);
  });
});

/**
 * A signal that comes while `serve --start-engines` is still starting engines, before the gateway
 * listens: nothing it started may be left running with no gateway to stop it.
 */
describe('serve --start-engines stopped before it listens', () => {
  let home: string;
  let cleanup: () => void;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ home, cleanup } = makeTempHome('syndicate-serve-engines-signal-'));
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    env = { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' };
    // An engine answering /health with `status`: 200 is ready at once, 503 never is.
    const engine = (port: number, status: number): string[] => [
      '-e',
      `require('node:http').createServer((q, s) => { s.writeHead(q.url === '/health' ? ${status} : 404); s.end(); }).listen(${port}, '127.0.0.1')`,
    ];
    const record = (id: string, port: number, args: string[]): string =>
      launchedEngineYaml({ id, baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args, readyPath: '/health', coldStartSeconds: 30, model: 'm', contextWindow: 512 });
    const quick = await freePort();
    const never = await freePort();
    writeFileSync(join(home, 'a-quick.yaml'), record('a-quick', quick, engine(quick, 200)));
    writeFileSync(join(home, 'b-never.yaml'), record('b-never', never, engine(never, 503)));
    const registered = await runCli(['provider', 'register', join(home, 'a-quick.yaml'), join(home, 'b-never.yaml')], { home, env });
    expect(registered.exitCode, registered.stderr).toBe(0);
  });
  afterAll(() => {
    // Should the test fail, no engine outlives it.
    for (const pid of Object.values(recordedPids())) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    cleanup?.();
  });

  /** The engine processes the store records as started by syndicate, by provider. */
  const recordedPids = (): Record<string, number> =>
    Object.fromEntries(
      withStore(home, (store) => store.db.prepare('SELECT provider_id, pid FROM engine_processes').all() as { provider_id: string; pid: number }[]).map((row) => [row.provider_id, row.pid]),
    );

  it('SIGTERM while the second engine loads stops it and the one already started, exit 143, each start reported as it ends', { timeout: 90_000 }, async () => {
    const server = execa('node', [BIN, 'serve', '--port', '0', '--start-engines'], { env, reject: false, timeout: 60_000 });
    let stderr = '';
    server.stderr?.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    // Both processes are recorded as soon as they are spawned: a-quick's answered, b-never's never will.
    let pids: Record<string, number> = {};
    while (pids['b-never'] === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      pids = recordedPids();
    }
    const { 'a-quick': quickPid, 'b-never': neverPid } = pids as { 'a-quick': number; 'b-never': number };
    expect(isAlive(quickPid)).toBe(true);
    server.kill('SIGTERM');
    const result = await server;
    expect(result.exitCode, stderr).toBe(143);
    expect(result.stdout).toBe('');
    await expect.poll(() => isAlive(quickPid) || isAlive(neverPid), { timeout: 20_000, interval: 20 }).toBe(false);
    expect(stderr).toContain(`b-never's engine start was cancelled; the engine (pid ${neverPid}) was stopped; the engines already started were stopped: a-quick`);
    // Each start is reported as it ends, not once every engine is up.
    expect(stderr.indexOf(`started a-quick's engine: pid ${quickPid}`)).toBeGreaterThan(-1);
    expect(stderr.indexOf(`started a-quick's engine`)).toBeLessThan(stderr.indexOf("starting b-never's engine"));
    // Nothing is left recorded as running either.
    expect(recordedPids()).toEqual({});
  });
});

/**
 * A gateway killed outright (SIGKILL, an OOM kill) cannot stop the engines it started. The store
 * records which process supervises each: the next `serve --start-engines` finds that process gone,
 * takes the engine over and stops it when it stops itself; while the first gateway lives, the
 * engine stays its own.
 */
describe('serve --start-engines after a gateway killed outright', () => {
  let home: string;
  let cleanup: () => void;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ home, cleanup } = makeTempHome('syndicate-serve-engines-orphans-'));
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    env = { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' };
    const port = await freePort();
    const engine = ['-e', `require('node:http').createServer((q, s) => { s.writeHead(q.url === '/health' ? 200 : 404); s.end(); }).listen(${port}, '127.0.0.1')`];
    writeFileSync(
      join(home, 'llama.yaml'),
      launchedEngineYaml({ id: 'llama', baseUrl: `http://127.0.0.1:${port}/v1`, kind: 'llama.cpp', command: process.execPath, args: engine, readyPath: '/health', coldStartSeconds: 30, model: 'm', contextWindow: 512 }),
    );
    const registered = await runCli(['provider', 'register', join(home, 'llama.yaml')], { home, env });
    expect(registered.exitCode, registered.stderr).toBe(0);
  });
  afterAll(() => {
    for (const row of recorded()) if (isAlive(row.pid)) process.kill(row.pid, 'SIGKILL');
    cleanup?.();
  });

  const recorded = (): { pid: number; supervisor_pid: number | null }[] =>
    withStore(home, (store) => store.db.prepare('SELECT pid, supervisor_pid FROM engine_processes').all() as { pid: number; supervisor_pid: number | null }[]);

  /** A gateway that started the engine, killed outright: the engine's pid, left running. */
  const killedGateway = async (): Promise<number> => {
    const first = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    const pid = Number(/started llama's engine: pid (\d+)/.exec(first.stderr())?.[1]);
    expect(recorded()).toEqual([{ pid, supervisor_pid: first.server.pid }]);
    first.server.kill('SIGKILL');
    await first.server;
    expect(isAlive(pid)).toBe(true);
    return pid;
  };

  it('the next one takes the engine over and stops it when SIGTERM stops it; while the first lives, another leaves it alone', { timeout: 90_000 }, async () => {
    const first = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    const pid = Number(/started llama's engine: pid (\d+)/.exec(first.stderr())?.[1]);
    // A second gateway beside a live first: the engine is the first's.
    const beside = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    expect(beside.stderr()).toContain("llama's engine is already running\n");
    beside.server.kill('SIGTERM');
    expect((await beside.server).exitCode).toBe(0);
    expect(isAlive(pid)).toBe(true);
    expect(recorded()).toEqual([{ pid, supervisor_pid: first.server.pid }]);

    first.server.kill('SIGKILL');
    await first.server;
    expect(isAlive(pid)).toBe(true);

    const next = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    expect(next.stderr()).toContain(`llama's engine is already running (pid ${pid}), started by a gateway (pid ${first.server.pid}) that is gone: it is stopped when this one stops`);
    expect(recorded()).toEqual([{ pid, supervisor_pid: next.server.pid }]);
    next.server.kill('SIGTERM');
    const result = await next.server;
    expect(result.exitCode, next.stderr()).toBe(0);
    expect(next.stderr()).toContain("stopped llama's engine");
    expect(isAlive(pid)).toBe(false);
    expect(recorded()).toEqual([]);
  });

  it('a supervisor pid now held by another process (its start time differs) is gone: the engine is taken over', { timeout: 90_000 }, async () => {
    const pid = await killedGateway();
    // The dead gateway's pid reused by a live process: this test's own, with another start time.
    withStore(home, (store) => store.db.prepare('UPDATE engine_processes SET supervisor_pid = ?, supervisor_start_ticks = 1').run(process.pid));
    const next = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    expect(next.stderr()).toContain(`started by a gateway (pid ${process.pid}) that is gone`);
    next.server.kill('SIGTERM');
    expect((await next.server).exitCode).toBe(0);
    expect(isAlive(pid)).toBe(false);
  });

  it('engine start takes it over for the operator: it runs until engine stop, and a later gateway leaves it alone', { timeout: 90_000 }, async () => {
    const pid = await killedGateway();
    const started = await runCli(['engine', 'start', 'llama'], { home, env });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toContain(`llama's engine is already running (pid ${pid}), started by a gateway`);
    expect(recorded()).toEqual([{ pid, supervisor_pid: null }]);
    const next = await startServe(['serve', '--port', '0', '--start-engines'], env, 60_000);
    next.server.kill('SIGTERM');
    expect((await next.server).exitCode).toBe(0);
    expect(isAlive(pid)).toBe(true);
    const stopped = await runCli(['engine', 'stop', 'llama'], { home, env });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    // Stopped: gone once the kernel has it reaped (a loaded machine may take more than a fixed 300 ms).
    await expect.poll(() => isAlive(pid), { timeout: 20_000, interval: 20 }).toBe(false);
  });
});
