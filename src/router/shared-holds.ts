import { StoreError } from '../errors.js';
import { newId } from '../common/ids.js';
import type { RegisteredProvider } from '../registry/types.js';
import { cachedRead } from '../store/cached-read.js';
import type { Store } from '../store/store.js';
import type { ProviderHealth } from './types.js';

/**
 * A provider (no `model`) or one provider:model held out of routes by some syndicate process, as
 * every process on the store sees it (`health_holds`).
 */
export interface SharedHold {
  provider: string;
  model?: string;
  state: 'down' | 'rate_limited';
  cause?: ProviderHealth['cause'];
  /** Epoch ms: held until then, and no longer. */
  until: number;
  /** Syndicate's own summary of the failure (the HTTP status and syndicate's code, or its transport message): never upstream text. */
  reason: string;
  /**
   * Of a provider down for failing calls, what the last one was (`lastFailureOf`): its HTTP status,
   * or that its connection was reset — what the hint names (a 401's key variable), in every process.
   */
  status?: number;
  connectionReset?: true;
  /** The provider's base URL when the hold began: a provider re-registered elsewhere is not held. */
  baseUrl: string;
  /** Epoch ms of the failure that began it. */
  recordedAt: number;
  /** The process (and monitor) that recorded it. */
  holder: string;
}

/** A hold as this process reports it (`HealthMonitor.reportFailure`), before it is recorded. */
export type HoldToShare = Omit<SharedHold, 'holder'>;

/**
 * A provider:model whose engine refused a request's tools, as every process on the store sees it
 * (`tools_refusals`): requests with tools are routed past it, requests without are not.
 */
export interface SharedToolsRefusal {
  provider: string;
  model: string;
  /** The engine's refusal as syndicate reported it (`llama answered HTTP 500: tools param requires --jinja flag`). */
  reason: string;
  /** The provider's base URL when it refused: a provider re-registered elsewhere is tried again. */
  baseUrl: string;
  /** Epoch ms of the refusal: a release at or after then lifts it. */
  recordedAt: number;
  /** Epoch ms it lasts until: a day after it (`LONGEST_SHARED_HOLD_MS`), unless a release lifts it first. */
  until: number;
}

/**
 * Where a HealthMonitor shares its holds with every other syndicate process of the host
 * (`storeHoldBook`). Writes happen only when a hold starts, lengthens or clears.
 */
export interface HoldBook {
  /** Other processes' holds for `provider`, expired ones included (the caller compares `until` with its clock). */
  othersHolds(provider: string): readonly SharedHold[];
  /** Records a hold this process began; another process's longer hold of the same target is kept. */
  record(hold: HoldToShare): void;
  /** Removes this process's own hold of the target, if it recorded one that has not expired. */
  clear(provider: string, model: string | undefined): void;
  /** Records that an engine refused the tools of a request for a model (a later refusal of the same model replaces it). */
  recordToolsRefusal(refusal: SharedToolsRefusal): void;
  /**
   * Every process's tools refusals not lifted by a release, by provider id, expired ones included
   * (the caller compares `until` with its clock). The same object until the store's refusals or
   * releases change: an empty map while none is recorded, so routing does nothing more.
   */
  toolsRefusals(): ReadonlyMap<string, readonly SharedToolsRefusal[]>;
  /**
   * The holds lifted before their time (`releaseHolds`), by target: a hold of this process begun
   * at or before such a release is let go. The same object until a release is recorded, so a
   * monitor compares it with the last it applied and does nothing more on the hot path.
   */
  releases(): ReleaseLedger;
}

/**
 * Which holds a release lifts: `every` one (`provider release`, by hand), those saying the target
 * is `down` (a call answered since: `provider test`), or only those saying nothing answered
 * (`unreachable`: `engine start` saw the engine answer). A rate limit ends by time, or by hand.
 */
export type ReleaseScope = 'every' | 'down' | 'unreachable';

/** A target's holds of the scope's kind begun at or before `at` (epoch ms) are lifted. */
export interface HoldRelease {
  scope: ReleaseScope;
  at: number;
}

/** The releases of each target, by `holdTarget(provider, model)`. */
export type ReleaseLedger = ReadonlyMap<string, readonly HoldRelease[]>;

/** The key of a target: a provider's own hold (no model) or one provider:model (model ids hold `:` and `/`, never a newline). */
export function holdTarget(provider: string, model: string | undefined): string {
  return `${provider}\n${model ?? ''}`;
}

/** What a release needs to know of a hold: its state, and for a `down` one why (nothing answered: `unreachable`). */
export type HoldKind = Pick<SharedHold, 'state' | 'cause'>;

