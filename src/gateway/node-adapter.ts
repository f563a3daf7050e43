import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readLimitedBody } from '../common/http-body.js';
import { listenFailure } from '../common/listen.js';
import { checkLoopbackUrl } from '../common/loopback.js';
import { InterruptedError, UsageError } from '../errors.js';
import { DEFAULT_BODY_LIMIT_BYTES, pathOf, queryOf, type Gateway, type GatewayCall } from './app.js';
import { apiFamilyOf, bodyTooLarge, errorReply, shuttingDown, type ApiFamily } from './errors.js';

/** How to put a gateway core on a socket. */
export interface GatewayListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Binding to anything but loopback exposes the gateway to the network: only on explicit request. */
  allowRemote?: boolean;
  /** Same limit as the core's; enforced here while the body arrives. Default 32 MiB. */
  bodyLimitBytes?: number;
  /** Time allowed to receive the request headers. Default 10 s. */
  headersTimeoutMs?: number;
  /** Time allowed to receive the whole request (not the answer: streams may run long). Default 60 s. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept. Default 5 s. */
  keepAliveTimeoutMs?: number;
}

/** How often node looks for requests past their headers or request timeout. */
const CONNECTIONS_CHECK_MS = 1000;

/** A listening gateway. */
export interface RunningGateway {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  host: string;
  port: number;
  server: Server;
  /** Requests whose body is still arriving (admitted at their head: a shutdown serves them too). */
  readonly uploading: number;
  /**
   * Graceful shutdown: stop accepting connections, refuse new requests on open ones, let every
   * in-flight request finish (streams included) and complete its evidence, flush the last
   * bytes, then close every socket.
   */
  close(): Promise<void>;
  /**
   * Cuts the drain short: cancels every request in flight with `reason` (see `Gateway.cancelInFlight`)
   * and closes every connection once they settled and their last bytes went out — each stream cut
   * short ends with its API's error event, never with the connection simply gone, however long its
   * evidence takes to complete. A request still uploading its body does not see the cancellation:
   * its connection is cut after `CUT_SHORT_GRACE_MS`; a client that no longer reads gets as long for
   * its last bytes. `atOnce` (the operator's second signal: stop now): every connection is closed
   * at most `CUT_SHORT_GRACE_MS` after the cut, whatever is left — a stream whose pipeline has not
   * settled by then ends without its error event (its evidence is still completed before the
   * close resolves). Returns how many it cancelled.
   */
  cutShort(reason: Error, options?: { atOnce?: boolean }): number;
}

/**
 * How long a request cancelled by `cutShort` while still uploading its body gets to finish it (and be
 * answered with the cancellation), and how long the answers get to be flushed once every request
 * settled, before every connection closes.
 */
export const CUT_SHORT_GRACE_MS = 1_000;

/**
 * The thin node:http adapter: an IncomingMessage becomes a `GatewayCall` (no web `Request`:
 * headers are read from node's own parse, the body is read with the limit enforced as it
 * arrives), and the reply is written back — a body in one write, a stream frame by frame,
 * each SSE frame written to the socket as the core emits it.
 */
export function nodeRequestListener(
  gateway: Gateway,
  options: {
    bodyLimitBytes?: number;
    /**
     * The server emits `checkContinue` to this listener too (`listenGateway` does): a request that
     * sends `Expect: 100-continue` gets its `100 Continue` only when a route reads its body, so one
     * refused at its head (401, 404, 413 by its Content-Length) is answered before its body is sent.
     */
    continueOnRead?: boolean;
  } = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  return (incoming, outgoing) => {
    // Admitted at its head: a SIGTERM that comes while its body is still arriving serves it.
    const release = incoming.method === 'GET' || incoming.method === 'HEAD' ? undefined : gateway.admit();
    const expectsContinue = options.continueOnRead === true && /^\s*100-continue\s*$/i.test(incoming.headers.expect ?? '');
    void serve(gateway, limit, incoming, outgoing, release !== undefined, expectsContinue)
      .catch((error: unknown) => {
        if (!outgoing.headersSent) writeFailure(outgoing, error, apiFamilyOf(pathOf(incoming.url ?? '/'), (name) => incoming.headersDistinct[name]?.join(', ')));
        else outgoing.destroy(error instanceof Error ? error : undefined);
      })
      .finally(release);
  };
}

