/** Holds recorded in the store: every syndicate process on it (here: two connections, two monitors) honours them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../../../src/errors.js';
import { callFailureOf, HealthMonitor, HUNG_WATCH_INTERVAL_MS, type HungHold } from '../../../src/router/health.js';
import { describeHold, holdsInForce, LONGEST_SHARED_HOLD_MS, releaseHolds, storeHoldBook } from '../../../src/router/shared-holds.js';
import { pastOtherWritersRecheck } from '../../helpers/other-writers.js';
import { openStore, type Store } from '../../../src/store/store.js';
import type { ProviderHealth } from '../../../src/router/types.js';
import { provider } from './fixtures.js';

const OPUS = 'claude-opus-4-1-20250805';
const HAIKU = 'claude-haiku-4-5-20251001';
const claude = provider({ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: 'https://api.anthropic.com', models: [{ id: OPUS }, { id: HAIKU }] });
const ollama = provider({ id: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', engine: { kind: 'ollama' }, models: [{ id: 'llama3.2:3b' }] });

/** A 429 as the pipeline reports it, with an upstream message quoting the prompt (which must never be shared). */
function rateLimited(retryAfterSeconds: number): ReturnType<typeof callFailureOf> {
  const error = new UpstreamError('claude answered HTTP 429: your prompt "my password is hunter2" used too many tokens', {
    code: 'upstream_rate_limited',
    status: 429,
    retryAfterSeconds,
    condition: 'model_rate_limited',
  });
  return callFailureOf(error, 429, 'local');
}

let directory: string;
let gatewayStore: Store;
let runStore: Store;
let clock: number;
const now = (): number => clock;
const pause = pastOtherWritersRecheck;

/** A process's monitor: its own connection to the store, as `sharedHealthMonitor(store)` builds it, on the test clock. */
const monitorOn = (store: Store): HealthMonitor => new HealthMonitor({ now, holdBook: storeHoldBook(store, now), probe: async () => ({ object: 'list', data: [] }) });

beforeEach(() => {
  clock = Date.parse('2026-03-02T10:00:00.000Z');
  directory = mkdtempSync(join(tmpdir(), 'syndicate-shared-holds-'));
  gatewayStore = openStore(join(directory, 'store.db'));
  runStore = openStore(join(directory, 'store.db'));
});

