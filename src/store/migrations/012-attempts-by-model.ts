import type { Migration } from './index.js';

/**
 * The attempts of each provider and model that made a call, newest last: answers (local and
 * hosted) and failed calls. The router reads the newest of each model the command may route to,
 * once per `run` or `route` (src/router/first-tokens.ts: the expected first token for `prefer:
 * fastest`), and the cold-start estimate reads a local model's answers
 * (src/router/cold-starts.ts). Replaces migration 10's index of local answers, which it contains,
 * so a local answer still writes one index entry. Partial: pending rows, denials, probes and
 * attempts skipped before any call (no permit: a key not set) never enter it. A query must repeat
 * these terms for the planner to use it.
 */
export const attemptsByModelMigration: Migration = {
  version: 12,
  name: 'attempts-by-model',
  sql: `
DROP INDEX evidence_answers_by_model;
CREATE INDEX evidence_attempts_by_model ON evidence(provider_id, model, created_at) WHERE kind = 'invocation' AND state IN ('completed', 'failed') AND permit_id IS NOT NULL;
`,
};
