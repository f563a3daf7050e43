import { SyndicateError } from '../errors.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { Store } from '../store/store.js';
import { localEngineProviders, startProviderEngine, stopProviderEngine } from './manage.js';

/** What happened to one declared engine when `serve --start-engines` started the declared ones. */
export type EngineStartReport =
  | { provider: string; outcome: 'started'; pid: number; readyMs: number; logPath: string }
  | { provider: string; outcome: 'already-running' }
  | { provider: string; outcome: 'failed'; error: SyndicateError };

export interface SupervisedEngines {
  reports: EngineStartReport[];
  /** Stops the engines this call started (not those that were already running), in reverse order. */
  stop(graceMs?: number): Promise<{ provider: string; stopped: boolean; error?: SyndicateError }[]>;
}

/**
 * Starts, one after the other, every local provider's engine whose record declares
 * `engine.launch` and that does not answer yet (`syndicate serve --start-engines`). An engine
 * that fails to start is reported and skipped — the router keeps a down engine out of routes —
 * rather than keeping the gateway from serving the others.
 */
export async function startDeclaredEngines(store: Store, options: { storePath: string; onWaiting?: (provider: string, seconds: number) => void }): Promise<SupervisedEngines> {
  const declared = localEngineProviders(store).filter((provider) => provider.record.engine?.launch !== undefined);
  const reports: EngineStartReport[] = [];
  const started: RegisteredProvider[] = [];
  for (const provider of declared) {
    try {
      const outcome = await startProviderEngine(store, provider, {
        storePath: options.storePath,
        ...(options.onWaiting === undefined ? {} : { onWaiting: (seconds: number) => options.onWaiting?.(provider.id, seconds) }),
      });
      if (outcome.started) {
        started.push(provider);
        reports.push({ provider: provider.id, outcome: 'started', pid: outcome.process.pid, readyMs: outcome.readyMs, logPath: outcome.process.logPath });
      } else {
        reports.push({ provider: provider.id, outcome: 'already-running' });
      }
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      reports.push({ provider: provider.id, outcome: 'failed', error });
    }
  }
  return {
    reports,
    async stop(graceMs = 15_000) {
      const results: { provider: string; stopped: boolean; error?: SyndicateError }[] = [];
      for (const provider of [...started].reverse()) {
        try {
          const outcome = await stopProviderEngine(store, provider, { graceMs });
          results.push({ provider: provider.id, stopped: outcome.stopped });
        } catch (error) {
          if (!(error instanceof SyndicateError)) throw error;
          results.push({ provider: provider.id, stopped: false, error });
        }
      }
      return results;
    },
  };
}
