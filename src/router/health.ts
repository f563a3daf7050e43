import { UpstreamError, type SyndicateError } from '../errors.js';
import type { EngineKind, ProviderClass } from '../common/vocabulary.js';
import type { RegisteredProvider } from '../registry/types.js';
import { engineCredentialHeaders } from '../registry/credentials.js';
import { sameModelOnEngine } from '../registry/model-names.js';
import { residentFromLlamaCppRouter } from '../engines/control/llama-cpp.js';
import { residentFromLlamaSwap } from '../engines/control/llama-swap.js';
import { residentFromLmStudio } from '../engines/control/lmstudio.js';
import { fetchEngineJson, noAnswerInTime } from '../transport/engine-info.js';
import { DEFAULT_TRANSPORT_TIMEOUTS } from '../transport/transport.js';
import { notServedCause, type NotServedCause } from '../wire/error-scope.js';
import type { Store } from '../store/store.js';
import {
  holdTarget,
  isReleased,
  isToolsRefusalReleased,
  latestRelease,
  LONGEST_SHARED_HOLD_MS,
  storeHoldBook,
  type HoldBook,
  type HoldKind,
  type ReleaseLedger,
  type SharedHold,
  type SharedToolsRefusal,
} from './shared-holds.js';
import type { HealthSnapshot, InUseSnapshot, LiveFirstTokens, LoadedContextSnapshot, ModelHealthSnapshot, ProviderHealth, ToolsRefusalSnapshot, WarmSnapshot } from './types.js';
import { loadedContextsOf, type LoadedContexts } from './loaded-context.js';

/** Reads JSON metadata from a local engine, with the record's credential headers (`engineCredentialHeaders`); injectable for tests. */
export type EngineProbe = (url: string, timeoutMs: number, headers: Record<string, string>) => Promise<unknown>;

export interface HealthMonitorOptions {
  /** How long an observation of a local engine is reused, and how long a local engine reported down stays out. Default 5 s. */
  ttlMs?: number;
  /** How long a hosted provider reported down stays out of routes. Default 30 s. */
  hostedFailureTtlMs?: number;
  /** Failed calls in a row, within the TTL, that mark a provider down. Default 3. */
  failureThreshold?: number;
  /** How long a provider that answered 429 without saying how long to wait is held back. Default 2 s. */
  rateLimitDefaultMs?: number;
  /** Probe timeout per engine; nothing waits longer on an unreachable engine. Default 1 s. */
  probeTimeoutMs?: number;
  now?: () => number;
  probe?: EngineProbe;
  /** Where a record's key (`auth.env`) is read for the probes of an engine started with an API key. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Where holds are shared with the other syndicate processes of the host (`storeHoldBook`): this
   * monitor records its holds there and honours theirs. Absent: its holds are its own.
   */
  holdBook?: HoldBook;
}

/**
 * Whom a failure holds back: the provider (every model of it), or only the model the call was for
 * (its other models stay routable). What nothing says is about one model is the provider's.
 */
export type FailureScope = 'provider' | 'model';

/** What one failed call says about its provider or model, as the pipeline reports it. */
export type CallFailure = CallFailureKind & {
  /**
   * The upstream's HTTP status when it answered, and syndicate's error code: what a hold shared
   * with other processes says of the failure, which never repeats the upstream's own text.
   */
  status?: number;
  code?: string;
  /**
   * A call that waited out the first-byte or the idle timeout (`HUNG_CODES`): how long it waited
   * in silence, in ms — the timeout it ran out of. It holds the provider that long at once.
   */
  waitedMs?: number;
  /**
   * The failure holds at once, not after several in a row: llama-swap could not start the model's
   * process (`model_start_failed`), and each further call would wait for another start attempt
   * (up to its healthCheckTimeout, 120 s by default) to fail the same way.
   */
  atOnce?: true;
};

type CallFailureKind =
  /** Nothing answered: connection refused (or, from a local engine, reset before any response), a name that does not resolve, a connect timeout. Always the provider's. */
  | { kind: 'unreachable'; reason: string }
  /**
   * It answered 429: held back for as long as it asked, or `rateLimitDefaultMs` — that model alone
   * (`scope: 'model'`, the default of hosted APIs' per-model limits), or the provider when the answer
   * says the account is exhausted.
   */
  | { kind: 'rate_limited'; reason: string; retryAfterSeconds?: number; scope?: FailureScope }
  /**
   * It answered that the model does not exist (404 `model_not_found` and the like; `cause` default
   * `not_found`), or that it serves no embeddings (`embeddings_not_enabled`: llama-server's 501):
   * that model is out for the TTL.
   */
  | { kind: 'model_not_found'; reason: string; cause?: NotServedCause }
  /**
   * It answered, but this call failed: a 5xx or other error status, a broken or malformed answer, a
   * timeout after connecting — counted against the provider, or against the model alone when the
   * answer says the model is overloaded (Anthropic's 529) or its process could not start (llama-swap's 502).
   */
  | { kind: 'error'; reason: string; scope?: FailureScope };

/**
 * Engines that, by default, unload other models on their own when they load one: llama-swap runs
 * one model at a time unless its config groups them (ProcessGroup.ProxyRequest stops the one it ran),
 * and LM Studio's Auto-Evict (on by default) unloads the models it loaded on demand before loading
 * another. After a load by one of these, what it holds is read again on the next route.
 */
const ENGINES_EVICTING_ON_LOAD: ReadonlySet<string> = new Set(['llama-swap', 'lmstudio']);

/** The transport's code for a call whose upstream accepted the connection and sent no response in time. */
export const FIRST_BYTE_TIMEOUT_CODE = 'upstream_first_byte_timeout';

/**
 * The transport's codes for a call the upstream left waiting in silence — no response after it
 * accepted the connection (first byte), or nothing more in the middle of an answer (idle) — with
 * the clock each ran out of.
 */
const HUNG_CODES: ReadonlyMap<string, 'firstByteMs' | 'idleMs'> = new Map([
  [FIRST_BYTE_TIMEOUT_CODE, 'firstByteMs'],
  ['upstream_idle_timeout', 'idleMs'],
]);

/** Transport failures that, before any response, mean nothing answered: refused, unresolved, no connection in time. */
const NOTHING_ANSWERED_CODES = new Set(['upstream_unreachable', 'upstream_connect_timeout']);

/**
 * Classifies a failed call for the monitor. `status` is the upstream's HTTP status when it
 * answered at all. A reset before any response means a local engine is unreachable (it crashed
 * or is restarting, and its probe says when it is back); from a hosted provider, which accepted
 * the connection and is never probed, it is one failed call, counted like a 5xx: the vendors'
 * SDKs resend at once after one, and holding the provider out for the hosted TTL would make
 * every client wait that long for a blip. A reset in the middle of a response is one failed
 * call, whoever sent it.
 */
export function callFailureOf(error: SyndicateError, status: number | undefined, providerClass: ProviderClass): CallFailure {
  const condition = error instanceof UpstreamError ? error.condition : undefined;
  const answered = { code: error.code, ...(status === undefined ? {} : { status }) };
  if (status === 429) {
    const retryAfterSeconds = error instanceof UpstreamError ? error.retryAfterSeconds : undefined;
    return {
      kind: 'rate_limited',
      reason: error.message,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      scope: condition === 'account_limited' ? 'provider' : 'model',
      ...answered,
    };
  }
  const localReset = providerClass === 'local' && error.code === 'upstream_reset';
  if (status === undefined && (NOTHING_ANSWERED_CODES.has(error.code) || localReset)) return { kind: 'unreachable', reason: error.message, ...answered };
  const notServed = notServedCause(condition);
  if (notServed !== undefined) return { kind: 'model_not_found', reason: error.message, ...(notServed === 'not_found' ? {} : { cause: notServed }), ...answered };
  const hung = HUNG_CODES.get(error.code);
  // The timeout it waited out, as the transport says it (a `provider test --timeout` sets its own),
  // at most the fixed default every other call waits: the hold spares later requests the wait one
  // of them would have, and an operator's `provider test --timeout 10m` of a hung engine must not
  // keep it out of every route for ten minutes.
  const timeoutMs = error.details?.['timeoutMs'];
  const defaultMs = hung === undefined ? undefined : DEFAULT_TRANSPORT_TIMEOUTS[hung];
  const waited = defaultMs === undefined ? {} : { waitedMs: typeof timeoutMs === 'number' && timeoutMs > 0 ? Math.min(timeoutMs, defaultMs) : defaultMs };
  if (condition === 'model_start_failed') return { kind: 'error', reason: error.message, scope: 'model', atOnce: true, ...answered };
  return { kind: 'error', reason: error.message, scope: condition === 'model_overloaded' ? 'model' : 'provider', ...answered, ...waited };
}

