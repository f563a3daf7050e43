import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { EngineKind } from '../../../src/common/vocabulary.js';
import { issuePermit, PermitKey, verifyPermit, type VerifiedPermit } from '../../../src/permits/index.js';
import { openStore, type Store } from '../../../src/store/store.js';
import type { CaptureEnd, CaptureSink, CapturedRequest, CapturedResponseStart } from '../../../src/transport/index.js';
import { registerFixtureProvider } from '../permits/provider-fixture.js';

/** What a test server received, byte for byte. */
export interface ReceivedRequest {
  method: string;
  path: string;
  /** Header name/value pairs in wire order, names as sent. */
  rawHeaders: [string, string][];
  body: Buffer;
}

export interface TestServer {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1:0; the handler gets the fully read request body. */
export async function startServer(handler: (request: IncomingMessage, response: ServerResponse, body: Buffer) => void): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const rawHeaders: [string, string][] = [];
      for (let index = 0; index < request.rawHeaders.length; index += 2) {
        rawHeaders.push([request.rawHeaders[index] as string, request.rawHeaders[index + 1] as string]);
      }
      received.push({ method: request.method ?? '', path: request.url ?? '', rawHeaders, body });
      handler(request, response, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One store with a provider registered at `baseUrl`; hands out verified permits for it. */
export class PermitFactory {
  readonly store: Store = openStore(':memory:');
  readonly key = PermitKey.fromBytes(randomBytes(32));
  private version = 0;

  async register(baseUrl: string, models: { id: string; aliases?: string[] }[] = [{ id: 'llama3.2:3b' }], engine?: EngineKind): Promise<void> {
    this.version = await registerFixtureProvider(this.store, { baseUrl, models, ...(engine === undefined ? {} : { engine }) });
  }

  permit(model = 'llama3.2:3b'): VerifiedPermit {
    const { token } = issuePermit(this.store, this.key, { providerId: 'local-engine', providerVersion: this.version, model, maxSensitivity: 'public' });
    return verifyPermit(this.store, this.key, token, {
      providerId: 'local-engine',
      providerVersion: this.version,
      providerClass: 'local',
      model,
      sensitivity: 'public',
    });
  }

  close(): void {
    this.store.close();
  }
}

export type SinkEvent =
  | { type: 'request'; request: CapturedRequest }
  | { type: 'response-start'; response: CapturedResponseStart }
  | { type: 'chunk'; bytes: Buffer; atMs: number }
  | { type: 'end'; end: CaptureEnd }
  | { type: 'retry'; reason: string };

/** A CaptureSink that remembers every call in order. */
export class RecordingSink implements CaptureSink {
  readonly events: SinkEvent[] = [];

  onRequest(request: CapturedRequest): void {
    this.events.push({ type: 'request', request });
  }

  onResponseStart(response: CapturedResponseStart): void {
    this.events.push({ type: 'response-start', response });
  }

  onChunk(bytes: Buffer, atMs: number): void {
    this.events.push({ type: 'chunk', bytes: Buffer.from(bytes), atMs });
  }

  onEnd(end: CaptureEnd): void {
    this.events.push({ type: 'end', end });
  }

  onRetry(reason: string): void {
    this.events.push({ type: 'retry', reason });
  }

  get retries(): string[] {
    return this.events.flatMap((event) => (event.type === 'retry' ? [event.reason] : []));
  }

  get request(): CapturedRequest | undefined {
    const event = this.events.find((candidate) => candidate.type === 'request');
    return event?.type === 'request' ? event.request : undefined;
  }

  get responseStart(): CapturedResponseStart | undefined {
    const event = this.events.find((candidate) => candidate.type === 'response-start');
    return event?.type === 'response-start' ? event.response : undefined;
  }

  get chunks(): { bytes: Buffer; atMs: number }[] {
    return this.events.flatMap((event) => (event.type === 'chunk' ? [{ bytes: event.bytes, atMs: event.atMs }] : []));
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks.map((chunk) => chunk.bytes));
  }

  get ends(): CaptureEnd[] {
    return this.events.flatMap((event) => (event.type === 'end' ? [event.end] : []));
  }

  get types(): string[] {
    const types: string[] = [];
    for (const event of this.events) if (types[types.length - 1] !== event.type) types.push(event.type);
    return types;
  }
}

export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
