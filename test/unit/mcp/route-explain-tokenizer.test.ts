import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import { createMcpServer, type SyndicateMcpServer } from '../../../src/mcp/server.js';
import { connectInProcess } from '../../helpers/mcp.js';
import { registerTestProvider } from '../gateway/harness.js';
import { warmUpFixture, type WarmUpFixture } from '../gateway/warm-up-fixture.js';

/**
 * `route_explain` of a prompt estimates it as `complete` does (the pipeline's `bounded` estimate):
 * the tokenizer (~26 MB resident) is loaded only when its count could change the plan. It was
 * loaded on every prompt's explanation. Its own file: whether the tokenizer is loaded is per process.
 */
describe('MCP route_explain: the tokenizer only when the count could change the route', () => {
  let fixture: WarmUpFixture;
  let mcp: SyndicateMcpServer;
  let client: Client;

  beforeEach(async () => {
    fixture = await warmUpFixture('syndicate-mcp-route-explain-');
    mcp = createMcpServer({ home: fixture.home, store: fixture.store, version: '0.0.0-test' });
    client = await connectInProcess(mcp.server);
  });
  afterEach(async () => {
    await client.close();
    await mcp.drain();
    await fixture.close();
  });

  const explain = async (prompt: string): Promise<{ isError: boolean; estimatedPromptTokens: number }> => {
    const result = await client.callTool({ name: 'route_explain', arguments: { prompt } });
    const structured = result.structuredContent as { estimatedPromptTokens: number };
    return { isError: result.isError === true, estimatedPromptTokens: structured.estimatedPromptTokens };
  };

  it('nothing priced and every window holds the prompt: the byte bound, no tokenizer; a priced model registered: counted', async () => {
    const { store, engineUrl } = fixture;
    await registerTestProvider(store, { id: 'local', class: 'local', wire: 'openai', baseUrl: `${engineUrl}/v1`, models: [{ id: 'small-model' }] });
    const prompt = 'summarise the meeting notes from Tuesday';
    const unpriced = await explain(prompt);
    expect(unpriced.isError).toBe(false);
    // The byte bound: the prompt's 40 bytes plus 10 %.
    expect(unpriced.estimatedPromptTokens).toBe(Math.ceil(Buffer.byteLength(prompt) * 1.1));
    expect(tokenCounterLoaded()).toBe(false);

    await registerTestProvider(store, fixture.pricedProvider());
    const priced = await explain(prompt);
    expect(priced.isError).toBe(false);
    expect(tokenCounterLoaded()).toBe(true);
    // The tokenizer's count (plus 10 %) is well under the byte bound for English.
    expect(priced.estimatedPromptTokens).toBeLessThan(unpriced.estimatedPromptTokens);
  });
});
