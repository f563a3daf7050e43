import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { startGateway, type StartedGateway } from '../../../src/gateway/server.js';
import type { RegistryWarmUpReport } from '../../../src/invoke/warm-up.js';
import { registerTestProvider } from './harness.js';
import { warmUpFixture, type WarmUpFixture } from './warm-up-fixture.js';

/**
 * A gateway started with nothing priced leaves the tokenizer unloaded (the start-up warm-up test);
 * a priced model registered later by another process made the first request after it load the
 * tokenizer (~0.2 s) on its way. The gateway now loads it in the background when it sees the
 * registry change. Checked by what is loaded, not by timing. Its own file: whether the tokenizer
 * is loaded is per process.
 */
describe('startGateway: the warm-up for a priced model registered while it runs', () => {
  let fixture: WarmUpFixture;
  let gateway: StartedGateway | undefined;

  beforeEach(async () => {
    fixture = await warmUpFixture('syndicate-gateway-registry-warm-up-');
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await fixture.close();
  });

  it('another process registers a priced model: the tokenizer is loaded in the background, with no request, probe or record', async () => {
    const { home, store, engineUrl } = fixture;
    await registerTestProvider(store, { id: 'local', class: 'local', wire: 'openai', baseUrl: `${engineUrl}/v1`, models: [{ id: 'small-model' }] });
    const reports: RegistryWarmUpReport[] = [];
    let tokenizerLoaded: (report: RegistryWarmUpReport) => void = () => {};
    const loaded = new Promise<RegistryWarmUpReport>((resolve) => (tokenizerLoaded = resolve));
    gateway = await startGateway({
      home,
      store,
      host: '127.0.0.1',
      port: 0,
      onRegistryWarmUp: (report) => {
        reports.push(report);
        if (report.tokenizer) tokenizerLoaded(report);
      },
    });
    expect(gateway.warmUp).toMatchObject({ tokenizer: false });
    expect(tokenCounterLoaded()).toBe(false);

    // An unpriced model registered: the routes still bound prompts by their bytes.
    await fixture.registerElsewhere({ id: 'second', class: 'local', wire: 'openai', baseUrl: `${engineUrl}/v1`, models: [{ id: 'other-model' }] });
    // Its warm-up ran (the registry changed) and left the tokenizer out.
    await new Promise<void>((resolve) => {
      const seen = (): void => (reports.length > 0 ? resolve() : void setTimeout(seen, 20));
      seen();
    });
    expect(reports.every((report) => !report.tokenizer)).toBe(true);
    expect(tokenCounterLoaded()).toBe(false);

    await fixture.registerElsewhere(fixture.pricedProvider());
    expect(await loaded).toMatchObject({ tokenizer: true });
    expect(tokenCounterLoaded()).toBe(true);

    // The dry routes asked no engine anything, and wrote no permit and no evidence.
    expect(fixture.engineRequests()).toBe(0);
    expect(fixture.recorded()).toEqual({ evidence: 0, permits: 0 });
  });
});
