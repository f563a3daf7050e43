import { connect } from 'node:net';

/** A raw TCP client for requests no HTTP client would send (malformed, half-sent, dribbled). */
export interface RawClient {
  /** Writes bytes (a string as latin-1, so any byte can be sent). */
  write(bytes: string | Buffer): Promise<void>;
  /** Everything received so far, as latin-1. */
  received(): string;
  /** Resolves once what was received contains `text` (`times` times), or the connection closed (then check `received`). */
  waitFor(text: string, times?: number): Promise<void>;
  /** Resolves once the server closed the connection. */
  closed: Promise<void>;
  readonly isClosed: boolean;
  destroy(): void;
}

/** Opens a TCP connection to 127.0.0.1:`port`. */
export async function rawClient(port: number): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  let isClosed = false;
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  socket.on('data', (data: Buffer) => {
    received += data.toString('latin1');
    wake();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      isClosed = true;
      wake();
      resolve();
    });
  });
  return {
    write: (bytes) =>
      new Promise((resolve) => {
        if (socket.destroyed) resolve();
        else socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, () => resolve());
      }),
    received: () => received,
    waitFor: async (text, times = 1) => {
      while (received.split(text).length <= times && !isClosed) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    closed,
    get isClosed() {
      return isClosed;
    },
    destroy: () => socket.destroy(),
  };
}
