import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/** The first port the kernel hands out for `listen(0)` and outgoing connections (Linux: 32768). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** How many ports below the ephemeral range `freePort` picks from. */
const PICKED_FROM = 8192;

function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port that was free a moment ago: for a real engine that takes `--port N`, or as a
 * port where nothing listens (connection refused) once the probe server is closed. Picked below
 * the kernel's ephemeral range: every `listen(0)` of the suite's many servers (and every outgoing
 * connection) takes a port in that range, and one of them landing on a "dead" port taken from
 * there made it answer (a test on a busy machine saw another process's server behind it).
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  for (let tries = 0; tries < 50; tries += 1) {
    const port = high - 1 - Math.floor(Math.random() * PICKED_FROM);
    if (await listensOn(port)) return port;
  }
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
