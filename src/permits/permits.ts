import { engineNativeInferenceUrl } from '../common/engine-root.js';
import { newId, pooledRandomBytes } from '../common/ids.js';
import { shellWord } from '../common/shell-word.js';
import {
  isSensitivityLevel,
  sensitivityRank,
  type ProviderClass,
  type SensitivityLevel,
  type WireFormat,
} from '../common/vocabulary.js';
import { PolicyRefusalError, UsageError } from '../errors.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { currentProvider, currentProviders } from '../registry/provider-cache.js';
import type { RegisteredProvider } from '../registry/types.js';
import { unknownProviderError } from '../registry/unknown-provider.js';
import type { Store } from '../store/store.js';
import type { PermitKey } from './key.js';
import { decodeSignedToken, encodeToken, type PermitPayload } from './token.js';

/** Default lifetime of a permit: one minute, enough to verify it right before the call. */
export const DEFAULT_PERMIT_TTL_MS = 60_000;
/** Longest lifetime `issuePermit` accepts: permits are short-lived by design. */
export const MAXIMUM_PERMIT_TTL_MS = 3_600_000;

/** What a permit is issued for. */
export interface PermitScope {
  providerId: string;
  providerVersion: number;
  model: string;
  maxSensitivity: SensitivityLevel;
  sessionId?: string;
}

export interface IssuePermitOptions {
  ttlMs?: number;
  /** A refusal for a provider the permit could never be used with (its class under the policy), checked before anything is signed. */
  refusalFor?: (provider: RegisteredProvider, modelId: string) => Error | undefined;
  /** Milliseconds since the epoch; defaults to the clock. */
  now?: number;
}

/** A freshly issued permit: the token to hand over and its decoded payload. */
export interface IssuedPermit {
  token: string;
  permit: PermitPayload;
}

/** The invocation a permit is checked against, exactly as the invoker is about to make it. */
export interface PermitInvocation {
  providerId: string;
  providerVersion: number;
  providerClass: ProviderClass;
  model: string;
  /** The classified sensitivity of the request. */
  sensitivity: SensitivityLevel;
  sessionId?: string;
}

export interface VerifyPermitOptions {
  now?: number;
  /** Consume the permit (default). With false nothing is written and no VerifiedPermit is returned. */
  consume?: boolean;
}

/** One field where the permit and the invocation disagree. */
export interface ScopeDifference {
  field: 'provider' | 'providerVersion' | 'model' | 'sensitivity' | 'session';
  /** What the permit allows. */
  expected: string | number | null;
  /** What the invocation asked for. */
  got: string | number | null;
}

/** The provider a permit was verified against, from the registry at verification time. */
export interface PermittedProvider {
  id: string;
  version: number;
  providerClass: ProviderClass;
  wire: WireFormat;
  /** Base URL of this exact version; the transport refuses requests to anywhere else (but `nativeInferenceUrl`). */
  baseUrl: string;
  /** The engine's own inference endpoint beside its base URL, when syndicate calls it (Ollama's `<root>/api/generate`). */
  nativeInferenceUrl?: string;
}

/** The result of checking a permit without consuming it (`syndicate permit verify`). */
export interface PermitInspection {
  permit: PermitPayload;
  provider: PermittedProvider;
  consumed: false;
  expiresInMs: number;
}

const VERIFIER: unique symbol = Symbol('permit verifier');
const genuinePermits = new WeakSet<object>();
const spentPermits = new WeakSet<object>();

/**
 * Proof that a permit was verified and consumed for one invocation. Only `verifyPermit` can
 * construct one (the constructor demands a module-private symbol, and the transport also
 * checks a module-private registry of genuine instances), and the transport accepts nothing
 * else — so no code path can call upstream without a valid permit. Usable for one send.
 */
export class VerifiedPermit {
  readonly payload: Readonly<PermitPayload>;
  readonly provider: Readonly<PermittedProvider>;
  /** The model id and its aliases: the values a request body may name. */
  readonly acceptedModelNames: readonly string[];
  readonly sensitivity: SensitivityLevel;
  readonly sessionId: string | undefined;
  /** Milliseconds since the epoch. */
  readonly verifiedAt: number;

