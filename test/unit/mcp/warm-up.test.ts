import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMcpServer } from '../../../src/mcp/server.js';
import { classifierLoaded } from '../../../src/router/route-request.js';
import { warmUpFixture, type WarmUpFixture } from '../gateway/warm-up-fixture.js';

/** `syndicate mcp` warms up before connecting its transport: the first tool call does not load the classifier. */
describe('createMcpServer: warmUp', () => {
  let fixture: WarmUpFixture;

  beforeEach(async () => {
    fixture = await warmUpFixture('syndicate-mcp-warm-up-');
  });
  afterEach(() => fixture.close());

  it('loads the classifier and fetch before the first tool call, and writes no evidence', async () => {
    const mcp = createMcpServer({ home: fixture.home, store: fixture.store, version: '0.0.0-test' });
    expect(classifierLoaded()).toBe(false);
    expect(await mcp.warmUp()).toMatchObject({ classifier: true, tokenizer: false, httpClient: true });
    expect(classifierLoaded()).toBe(true);
    expect(fixture.recorded().evidence).toBe(0);
    await mcp.drain();
  });
});
