import type { Migration } from './index.js';

/**
 * Sessions (DESIGN "Session"): a conversation, its messages, its active provider:model and its
 * capability envelope.
 *
 * - `sessions.provider_id`/`model` are the active model; both NULL means `auto` (routed per turn).
 *   `envelope_invalidated_at` is set when a switch moved the session above the envelope's approved
 *   maximum, and cleared by the next checkpoint.
 * - `session_messages` are only ever added; compaction marks the messages it drops
 *   (`dropped_by_switch`) instead of deleting them, so `session show` can say what was dropped.
 *   `turn` groups a user message with the answer appended with it.
 * - `session_checkpoints`: approvals of the envelope; the newest one is the approved maximum.
 * - `session_switches`: every `provider switch`, with the turns compaction dropped.
 */
export const sessionsMigration: Migration = {
  version: 14,
  name: 'sessions',
  sql: `
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  name TEXT,
  system_prompt TEXT,
  provider_id TEXT,
  model TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  envelope_invalidated_at TEXT,
  envelope_invalidated_reason TEXT,
  CHECK ((provider_id IS NULL) = (model IS NULL))
);
CREATE UNIQUE INDEX sessions_name ON sessions(name) WHERE name IS NOT NULL;
CREATE TABLE session_switches (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  from_provider_id TEXT,
  from_model TEXT,
  to_provider_id TEXT NOT NULL,
  to_model TEXT NOT NULL,
  to_capability_class TEXT NOT NULL,
  to_context_window INTEGER NOT NULL,
  dropped_turns TEXT NOT NULL,
  invalidated_envelope INTEGER NOT NULL,
  switched_at TEXT NOT NULL
);
CREATE INDEX session_switches_session ON session_switches(session_id, id);
CREATE TABLE session_messages (
  session_id TEXT NOT NULL REFERENCES sessions(id),
  seq INTEGER NOT NULL,
  turn INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text TEXT NOT NULL,
  provider_id TEXT,
  model TEXT,
  evidence_id TEXT,
  created_at TEXT NOT NULL,
  dropped_by_switch INTEGER REFERENCES session_switches(id),
  PRIMARY KEY (session_id, seq)
);
CREATE TABLE session_checkpoints (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  max_capability TEXT NOT NULL CHECK (max_capability IN ('small', 'medium', 'large', 'frontier')),
  reason TEXT NOT NULL,
  approved_at TEXT NOT NULL
);
CREATE INDEX session_checkpoints_session ON session_checkpoints(session_id, id);
`,
};
