import type { Migration } from './index.js';

/**
 * `engine_events.outcome`: `ok`, or the error code of a load or unload the engine did not carry
 * out (`engine_error`, `engine_timeout`, ...), so `/metrics` counts failed operations beside the
 * rest. Rows written before it were all successes. Load times and cold-start estimates read only
 * `ok` rows.
 */
export const engineEventOutcomesMigration: Migration = {
  version: 18,
  name: 'engine-event-outcomes',
  sql: `ALTER TABLE engine_events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';`,
};