async function serve(gateway: Gateway, limit: number, incoming: IncomingMessage, outgoing: ServerResponse, admitted: boolean, expectsContinue: boolean): Promise<void> {
  const method = incoming.method ?? 'GET';
  const path = pathOf(incoming.url ?? '/');
  const cancellation = new AbortController();
  // A client that goes away before its answer is complete cancels the upstream call.
  whenReplyGone(outgoing, () => {
    if (!outgoing.writableFinished) cancellation.abort();
  });
  // The body is read only when a route asks for it, after the core checked the token, the route
  // and the method: a caller without the token cannot make the gateway hold its body (up to the
  // limit, on every connection it opens), and one whose request is refused at its head is answered
  // at once, without waiting for a slow body. Until read, node reads no more of it than its buffer.
  let read: Promise<Buffer> | undefined;
  let aborted = false;
  const readBody = async (): Promise<Buffer> => {
    // It came after the drain began (on a connection kept alive, or pipelined): any route that
    // wants its body (an inference, a token count) refuses it (503) without waiting for a body
    // that may be slow or never end — the gateway's shutdown would wait for it.
    if (!admitted) throw shuttingDown();
    const body = await readLimitedBody(incoming, limit, expectsContinue ? () => outgoing.writeContinue() : undefined);
    if (body.kind === 'aborted') {
      // The client went away mid-body: nobody is left to answer, but the core still logs it (499).
      aborted = true;
      cancellation.abort();
      throw new InterruptedError('the client closed the connection before its request body ended');
    }
    if (body.kind === 'too-large') throw bodyTooLarge(limit, path);
    return body.body;
  };
  const call: GatewayCall = {
    method,
    path,
    query: queryOf(incoming.url ?? '/'),
    // headersDistinct keeps every value of a repeated header (node's `headers` drops repeats of
    // some, Authorization among them), joined as web Headers would.
    header: (name) => incoming.headersDistinct[name]?.join(', '),
    // An over-limit body is refused by the core, as any other request is answered (and logged).
    readBody: async (bodyLimit) => {
      if (method === 'GET' || method === 'HEAD') return '';
      read ??= readBody();
      const body = await read;
      if (body.length > bodyLimit) throw bodyTooLarge(bodyLimit, path);
      return body.toString('utf8');
    },
    cancellation,
    admitted,
  };

  const reply = await gateway.handle(call);
  if (aborted) return;
  // Answered while the gateway drains: the client must not send its next request on this connection.
  if (reply.headers['connection'] === 'close' || gateway.draining) outgoing.shouldKeepAlive = false;
  // A body not read to its end (refused at its head, over the limit, or during the drain) is left
  // unread: the connection closes after the answer rather than parse the rest as a request.
  if (!incoming.complete) outgoing.shouldKeepAlive = false;
  const channel = reply.body;
  if (typeof channel !== 'string') {
    outgoing.writeHead(reply.status, reply.headers);
    whenReplyGone(outgoing, () => {
      if (!outgoing.writableFinished) channel.cancel();
    });
    // A write racing a socket that just died must not crash the process: the stream is over.
    outgoing.on('error', () => channel.cancel());
    // The first frames usually wait in the channel: attaching writes them with the head in one
    // packet. When nothing is there yet the head goes out alone, so the client sees its 200 now.
    // (`headersSent` is true from `writeHead` on, though node holds the head until a write: it cannot tell.)
    let written = false;
    channel.attach({
      write: (text) => {
        written = true;
        outgoing.write(text);
      },
      end: () => outgoing.end(),
      whenWritable: () => (outgoing.writableNeedDrain ? drained(outgoing) : undefined),
    });
    if (!written && !outgoing.writableEnded) outgoing.flushHeaders();
    return;
  }
  reply.headers['content-length'] = String(Buffer.byteLength(channel));
  outgoing.writeHead(reply.status, reply.headers);
  outgoing.end(channel);
}

/** Resolves when `response` drained what it buffered for a slow client, or closed; leaves no listener behind. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * Resolves once each of `responses` has flushed its last bytes to its socket, or closed. A response
 * queued behind another on a pipelined connection never closes when that connection does (node
 * closes only the one on the socket): its socket closing ends the wait too.
 */
function flushed(responses: Iterable<ServerResponse>): Promise<void> {
  return Promise.all(
    [...responses].map((response) =>
      response.writableFinished
        ? undefined
        : new Promise<void>((resolve) => {
            response.once('close', () => resolve());
            const socket = response.req.socket;
            if (socket.destroyed) resolve();
            else socket.once('close', () => resolve());
          }),
    ),
  ).then(() => undefined);
}

/** Per connection: its replies not closed yet, each with what to do when it goes. */
const repliesOnSocket = new WeakMap<Socket, Map<ServerResponse, (() => void)[]>>();

/**
 * Calls back once, when `response` closes or its connection does, whichever comes first. node
 * never closes a reply queued behind another on a pipelined connection that died (only the one
 * on the socket), so the connection is watched too — without it such a request would run its
 * upstream call for nobody and its reply would be kept for ever. One listener per connection
 * and one per reply, however many callbacks and however deep the pipelining.
 */
