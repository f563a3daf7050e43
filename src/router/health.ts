import type { RegisteredProvider } from '../registry/types.js';
import { fetchEngineJson } from '../transport/engine-info.js';
import type { HealthSnapshot, ProviderHealth, WarmSnapshot } from './types.js';

/** Reads JSON metadata from a local engine; injectable for tests. */
export type EngineProbe = (url: string, timeoutMs: number) => Promise<unknown>;

export interface HealthMonitorOptions {
  /** How long an observation of a local engine is reused. Default 5 s. */
  ttlMs?: number;
  /** How long a reported hosted failure keeps the provider out of routes. Default 30 s. */
  hostedFailureTtlMs?: number;
  /** Probe timeout per engine; nothing waits longer on an unreachable engine. Default 1 s. */
  probeTimeoutMs?: number;
  now?: () => number;
  probe?: EngineProbe;
}

interface Observation {
  health: ProviderHealth;
  /** Model ids resident at the time, when the engine says (undefined: unknown). */
  resident: string[] | undefined;
  observedAt: number;
  /** Whose base URL was probed: a re-registered provider with a new URL is probed afresh. */
  baseUrl: string;
}

/**
 * A cached availability check, kept in memory for the life of the process and persisted
 * nowhere. Local engines are probed with `GET baseUrl/models` (all in parallel, short timeout);
 * hosted providers are assumed available unless the pipeline recently reported a failure.
 */
export class HealthMonitor {
  private readonly ttlMs: number;
  private readonly hostedFailureTtlMs: number;
  private readonly probeTimeoutMs: number;
  private readonly now: () => number;
  private readonly probe: EngineProbe;
  private readonly observations = new Map<string, Observation>();
  private readonly inFlight = new Map<string, Promise<Observation>>();
  private readonly firstTokenMs = new Map<string, number>();

  constructor(options: HealthMonitorOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.hostedFailureTtlMs = options.hostedFailureTtlMs ?? 30_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.probe = options.probe ?? ((url, timeoutMs) => fetchEngineJson(url, { timeoutMs }));
  }

  /** Health of every provider given; probes stale local engines (in parallel) first. */
  async snapshot(providers: readonly RegisteredProvider[]): Promise<HealthSnapshot> {
    await this.refresh(providers);
    const snapshot: Record<string, ProviderHealth> = {};
    for (const provider of providers) {
      const health = this.current(provider);
      if (health !== undefined) snapshot[provider.id] = health;
    }
    return snapshot;
  }

  /** Resident models of the local engines that report them (Ollama `/api/ps`; single-model engines when up). */
  async warmSnapshot(providers: readonly RegisteredProvider[]): Promise<WarmSnapshot> {
    await this.refresh(providers);
    const warm: Record<string, string[]> = {};
    for (const provider of providers) {
      const observation = this.observations.get(provider.id);
      if (observation?.resident !== undefined && observation.health.state === 'up') warm[provider.id] = observation.resident;
    }
    return warm;
  }

  /** The pipeline reports a failed call (connect failure, timeout, 429, 5xx). */
  reportFailure(provider: RegisteredProvider, reason: string): void {
    this.observations.set(provider.id, {
      health: { state: 'down', checkedAt: new Date(this.now()).toISOString(), reason },
      resident: undefined,
      observedAt: this.now(),
      baseUrl: provider.record.baseUrl,
    });
  }

  /** The pipeline reports a successful call, optionally with its time to first token. */
  reportSuccess(provider: RegisteredProvider, observed: { firstTokenMs?: number } = {}): void {
    const previous = this.observations.get(provider.id);
    if (previous?.health.state === 'down') this.observations.delete(provider.id);
    if (observed.firstTokenMs !== undefined) this.firstTokenMs.set(provider.id, observed.firstTokenMs);
  }