  constructor(
    guard: typeof VERIFIER,
    fields: {
      payload: PermitPayload;
      provider: PermittedProvider;
      acceptedModelNames: string[];
      sensitivity: SensitivityLevel;
      sessionId: string | undefined;
      verifiedAt: number;
    },
  ) {
    if (guard !== VERIFIER) throw new TypeError('a VerifiedPermit can only be created by verifyPermit');
    this.payload = Object.freeze({ ...fields.payload });
    this.provider = Object.freeze({ ...fields.provider });
    this.acceptedModelNames = Object.freeze([...fields.acceptedModelNames]);
    this.sensitivity = fields.sensitivity;
    this.sessionId = fields.sessionId;
    this.verifiedAt = fields.verifiedAt;
    Object.freeze(this);
    genuinePermits.add(this);
  }

  get id(): string {
    return this.payload.id;
  }

  get model(): string {
    return this.payload.model;
  }

  /** The payload, for evidence rows (`permit_json`). The token itself is never kept. */
  toJSON(): PermitPayload {
    return { ...this.payload };
  }
}

/** True only for a VerifiedPermit made by `verifyPermit` in this process. */
export function isVerifiedPermit(value: unknown): value is VerifiedPermit {
  return typeof value === 'object' && value !== null && genuinePermits.has(value);
}

/**
 * Marks a verified permit as used by one upstream send; called by the transport. Throws
 * `permit_forged` for anything not made by `verifyPermit` and `permit_replayed` on a second use.
 */
export function spendVerifiedPermit(permit: VerifiedPermit): void {
  if (!isVerifiedPermit(permit)) {
    throw new PolicyRefusalError('permit_forged', 'refusing to call upstream: the permit was not produced by the permit verifier', {
      hint: 'verify the permit with verifyPermit immediately before the call',
    });
  }
  if (spentPermits.has(permit)) {
    throw new PolicyRefusalError('permit_replayed', `refusing to call upstream: permit ${permit.id} was already used for a call`, {
      hint: 'every upstream call, retries and fallback hops included, needs its own permit',
    });
  }
  spentPermits.add(permit);
}

function requireText(value: string, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`a permit needs a ${what}`, { hint: `pass the ${what}` });
  }
}

/** Signs a permit for `scope`, records it in `permits` and returns the token. */
export function issuePermit(store: Store, key: PermitKey, scope: PermitScope, options: IssuePermitOptions = {}): IssuedPermit {
  const issued = signPermit(key, scope, options);
  store.transaction(() => recordIssued(store, issued.permit));
  return issued;
}

/** Checks the scope and signs a permit for it; writes nothing. */
function signPermit(key: PermitKey, scope: PermitScope, options: IssuePermitOptions): IssuedPermit {
  requireText(scope.providerId, 'provider id');
  requireText(scope.model, 'model');
  if (!Number.isSafeInteger(scope.providerVersion) || scope.providerVersion < 1) {
    throw new UsageError(`invalid provider version ${scope.providerVersion}`, { hint: 'use the current version from `syndicate provider show`' });
  }
  if (!isSensitivityLevel(scope.maxSensitivity)) {
    throw new UsageError(`unknown sensitivity level "${String(scope.maxSensitivity)}"`, {
      hint: 'use public, internal, confidential or restricted',
    });
  }
  if (scope.sessionId !== undefined) requireText(scope.sessionId, 'session id');
  const ttlMs = options.ttlMs ?? DEFAULT_PERMIT_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 1 || ttlMs > MAXIMUM_PERMIT_TTL_MS) {
    throw new UsageError(`a permit lives between 1 ms and ${MAXIMUM_PERMIT_TTL_MS / 60_000} minutes, not ${ttlMs} ms`, {
      hint: 'use a short --ttl such as 30s or 5m; issue a new permit for each invocation',
    });
  }
  const now = Math.floor(options.now ?? Date.now());
  const permit: PermitPayload = {
    v: 1,
    id: newId('pmt', now),
    provider: scope.providerId,
    providerVersion: scope.providerVersion,
    model: scope.model,
    maxSensitivity: scope.maxSensitivity,
    ...(scope.sessionId === undefined ? {} : { session: scope.sessionId }),
    iat: now,
    exp: now + Math.round(ttlMs),
    nonce: pooledRandomBytes(16).toString('base64url'),
  };
  return { token: encodeToken(key, permit), permit };
}

