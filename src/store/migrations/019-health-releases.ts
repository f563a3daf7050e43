import type { Migration } from './index.js';

/**
 * `health_releases`: holds lifted before their time — by hand (`provider release`, scope
 * `every`), by a call that answered since (`provider test`, scope `down`), or by an engine that
 * answers again (`engine start`, scope `unreachable`). One row per target (a provider's own hold,
 * `model` NULL, or one provider:model) and scope, with the time of its latest release: every
 * process ignores its own holds of that target begun at or before then, in memory as in
 * `health_holds` (whose rows the release deletes). The table never holds more than three rows
 * per target, and each release deletes the rows older than the longest hold (a day).
 */
export const healthReleasesMigration: Migration = {
  version: 19,
  name: 'health-releases',
  sql: `
CREATE TABLE health_releases (
  provider_id TEXT NOT NULL,
  model TEXT,
  scope TEXT NOT NULL CHECK (scope IN ('every', 'down', 'unreachable')),
  released_at TEXT NOT NULL
);
CREATE UNIQUE INDEX health_releases_target ON health_releases(provider_id, ifnull(model, ''), scope);
`,
};
