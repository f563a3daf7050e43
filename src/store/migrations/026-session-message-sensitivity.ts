import type { Migration } from './index.js';

/**
 * The level a stored session's user turn was marked with by its caller (`run --sensitivity`, the
 * MCP `complete` tool's `sensitivity`), which the content alone may not show: every later request
 * that carries the turn (`run --session`, `complete`, `route_explain`, the check of a `provider
 * switch`) is at least that level. NULL for a turn sent without a mark — and for every message
 * stored before this migration, whose link is hashed as before, so no chain changes.
 */
export const sessionMessageSensitivityMigration: Migration = {
  version: 26,
  name: 'session-message-sensitivity',
  sql: `
ALTER TABLE session_messages ADD COLUMN sensitivity TEXT CHECK (sensitivity IS NULL OR sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
`,
};