  private current(provider: RegisteredProvider): ProviderHealth | undefined {
    const observation = this.observations.get(provider.id);
    const firstTokenMs = this.firstTokenMs.get(provider.id);
    if (observation === undefined || !this.isFresh(provider, observation)) {
      return firstTokenMs === undefined || provider.record.class === 'local'
        ? undefined
        : { state: 'up', checkedAt: new Date(this.now()).toISOString(), firstTokenMs };
    }
    return firstTokenMs === undefined ? observation.health : { ...observation.health, firstTokenMs };
  }

  private isFresh(provider: RegisteredProvider, observation: Observation): boolean {
    if (observation.baseUrl !== provider.record.baseUrl) return false;
    const ttl = provider.record.class === 'local' ? this.ttlMs : this.hostedFailureTtlMs;
    return this.now() - observation.observedAt < ttl;
  }

  private async refresh(providers: readonly RegisteredProvider[]): Promise<void> {
    const stale = providers.filter((provider) => {
      if (provider.record.class !== 'local' || provider.retiredAt !== null) return false;
      const observation = this.observations.get(provider.id);
      return observation === undefined || !this.isFresh(provider, observation);
    });
    await Promise.all(stale.map((provider) => this.probeOnce(provider)));
  }

  private probeOnce(provider: RegisteredProvider): Promise<Observation> {
    const running = this.inFlight.get(provider.id);
    if (running !== undefined) return running;
    const started = this.now();
    const promise = this.probeEngine(provider)
      .then((resident): Observation => ({
        health: { state: 'up', checkedAt: new Date(started).toISOString(), probeMs: Math.max(0, this.now() - started) },
        resident,
        observedAt: this.now(),
        baseUrl: provider.record.baseUrl,
      }))
      .catch((error: unknown): Observation => ({
        health: { state: 'down', checkedAt: new Date(started).toISOString(), reason: error instanceof Error ? error.message : String(error) },
        resident: undefined,
        observedAt: this.now(),
        baseUrl: provider.record.baseUrl,
      }))
      .then((observation) => {
        this.observations.set(provider.id, observation);
        this.inFlight.delete(provider.id);
        return observation;
      });
    this.inFlight.set(provider.id, promise);
    return promise;
  }

  /** Throws when the engine is unreachable; returns the resident model ids when the engine tells. */
  private async probeEngine(provider: RegisteredProvider): Promise<string[] | undefined> {
    const { record } = provider;
    const baseUrl = record.baseUrl.replace(/\/+$/, '');
    await this.probe(healthUrl(record), this.probeTimeoutMs);
    const kind = record.engine?.kind;
    if (kind === 'llama.cpp' || kind === 'vllm' || kind === 'node-llama-cpp') {
      // Single-model servers load their model at start: up means resident.
      return record.models.map((model) => model.id);
    }
    if (kind === 'ollama') {
      try {
        const root = baseUrl.replace(/\/v1$/, '');
        return residentFromOllama(await this.probe(`${root}/api/ps`, this.probeTimeoutMs));
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** The URL whose answer says an engine is up: its model list, per the wire's URL convention. */
export function healthUrl(record: Pick<RegisteredProvider['record'], 'baseUrl' | 'wire'>): string {
  const baseUrl = record.baseUrl.replace(/\/+$/, '');
  return record.wire === 'anthropic' ? `${baseUrl}/v1/models` : `${baseUrl}/models`;
}

/** Model names from Ollama's `GET /api/ps` answer (`{models: [{name, model, ...}]}`). */
export function residentFromOllama(body: unknown): string[] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const models = (body as { models?: unknown }).models;
  if (!Array.isArray(models)) return undefined;
  const names = new Set<string>();
  for (const entry of models) {
    if (typeof entry !== 'object' || entry === null) continue;
    for (const key of ['name', 'model'] as const) {
      const value = (entry as Record<string, unknown>)[key];
      if (typeof value === 'string') {
        names.add(value);
        if (value.endsWith(':latest')) names.add(value.slice(0, -':latest'.length));
      }
    }
  }
  return [...names];
}

let processMonitor: HealthMonitor | undefined;

/** The per-process monitor shared by `route`, `run`, the gateway and MCP. */
export function sharedHealthMonitor(): HealthMonitor {
  processMonitor ??= new HealthMonitor();
  return processMonitor;
}
