import type { Migration } from './index.js';

/**
 * The answers of each local provider and model, newest last. The router's cold-start estimate
 * (src/router/cold-starts.ts, local engines only) reads the newest answers of one model on the
 * request path; without this index it walked every envelope of the last 14 days to find them
 * (~70–150 ms on a store of 100 000 envelopes for a model with few answers, once a minute per cold
 * model). Partial: a local answer enters it when its row is finished as completed; hosted answers,
 * failures and denials never do.
 */
export const answersByModelMigration: Migration = {
  version: 10,
  name: 'answers-by-model',
  sql: `
CREATE INDEX evidence_answers_by_model ON evidence(provider_id, model, created_at) WHERE kind = 'invocation' AND state = 'completed' AND provider_class = 'local';
`,
};
