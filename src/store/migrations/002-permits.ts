import type { Migration } from './index.js';

export const permitsMigration: Migration = {
  version: 2,
  name: 'permits',
  sql: `
CREATE TABLE permits_issued (
  permit_id TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL,
  provider_version INTEGER NOT NULL,
  model TEXT NOT NULL,
  max_sensitivity TEXT NOT NULL,
  session_id TEXT,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE permits_consumed (
  nonce TEXT PRIMARY KEY,
  permit_id TEXT NOT NULL,
  consumed_at TEXT NOT NULL,
  consumed_by_pid INTEGER NOT NULL
);
`,
};
