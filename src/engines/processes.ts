import { spawn } from 'node:child_process';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EngineOperationError, ExitCode, InterruptedError, SyndicateError, UpstreamError } from '../errors.js';
import { engineCredentialHeaders } from '../registry/credentials.js';
import type { EngineLaunch, ProviderRecord, RegisteredProvider } from '../registry/types.js';
import type { Store } from '../store/store.js';
import { engineRequest } from '../transport/engine-info.js';
import { engineRoot } from './control/http.js';
import { procStat } from '../common/process-alive.js';
import { shellWord } from '../common/shell-word.js';

/** An engine process syndicate started and has not stopped (table `engine_processes`). */
export interface ManagedProcess {
  providerId: string;
  pid: number;
  startedAt: string;
  command: string[];
  logPath: string;
  baseUrl: string;
  /** When the kernel started it (`/proc/PID/stat` field 22, clock ticks since boot); undefined where there is no `/proc`. */
  startTicks?: number;
  /**
   * The syndicate process that stops it when it ends itself (`serve --start-engines`), and that
   * process's start time; undefined for an engine `engine start` started, which runs until
   * `engine stop`.
   */
  supervisor?: ProcessIdentity;
}

/** One process for good: its pid and, where `/proc` tells, when the kernel started it. */
export interface ProcessIdentity {
  pid: number;
  startTicks?: number;
}

interface ProcessRow {
  provider_id: string;
  pid: number;
  started_at: string;
  command_json: string;
  log_path: string;
  base_url: string;
  start_ticks: number | null;
  supervisor_pid: number | null;
  supervisor_start_ticks: number | null;
}

function fromRow(row: ProcessRow): ManagedProcess {
  return {
    providerId: row.provider_id,
    pid: row.pid,
    startedAt: row.started_at,
    command: JSON.parse(row.command_json) as string[],
    logPath: row.log_path,
    baseUrl: row.base_url,
    ...(row.start_ticks === null ? {} : { startTicks: row.start_ticks }),
    ...(row.supervisor_pid === null ? {} : { supervisor: identity(row.supervisor_pid, row.supervisor_start_ticks) }),
  };
}

function identity(pid: number, startTicks: number | null | undefined): ProcessIdentity {
  return startTicks === null || startTicks === undefined ? { pid } : { pid, startTicks };
}

/** This process, as a supervisor is recorded. */
function thisProcess(): ProcessIdentity {
  return identity(process.pid, processStartTicks(process.pid));
}

/**
 * Whether the engine's supervisor is gone (killed outright: it would have stopped the engine
 * otherwise), so that nothing will stop the engine when a gateway ends. A pid the system reused
 * for another program is not the supervisor (its start time differs).
 */
function supervisorGone(managed: ManagedProcess): boolean {
  return managed.supervisor !== undefined && !isSameProcessAlive({ ...managed.supervisor, command: [] });
}

/**
 * Hands a running engine whose supervisor is gone to `next` (this process; `undefined`: no one,
 * it runs until `engine stop`) — only if the row still names that engine and that supervisor, so
 * that of two gateways taking it over at once one does. True when it was handed over.
 */
function handOver(store: Store, managed: ManagedProcess, next: ProcessIdentity | undefined): boolean {
  const former = managed.supervisor;
  if (former === undefined) return false;
  return store.transaction(
    () =>
      store
        .statement(
          'UPDATE engine_processes SET supervisor_pid = ?, supervisor_start_ticks = ? WHERE provider_id = ? AND pid = ? AND supervisor_pid = ? AND supervisor_start_ticks IS ?',
        )
        .run(next?.pid ?? null, next?.startTicks ?? null, managed.providerId, managed.pid, former.pid, former.startTicks ?? null).changes === 1,
  );
}

export function managedProcess(store: Store, providerId: string): ManagedProcess | undefined {
  const row = store.statement('SELECT * FROM engine_processes WHERE provider_id = ?').get(providerId) as ProcessRow | undefined;
  return row === undefined ? undefined : fromRow(row);
}

