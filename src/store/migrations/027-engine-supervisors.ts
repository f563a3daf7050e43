import type { Migration } from './index.js';

/**
 * `engine_processes.supervisor_pid` and `supervisor_start_ticks`: the syndicate process that
 * started the engine to stop it when it ends itself (`serve --start-engines`), and when the kernel
 * started that process (as `start_ticks` for the engine: a pid the system reused names another
 * process). A gateway killed outright (SIGKILL, an OOM kill) cannot stop its engines; the next
 * `serve --start-engines` finds their supervisor gone and takes them over, to stop them when it
 * ends. Both NULL for an engine `engine start` started (it runs until `engine stop`), and for every
 * row written before this migration, whose starter is unknown.
 */
export const engineSupervisorsMigration: Migration = {
  version: 27,
  name: 'engine-supervisors',
  sql: `
ALTER TABLE engine_processes ADD COLUMN supervisor_pid INTEGER;
ALTER TABLE engine_processes ADD COLUMN supervisor_start_ticks INTEGER;
`,
};
