import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { startGateway, type StartedGateway } from '../../../src/gateway/server.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { classifierLoaded } from '../../../src/router/route-request.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { registerTestProvider } from './harness.js';

/**
 * A fresh gateway's first request used to load the classifier, the tokenizer (when a model is
 * priced) and `fetch` on its way to the upstream: 0.6–1.5 s on a loaded VM against ~1 ms for the
 * next. `startGateway` loads them before it listens. Checked by what is loaded, not by timing.
 */
describe('startGateway: the warm-up before listening', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let home: HomePaths;
  let store: Store;
  let gateway: StartedGateway | undefined;
  let engine: Server;
  let engineRequests: number;
  let engineUrl: string;

  beforeEach(async () => {
    temporary = makeTempHome('syndicate-gateway-warm-up-');
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

  const evidenceRows = (): number => store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get() as number;
  const permitRows = (): number => store.db.prepare('SELECT count(*) FROM permits').pluck(true).get() as number;

  it('loads the classifier and fetch, and the tokenizer only once a priced model makes every route count tokens; probes and records nothing', async () => {
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

    await registerTestProvider(store, { id: 'hosted', class: 'approved_hosted', wire: 'anthropic', baseUrl: engineUrl, auth: true, models: [{ id: 'priced-model', price: { inputPerMTok: 3, outputPerMTok: 15 } }] });
    gateway = await startGateway({ home, store, host: '127.0.0.1', port: 0 });
    expect(gateway.warmUp).toMatchObject({ classifier: true, tokenizer: true, httpClient: true });
    expect(tokenCounterLoaded()).toBe(true);

    // The dry route asked no engine anything, and the warm-up wrote no permit and no evidence.
    expect(engineRequests).toBe(0);
    expect(evidenceRows()).toBe(0);
    expect(permitRows()).toBe(0);
  });
});
