import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { registerTestProvider, type TestProvider } from './harness.js';

/**
 * What the warm-up tests (gateway and MCP, each in a file of its own: what is loaded is per
 * process) start from: a new home `initializeHome` made, its store open, and a loopback engine
 * that answers every request with an empty model list and counts them (a warm-up probes nothing).
 */
export interface WarmUpFixture {
  home: HomePaths;
  store: Store;
  engineUrl: string;
  engineRequests(): number;
  /** Registers `provider` through a connection of its own, as another process's `provider register` does. */
  registerElsewhere(provider: TestProvider): Promise<void>;
  /** A hosted provider whose one model has a price (every route then counts prompts), at the engine. */
  pricedProvider(): TestProvider;
  /** The number of evidence and permit rows: a warm-up records nothing. */
  recorded(): { evidence: number; permits: number };
  close(): Promise<void>;
}

export async function warmUpFixture(prefix: string): Promise<WarmUpFixture> {
  const temporary = makeTempHome(prefix);
  const home = resolveHome({ home: temporary.home });
  initializeHome(home);
  const store = openStore(home.storePath);
  let requests = 0;
  const engine = createServer((_request, response) => {
    requests += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
  });
  await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
  const engineUrl = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;
  const count = (table: 'evidence' | 'permits'): number => store.db.prepare(`SELECT count(*) FROM ${table}`).pluck(true).get() as number;
  return {
    home,
    store,
    engineUrl,
    engineRequests: () => requests,
    registerElsewhere: async (provider) => {
      const other = openStore(home.storePath);
      try {
        await registerTestProvider(other, provider);
      } finally {
        other.close();
      }
    },
    pricedProvider: () => ({ id: 'hosted', class: 'approved_hosted', wire: 'anthropic', baseUrl: engineUrl, auth: true, models: [{ id: 'priced-model', price: { inputPerMTok: 3, outputPerMTok: 15 } }] }),
    recorded: () => ({ evidence: count('evidence'), permits: count('permits') }),
    close: async () => {
      store.close();
      engine.closeAllConnections();
      await new Promise<void>((resolve) => engine.close(() => resolve()));
      temporary.cleanup();
    },
  };
}