function forgetProcess(store: Store, providerId: string): void {
  store.transaction(() => store.statement('DELETE FROM engine_processes WHERE provider_id = ?').run(providerId));
}

/**
 * Whether a process other than zombies is left in process group `groupId`, where `/proc` tells
 * (false without it): an engine's own children (llama-server's router runs each model in one)
 * may outlive it, and one answering a stream waits for it to end.
 */
function processGroupHasOthers(groupId: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return false;
  }
  return entries.some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    const stat = procStat(Number(entry));
    return stat !== undefined && stat.processGroup === groupId && stat.state !== 'Z' && stat.state !== 'X';
  });
}

/** When the kernel started `pid` (clock ticks since boot), where `/proc` tells. */
export function processStartTicks(pid: number): number | undefined {
  const ticks = procStat(pid)?.startTicks;
  return ticks === undefined || !Number.isSafeInteger(ticks) ? undefined : ticks;
}

/**
 * Whether the recorded process is alive and still the one syndicate started: signal 0 reaches
 * it, it is not a zombie and (where `/proc` tells) the kernel started it when it started the
 * recorded one — a pid the system reused for another program is never signalled, and an engine
 * launched through a wrapper that `exec`s it is still recognised. Rows from before start times
 * were recorded fall back to comparing the executable's name.
 */
export function isSameProcessAlive(recorded: Pick<ManagedProcess, 'pid' | 'command' | 'startTicks'>): boolean {
  const { pid, command, startTicks } = recorded;
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: alive but not ours to signal, so not the process syndicate started.
    return false;
  }
  const stat = procStat(pid);
  // No /proc (macOS): signal 0 is all there is.
  if (stat === undefined) return !existsSync('/proc/self/stat');
  if (stat.state === 'Z' || stat.state === 'X') return false;
  if (startTicks !== undefined) return stat.startTicks === startTicks;
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const executable = command[0];
    return executable === undefined || commandLine.some((part) => part === executable || basename(part) === basename(executable));
  } catch {
    return false;
  }
}

