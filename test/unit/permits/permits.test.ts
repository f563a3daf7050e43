import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PolicyRefusalError, SyndicateError, UsageError } from '../../../src/errors.js';
import {
  inspectPermit,
  isVerifiedPermit,
  issuePermit,
  issuePermitForProvider,
  issueVerifiedPermit,
  loadPermitKey,
  PermitKey,
  permitId,
  spendVerifiedPermit,
  verifyPermit,
  VerifiedPermit,
  type PermitInvocation,
} from '../../../src/permits/index.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { registerFixtureProvider, retireFixtureProvider } from './provider-fixture.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

function refusalOf(work: () => unknown): PolicyRefusalError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyRefusalError);
    const refusal = error as PolicyRefusalError;
    expect(refusal.exitCode).toBe(4);
    expect(refusal.hint).toMatch(/\S/);
    return refusal;
  }
  throw new Error('expected a refusal, but the call succeeded');
}

function errorOf(work: () => unknown): SyndicateError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(SyndicateError);
    return error as SyndicateError;
  }
  throw new Error('expected an error, but the call succeeded');
}

/** Rebuilds a token with a changed payload but the original signature. */
function tamper(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [prefix, encoded, signature] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(payload);
  return `${prefix}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

describe('permits', () => {
  let store: Store;
  let key: PermitKey;
  let version: number;
  let invocation: PermitInvocation;

  beforeEach(async () => {
    store = openStore(':memory:');
    key = PermitKey.fromBytes(randomBytes(32));
    version = await registerFixtureProvider(store);
    invocation = { providerId: 'local-engine', providerVersion: version, providerClass: 'local', model: 'llama3.2:3b', sensitivity: 'internal' };
  });
  afterEach(() => store.close());

  function issue(overrides: { maxSensitivity?: 'public' | 'internal' | 'confidential' | 'restricted'; sessionId?: string; ttlMs?: number } = {}): string {
    return issuePermit(
      store,
      key,
      {
        providerId: 'local-engine',
        providerVersion: version,
        model: 'llama3.2:3b',
        maxSensitivity: overrides.maxSensitivity ?? 'internal',
        ...(overrides.sessionId === undefined ? {} : { sessionId: overrides.sessionId }),
      },
      { now: NOW, ...(overrides.ttlMs === undefined ? {} : { ttlMs: overrides.ttlMs }) },
    ).token;
  }

  it('issues a syn1 token whose payload carries the scope, a 60 s expiry and a 128-bit nonce, and records it', () => {
    const { token, permit } = issuePermit(store, key, { providerId: 'local-engine', providerVersion: version, model: 'llama3.2:3b', maxSensitivity: 'internal', sessionId: 'ses_1' }, { now: NOW });
    expect(token).toMatch(/^syn1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const decoded = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(decoded).toEqual(permit);
    expect(permit).toMatchObject({ v: 1, provider: 'local-engine', providerVersion: version, model: 'llama3.2:3b', maxSensitivity: 'internal', session: 'ses_1', iat: NOW, exp: NOW + 60_000 });
    expect(permit.id).toMatch(/^pmt_/);
    expect(Buffer.from(permit.nonce, 'base64url')).toHaveLength(16);
    const row = store.db.prepare('SELECT * FROM permits WHERE permit_id = ?').get(permit.id) as Record<string, unknown>;
    expect(row).toMatchObject({ nonce: permit.nonce, provider_id: 'local-engine', provider_version: version, model: 'llama3.2:3b', max_sensitivity: 'internal', session_id: 'ses_1', expires_at: new Date(NOW + 60_000).toISOString(), consumed_at: null });
  });

  it('verifies and consumes a valid permit, returning a VerifiedPermit with the provider version it was checked against', () => {
    const token = issue();
    const verified = verifyPermit(store, key, token, invocation, { now: NOW + 1000 });
    expect(verified).toBeInstanceOf(VerifiedPermit);
    expect(isVerifiedPermit(verified)).toBe(true);
    expect(verified.provider).toEqual({ id: 'local-engine', version, providerClass: 'local', wire: 'openai', baseUrl: 'http://127.0.0.1:11434/v1' });
    expect(verified.acceptedModelNames).toEqual(['llama3.2:3b', 'llama-small']);
    expect(verified.id).toBe(permitId(token));
    expect(JSON.stringify(verified)).not.toContain(token.split('.')[2] as string);
    const consumed = store.db.prepare('SELECT permit_id, consumed_by_pid FROM permits WHERE consumed_at IS NOT NULL').all();
    expect(consumed).toEqual([{ permit_id: verified.id, consumed_by_pid: process.pid }]);
  });

  it('refuses a token signed with another key (forged signature)', () => {
    const token = issue();
    const otherKey = PermitKey.fromBytes(randomBytes(32));
    const refusal = refusalOf(() => verifyPermit(store, otherKey, token, invocation, { now: NOW }));
    expect(refusal.code).toBe('permit_forged');
    expect(refusal.message).toContain('signature does not match');
  });

  it('refuses a tampered payload (model or ceiling raised, signature kept)', () => {
    const token = issue({ maxSensitivity: 'public' });
    const raised = tamper(token, (payload) => {
      payload.maxSensitivity = 'restricted';
    });
    expect(refusalOf(() => verifyPermit(store, key, raised, invocation, { now: NOW })).code).toBe('permit_forged');
    const otherModel = tamper(token, (payload) => {
      payload.model = 'qwen2.5:7b';
    });
    expect(refusalOf(() => verifyPermit(store, key, otherModel, { ...invocation, model: 'qwen2.5:7b' }, { now: NOW })).code).toBe('permit_forged');
  });

  it('refuses malformed tokens with permit_malformed', () => {
    for (const token of ['', 'garbage', 'syn1.onlytwo', 'syn2.abc.def', 'syn1.a b.c', `syn1.${'a'.repeat(5000)}.b`]) {
      expect(refusalOf(() => verifyPermit(store, key, token, invocation, { now: NOW })).code).toBe('permit_malformed');
    }
    // correctly signed but not a permit payload
    const signingInput = `syn1.${Buffer.from('{"v":2}').toString('base64url')}`;
    const wrongVersion = `${signingInput}.${key.sign(signingInput).toString('base64url')}`;
    const refusal = refusalOf(() => verifyPermit(store, key, wrongVersion, invocation, { now: NOW }));
    expect(refusal.code).toBe('permit_malformed');
    expect(refusal.message).toContain('unsupported payload version 2');
  });

  it('refuses an expired permit at its expiry instant', () => {
    const token = issue({ ttlMs: 30_000 });
    expect(() => verifyPermit(store, key, token, invocation, { now: NOW + 29_999, consume: false })).not.toThrow();
    const refusal = refusalOf(() => verifyPermit(store, key, token, invocation, { now: NOW + 30_000 }));
    expect(refusal.code).toBe('permit_expired');
    expect(refusal.message).toContain(`expired at ${new Date(NOW + 30_000).toISOString()}`);
  });

  it('refuses a replay, also through a second connection to the same store file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'syndicate-permits-'));
    const path = join(directory, 'syndicate.db');
    const fileStore = openStore(path);
    const other = openStore(path);
    try {
      const fileVersion = await registerFixtureProvider(fileStore);
      const fileInvocation = { ...invocation, providerVersion: fileVersion };
      const { token } = issuePermit(fileStore, key, { providerId: 'local-engine', providerVersion: fileVersion, model: 'llama3.2:3b', maxSensitivity: 'internal' }, { now: NOW });
      verifyPermit(fileStore, key, token, fileInvocation, { now: NOW });
      const refusal = refusalOf(() => verifyPermit(other, key, token, fileInvocation, { now: NOW }));
      expect(refusal.code).toBe('permit_replayed');
      expect(refusal.message).toContain(`by process ${process.pid}`);
    } finally {
      fileStore.close();
      other.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('refuses a second verification in the same store', () => {
    const token = issue();
    verifyPermit(store, key, token, invocation, { now: NOW });
    const refusal = refusalOf(() => verifyPermit(store, key, token, invocation, { now: NOW }));
    expect(refusal.code).toBe('permit_replayed');
    expect(refusal.hint).toContain('permit issue');
  });

  it('refuses another model, naming expected and got; accepts an alias of the permitted model', () => {
    const token = issue();
    const refusal = refusalOf(() => verifyPermit(store, key, token, { ...invocation, model: 'qwen2.5:7b' }, { now: NOW }));
    expect(refusal.code).toBe('permit_out_of_scope');
    expect(refusal.message).toContain('model: permit has "llama3.2:3b", invocation uses "qwen2.5:7b"');
    expect(refusal.details).toMatchObject({ differences: [{ field: 'model', expected: 'llama3.2:3b', got: 'qwen2.5:7b' }] });
    // a refusal does not consume: the same token still works for the right model (here by alias)
    expect(verifyPermit(store, key, token, { ...invocation, model: 'llama-small' }, { now: NOW }).model).toBe('llama3.2:3b');
  });

  it('refuses another provider id', () => {
    const token = issue();
    const refusal = refusalOf(() => verifyPermit(store, key, token, { ...invocation, providerId: 'other' }, { now: NOW }));
    expect(refusal.code).toBe('permit_out_of_scope');
    expect(refusal.message).toContain('provider: permit has "local-engine", invocation uses "other"');
  });

  it('refuses another provider at another version without calling it a re-registration', () => {
    const token = issue();
    const refusal = refusalOf(() => verifyPermit(store, key, token, { ...invocation, providerId: 'other', providerVersion: version + 4 }, { now: NOW }));
    expect(refusal.code).toBe('permit_out_of_scope');
    expect(refusal.details).toMatchObject({ differences: [{ field: 'provider', expected: 'local-engine', got: 'other' }] });
    expect(refusal.message).not.toContain('providerVersion');
    expect(refusal.hint).not.toContain('registered again');
    expect(refusal.hint).toBe('issue a permit for exactly this invocation: `syndicate permit issue --provider other --model llama3.2:3b --sensitivity internal`');
  });

  it('refuses a permit for an older provider version after the provider is re-registered with a new base URL', async () => {
    const token = issue();
    const newVersion = await registerFixtureProvider(store, { baseUrl: 'http://127.0.0.1:8080/v1' });
    expect(newVersion).toBe(version + 1);
    const current = refusalOf(() => verifyPermit(store, key, token, { ...invocation, providerVersion: newVersion }, { now: NOW }));
    expect(current.code).toBe('permit_out_of_scope');
    expect(current.message).toContain(`providerVersion: permit has ${version}, invocation uses ${newVersion}`);
    expect(current.hint).toBe(`the provider was registered again since the permit was issued; issue a new permit: \`syndicate permit issue --provider local-engine --model llama3.2:3b --sensitivity internal\``);
    // an invoker holding the stale version is refused too: the registry's current version decides
    const stale = refusalOf(() => verifyPermit(store, key, token, invocation, { now: NOW }));
    expect(stale.code).toBe('permit_out_of_scope');
    expect(stale.message).toContain(`providerVersion: permit has ${version}, invocation uses ${newVersion}`);
  });

  it('refuses a permit naming a session when the invocation is in another session or none; a session-less permit fits any', () => {
    const token = issue({ sessionId: 'ses_a' });
    const other = refusalOf(() => verifyPermit(store, key, token, { ...invocation, sessionId: 'ses_b' }, { now: NOW }));
    expect(other.code).toBe('permit_out_of_scope');
    expect(other.message).toContain('session: permit has "ses_a", invocation uses "ses_b"');
    // The hint names both ways out: the permit's own session, or the permit this invocation needs.
    expect(other.hint).toBe(
      "the permit is bound to session ses_a: present it in that session (`--session ses_a`, or the gateway's x-syndicate-session header), or issue one for this invocation: `syndicate permit issue --provider local-engine --model llama3.2:3b --sensitivity internal --session ses_b`",
    );
    const none = refusalOf(() => verifyPermit(store, key, token, invocation, { now: NOW }));
    expect(none.message).toContain('session: permit has "ses_a", invocation uses null');
    expect(none.hint).toContain('or issue one for this invocation: `syndicate permit issue --provider local-engine --model llama3.2:3b --sensitivity internal`');
    expect(verifyPermit(store, key, token, { ...invocation, sessionId: 'ses_a' }, { now: NOW }).sessionId).toBe('ses_a');
    expect(verifyPermit(store, key, issue(), { ...invocation, sessionId: 'ses_z' }, { now: NOW }).sessionId).toBe('ses_z');
  });

  it('refuses data above the permit ceiling and accepts data at or below it', () => {
    const token = issue({ maxSensitivity: 'internal' });
    const refusal = refusalOf(() => verifyPermit(store, key, token, { ...invocation, sensitivity: 'confidential' }, { now: NOW }));
    expect(refusal.code).toBe('permit_out_of_scope');
    expect(refusal.message).toContain('sensitivity: the permit allows at most internal, the request is confidential');
    expect(verifyPermit(store, key, token, { ...invocation, sensitivity: 'public' }, { now: NOW }).sensitivity).toBe('public');
  });

  it('refuses a blocked provider class, whether the invocation or the registry says so', async () => {
    const token = issue();
    const byInvocation = refusalOf(() => verifyPermit(store, key, token, { ...invocation, providerClass: 'blocked' }, { now: NOW }));
    expect(byInvocation.code).toBe('provider_blocked');
    const blockedVersion = await registerFixtureProvider(store, { id: 'shady', providerClass: 'blocked', baseUrl: 'https://shady.example.com/v1' });
    const direct = issuePermit(store, key, { providerId: 'shady', providerVersion: blockedVersion, model: 'llama3.2:3b', maxSensitivity: 'public' }, { now: NOW });
    const byRegistry = refusalOf(() =>
      verifyPermit(store, key, direct.token, { providerId: 'shady', providerVersion: blockedVersion, providerClass: 'approved_hosted', model: 'llama3.2:3b', sensitivity: 'public' }, { now: NOW }),
    );
    expect(byRegistry.code).toBe('provider_blocked');
    expect(byRegistry.message).toContain('"shady"');
    const issueRefusal = refusalOf(() => issuePermitForProvider(store, key, { providerId: 'shady', model: 'llama3.2:3b', maxSensitivity: 'public' }));
    expect(issueRefusal.code).toBe('provider_blocked');
  });

  it('issueVerifiedPermit checks like verifyPermit but writes nothing until record(), which issues and consumes it', async () => {
    const scope = { providerId: 'local-engine', providerVersion: version, model: 'llama3.2:3b', maxSensitivity: 'internal' as const };
    const unrecorded = issueVerifiedPermit(store, key, scope, invocation, { now: NOW });
    expect(isVerifiedPermit(unrecorded.permit)).toBe(true);
    expect(unrecorded.permit.provider).toMatchObject({ id: 'local-engine', version, baseUrl: 'http://127.0.0.1:11434/v1' });
    const count = (where: string) => (store.db.prepare(`SELECT COUNT(*) AS n FROM permits WHERE ${where}`).get() as { n: number }).n;
    const issuedAndConsumed = () => [count('1'), count('consumed_at IS NOT NULL')];
    expect(issuedAndConsumed()).toEqual([0, 0]);
    store.transaction(unrecorded.record);
    expect(issuedAndConsumed()).toEqual([1, 1]);
    // Issued, verified and consumed at one instant: the clock is read once (here it moves 5 ms per reading).
    let clock = Date.now();
    const readings = vi.spyOn(Date, 'now').mockImplementation(() => (clock += 5));
    const live = issueVerifiedPermit(store, key, scope, invocation);
    readings.mockRestore();
    store.transaction(live.record);
    const stored = store.db.prepare('SELECT issued_at, consumed_at FROM permits WHERE permit_id = ?').get(live.permit.id) as { issued_at: string; consumed_at: string };
    expect(stored.consumed_at).toBe(stored.issued_at);
    expect(issuedAndConsumed()).toEqual([2, 2]);
    // Recorded means used: the token cannot be verified again.
    expect(refusalOf(() => verifyPermit(store, key, unrecorded.token, invocation, { now: NOW + 1 })).code).toBe('permit_replayed');

    // The same scope checks as verifyPermit: data above the ceiling, a stale version, a blocked class.
    expect(refusalOf(() => issueVerifiedPermit(store, key, scope, { ...invocation, sensitivity: 'confidential' }, { now: NOW })).code).toBe('permit_out_of_scope');
    expect(refusalOf(() => issueVerifiedPermit(store, key, scope, { ...invocation, providerClass: 'blocked' }, { now: NOW })).code).toBe('provider_blocked');
    await registerFixtureProvider(store, { baseUrl: 'http://127.0.0.1:9999/v1' });
    expect(refusalOf(() => issueVerifiedPermit(store, key, scope, invocation, { now: NOW })).code).toBe('permit_out_of_scope');
    expect(issuedAndConsumed()).toEqual([2, 2]);
  });

  it('refuses a validly signed permit this store never issued', () => {
    const otherStore = openStore(':memory:');
    try {
      const foreign = issuePermit(otherStore, key, { providerId: 'local-engine', providerVersion: version, model: 'llama3.2:3b', maxSensitivity: 'internal' }, { now: NOW });
      const refusal = refusalOf(() => verifyPermit(store, key, foreign.token, invocation, { now: NOW }));
      expect(refusal.code).toBe('permit_forged');
      expect(refusal.message).toContain('never issued');
    } finally {
      otherStore.close();
    }
  });

  it('checks without consuming when consume is false, and then reports the consumption', () => {
    const token = issue();
    const inspection = verifyPermit(store, key, token, invocation, { now: NOW + 5000, consume: false });
    expect(inspection).toMatchObject({ consumed: false, expiresInMs: 55_000, provider: { id: 'local-engine', version } });
    expect(isVerifiedPermit(inspection)).toBe(false);
    expect(store.db.prepare('SELECT COUNT(*) AS count FROM permits WHERE consumed_at IS NOT NULL').get()).toEqual({ count: 0 });
    verifyPermit(store, key, token, invocation, { now: NOW + 6000 });
    expect(refusalOf(() => inspectPermit(store, key, token, {}, { now: NOW + 7000 })).code).toBe('permit_replayed');
  });

  it('inspectPermit fills the scope from the permit and checks what the caller pins', () => {
    const token = issue();
    expect(inspectPermit(store, key, token, {}, { now: NOW }).permit.model).toBe('llama3.2:3b');
    expect(inspectPermit(store, key, token, { providerId: 'local-engine', model: 'llama-small' }, { now: NOW }).consumed).toBe(false);
    const refusal = refusalOf(() => inspectPermit(store, key, token, { model: 'qwen2.5:7b' }, { now: NOW }));
    expect(refusal.code).toBe('permit_out_of_scope');
  });

  it('issuePermitForProvider takes the current version, resolves aliases, and refuses unknown, retired or model-less requests', async () => {
    const issued = issuePermitForProvider(store, key, { providerId: 'local-engine', model: 'llama-small', maxSensitivity: 'public' }, { now: NOW });
    expect(issued.permit).toMatchObject({ providerVersion: version, model: 'llama3.2:3b' });
    const unknown = errorOf(() => issuePermitForProvider(store, key, { providerId: 'nope', model: 'x', maxSensitivity: 'public' }));
    expect(unknown).toBeInstanceOf(UsageError);
    expect(unknown.exitCode).toBe(2);
    // As every command reports an unknown provider: the registered ids (and a "did you mean" for a near one).
    expect(unknown.hint).toBe('known providers: local-engine');
    const typo = errorOf(() => issuePermitForProvider(store, key, { providerId: 'local-engin', model: undefined, maxSensitivity: 'public' }));
    expect(typo.message).toBe('unknown provider "local-engin" (did you mean "local-engine"?)');
    expect(typo.hint).toBe('known providers: local-engine; then name one of its models with --model');
    expect(errorOf(() => issuePermitForProvider(store, key, { providerId: 'local-engine', model: undefined, maxSensitivity: 'public' })).message).toBe(
      '--model is missing: a permit is for one model of local-engine',
    );
    const noModel = errorOf(() => issuePermitForProvider(store, key, { providerId: 'local-engine', model: 'gpt-9', maxSensitivity: 'public' }));
    expect(noModel.exitCode).toBe(2);
    expect(noModel.hint).toBe('use one of: llama3.2:3b, qwen2.5:7b');
    retireFixtureProvider(store, 'local-engine');
    const retired = refusalOf(() => issuePermitForProvider(store, key, { providerId: 'local-engine', model: 'llama3.2:3b', maxSensitivity: 'public' }));
    expect(retired.code).toBe('provider_retired');
    // and a permit issued before retirement no longer verifies
    expect(refusalOf(() => verifyPermit(store, key, issued.token, { ...invocation, sensitivity: 'public' }, { now: NOW })).message).toContain('provider "local-engine" is retired');
  });

  it('refuses lifetimes outside 1 ms .. 1 h', () => {
    for (const ttlMs of [0, -5, 3_600_001, Number.NaN]) {
      expect(errorOf(() => issue({ ttlMs })).exitCode).toBe(2);
    }
  });

  it('permitId decodes the id without trusting the token, and gives undefined for garbage', () => {
    const token = issue();
    const id = permitId(token);
    expect(id).toMatch(/^pmt_/);
    expect(permitId(tamper(token, () => {}))).toBe(id);
    expect(permitId('garbage')).toBeUndefined();
    expect(permitId(`syn1.${Buffer.from('{"id":"x y<script>"}').toString('base64url')}.AA`)).toBeUndefined();
  });

  it('only verifyPermit can make a VerifiedPermit, and the transport can spend it once', () => {
    const verified = verifyPermit(store, key, issue(), invocation, { now: NOW });
    const impostor = Object.create(VerifiedPermit.prototype) as VerifiedPermit;
    expect(impostor).toBeInstanceOf(VerifiedPermit);
    expect(isVerifiedPermit(impostor)).toBe(false);
    expect(isVerifiedPermit({ ...verified })).toBe(false);
    const Constructor = VerifiedPermit as unknown as new (guard: symbol, fields: unknown) => VerifiedPermit;
    expect(() => new Constructor(Symbol('permit verifier'), {})).toThrow(TypeError);
    expect(refusalOf(() => spendVerifiedPermit(impostor)).code).toBe('permit_forged');
    spendVerifiedPermit(verified);
    expect(refusalOf(() => spendVerifiedPermit(verified)).code).toBe('permit_replayed');
  });

  it('never prints the key', () => {
    expect(JSON.stringify({ key })).toBe('{"key":"[redacted]"}');
    expect(String((key as unknown as { toString(): string }).toString())).not.toMatch(/[A-Za-z0-9+/]{40}/);
  });
});