function whenReplyGone(response: ServerResponse, callback: () => void): void {
  const socket = response.req.socket;
  let replies = repliesOnSocket.get(socket);
  if (replies === undefined) {
    const created = new Map<ServerResponse, (() => void)[]>();
    replies = created;
    repliesOnSocket.set(socket, created);
    const closeAll = (): void => {
      for (const reply of [...created.keys()]) replyGone(created, reply);
    };
    if (socket.destroyed) queueMicrotask(closeAll);
    else socket.once('close', closeAll);
  }
  const callbacks = replies.get(response);
  if (callbacks !== undefined) {
    callbacks.push(callback);
    return;
  }
  replies.set(response, [callback]);
  const known = replies;
  response.once('close', () => replyGone(known, response));
}

function replyGone(replies: Map<ServerResponse, (() => void)[]>, response: ServerResponse): void {
  const callbacks = replies.get(response);
  if (callbacks === undefined) return;
  replies.delete(response);
  for (const callback of callbacks) callback();
}

/** A request still receiving its body after requestTimeout: 408 and the connection closed, as node does. */
function timeOutUpload(response: ServerResponse): void {
  if (response.req.complete) return;
  const socket = response.req.socket;
  if (socket.destroyed) return;
  if (response.headersSent) socket.destroy();
  else socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n', () => socket.destroy());
}

function writeFailure(outgoing: ServerResponse, error: unknown, family: ApiFamily): void {
  const reply = errorReply(error, family);
  outgoing.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
  outgoing.end(reply.body);
}

/**
 * Listens on host:port. A host that is not loopback (after resolving names) is refused
 * unless `allowRemote` is set.
 */
export async function listenGateway(gateway: Gateway, options: GatewayListenOptions): Promise<RunningGateway> {
  const bracketed = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  if (options.allowRemote !== true) {
    const verdict = await checkLoopbackUrl(`http://${bracketed}/`);
    if (!verdict.loopback && verdict.addresses.length === 0) {
      // Nothing to bind to, so nothing anyone could reach: a typo rather than an exposure.
      throw new UsageError(`cannot listen on ${options.host}: ${verdict.reason}`, { hint: 'use --host 127.0.0.1 (the default), ::1 or localhost' });
    }
    if (!verdict.loopback) {
      throw new UsageError(`refusing to bind the gateway to ${options.host}: ${verdict.reason}, so other machines could reach it`, {
        hint: 'bind to 127.0.0.1 (the default), or pass --allow-remote if exposing the gateway to the network is intended',
      });
    }
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  const listener = nodeRequestListener(gateway, { ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }), continueOnRead: true });
  const server = createServer(
    {
      noDelay: true,
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: requestTimeoutMs,
      // node enforces both only when it checks its connections, every 30 s by default: a client
      // that never finished its headers held its connection up to 40 s, not 10.
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    },
    listener,
  );
  // Each response not closed yet, with when its request arrived.
  const open = new Map<ServerResponse, number>();
  const opened = (response: ServerResponse): void => {
    open.set(response, Date.now());
    whenReplyGone(response, () => open.delete(response));
  };
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => opened(response));
  // node answers `Expect: 100-continue` itself unless told; the listener sends it when the body is read.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    listener(request, response);
    opened(response);
  });
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error): void => reject(listenFailure(error, options.host, options.port));
    server.once('error', refused);
    server.listen(options.port, options.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  // Open replies whose request body is still arriving, with when the request arrived.
  const stillUploading = (): [ServerResponse, number][] => [...open].filter(([response]) => !response.req.complete);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    host: address.address,
    port: address.port,
    server,
    get uploading() {
      return stillUploading().length;
    },
    cutShort: (reason, cutOptions = {}) => {
      const cancelled = gateway.cancelInFlight(reason);
      if (cutOptions.atOnce === true) setTimeout(() => server.closeAllConnections(), CUT_SHORT_GRACE_MS).unref();
      // Not a bound on the requests settling: a stream's error event is written once its pipeline
      // settled (its evidence complete), which a loaded machine took over a second to do — cutting
      // the connections then left SDK clients with a bare close (`terminated`) instead.
      const uploadCut = setTimeout(() => {
        for (const [response] of stillUploading()) response.req.socket.destroy();
      }, CUT_SHORT_GRACE_MS);
      void gateway.settledInFlight().then(async () => {
        clearTimeout(uploadCut);
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([
          flushed(open.keys()),
          new Promise<void>((resolve) => {
            grace = setTimeout(resolve, CUT_SHORT_GRACE_MS);
          }),
        ]);
        clearTimeout(grace);
        server.closeAllConnections();
      });
      return cancelled;
    },
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // node stops enforcing requestTimeout once the server is closed: an admitted request whose
        // body never ends would hold the drain for ever. It gets what node would have sent (408)
        // when its time is up.
        const uploadTimers = stillUploading().map(([response, arrivedAt]) => setTimeout(() => timeOutUpload(response), Math.max(0, arrivedAt + requestTimeoutMs - Date.now())));
        await gateway.drain();
        for (const timer of uploadTimers) clearTimeout(timer);
        // Every answer has been handed to its socket; wait until the bytes are flushed.
        await flushed(open.keys());
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