afterEach(() => {
  gatewayStore.close();
  runStore.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('holds shared through the store', () => {
  it('a model one process saw rate-limited is held in another until its time, then used again', async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    expect(run.modelSnapshot([claude])).toEqual({});
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    await pause();

    const held = run.knownModels(claude);
    expect(Object.keys(held)).toEqual([OPUS]);
    expect(held[OPUS]).toEqual({
      state: 'rate_limited',
      checkedAt: '2026-03-02T10:00:00.000Z',
      reason: 'claude answered HTTP 429 (upstream_rate_limited) (seen by another syndicate process)',
      retryAfterMs: 30_000,
    });
    // The provider itself, and its other model, stay routable.
    expect(run.known(claude)).toBeUndefined();
    expect(run.holds([claude])).toEqual([{ provider: 'claude', model: OPUS, state: 'rate_limited', retryAfterMs: 30_000 }]);

    clock += 29_999;
    expect(run.modelSnapshot([claude])[claude.id]?.[OPUS]?.retryAfterMs).toBe(1);
    clock += 1;
    expect(run.modelSnapshot([claude])).toEqual({});
    expect(run.holds([claude])).toEqual([]);
  });

  it('what `doctor` and `provider list|show` read: the holds in force, with syndicate’s summary, never the upstream’s text', async () => {
    const gateway = monitorOn(gatewayStore);
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    gateway.reportFailure(ollama, callFailureOf(new UpstreamError('cannot reach 127.0.0.1:11434: connection refused (ECONNREFUSED)', { code: 'upstream_unreachable' }), undefined, 'local'), 'llama3.2:3b');
    clock += 1000;
    await pause();
    const holds = holdsInForce(runStore, [ollama, claude], clock);
    expect(holds).toEqual([
      {
        provider: 'claude',
        model: OPUS,
        state: 'rate_limited',
        until: '2026-03-02T10:00:30.000Z',
        retryInSeconds: 29,
        reason: 'claude answered HTTP 429 (upstream_rate_limited)',
        since: '2026-03-02T10:00:00.000Z',
      },
      // Nothing answered: the whole provider, for the local TTL (5 s).
      {
        provider: 'ollama',
        state: 'down',
        cause: 'unreachable',
        until: '2026-03-02T10:00:05.000Z',
        retryInSeconds: 4,
        reason: 'cannot reach 127.0.0.1:11434: connection refused (ECONNREFUSED)',
        since: '2026-03-02T10:00:00.000Z',
      },
    ]);
    expect(JSON.stringify(gatewayStore.db.prepare('SELECT * FROM health_holds').all())).not.toContain('hunter2');
    expect(holds.map(describeHold)).toEqual([
      `claude:${OPUS} rate_limited until 2026-03-02T10:00:30.000Z (29 s): claude answered HTTP 429 (upstream_rate_limited)`,
      'ollama (every model) down (unreachable) until 2026-03-02T10:00:05.000Z (4 s): cannot reach 127.0.0.1:11434: connection refused (ECONNREFUSED)',
    ]);
    // A provider re-registered at another base URL is not held by what its old address did.
    const moved = provider({ id: 'ollama', baseUrl: 'http://127.0.0.1:11500/v1', engine: { kind: 'ollama' }, models: [{ id: 'llama3.2:3b' }] });
    expect(holdsInForce(runStore, [moved], clock)).toEqual([]);
    expect(monitorOn(runStore).known(moved)).toBeUndefined();
  });

  it('a retired provider’s holds are not listed (it takes no routes); registered again at the same base URL, the same engine is held again until their time', async () => {
    const gateway = monitorOn(gatewayStore);
    gateway.reportFailure(ollama, callFailureOf(new UpstreamError('cannot reach 127.0.0.1:11434: connection refused (ECONNREFUSED)', { code: 'upstream_unreachable' }), undefined, 'local'), 'llama3.2:3b');
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    await pause();
    const retired = { ...ollama, retiredAt: '2026-03-02T10:00:01.000Z' };
    expect(holdsInForce(runStore, [retired, claude], clock).map((hold) => hold.provider)).toEqual(['claude']);
    expect(holdsInForce(runStore, [retired], clock)).toEqual([]);
    expect(holdsInForce(runStore, [ollama], clock)).toEqual([expect.objectContaining({ provider: 'ollama', state: 'down', cause: 'unreachable' })]);
  });

  it('another process’s hold excludes what this process’s own probe finds up — unless it said nothing answered and the probe came later (the engine was started again)', async () => {
    monitorOn(gatewayStore).reportFailure(ollama, { kind: 'unreachable', reason: 'connection refused', code: 'upstream_unreachable' });
    await pause();
    // Probed at the same moment as the hold was recorded: not later, so not disproved.
    const run = monitorOn(runStore);
    const snapshot = await run.snapshot([ollama]);
    expect(snapshot['ollama']).toMatchObject({ state: 'down', cause: 'unreachable', retryAfterMs: 5000, reason: 'connection refused (seen by another syndicate process)' });
    // A later process probes the engine answering: the hold no longer keeps it out.
    clock += 1000;
    expect((await monitorOn(runStore).snapshot([ollama]))['ollama']).toMatchObject({ state: 'up' });
    // A failing engine (calls in a row failed) is not disproved by a probe that answers.
    const gateway = monitorOn(gatewayStore);
    for (let call = 0; call < 3; call += 1) gateway.reportFailure(ollama, { kind: 'error', reason: 'HTTP 500', scope: 'provider', status: 500, code: 'upstream_http_error' });
    await pause();
    clock += 1000;
    expect((await monitorOn(runStore).snapshot([ollama]))['ollama']).toMatchObject({ state: 'down', cause: 'failing' });
  });

  it('a provider held for a call that waited out the first-byte timeout is held in every process as long as it waited (120 s), whatever their probes find, until a success in the process that held it', async () => {
    const gateway = monitorOn(gatewayStore);
    const hung = new UpstreamError('127.0.0.1:11434 accepted the connection but sent no response within 120000 ms', { code: 'upstream_first_byte_timeout', details: { timeoutMs: 120_000 } });
    gateway.reportFailure(ollama, callFailureOf(hung, undefined, 'local'), 'llama3.2:3b');
    await pause();
    clock += 6000;
    // A later process whose probe of the model listing answers: not disproved (the engine answers its listing, not its completions).
    const run = monitorOn(runStore);
    expect((await run.snapshot([ollama]))['ollama']).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 114_000 });
    expect((await gateway.snapshot([ollama]))['ollama']).toMatchObject({ state: 'down', cause: 'failing', retryAfterMs: 114_000 });
    expect(holdsInForce(runStore, [ollama], clock)).toMatchObject([{ provider: 'ollama', state: 'down', until: '2026-03-02T10:02:00.000Z', retryInSeconds: 114 }]);
    gateway.reportSuccess(ollama, { model: 'llama3.2:3b' });
    await pause();
    expect((await run.snapshot([ollama]))['ollama']).toMatchObject({ state: 'up' });
  });

  it('a provider held for failing calls is held in another process with what the last one was: its status (a 401: the key hint), or a connection reset', async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    const refused = callFailureOf(new UpstreamError('claude answered HTTP 401: invalid x-api-key', { code: 'upstream_http_error', status: 401 }), 401, 'approved_hosted');
    for (let call = 0; call < 3; call += 1) gateway.reportFailure(claude, refused, OPUS);
    const reset = callFailureOf(new UpstreamError('the connection to 127.0.0.1:11434 was reset during the answer', { code: 'upstream_reset' }), undefined, 'approved_hosted');
    for (let call = 0; call < 3; call += 1) gateway.reportFailure(ollama, reset, 'llama3.2:3b');
    await pause();
    const hintFields = ({ state, cause, status, connectionReset }: ProviderHealth): Partial<ProviderHealth> => ({ state, cause, status, connectionReset });
    expect(run.known(claude)).toMatchObject({ state: 'down', cause: 'failing', status: 401 });
    expect(hintFields(run.known(claude) as ProviderHealth)).toEqual(hintFields(gateway.known(claude) as ProviderHealth));
    const ollamaInRun = (await run.snapshot([ollama]))['ollama'] as ProviderHealth;
    expect(ollamaInRun).toMatchObject({ state: 'down', cause: 'failing', connectionReset: true });
    expect(ollamaInRun.status).toBeUndefined();
    expect(hintFields(ollamaInRun)).toEqual(hintFields(gateway.known(ollama) as ProviderHealth));
    expect(runStore.db.prepare('SELECT provider_id, status, connection_reset FROM health_holds ORDER BY provider_id').all()).toEqual([
      { provider_id: 'claude', status: 401, connection_reset: null },
      { provider_id: 'ollama', status: null, connection_reset: 1 },
    ]);
  });

  it('a shorter hold from another process never shortens a longer one; the process that holds longer keeps its own reason', async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    gateway.reportFailure(claude, rateLimited(60), OPUS);
    await pause();
    // An answer that was already on its way when the gateway was told to wait: a shorter wait.
    run.reportFailure(claude, rateLimited(5), OPUS);
    expect(holdsInForce(runStore, [claude], clock).map((hold) => hold.until)).toEqual(['2026-03-02T10:01:00.000Z']);
    expect(run.knownModels(claude)[OPUS]?.retryAfterMs).toBe(60_000);
    // The longer one, its own, is reported with the upstream's words in the process that saw it.
    expect(gateway.knownModels(claude)[OPUS]).toMatchObject({ retryAfterMs: 60_000, reason: expect.stringContaining('hunter2') });
    // A longer wait from the other process does replace it.
    run.reportFailure(claude, rateLimited(90), OPUS);
    await pause();
    expect(gateway.knownModels(claude)[OPUS]?.retryAfterMs).toBe(90_000);
  });

  it('a success clears the hold this process recorded, never another’s; a rate limit ends by time only', async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    const notServed = callFailureOf(new UpstreamError(`claude answered HTTP 404: model: ${HAIKU}`, { code: 'upstream_http_error', status: 404, condition: 'model_not_found' }), 404, 'approved_hosted');
    gateway.reportFailure(claude, notServed, HAIKU);
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    run.reportFailure(claude, { kind: 'unreachable', reason: 'no connection to api.anthropic.com within 10000 ms', code: 'upstream_connect_timeout' });
    await pause();
    expect(holdsInForce(runStore, [claude], clock).map((hold) => hold.model ?? '(provider)')).toEqual(['(provider)', HAIKU, OPUS]);

    // The run process saw the provider answer: its own provider-wide hold goes; the gateway's model holds stay.
    run.reportSuccess(claude, { model: HAIKU });
    await pause();
    expect(holdsInForce(gatewayStore, [claude], clock).map((hold) => hold.model ?? '(provider)')).toEqual([HAIKU, OPUS]);
    // The gateway sees HAIKU answer (a request pinned to it, say): its own down hold goes, its rate limit on OPUS stays.
    gateway.reportSuccess(claude, { model: HAIKU });
    gateway.reportSuccess(claude, { model: OPUS });
    await pause();
    expect(holdsInForce(runStore, [claude], clock).map((hold) => hold.model)).toEqual([OPUS]);
    expect(Object.keys(run.knownModels(claude))).toEqual([OPUS]);
  });

  it('a successful request writes nothing: no other connection sees a commit', async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    gateway.reportFailure(ollama, { kind: 'unreachable', reason: 'connection refused', code: 'upstream_unreachable' });
    clock += 6000;
    await pause();
    // A third connection: data_version moves when any other connection commits.
    const observer = openStore(join(directory, 'store.db'));
    try {
      const dataVersion = (): unknown => observer.db.pragma('data_version', { simple: true });
      const before = dataVersion();
      for (let index = 0; index < 50; index += 1) {
        // ollama's hold (5 s) is over: the success that ends it here has nothing left to clear.
        gateway.reportSuccess(ollama, { model: 'llama3.2:3b', firstTokenMs: 40 });
        gateway.reportSuccess(claude, { model: HAIKU, firstTokenMs: 120 });
        run.reportSuccess(claude, { model: HAIKU, firstTokenMs: 130 });
        run.modelSnapshot([claude, ollama]);
        await run.snapshot([claude, ollama]);
      }
      expect(dataVersion()).toBe(before);
    } finally {
      observer.close();
    }
  });

  it('expired holds are deleted by the next write; a hold longer than a day is recorded as a day', async () => {
    const gateway = monitorOn(gatewayStore);
    gateway.reportFailure(claude, rateLimited(10), OPUS);
    clock += 11_000;
    gateway.reportFailure(claude, rateLimited(10 * 24 * 3600), HAIKU);
    const rows = gatewayStore.db.prepare('SELECT model, held_until FROM health_holds').all();
    expect(rows).toEqual([{ model: HAIKU, held_until: new Date(clock + LONGEST_SHARED_HOLD_MS).toISOString() }]);
  });

  it('a Retry-After of 0 shares nothing; a monitor without a hold book shares and sees nothing', async () => {
    const gateway = monitorOn(gatewayStore);
    gateway.reportFailure(claude, rateLimited(0), OPUS);
    expect(gatewayStore.db.prepare('SELECT count(*) AS n FROM health_holds').get()).toEqual({ n: 0 });
    const alone = new HealthMonitor({ now });
    alone.reportFailure(claude, rateLimited(30), OPUS);
    expect(gatewayStore.db.prepare('SELECT count(*) AS n FROM health_holds').get()).toEqual({ n: 0 });
    gateway.reportFailure(claude, rateLimited(30), HAIKU);
    await pause();
    expect(Object.keys(alone.knownModels(claude))).toEqual([OPUS]);
  });
});

