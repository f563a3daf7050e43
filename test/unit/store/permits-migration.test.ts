/** Migration 6 merges the permit tables into one row per permit (WITHOUT ROWID) and keeps every permit and its use. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyRefusalError } from '../../../src/errors.js';
import { issuePermit, PermitKey, verifyPermit, type PermitInvocation } from '../../../src/permits/index.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';
import { registerFixtureProvider } from '../permits/provider-fixture.js';

describe('migration 6: one permit row', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-permits-migration-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('keeps issued and consumed permits: a used one stays used, an unused one can still be used once', async () => {
    const path = join(directory, 'store.db');
    const key = PermitKey.fromBytes(randomBytes(32));
    const before = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version <= 5) });
    const version = await registerFixtureProvider(before);
    const invocation: PermitInvocation = { providerId: 'local-engine', providerVersion: version, providerClass: 'local', model: 'llama3.2:3b', sensitivity: 'internal' };
    const scope = { providerId: 'local-engine', providerVersion: version, model: 'llama3.2:3b', maxSensitivity: 'internal' as const };
    // Tokens signed with the key, their rows written as a version-5 store held them.
    const signer = openStore(':memory:');
    await registerFixtureProvider(signer);
    const used = issuePermit(signer, key, scope);
    const unused = issuePermit(signer, key, scope);
    signer.close();
    const columns = 'permit_id, nonce, provider_id, provider_version, model, max_sensitivity, session_id, issued_at, expires_at, issued_by_pid';
    for (const { permit } of [used, unused]) {
      before.db
        .prepare(`INSERT INTO permits_issued (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(permit.id, permit.nonce, permit.provider, permit.providerVersion, permit.model, permit.maxSensitivity, null, new Date(permit.iat).toISOString(), new Date(permit.exp).toISOString(), 4242);
    }
    before.db.prepare('INSERT INTO permits_consumed (nonce, permit_id, consumed_at, consumed_by_pid) VALUES (?, ?, ?, ?)').run(used.permit.nonce, used.permit.id, new Date().toISOString(), 4242);
    expect((before.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'permits_consumed'").get() as { sql: string }).sql).toMatch(/nonce TEXT PRIMARY KEY/);
    before.close();

    const after = openStore(path);
    try {
      const { sql } = after.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'permits'").get() as { sql: string };
      expect(sql).toMatch(/permit_id TEXT PRIMARY KEY/);
      expect(sql).toMatch(/WITHOUT ROWID/);
      expect(after.db.prepare("SELECT name FROM sqlite_master WHERE name IN ('permits_issued', 'permits_consumed')").all()).toEqual([]);
      // One b-tree: no index besides the primary key of the WITHOUT ROWID table.
      expect(after.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'permits'").all()).toEqual([]);
      const row = after.db.prepare('SELECT consumed_at IS NOT NULL AS used, consumed_by_pid FROM permits WHERE permit_id = ?');
      expect(row.get(used.permit.id)).toEqual({ used: 1, consumed_by_pid: 4242 });
      expect(row.get(unused.permit.id)).toEqual({ used: 0, consumed_by_pid: null });

      const replay = (() => {
        try {
          verifyPermit(after, key, used.token, invocation);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(replay).toBeInstanceOf(PolicyRefusalError);
      expect((replay as PolicyRefusalError).code).toBe('permit_replayed');
      expect((replay as PolicyRefusalError).message).toMatch(/already used at .* by process 4242/);

      expect(verifyPermit(after, key, unused.token, invocation).provider.id).toBe('local-engine');
      expect(() => verifyPermit(after, key, unused.token, invocation)).toThrow(/already used/);
    } finally {
      after.close();
    }
  });
});
