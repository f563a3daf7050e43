import type { Migration } from './index.js';

/**
 * `engine_processes.start_ticks`: when the kernel started the recorded process (field 22 of
 * `/proc/PID/stat`, clock ticks since boot). Together with the pid it names one process for good:
 * a pid the system reused for another program has another start time, and an engine started
 * through a wrapper that `exec`s it keeps its own. NULL where there is no `/proc` (macOS) and for
 * rows written before this migration.
 */
export const engineProcessIdentityMigration: Migration = {
  version: 16,
  name: 'engine-process-identity',
  sql: `ALTER TABLE engine_processes ADD COLUMN start_ticks INTEGER;`,
};
