import type { IncomingMessage } from 'node:http';

/** What reading a request body under a size limit found. */
export type LimitedBody =
  /** The whole body arrived within the limit. */
  | { kind: 'complete'; body: Buffer }
  /**
   * Over the limit, declared by Content-Length or counted as the body arrived. Nothing more is
   * read and the request is paused, not destroyed, so the socket stays open for a 413 (send it
   * with `shouldKeepAlive = false`: the unread rest of the body must not be parsed as a request).
   */
  | { kind: 'too-large' }
  /** The client went away, or its connection failed, before the body ended: nobody is left to answer. */
  | { kind: 'aborted' };

/**
 * Reads a node:http request body, refusing one over `limit` bytes as soon as that is known: at
 * once when Content-Length declares more, else at the chunk that crosses the limit. Never rejects:
 * a client that disconnects mid-body is an outcome (`aborted`), not an error worth a stack trace.
 * `beforeReading` runs once the declared length is known to fit, before the first byte is read
 * (where a server that handles `Expect: 100-continue` itself sends its 100).
 */
export function readLimitedBody(incoming: IncomingMessage, limit: number, beforeReading?: () => void): Promise<LimitedBody> {
  const declared = Number(incoming.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ kind: 'too-large' });
  beforeReading?.();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (outcome: LimitedBody): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onAbort);
      incoming.off('close', onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit) {
        incoming.pause();
        settle({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => settle({ kind: 'complete', body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total) });
    const onAbort = (): void => settle({ kind: 'aborted' });
    // 'close' after 'end' is the normal finish (already settled); before it, the body was cut short.
    const onClose = (): void => {
      if (!incoming.complete) settle({ kind: 'aborted' });
    };
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onAbort);
    incoming.once('close', onClose);
  });
}
