import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { startGateway, type StartedGateway } from '../../../src/gateway/server.js';
import { classifierLoaded } from '../../../src/router/route-request.js';
import { registerTestProvider } from './harness.js';
import { warmUpFixture, type WarmUpFixture } from './warm-up-fixture.js';

/**
 * A fresh gateway's first request used to load the classifier, the tokenizer (when a model is
 * priced) and `fetch` on its way to the upstream: 0.6–1.5 s on a loaded VM against ~1 ms for the
 * next. `startGateway` loads them before it listens. Checked by what is loaded, not by timing.
 */
describe('startGateway: the warm-up before listening', () => {
  let fixture: WarmUpFixture;
  let gateway: StartedGateway | undefined;

  beforeEach(async () => {
    fixture = await warmUpFixture('syndicate-gateway-warm-up-');
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await fixture.close();
  });

  it('loads the classifier and fetch, and the tokenizer only once a priced model makes every route count tokens; probes and records nothing', async () => {
    const { home, store, engineUrl } = fixture;
    await registerTestProvider(store, { id: 'local', class: 'local', wire: 'openai', baseUrl: `${engineUrl}/v1`, models: [{ id: 'small-model' }] });
    expect(classifierLoaded()).toBe(false);
    expect(tokenCounterLoaded()).toBe(false);

    gateway = await startGateway({ home, store, host: '127.0.0.1', port: 0 });
    expect(gateway.warmUp).toMatchObject({ classifier: true, tokenizer: false, httpClient: true });
    expect(classifierLoaded()).toBe(true);
    // No model priced and a window that holds the prompt: routes use the byte bound, so the tokenizer (~26 MB) stays out.
    expect(tokenCounterLoaded()).toBe(false);
    await gateway.close();
    gateway = undefined;

    await registerTestProvider(store, fixture.pricedProvider());
    gateway = await startGateway({ home, store, host: '127.0.0.1', port: 0 });
    expect(gateway.warmUp).toMatchObject({ classifier: true, tokenizer: true, httpClient: true });
    expect(tokenCounterLoaded()).toBe(true);

    // The dry route asked no engine anything, and the warm-up wrote no permit and no evidence.
    expect(fixture.engineRequests()).toBe(0);
    expect(fixture.recorded()).toEqual({ evidence: 0, permits: 0 });
  });
});