/** What the hint of a failed call (or of a provider held for them, of the last) names: its HTTP status, or that its connection was reset. */
export type LastFailure = Pick<ProviderHealth, 'status' | 'connectionReset'>;

/** The `LastFailure` of a failed call. */
export function lastFailureOf(failure: CallFailure): LastFailure {
  if (failure.status !== undefined) return { status: failure.status };
  return failure.code === 'upstream_reset' ? { connectionReset: true } : {};
}

/**
 * Why a provider is down, with — for failing calls — what the last one was: the same fields
 * whether this process saw the calls fail (`markDown`) or another did and shared its hold
 * (`heldLonger`), so the hint every process prints from them says the same.
 */
function downCause(cause: ProviderHealth['cause'], last: LastFailure): Pick<ProviderHealth, 'cause' | 'status' | 'connectionReset'> {
  if (cause !== 'failing') return cause === undefined ? {} : { cause };
  return { cause, ...(last.status === undefined ? {} : { status: last.status }), ...(last.connectionReset === true ? { connectionReset: true } : {}) };
}

/**
 * What a hold shared with other processes says of the failure that began it: the HTTP status and
 * syndicate's code when the upstream answered (its own text may quote the request); when nothing
 * answered, the transport's message (syndicate's words from the socket error: the host and errno).
 */
function shareableReason(provider: RegisteredProvider, failure: CallFailure): string {
  const code = failure.code === undefined ? '' : ` (${failure.code})`;
  if (failure.status !== undefined) return `${provider.id} answered HTTP ${failure.status}${code}`;
  if (failure.kind === 'unreachable' && failure.code !== undefined) return failure.reason;
  return `${provider.id} ${failure.kind === 'rate_limited' ? 'is rate-limiting' : failure.kind === 'unreachable' ? 'is unreachable' : 'failed'}${code}`;
}

/**
 * Whether a hold another process shared began with a call that waited out the first-byte or the
 * idle timeout (`HUNG_CODES`): its reason is `shareableReason`'s for such a call, `ID failed (CODE)`
 * (a hung call has no status). A hold three failing calls in a row began says so first, and is not one.
 */
function sharedHoldIsHung(provider: string, hold: Pick<SharedHold, 'state' | 'cause' | 'reason'>): boolean {
  if (hold.state !== 'down' || hold.cause !== 'failing') return false;
  for (const code of HUNG_CODES.keys()) if (hold.reason === `${provider} failed (${code})`) return true;
  return false;
}

/**
 * A hold that says the engine of a call hung, begun while the call waited for its first byte
 * (`HealthMonitor.watchForHung`): by this process's monitor, or by another process on the store.
 */
export interface HungHold {
  provider: string;
  /** Set when the model alone is held. */
  model?: string;
  /** The hold's reason as this process reports it. */
  reason: string;
  /** Epoch ms the hold began, and ends. */
  since: number;
  until: number;
  /** Another syndicate process found it hung (its hold was read from the store), or this one did. */
  byAnotherProcess: boolean;
}

interface HungWatcher {
  provider: RegisteredProvider;
  model: string;
  since: number;
  onHung: (hold: HungHold) => void;
}

/**
 * How often a call waiting for its first byte reads the store's holds for one another process
 * found hung meanwhile: one cached read (a `PRAGMA data_version`, the holds read again only when
 * they changed) per interval, and only while some call waits.
 */
export const HUNG_WATCH_INTERVAL_MS = 250;

interface Observation {
  health: ProviderHealth;
  /** Model ids resident at the time, when the engine says (undefined: unknown). */
  resident: string[] | undefined;
  /** The context each resident model was loaded with, when the engine's answers say (`loadedContextsOf`). */
  loadedContexts?: LoadedContexts;
  /**
   * What the engine holds is to be read again on the next route, the observation's TTL
   * notwithstanding: a model was loaded by an engine that unloads others on its own when it loads
   * one (`ENGINES_EVICTING_ON_LOAD`), and which it unloaded only it can say.
   */
  recheck?: true;
  observedAt: number;
  /** Whose base URL was probed: a re-registered provider with a new URL is probed afresh. */
  baseUrl: string;
  /**
   * Epoch ms a hold longer than the TTL lasts until (a call that waited out a timeout: `markDown`):
   * until then the engine is not probed again, since a probe that answers does not lift it.
   */
  until?: number;
}

/** A provider held back after a 429, until the time it asked for has passed. */
interface RateLimit {
  until: number;
  reason: string;
  observedAt: number;
  baseUrl: string;
}

/** The failed calls of a provider (or of one model) since its last success or its last time marked down. */
interface FailureRun {
  at: number[];
  baseUrl: string;
}

/** One model of a provider held out of routes: rate-limited, not served, or overloaded call after call. */
interface ModelHold {
  health: ProviderHealth;
  /** Epoch ms it began: a release at or after then lifts it. */
  since: number;
  until: number;
  baseUrl: string;
}

const NO_TOOLS_REFUSALS: ToolsRefusalSnapshot = Object.freeze({});

/** A provider:model whose engine refused a request's tools (`HealthMonitor.reportToolsRefused`). */
interface ToolsRefusal {
  reason: string;
  /** Epoch ms of the refusal: a release at or after then lets tools requests try it again. */
  since: number;
  /** Epoch ms it lasts until: a day after it, as in the store. */
  until: number;
  baseUrl: string;
}

const NO_SHARED_TOOLS_REFUSALS: ReadonlyMap<string, readonly SharedToolsRefusal[]> = new Map();

/**
 * A local engine's health as this monitor sees it changed (`HealthMonitor.onEngineTransition`):
 * it stopped answering (`down`) or answers again (`up`). `first`: the first observation of it in
 * this process, reported only when it is down (an engine that answers from the start is no news).
 */
export interface EngineTransition {
  provider: string;
  baseUrl: string;
  state: 'up' | 'down';
  first: boolean;
  /** Why it is down (the probe's or the failed call's words). */
  reason?: string;
  /** Down because nothing answered (`unreachable`) or because it answered with errors (`failing`, with the `status` when one). */
  cause?: 'unreachable' | 'failing';
  status?: number;
}

/**
 * A hosted provider, or one of its models, held out of routes by this process or let go of again
 * (`HealthMonitor.onHoldTransition`): once per change, not per failed call.
 */
export type HoldTransition =
  | {
      provider: string;
      /** Set when the model alone is held; the provider's other models stay routable. */
      model?: string;
      baseUrl: string;
      state: 'held';
      hold: 'down' | 'rate_limited';
      /** Why, in syndicate's words (`shareableReason`: a status and a code, never the upstream's text, which may quote the request). */
      reason: string;
      /** For a `down` hold: the model is not served (`not_found`, ...), nothing answered, or calls failed. */
      cause?: string;
      /** When it ends unless a success or a release ends it first (ISO). */
      until: string;
    }
  | {
      provider: string;
      model?: string;
      baseUrl: string;
      state: 'lifted';
      hold: 'down' | 'rate_limited';
      /** Its time ran out (`expired`), a call succeeded (`answered`), or a release was recorded (`released`: `provider release`, a `provider test` that answered). */
      how: 'expired' | 'answered' | 'released';
    };

