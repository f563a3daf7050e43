import { PolicyRefusalError, SyndicateError, UpstreamError, UsageError } from '../errors.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { findProvider, listProviders } from '../registry/registry.js';
import { unknownProviderError } from '../registry/unknown-provider.js';
import type { ProviderModel, RegisteredProvider } from '../registry/types.js';
import { releaseHolds } from '../router/shared-holds.js';
import type { Store } from '../store/store.js';
import { controllerFor, sameLlamaCppModel, sameOllamaModel, type EngineController, type EngineState, type ResidentModel } from './control/index.js';
import { recordEngineEvent, type EngineEvent } from './events.js';
import { isSameProcessAlive, managedProcess, startEngine, stopEngine, type ManagedProcess, type StartOptions } from './processes.js';
import { planSwap, type SwapModel } from './swap.js';
import { formatDuration } from '../common/duration.js';
import { servedEngine } from './server/description.js';
import { shellWord } from '../common/shell-word.js';

const BYTES_PER_GB = 1e9;

/** A resident model as `engine status` shows it: what the engine says, beside what the record declares. */
export interface ReportedModel extends ResidentModel {
  /** The record's model id when the record declares this model (undefined: the engine holds a model the record does not list). */
  declared?: string;
  priority?: number;
  /** GB it takes: the engine's figure when it gives one, else the record's `vramGb`. */
  vramGb?: number;
}

export interface EngineReport {
  provider: string;
  providerVersion: number;
  kind: string;
  baseUrl: string;
  reachable: boolean;
  /** Why the engine could not be asked, when it could not. */
  reason?: string;
  /** Set when not reachable: `unreachable`, nothing answered (in time); `failing`, it answered, with an error (it runs: starting it would not help). */
  cause?: 'unreachable' | 'failing';
  mode?: string;
  engineVersion?: string;
  /** Null when the engine is unreachable or does not tell. */
  resident: ReportedModel[] | null;
  available: string[] | null;
  vramBudgetGb: number | null;
  /** GB the resident models take, as far as known. */
  residentVramGb: number | null;
  /** The process syndicate started for it, if any (`alive` false: it has exited since). */
  process: (ManagedProcess & { alive: boolean }) | null;
  /** `engine.launch` as a command line, when declared. */
  launch: string | null;
}

/**
 * The registered local provider `id`, for the engine commands: a hosted one is refused (syndicate
 * manages only engines on this host), and so is a retired one unless `retired` allows it
 * (`engine stop`: an engine started before the retirement must stay stoppable).
 */
export function requireLocalProvider(store: Store, id: string, retired: 'refused' | 'allowed' = 'refused'): RegisteredProvider {
  const provider = findProvider(store, id);
  if (provider === undefined) {
    // The ids this command takes, not every registered one: a hosted or retired id would be refused next.
    const taken = listProviders(store).filter((candidate) => candidate.record.class === 'local' && (retired === 'allowed' || candidate.retiredAt === null));
    throw unknownProviderError(
      id,
      taken.map((candidate) => candidate.id),
      {
        label: 'local providers',
        none: 'no local provider is registered; `syndicate provider add NAME` registers a running engine, `syndicate engine serve --model FILE --register ID` serves a GGUF model as one',
      },
    );
  }
  if (provider.record.class !== 'local') {
    throw new UsageError(`${id} is ${provider.record.class === 'approved_hosted' ? 'an' : 'a'} ${provider.record.class} provider: syndicate manages only engines on this host`, {
      hint: 'engine commands take local providers (`syndicate provider list` shows each class)',
    });
  }
  if (provider.retiredAt !== null && retired === 'refused') throw new UsageError(`${id} is retired`, { hint: 'register it again to use it: `syndicate provider register FILE`' });
  return provider;
}

/** Local providers that are not retired, in id order: the engines `engine status` reports. */
export function localEngineProviders(store: Store): RegisteredProvider[] {
  return listProviders(store).filter((provider) => provider.record.class === 'local' && provider.retiredAt === null);
}