/** The engine log a started engine writes to: beside the store, `engines/<provider>.log`. */
export function engineLogPath(storePath: string, providerId: string): string {
  return join(dirname(storePath), 'engines', `${providerId.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
}

/** The last lines of an engine's log, for an error that says why it did not come up. */
export function logTail(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * The pauses between readiness checks of a starting engine: short at first (a small model or an
 * engine already loaded answers within tens of milliseconds, and a refused connection costs
 * little), doubling up to `READINESS_PAUSE_MS` for an engine that takes its time.
 */
export const READINESS_FIRST_PAUSE_MS = 25;
const READINESS_PAUSE_MS = 200;

export function nextReadinessPause(pause: number): number {
  return Math.min(pause * 2, READINESS_PAUSE_MS);
}

/** Whether the engine answers 2xx at its ready path (asked with the record's key, when it has one). */
async function answersReady(url: string, record: ProviderRecord): Promise<boolean> {
  try {
    const answer = await engineRequest(url, { timeoutMs: 1000, headers: engineCredentialHeaders(record, process.env) });
    return answer.status >= 200 && answer.status <= 299;
  } catch (error) {
    if (error instanceof UpstreamError) return false;
    throw error;
  }
}

export interface StartOptions {
  storePath: string;
  timeoutMs?: number;
  /** Called every few seconds while the engine loads, with the seconds elapsed. */
  onWaiting?: (elapsedSeconds: number) => void;
  /**
   * Aborted (Ctrl-C, SIGTERM): the engine being started is stopped and forgotten, and the start
   * rejects with the signal's reason — nothing is left starting in the background.
   */
  signal?: AbortSignal;
  /**
   * The caller stops the engine when it ends (`serve --start-engines`): it is recorded as the
   * engine's supervisor, and it takes over an engine already running whose supervisor is gone.
   * Otherwise (`engine start`) an engine started runs until `engine stop`, and so does one already
   * running whose supervisor is gone.
   */
  supervised?: boolean;
}

/** How an engine process syndicate started ended: its exit code, or the signal that killed it. */
export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type StartOutcome =
  /** `exited`: settles when the engine process ends, however (its own exit, a kill, `engine stop`). */
  | { started: true; process: ManagedProcess; readyMs: number; exited: Promise<EngineExit> }
  | {
      started: false;
      reason: 'already-running';
      process: ManagedProcess | undefined;
      /** The supervisor, gone, of the engine this call took over (see `StartOptions.supervised`). */
      takenOverFrom?: ProcessIdentity;
    };

/** Default wait for an engine to come up: twice its declared cold start (at least 30 s), else 120 s. */
export function startTimeoutMs(provider: RegisteredProvider): number {
  const declared = provider.record.engine?.launch?.coldStartSeconds;
  return declared === undefined ? 120_000 : Math.max(30_000, declared * 2000);
}

/**
 * Starts the engine process a local provider's record declares (`engine.launch`), detached and
 * writing to its own log, and waits until `readyPath` answers 2xx. The process is recorded before
 * the wait so that a syndicate killed meanwhile leaves it stoppable; an engine that exits or does
 * not come up in time is stopped, forgotten, and reported with the end of its log.
 */
export async function startEngine(store: Store, provider: RegisteredProvider, options: StartOptions): Promise<StartOutcome> {
  const { record } = provider;
  const launch = record.engine?.launch;
  if (record.class !== 'local') {
    throw new EngineOperationError('engine_not_local', `${provider.id} is ${record.class}: syndicate only starts engines on this host`, { hint: 'engine start is for local providers whose record declares engine.launch' });
  }
  if (launch === undefined) {
    throw new EngineOperationError('engine_launch_undeclared', `${provider.id} declares no engine.launch: syndicate does not know how to start it`, {
      hint: 'add engine: {kind, launch: {command, args, readyPath}} to the provider record and register it again, or start the engine yourself',
    });
  }
  const timeoutMs = options.timeoutMs ?? startTimeoutMs(provider);
  const release = await takeStartLock(startLockPath(options.storePath, provider.id), provider.id, timeoutMs);
  try {
    return await startUnlessRunning(store, provider, launch, { ...options, timeoutMs });
  } finally {
    release();
  }
}

/** The file that says which syndicate is starting a provider's engine: beside its log, `engines/<provider>.start.lock`. */
function startLockPath(storePath: string, providerId: string): string {
  return engineLogPath(storePath, providerId).replace(/\.log$/, '.start.lock');
}

/**
 * Makes this process the only one starting the engine: two `engine start` at once would each
 * spawn it, each see it answer, and record only one of them — the other left running with
 * nothing to stop it. The lock file is created atomically (a hard link of a file already holding
 * this process's pid and start time); one whose holder is gone is taken over; while a live one
 * holds it, this start waits (up to `timeoutMs`) and then looks again, finding the engine it
 * started. Returns the release.
 */
async function takeStartLock(path: string, providerId: string, timeoutMs: number): Promise<() => void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, JSON.stringify({ pid: process.pid, startTicks: processStartTicks(process.pid) ?? null }), { mode: 0o600 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        linkSync(mine, path);
        return () => rmSync(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = lockHolder(path);
      if (holder === undefined || !isSameProcessAlive({ pid: holder.pid, command: [], ...(holder.startTicks === null ? {} : { startTicks: holder.startTicks }) })) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new UpstreamError(`another syndicate (pid ${holder.pid}) is still starting ${providerId}'s engine`, {
          code: 'engine_start_in_progress',
          isRetryable: false,
          hint: `wait for it to finish (\`syndicate engine status ${providerId}\`), or remove ${shellWord(path)} if that process is not syndicate`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    rmSync(mine, { force: true });
  }
}

