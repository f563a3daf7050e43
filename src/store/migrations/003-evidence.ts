import type { Migration } from './index.js';

/**
 * Evidence envelopes (see src/evidence/). One `evidence` row per invocation attempt, probe or
 * denial, holding everything but the bytes; the bytes live in `evidence_chunks`, written once and
 * never rewritten: seq 0 is the request body (inserted with the pending row, before the upstream
 * call), seq 1.. the response chunks as they arrive (with their arrival time). Finishing a row
 * updates only its small columns, so no blob is copied twice. A chunk's key is
 * `row_key * 2^24 + seq`, so an envelope's chunks are one contiguous key range of the table's own
 * b-tree: no second index to write per chunk, and reading them is a range scan. `row_key` is an
 * explicit INTEGER PRIMARY KEY so that VACUUM cannot renumber it, and is never reused (see
 * src/evidence/statements.ts). The hash chain covers the row and
 * its chunks; its newest link is mirrored in `evidence_chain_head` so deleting the newest row is
 * detected. Column declared types matter: the chain hashes values as SQLite returns them.
 * Indexes are few on purpose: every index page an envelope touches is one more WAL frame per
 * commit (see bench/evidence.js). Pending rows and chain links have partial indexes; filters by
 * provider or state walk the created_at index.
 */
export const evidenceMigration: Migration = {
  version: 3,
  name: 'evidence',
  sql: `
CREATE TABLE evidence (
  row_key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  chain_seq INTEGER,
  request_id TEXT NOT NULL,
  hop INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  pid INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  finished_at TEXT,
  provider_id TEXT,
  provider_version INTEGER,
  provider_class TEXT,
  model TEXT,
  permit_id TEXT,
  permit_json TEXT,
  permit_token TEXT,
  session_id TEXT,
  caller TEXT NOT NULL,
  sensitivity TEXT,
  route_json TEXT,
  streamed INTEGER NOT NULL DEFAULT 0,
  request_method TEXT,
  request_url TEXT,
  request_headers_json TEXT,
  request_started_at TEXT,
  response_status INTEGER,
  response_headers_json TEXT,
  response_started_ms REAL,
  response_ended_ms REAL,
  response_complete INTEGER,
  first_token_ms REAL,
  total_ms REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost_usd REAL,
  token_accounting TEXT,
  verbatim_capture TEXT,
  tool_call_fidelity TEXT,
  markers_json TEXT,
  warnings_json TEXT,
  error_json TEXT,
  prev_hash TEXT,
  hash TEXT
);
CREATE UNIQUE INDEX evidence_chain_seq ON evidence(chain_seq) WHERE chain_seq IS NOT NULL;
CREATE INDEX evidence_created_at ON evidence(created_at);
CREATE INDEX evidence_pending ON evidence(pid) WHERE state = 'pending';

CREATE TABLE evidence_chunks (
  key INTEGER PRIMARY KEY,
  evidence_id TEXT NOT NULL,
  at_ms REAL,
  bytes BLOB NOT NULL,
  seq INTEGER GENERATED ALWAYS AS (key & 16777215) VIRTUAL
);

CREATE TABLE evidence_chain_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
`,
};
