import { execa, type ResultPromise } from 'execa';
import { freePort, waitHealthy } from './ports.js';

/** A running llama.cpp `llama-server` (the build the engine suite's global setup provides). */
export interface StartedLlamaServer {
  /** `http://127.0.0.1:PORT`, without `/v1`. */
  url: string;
  process: ResultPromise;
}

/**
 * llama.cpp's own `llama-server` (`SYNDICATE_LLAMA_SERVER`) over `modelPath` on a free loopback
 * port, one thread and a 2 048-token context (the two cores are shared), once `/health` answers;
 * `extra` adds flags (`--embeddings`, `--jinja`, ...). A server that never gets healthy is stopped.
 */
export async function startLlamaServer(modelPath: string, extra: readonly string[] = []): Promise<StartedLlamaServer> {
  const binary = process.env['SYNDICATE_LLAMA_SERVER'];
  if (binary === undefined) throw new Error('SYNDICATE_LLAMA_SERVER is not set (the engine suite global setup builds it)');
  const port = await freePort();
  const child = execa(binary, ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), '-t', '1', '-c', '2048', ...extra], { reject: false });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, () => child.exitCode !== null);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { url, process: child };
}