/**
 * The time of the latest release of the target that lifts a hold of this kind, or undefined: a
 * hold begun at or before it is lifted, and so are failed calls counted towards one (but for a
 * release of unreachable holds only, which says nothing of failing calls).
 */
export function latestRelease(releases: ReleaseLedger, provider: string, model: string | undefined, hold: HoldKind): number | undefined {
  let latest: number | undefined;
  for (const release of releases.get(holdTarget(provider, model)) ?? []) {
    if (liftsHold(release.scope, hold) && (latest === undefined || release.at > latest)) latest = release.at;
  }
  return latest;
}

/** Whether a hold of this kind begun at `since` was lifted since (`latestRelease`). */
export function isReleased(releases: ReleaseLedger, provider: string, model: string | undefined, hold: HoldKind, since: number): boolean {
  const latest = latestRelease(releases, provider, model, hold);
  return latest !== undefined && latest >= since;
}

function liftsHold(scope: ReleaseScope, hold: HoldKind): boolean {
  if (scope === 'every') return true;
  if (hold.state !== 'down') return false;
  return scope === 'down' || hold.cause === 'unreachable';
}

/**
 * Longest a shared hold lasts, whatever the upstream asked: a hold outlives the process that saw
 * it, and only time or a release by hand (`releaseHolds`) clears it for the others, so a garbled
 * `retry-after` must not keep a model out for days.
 */
export const LONGEST_SHARED_HOLD_MS = 24 * 60 * 60 * 1000;

interface HoldRow {
  provider_id: string;
  model: string | null;
  state: SharedHold['state'];
  cause: string | null;
  held_until: string;
  reason: string;
  base_url: string;
  recorded_at: string;
  holder: string;
  status: number | null;
  connection_reset: 1 | null;
}

const HOLD_COLUMNS = 'provider_id, model, state, cause, held_until, reason, base_url, recorded_at, holder, status, connection_reset';

interface ReleaseRow {
  provider_id: string;
  model: string | null;
  scope: ReleaseScope;
  released_at: string;
}

/** Every recorded release by target, read again only when `health_releases` may have changed (another process's write shows within 5 ms). */
const releasesByTarget = cachedRead(['health_releases'], (store): ReleaseLedger => {
  const rows = store.statement('SELECT provider_id, model, scope, released_at FROM health_releases').all() as ReleaseRow[];
  const byTarget = new Map<string, HoldRelease[]>();
  for (const row of rows) {
    const key = holdTarget(row.provider_id, row.model ?? undefined);
    const release = { scope: row.scope, at: Date.parse(row.released_at) };
    const list = byTarget.get(key);
    if (list === undefined) byTarget.set(key, [release]);
    else list.push(release);
  }
  return byTarget;
});

/**
 * Every recorded hold by provider id, but those a later release lifted (a process that saw the
 * failure before the release may write its hold after it), read again only when `health_holds`
 * or `health_releases` may have changed (another process's write shows within 5 ms).
 */
const holdsByProvider = cachedRead(['health_holds', 'health_releases'], (store): ReadonlyMap<string, readonly SharedHold[]> => {
  const rows = store.statement(`SELECT ${HOLD_COLUMNS} FROM health_holds`).all() as HoldRow[];
  const releases = releasesByTarget(store);
  const byProvider = new Map<string, SharedHold[]>();
  for (const row of rows) {
    const hold = holdOf(row);
    if (isReleased(releases, hold.provider, hold.model, hold, hold.recordedAt)) continue;
    const list = byProvider.get(hold.provider);
    if (list === undefined) byProvider.set(hold.provider, [hold]);
    else list.push(hold);
  }
  return byProvider;
});

function holdOf(row: HoldRow): SharedHold {
  return {
    provider: row.provider_id,
    ...(row.model === null ? {} : { model: row.model }),
    state: row.state,
    ...(row.cause === null ? {} : { cause: row.cause as NonNullable<ProviderHealth['cause']> }),
    until: Date.parse(row.held_until),
    reason: row.reason,
    baseUrl: row.base_url,
    recordedAt: Date.parse(row.recorded_at),
    holder: row.holder,
    ...(row.status === null ? {} : { status: row.status }),
    ...(row.connection_reset === 1 ? { connectionReset: true as const } : {}),
  };
}

interface ToolsRefusalRow {
  provider_id: string;
  model: string;
  reason: string;
  base_url: string;
  recorded_at: string;
  held_until: string;
}

const TOOLS_REFUSAL_COLUMNS = 'provider_id, model, reason, base_url, recorded_at, held_until';

