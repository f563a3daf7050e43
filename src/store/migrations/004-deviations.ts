import type { Migration } from './index.js';

/**
 * Capability deviations discovered at run time (by `provider test` / `provider capabilities`
 * or during an ordinary invocation), each linked to the evidence row that shows it. A row is
 * kept even when the provider record was not updated (`--no-update`), so CI runs leave an audit
 * trail; `recorded_version` names the provider version that added the deviation, when one did.
 */
export const deviationsMigration: Migration = {
  version: 4,
  name: 'deviations',
  sql: `
CREATE TABLE deviation_discoveries (
  id TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL,
  observed_version INTEGER NOT NULL,
  model TEXT,
  deviation TEXT NOT NULL,
  source TEXT NOT NULL,
  evidence_id TEXT,
  detail TEXT NOT NULL,
  recorded_version INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX deviation_discoveries_provider ON deviation_discoveries(provider_id, created_at);
`,
};
