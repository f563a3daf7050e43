import type { Migration } from './index.js';

/**
 * The envelopes that cost something, by time, with their cost: the day's spend for the per-day
 * ceiling is a range of this index (src/evidence/queries.ts `spentSince`), read by every
 * `syndicate run` with a priced candidate and once a day by the gateway, instead of every envelope
 * of the day. Partial: only rows with a cost enter it (priced hosted answers), so local traffic
 * writes nothing more.
 */
export const pricedAnswersMigration: Migration = {
  version: 11,
  name: 'priced-answers',
  sql: `
CREATE INDEX evidence_priced ON evidence(created_at, cost_usd) WHERE cost_usd IS NOT NULL;
`,
};
