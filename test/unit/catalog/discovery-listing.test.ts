import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverModels } from '../../../src/catalog/discovery.js';

/** A loopback server answering `GET /v1/models` with `data` (and 404 to anything else). */
async function listing(data: unknown[]): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('discovery from an OpenAI model listing', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  // Entries without a string id are skipped; the rest keep the listing's order.
  const data = [{ id: 'qwen2.5-7b-instruct', object: 'model' }, { id: 7 }, { object: 'model' }, { id: 'Qwen/Qwen2.5-32B-Instruct', max_model_len: 16384 }];

  it('llama-swap: every listed id, with the fallback context window and a guessed capability', { timeout: 90_000 }, async () => {
    const { server, baseUrl } = await listing(data);
    servers.push(server);
    const result = await discoverModels('llama-swap', baseUrl);
    expect(result.models.map((model) => [model.id, model.capabilityClass, model.tags])).toEqual([
      ['qwen2.5-7b-instruct', 'small', undefined],
      ['Qwen/Qwen2.5-32B-Instruct', 'medium', undefined],
    ]);
    expect(result.models.every((model) => Object.keys(model).join() === 'id,contextWindow,capabilityClass')).toBe(true);
  });

  it('vLLM: the same entries, with max_model_len and the completions tag', { timeout: 90_000 }, async () => {
    const { server, baseUrl } = await listing(data);
    servers.push(server);
    const result = await discoverModels('vllm', baseUrl);
    expect(result.models.map((model) => model.id)).toEqual(['qwen2.5-7b-instruct', 'Qwen/Qwen2.5-32B-Instruct']);
    expect(result.models[1]).toEqual({ id: 'Qwen/Qwen2.5-32B-Instruct', contextWindow: 16384, capabilityClass: 'medium', tags: ['completions'] });
  });
});