/** A hosted hold told to `onHoldTransition`'s listeners and not yet told lifted. */
interface ToldHold {
  provider: string;
  model: string | undefined;
  baseUrl: string;
  hold: 'down' | 'rate_limited';
  until: number;
}

/** A provider, or one of its models, held out of routes (`HealthMonitor.holds`). */
export interface HeldBack {
  provider: string;
  /** Set when the model alone is held; the provider's other models stay routable. */
  model?: string;
  state: 'down' | 'rate_limited';
  /** Until it is tried (down) or used (rate-limited) again. */
  retryAfterMs: number;
}

/** The key of a provider:model in the per-model maps: its `holdTarget`. */
function modelKey(providerId: string, model: string): string {
  return holdTarget(providerId, model);
}

/** The provider id and model of a `modelKey`. */
function splitModelKey(key: string): [string, string] {
  const newline = key.indexOf('\n');
  return [key.slice(0, newline), key.slice(newline + 1)];
}

/**
 * A cached availability check, kept in memory for the life of the process. Local engines are
 * probed with `GET baseUrl/models` (all in parallel, short timeout); hosted providers are assumed
 * available unless the pipeline recently reported failures.
 *
 * What the pipeline reports decides how long a provider stays out of routes:
 * - unreachable (nothing answered): down at once, for the TTL (local 5 s, then probed again;
 *   hosted 30 s);
 * - 429: held back (`rate_limited`) for exactly the wait it asked for (Retry-After, else its
 *   rate-limit reset headers: `waitAskedFor`), 2 s when it said nothing;
 * - any other failure (5xx, an HTML error page, a broken stream, a timeout after connecting)
 *   fails that call only; `failureThreshold` (3) of them in a row within the TTL mark it down
 *   for the TTL — a circuit breaker. A success resets the count. But a call that waited out the
 *   first-byte timeout (it accepted the connection and never answered) or the idle timeout (it
 *   stopped in the middle of its answer) marks it down at once, for as long as that call waited
 *   (`waitedMs`: 120 s, 60 s; the TTL if that is longer): each such call lasts far longer than
 *   the TTL, so a run of them never gathers within it, and a hanging provider would be tried first
 *   by every request, each waiting the whole timeout before its fallback. Only a call that
 *   succeeds (or a release) lifts that hold before its end — not a probe of a local engine: an
 *   engine hung on its completions may still list its models.
 *
 * Failures whose answer says they concern the model asked for hold back that provider:model
 * alone, and the provider's other models stay routable (`knownModels`, `modelSnapshot`):
 * - a 429 (hosted APIs limit each model apart), for its Retry-After, unless it says the account
 *   is exhausted (then the provider, as above);
 * - a model the provider says does not exist (404 `model_not_found` and the like): out for the TTL;
 * - an overloaded model (Anthropic's 529): counted for that model alone, out for the TTL at the
 *   threshold.
 * Nothing answering, auth failures and every other failure stay the provider's: they say nothing
 * about one model, and holding back more never sends a request anywhere the policy did not allow.
 *
 * With a `holdBook` (the store's: `sharedHealthMonitor(store)`), each hold is also recorded for
 * the other syndicate processes of the host when it begins, and their holds not yet over are
 * honoured here: a `run` does not send to a model the gateway saw rate-limited. Only the holds
 * (and the tools refusals: `reportToolsRefused`) are shared, never counts, probes or latencies;
 * another process's hold adds an exclusion until its time and nothing else (no half-open trial
 * follows it here). A success clears this process's
 * own recorded hold when it clears the hold here; a rate limit ends by time only — or, like any
 * hold, by a release recorded in the store (`releaseHolds`: `provider release`, a `provider test`
 * that answers, `engine start`), which this monitor applies to its own holds (`applyReleases`).
 */
