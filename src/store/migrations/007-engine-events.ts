import type { Migration } from './index.js';

/**
 * What local engines did that is not an invocation: for now a model load (cold start) and how
 * long it took, written by `syndicate engine serve --register` once its model is loaded, and read
 * by `syndicate metrics` (load times per provider and model).
 */
export const engineEventsMigration: Migration = {
  version: 7,
  name: 'engine-events',
  sql: `
CREATE TABLE engine_events (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  model TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('load')),
  duration_ms REAL,
  pid INTEGER NOT NULL
);
CREATE INDEX engine_events_created_at ON engine_events(created_at);
`,
};
