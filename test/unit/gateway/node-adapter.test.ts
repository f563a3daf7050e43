/** The node:http adapter and the core read a request's path and its body limit the same way. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathOf } from '../../../src/gateway/app.js';
import { createGateway, listenGateway, type AccessLogEntry, type RunningGateway } from '../../../src/gateway/index.js';
import type { InvocationResult, PipelineContext } from '../../../src/invoke/types.js';
import { GatewayMetrics } from '../../../src/metrics/prometheus.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { openStore, type Store } from '../../../src/store/store.js';

const TOKEN = 'syn_unit-token';

describe('pathOf', () => {
  it.each([
    ['/v1/models', '/v1/models'],
    ['/v1/models?limit=1', '/v1/models'],
    ['/v1/models#top', '/v1/models'],
    ['/v1//models?x=http://elsewhere/', '/v1//models'],
    ['http://127.0.0.1:8080/v1/chat/completions?x=1', '/v1/chat/completions'],
    ['http://gateway', '/'],
    ['http://gateway?next=/v1/models', '/'],
  ])('%s -> %s', (target, path) => {
    expect(pathOf(target)).toBe(path);
  });
});

describe('node:http adapter', () => {
  let store: Store;
  let running: RunningGateway;
  const logged: AccessLogEntry[] = [];

  beforeAll(async () => {
    store = openStore(':memory:');
    const pipeline = { store, policy: defaultPolicy() } as unknown as PipelineContext;
    const gateway = createGateway({
      pipeline,
      invoke: async (): Promise<InvocationResult> => {
        throw new Error('not called');
      },
      token: TOKEN,
      metrics: new GatewayMetrics({ processMetrics: false }),
      bodyLimitBytes: 64,
      onRequestEnd: (entry) => logged.push(entry),
    });
    running = await listenGateway(gateway, { host: '127.0.0.1', port: 0, bodyLimitBytes: 64 });
  });

  afterAll(async () => {
    await running?.close();
    store?.close();
  });

  it('routes on the path without its query', async () => {
    const response = await fetch(`${running.url}/healthz?verbose=1`);
    expect(response.status).toBe(200);
  });

  it('refuses an over-limit body with 413 in the envelope of the path’s API family, query or not', async () => {
    const post = (path: string) =>
      fetch(`${running.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: 'x'.repeat(100) });
    const anthropic = await post('/v1/messages?beta=true');
    expect(anthropic.status).toBe(413);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    const openai = await post('/v1/chat/completions');
    expect(openai.status).toBe(413);
    expect(await openai.json()).toMatchObject({ error: { code: 'body_too_large' } });
    // The rest of the body was never read: the connection closes. The core answered, so the access log has it.
    expect(openai.headers.get('connection')).toBe('close');
    expect(logged.slice(-2)).toEqual([
      expect.objectContaining({ path: '/v1/messages', status: 413, outcome: 'body_too_large' }),
      expect.objectContaining({ path: '/v1/chat/completions', status: 413, outcome: 'body_too_large' }),
    ]);
  });
});
