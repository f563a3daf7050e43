import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { expect } from 'vitest';
import { writeTestModel } from '../../src/engines/test-model.js';
import { waitHealthy } from './ports.js';
import { Scenario } from './scenario.js';
import { startServe, type RunningServe } from './serve.js';

/** A running llama.cpp `llama-server` (the build the engine suite's global setup provides). */
export interface StartedLlamaServer {
  /** `http://127.0.0.1:PORT`, without `/v1`. */
  url: string;
  process: ResultPromise;
}

/**
 * llama.cpp's own `llama-server` (`SYNDICATE_LLAMA_SERVER`) over `modelPath` (none: a router, given
 * `--models-dir` or `--models-preset` in `extra`) on loopback, one
 * thread and a 2 048-token context (the two cores are shared), once `/health` answers; `extra`
 * adds flags (`--embeddings`, `--jinja`, ...). It binds port 0 and says which port it got, so no
 * other process can take the port between choosing it and binding it. A server that never gets
 * healthy is stopped.
 */
export async function startLlamaServer(modelPath: string | undefined, extra: readonly string[] = [], timeoutMs = 60_000): Promise<StartedLlamaServer> {
  const binary = process.env['SYNDICATE_LLAMA_SERVER'];
  if (binary === undefined) throw new Error('SYNDICATE_LLAMA_SERVER is not set (the engine suite global setup builds it)');
  const child = execa(binary, [...(modelPath === undefined ? [] : ['-m', modelPath]), '--host', '127.0.0.1', '--port', '0', '-t', '1', '-c', '2048', ...extra], { reject: false });
  try {
    const url = await listeningUrl(child, timeoutMs);
    await waitHealthy(url, () => child.exitCode !== null, timeoutMs);
    return { url, process: child };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** The URL llama-server logs once it listens (`srv  llama_server: listening on http://127.0.0.1:PORT`). */
function listeningUrl(child: ResultPromise, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`llama-server did not say where it listens within ${timeoutMs} ms; its log: ${seen}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', onData);
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`llama-server exited with ${String(result.exitCode)} before it listened: ${String(result.stderr)}`));
    });
  });
}

/** `syndicate serve` over a real llama-server: see `startGatewayOverLlamaServer`. */
export interface LlamaServerGateway {
  scenario: Scenario;
  gateway: RunningServe;
  /** The gateway's bearer token. */
  token: string;
  /** Stops the gateway and the server, and removes the scenario's home. */
  close(): Promise<void>;
}

/**
 * A scenario whose home holds the generated test model (`tiny.gguf`), llama.cpp's own
 * `llama-server` serving it, registered by `provider add llama.cpp` (so its model is
 * `llama.cpp:tiny`), and `syndicate serve` in front, alive long enough for a whole file's tests.
 */
export async function startGatewayOverLlamaServer(): Promise<LlamaServerGateway> {
  const scenario = await Scenario.create();
  await writeTestModel(join(scenario.home, 'tiny.gguf'));
  const server = await startLlamaServer(join(scenario.home, 'tiny.gguf'));
  const added = await scenario.cli(['provider', 'add', 'llama.cpp', '--base-url', `${server.url}/v1`]);
  expect(added.exitCode, added.stderr).toBe(0);
  const gateway = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: scenario.home }, 600_000);
  const token = (await scenario.cli(['serve', '--print-token'])).stdout.trim();
  const close = async (): Promise<void> => {
    gateway.server.kill('SIGTERM');
    await gateway.server;
    server.process.kill();
    await Promise.allSettled([server.process]);
    scenario.cleanup();
  };
  return { scenario, gateway, token, close };
}
