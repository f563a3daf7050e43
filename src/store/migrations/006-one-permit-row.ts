import type { Migration } from './index.js';

/**
 * One row per permit, keyed by its time-ordered id, in a WITHOUT ROWID table: issuing inserts
 * it, consuming sets `consumed_at` once.
 *
 * Before, a permit wrote five b-trees in the commit that precedes its upstream call (the issued
 * table, its primary-key index and its nonce index; the consumed table and its nonce primary
 * key), two of them keyed by the random nonce, so every permit dirtied random pages a group
 * commit cannot share. Now the gateway's permit is one row appended at the right edge of one
 * b-tree keyed by `pmt_<time><random>`, issued and consumed in the same INSERT.
 *
 * Single use is unchanged: consuming is one `UPDATE ... WHERE permit_id = ? AND nonce = ? AND
 * consumed_at IS NULL` inside an IMMEDIATE transaction, and exactly one caller sees it change
 * the row, across processes.
 */
export const onePermitRowMigration: Migration = {
  version: 6,
  name: 'one-permit-row',
  sql: `
CREATE TABLE permits (
  permit_id TEXT PRIMARY KEY,
  nonce TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  provider_version INTEGER NOT NULL,
  model TEXT NOT NULL,
  max_sensitivity TEXT NOT NULL,
  session_id TEXT,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  issued_by_pid INTEGER NOT NULL,
  consumed_at TEXT,
  consumed_by_pid INTEGER
) WITHOUT ROWID;
INSERT INTO permits
  SELECT issued.permit_id, issued.nonce, issued.provider_id, issued.provider_version, issued.model, issued.max_sensitivity,
         issued.session_id, issued.issued_at, issued.expires_at, issued.issued_by_pid, consumed.consumed_at, consumed.consumed_by_pid
  FROM permits_issued AS issued LEFT JOIN permits_consumed AS consumed ON consumed.nonce = issued.nonce;
DROP TABLE permits_issued;
DROP TABLE permits_consumed;
`,
};
