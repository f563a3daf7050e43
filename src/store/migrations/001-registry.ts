import type { Migration } from './index.js';

export const registryMigration: Migration = {
  version: 1,
  name: 'registry',
  sql: `
CREATE TABLE providers (
  id TEXT PRIMARY KEY,
  current_version INTEGER NOT NULL,
  retired_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE provider_versions (
  provider_id TEXT NOT NULL REFERENCES providers(id),
  version INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  record_json TEXT NOT NULL,
  source_path TEXT,
  reason TEXT NOT NULL,
  changes_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (provider_id, version)
);
`,
};