describe('holds released before their time', () => {
  const failing = callFailureOf(new UpstreamError('claude answered HTTP 500', { code: 'upstream_http_error', status: 500 }), 500, 'approved_hosted');
  const unreachable = { kind: 'unreachable', reason: 'connection refused', code: 'upstream_unreachable' } as const;
  /** The CLI's connection (`provider release`, `provider test`, `engine start`): it records the release. */
  let cliStore: Store;
  beforeEach(() => {
    cliStore = openStore(join(directory, 'store.db'));
  });
  afterEach(() => cliStore.close());

  it('tells each hold of a hosted provider or model begun and lifted once (time out, success, release), with syndicate\'s reason, never the upstream\'s text; a local engine\'s are not told here', async () => {
    const gateway = monitorOn(gatewayStore);
    const told: string[] = [];
    const stop = gateway.onHoldTransition((transition) => {
      const target = `${transition.provider}${transition.model === undefined ? '' : `:${transition.model}`}`;
      told.push(transition.state === 'held' ? `${target} held ${transition.hold} (${transition.reason}) until ${transition.until}` : `${target} lifted ${transition.hold} ${transition.how}`);
    });
    try {
      // Rate-limited twice: told once, until the later end.
      gateway.reportFailure(claude, rateLimited(30), OPUS);
      clock += 1000;
      gateway.reportFailure(claude, rateLimited(30), OPUS);
      expect(told).toEqual([`claude:${OPUS} held rate_limited (claude answered HTTP 429 (upstream_rate_limited)) until 2026-03-02T10:00:30.000Z`]);
      expect(told.join('\n')).not.toContain('hunter2');
      clock += 29_999;
      gateway.noteEndedHolds();
      expect(told).toHaveLength(1);
      clock += 1;
      gateway.noteEndedHolds();
      gateway.noteEndedHolds();
      expect(told.slice(1)).toEqual([`claude:${OPUS} lifted rate_limited expired`]);
      // Three failed calls hold the provider down; the first success lifts it.
      told.length = 0;
      gateway.reportFailure(claude, failing);
      gateway.reportFailure(claude, failing);
      expect(told).toEqual([]);
      gateway.reportFailure(claude, failing);
      gateway.reportSuccess(claude, { model: OPUS });
      gateway.reportSuccess(claude, { model: OPUS });
      expect(told).toEqual(['claude held down (3 calls in a row failed; the last: claude answered HTTP 500 (upstream_http_error)) until 2026-03-02T10:01:01.000Z', 'claude lifted down answered']);
      // Nothing answered: held down; a release lets it go.
      told.length = 0;
      gateway.reportFailure(claude, unreachable);
      clock += 1000;
      await pause();
      releaseHolds(cliStore, [{ provider: claude, everyModel: true }], 'every', clock);
      await pause();
      expect(gateway.known(claude)).toBeUndefined();
      expect(told).toEqual(['claude held down (connection refused) until 2026-03-02T10:01:01.000Z', 'claude lifted down released']);
      // A local engine's failures are told as engine transitions, not here.
      told.length = 0;
      gateway.reportFailure(ollama, unreachable);
      gateway.reportFailure(ollama, rateLimited(30), 'llama3.2:3b');
      expect(told).toEqual([]);
    } finally {
      stop();
    }
  });

  it('by hand: every hold of the provider is lifted in the store and in the memory of the process that holds it; a failure after it holds again', async () => {
    const gateway = monitorOn(gatewayStore);
    gateway.reportFailure(claude, rateLimited(600), OPUS);
    gateway.reportFailure(claude, unreachable);
    clock += 1000;
    await pause();
    expect(gateway.known(claude)).toMatchObject({ state: 'down' });

    const released = releaseHolds(cliStore, [{ provider: claude, everyModel: true }], 'every', clock);
    expect(released.map((hold) => [hold.model ?? '(provider)', hold.state, hold.retryInSeconds])).toEqual([
      ['(provider)', 'down', 29],
      [OPUS, 'rate_limited', 599],
    ]);
    await pause();
    expect(holdsInForce(gatewayStore, [claude], clock)).toEqual([]);
    // The monitor kept both in memory, and its own rows are not another's to honour: the release alone lets them go.
    expect(gateway.known(claude)).toBeUndefined();
    expect(gateway.knownModels(claude)).toEqual({});
    expect(gateway.holds([claude])).toEqual([]);

    clock += 1;
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    await pause();
    expect(Object.keys(gateway.knownModels(claude))).toEqual([OPUS]);
    expect(holdsInForce(cliStore, [claude], clock).map((hold) => hold.model)).toEqual([OPUS]);
    // Releasing nothing held is no error, and lifts nothing else.
    expect(releaseHolds(cliStore, [{ provider: claude, model: HAIKU }], 'every', clock)).toEqual([]);
    await pause();
    expect(Object.keys(gateway.knownModels(claude))).toEqual([OPUS]);
  });

  it('an answer (provider test) lifts down holds and the failed calls counted towards one, never a rate limit', async () => {
    const gateway = monitorOn(gatewayStore);
    const notServed = callFailureOf(new UpstreamError(`claude answered HTTP 404: model: ${HAIKU}`, { code: 'upstream_http_error', status: 404, condition: 'model_not_found' }), 404, 'approved_hosted');
    gateway.reportFailure(claude, notServed, HAIKU);
    gateway.reportFailure(claude, rateLimited(600), OPUS);
    gateway.reportFailure(claude, failing);
    gateway.reportFailure(claude, failing);
    await pause();

    expect(releaseHolds(cliStore, [{ provider: claude }, { provider: claude, model: HAIKU }], 'down', clock).map((hold) => hold.model)).toEqual([HAIKU]);
    await pause();
    expect(Object.keys(gateway.knownModels(claude))).toEqual([OPUS]);
    // Two failures before the answer, one after: not three in a row.
    clock += 1;
    gateway.reportFailure(claude, failing);
    expect(gateway.known(claude)).toBeUndefined();
    gateway.reportFailure(claude, failing);
    gateway.reportFailure(claude, failing);
    expect(gateway.known(claude)).toMatchObject({ state: 'down', cause: 'failing' });
  });

  it('an engine that answers again (engine start) lifts only what said nothing answered there: its down probe is made again at once', async () => {
    let answering = false;
    const gateway = new HealthMonitor({
      now,
      holdBook: storeHoldBook(gatewayStore, now),
      probe: async () => {
        if (!answering) throw new Error('connection refused');
        return { object: 'list', data: [] };
      },
    });
    expect((await gateway.snapshot([ollama]))['ollama']).toMatchObject({ state: 'down' });
    gateway.reportFailure(claude, failing);
    gateway.reportFailure(claude, failing);
    gateway.reportFailure(claude, failing);
    answering = true;
    clock += 1000;
    releaseHolds(cliStore, [{ provider: ollama }, { provider: claude }], 'unreachable', clock);
    await pause();
    expect((await gateway.snapshot([ollama, claude]))).toMatchObject({ ollama: { state: 'up' }, claude: { state: 'down', cause: 'failing' } });
  });

  it('a down probe begun before an `engine start` release and answered after it is lifted by it: the engine is probed again at once', async () => {
    let answering = false;
    let failProbe: (() => void) | undefined;
    const gateway = new HealthMonitor({
      now,
      holdBook: storeHoldBook(gatewayStore, now),
      probe: async () => {
        if (answering) return { object: 'list', data: [] };
        // The engine not yet started: the probe waits out its timeout, meanwhile the engine starts.
        await new Promise<void>((resolve) => (failProbe = resolve));
        throw new Error('connection timed out');
      },
    });
    const probing = gateway.snapshot([ollama]);
    await pause();
    expect(failProbe).toBeDefined();
    clock += 500;
    answering = true;
    releaseHolds(cliStore, [{ provider: ollama }], 'unreachable', clock);
    clock += 500;
    failProbe?.();
    // What it found is from before the release: not reported down.
    expect((await probing)['ollama']?.state).not.toBe('down');
    await pause();
    expect((await gateway.snapshot([ollama]))['ollama']).toMatchObject({ state: 'up' });
  });

  it("an engine's refusal of tools is shared with every process on the store, for that model at that base URL, for a day or until any release of the provider or the model", async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    const refused = 'ollama answered HTTP 400: registry.ollama.ai/library/llama3.2:3b does not support tools';
    const refusedThen = { 'llama3.2:3b': { reason: refused, since: '2026-03-02T10:00:00.000Z' } };
    gateway.reportToolsRefused(ollama, 'llama3.2:3b', refused);
    clock += LONGEST_SHARED_HOLD_MS - 1;
    await pause();
    expect(gateway.toolsRefusalSnapshot([ollama, claude])).toEqual({ ollama: refusedThen });
    expect(run.toolsRefusalSnapshot([ollama, claude])).toEqual({ ollama: refusedThen });
    // It is no hold of routes: nothing is held out of requests without tools; reports list it as what it is.
    expect(run.holds([ollama])).toEqual([]);
    expect(run.knownModels(ollama)).toEqual({});
    const [report] = holdsInForce(cliStore, [ollama], clock);
    expect(report).toEqual({ provider: 'ollama', model: 'llama3.2:3b', state: 'tools_refused', until: '2026-03-03T10:00:00.000Z', retryInSeconds: 1, reason: refused, since: '2026-03-02T10:00:00.000Z' });
    expect(describeHold(report!)).toBe(`ollama:llama3.2:3b tools_refused since 2026-03-02T10:00:00.000Z, for requests with tools only, until 2026-03-03T10:00:00.000Z or a release: ${refused}`);
    expect(run.toolsRefusalSnapshot([{ ...ollama, record: { ...ollama.record, baseUrl: 'http://127.0.0.1:11435/v1' } }])).toEqual({});
    // A day after it, the model is tried with tools again, everywhere; the next write deletes the row.
    clock += 1;
    expect(gateway.toolsRefusalSnapshot([ollama])).toEqual({});
    expect(run.toolsRefusalSnapshot([ollama])).toEqual({});
    expect(holdsInForce(cliStore, [ollama], clock)).toEqual([]);
    run.reportFailure(claude, unreachable);
    expect(cliStore.db.prepare('SELECT count(*) AS rows FROM tools_refusals').get()).toEqual({ rows: 0 });

    const refusalEverywhere = async (reason: string): Promise<void> => {
      clock += 1;
      gateway.reportToolsRefused(ollama, 'llama3.2:3b', reason);
      await pause();
      expect(Object.keys(run.toolsRefusalSnapshot([ollama]).ollama ?? {})).toEqual(['llama3.2:3b']);
    };
    const liftedEverywhere = async (): Promise<void> => {
      await pause();
      expect(gateway.toolsRefusalSnapshot([ollama])).toEqual({});
      expect(run.toolsRefusalSnapshot([ollama])).toEqual({});
      expect(holdsInForce(cliStore, [ollama], clock)).toEqual([]);
    };
    // `provider test` that got an answer (scope down) of the model: the release reports what it lifted.
    await refusalEverywhere(refused);
    expect(releaseHolds(cliStore, [{ provider: ollama, model: 'llama3.2:3b' }], 'down', clock).map((hold) => hold.state)).toEqual(['tools_refused']);
    await liftedEverywhere();
    // By hand, every model of the provider.
    await refusalEverywhere('refused again');
    releaseHolds(cliStore, [{ provider: ollama, everyModel: true }], 'every', clock);
    await liftedEverywhere();
    // `engine start` releases what an engine not answering began: an engine restarted (with --jinja) is tried again.
    await refusalEverywhere('refused once more');
    releaseHolds(cliStore, [{ provider: ollama }], 'unreachable', clock);
    await liftedEverywhere();
    // A refusal seen before a release but written after it is honoured by no process.
    clock += 1;
    releaseHolds(cliStore, [{ provider: ollama }], 'unreachable', clock);
    clock -= 1;
    gateway.reportToolsRefused(ollama, 'llama3.2:3b', 'seen before the release');
    clock += 1;
    await liftedEverywhere();
  });

  it('what a process notes after it has read a release, begun at or before it (seen before, reported after), is lifted by it at once', async () => {
    const gateway = monitorOn(gatewayStore);
    const released = clock + 5;
    releaseHolds(cliStore, [{ provider: ollama }, { provider: claude, model: OPUS }], 'every', released);
    await pause();
    // The gateway has read the release before anything below was noted.
    expect(gateway.toolsRefusalSnapshot([ollama])).toEqual({});
    expect(gateway.holds([claude])).toEqual([]);
    gateway.reportToolsRefused(ollama, 'llama3.2:3b', 'seen before the release');
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    expect(gateway.toolsRefusalSnapshot([ollama])).toEqual({});
    expect(gateway.holds([claude])).toEqual([]);
    // Noted after the release: held.
    clock = released + 1;
    gateway.reportToolsRefused(ollama, 'llama3.2:3b', 'seen after the release');
    gateway.reportFailure(claude, rateLimited(30), OPUS);
    expect(Object.keys(gateway.toolsRefusalSnapshot([ollama]).ollama ?? {})).toEqual(['llama3.2:3b']);
    expect(gateway.holds([claude])).toEqual([{ provider: 'claude', model: OPUS, state: 'rate_limited', retryAfterMs: 30_000 }]);
  });

  it('a release deletes the releases older than the longest hold, in the same transaction; no hold one could lift outlives it', async () => {
    const releasedTargets = (): unknown[] => cliStore.db.prepare('SELECT model, scope FROM health_releases ORDER BY released_at, model').all();
    const gateway = monitorOn(gatewayStore);
    // Asked to wait ten days: held a day, in memory as in the store.
    gateway.reportFailure(claude, rateLimited(10 * 24 * 3600), OPUS);
    expect(gateway.knownModels(claude)[OPUS]?.retryAfterMs).toBe(LONGEST_SHARED_HOLD_MS);
    releaseHolds(cliStore, [{ provider: claude, model: OPUS }], 'every', clock);
    clock += LONGEST_SHARED_HOLD_MS;
    releaseHolds(cliStore, [{ provider: claude, model: HAIKU }], 'down', clock);
    expect(releasedTargets()).toEqual([
      { model: OPUS, scope: 'every' },
      { model: HAIKU, scope: 'down' },
    ]);
    clock += 1;
    releaseHolds(cliStore, [{ provider: ollama }], 'unreachable', clock);
    expect(releasedTargets()).toEqual([
      { model: HAIKU, scope: 'down' },
      { model: null, scope: 'unreachable' },
    ]);
    // The gateway never read the first release before it went: the hold it would have lifted has ended.
    await pause();
    expect(gateway.knownModels(claude)).toEqual({});
  });

  it('a hold begun before the release but written after it is not honoured by other processes', async () => {
    const run = monitorOn(runStore);
    releaseHolds(cliStore, [{ provider: claude, model: OPUS }], 'every', clock);
    // A gateway saw the 429 a moment before the release and writes it just after (its write waited for the lock).
    storeHoldBook(gatewayStore, now).record({ provider: 'claude', model: OPUS, state: 'rate_limited', until: clock + 30_000, reason: 'claude answered HTTP 429', baseUrl: claude.record.baseUrl, recordedAt: clock - 5 });
    await pause();
    expect(run.knownModels(claude)).toEqual({});
    expect(holdsInForce(runStore, [claude], clock)).toEqual([]);
  });
});

