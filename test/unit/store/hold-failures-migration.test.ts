/** Migration 025 (`health_holds.status`, `connection_reset`) upgrades a v24 store in place, its holds kept. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { callFailureOf, HealthMonitor } from '../../../src/router/health.js';
import { storeHoldBook } from '../../../src/router/shared-holds.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';
import { provider } from '../router/fixtures.js';

const hosted = provider({ id: 'hosted', class: 'approved_hosted', baseUrl: 'https://api.example.com/v1', models: [{ id: 'gpt-4o-mini' }] });
const other = provider({ id: 'other', class: 'approved_hosted', baseUrl: 'https://api.other.example/v1', models: [{ id: 'gpt-4o-mini' }] });

describe('migration 025 keeps the holds of a v24 store', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-hold-failures-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('a hold recorded before it is honoured as before (no status: the generic hint); one recorded after it carries its status', () => {
    const path = join(directory, 'store.db');
    const clock = Date.parse('2026-03-02T10:00:00.000Z');
    const before = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version < 25) });
    before.db
      .prepare('INSERT INTO health_holds (provider_id, model, state, cause, held_until, reason, base_url, recorded_at, holder) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)')
      .run('hosted', 'down', 'failing', '2026-03-02T10:00:30.000Z', '3 calls in a row failed; the last: hosted answered HTTP 401 (upstream_http_error)', hosted.record.baseUrl, '2026-03-02T10:00:00.000Z', '1/monitor_old');
    expect(before.appliedMigrations()).not.toContain(25);
    before.close();

    const store = openStore(path);
    try {
      expect(store.appliedMigrations()).toContain(25);
      expect(store.db.prepare('SELECT provider_id, cause, status, connection_reset FROM health_holds').all()).toEqual([{ provider_id: 'hosted', cause: 'failing', status: null, connection_reset: null }]);
      const now = (): number => clock + 1000;
      const monitor = new HealthMonitor({ now, holdBook: storeHoldBook(store, now) });
      const held = monitor.known(hosted);
      expect(held).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 29_000 });
      expect(held).not.toHaveProperty('status');
      expect(held).not.toHaveProperty('connectionReset');

      const refused = callFailureOf(new UpstreamError('other answered HTTP 403', { code: 'upstream_http_error', status: 403 }), 403, 'approved_hosted');
      for (let call = 0; call < 3; call += 1) monitor.reportFailure(other, refused, 'gpt-4o-mini');
      expect(store.db.prepare("SELECT status, connection_reset FROM health_holds WHERE provider_id = 'other'").get()).toEqual({ status: 403, connection_reset: null });
      expect(() => store.db.prepare("UPDATE health_holds SET connection_reset = 2 WHERE provider_id = 'other'").run()).toThrow(/CHECK/);
    } finally {
      store.close();
    }
  });
});
