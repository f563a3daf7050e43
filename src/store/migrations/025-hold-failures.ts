import type { Migration } from './index.js';

/**
 * What a shared hold's hint needs of the failure that began it (`health_holds`), so that every
 * process on the store prints the hint the process that saw it would: `status`, the upstream's
 * HTTP status of the last failed call when it answered (a 401 or 403: the key its record names),
 * and `connection_reset` (1) when that call's connection was reset instead. Both NULL for a hold
 * whose failure said neither — and for every row written before this migration, which keeps the
 * generic hint it had.
 */
export const holdFailuresMigration: Migration = {
  version: 25,
  name: 'hold-failures',
  sql: `
ALTER TABLE health_holds ADD COLUMN status INTEGER;
ALTER TABLE health_holds ADD COLUMN connection_reset INTEGER CHECK (connection_reset IS NULL OR connection_reset = 1);
`,
};
