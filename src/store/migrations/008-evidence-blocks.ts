import type { Migration } from './index.js';

/**
 * Large request bodies stored once per distinct block. Coding agents resend their whole
 * conversation on every turn, so consecutive request bodies share all but their last few
 * kilobytes; a request chunk of 64 KiB or more is cut into content-defined blocks
 * (src/evidence/blocks.ts), each stored once in `evidence_blocks` under its SHA-256, and its
 * `evidence_chunks` row keeps the block ids in order (`block_ids`, comma-separated) with empty
 * `bytes`. Readers reassemble the exact bytes; the hash chain covers the reassembled bytes, as
 * before, so an edited or deleted block breaks the link of every envelope that uses it.
 */
export const evidenceBlocksMigration: Migration = {
  version: 8,
  name: 'evidence-blocks',
  sql: `
CREATE TABLE evidence_blocks (
  block_id INTEGER PRIMARY KEY,
  sha256 BLOB NOT NULL,
  bytes BLOB NOT NULL
);
CREATE UNIQUE INDEX evidence_blocks_sha256 ON evidence_blocks(sha256);
ALTER TABLE evidence_chunks ADD COLUMN block_ids TEXT;
`,
};
