/** `engineClient`: a caller's per-request headers go beside the record's credential, which they never drop or replace. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineClient, withRecordHeaders } from '../../../../src/engines/control/http.js';

describe('engineClient headers', () => {
  let server: Server;
  let baseUrl: string;
  const received: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"id":"m"}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the caller's headers with the record's; for the same name, in any case, the record's credential alone", async () => {
    const client = engineClient(baseUrl, { authorization: 'Bearer record-key' });
    received.length = 0;
    await client.ask(`${client.root}/v1/models`, { headers: { 'x-request-id': 'abc', Authorization: 'Bearer caller-key' } });
    await client.ask(`${client.root}/v1/models`, { headers: { authorization: '' } });
    await client.ask(`${client.root}/v1/models`);
    expect(received.map((headers) => [headers['authorization'], headers['x-request-id']])).toEqual([
      ['Bearer record-key', 'abc'],
      ['Bearer record-key', undefined],
      ['Bearer record-key', undefined],
    ]);
  });

  it("a record without a credential sends the caller's headers as they are", async () => {
    const client = engineClient(baseUrl);
    received.length = 0;
    expect(await client.servedModels()).toEqual(['m']);
    await client.ask(`${client.root}/v1/models`, { headers: { Authorization: 'Bearer caller-key', 'x-request-id': 'def' } });
    expect(received.map((headers) => [headers['authorization'], headers['x-request-id']])).toEqual([
      [undefined, undefined],
      ['Bearer caller-key', 'def'],
    ]);
  });

  it('withRecordHeaders: the record wins case-insensitively and nothing else is dropped', () => {
    expect(withRecordHeaders(undefined, { authorization: 'Bearer k' })).toEqual({ authorization: 'Bearer k' });
    expect(withRecordHeaders({ AUTHORIZATION: 'x', 'X-Api-Key': 'y', accept: 'text/plain' }, { authorization: 'Bearer k', 'x-api-key': 'k' })).toEqual({
      accept: 'text/plain',
      authorization: 'Bearer k',
      'x-api-key': 'k',
    });
  });
});
