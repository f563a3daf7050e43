import type { Store } from '../store/store.js';

/** A model a local engine loaded, and how long the load took (a cold start). */
export interface ModelLoad {
  providerId: string;
  model: string;
  loadMs: number;
  /** Defaults to `Date.now()`. */
  at?: number;
}

/** Records a model load for `syndicate metrics` (load times per provider and model). */
export function recordModelLoad(store: Store, load: ModelLoad): void {
  store.transaction(() =>
    store
      .statement('INSERT INTO engine_events (created_at, provider_id, model, kind, duration_ms, pid) VALUES (?, ?, ?, ?, ?, ?)')
      .run(new Date(load.at ?? Date.now()).toISOString(), load.providerId, load.model, 'load', load.loadMs, process.pid),
  );
}