/** Whether the engine's name `engineModel` and the record's `declared` id are the same model. */
function sameModel(provider: RegisteredProvider, engineModel: string, declared: string): boolean {
  switch (provider.record.engine?.kind) {
    case 'ollama':
      return sameOllamaModel(engineModel, declared);
    case 'llama.cpp':
      return sameLlamaCppModel(engineModel, declared);
    default:
      return engineModel === declared;
  }
}

function declaredModel(provider: RegisteredProvider, engineModel: string): ProviderModel | undefined {
  return provider.record.models.find((model) => sameModel(provider, engineModel, model.id));
}

function residentGb(provider: RegisteredProvider, resident: ResidentModel): number | undefined {
  const bytes = resident.vramBytes ?? resident.sizeBytes;
  if (bytes !== undefined && bytes > 0) return bytes / BYTES_PER_GB;
  return declaredModel(provider, resident.model)?.vramGb;
}

function reportedModel(provider: RegisteredProvider, resident: ResidentModel): ReportedModel {
  const declared = declaredModel(provider, resident.model);
  const vramGb = residentGb(provider, resident);
  return {
    ...resident,
    ...(declared === undefined ? {} : { declared: declared.id, priority: declared.priority ?? 0 }),
    ...(vramGb === undefined ? {} : { vramGb: Math.round(vramGb * 100) / 100 }),
  };
}

/** What a local engine holds now and what syndicate knows about it; an unreachable engine is reported, not thrown. */
export async function engineReport(store: Store, provider: RegisteredProvider): Promise<EngineReport> {
  const { record } = provider;
  const managed = managedProcess(store, provider.id);
  const launch = record.engine?.launch;
  let state: EngineState | undefined;
  let reason: string | undefined;
  let cause: EngineReport['cause'];
  try {
    state = await controllerFor(record).state();
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    reason = error.message;
    cause = error.code === 'engine_unreachable' ? 'unreachable' : 'failing';
  }
  const resident = state?.resident?.map((model) => reportedModel(provider, model)) ?? null;
  const sizes = resident?.map((model) => model.vramGb);
  return {
    provider: provider.id,
    providerVersion: provider.currentVersion,
    kind: record.engine?.kind ?? 'openai-compatible',
    baseUrl: record.baseUrl,
    reachable: state !== undefined,
    ...(reason === undefined ? {} : { reason }),
    ...(cause === undefined ? {} : { cause }),
    ...(state?.mode === undefined ? {} : { mode: state.mode }),
    ...(state?.version === undefined ? {} : { engineVersion: state.version }),
    resident,
    available: state?.available ?? null,
    vramBudgetGb: record.engine?.vramBudgetGb ?? null,
    residentVramGb: sizes === undefined || sizes.some((size) => size === undefined) ? null : Math.round(sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0) * 100) / 100,
    process: managed === undefined ? null : { ...managed, alive: isSameProcessAlive(managed) },
    launch: launch === undefined ? null : [launch.command, ...(launch.args ?? [])].join(' '),
  };
}

/**
 * The reports of the local engines that answer within `timeoutMs`, all asked at once; an engine
 * that is down, or slower than that, is left out rather than waited for.
 */
export async function answeringEngineReports(store: Store, timeoutMs: number): Promise<EngineReport[]> {
  const reports = await Promise.all(
    localEngineProviders(store).map((provider) =>
      withinTime(engineReport(store, provider), timeoutMs).catch((error: unknown) => {
        // Asking it was refused (its base URL no longer resolves to loopback): not an answer either.
        if (error instanceof SyndicateError) return undefined;
        throw error;
      }),
    ),
  );
  return reports.filter((report): report is EngineReport => report?.reachable === true);
}

