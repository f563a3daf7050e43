import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { createMcpServer, type SyndicateMcpServer } from '../../../src/mcp/server.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { registerTestProvider } from '../gateway/harness.js';

/**
 * `route_explain` of a prompt estimates it as `complete` does (the pipeline's `bounded` estimate):
 * the tokenizer (~26 MB resident) is loaded only when its count could change the plan. It was
 * loaded on every prompt's explanation. Its own file: whether the tokenizer is loaded is per process.
 */
describe('MCP route_explain: the tokenizer only when the count could change the route', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let home: HomePaths;
  let store: Store;
  let mcp: SyndicateMcpServer;
  let client: Client;

  beforeEach(async () => {
    temporary = makeTempHome('syndicate-mcp-route-explain-');
    home = resolveHome({ home: temporary.home });
    initializeHome(home);
    store = openStore(home.storePath);
    mcp = createMcpServer({ home, store, version: '0.0.0-test' });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await mcp.server.connect(serverSide);
    client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(clientSide);
  });
  afterEach(async () => {
    await client.close();
    await mcp.drain();
    store.close();
    temporary.cleanup();
  });

  const explain = async (prompt: string): Promise<{ isError: boolean; estimatedPromptTokens: number }> => {
    const result = await client.callTool({ name: 'route_explain', arguments: { prompt } });
    const structured = result.structuredContent as { estimatedPromptTokens: number };
    return { isError: result.isError === true, estimatedPromptTokens: structured.estimatedPromptTokens };
  };

  it('nothing priced and every window holds the prompt: the byte bound, no tokenizer; a priced model registered: counted', async () => {
    // Never answers: routes probe health with a short timeout and call nothing.
    await registerTestProvider(store, { id: 'local', class: 'local', wire: 'openai', baseUrl: 'http://127.0.0.1:9/v1', models: [{ id: 'small-model' }] });
    const prompt = 'summarise the meeting notes from Tuesday';
    const unpriced = await explain(prompt);
    expect(unpriced.isError).toBe(false);
    // The byte bound: the prompt's 40 bytes plus 10 %.
    expect(unpriced.estimatedPromptTokens).toBe(Math.ceil(Buffer.byteLength(prompt) * 1.1));
    expect(tokenCounterLoaded()).toBe(false);

    await registerTestProvider(store, { id: 'hosted', class: 'approved_hosted', wire: 'anthropic', baseUrl: 'http://127.0.0.1:9', auth: true, models: [{ id: 'priced-model', price: { inputPerMTok: 3, outputPerMTok: 15 } }] });
    const priced = await explain(prompt);
    expect(priced.isError).toBe(false);
    expect(tokenCounterLoaded()).toBe(true);
    // The tokenizer's count (plus 10 %) is well under the byte bound for English.
    expect(priced.estimatedPromptTokens).toBeLessThan(unpriced.estimatedPromptTokens);
  });
});