/** Inserts the permit's row; with `consumedAt` it is issued and consumed at once (see `issueVerifiedPermit`). */
function recordIssued(store: Store, permit: PermitPayload, consumedAt?: number): void {
  store
    .statement(
      `INSERT INTO permits (permit_id, nonce, provider_id, provider_version, model, max_sensitivity, session_id, issued_at, expires_at, issued_by_pid, consumed_at, consumed_by_pid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      permit.id,
      permit.nonce,
      permit.provider,
      permit.providerVersion,
      permit.model,
      permit.maxSensitivity,
      permit.session ?? null,
      new Date(permit.iat).toISOString(),
      new Date(permit.exp).toISOString(),
      process.pid,
      consumedAt === undefined ? null : new Date(consumedAt).toISOString(),
      consumedAt === undefined ? null : process.pid,
    );
}

/** What `issuePermitForProvider` needs: the provider's current version is looked up. */
export interface ProviderPermitRequest {
  providerId: string;
  /** Required; undefined (`permit issue` without `--model`) is refused after the provider is checked, naming its models. */
  model: string | undefined;
  maxSensitivity: SensitivityLevel;
  sessionId?: string;
}

/** The model id a name refers to in a provider record (ids, aliases, Ollama's implied `:latest`), or undefined. */
export function resolveModelId(provider: RegisteredProvider, name: string): string | undefined {
  return findDeclaredModel(provider.record, name)?.id;
}

/**
 * Issues a permit for a provider's CURRENT version. Unknown provider or model: `UsageError`;
 * retired provider: `provider_retired`; blocked provider: `provider_blocked` (both exit 4).
 * A model alias is recorded as the model id it names.
 */
export function issuePermitForProvider(
  store: Store,
  key: PermitKey,
  request: ProviderPermitRequest,
  options: IssuePermitOptions = {},
): IssuedPermit & { provider: RegisteredProvider } {
  const provider = currentProvider(store, request.providerId);
  if (provider === undefined) {
    // The provider first: the models a missing --model would be told to pick from are the provider's.
    const unknown = unknownProviderError(request.providerId, currentProviders(store).map((registered) => registered.id));
    if (request.model !== undefined) throw unknown;
    throw new UsageError(unknown.message, { hint: `${unknown.hint ?? ''}; then name one of its models with --model`, details: unknown.details });
  }
  if (provider.retiredAt !== null) {
    throw new PolicyRefusalError('provider_retired', `provider "${provider.id}" was retired at ${provider.retiredAt}; no permits are issued for it`, {
      hint: 'register it again with `syndicate provider register FILE`, or choose another provider',
    });
  }
  if (provider.record.class === 'blocked') throw blockedRefusal(provider.id);
  const known = provider.record.models.map((model) => model.id);
  if (request.model === undefined) {
    throw new UsageError(`--model is missing: a permit is for one model of ${provider.id}`, {
      hint: known.length === 0 ? `${provider.id} declares no model` : `add --model with one of: ${known.join(', ')}`,
    });
  }
  const modelId = resolveModelId(provider, request.model);
  if (modelId === undefined) {
    throw new UsageError(`provider "${provider.id}" has no model "${request.model}"`, {
      hint: `use one of: ${known.length === 0 ? '(none declared)' : known.join(', ')}`,
    });
  }
  const refusal = options.refusalFor?.(provider, modelId);
  if (refusal !== undefined) throw refusal;
  const issued = issuePermit(
    store,
    key,
    {
      providerId: provider.id,
      providerVersion: provider.currentVersion,
      model: modelId,
      maxSensitivity: request.maxSensitivity,
      ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
    },
    options,
  );
  return { ...issued, provider };
}

function blockedRefusal(providerId: string): PolicyRefusalError {
  return new PolicyRefusalError('provider_blocked', `permit refused: provider "${providerId}" is in class blocked and is never called`, {
    hint: 'choose another provider, or change its class in the provider record and register it again',
  });
}

function outOfScope(permit: PermitPayload, provider: RegisteredProvider, invocation: Omit<PermitInvocation, 'providerClass'>, differences: ScopeDifference[]): PolicyRefusalError {
  const described = differences
    .map((difference) =>
      difference.field === 'sensitivity'
        ? `sensitivity: the permit allows at most ${String(difference.expected)}, the request is ${String(difference.got)}`
        : `${difference.field}: permit has ${JSON.stringify(difference.expected)}, invocation uses ${JSON.stringify(difference.got)}`,
    )
    .join('; ');
  // The permit this invocation needs, as the command that issues it.
  const needed = permitIssueCommand({
    providerId: invocation.providerId,
    model: invocation.providerId === provider.id ? (resolveModelId(provider, invocation.model) ?? invocation.model) : invocation.model,
    maxSensitivity: isSensitivityLevel(invocation.sensitivity) ? invocation.sensitivity : 'restricted',
    ...(invocation.sessionId === undefined ? {} : { sessionId: invocation.sessionId }),
  });
  const onlySession = differences.length === 1 && differences[0]?.field === 'session';
  return new PolicyRefusalError('permit_out_of_scope', `permit ${permit.id} refused: out of scope — ${described}`, {
    hint: differences.some((difference) => difference.field === 'providerVersion')
      ? `the provider was registered again since the permit was issued; issue a new permit: \`${needed}\``
      : onlySession
        ? `the permit is bound to session ${String(permit.session)}: present it in that session (\`--session ${shellWord(String(permit.session))}\`, or the gateway's x-syndicate-session header), or issue one for this invocation: \`${needed}\``
        : `issue a permit for exactly this invocation: \`${needed}\``,
    details: { permitId: permit.id, differences },
  });
}

