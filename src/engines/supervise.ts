import { InterruptedError, SyndicateError } from '../errors.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { Store } from '../store/store.js';
import { localEngineProviders, startProviderEngine, stopProviderEngine } from './manage.js';
import { isSameProcessAlive, type EngineExit, type ManagedProcess } from './processes.js';

/** What happened to one declared engine when `serve --start-engines` started the declared ones. */
export type EngineStartReport =
  | { provider: string; outcome: 'started'; pid: number; readyMs: number; logPath: string }
  | { provider: string; outcome: 'already-running' }
  /** Running, started by a gateway killed outright (`formerSupervisor`): this call stops it when it stops the ones it started. */
  | { provider: string; outcome: 'taken-over'; pid: number; formerSupervisor: number }
  | { provider: string; outcome: 'failed'; error: SyndicateError };

/** One engine `SupervisedEngines.stop` stopped, or could not. */
export interface EngineStopReport {
  provider: string;
  stopped: boolean;
  error?: SyndicateError;
}

/**
 * An engine `serve --start-engines` started (or took over) that ended while the gateway ran: not
 * restarted — routes leave it out while it does not answer — and not stopped again when the gateway stops.
 */
export interface EngineExitReport {
  provider: string;
  pid: number;
  baseUrl: string;
  logPath: string;
  /** Its exit code or signal; both null for an engine taken over (not this process's child), whose end is seen, not heard. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How often an engine taken over (not this process's child, so no exit event) is looked for. */
const TAKEN_OVER_CHECK_MS = 5000;

export interface SupervisedEngines {
  reports: EngineStartReport[];
  /** Stops the engines this call started or took over (not those that were already running otherwise), in reverse order. */
  stop(graceMs?: number): Promise<EngineStopReport[]>;
}

export interface StartDeclaredEnginesOptions {
  storePath: string;
  /** An engine's start begins. */
  onStarting?: (provider: string) => void;
  /** Called every few seconds while an engine loads, with the seconds elapsed. */
  onWaiting?: (provider: string, seconds: number) => void;
  /** An engine's start ended (each as it ends, not all at the end). */
  onReport?: (report: EngineStartReport) => void;
  /**
   * Aborted (Ctrl-C, SIGTERM before the gateway listens): the engine being started is stopped,
   * and so is every engine this call already started; the call then rejects with an
   * `InterruptedError` naming them. Nothing it started is left running.
   */
  signal?: AbortSignal;
  /** An engine started or taken over ended by itself (or was killed) before `stop` (see `EngineExitReport`). */
  onExit?: (exit: EngineExitReport) => void;
}

/** How long each engine already started gets to stop after SIGTERM when the start is interrupted. */
const INTERRUPTED_STOP_GRACE_MS = 5000;

/**
 * Starts, one after the other, every local provider's engine whose record declares
 * `engine.launch` and that does not answer yet (`syndicate serve --start-engines`), recorded as
 * supervised by this process; one still running that a gateway killed outright had started is
 * taken over, to be stopped with the others. An engine
 * that fails to start is reported and skipped — the router keeps a down engine out of routes —
 * rather than keeping the gateway from serving the others.
 */
export async function startDeclaredEngines(store: Store, options: StartDeclaredEnginesOptions): Promise<SupervisedEngines> {
  const declared = localEngineProviders(store).filter((provider) => provider.record.engine?.launch !== undefined);
  const reports: EngineStartReport[] = [];
  const started: RegisteredProvider[] = [];
  /** Providers whose engine ended before `stop`: nothing of theirs is this call's to stop any more. */
  const ended = new Set<string>();
  let stopping = false;
  const watchers: NodeJS.Timeout[] = [];
  const exitedAlone = (provider: RegisteredProvider, managed: ManagedProcess, exit: EngineExit): void => {
    if (stopping || ended.has(provider.id)) return;
    ended.add(provider.id);
    options.onExit?.({ provider: provider.id, pid: managed.pid, baseUrl: provider.record.baseUrl, logPath: managed.logPath, ...exit });
  };
  const follow = (provider: RegisteredProvider, managed: ManagedProcess, exited: Promise<EngineExit> | undefined): void => {
    if (exited !== undefined) {
      void exited.then((exit) => exitedAlone(provider, managed, exit));
      return;
    }
    const watcher = setInterval(() => {
      if (isSameProcessAlive(managed)) return;
      clearInterval(watcher);
      exitedAlone(provider, managed, { code: null, signal: null });
    }, TAKEN_OVER_CHECK_MS);
    watcher.unref();
    watchers.push(watcher);
  };
  const report = (entry: EngineStartReport): void => {
    reports.push(entry);
    options.onReport?.(entry);
  };
  const stop = async (graceMs = 15_000): Promise<EngineStopReport[]> => {
    stopping = true;
    for (const watcher of watchers) clearInterval(watcher);
    const results: EngineStopReport[] = [];
    for (const provider of [...started].reverse()) {
      if (ended.has(provider.id)) continue;
      try {
        const outcome = await stopProviderEngine(store, provider, { graceMs });
        results.push({ provider: provider.id, stopped: outcome.stopped });
      } catch (error) {
        if (!(error instanceof SyndicateError)) throw error;
        results.push({ provider: provider.id, stopped: false, error });
      }
    }
    return results;
  };
  const interrupted = async (cancelled: string | undefined): Promise<never> => {
    const reason: unknown = options.signal?.reason;
    const exitCode = reason instanceof SyndicateError ? reason.exitCode : undefined;
    const stops = await stop(INTERRUPTED_STOP_GRACE_MS);
    const parts = [cancelled ?? 'interrupted while starting the declared engines'];
    const stopped = stops.filter((entry) => entry.stopped).map((entry) => entry.provider);
    if (stopped.length > 0) parts.push(`the engines already started were stopped: ${stopped.join(', ')}`);
    const failed = stops.filter((entry) => !entry.stopped && entry.error !== undefined);
    for (const entry of failed) parts.push(`${entry.provider}'s engine could not be stopped: ${entry.error?.message ?? ''}`);
    throw new InterruptedError(parts.join('; '), {
      ...(exitCode === 130 || exitCode === 143 ? { exitCode } : {}),
      ...(failed.length > 0 ? { hint: failed.map((entry) => `syndicate engine stop ${entry.provider}`).join(' && ') } : {}),
    });
  };
  for (const provider of declared) {
    if (options.signal?.aborted === true) return interrupted(undefined);
    options.onStarting?.(provider.id);
    try {
      const outcome = await startProviderEngine(store, provider, {
        storePath: options.storePath,
        supervised: true,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onWaiting === undefined ? {} : { onWaiting: (seconds: number) => options.onWaiting?.(provider.id, seconds) }),
      });
      if (outcome.started) {
        started.push(provider);
        follow(provider, outcome.process, outcome.exited);
        report({ provider: provider.id, outcome: 'started', pid: outcome.process.pid, readyMs: outcome.readyMs, logPath: outcome.process.logPath });
      } else if (outcome.takenOverFrom !== undefined && outcome.process !== undefined) {
        started.push(provider);
        follow(provider, outcome.process, undefined);
        report({ provider: provider.id, outcome: 'taken-over', pid: outcome.process.pid, formerSupervisor: outcome.takenOverFrom.pid });
      } else {
        report({ provider: provider.id, outcome: 'already-running' });
      }
    } catch (error) {
      if (error instanceof InterruptedError) return interrupted(error.message);
      if (!(error instanceof SyndicateError)) throw error;
      report({ provider: provider.id, outcome: 'failed', error });
    }
  }
  // A signal that came as the last start ended: the caller is stopping, not going on to listen.
  if (options.signal?.aborted === true) return interrupted(undefined);
  return { reports, stop };
}