/** A call that waited out the first-byte timeout, as the pipeline reports it. */
function hungFailure(): ReturnType<typeof callFailureOf> {
  const error = new UpstreamError('127.0.0.1:11434 accepted the connection but sent no response within 120000 ms', { code: 'upstream_first_byte_timeout', details: { timeoutMs: 120_000 } });
  return callFailureOf(error, undefined, 'local');
}

/** A 500, as the pipeline reports it: three in a row hold the provider, but say nothing of a hang. */
function serverError(): ReturnType<typeof callFailureOf> {
  return callFailureOf(new UpstreamError('ollama answered HTTP 500: boom', { code: 'upstream_http_error', status: 500 }), 500, 'local');
}

describe('calls waiting for their first byte on an engine found hung', () => {
  const MODEL = 'llama3.2:3b';

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a hold another process records because a call of its own hung there cuts the waiting call, once', async () => {
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    const cuts: HungHold[] = [];
    const end = gateway.watchForHung(ollama, MODEL, (hold) => cuts.push(hold));
    run.reportFailure(ollama, hungFailure(), MODEL);
    await vi.waitFor(() => expect(cuts).toHaveLength(1), { timeout: 30_000, interval: 20 });
    expect(cuts[0]).toMatchObject({ provider: 'ollama', byAnotherProcess: true, since: clock, until: clock + 120_000, reason: 'ollama failed (upstream_first_byte_timeout) (seen by another syndicate process)' });
    expect(cuts[0]?.model).toBeUndefined();
    end();
  });

  it('a hang this monitor notes cuts its other waiting calls at once, not the ones of another provider or of a watch that ended', () => {
    const health = new HealthMonitor({ now });
    const other = provider({ id: 'other', baseUrl: 'http://127.0.0.1:8080/v1', models: [{ id: MODEL }] });
    const cuts: string[] = [];
    health.watchForHung(ollama, MODEL, () => cuts.push('waiting'));
    health.watchForHung(other, MODEL, () => cuts.push('other'));
    const ended = health.watchForHung(ollama, MODEL, () => cuts.push('ended'));
    ended();
    health.reportFailure(ollama, hungFailure(), MODEL);
    expect(cuts).toEqual(['waiting']);
  });

  it('reads the store only while a call waits, and is not cut by a hold begun before it was sent or by one that says nothing of a hang', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const gateway = monitorOn(gatewayStore);
    const run = monitorOn(runStore);
    expect(vi.getTimerCount()).toBe(0);
    // Three 500s in a row hold the provider down: failing, not hung.
    for (let i = 0; i < 3; i += 1) run.reportFailure(ollama, serverError(), MODEL);
    expect(holdsInForce(runStore, [ollama], clock)).toHaveLength(1);
    const cuts: HungHold[] = [];
    const end = gateway.watchForHung(ollama, MODEL, (hold) => cuts.push(hold));
    expect(vi.getTimerCount()).toBe(1);
    await pause();
    vi.advanceTimersByTime(HUNG_WATCH_INTERVAL_MS);
    expect(cuts).toEqual([]);
    end();
    expect(vi.getTimerCount()).toBe(0);
    // A hang recorded before the call was sent: routing already knew of it (or just missed it); the call waits on.
    releaseHolds(runStore, [{ provider: ollama }], 'every', clock);
    clock += 1;
    run.reportFailure(ollama, hungFailure(), MODEL);
    clock += 1;
    const later = gateway.watchForHung(ollama, MODEL, (hold) => cuts.push(hold));
    await pause();
    vi.advanceTimersByTime(HUNG_WATCH_INTERVAL_MS);
    expect(cuts).toEqual([]);
    later();
    expect(vi.getTimerCount()).toBe(0);
  });
});
