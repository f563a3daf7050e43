import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { startGateway, type StartedGateway } from '../../../src/gateway/server.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import type { RegistryWarmUpReport } from '../../../src/invoke/warm-up.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { registerTestProvider } from './harness.js';

/**
 * A gateway started with nothing priced leaves the tokenizer unloaded (the start-up warm-up test);
 * a priced model registered later by another process made the first request after it load the
 * tokenizer (~0.2 s) on its way. The gateway now loads it in the background when it sees the
 * registry change. Checked by what is loaded, not by timing. Its own file: whether the tokenizer
 * is loaded is per process.
 */
describe('startGateway: the warm-up for a priced model registered while it runs', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let home: HomePaths;
  let store: Store;
  let gateway: StartedGateway | undefined;
  let engine: Server;
  let engineRequests: number;
  let engineUrl: string;

  beforeEach(async () => {
    temporary = makeTempHome('syndicate-gateway-registry-warm-up-');
    home = resolveHome({ home: temporary.home });
    initializeHome(home);
    store = openStore(home.storePath);
    engineRequests = 0;
    engine = createServer((_request, response) => {
      engineRequests += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
    await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
    engineUrl = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    store.close();
    engine.closeAllConnections();
    await new Promise<void>((resolve) => engine.close(() => resolve()));
    temporary.cleanup();
  });

  it('another process registers a priced model: the tokenizer is loaded in the background, with no request, probe or record', async () => {
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
    const other = openStore(home.storePath);
    try {
      await registerTestProvider(other, { id: 'second', class: 'local', wire: 'openai', baseUrl: `${engineUrl}/v1`, models: [{ id: 'other-model' }] });
      // Its warm-up ran (the registry changed) and left the tokenizer out.
      await new Promise<void>((resolve) => {
        const seen = (): void => (reports.length > 0 ? resolve() : void setTimeout(seen, 20));
        seen();
      });
      expect(reports.every((report) => !report.tokenizer)).toBe(true);
      expect(tokenCounterLoaded()).toBe(false);

      await registerTestProvider(other, { id: 'hosted', class: 'approved_hosted', wire: 'anthropic', baseUrl: engineUrl, auth: true, models: [{ id: 'priced-model', price: { inputPerMTok: 3, outputPerMTok: 15 } }] });
    } finally {
      other.close();
    }
    expect(await loaded).toMatchObject({ tokenizer: true });
    expect(tokenCounterLoaded()).toBe(true);
    // Once: the registry is no longer followed after the tokenizer is loaded.
    expect(reports.filter((report) => report.tokenizer)).toHaveLength(1);

    // The dry routes asked no engine anything, and wrote no permit and no evidence.
    expect(engineRequests).toBe(0);
    expect(store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get()).toBe(0);
    expect(store.db.prepare('SELECT count(*) FROM permits').pluck(true).get()).toBe(0);
  });
});
