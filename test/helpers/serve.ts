import { execa, type ResultPromise } from 'execa';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';

import { BIN } from './cli.js';
import type { FakeEngine, FakeEngineOptions } from './fake-engines/index.js';
import { registeredEngineScenario, type Scenario } from './scenario.js';

export interface RunningServe {
  server: ResultPromise;
  url: string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  waitForStderr(text: string): Promise<void>;
}

/**
 * `syndicate ARGS` (a `serve`) as a process, once it printed where it listens on stdout (its text
 * line, or with `--json` its JSON line). `asProgram`
 * runs the bin itself, as an operator does (its shell part starts node), instead of `node BIN`.
 */
export async function startServe(args: string[], env: Record<string, string>, timeoutMs = 30_000, { asProgram = false } = {}): Promise<RunningServe> {
  // execa follows a SIGTERM with SIGKILL 5 s later by default: a loaded machine took longer than that
  // to drain a gateway (cancel, record and exit 143), which then ended by SIGKILL with no exit code.
  // The signal handling is what such tests check: the kill comes only well after any drain here.
  const options = { env: { NO_COLOR: '1', FORCE_COLOR: '0', ...env }, reject: false, timeout: timeoutMs, forceKillAfterDelay: 60_000 } as const;
  const server = asProgram ? execa(BIN, args, options) : execa('node', [BIN, ...args], options);
  let stderr = '';
  server.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    server.stdout?.on('data', (data: Buffer) => {
      stdout += data.toString();
      const match = /^syndicate gateway listening on (http:\/\/\S+)\n/.exec(stdout);
      if (match?.[1] !== undefined) resolve(match[1]);
      // `serve --json`: its ready line is a JSON document on one line.
      const ready = /^(\{.*\})\n/.exec(stdout)?.[1];
      if (ready !== undefined) resolve((JSON.parse(ready) as { url: string }).url);
    });
    void server.then((result) => reject(new Error(`serve exited early: ${String(result.stderr)}`)));
  });
  const waitForStderr = (text: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => (stderr.includes(text) ? resolve() : void setTimeout(check, 20));
      check();
    });
  return { server, url, stderr: () => stderr, waitForStderr };
}

/**
 * Whether `pid` is a live process, not a zombie: an engine syndicate stopped may wait a moment for
 * its parent (init, once the CLI that started it exited) to reap it.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * `registeredEngineScenario` with a `serve` of its home running (`--port 0`), for the tests of one
 * describe block: started by the block's beforeAll, stopped (SIGTERM) by its afterAll.
 */
export function servedEngineScenario(providerId: string, engineOptions: FakeEngineOptions): { scenario: Scenario; engine: FakeEngine; gateway: RunningServe } {
  const setup = registeredEngineScenario(providerId, engineOptions) as { scenario: Scenario; engine: FakeEngine; gateway: RunningServe };
  beforeAll(async () => {
    setup.gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: setup.scenario.home });
  });
  afterAll(async () => {
    setup.gateway?.server.kill('SIGTERM');
    await setup.gateway?.server;
  });
  return setup;
}