/** Any release lifts a tools refusal — `engine start`'s too, which lifts only what an engine not answering began: that is how an engine restarted with `--jinja` comes back. */
const LIFTED_BY_ANY_RELEASE: HoldKind = { state: 'down', cause: 'unreachable' };

/** Whether a release of the provider, or of the model, recorded at or after the refusal lifts it. */
export function isToolsRefusalReleased(releases: ReleaseLedger, provider: string, model: string, since: number): boolean {
  return isReleased(releases, provider, undefined, LIFTED_BY_ANY_RELEASE, since) || isReleased(releases, provider, model, LIFTED_BY_ANY_RELEASE, since);
}

const NO_TOOLS_REFUSALS: ReadonlyMap<string, readonly SharedToolsRefusal[]> = new Map();

/**
 * Every recorded tools refusal by provider id, but those a later release lifted (a process that
 * saw the refusal before the release may write it after), read again only when `tools_refusals`
 * or `health_releases` may have changed (another process's write shows within 5 ms).
 */
const toolsRefusalsByProvider = cachedRead(['tools_refusals', 'health_releases'], (store): ReadonlyMap<string, readonly SharedToolsRefusal[]> => {
  const rows = store.statement(`SELECT ${TOOLS_REFUSAL_COLUMNS} FROM tools_refusals`).all() as ToolsRefusalRow[];
  if (rows.length === 0) return NO_TOOLS_REFUSALS;
  const releases = releasesByTarget(store);
  const byProvider = new Map<string, SharedToolsRefusal[]>();
  for (const row of rows) {
    const refusal = toolsRefusalOf(row);
    if (isToolsRefusalReleased(releases, refusal.provider, refusal.model, refusal.recordedAt)) continue;
    const list = byProvider.get(refusal.provider);
    if (list === undefined) byProvider.set(refusal.provider, [refusal]);
    else list.push(refusal);
  }
  return byProvider.size === 0 ? NO_TOOLS_REFUSALS : byProvider;
});

function toolsRefusalOf(row: ToolsRefusalRow): SharedToolsRefusal {
  return { provider: row.provider_id, model: row.model, reason: row.reason, baseUrl: row.base_url, recordedAt: Date.parse(row.recorded_at), until: Date.parse(row.held_until) };
}

/** The longest refusal reason kept: an engine's refusal is one line; nothing longer is stored. */
const LONGEST_TOOLS_REFUSAL_REASON = 500;

/**
 * The hold book of the store: one short IMMEDIATE transaction per write, which also deletes the
 * holds that have expired. A write the store refuses (busy past its timeout, read-only) is
 * dropped: the hold still holds in this process, and holds only ever remove candidates.
 */
