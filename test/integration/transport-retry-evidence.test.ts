/**
 * A local engine that closes a kept-alive connection behind the client's back (llama-server
 * does, after every streamed response): the next request on that pooled socket is reset before
 * any response byte, the transport sends it again on a new connection, and the evidence row of
 * that attempt says so with the `retried` marker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEvidence } from '../../src/evidence/index.js';
import { invoke } from '../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../src/invoke/types.js';
import { PermitKey } from '../../src/permits/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { openStore, type Store } from '../../src/store/store.js';
import { registerTestProvider, testPolicy } from '../unit/gateway/harness.js';

const ANSWER = JSON.stringify({
  id: 'chatcmpl-retry',
  object: 'chat.completion',
  created: 1,
  model: 'llama3',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
});

let directory: string;
let store: Store;
let engine: Server;
let chatConnections = 0;
let resetDone = false;
const sockets = new Set<Socket>();
let pipeline: PipelineContext;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-transport-retry-'));
  store = openStore(join(directory, 'store.db'));
  // Raw HTTP/1.1: the first connection that carries chat requests answers one and resets on the
  // second, unread (health probes use their own connections).
  engine = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let requests = 0;
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, headEnd))?.[1] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      const head = buffered.slice(0, headEnd);
      buffered = buffered.slice(headEnd + 4 + length);
      if (head.startsWith('POST')) {
        requests += 1;
        if (requests === 1) chatConnections += 1;
      }
      if (requests === 2 && !resetDone) {
        resetDone = true;
        socket.resetAndDestroy();
        return;
      }
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(ANSWER)}\r\nconnection: keep-alive\r\n\r\n${ANSWER}`);
    });
  });
  await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
  const { port } = engine.address() as AddressInfo;
  await registerTestProvider(store, { id: 'engine', class: 'local', wire: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, models: [{ id: 'llama3' }] });
  pipeline = { store, policy: testPolicy(), permitKey: PermitKey.fromBytes(randomBytes(32)), health: new HealthMonitor(), env: {} };
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy(); // the client pools its sockets for 4 s
  await new Promise<void>((resolve) => engine?.close(() => resolve()));
  store?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('a request re-sent after a stale kept-alive socket', () => {
  it('is answered and its evidence carries the retried marker; the first exchange does not', async () => {
    const request = { model: 'engine:llama3', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Capital of France?' }] }], stream: false };
    const first = await invoke(pipeline, { request, caller: 'test' });
    const second = await invoke(pipeline, { request, caller: 'test' });
    expect(first.markers).toEqual([]);
    expect(second.markers).toEqual(['retried']);
    expect(chatConnections).toBe(2);
    const rows = listEvidence(store, {});
    expect(rows.find((row) => row.id === second.evidenceId)).toMatchObject({ state: 'completed', markers: ['retried'], verbatimCapture: 'full' });
    expect(rows.find((row) => row.id === first.evidenceId)).toMatchObject({ state: 'completed', markers: [] });
  });
});
