import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { createMcpServer } from '../../../src/mcp/server.js';
import { classifierLoaded } from '../../../src/router/route-request.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';

/** `syndicate mcp` warms up before connecting its transport: the first tool call does not load the classifier. */
describe('createMcpServer: warmUp', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let home: HomePaths;
  let store: Store;

  beforeEach(() => {
    temporary = makeTempHome('syndicate-mcp-warm-up-');
    home = resolveHome({ home: temporary.home });
    initializeHome(home);
    store = openStore(home.storePath);
  });
  afterEach(() => {
    store.close();
    temporary.cleanup();
  });

  it('loads the classifier and fetch before the first tool call, and writes no evidence', async () => {
    const mcp = createMcpServer({ home, store, version: '0.0.0-test' });
    expect(classifierLoaded()).toBe(false);
    expect(await mcp.warmUp()).toMatchObject({ classifier: true, tokenizer: false, httpClient: true });
    expect(classifierLoaded()).toBe(true);
    expect(store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get()).toBe(0);
    await mcp.drain();
  });
});
