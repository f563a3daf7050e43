import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type StartedGateway } from '../../../src/gateway/server.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { seedCompleted } from '../evidence/seed.js';

const DAY = 24 * 3600 * 1000;

/**
 * The gateway's evidence retention follows policy edits, but an edit that leaves the file invalid
 * (half-written, a typo) deletes nothing: requests fail closed to local providers, and deletion,
 * which cannot be undone, fails closed to keeping everything.
 */
describe('startGateway: evidence retention and an invalid policy file', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let home: HomePaths;
  let store: Store;
  let gateway: StartedGateway | undefined;
  const outcomes: string[] = [];

  const writePolicy = (text: string): void => writeFileSync(home.policyPath, `apiVersion: syndicate/v1\nkind: Policy\n${text}\n`, { mode: 0o600 });
  const count = (): number => store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get() as number;

  beforeEach(() => {
    temporary = makeTempHome('syndicate-gateway-retention-');
    home = resolveHome({ home: temporary.home });
    initializeHome(home);
    store = openStore(home.storePath);
    outcomes.length = 0;
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    store.close();
    temporary.cleanup();
  });

  it('skips the run while the file is invalid (the last valid retention is not applied), and applies the fixed one', async () => {
    writePolicy('evidence:\n  retentionDays: 45');
    seedCompleted(store, { now: Date.now() - 40 * DAY });
    seedCompleted(store, { now: Date.now() - 33 * DAY });
    seedCompleted(store, { now: Date.now() - DAY });
    gateway = await startGateway({
      home,
      store,
      host: '127.0.0.1',
      port: 0,
      onRetention: (outcome) => outcomes.push('error' in outcome ? `error ${outcome.error.message}` : 'heldBack' in outcome ? `held back (${outcome.retentionDays} days)` : `pruned ${outcome.result.envelopes}`),
    });
    await gateway.retention.runNow();
    expect(outcomes).toEqual([]);
    expect(count()).toBe(3);

    // Lowered to 35 days, then, before the daily run, the operator raises it to keep everything
    // and the run finds the file half-written.
    writePolicy('evidence:\n  retentionDays: 35');
    gateway.policy.checkNow();
    writeFileSync(home.policyPath, 'apiVersion: syndicate/v1\nkind: Policy\nevidence:\n  retentionDays: 3650\n  ret', { mode: 0o600 });
    gateway.policy.checkNow();
    expect(gateway.policy.current().failure).toBeDefined();
    await gateway.retention.runNow();
    expect(outcomes).toEqual(['held back (35 days)']);
    expect(count()).toBe(3);

    writePolicy('evidence:\n  retentionDays: 30');
    gateway.policy.checkNow();
    await gateway.retention.runNow();
    expect(outcomes).toEqual(['held back (35 days)', 'pruned 2']);
    expect(count()).toBe(1);
  });
});
