import type { Migration } from './index.js';

export const evidenceMigration: Migration = {
  version: 3,
  name: 'evidence',
  sql: `
CREATE TABLE evidence (
  id TEXT PRIMARY KEY,
  chain_seq INTEGER UNIQUE,
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
  session_id TEXT,
  caller TEXT,
  sensitivity TEXT,
  route_json TEXT,
  request_method TEXT,
  request_url TEXT,
  request_headers_json TEXT,
  request_body BLOB,
  response_status INTEGER,
  response_headers_json TEXT,
  response_body BLOB,
  response_chunks_json TEXT,
  streamed INTEGER NOT NULL DEFAULT 0,
  first_token_ms REAL,
  total_ms REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost_usd REAL,
  fidelity_json TEXT,
  markers_json TEXT,
  warnings_json TEXT,
  error_json TEXT,
  prev_hash TEXT,
  hash TEXT
);
CREATE INDEX evidence_created_at ON evidence(created_at);
CREATE INDEX evidence_request_id ON evidence(request_id);
CREATE INDEX evidence_state ON evidence(state);
`,
};