export function storeHoldBook(store: Store, now: () => number = Date.now): HoldBook {
  const holder = `${process.pid}/${newId('monitor')}`;
  /** Target -> until, of the holds this book recorded: a success clears only those, and writes nothing otherwise. */
  const recorded = new Map<string, number>();
  // Other processes' holds of the last state read, sorted out once per state (routing asks per provider, per request).
  let others: { all: ReadonlyMap<string, readonly SharedHold[]>; byProvider: Map<string, readonly SharedHold[]> } | undefined;
  const write = (work: () => void): void => {
    try {
      store.transaction(work);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
    }
  };
  return {
    othersHolds: (provider) => {
      const all = holdsByProvider(store);
      if (others?.all !== all) {
        others = { all, byProvider: new Map() };
        for (const [id, holds] of all) {
          const theirs = holds.filter((hold) => hold.holder !== holder);
          if (theirs.length > 0) others.byProvider.set(id, theirs);
        }
      }
      return others.byProvider.get(provider) ?? NO_HOLDS;
    },
    record: (hold) => {
      const until = Math.min(hold.until, hold.recordedAt + LONGEST_SHARED_HOLD_MS);
      write(() => {
        deleteExpired(store, now());
        const existing = store
          .statement(`SELECT held_until, base_url, holder FROM health_holds WHERE provider_id = ? AND ifnull(model, '') = ?`)
          .get(hold.provider, hold.model ?? '') as Pick<HoldRow, 'held_until' | 'base_url' | 'holder'> | undefined;
        if (existing !== undefined && existing.holder !== holder && existing.base_url === hold.baseUrl && Date.parse(existing.held_until) >= until) return;
        store
          .statement(`INSERT OR REPLACE INTO health_holds (${HOLD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(
            hold.provider,
            hold.model ?? null,
            hold.state,
            hold.cause ?? null,
            new Date(until).toISOString(),
            hold.reason,
            hold.baseUrl,
            new Date(hold.recordedAt).toISOString(),
            holder,
            hold.status ?? null,
            hold.connectionReset === true ? 1 : null,
          );
        recorded.set(holdTarget(hold.provider, hold.model), until);
      });
    },
    clear: (provider, model) => {
      const key = holdTarget(provider, model);
      const until = recorded.get(key);
      if (until === undefined) return;
      recorded.delete(key);
      if (until <= now()) return;
      write(() => {
        store.statement(`DELETE FROM health_holds WHERE provider_id = ? AND ifnull(model, '') = ? AND holder = ?`).run(provider, model ?? '', holder);
      });
    },
    recordToolsRefusal: (refusal) => {
      const until = Math.min(refusal.until, refusal.recordedAt + LONGEST_SHARED_HOLD_MS);
      const reason = refusal.reason.length > LONGEST_TOOLS_REFUSAL_REASON ? `${refusal.reason.slice(0, LONGEST_TOOLS_REFUSAL_REASON - 1)}…` : refusal.reason;
      write(() => {
        deleteExpired(store, now());
        store
          .statement(`INSERT OR REPLACE INTO tools_refusals (${TOOLS_REFUSAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`)
          .run(refusal.provider, refusal.model, reason, refusal.baseUrl, new Date(refusal.recordedAt).toISOString(), new Date(until).toISOString());
      });
    },
    toolsRefusals: () => toolsRefusalsByProvider(store),
    releases: () => releasesByTarget(store),
  };
}

const NO_HOLDS: readonly SharedHold[] = Object.freeze([]);

/** Deletes the holds and tools refusals past their time. */
function deleteExpired(store: Store, now: number): void {
  const at = new Date(now).toISOString();
  store.statement('DELETE FROM health_holds WHERE held_until <= ?').run(at);
  store.statement('DELETE FROM tools_refusals WHERE held_until <= ?').run(at);
}

/**
 * Deletes the releases older than the longest hold: every hold begun at or before one has ended
 * since, in the store as in any process's memory (`HealthMonitor` holds no longer either), so it
 * lifts nothing more and `health_releases` does not grow for ever.
 */
function deleteMootReleases(store: Store, now: number): void {
  store.statement('DELETE FROM health_releases WHERE released_at < ?').run(new Date(now - LONGEST_SHARED_HOLD_MS).toISOString());
}

/** What a release is about: one provider:model's hold, or (no `model`) the provider's own hold — and with `everyModel`, each of its models' too. */
export interface ReleaseTarget {
  provider: RegisteredProvider;
  model?: string;
  everyModel?: boolean;
}

/**
 * Lifts the holds of `targets` that `scope` names, in every syndicate process on the store, in
 * one transaction: their rows are deleted, and the release is recorded per target (`everyModel`:
 * the provider's own hold, each model of its record and each model held) so that a process holding
 * one in memory lets it go (`HoldBook.releases`); a hold begun after `now` stands. Releases older
 * than the longest hold are deleted, for they lift nothing any more. Returns the
 * holds that were in force and are lifted, as `holdsInForce` reports them.
 */
export function releaseHolds(store: Store, targets: readonly ReleaseTarget[], scope: ReleaseScope, now: number = Date.now()): HoldReport[] {
  const released: HoldReport[] = [];
  const at = new Date(now).toISOString();
  store.transaction(() => {
    deleteExpired(store, now);
    deleteMootReleases(store, now);
    for (const { provider, model, everyModel } of targets) {
      const rows = store.statement(`SELECT ${HOLD_COLUMNS} FROM health_holds WHERE provider_id = ?`).all(provider.id) as HoldRow[];
      const holds = rows.map(holdOf).filter((hold) => (everyModel === true || hold.model === model) && liftsHold(scope, hold));
      const models = everyModel === true ? [undefined, ...new Set([...provider.record.models.map((entry) => entry.id), ...holds.flatMap((hold) => hold.model ?? [])])] : [model];
      for (const hold of holds) {
        store.statement(`DELETE FROM health_holds WHERE provider_id = ? AND ifnull(model, '') = ?`).run(hold.provider, hold.model ?? '');
        if (hold.until > now && hold.baseUrl === provider.record.baseUrl) released.push(holdReport(hold, now));
      }
      const record = store.statement('INSERT OR REPLACE INTO health_releases (provider_id, model, scope, released_at) VALUES (?, ?, ?, ?)');
      for (const each of models) record.run(provider.id, each ?? null, scope, at);
      // Any release lifts a tools refusal: the provider's (no model) each of its models', a model's that model's.
      const refusals = (store.statement(`SELECT ${TOOLS_REFUSAL_COLUMNS} FROM tools_refusals WHERE provider_id = ?`).all(provider.id) as ToolsRefusalRow[]).map(toolsRefusalOf);
      for (const refusal of refusals) {
        if (model !== undefined && everyModel !== true && refusal.model !== model) continue;
        store.statement('DELETE FROM tools_refusals WHERE provider_id = ? AND model = ?').run(refusal.provider, refusal.model);
        if (refusal.until > now && refusal.baseUrl === provider.record.baseUrl) released.push(toolsRefusalReport(refusal, now));
      }
    }
  });
  return released.sort((a, b) => a.provider.localeCompare(b.provider) || (a.model ?? '').localeCompare(b.model ?? ''));
}

/**
 * A hold in force, as `doctor`, `provider list|show` and the MCP `providers` tool report it; or
 * (`state: 'tools_refused'`, always of a model) a tools refusal, which keeps the model from
 * requests with tools only.
 */
export interface HoldReport {
  provider: string;
  /** Absent: the whole provider is held. */
  model?: string;
  state: SharedHold['state'] | 'tools_refused';
  cause?: SharedHold['cause'];
  /** ISO time it ends. */
  until: string;
  /** Seconds left, rounded up. */
  retryInSeconds: number;
  reason: string;
  /** ISO time of the failure (or the refusal of tools) that began it. */
  since: string;
}

/**
 * The holds in force now on the store, of the providers given at their current base URL, by
 * provider then model (provider-wide first), each provider's tools refusals after its holds.
 * Reads nothing but the store: a process's holds are there from the failure on. A retired
 * provider's are left out: it takes no routes, so they hold nothing back (they stay in the store,
 * and hold it again if it is registered again at the same base URL before their time).
 */
export function holdsInForce(store: Store, providers: readonly RegisteredProvider[], now: number = Date.now()): HoldReport[] {
  const reports: HoldReport[] = [];
  const byProvider = holdsByProvider(store);
  const refusalsByProvider = toolsRefusalsByProvider(store);
  const active = providers.filter((provider) => provider.retiredAt === null);
  for (const provider of active.sort((a, b) => a.id.localeCompare(b.id))) {
    const inForce = <T extends { until: number; baseUrl: string }>(list: readonly T[] | undefined): T[] => (list ?? []).filter((each) => each.until > now && each.baseUrl === provider.record.baseUrl);
    const holds = inForce(byProvider.get(provider.id));
    holds.sort((a, b) => (a.model ?? '').localeCompare(b.model ?? ''));
    for (const hold of holds) reports.push(holdReport(hold, now));
    const refusals = inForce(refusalsByProvider.get(provider.id)).sort((a, b) => a.model.localeCompare(b.model));
    for (const refusal of refusals) reports.push(toolsRefusalReport(refusal, now));
  }
  return reports;
}

function toolsRefusalReport(refusal: SharedToolsRefusal, now: number): HoldReport {
  return {
    provider: refusal.provider,
    model: refusal.model,
    state: 'tools_refused',
    until: new Date(refusal.until).toISOString(),
    retryInSeconds: Math.ceil((refusal.until - now) / 1000),
    reason: refusal.reason,
    since: new Date(refusal.recordedAt).toISOString(),
  };
}

function holdReport(hold: SharedHold, now: number): HoldReport {
  return {
    provider: hold.provider,
    ...(hold.model === undefined ? {} : { model: hold.model }),
    state: hold.state,
    ...(hold.cause === undefined ? {} : { cause: hold.cause }),
    until: new Date(hold.until).toISOString(),
    retryInSeconds: Math.ceil((hold.until - now) / 1000),
    reason: hold.reason,
    since: new Date(hold.recordedAt).toISOString(),
  };
}

/**
 * One line per hold: `anthropic:claude-opus-5-5 rate_limited until 2026-…Z (28 s): anthropic answered HTTP 429 (upstream_rate_limited)`;
 * a tools refusal says since when, and that it keeps out requests with tools only.
 */
export function describeHold(hold: HoldReport): string {
  const target = hold.model === undefined ? `${hold.provider} (every model)` : `${hold.provider}:${hold.model}`;
  if (hold.state === 'tools_refused') return `${target} tools_refused since ${hold.since}, for requests with tools only, until ${hold.until} or a release: ${hold.reason}`;
  const state = hold.cause === undefined ? hold.state : `${hold.state} (${hold.cause})`;
  return `${target} ${state} until ${hold.until} (${hold.retryInSeconds} s): ${hold.reason}`;
}
