import type { Migration } from './index.js';

/**
 * `health_holds`: what a syndicate process holds out of routes after a failed call — a provider
 * (`model` NULL) or one provider:model, `down` or `rate_limited` — until `held_until`, so every
 * process on the store (the gateway, each `run`, `doctor`) honours it. Written only when a hold
 * starts, lengthens or clears, never per request; rows past `held_until` mean nothing and are
 * deleted by the next write. `base_url` is the provider's at the time: a provider re-registered
 * elsewhere is not held. `reason` is syndicate's own summary (status, code), never upstream text.
 * `holder` names the process (and monitor) that wrote the row: a process clears only its own.
 */
export const healthHoldsMigration: Migration = {
  version: 17,
  name: 'health-holds',
  sql: `
CREATE TABLE health_holds (
  provider_id TEXT NOT NULL,
  model TEXT,
  state TEXT NOT NULL CHECK (state IN ('down', 'rate_limited')),
  cause TEXT,
  held_until TEXT NOT NULL,
  reason TEXT NOT NULL,
  base_url TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  holder TEXT NOT NULL
);
CREATE UNIQUE INDEX health_holds_target ON health_holds(provider_id, ifnull(model, ''));
`,
};
