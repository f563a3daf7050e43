/** Migration 027 (`engine_processes.supervisor_pid`, `supervisor_start_ticks`) upgrades a v26 store in place, its engines kept. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { managedProcess } from '../../../src/engines/processes.js';
import { MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openStore } from '../../../src/store/store.js';

describe('migration 027 keeps the engines of a v26 store', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-engine-supervisors-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('an engine recorded before it has no supervisor (it runs until engine stop); one recorded after it names its own', () => {
    const path = join(directory, 'store.db');
    const before = openStore(path, { migrations: MIGRATIONS.filter((migration) => migration.version < 27) });
    before.db
      .prepare('INSERT INTO engine_processes (provider_id, pid, started_at, command_json, log_path, base_url, start_ticks) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run('llama', 4242, '2026-03-02T10:00:00.000Z', '["llama-server","-m","m.gguf"]', '/tmp/llama.log', 'http://127.0.0.1:8080/v1', 777);
    expect(before.appliedMigrations()).not.toContain(27);
    before.close();

    const store = openStore(path);
    try {
      expect(store.appliedMigrations()).toContain(27);
      expect(managedProcess(store, 'llama')).toEqual({
        providerId: 'llama',
        pid: 4242,
        startedAt: '2026-03-02T10:00:00.000Z',
        command: ['llama-server', '-m', 'm.gguf'],
        logPath: '/tmp/llama.log',
        baseUrl: 'http://127.0.0.1:8080/v1',
        startTicks: 777,
      });
      store.db.prepare("UPDATE engine_processes SET supervisor_pid = 99, supervisor_start_ticks = 5 WHERE provider_id = 'llama'").run();
      expect(managedProcess(store, 'llama')?.supervisor).toEqual({ pid: 99, startTicks: 5 });
    } finally {
      store.close();
    }
  });
});