/** Everything that does not touch the consumed table: signature, expiry, class, scope. */
function checkPermit(
  store: Store,
  key: PermitKey,
  token: string,
  invocation: PermitInvocation,
  now: number,
): { permit: PermitPayload; provider: RegisteredProvider } {
  const permit = decodeSignedToken(key, token);
  return { permit, provider: checkPayload(permit, currentProvider(store, permit.provider), invocation, now) };
}

/** Expiry, class and scope of a decoded permit against the provider's record; returns the provider. */
function checkPayload(permit: PermitPayload, provider: RegisteredProvider | undefined, invocation: PermitInvocation, now: number): RegisteredProvider {
  if (now >= permit.exp) {
    const agoSeconds = Math.max(0, Math.round((now - permit.exp) / 1000));
    throw new PolicyRefusalError('permit_expired', `permit ${permit.id} expired at ${new Date(permit.exp).toISOString()} (${agoSeconds} s ago)`, {
      hint: 'permits live for a minute by default; issue a new one right before the call (`syndicate permit issue --ttl 5m` for a longer script)',
      details: { permitId: permit.id, expiredAt: new Date(permit.exp).toISOString() },
    });
  }
  if (invocation.providerClass === 'blocked' || provider?.record.class === 'blocked') {
    throw blockedRefusal(invocation.providerClass === 'blocked' ? invocation.providerId : permit.provider);
  }
  if (provider === undefined || provider.retiredAt !== null) {
    throw new PolicyRefusalError(
      'permit_out_of_scope',
      `permit ${permit.id} refused: provider "${permit.provider}" is ${provider === undefined ? 'not registered' : 'retired'}`,
      { hint: 'register the provider again and issue a new permit', details: { permitId: permit.id } },
    );
  }
  const differences = scopeDifferences(permit, provider, invocation);
  if (differences.length > 0) throw outOfScope(permit, provider, invocation, differences);
  return provider;
}

/**
 * Where an invocation falls outside a permit's scope: another provider, version (`provider`: the
 * permit's provider as registered now) or model, data above its ceiling, another session. Empty:
 * the permit covers it.
 */
export function scopeDifferences(permit: PermitPayload, provider: RegisteredProvider, invocation: Omit<PermitInvocation, 'providerClass'>): ScopeDifference[] {
  const differences: ScopeDifference[] = [];
  if (invocation.providerId !== permit.provider) {
    // Another provider's version number says nothing about this permit: the provider difference says it all.
    differences.push({ field: 'provider', expected: permit.provider, got: invocation.providerId });
  } else if (invocation.providerVersion !== permit.providerVersion) {
    differences.push({ field: 'providerVersion', expected: permit.providerVersion, got: invocation.providerVersion });
  } else if (provider.currentVersion !== permit.providerVersion) {
    differences.push({ field: 'providerVersion', expected: permit.providerVersion, got: provider.currentVersion });
  }
  const requestedModel = resolveModelId(provider, invocation.model) ?? invocation.model;
  if (requestedModel !== permit.model) differences.push({ field: 'model', expected: permit.model, got: invocation.model });
  if (!isSensitivityLevel(invocation.sensitivity) || sensitivityRank(invocation.sensitivity) > sensitivityRank(permit.maxSensitivity)) {
    differences.push({ field: 'sensitivity', expected: permit.maxSensitivity, got: String(invocation.sensitivity) });
  }
  if (permit.session !== undefined && invocation.sessionId !== permit.session) {
    differences.push({ field: 'session', expected: permit.session, got: invocation.sessionId ?? null });
  }
  return differences;
}