/** `work`, or undefined once `timeoutMs` passed first (the work itself goes on until its own timeouts end it). */
async function withinTime<T>(work: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What to do about an engine that answers with errors: it runs, so not to start it, but to read why. */
export function engineFailingHint(provider: RegisteredProvider, process: ManagedProcess | null | undefined): string {
  // The log of an engine syndicate started that has exited since is not what answers now.
  const log = process === null || process === undefined || !isSameProcessAlive(process) ? "the engine's own log" : `its log (${shellWord(process.logPath)})`;
  return `${provider.id}'s engine runs but answers with errors: read ${log}, and check that its baseUrl (${provider.record.baseUrl}) is that engine's and its record's engine.kind (${provider.record.engine?.kind ?? 'none'}) is right`;
}

/** What to do about an engine that does not answer: start it (how, when syndicate can), wait for the start syndicate made, or fix the base URL. */
export function engineDownHint(provider: RegisteredProvider, process: ManagedProcess | null | undefined): string {
  if (process !== null && process !== undefined && isSameProcessAlive(process)) {
    return `syndicate started it (pid ${process.pid}) and it does not answer yet: give it time, or read its log (${shellWord(process.logPath)})`;
  }
  // The row of an engine syndicate started that has exited since (or whose pid another program now has): it is not running, and its log says why it ended.
  const exited = process !== null && process !== undefined ? `the engine syndicate started (pid ${process.pid}, ${process.startedAt}) has exited — its log: ${shellWord(process.logPath)}; ` : '';
  if (provider.record.engine?.launch !== undefined) return `${exited}start it${exited === '' ? '' : ' again'}: \`syndicate engine start ${provider.id}\``;
  if (provider.record.engine?.kind === 'node-llama-cpp') {
    // `engine serve --register` wrote it: nothing restarts that engine but the same command.
    const port = new URL(provider.record.baseUrl).port;
    const served = servedEngine(provider.record.description);
    const model = served === undefined ? 'FILE.gguf' : shellWord(served.modelPath);
    const options = served === undefined || served.servedWith === '' ? '' : ` ${served.servedWith}`;
    return `serve its model again: \`syndicate engine serve --model ${model}${port === '' ? '' : ` --port ${port}`}${options} --register ${provider.id}\`${served === undefined ? ' (FILE.gguf: the model it served)' : ''}, or fix its baseUrl (${provider.record.baseUrl})`;
  }
  return `${exited}start ${provider.id}'s engine (its record declares no engine.launch, so syndicate cannot), or fix its baseUrl (${provider.record.baseUrl})`;
}

/**
 * A load or unload the engine did not carry out, as an error that says what to do: the engine's
 * own errors (no answer within the timeout, nothing listening, an HTTP error) carry no hint, and
 * `engine load` / `engine unload --json` printed them without one.
 */
async function engineControl<T>(store: Store, provider: RegisteredProvider, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof UpstreamError) || error.hint !== undefined) throw error;
    const timedOut = error.cause instanceof Error && error.cause.name === 'TimeoutError';
    const hint = timedOut
      ? `the engine may still be at it: \`syndicate engine status ${provider.id}\` shows what it holds; allow it longer than ${formatDuration(timeoutMs)} with --timeout`
      : error.code === 'engine_unreachable'
        ? engineDownHint(provider, managedProcess(store, provider.id))
        : `the engine's answer says why it refused; \`syndicate engine status ${provider.id}\` shows what it holds`;
    throw new UpstreamError(error.message, {
      code: error.code,
      isRetryable: error.isRetryable,
      hint,
      cause: error,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
}

/** The engine's state; one that does not answer is an error naming the provider and what to do. */
async function stateOf(store: Store, provider: RegisteredProvider, controller: EngineController): Promise<EngineState> {
  try {
    return await controller.state();
  } catch (error) {
    if (!(error instanceof UpstreamError) || error.code !== 'engine_unreachable') throw error;
    throw new UpstreamError(`${provider.id}'s engine is down: ${error.message}`, { code: 'engine_unreachable', isRetryable: false, hint: engineDownHint(provider, managedProcess(store, provider.id)), cause: error });
  }
}

export interface LoadOptions {
  keepAlive?: string;
  /** Ollama's model options for the load (`num_ctx`, ...); a model already loaded with another `num_ctx` is loaded again. */
  modelOptions?: Readonly<Record<string, unknown>>;
  /** The context to load the model with, sent to Ollama as `num_ctx` (at most the record's `contextWindow`); other engines ignore it (`LoadOutcome.ignored`). */
  contextLength?: number;
  timeoutMs: number;
  /** The task at hand: a model tagged for it outranks one that is not when deciding evictions. */
  task?: string;
  /** Evict whatever the budget requires, lowest rank first, regardless of priority. */
  force?: boolean;
  /** Plan only: report what would be evicted and loaded, change nothing. */
  dryRun?: boolean;
  /** Who asked, for the load's engine event (default `engine load`). */
  detail?: string;
  /** Models a call of this process is using now (the gateway's): never evicted, `force` or not. */
  inUse?: readonly string[];
}

export interface LoadOutcome {
  provider: string;
  model: string;
  /** The engine already held it: nothing was done. */
  alreadyResident: boolean;
  /** How long the load took (the cold start), when one was done. */
  loadMs?: number;
  evicted: { model: string; unloadMs: number }[];
  /** The swap plan's reasoning, in order. */
  explanation: string[];
  dryRun: boolean;
  /** Settings asked for that the engine does not take, so not sent (`num_ctx` on an engine other than Ollama). */
  ignored?: string[];
}

function requireDeclared(provider: RegisteredProvider, model: string): ProviderModel {
  const declared = findDeclaredModel(provider.record, model);
  if (declared === undefined) {
    throw new UsageError(`${provider.id} declares no model ${model} (it declares ${provider.record.models.map((entry) => entry.id).join(', ')})`, {
      hint: `add it to ${provider.id}'s record (with vramGb and priority for hot-swap) and register the record again`,
    });
  }
  return declared;
}

function swapModel(model: string, declared: ProviderModel | undefined, vramGb: number | undefined, task: string | undefined): SwapModel {
  return { model, priority: declared?.priority ?? 0, taggedForTask: task !== undefined && (declared?.tags ?? []).includes(task), vramGb };
}

/**
 * Runs a load or unload on an engine and records it as an engine event with how long it took:
 * `ok`, or, when the engine did not carry it out, the error's code (the error is then rethrown),
 * so `/metrics` counts the failures beside the rest. Returns the milliseconds it took.
 */
async function recordedOperation(store: Store, event: Omit<EngineEvent, 'durationMs' | 'outcome'>, work: () => Promise<void>): Promise<number> {
  const began = performance.now();
  try {
    await work();
  } catch (error) {
    if (error instanceof SyndicateError) recordEngineEvent(store, { ...event, durationMs: Math.round(performance.now() - began), outcome: error.code });
    throw error;
  }
  const durationMs = Math.round(performance.now() - began);
  recordEngineEvent(store, { ...event, durationMs });
  return durationMs;
}

/**
 * The model options a load sends: `options.modelOptions` with `contextLength` as Ollama's
 * `num_ctx` (the gateway's Ollama face passes a client's `options.num_ctx` as model options; `engine
 * load --num-ctx` gives a context length). A context beyond the record's `contextWindow` is a usage
 * error; on an engine other than Ollama, which keeps the context it was started with, it is named
 * as ignored rather than sent.
 */
function loadModelOptions(provider: RegisteredProvider, declared: ProviderModel, kind: string, options: LoadOptions): { modelOptions: Readonly<Record<string, unknown>> | undefined; ignored: string[] } {
  const { contextLength, modelOptions } = options;
  if (contextLength === undefined) return { modelOptions, ignored: [] };
  if (!Number.isInteger(contextLength) || contextLength < 1 || contextLength > declared.contextWindow) {
    throw new UsageError(`a context of ${contextLength} tokens does not fit ${provider.id}:${declared.id}: its record declares a contextWindow of ${declared.contextWindow}`, {
      hint: `give a whole number from 1 to ${declared.contextWindow} (or raise contextWindow in ${provider.id}'s record if the model takes more)`,
    });
  }
  if (kind !== 'ollama') return { modelOptions, ignored: ['num_ctx'] };
  return { modelOptions: { ...modelOptions, num_ctx: contextLength }, ignored: [] };
}

/**
 * Loads a declared model into its local engine. With a VRAM budget declared, models the budget
 * requires out are unloaded first — only lower-ranked ones (see `planSwap`) unless `force` —
 * and a load that would need a higher-ranked model out is refused (exit 4; recorded as a load with
 * outcome `refused`, unless it was a dry run). A model loaded with another context than the
 * `num_ctx` asked for is loaded again through the same plan. Every unload and the load are
 * recorded as engine events, the load with its duration (a cold start `metrics` and the router's
 * cold-start estimate read).
 */
export async function loadEngineModel(store: Store, provider: RegisteredProvider, model: string, options: LoadOptions): Promise<LoadOutcome> {
  const declared = requireDeclared(provider, model);
  const kind = provider.record.engine?.kind ?? 'openai-compatible';
  if (options.keepAlive !== undefined && kind !== 'ollama') {
    throw new UsageError(`--keep-alive is Ollama's: ${provider.id}'s engine is ${kind}, which would not honour it`, {
      hint: `leave it out; the engine keeps the model until it is unloaded (\`syndicate engine unload ${provider.id}:${declared.id}\`) or by its own settings`,
    });
  }
  if (options.modelOptions !== undefined && kind !== 'ollama') {
    throw new UsageError(`model options are Ollama's: ${provider.id}'s engine is ${kind}, which would not honour them`, {
      hint: `leave them out; set the context in how ${provider.id}'s engine is started`,
    });
  }
  const { modelOptions, ignored } = loadModelOptions(provider, declared, kind, options);
  const controller = controllerFor(provider.record);
  const state = await stateOf(store, provider, controller);
  const resident = state.resident ?? [];
  const outcome: LoadOutcome = { provider: provider.id, model: declared.id, alreadyResident: false, evicted: [], explanation: [], dryRun: options.dryRun === true, ...(ignored.length === 0 ? {} : { ignored }) };
  const engineOptions = {
    timeoutMs: options.timeoutMs,
    ...(declared.kind === 'embedding' ? { embedding: true } : {}),
    ...(options.keepAlive === undefined ? {} : { keepAlive: options.keepAlive }),
    ...(modelOptions === undefined ? {} : { modelOptions }),
  };
  const loaded = resident.find((entry) => entry.state === 'loaded' && sameModel(provider, entry.model, declared.id));
  const wantedContext = modelOptions?.['num_ctx'];
  // Ollama's scheduler starts a new runner when the options change how the model is loaded: a cold start.
  const reload = loaded !== undefined && typeof wantedContext === 'number' && loaded.contextLength !== undefined && loaded.contextLength !== wantedContext;
  if (loaded !== undefined && !reload) {
    const settingsSent = options.keepAlive !== undefined || modelOptions !== undefined;
    if (!settingsSent || options.dryRun === true) return { ...outcome, alreadyResident: true, explanation: [`${declared.id} is already loaded`] };
    // Otherwise Ollama's load of a loaded model only sets its keep-alive anew: asked for, so sent (no cold start to record).
    await engineControl(store, provider, options.timeoutMs, () => controller.load(declared.id, engineOptions));
    return { ...outcome, alreadyResident: true, explanation: [`${declared.id} is already loaded${options.keepAlive === undefined ? '' : `; its keep-alive is now ${options.keepAlive}`}`] };
  }
  // A reload frees the runner it replaces first (Ollama expires it before starting the new one): the model itself is not counted as in use.
  const others = resident.filter((entry) => !sameModel(provider, entry.model, declared.id));
  const plan = planSwap({
    requested: swapModel(declared.id, declared, declared.vramGb, options.task),
    resident: others.map((entry) => ({
      ...swapModel(entry.model, declaredModel(provider, entry.model), residentGb(provider, entry), options.task),
      ...((options.inUse ?? []).some((used) => sameModel(provider, entry.model, used)) ? { inUse: true } : {}),
    })),
    budgetGb: provider.record.engine?.vramBudgetGb,
    task: options.task,
    force: options.force === true,
  });
  outcome.explanation = [...(reload ? [`${declared.id} was loaded with a ${loaded.contextLength}-token context: loaded again with num_ctx ${String(wantedContext)}`] : []), ...plan.explanation];
  if (plan.kind === 'refused') {
    // Asked for and refused before the engine was asked to change anything: counted beside the loads it carried out (never as a cold start).
    if (options.dryRun !== true) recordEngineEvent(store, { providerId: provider.id, model: declared.id, kind: 'load', detail: `${options.detail ?? 'engine load'}: ${plan.message}`, outcome: 'refused' });
    throw new PolicyRefusalError('engine_swap_refused', plan.message, {
      // Named as a whole command: the gateway's Ollama clients ask for loads too, and have no --force.
      hint:
        plan.cause === 'too_large'
          ? `no eviction makes room for it (--force neither): if the host has the memory, raise engine.vramBudgetGb in ${provider.id}'s record; if the model takes less, correct its vramGb there`
          : plan.cause === 'in_use'
            ? 'load it again once the requests using the models in the way have ended'
            : `unload a model first (\`syndicate engine unload ${provider.id}:${plan.outranking[0] ?? 'MODEL'}\`${plan.outranking.length > 1 ? `; also in the way: ${plan.outranking.slice(1).join(', ')}` : ''}), raise the model's priority, or evict by rank regardless with \`syndicate engine load --force ${provider.id}:${declared.id}\``,
      details: { explanation: outcome.explanation },
    });
  }
  if (options.dryRun === true) {
    return { ...outcome, evicted: plan.evict.map((entry) => ({ model: entry.model, unloadMs: 0 })) };
  }
  for (const victim of plan.evict) {
    const unloadMs = await recordedOperation(store, { providerId: provider.id, model: victim.model, kind: 'unload', detail: `evicted for ${declared.id}${options.force === true ? ' (forced)' : ''}` }, () =>
      engineControl(store, provider, options.timeoutMs, () => controller.unload(victim.model, { timeoutMs: options.timeoutMs })),
    );
    outcome.evicted.push({ model: victim.model, unloadMs });
  }
  const loadMs = await recordedOperation(store, { providerId: provider.id, model: declared.id, kind: 'load', detail: options.detail ?? 'engine load' }, () =>
    engineControl(store, provider, options.timeoutMs, () => controller.load(declared.id, engineOptions)),
  );
  return { ...outcome, loadMs };
}

export interface UnloadOutcome {
  provider: string;
  model: string;
  /** The engine did not hold it: nothing was done. */
  wasResident: boolean;
  unloadMs?: number;
}

/** Unloads a model from its local engine (any model the engine holds, declared or not) and records it (`detail`: who asked, default `engine unload`). */
export async function unloadEngineModel(store: Store, provider: RegisteredProvider, model: string, options: { timeoutMs: number; detail?: string }): Promise<UnloadOutcome> {
  const controller: EngineController = controllerFor(provider.record);
  const state = await stateOf(store, provider, controller);
  const match = state.resident?.find((entry) => sameModel(provider, entry.model, model));
  if (state.resident !== undefined && match === undefined) {
    // Single-model engines refuse an unload whatever the model: say that rather than "not loaded".
    if (state.mode === 'single-model') await engineControl(store, provider, options.timeoutMs, () => controller.unload(model, { timeoutMs: options.timeoutMs }));
    return { provider: provider.id, model, wasResident: false };
  }
  const engineName = match?.model ?? model;
  const unloadMs = await recordedOperation(store, { providerId: provider.id, model: engineName, kind: 'unload', detail: options.detail ?? 'engine unload' }, () =>
    engineControl(store, provider, options.timeoutMs, () => controller.unload(engineName, { timeoutMs: options.timeoutMs })),
  );
  return { provider: provider.id, model: engineName, wasResident: true, unloadMs };
}

/**
 * `engine start`: starts the declared engine process and records its start; a model the engine
 * holds as soon as it answers (a single-model server loads it at start) gets a load event timed
 * by the whole start — its cold start. Once the engine answers (started, or found answering), the
 * holds saying nothing answered there are lifted in every syndicate process (`released`); holds
 * for failing calls and rate limits stay.
 */
export async function startProviderEngine(store: Store, provider: RegisteredProvider, options: StartOptions) {
  const outcome = await startEngine(store, provider, options);
  // An engine syndicate started that is still alive was not asked whether it answers: nothing proved.
  const answered = outcome.started || outcome.process === undefined;
  const released = answered ? releaseHolds(store, [{ provider }], 'unreachable') : [];
  if (!outcome.started) return { ...outcome, loaded: [] as string[], released };
  recordEngineEvent(store, { providerId: provider.id, model: '', kind: 'start', durationMs: outcome.readyMs, detail: outcome.process.command.join(' ') });
  let loaded: string[] = [];
  try {
    loaded = ((await controllerFor(provider.record).state()).resident ?? []).filter((model) => model.state === 'loaded').map((model) => model.model);
  } catch {
    // Ready but its model list did not answer yet: no load to attribute.
  }
  // Recorded under the record's id, which metrics and the router's cold-start estimate look up.
  loaded = loaded.map((model) => declaredModel(provider, model)?.id ?? model);
  for (const model of loaded) recordEngineEvent(store, { providerId: provider.id, model, kind: 'load', durationMs: outcome.readyMs, detail: 'loaded at engine start' });
  return { ...outcome, loaded, released };
}

/** `engine stop`: stops the engine process syndicate started and records the stop. */
export async function stopProviderEngine(store: Store, provider: RegisteredProvider, options: { graceMs: number }) {
  const outcome = await stopEngine(store, provider, options);
  if (outcome.stopped) recordEngineEvent(store, { providerId: provider.id, model: '', kind: 'stop', durationMs: outcome.stopMs, detail: outcome.killed ? 'SIGKILL after the grace period' : 'SIGTERM' });
  return outcome;
}

/** How long a routed request waits for one model to leave (or wake in) its engine before its call goes ahead anyway. */
const EVICTION_TIMEOUT_MS = 30_000;

/**
 * Gets a local engine ready for a routed call to a cold model: the lower-ranked models the
 * route's hot-swap plan names are unloaded first (`Candidate.evicts`), and an engine that does not
 * load on request — vLLM asleep in sleep mode — is woken. Each step is recorded. A step that
 * fails does not stop the call (the engine then frees memory by its own rule, or the call fails on
 * its own and falls back) and comes back as a warning for the attempt's evidence; the models
 * unloaded come back too.
 */
export async function prepareEngineForRoute(
  store: Store,
  provider: RegisteredProvider,
  route: { model: string; evicts?: readonly string[] },
  signal?: AbortSignal,
): Promise<{ warnings: string[]; unloaded: string[] }> {
  const controller = controllerFor(provider.record);
  const warnings: string[] = [];
  const unloaded: string[] = [];
  for (const model of route.evicts ?? []) {
    // A caller that went away needs no room made for it.
    if (signal?.aborted === true) return { warnings, unloaded };
    try {
      await recordedOperation(store, { providerId: provider.id, model, kind: 'unload', detail: `evicted for ${route.model} (routing)` }, () => controller.unload(model, { timeoutMs: EVICTION_TIMEOUT_MS }));
      unloaded.push(model);
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      warnings.push(`could not unload ${model} to make room for ${route.model}: ${error.message}`);
    }
  }
  if (provider.record.engine?.kind === 'vllm' && signal?.aborted !== true) {
    try {
      const before = await controller.state();
      if (before.resident?.some((entry) => entry.model === route.model && entry.state === 'sleeping') === true) {
        await recordedOperation(store, { providerId: provider.id, model: route.model, kind: 'load', detail: 'woken for a routed request' }, () => controller.load(route.model, { timeoutMs: EVICTION_TIMEOUT_MS }));
      }
    } catch (error) {
      if (!(error instanceof SyndicateError)) throw error;
      warnings.push(`could not wake ${route.model}: ${error.message}`);
    }
  }
  return { warnings, unloaded };
}
