import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenCounterLoaded } from '../../../src/evidence/token-counter.js';
import type { RegistryWarmUpReport } from '../../../src/invoke/warm-up.js';
import { createMcpServer } from '../../../src/mcp/server.js';
import { warmUpFixture, type WarmUpFixture } from '../gateway/warm-up-fixture.js';

/**
 * `syndicate mcp` follows the registry as the gateway does: a priced model registered by another
 * process while it runs has the tokenizer loaded in the background, not by the next `complete`.
 * Its own file: whether the tokenizer is loaded is per process.
 */
describe('createMcpServer: followRegistry', () => {
  let fixture: WarmUpFixture;

  beforeEach(async () => {
    fixture = await warmUpFixture('syndicate-mcp-registry-warm-up-');
  });
  afterEach(() => fixture.close());

  it('loads the tokenizer once another process registers a priced model, with no tool call, probe or record', async () => {
    const { home, store } = fixture;
    const mcp = createMcpServer({ home, store, version: '0.0.0-test' });
    const loaded = new Promise<RegistryWarmUpReport>((resolve) => {
      const follower = mcp.followRegistry((report) => {
        if (report.tokenizer) void follower.stop().then(() => resolve(report));
      });
    });
    expect(await mcp.warmUp()).toMatchObject({ tokenizer: false });
    expect(tokenCounterLoaded()).toBe(false);

    await fixture.registerElsewhere(fixture.pricedProvider());
    expect(await loaded).toMatchObject({ tokenizer: true });
    expect(tokenCounterLoaded()).toBe(true);
    expect(fixture.engineRequests()).toBe(0);
    expect(fixture.recorded()).toEqual({ evidence: 0, permits: 0 });
    await mcp.drain();
  });
});
