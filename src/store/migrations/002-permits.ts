import type { Migration } from './index.js';

/**
 * Permits: every issued permit (for audit and to refuse tokens this store never issued) and
 * every consumed nonce. The PRIMARY KEY on `permits_consumed.nonce` is what makes a permit
 * single-use across processes: consuming is one INSERT inside an IMMEDIATE transaction.
 */
export const permitsMigration: Migration = {
  version: 2,
  name: 'permits',
  sql: `
CREATE TABLE permits_issued (
  permit_id TEXT PRIMARY KEY,
  nonce TEXT NOT NULL UNIQUE,
  provider_id TEXT NOT NULL,
  provider_version INTEGER NOT NULL,
  model TEXT NOT NULL,
  max_sensitivity TEXT NOT NULL,
  session_id TEXT,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  issued_by_pid INTEGER NOT NULL
);
CREATE INDEX permits_issued_expires_at ON permits_issued(expires_at);
CREATE TABLE permits_consumed (
  nonce TEXT PRIMARY KEY,
  permit_id TEXT NOT NULL,
  consumed_at TEXT NOT NULL,
  consumed_by_pid INTEGER NOT NULL
);
CREATE INDEX permits_consumed_permit_id ON permits_consumed(permit_id);
`,
};
