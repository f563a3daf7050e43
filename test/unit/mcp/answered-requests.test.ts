import { PassThrough } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { followRequests } from '../../../src/mcp/answered-requests.js';

/** A transport that hands messages to its `onmessage` when told, and keeps what is sent. */
function fakeTransport(): Transport & { receive(message: object): void; sent: JSONRPCMessage[] } {
  const sent: JSONRPCMessage[] = [];
  const transport = {
    sent,
    start: async () => undefined,
    close: async () => undefined,
    send: async (message: JSONRPCMessage) => void sent.push(message),
    receive(message: object) {
      transport.onmessage?.({ jsonrpc: '2.0', ...message } as JSONRPCMessage);
    },
  } as Transport & { receive(message: object): void; sent: JSONRPCMessage[] };
  return transport;
}

/** Whether `promise` has settled once the callbacks queued so far have run. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('followRequests', () => {
  it('settles once the input ended and every request read was answered (the error answer included), not before; the handler set before it still gets every message', async () => {
    const transport = fakeTransport();
    const seen: JSONRPCMessage[] = [];
    transport.onmessage = (message) => void seen.push(message);
    const requests = followRequests(transport);
    const input = new PassThrough();
    input.resume();
    transport.receive({ id: 1, method: 'initialize' });
    transport.receive({ method: 'notifications/initialized' });
    transport.receive({ id: 'two', method: 'tools/list' });
    const answered = requests.allAnswered(input);
    input.end();
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} });
    // A notification from the server answers nothing.
    await transport.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } });
    expect(await settled(answered)).toBe(false);
    await transport.send({ jsonrpc: '2.0', id: 'two', error: { code: -32601, message: 'Method not found' } });
    expect(await settled(answered)).toBe(true);
    expect(seen).toHaveLength(3);
  });

  it('a request the client cancelled is not waited for: the server does not answer it', async () => {
    const transport = fakeTransport();
    const requests = followRequests(transport);
    const input = new PassThrough();
    input.resume();
    transport.receive({ id: 7, method: 'tools/call' });
    input.end();
    const answered = requests.allAnswered(input);
    expect(await settled(answered)).toBe(false);
    transport.receive({ method: 'notifications/cancelled', params: { requestId: 7, reason: 'the user gave up' } });
    expect(await settled(answered)).toBe(true);
  });

  it('does not settle while the input is still open, even with nothing unanswered', async () => {
    const transport = fakeTransport();
    const requests = followRequests(transport);
    const input = new PassThrough();
    input.resume();
    const answered = requests.allAnswered(input);
    expect(await settled(answered)).toBe(false);
    input.end();
    expect(await settled(answered)).toBe(true);
  });
});
