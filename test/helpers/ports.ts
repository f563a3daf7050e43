import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago: for a real engine that takes `--port N`, or as a
 * port where nothing listens (connection refused) once the probe server is closed.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Polls `${url}/health` until it answers 2xx (llama-server and `engine serve` answer 503 while the
 * model loads). Fails early when `exited()` says the engine process is gone.
 */
export async function waitHealthy(url: string, exited: () => boolean = () => false, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`the engine behind ${url} exited before it was healthy`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become healthy within ${timeoutMs} ms`);
}
