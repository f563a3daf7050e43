import { chainStoredPrunes } from '../../evidence/prune-links.js';
import type { Migration } from './index.js';

/**
 * Hash-chains the prune records (`evidence_prunes`, src/evidence/prune-links.ts): `prev_hash` and
 * `hash` on every record, each linking to the one before it in `id` order, so `evidence verify`
 * catches a record whose date, cut-off, link or count was edited, one inserted (a faked prune: the
 * oldest rows deleted and a matching record written) or one deleted. The records already stored are
 * chained as they are: an edit made to one before this migration cannot be told from the original.
 */
export const pruneLinksMigration: Migration = {
  version: 28,
  name: 'prune-links',
  sql: `
ALTER TABLE evidence_prunes ADD COLUMN prev_hash TEXT;
ALTER TABLE evidence_prunes ADD COLUMN hash TEXT;
`,
  backfill: chainStoredPrunes,
};
