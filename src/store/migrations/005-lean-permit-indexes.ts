import type { Migration } from './index.js';

/**
 * Drops two permit indexes no query reads: every issued and every consumed permit wrote a page
 * of each inside the commit that precedes the upstream call (see bench/gateway). Expired permits
 * are found by scanning, which only an audit does; consumption is looked up by nonce (the
 * primary key) and issue by permit id (the primary key).
 */
export const leanPermitIndexesMigration: Migration = {
  version: 5,
  name: 'lean-permit-indexes',
  sql: `
DROP INDEX IF EXISTS permits_issued_expires_at;
DROP INDEX IF EXISTS permits_consumed_permit_id;
`,
};
