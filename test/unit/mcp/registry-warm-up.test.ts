import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import type { RegistryWarmUpReport } from '../../../src/invoke/warm-up.js';
import { createMcpServer } from '../../../src/mcp/server.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { registerTestProvider } from '../gateway/harness.js';

/**
 * `syndicate mcp` follows the registry as the gateway does: a priced model registered by another
 * process while it runs has the tokenizer loaded in the background, not by the next `complete`.
 * Its own file: whether the tokenizer is loaded is per process.
 */
describe('createMcpServer: followRegistry', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let home: HomePaths;
  let store: Store;

  beforeEach(() => {
    temporary = makeTempHome('syndicate-mcp-registry-warm-up-');
    home = resolveHome({ home: temporary.home });
    initializeHome(home);
    store = openStore(home.storePath);
  });
  afterEach(() => {
    store.close();
    temporary.cleanup();
  });

  it('loads the tokenizer once another process registers a priced model, with no tool call and no record', async () => {
    const mcp = createMcpServer({ home, store, version: '0.0.0-test' });
    const loaded = new Promise<RegistryWarmUpReport>((resolve) => {
      const follower = mcp.followRegistry((report) => {
        if (report.tokenizer) void follower.stop().then(() => resolve(report));
      });
    });
    expect(await mcp.warmUp()).toMatchObject({ tokenizer: false });
    expect(tokenCounterLoaded()).toBe(false);

    const other = openStore(home.storePath);
    try {
      await registerTestProvider(other, { id: 'hosted', class: 'approved_hosted', wire: 'anthropic', baseUrl: 'http://127.0.0.1:9', auth: true, models: [{ id: 'priced-model', price: { inputPerMTok: 3, outputPerMTok: 15 } }] });
    } finally {
      other.close();
    }
    expect(await loaded).toMatchObject({ tokenizer: true });
    expect(tokenCounterLoaded()).toBe(true);
    expect(store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get()).toBe(0);
    await mcp.drain();
  });
});
