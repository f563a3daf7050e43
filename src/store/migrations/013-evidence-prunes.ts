import type { Migration } from './index.js';

/**
 * Retention (`evidence prune`): one row per prune command. Every chained envelope up to
 * `through_seq` was deleted with its bytes; `through_hash` is the hash of that last deleted link —
 * the `prev_hash` the first kept row must carry — so `evidence verify` goes on proving the rest of
 * the chain from there. Rows are only ever added.
 */
export const evidencePrunesMigration: Migration = {
  version: 13,
  name: 'evidence-prunes',
  sql: `
CREATE TABLE evidence_prunes (
  id INTEGER PRIMARY KEY,
  pruned_at TEXT NOT NULL,
  older_than TEXT NOT NULL,
  through_seq INTEGER NOT NULL,
  through_hash TEXT NOT NULL,
  envelopes INTEGER NOT NULL,
  pid INTEGER NOT NULL
);
`,
};
