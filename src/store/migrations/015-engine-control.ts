import type { Migration } from './index.js';

/**
 * Engine control (`engine load|unload|start|stop`). `engine_events` takes the new kinds —
 * `unload` (with the reason, e.g. evicted for a higher-priority model), `start` and `stop` of an
 * engine process (model `''`) — and a free-text `detail`; SQLite cannot widen a CHECK in place,
 * so the table is copied. `engine_processes` holds each engine process syndicate started and
 * has not stopped: what `engine stop` may signal, and only that.
 */
export const engineControlMigration: Migration = {
  version: 15,
  name: 'engine-control',
  sql: `
CREATE TABLE engine_events_new (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  model TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('load', 'unload', 'start', 'stop')),
  duration_ms REAL,
  pid INTEGER NOT NULL,
  detail TEXT
);
INSERT INTO engine_events_new (id, created_at, provider_id, model, kind, duration_ms, pid)
  SELECT id, created_at, provider_id, model, kind, duration_ms, pid FROM engine_events;
DROP TABLE engine_events;
ALTER TABLE engine_events_new RENAME TO engine_events;
CREATE INDEX engine_events_created_at ON engine_events(created_at);
CREATE TABLE engine_processes (
  provider_id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  command_json TEXT NOT NULL,
  log_path TEXT NOT NULL,
  base_url TEXT NOT NULL
) WITHOUT ROWID;
`,
};