function lockHolder(path: string): { pid: number; startTicks: number | null } | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; startTicks?: unknown };
    if (typeof holder.pid !== 'number' || !Number.isSafeInteger(holder.pid) || holder.pid <= 0) return undefined;
    return { pid: holder.pid, startTicks: typeof holder.startTicks === 'number' ? holder.startTicks : null };
  } catch {
    return undefined;
  }
}

async function startUnlessRunning(store: Store, provider: RegisteredProvider, launch: EngineLaunch, options: StartOptions & { timeoutMs: number }): Promise<StartOutcome> {
  const { record } = provider;
  const readyUrl = `${engineRoot(record.baseUrl)}${launch.readyPath}`;
  const existing = managedProcess(store, provider.id);
  if (existing !== undefined) {
    if (isSameProcessAlive(existing)) {
      const supervisor = options.supervised === true ? thisProcess() : undefined;
      if (!supervisorGone(existing) || !handOver(store, existing, supervisor)) return { started: false, reason: 'already-running', process: existing };
      const { supervisor: former, ...engine } = existing;
      return { started: false, reason: 'already-running', process: supervisor === undefined ? engine : { ...engine, supervisor }, takenOverFrom: former };
    }
    forgetProcess(store, provider.id);
  }
  if (await answersReady(readyUrl, record)) return { started: false, reason: 'already-running', process: undefined };

  const command = [launch.command, ...(launch.args ?? [])];
  const logPath = engineLogPath(options.storePath, provider.id);
  mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
  const logFd = openSync(logPath, 'a', 0o600);
  const startedAt = Date.now();
  let child;
  try {
    child = spawn(launch.command, launch.args ?? [], { detached: true, stdio: ['ignore', logFd, logFd], env: process.env });
  } finally {
    closeSync(logFd);
  }
  const spawned = await new Promise<{ error?: NodeJS.ErrnoException }>((resolve) => {
    child.once('spawn', () => resolve({}));
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
  });
  if (spawned.error !== undefined || child.pid === undefined) {
    const code = spawned.error?.code;
    throw new EngineOperationError('engine_launch_failed', `could not run ${launch.command}: ${code === 'ENOENT' ? 'not found' : (spawned.error?.message ?? 'no process')}`, {
      hint: code === 'ENOENT' ? `install it, or give its full path as engine.launch.command in ${provider.id}'s record` : 'check engine.launch.command in the provider record',
    });
  }
  let exited: EngineExit | undefined;
  const exit = new Promise<EngineExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  child.unref();
  const startTicks = processStartTicks(child.pid);
  const supervisor = options.supervised === true ? thisProcess() : undefined;
  const managed: ManagedProcess = {
    providerId: provider.id,
    pid: child.pid,
    startedAt: new Date(startedAt).toISOString(),
    command,
    logPath,
    baseUrl: record.baseUrl,
    ...(startTicks === undefined ? {} : { startTicks }),
    ...(supervisor === undefined ? {} : { supervisor }),
  };
  store.transaction(() =>
    store
      .statement(
        'INSERT OR REPLACE INTO engine_processes (provider_id, pid, started_at, command_json, log_path, base_url, start_ticks, supervisor_pid, supervisor_start_ticks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(managed.providerId, managed.pid, managed.startedAt, JSON.stringify(command), logPath, record.baseUrl, startTicks ?? null, supervisor?.pid ?? null, supervisor?.startTicks ?? null),
  );

  const { timeoutMs } = options;
  let lastReport = startedAt;
  let pause = READINESS_FIRST_PAUSE_MS;
  for (;;) {
    if (exited !== undefined) {
      forgetProcess(store, provider.id);
      const how = exited.signal === null ? `exited with code ${exited.code}` : `was killed by ${exited.signal}`;
      throw new UpstreamError(`${launch.command} ${how} before ${readyUrl} answered`, {
        code: 'engine_start_failed',
        isRetryable: false,
        hint: `its log (${shellWord(logPath)}) ends:\n${logTail(logPath) || '(empty)'}`,
      });
    }
    if (options.signal?.aborted === true) {
      await signalUntilGone(managed, 5000);
      forgetProcess(store, provider.id);
      throw options.signal.reason instanceof SyndicateError
        ? new InterruptedError(`${provider.id}'s engine start was cancelled; the engine (pid ${managed.pid}) was stopped`, { exitCode: options.signal.reason.exitCode === ExitCode.terminated ? ExitCode.terminated : ExitCode.interrupted })
        : new InterruptedError(`${provider.id}'s engine start was cancelled; the engine (pid ${managed.pid}) was stopped`);
    }
    if (await answersReady(readyUrl, record)) return { started: true, process: managed, readyMs: Date.now() - startedAt, exited: exit };
    if (Date.now() - startedAt >= timeoutMs) {
      await signalUntilGone(managed, 5000);
      forgetProcess(store, provider.id);
      throw new UpstreamError(`${provider.id}'s engine did not answer ${readyUrl} within ${Math.round(timeoutMs / 1000)} s; it was stopped`, {
        code: 'engine_start_timeout',
        isRetryable: false,
        hint: `give it longer with --timeout (or declare engine.launch.coldStartSeconds); its log (${shellWord(logPath)}) ends:\n${logTail(logPath) || '(empty)'}`,
      });
    }
    if (options.onWaiting !== undefined && Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      options.onWaiting(Math.round((lastReport - startedAt) / 1000));
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = nextReadinessPause(pause);
  }
}

/**
 * SIGTERM to the engine's process group (its own children too), SIGKILL to the group when the
 * engine or any of them is still there after `graceMs`. True if it had to be killed.
 */
async function signalUntilGone(managed: ManagedProcess, graceMs: number): Promise<boolean> {
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-managed.pid, name);
    } catch {
      // No such group (the engine left it): the engine alone, unless its pid went to another program meanwhile.
      if (!isSameProcessAlive(managed)) return;
      try {
        process.kill(managed.pid, name);
      } catch {
        // already gone
      }
    }
  };
  const gone = async (withinMs: number): Promise<boolean> => {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (!isSameProcessAlive(managed) && !processGroupHasOthers(managed.pid)) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return !isSameProcessAlive(managed) && !processGroupHasOthers(managed.pid);
  };
  signal('SIGTERM');
  if (await gone(graceMs)) return false;
  signal('SIGKILL');
  await gone(5000);
  return true;
}