/** The command that issues a permit for `request` (its default lifetime), as an operator types it. */
export function permitIssueCommand(request: ProviderPermitRequest & { model: string }): string {
  const session = request.sessionId === undefined ? '' : ` --session ${shellWord(request.sessionId)}`;
  return `syndicate permit issue --provider ${shellWord(request.providerId)} --model ${shellWord(request.model)} --sensitivity ${request.maxSensitivity}${session}`;
}

/** A value as one shell word: as it is when nothing in it is special to the shell, else single-quoted. */
interface StoredPermitRow {
  consumed_at: string | null;
  consumed_by_pid: number | null;
}

function replayed(permit: PermitPayload, row: StoredPermitRow | undefined): PolicyRefusalError {
  const when = row?.consumed_at == null ? '' : ` at ${row.consumed_at} by process ${String(row.consumed_by_pid)}`;
  return new PolicyRefusalError('permit_replayed', `permit ${permit.id} was already used${when}; a permit is good for one invocation`, {
    hint: 'issue a new permit for each invocation with `syndicate permit issue`',
    details: { permitId: permit.id },
  });
}

function notIssuedHere(permit: PermitPayload): PolicyRefusalError {
  return new PolicyRefusalError('permit_forged', `permit ${permit.id} refused: this store never issued it`, {
    hint: 'issue permits with `syndicate permit issue` against the same data directory that runs the invocation',
    details: { permitId: permit.id },
  });
}

/** The stored row of exactly this permit (id and nonce), or undefined when this store never issued it. */
function storedPermit(store: Store, permit: PermitPayload): StoredPermitRow | undefined {
  return store.statement('SELECT consumed_at, consumed_by_pid FROM permits WHERE permit_id = ? AND nonce = ?').get(permit.id, permit.nonce) as
    | StoredPermitRow
    | undefined;
}

function permittedProvider(provider: RegisteredProvider): PermittedProvider {
  return {
    id: provider.id,
    version: provider.currentVersion,
    providerClass: provider.record.class,
    wire: provider.record.wire,
    baseUrl: provider.record.baseUrl,
    ...nativeInference(provider),
  };
}

function nativeInference(provider: RegisteredProvider): { nativeInferenceUrl?: string } {
  const nativeInferenceUrl = engineNativeInferenceUrl(provider.record.engine?.kind, provider.record.baseUrl);
  return nativeInferenceUrl === undefined ? {} : { nativeInferenceUrl };
}

/**
 * Verifies a permit for one invocation immediately before the upstream call: well-formed,
 * signature (constant time), expiry, provider class not blocked, scope equal to the
 * invocation (provider id and current version, model, sensitivity ceiling, session), issued by
 * this store, and single use — consumed by one UPDATE in an IMMEDIATE transaction, so a replay
 * fails even across processes. Refusals are `PolicyRefusalError`s (exit 4) with codes
 * `permit_malformed`, `permit_forged`, `permit_expired`, `permit_replayed`,
 * `permit_out_of_scope`, `provider_blocked`.
 */
export function verifyPermit(
  store: Store,
  key: PermitKey,
  token: string,
  invocation: PermitInvocation,
  options?: VerifyPermitOptions & { consume?: true },
): VerifiedPermit;
export function verifyPermit(
  store: Store,
  key: PermitKey,
  token: string,
  invocation: PermitInvocation,
  options: VerifyPermitOptions & { consume: false },
): PermitInspection;
export function verifyPermit(
  store: Store,
  key: PermitKey,
  token: string,
  invocation: PermitInvocation,
  options: VerifyPermitOptions = {},
): VerifiedPermit | PermitInspection {
  const now = options.now ?? Date.now();
  const { permit, provider } = checkPermit(store, key, token, invocation, now);
  if (options.consume === false) {
    const stored = storedPermit(store, permit);
    if (stored === undefined) throw notIssuedHere(permit);
    if (stored.consumed_at !== null) throw replayed(permit, stored);
    return { permit, provider: permittedProvider(provider), consumed: false, expiresInMs: permit.exp - now };
  }
  store.transaction(() => consume(store, permit, now));
  return verified(permit, provider, invocation, now);
}

