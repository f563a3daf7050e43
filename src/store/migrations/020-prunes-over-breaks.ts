import type { Migration } from './index.js';

/**
 * `evidence_prunes.broken_json`: set when a prune deleted rows whose chain was broken (an edited
 * or missing row) because the operator told it to (`evidence prune --accept-break`): the break it
 * found (`ChainBreak`), so `evidence verify` keeps saying the deleted part had been tampered with
 * after the rows that showed it are gone. NULL for every other prune.
 */
export const prunesOverBreaksMigration: Migration = {
  version: 20,
  name: 'prunes-over-breaks',
  sql: `ALTER TABLE evidence_prunes ADD COLUMN broken_json TEXT;`,
};