export type StopOutcome =
  | { stopped: true; process: ManagedProcess; stopMs: number; killed: boolean }
  | { stopped: false; reason: 'not-running' | 'exited'; process: ManagedProcess | undefined };

/**
 * Stops an engine process syndicate started: SIGTERM to its process group, SIGKILL after
 * `graceMs` to what of the group is left. An engine syndicate did not start is refused (it is
 * someone else's to stop).
 */
export async function stopEngine(store: Store, provider: RegisteredProvider, options: { graceMs: number }): Promise<StopOutcome> {
  const managed = managedProcess(store, provider.id);
  if (managed === undefined) {
    const launch = provider.record.engine?.launch;
    const probeUrl = `${engineRoot(provider.record.baseUrl)}${launch?.readyPath ?? '/v1/models'}`;
    if (provider.record.class === 'local' && (await answersReady(probeUrl, provider.record))) {
      throw new EngineOperationError('engine_not_managed', `${provider.id}'s engine is running, but syndicate did not start it`, {
        hint: 'stop it the way it was started (its service manager, its window, or kill)',
      });
    }
    return { stopped: false, reason: 'not-running', process: undefined };
  }
  if (!isSameProcessAlive(managed)) {
    forgetProcess(store, provider.id);
    return { stopped: false, reason: 'exited', process: managed };
  }
  const began = Date.now();
  const killed = await signalUntilGone(managed, options.graceMs);
  forgetProcess(store, provider.id);
  return { stopped: true, process: managed, stopMs: Date.now() - began, killed };
}