/**
 * Marks the permit consumed: one UPDATE that changes the row only if this store issued exactly
 * this permit (id and nonce) and nobody consumed it yet. `permit_forged` when there is no such
 * row, `permit_replayed` when it was consumed already.
 */
function consume(store: Store, permit: PermitPayload, now: number): void {
  const result = store
    .statement('UPDATE permits SET consumed_at = ?, consumed_by_pid = ? WHERE permit_id = ? AND nonce = ? AND consumed_at IS NULL')
    .run(new Date(now).toISOString(), process.pid, permit.id, permit.nonce);
  if (result.changes === 1) return;
  const stored = storedPermit(store, permit);
  throw stored === undefined ? notIssuedHere(permit) : replayed(permit, stored);
}

function verified(permit: PermitPayload, provider: RegisteredProvider, invocation: PermitInvocation, now: number): VerifiedPermit {
  const model = provider.record.models.find((candidate) => candidate.id === permit.model);
  return new VerifiedPermit(VERIFIER, {
    payload: permit,
    provider: permittedProvider(provider),
    acceptedModelNames: [permit.model, ...(model?.aliases ?? [])],
    sensitivity: invocation.sensitivity,
    sessionId: invocation.sessionId,
    verifiedAt: now,
  });
}

/** A permit issued and verified at once, whose store writes are still to be made (see `issueVerifiedPermit`). */
export interface UnrecordedPermit {
  token: string;
  permit: VerifiedPermit;
  /**
   * Records the permit as issued and consumes it. Call it inside the transaction that writes the
   * attempt's pending row, which must commit before any byte of the call is sent.
   */
  record: () => void;
}

/**
 * Issues a permit for `scope` and verifies it for `invocation` — the same checks as
 * `verifyPermit`, against the registry as it is now — WITHOUT writing: `record` inserts its row,
 * issued and consumed at once. For the gateway's group commit, where the permit and the pending
 * row then share one transaction instead of waiting for two commits. The permit is new, so
 * nobody else can have consumed it; the transport sends nothing before the pending row's
 * transaction (which holds `record`) has committed, so a permit is still consumed, durably,
 * before its call.
 */
export function issueVerifiedPermit(
  store: Store,
  key: PermitKey,
  scope: PermitScope,
  invocation: PermitInvocation,
  options: IssuePermitOptions = {},
): UnrecordedPermit {
  const { token, permit } = signPermit(key, scope, options);
  // One clock reading: issued, verified and consumed at the same instant.
  const now = permit.iat;
  const provider = checkPayload(permit, currentProvider(store, permit.provider), invocation, now);
  return {
    token,
    permit: verified(permit, provider, invocation, now),
    record: () => recordIssued(store, permit, now),
  };
}

/** What `syndicate permit verify` may pin; anything left out is taken from the permit itself. */
export interface PermitExpectation {
  providerId?: string;
  model?: string;
  sensitivity?: SensitivityLevel;
  sessionId?: string;
}

/**
 * Checks a token as `verifyPermit` would right now — signature, expiry, the provider's current
 * version and class, the given scope, whether it was already used — WITHOUT consuming it.
 */
export function inspectPermit(
  store: Store,
  key: PermitKey,
  token: string,
  expected: PermitExpectation = {},
  options: { now?: number } = {},
): PermitInspection {
  const permit = decodeSignedToken(key, token);
  const provider = currentProvider(store, expected.providerId ?? permit.provider);
  const invocation: PermitInvocation = {
    providerId: expected.providerId ?? permit.provider,
    providerVersion: provider?.currentVersion ?? permit.providerVersion,
    providerClass: provider?.record.class ?? 'local',
    model: expected.model ?? permit.model,
    sensitivity: expected.sensitivity ?? permit.maxSensitivity,
  };
  const sessionId = expected.sessionId ?? permit.session;
  if (sessionId !== undefined) invocation.sessionId = sessionId;
  return verifyPermit(store, key, token, invocation, { now: options.now ?? Date.now(), consume: false });
}