export class HealthMonitor {
  private readonly ttlMs: number;
  private readonly hostedFailureTtlMs: number;
  private readonly failureThreshold: number;
  private readonly rateLimitDefaultMs: number;
  private readonly probeTimeoutMs: number;
  /** The clock its holds run on (`HealthMonitorOptions.now`, else `Date.now`): what dates a hold's end where one is said. */
  readonly now: () => number;
  private readonly probe: EngineProbe;
  private readonly env: NodeJS.ProcessEnv;
  private readonly observations = new Map<string, Observation>();
  private readonly inFlight = new Map<string, Promise<Observation>>();
  /** Provider id -> model id -> first token of its last answer, with the base URL it was observed at. */
  private readonly firstTokens = new Map<string, { baseUrl: string; byModel: Map<string, number> }>();
  private readonly rateLimits = new Map<string, RateLimit>();
  /** Provider id -> model id -> how many calls of this process are using it now (`callStarted`). */
  private readonly callsInFlight = new Map<string, Map<string, number>>();
  private readonly failureRuns = new Map<string, FailureRun>();
  /** `modelKey(provider, model)` -> its hold; provider-wide state above always comes first. */
  private readonly modelHolds = new Map<string, ModelHold>();
  private readonly modelFailureRuns = new Map<string, FailureRun>();
  /** `modelKey(provider, model)` -> the refusal of its tools, for a day (see `reportToolsRefused`). */
  private readonly toolsRefusals = new Map<string, ToolsRefusal>();
  private readonly holdBook: HoldBook | undefined;
  /** The releases last applied to this process's holds (`applyReleases`). */
  private appliedReleases: ReleaseLedger | undefined;
  /**
   * Whether a hold, refusal, failed call or probe was noted since `appliedReleases` was applied: a
   * release already in that ledger lifts it too when it is as late as the hold's start (a refusal
   * seen before a release but reported after it, a probe begun before one), so it is applied again.
   */
  private notedSinceReleasesApplied = false;
  /** Provider id -> the last state of its local engine reported to `onEngineTransition`'s listeners, at which base URL. */
  private readonly engineStates = new Map<string, { state: 'up' | 'down'; baseUrl: string }>();
  private readonly transitionListeners = new Set<(transition: EngineTransition) => void>();
  /** The calls of this process waiting for their first byte (`watchForHung`), and the timer that reads the store for them. */
  private readonly hungWatchers = new Set<HungWatcher>();
  private hungWatchTimer: NodeJS.Timeout | undefined;
  /** `holdTarget(provider, model)` -> the hosted holds told to `onHoldTransition`'s listeners and not yet told lifted. */
  private readonly toldHolds = new Map<string, ToldHold>();
  private readonly holdListeners = new Set<(transition: HoldTransition) => void>();
  /** Wakes when the first told hold's time runs out, to tell it lifted (`noteEndedHolds`). */
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(options: HealthMonitorOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.hostedFailureTtlMs = options.hostedFailureTtlMs ?? 30_000;
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 3);
    this.rateLimitDefaultMs = options.rateLimitDefaultMs ?? 2000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.probe = options.probe ?? ((url, timeoutMs, headers) => fetchEngineJson(url, { timeoutMs, headers }));
    this.env = options.env ?? process.env;
    this.holdBook = options.holdBook;
  }

  /**
   * Calls `listener` each time a local engine's health changes as routing sees it — a probe or a
   * call found it down where it was up, or up where it was down — once per change, not per probe.
   * Returns the unsubscribe.
   */
  onEngineTransition(listener: (transition: EngineTransition) => void): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  /**
   * Calls `listener` each time this process holds a hosted provider or one of its models out of
   * routes (rate-limited, down) where it did not, and when it lets go of it again (its time ran
   * out, a call succeeded, a release): once per change, with syndicate's reason (never the
   * upstream's text). Holds other processes recorded are not told. Returns the unsubscribe.
   */
  onHoldTransition(listener: (transition: HoldTransition) => void): () => void {
    this.holdListeners.add(listener);
    return () => {
      this.holdListeners.delete(listener);
      if (this.holdListeners.size > 0) return;
      this.toldHolds.clear();
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    };
  }

  /**
   * Tells the listeners of the told holds whose time has run out that they are lifted; the timer
   * `noteHoldBegun` sets calls it, and a caller on another clock may too.
   */
  noteEndedHolds(): void {
    const now = this.now();
    for (const [key, told] of this.toldHolds) {
      if (told.until <= now) this.noteHoldLifted(key, 'expired');
    }
    this.scheduleHoldEnd();
  }

  /** A hold of a hosted provider (or model) begun or lengthened here: told once, while it was not already. */
  private noteHoldBegun(provider: RegisteredProvider, model: string | undefined, hold: { state: 'down' | 'rate_limited'; until: number; reason: string; cause?: string }): void {
    if (this.holdListeners.size === 0 || provider.record.class === 'local') return;
    const key = holdTarget(provider.id, model);
    const baseUrl = provider.record.baseUrl;
    const known = this.toldHolds.get(key);
    this.toldHolds.set(key, { provider: provider.id, model, baseUrl, hold: hold.state, until: Math.max(hold.until, known?.hold === hold.state ? known.until : 0) });
    if (known === undefined || known.hold !== hold.state || known.baseUrl !== baseUrl) {
      this.tellHold({
        provider: provider.id,
        ...(model === undefined ? {} : { model }),
        baseUrl,
        state: 'held',
        hold: hold.state,
        reason: hold.reason,
        ...(hold.cause === undefined ? {} : { cause: hold.cause }),
        until: new Date(hold.until).toISOString(),
      });
    }
    this.scheduleHoldEnd();
  }

  /** A told hold let go of: told lifted, once. */
  private noteHoldLifted(key: string, how: 'expired' | 'answered' | 'released'): void {
    const told = this.toldHolds.get(key);
    if (told === undefined) return;
    this.toldHolds.delete(key);
    this.tellHold({ provider: told.provider, ...(told.model === undefined ? {} : { model: told.model }), baseUrl: told.baseUrl, state: 'lifted', hold: told.hold, how });
  }

  private tellHold(transition: HoldTransition): void {
    for (const listener of this.holdListeners) {
      try {
        listener(transition);
      } catch {
        // A listener is for watching: one that fails must not fail the call it follows.
      }
    }
  }

  /** Sets the timer to the end of the first told hold (none while none is told); it never keeps the process alive. */
  private scheduleHoldEnd(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.toldHolds.size === 0) return;
    let first = Infinity;
    for (const told of this.toldHolds.values()) first = Math.min(first, told.until);
    // At least 100 ms: a clock other than the timers' (a test's) never makes it spin.
    this.holdTimer = setTimeout(() => this.noteEndedHolds(), Math.max(100, first - this.now()));
    this.holdTimer.unref();
  }

  /** Tells the listeners when a local engine's state differs from the last one they were told (or, first, when it is down). */
  private noteEngineState(provider: RegisteredProvider, health: Pick<ProviderHealth, 'state' | 'reason' | 'cause' | 'status'>): void {
    if (this.transitionListeners.size === 0 || provider.record.class !== 'local' || health.state === 'rate_limited') return;
    const baseUrl = provider.record.baseUrl;
    const last = this.engineStates.get(provider.id);
    const known = last !== undefined && last.baseUrl === baseUrl ? last : undefined;
    if (known?.state === health.state) return;
    this.engineStates.set(provider.id, { state: health.state, baseUrl });
    if (known === undefined && health.state === 'up') return;
    const cause = health.cause === 'failing' ? 'failing' : health.state === 'down' ? 'unreachable' : undefined;
    const transition: EngineTransition = {
      provider: provider.id,
      baseUrl,
      state: health.state,
      first: known === undefined,
      ...(health.state === 'down' && health.reason !== undefined ? { reason: health.reason } : {}),
      ...(cause === undefined ? {} : { cause }),
      ...(health.state === 'down' && health.status !== undefined ? { status: health.status } : {}),
    };
    for (const listener of this.transitionListeners) {
      try {
        listener(transition);
      } catch {
        // A listener is for watching: one that fails must not fail the probe or the call it follows.
      }
    }
  }

  /** Health of every provider given; probes stale local engines (in parallel) first. */
  async snapshot(providers: readonly RegisteredProvider[]): Promise<HealthSnapshot> {
    await this.refresh(providers);
    const snapshot: Record<string, ProviderHealth> = {};
    for (const provider of providers) {
      const health = this.known(provider);
      if (health !== undefined) snapshot[provider.id] = health;
    }
    return snapshot;
  }

  /** Resident models of the local engines that report them (Ollama `/api/ps`, llama-swap `/running`, LM Studio `/api/v0/models`, a llama-server router's list; single-model engines when up). */
  async warmSnapshot(providers: readonly RegisteredProvider[]): Promise<WarmSnapshot> {
    await this.refresh(providers);
    const warm: Record<string, string[]> = {};
    for (const provider of providers) {
      const observation = this.observations.get(provider.id);
      if (observation?.resident !== undefined && observation.health.state === 'up') warm[provider.id] = observation.resident;
    }
    return warm;
  }

  /**
   * The context each resident model of the local engines was loaded with, as the last probe read it
   * (`warmSnapshot` refreshes it: no request of its own): Ollama `/api/ps` `context_length`, LM
   * Studio `/api/v0/models` `loaded_context_length`, llama-server `/props` `n_ctx` (its router's
   * `meta.n_ctx`), vLLM `/v1/models` `max_model_len`. A model absent here: unknown.
   */
  loadedContextSnapshot(providers: readonly RegisteredProvider[]): LoadedContextSnapshot {
    const snapshot: Record<string, LoadedContexts> = {};
    for (const provider of providers) {
      const observation = this.observations.get(provider.id);
      if (observation?.loadedContexts !== undefined && observation.health.state === 'up' && observation.baseUrl === provider.record.baseUrl) snapshot[provider.id] = observation.loadedContexts;
    }
    return snapshot;
  }

  /**
   * The pipeline changed what a local engine holds: a cold model answered (`loaded`), models were
   * unloaded to make room for it (`unloaded`). What the last probe found is amended until the next
   * probe, so the next request is not planned against it — a model just loaded routed cold again
   * (a second cold start counted, its evictions planned again), one just evicted routed warm.
   */
  residentChanged(provider: RegisteredProvider, change: { loaded?: string; unloaded?: readonly string[] }): void {
    const observation = this.observations.get(provider.id);
    if (observation?.resident === undefined || observation.health.state !== 'up' || observation.baseUrl !== provider.record.baseUrl) return;
    const same = (a: string, b: string): boolean => sameModelOnEngine(provider.record, a, b);
    const resident = observation.resident.filter((name) => !(change.unloaded ?? []).some((model) => same(model, name)));
    const { loaded } = change;
    if (loaded !== undefined && !resident.some((name) => same(loaded, name))) resident.push(loaded);
    // llama-swap stops the model it ran to start another, LM Studio unloads the models it loaded on
    // demand before loading one (Auto-Evict): the model just loaded is held, the others may not be.
    const recheck = loaded !== undefined && ENGINES_EVICTING_ON_LOAD.has(provider.record.engine?.kind ?? 'openai-compatible');
    // A model loaded or unloaded since the probe: the context it was loaded with is no longer known.
    const changed = [...(change.unloaded ?? []), ...(loaded === undefined ? [] : [loaded])];
    const loadedContexts =
      observation.loadedContexts === undefined ? undefined : Object.fromEntries(Object.entries(observation.loadedContexts).filter(([name]) => !changed.some((model) => same(model, name))));
    this.observations.set(provider.id, { ...observation, resident, ...(loadedContexts === undefined ? {} : { loadedContexts }), ...(recheck ? { recheck: true as const } : {}) });
  }

  /**
   * A call of `model` begins in this process (its eviction planned, its request sent, its stream
   * read); the function returned ends it. Until then the model is in use (`inUseSnapshot`).
   */
  callStarted(providerId: string, model: string): () => void {
    const byModel = this.callsInFlight.get(providerId) ?? new Map<string, number>();
    this.callsInFlight.set(providerId, byModel);
    byModel.set(model, (byModel.get(model) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (byModel.get(model) ?? 1) - 1;
      if (left > 0) byModel.set(model, left);
      else byModel.delete(model);
      if (byModel.size === 0 && this.callsInFlight.get(providerId) === byModel) this.callsInFlight.delete(providerId);
    };
  }

  /**
   * Watches, while a call of `model` waits for its first byte, for a hold saying its engine hung
   * (a call that waited out the first-byte or the idle timeout: `CallFailure.waitedMs`) — of the
   * provider or of that model, begun from now on — and calls `onHung` once when one appears: at
   * once when this monitor begins it (another request of this process), within
   * `HUNG_WATCH_INTERVAL_MS` when another process records it in the store (`holdBook`). The call
   * has no reason to wait out its own timeout on an engine found hung since it was sent. Returns
   * the end of the watch; nothing runs, and nothing is read, while no call is watched.
   */
  watchForHung(provider: RegisteredProvider, model: string, onHung: (hold: HungHold) => void): () => void {
    const watcher: HungWatcher = { provider, model, since: this.now(), onHung };
    this.hungWatchers.add(watcher);
    if (this.holdBook !== undefined && this.hungWatchTimer === undefined) {
      this.hungWatchTimer = setInterval(() => this.readHungHolds(), HUNG_WATCH_INTERVAL_MS);
      // A watch never keeps a process alive: the call it watches does.
      this.hungWatchTimer.unref();
    }
    return () => this.endHungWatch(watcher);
  }

  private endHungWatch(watcher: HungWatcher): void {
    this.hungWatchers.delete(watcher);
    if (this.hungWatchers.size === 0 && this.hungWatchTimer !== undefined) {
      clearInterval(this.hungWatchTimer);
      this.hungWatchTimer = undefined;
    }
  }

  /** Tells the calls watching (`watchForHung`) of a hold saying their engine hung, begun since they were sent. */
  private noteHung(provider: RegisteredProvider, hold: HungHold): void {
    for (const watcher of [...this.hungWatchers]) {
      if (watcher.provider.id !== hold.provider || watcher.provider.record.baseUrl !== provider.record.baseUrl) continue;
      if ((hold.model !== undefined && hold.model !== watcher.model) || hold.since < watcher.since) continue;
      this.endHungWatch(watcher);
      watcher.onHung(hold);
    }
  }

  /** The store's holds other processes began, read for the calls watching (`watchForHung`). */
  private readHungHolds(): void {
    for (const watcher of [...this.hungWatchers]) {
      if (!this.hungWatchers.has(watcher)) continue;
      let holds: readonly SharedHold[];
      try {
        holds = this.othersHolds(watcher.provider);
      } catch {
        // The store could not be read this time (busy, closed): the call waits on, its own timeout still runs.
        continue;
      }
      const hung = holds.find(
        (hold) => (hold.model === undefined || hold.model === watcher.model) && hold.recordedAt >= watcher.since && sharedHoldIsHung(watcher.provider.id, hold),
      );
      if (hung === undefined) continue;
      this.noteHung(watcher.provider, {
        provider: hung.provider,
        ...(hung.model === undefined ? {} : { model: hung.model }),
        reason: `${hung.reason} (seen by another syndicate process)`,
        since: hung.recordedAt,
        until: hung.until,
        byAnotherProcess: true,
      });
    }
  }

  /** The models each provider has a call of this process in flight with. */
  inUseSnapshot(): InUseSnapshot {
    return Object.fromEntries([...this.callsInFlight].map(([providerId, byModel]) => [providerId, [...byModel.keys()]]));
  }

  /**
   * The first token of each model's last answer in this process, for the providers given (a
   * provider re-registered at another base URL starts afresh). Per model: one engine serves models
   * of very different speeds.
   */
  firstTokenSnapshot(providers: readonly RegisteredProvider[]): LiveFirstTokens {
    const snapshot: Record<string, Record<string, number>> = {};
    for (const provider of providers) {
      const observed = this.firstTokens.get(provider.id);
      if (observed !== undefined && observed.baseUrl === provider.record.baseUrl && observed.byModel.size > 0) snapshot[provider.id] = Object.fromEntries(observed.byModel);
    }
    return snapshot;
  }

  /**
   * The pipeline reports a failed call of `model` (see the class comment for what each kind does).
   * Without the model, every failure is the provider's.
   */
  reportFailure(provider: RegisteredProvider, failure: CallFailure, model?: string): void {
    this.applyReleases();
    this.notedSinceReleasesApplied = true;
    const now = this.now();
    const baseUrl = provider.record.baseUrl;
    // The model the failure holds back on its own, when it concerns one model only.
    const heldModel = failure.kind === 'model_not_found' || ('scope' in failure && failure.scope === 'model') ? model : undefined;
    const shared = shareableReason(provider, failure);
    if (failure.kind === 'rate_limited') {
      // At most a day, as the store's holds: a release then outlives every hold it may lift (`releaseHolds` prunes older ones).
      const waitMs = Math.min(failure.retryAfterSeconds === undefined ? this.rateLimitDefaultMs : failure.retryAfterSeconds * 1000, LONGEST_SHARED_HOLD_MS);
      if (heldModel !== undefined) {
        const health: ProviderHealth = { state: 'rate_limited', checkedAt: new Date(now).toISOString(), reason: failure.reason };
        this.modelHolds.set(modelKey(provider.id, heldModel), { health, since: now, until: now + waitMs, baseUrl });
      } else {
        this.rateLimits.set(provider.id, { until: now + waitMs, reason: failure.reason, observedAt: now, baseUrl });
      }
      this.share(provider, heldModel, { state: 'rate_limited', until: now + waitMs, reason: shared, recordedAt: now });
      this.noteHoldBegun(provider, heldModel, { state: 'rate_limited', until: now + waitMs, reason: shared });
      return;
    }
    if (failure.kind === 'unreachable') {
      this.markDown(provider, { reason: failure.reason, shared }, 'unreachable');
      return;
    }
    if (failure.kind === 'model_not_found' && heldModel !== undefined) {
      this.holdModelDown(provider, heldModel, { reason: failure.reason, shared }, failure.cause ?? 'not_found');
      return;
    }
    const key = heldModel === undefined ? provider.id : modelKey(provider.id, heldModel);
    const runs = heldModel === undefined ? this.failureRuns : this.modelFailureRuns;
    const window = this.ttlFor(provider);
    const previous = runs.get(key);
    const kept = previous === undefined || previous.baseUrl !== baseUrl ? [] : previous.at;
    // Failures older than the TTL are forgotten: a slow trickle of bad requests never adds up.
    const at = [...kept.filter((time) => now - time < window), now];
    // A call that waited out the first-byte or idle timeout holds the provider at once, for as long
    // as it waited: calls that each last minutes never gather within the TTL, and the next request
    // (an SDK's retry after the hold's Retry-After included) would wait as long again.
    // A model llama-swap could not start holds at once too: each further call would wait for another start attempt.
    const hung = failure.waitedMs !== undefined || failure.atOnce === true;
    if (at.length < this.failureThreshold && !hung) {
      runs.set(key, { at, baseUrl });
      return;
    }
    const inARow = hung ? '' : `${at.length} calls in a row failed; the last: `;
    const reasons = { reason: `${inARow}${failure.reason}`, shared: `${inARow}${shared}` };
    // What the last one was, for the hint: a status (a hosted 401 wants its key), or a connection reset.
    const holdMs = Math.max(this.ttlFor(provider), failure.waitedMs ?? 0);
    if (heldModel === undefined) this.markDown(provider, reasons, 'failing', lastFailureOf(failure), holdMs);
    else this.holdModelDown(provider, heldModel, reasons, 'failing', holdMs);
    if (failure.waitedMs !== undefined && this.hungWatchers.size > 0) {
      const hold = { provider: provider.id, ...(heldModel === undefined ? {} : { model: heldModel }), reason: reasons.reason, since: now, until: now + holdMs, byAnotherProcess: false };
      this.noteHung(provider, hold);
    }
  }

  /**
   * The pipeline reports that the engine refused a request's tools for `model` (llama-server
   * without `--jinja`, an Ollama model whose template has none): requests with tools are routed
   * past it from now on (`toolsRefusalSnapshot`) and requests without stay — in this process, and
   * through the `holdBook` in every syndicate process on the store. Nothing is wrong with the
   * engine's health, and it answers the same until it is restarted or the record changes, so the
   * refusal lasts a day (as the longest hold: an engine restarted with `--jinja` by hand is tried
   * again then) at this base URL, unless any release of the provider or the model
   * (`provider release`, `engine start`, a `provider test` that gets an answer) lets tools
   * requests try it again before.
   */
  reportToolsRefused(provider: RegisteredProvider, model: string, reason: string): void {
    this.applyReleases();
    this.notedSinceReleasesApplied = true;
    const now = this.now();
    const refusal = { reason, since: now, until: now + LONGEST_SHARED_HOLD_MS, baseUrl: provider.record.baseUrl };
    this.toolsRefusals.set(modelKey(provider.id, model), refusal);
    this.holdBook?.recordToolsRefusal({ provider: provider.id, model, reason, baseUrl: refusal.baseUrl, recordedAt: now, until: refusal.until });
  }

  /**
   * The models of the providers given whose engine refused a request's tools, in this process
   * (`reportToolsRefused`) or another (`holdBook`), with the earliest refusal of each; providers
   * with none are absent.
   */
  toolsRefusalSnapshot(providers: readonly RegisteredProvider[]): ToolsRefusalSnapshot {
    // Asked on every route: while no process recorded a refusal (one cached read of the store) there is nothing to build.
    const shared = this.holdBook?.toolsRefusals() ?? NO_SHARED_TOOLS_REFUSALS;
    if (this.toolsRefusals.size === 0 && shared.size === 0) return NO_TOOLS_REFUSALS;
    this.applyReleases();
    const now = this.now();
    const snapshot: Record<string, Record<string, { reason: string; since: string }>> = {};
    const note = (provider: RegisteredProvider, model: string, refusal: Pick<ToolsRefusal, 'reason' | 'since' | 'until' | 'baseUrl'>): void => {
      if (refusal.until <= now || refusal.baseUrl !== provider.record.baseUrl) return;
      const byModel = (snapshot[provider.id] ??= {});
      const known = byModel[model];
      if (known === undefined || Date.parse(known.since) > refusal.since) byModel[model] = { reason: refusal.reason, since: new Date(refusal.since).toISOString() };
    };
    for (const [key, refusal] of this.toolsRefusals) {
      if (refusal.until <= now) this.toolsRefusals.delete(key);
    }
    for (const provider of providers) {
      const prefix = modelKey(provider.id, '');
      for (const [key, refusal] of this.toolsRefusals) {
        if (key.startsWith(prefix)) note(provider, key.slice(prefix.length), refusal);
      }
      for (const refusal of shared.get(provider.id) ?? []) note(provider, refusal.model, { ...refusal, since: refusal.recordedAt });
    }
    return snapshot;
  }

  /**
   * The pipeline reports a successful call, with the model it was for and, when known, that
   * model's time to first token: the provider's and the model's failure counts start afresh.
   */
  reportSuccess(provider: RegisteredProvider, observed?: { model: string; firstTokenMs?: number }): void {
    this.applyReleases();
    const previous = this.observations.get(provider.id);
    if (previous?.health.state === 'down') {
      this.observations.delete(provider.id);
      this.holdBook?.clear(provider.id, undefined);
      if (this.toldHolds.size > 0) this.noteHoldLifted(holdTarget(provider.id, undefined), 'answered');
    }
    this.noteEngineState(provider, { state: 'up' });
    this.failureRuns.delete(provider.id);
    if (observed === undefined) return;
    const key = modelKey(provider.id, observed.model);
    this.modelFailureRuns.delete(key);
    if (this.modelHolds.get(key)?.health.state === 'down') {
      this.modelHolds.delete(key);
      this.holdBook?.clear(provider.id, observed.model);
      if (this.toldHolds.size > 0) this.noteHoldLifted(key, 'answered');
    }
    if (observed.firstTokenMs === undefined) return;
    const baseUrl = provider.record.baseUrl;
    let firstTokens = this.firstTokens.get(provider.id);
    if (firstTokens === undefined || firstTokens.baseUrl !== baseUrl) {
      firstTokens = { baseUrl, byModel: new Map() };
      this.firstTokens.set(provider.id, firstTokens);
    }
    firstTokens.byModel.set(observed.model, observed.firstTokenMs);
  }

  /**
   * What is known of a provider right now, without probing: whether it is held out, and for how
   * long (what `snapshot` reports after probing stale local engines) — by this process, or by
   * another that holds it longer (`holdBook`). Undefined: nothing known.
   */
  known(provider: RegisteredProvider): ProviderHealth | undefined {
    this.applyReleases();
    const other = this.othersHold(provider, undefined);
    return this.heldLonger(this.knownHere(provider), other !== undefined && this.answeredSince(provider, other) ? undefined : other);
  }

  /**
   * Whether this process's own probe has found the engine answering since another process found
   * nothing answering there (a hold of cause `unreachable`): that hold is disproved — the engine
   * was started again — and the probed engine is local, so using it widens nothing. Other holds
   * (rate limits, failing calls, models not served) are not something a probe can disprove.
   */
  private answeredSince(provider: RegisteredProvider, hold: SharedHold): boolean {
    if (hold.cause !== 'unreachable') return false;
    const observation = this.observations.get(provider.id);
    return observation?.health.state === 'up' && observation.baseUrl === provider.record.baseUrl && observation.observedAt > hold.recordedAt;
  }

  private knownHere(provider: RegisteredProvider): ProviderHealth | undefined {
    const observation = this.observations.get(provider.id);
    const fresh = observation !== undefined && this.isFresh(provider, observation) ? observation : undefined;
    if (fresh?.health.state === 'down') return { ...fresh.health, retryAfterMs: this.endOf(provider, fresh) - this.now() };
    const rateLimit = this.rateLimits.get(provider.id);
    if (rateLimit !== undefined) {
      const remainingMs = rateLimit.until - this.now();
      if (remainingMs > 0 && rateLimit.baseUrl === provider.record.baseUrl) {
        return { state: 'rate_limited', checkedAt: new Date(rateLimit.observedAt).toISOString(), reason: rateLimit.reason, retryAfterMs: remainingMs };
      }
      this.rateLimits.delete(provider.id);
    }
    return fresh?.health;
  }

  /**
   * The models of a provider held back on their own right now (rate-limited, not served, or
   * overloaded) by this process or another (`holdBook`), with for how long; without probing.
   * Empty when none is. What `known` says of the provider comes first: a model of a provider that
   * is down is not listed again.
   */
  knownModels(provider: RegisteredProvider): Record<string, ProviderHealth> {
    this.applyReleases();
    const held: Record<string, ProviderHealth> = {};
    const now = this.now();
    const prefix = modelKey(provider.id, '');
    for (const [key, hold] of this.modelHolds) {
      if (!key.startsWith(prefix)) continue;
      const remainingMs = hold.until - now;
      if (remainingMs <= 0 || hold.baseUrl !== provider.record.baseUrl) {
        this.modelHolds.delete(key);
        continue;
      }
      held[key.slice(prefix.length)] = { ...hold.health, retryAfterMs: remainingMs };
    }
    for (const hold of this.othersHolds(provider)) {
      if (hold.model === undefined) continue;
      const health = this.heldLonger(held[hold.model], hold);
      if (health !== undefined) held[hold.model] = health;
    }
    return held;
  }

  /** The models held back on their own (`knownModels`) of every provider given; providers with none are absent. */
  modelSnapshot(providers: readonly RegisteredProvider[]): ModelHealthSnapshot {
    const snapshot: Record<string, Record<string, ProviderHealth>> = {};
    for (const provider of providers) {
      const held = this.knownModels(provider);
      if (Object.keys(held).length > 0) snapshot[provider.id] = held;
    }
    return snapshot;
  }

  /**
   * Everything held out of routes right now, without probing: providers (no `model`) down or
   * rate-limited, and models held back on their own — what `/metrics` exports at scrape time.
   */
  holds(providers: readonly RegisteredProvider[]): HeldBack[] {
    const held: HeldBack[] = [];
    for (const provider of providers) {
      const health = this.known(provider);
      if (health !== undefined && health.state !== 'up') held.push({ provider: provider.id, state: health.state, retryAfterMs: Math.max(0, health.retryAfterMs ?? 0) });
      for (const [model, modelHealth] of Object.entries(this.knownModels(provider))) {
        if (modelHealth.state !== 'up') held.push({ provider: provider.id, model, state: modelHealth.state, retryAfterMs: modelHealth.retryAfterMs ?? 0 });
      }
    }
    return held;
  }

  private holdModelDown(provider: RegisteredProvider, model: string, reasons: HoldReasons, cause: NotServedCause | 'failing', holdMs = this.ttlFor(provider)): void {
    const now = this.now();
    const key = modelKey(provider.id, model);
    const until = now + holdMs;
    this.modelFailureRuns.delete(key);
    this.modelHolds.set(key, {
      health: { state: 'down', checkedAt: new Date(now).toISOString(), reason: reasons.reason, cause },
      since: now,
      until,
      baseUrl: provider.record.baseUrl,
    });
    this.share(provider, model, { state: 'down', cause, until, reason: reasons.shared, recordedAt: now });
    this.noteHoldBegun(provider, model, { state: 'down', until, reason: reasons.shared, cause });
  }

  /** Holds the provider down for `holdMs` (default the TTL: a local engine is then probed again). */
  private markDown(provider: RegisteredProvider, reasons: HoldReasons, cause: 'unreachable' | 'failing', last: LastFailure = {}, holdMs = this.ttlFor(provider)): void {
    const now = this.now();
    this.failureRuns.delete(provider.id);
    this.observations.set(provider.id, {
      health: { state: 'down', checkedAt: new Date(now).toISOString(), reason: reasons.reason, ...(cause === 'failing' ? downCause(cause, last) : {}) },
      resident: undefined,
      observedAt: now,
      baseUrl: provider.record.baseUrl,
      ...(holdMs > this.ttlFor(provider) ? { until: now + holdMs } : {}),
    });
    this.share(provider, undefined, { state: 'down', ...downCause(cause, last), until: now + holdMs, reason: reasons.shared, recordedAt: now });
    this.noteEngineState(provider, { state: 'down', reason: reasons.reason, ...downCause(cause, last) });
    this.noteHoldBegun(provider, undefined, { state: 'down', until: now + holdMs, reason: reasons.shared, cause });
  }

  /**
   * Lets go of this process's holds that a release recorded since they began (`releaseHolds`: by
   * hand, a `provider test` that got an answer, an `engine start`), and of the failed calls counted
   * towards one: a down engine released is probed again, a provider's count starts afresh. Runs
   * only when the store's releases changed or something was noted since they were last applied;
   * otherwise one cached read.
   */
  private applyReleases(): void {
    const releases = this.holdBook?.releases();
    if (releases === undefined || (releases === this.appliedReleases && !this.notedSinceReleasesApplied)) return;
    this.appliedReleases = releases;
    this.notedSinceReleasesApplied = false;
    for (const [id, observation] of this.observations) {
      const { health } = observation;
      // A down observation says nothing answered unless calls failed (markDown's `failing`); a probe's says so too.
      if (health.state === 'down' && isReleased(releases, id, undefined, { state: 'down', cause: health.cause ?? 'unreachable' }, observation.observedAt)) {
        this.observations.delete(id);
        this.noteHoldLifted(holdTarget(id, undefined), 'released');
      }
    }
    for (const [id, rateLimit] of this.rateLimits) {
      if (isReleased(releases, id, undefined, { state: 'rate_limited' }, rateLimit.observedAt)) {
        this.rateLimits.delete(id);
        this.noteHoldLifted(holdTarget(id, undefined), 'released');
      }
    }
    for (const [key, hold] of this.modelHolds) {
      const [id, model] = splitModelKey(key);
      if (hold.health.state !== 'up' && isReleased(releases, id, model, { state: hold.health.state, ...(hold.health.cause === undefined ? {} : { cause: hold.health.cause }) }, hold.since)) {
        this.modelHolds.delete(key);
        this.noteHoldLifted(key, 'released');
      }
    }
    const failing: HoldKind = { state: 'down', cause: 'failing' };
    for (const [key, refusal] of this.toolsRefusals) {
      const [id, model] = splitModelKey(key);
      if (isToolsRefusalReleased(releases, id, model, refusal.since)) this.toolsRefusals.delete(key);
    }
    const forgetReleased = (runs: Map<string, FailureRun>, key: string, latest: number | undefined): void => {
      const run = runs.get(key);
      if (run === undefined || latest === undefined) return;
      const at = run.at.filter((time) => time > latest);
      if (at.length === 0) runs.delete(key);
      else runs.set(key, { ...run, at });
    };
    for (const id of [...this.failureRuns.keys()]) forgetReleased(this.failureRuns, id, latestRelease(releases, id, undefined, failing));
    for (const key of [...this.modelFailureRuns.keys()]) {
      const [id, model] = splitModelKey(key);
      forgetReleased(this.modelFailureRuns, key, latestRelease(releases, id, model, failing));
    }
  }

  /** Records a hold this process began for the other processes (`holdBook`); one already over is not. */
  private share(provider: RegisteredProvider, model: string | undefined, hold: Pick<SharedHold, 'state' | 'cause' | 'until' | 'reason' | 'recordedAt' | 'status' | 'connectionReset'>): void {
    if (this.holdBook === undefined || hold.until <= hold.recordedAt) return;
    this.holdBook.record({ provider: provider.id, ...(model === undefined ? {} : { model }), baseUrl: provider.record.baseUrl, ...hold });
  }

  /** Other processes' holds of a provider at its current base URL that have not expired. */
  private othersHolds(provider: RegisteredProvider): readonly SharedHold[] {
    const holds = this.holdBook?.othersHolds(provider.id);
    if (holds === undefined || holds.length === 0) return NO_HOLDS;
    const now = this.now();
    return holds.filter((hold) => hold.until > now && hold.baseUrl === provider.record.baseUrl);
  }

  /** Another process's hold of the provider (`model` undefined) or of one of its models, if any is in force. */
  private othersHold(provider: RegisteredProvider, model: string | undefined): SharedHold | undefined {
    return this.othersHolds(provider).find((hold) => hold.model === model);
  }

  /**
   * This process's health of a provider or model, unless another process's hold keeps it out
   * longer: then that hold. Holds only ever add exclusions, never lift one.
   */
  private heldLonger(here: ProviderHealth | undefined, other: SharedHold | undefined): ProviderHealth | undefined {
    if (other === undefined) return here;
    const remainingMs = other.until - this.now();
    if (here !== undefined && here.state !== 'up' && (here.retryAfterMs ?? 0) >= remainingMs) return here;
    return {
      state: other.state,
      checkedAt: new Date(other.recordedAt).toISOString(),
      reason: `${other.reason} (seen by another syndicate process)`,
      ...downCause(other.cause, other),
      retryAfterMs: remainingMs,
    };
  }

  private ttlFor(provider: RegisteredProvider): number {
    return provider.record.class === 'local' ? this.ttlMs : this.hostedFailureTtlMs;
  }

  private isFresh(provider: RegisteredProvider, observation: Observation): boolean {
    if (observation.baseUrl !== provider.record.baseUrl) return false;
    return this.now() < this.endOf(provider, observation);
  }

  /** Epoch ms an observation stops being reused: its hold's end (`markDown`), else the TTL after it. */
  private endOf(provider: RegisteredProvider, observation: Observation): number {
    return observation.until ?? observation.observedAt + this.ttlFor(provider);
  }

  private async refresh(providers: readonly RegisteredProvider[]): Promise<void> {
    this.applyReleases();
    const stale = providers.filter((provider) => {
      if (provider.record.class !== 'local' || provider.retiredAt !== null) return false;
      const observation = this.observations.get(provider.id);
      return observation === undefined || observation.recheck === true || !this.isFresh(provider, observation);
    });
    await Promise.all(stale.map((provider) => this.probeOnce(provider)));
  }

  private probeOnce(provider: RegisteredProvider): Promise<Observation> {
    const running = this.inFlight.get(provider.id);
    if (running !== undefined) return running;
    const started = this.now();
    const promise = this.probeEngine(provider)
      .then(({ resident, loadedContexts }): Observation => ({
        health: { state: 'up', checkedAt: new Date(started).toISOString(), probeMs: Math.max(0, this.now() - started) },
        resident,
        ...(loadedContexts === undefined ? {} : { loadedContexts }),
        observedAt: this.now(),
        baseUrl: provider.record.baseUrl,
      }))
      .catch((error: unknown): Observation => ({
        health: {
          state: 'down',
          checkedAt: new Date(started).toISOString(),
          reason: error instanceof Error ? error.message : String(error),
          // It answered, with an error (a 401 for want of its key, a 503 while it loads its model):
          // it runs, so the hint is not to start it.
          ...(error instanceof UpstreamError && error.status !== undefined ? { cause: 'failing' as const, status: error.status } : {}),
        },
        resident: undefined,
        // As of when it began: a release recorded while it ran (`engine start` saw the engine answer)
        // lifts what it found, which may be from before the engine started.
        observedAt: started,
        baseUrl: provider.record.baseUrl,
      }))
      .then((observation) => {
        this.inFlight.delete(provider.id);
        // A call that waited out a timeout while the probe ran holds the engine past the probe's answer.
        const held = this.observations.get(provider.id);
        if (held?.until !== undefined && held.observedAt >= started && held.baseUrl === observation.baseUrl) return held;
        this.observations.set(provider.id, observation);
        this.notedSinceReleasesApplied = true;
        this.noteEngineState(provider, observation.health);
        return observation;
      });
    this.inFlight.set(provider.id, promise);
    return promise;
  }

  /**
   * Throws when the engine is unreachable; returns the resident model ids when the engine tells,
   * and the context each was loaded with when the answers read say (`loadedContextsOf`).
   */
  private async probeEngine(provider: RegisteredProvider): Promise<{ resident: string[] | undefined; loadedContexts?: LoadedContexts }> {
    const { record } = provider;
    const baseUrl = record.baseUrl.replace(/\/+$/, '');
    const headers = engineCredentialHeaders(record, this.env);
    const listing = await this.probeListing(healthUrl(record), headers);
    const kind = record.engine?.kind;
    const root = baseUrl.replace(/\/v1$/, '');
    const withContexts = (resident: string[] | undefined, answers: { listing?: unknown; props?: unknown; residency?: unknown }) => {
      const loadedContexts = loadedContextsOf(record, answers);
      return { resident, ...(loadedContexts === undefined ? {} : { loadedContexts }) };
    };
    if (kind === 'llama.cpp') {
      // A llama-server router lists every model of its directory; only those it has loaded are warm.
      // A single-model one started with --sleep-idle-seconds has unloaded its model while asleep
      // (`/props` is_sleeping, which does not wake it), so its next answer loads it first.
      const routed = residentFromLlamaCppRouter(listing);
      if (routed !== undefined) return withContexts(routed, { listing });
      const props = await this.readOrUndefined(`${root}/props`, headers);
      return withContexts(sleeping(props) ? [] : record.models.map((model) => model.id), { props });
    }
    if (kind === 'vllm' && sleeping(await this.readOrUndefined(`${root}/is_sleeping`, headers))) return { resident: [] };
    if (kind === 'vllm' || kind === 'node-llama-cpp') {
      // Single-model servers load their model at start: up means resident.
      return withContexts(record.models.map((model) => model.id), { listing });
    }
    // Engines that say what they hold: Ollama `/api/ps`, llama-swap the processes it runs
    // (`/running`), LM Studio each model's `state` (`/api/v0/models`). An engine that does not
    // answer there leaves its warm state unknown.
    const residency = kind === undefined ? undefined : RESIDENCY[kind];
    if (residency === undefined) return { resident: undefined };
    try {
      const answer = await this.probe(`${root}${residency.path}`, this.probeTimeoutMs, headers);
      return withContexts(residency.read(answer), { residency: answer });
    } catch {
      return { resident: undefined };
    }
  }

  /**
   * The engine's model list. One that sent no answer in time is asked once more, given twice as
   * long: on a host whose cores inference keeps busy (or a loaded CI runner) an engine that runs
   * can be slow to answer, and a probe that gave up on it left it out — the request went to a
   * fallback, or failed. A refused connection is not asked again (nothing runs there).
   */
  private async probeListing(url: string, headers: Record<string, string>): Promise<unknown> {
    try {
      return await this.probe(url, this.probeTimeoutMs, headers);
    } catch (error) {
      if (!noAnswerInTime(error)) throw error;
      return this.probe(url, 2 * this.probeTimeoutMs, headers);
    }
  }

  /**
   * The engine's answer at `url`, or undefined when it gives none: vLLM in sleep mode says at
   * `/is_sleeping` that it sleeps (a server without sleep mode answers 404), llama-server at
   * `/props`, which also holds the context it runs with.
   */
  private async readOrUndefined(url: string, headers: Record<string, string>): Promise<unknown> {
    try {
      return await this.probe(url, this.probeTimeoutMs, headers);
    } catch {
      return undefined;
    }
  }
}

