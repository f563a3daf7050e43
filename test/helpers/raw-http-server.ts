import { createServer, type AddressInfo, type Socket } from 'node:net';

/** What a raw server does with one request: answer it (200, keep-alive) or reset the connection without a response byte. */
export type RawRequestPlan = 'answer' | 'reset';

/** A raw HTTP/1.1 server on loopback or another address of this machine (`startRawHttpServer`). */
export interface RawHttpServer {
  /** `http://HOST:PORT`. */
  origin: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Destroys every open connection (a client's pooled sockets then fail or are dropped). */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 server written over raw TCP, so a test decides what each request on each connection
 * gets: `plan(connection, requestOnConnection)` (both from 1) answers with `body` as JSON on a
 * kept-alive connection, or resets the connection before any response byte — what a server that
 * closed a pooled socket while it sat idle does to the next request written on it.
 */
export async function startRawHttpServer(options: { host?: string; body: string; plan: (connection: number, request: number) => RawRequestPlan }): Promise<RawHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    connections += 1;
    const connection = connections;
    let requests = 0;
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      for (;;) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, headEnd))?.[1] ?? 0);
        if (buffered.length < headEnd + 4 + length) return;
        buffered = buffered.slice(headEnd + 4 + length);
        requests += 1;
        if (options.plan(connection, requests) === 'reset') {
          socket.resetAndDestroy();
          return;
        }
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(options.body)}\r\nconnection: keep-alive\r\n\r\n${options.body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const dropConnections = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    connections: () => connections,
    dropConnections,
    close: async () => {
      dropConnections(); // a client pools its sockets for a while
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
