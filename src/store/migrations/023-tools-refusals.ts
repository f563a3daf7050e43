import type { Migration } from './index.js';

/**
 * `tools_refusals`: a provider:model whose engine refused a request's tools (llama-server without
 * `--jinja`, an Ollama model whose template has none), so every syndicate process on the store
 * routes requests with tools past it — requests without tools still go to it. Written when an
 * engine refuses tools, never per request; beside `health_holds` rather than in it, for it is no
 * hold of the model: a model may be refusing tools and rate-limited at once. Lifted as holds are:
 * any release of the provider or the model (`health_releases`) deletes its rows, and a process
 * ignores rows recorded at or before a release it has seen. `held_until` is a day after the
 * refusal, as the longest hold: rows past it are deleted by the next write, and a release older
 * than it (pruned) lifts nothing any more. `reason` is the engine's refusal as syndicate reported
 * it (`llama answered HTTP 500: tools param requires --jinja flag`); `base_url` the provider's
 * then: a provider re-registered elsewhere is tried again.
 */
export const toolsRefusalsMigration: Migration = {
  version: 23,
  name: 'tools-refusals',
  sql: `
CREATE TABLE tools_refusals (
  provider_id TEXT NOT NULL,
  model TEXT NOT NULL,
  reason TEXT NOT NULL,
  base_url TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  held_until TEXT NOT NULL
);
CREATE UNIQUE INDEX tools_refusals_target ON tools_refusals(provider_id, model);
`,
};
