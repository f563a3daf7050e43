import type { Store } from '../store/store.js';

/** What happened to a local engine that is not an invocation (migration 015 lists the kinds). */
export type EngineEventKind = 'load' | 'unload' | 'start' | 'stop';

export interface EngineEvent {
  providerId: string;
  /** The model loaded or unloaded; `''` for an engine process's start and stop. */
  model: string;
  kind: EngineEventKind;
  /** How long it took (a load's cold start, a process's start until ready). */
  durationMs?: number;
  /** Why, when syndicate decided it (e.g. evicted for a higher-priority model). */
  detail?: string;
  /**
   * `ok` (the default), the error code of an operation the engine did not carry out, or `refused`:
   * asked for and refused by syndicate before the engine was asked to change anything (a load the
   * hot-swap plan has no room for). Load times and cold-start estimates read only `ok` rows.
   */
  outcome?: string;
  /** Defaults to `Date.now()`. */
  at?: number;
}

/** Records an engine event in its own transaction; `syndicate metrics` reads load times from them. */
export function recordEngineEvent(store: Store, event: EngineEvent): void {
  store.transaction(() =>
    store
      .statement('INSERT INTO engine_events (created_at, provider_id, model, kind, duration_ms, pid, detail, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(new Date(event.at ?? Date.now()).toISOString(), event.providerId, event.model, event.kind, event.durationMs ?? null, process.pid, event.detail ?? null, event.outcome ?? 'ok'),
  );
}

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
  recordEngineEvent(store, { providerId: load.providerId, model: load.model, kind: 'load', durationMs: load.loadMs, ...(load.at === undefined ? {} : { at: load.at }) });
}