/** Whether an engine's answer says it sleeps (`is_sleeping: true`), holding its model in no memory: it answers, but cold. */
function sleeping(answer: unknown): boolean {
  return typeof answer === 'object' && answer !== null && (answer as { is_sleeping?: unknown }).is_sleeping === true;
}

/** Where an engine that lists what it holds lists it, and how to read the answer. */
const RESIDENCY: Partial<Record<EngineKind, { path: string; read: (body: unknown) => string[] | undefined }>> = {
  ollama: { path: '/api/ps', read: residentFromOllama },
  'llama-swap': { path: '/running', read: residentFromLlamaSwap },
  lmstudio: { path: '/api/v0/models', read: residentFromLmStudio },
};

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

const NO_HOLDS: readonly SharedHold[] = [];

/** A hold's reason as this process shows it (the upstream's own words) and as it is shared (`shareableReason`). */
interface HoldReasons {
  reason: string;
  shared: string;
}

let processMonitor: HealthMonitor | undefined;
const storeMonitors = new WeakMap<Store, HealthMonitor>();

/**
 * The monitor of this process shared by `route`, `run`, the gateway and MCP. With the store (a
 * process opens one), the one that shares its holds with every syndicate process on that store
 * and honours theirs; without, one whose holds are this process's alone.
 */
export function sharedHealthMonitor(store?: Store): HealthMonitor {
  if (store === undefined) {
    processMonitor ??= new HealthMonitor();
    return processMonitor;
  }
  let monitor = storeMonitors.get(store);
  if (monitor === undefined) {
    monitor = new HealthMonitor({ holdBook: storeHoldBook(store) });
    storeMonitors.set(store, monitor);
  }
  return monitor;
}