describe('permit key file', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-key-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  function writeKey(content: string, mode: number): string {
    const path = join(directory, 'permit.key');
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  }

  it('loads a 0600 base64 key and signs deterministically with it', () => {
    const secret = randomBytes(32);
    const path = writeKey(`${secret.toString('base64')}\n`, 0o600);
    const loaded = loadPermitKey(path);
    expect(loaded.sign('x').equals(PermitKey.fromBytes(secret).sign('x'))).toBe(true);
  });

  it('refuses a key file readable by group or others, with a chmod hint', () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const path = writeKey(`${randomBytes(32).toString('base64')}\n`, mode);
      const refusal = refusalOf(() => loadPermitKey(path));
      expect(refusal.code).toBe('permit_key_insecure');
      expect(refusal.message).toContain(`has mode 0${mode.toString(8)}`);
      expect(refusal.hint).toContain(`chmod 600 ${path}`);
    }
  });

  it('refuses a missing key with a `syndicate init` hint (exit 6)', () => {
    const error = errorOf(() => loadPermitKey(join(directory, 'absent.key')));
    expect(error.code).toBe('permit_key_missing');
    expect(error.exitCode).toBe(6);
    expect(error.hint).toContain('syndicate init');
  });

  it('refuses a key that is not base64 or too short', () => {
    expect(errorOf(() => loadPermitKey(writeKey('not base64 at all!\n', 0o600))).code).toBe('permit_key_invalid');
    expect(errorOf(() => loadPermitKey(writeKey(`${randomBytes(16).toString('base64')}\n`, 0o600))).code).toBe('permit_key_invalid');
  });
});
