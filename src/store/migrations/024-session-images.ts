import type { Migration } from './index.js';

/**
 * Images kept with a stored session's user turns (`run --session S --image x.png`, MCP `complete`
 * with `images` and a session), so later turns send them again.
 *
 * - `session_messages.images`: the turn's images as JSON, `[{"sha256","mediaType","size"}]` in the
 *   order they were sent (before the prompt); NULL for a message without any — every message
 *   stored before this migration — whose link is hashed as before, so no chain changes.
 * - `session_images`: each image's bytes, once per distinct SHA-256 (hex) across sessions. Not
 *   `evidence_blocks`: those are content-defined cuts of large request bodies, not whole images,
 *   and `evidence prune` deletes them with the evidence, while a session keeps its images until
 *   `session delete` removes those no other message names.
 */
export const sessionImagesMigration: Migration = {
  version: 24,
  name: 'session-images',
  sql: `
ALTER TABLE session_messages ADD COLUMN images TEXT;
CREATE TABLE session_images (
  sha256 TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
);
`,
};
