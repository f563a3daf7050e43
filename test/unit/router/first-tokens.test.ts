import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { beginAttempt, completeAttempt, recordUncalledAttempt } from '../../../src/evidence/index.js';
import { firstTokenSeed, recentFirstTokens, RECENT_CALLS_SQL } from '../../../src/router/first-tokens.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { provider } from './fixtures.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const MINUTE = 60_000;

const ollama = provider({ id: 'ollama', models: [{ id: 'qwen' }, { id: 'llama' }] });
const anthropic = provider({ id: 'anthropic', class: 'approved_hosted', models: [{ id: 'haiku' }] });

interface Call {
  providerId?: string;
  providerClass?: 'local' | 'approved_hosted';
  model: string;
  /** Undefined: the call failed. */
  firstTokenMs?: number;
  warm?: boolean;
  at?: number;
}

/** One attempt that made a call, answered (with its first token) or failed. */
function call(store: Store, { providerId = 'ollama', providerClass = 'local', model, firstTokenMs, warm, at = NOW - 10 * MINUTE }: Call): void {
  const id = beginAttempt(store, {
    requestId: `req_${Math.random()}`,
    hop: 0,
    kind: 'invocation',
    caller: 'cli',
    provider: { id: providerId, version: 1, class: providerClass },
    model,
    permitId: `pm_${Math.random()}`,
    permit: {},
    sensitivity: 'public',
    route: { chosen: { provider: providerId, model, ...(warm === undefined ? {} : { warm }) } },
    streamed: false,
    now: at,
  });
  completeAttempt(store, id, {
    state: firstTokenMs === undefined ? 'failed' : 'completed',
    totalMs: (firstTokenMs ?? 0) + 100,
    ...(firstTokenMs === undefined ? { status: 500, error: { code: 'upstream_http_error', message: 'HTTP 500' } } : { firstTokenMs }),
    tokenAccounting: 'not_available',
    verbatimCapture: 'none',
    toolCallFidelity: 'not_applicable',
    markers: [],
    warnings: [],
    now: at + 200,
  });
}

describe('recentFirstTokens', () => {
  let store: Store;
  beforeEach(() => {
    store = openStore(':memory:');
  });
  afterEach(() => store.close());

  it("is the median of each model's recent answers, with its failed calls counted, hosted models included", () => {
    for (const ms of [300, 100, 200]) call(store, { model: 'qwen', firstTokenMs: ms });
    call(store, { model: 'qwen' });
    for (const ms of [900, 700]) call(store, { providerId: 'anthropic', providerClass: 'approved_hosted', model: 'haiku', firstTokenMs: ms });
    const history = recentFirstTokens(store, [ollama, anthropic], { now: NOW });
    expect(history('ollama', 'qwen')).toEqual({ medianMs: 200, answers: 3, calls: 4, failures: 1 });
    expect(history('anthropic', 'haiku')).toEqual({ medianMs: 800, answers: 2, calls: 2, failures: 0 });
    expect(history('ollama', 'llama')).toBeUndefined();
  });

  it('says when every recent call failed', () => {
    call(store, { model: 'llama' });
    call(store, { model: 'llama' });
    expect(recentFirstTokens(store, [ollama], { now: NOW })('ollama', 'llama')).toEqual({ medianMs: undefined, answers: 0, calls: 2, failures: 2 });
  });

  it('reads only the last 20 calls, within the window, leaving out cold answers and attempts that called nothing', () => {
    for (let index = 0; index < 25; index += 1) call(store, { model: 'qwen', firstTokenMs: index < 5 ? 10_000 : 100, at: NOW - (30 - index) * MINUTE });
    call(store, { model: 'llama', firstTokenMs: 5000, warm: false });
    call(store, { model: 'llama', firstTokenMs: 150, warm: true });
    call(store, { model: 'llama', firstTokenMs: 9999, at: NOW - 15 * 86_400_000 });
    // A candidate skipped before any call (its key not set) is recorded failed, without a permit.
    recordUncalledAttempt(store, {
      requestId: 'req_skipped',
      hop: 0,
      kind: 'invocation',
      caller: 'cli',
      provider: { id: 'ollama', version: 1, class: 'local' },
      model: 'llama',
      sensitivity: 'public',
      route: {},
      streamed: false,
      markers: [],
      error: { code: 'credential_missing', message: 'key not set' },
    });
    const history = recentFirstTokens(store, [ollama], { now: NOW });
    expect(history('ollama', 'qwen')).toEqual({ medianMs: 100, answers: 20, calls: 20, failures: 0 });
    expect(history('ollama', 'llama')).toEqual({ medianMs: 150, answers: 1, calls: 2, failures: 0 });
  });

  it('asks nothing about retired or blocked providers', () => {
    call(store, { model: 'qwen', firstTokenMs: 100 });
    const retired = provider({ id: 'ollama', retiredAt: '2026-12-01T00:00:00.000Z', models: [{ id: 'qwen' }] });
    expect(recentFirstTokens(store, [retired], { now: NOW })('ollama', 'qwen')).toBeUndefined();
  });

  it("is one statement that reads each model's newest calls through their index", () => {
    const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${RECENT_CALLS_SQL}`).all({ pairs: '[["ollama","qwen"]]', since: '2026-11-20T00:00:00.000Z' }) as { detail: string }[];
    expect(plan.map((step) => step.detail)).toContain('SEARCH evidence USING INDEX evidence_attempts_by_model (provider_id=? AND model=? AND created_at>?)');
    expect(plan.map((step) => step.detail).some((detail) => detail.startsWith('SCAN evidence'))).toBe(false);
  });

  it('gives no history rather than failing when the store cannot answer', () => {
    store.db.exec('DROP INDEX evidence_attempts_by_model; DROP TABLE evidence_chunks; DROP TABLE evidence');
    expect(recentFirstTokens(store, [ollama], { now: NOW })('ollama', 'qwen')).toBeUndefined();
  });

  it('firstTokenSeed reads once and keeps what it read', () => {
    const seed = firstTokenSeed(store);
    const first = seed([ollama]);
    call(store, { model: 'qwen', firstTokenMs: 100 });
    expect(seed([ollama])).toBe(first);
    expect(first('ollama', 'qwen')).toBeUndefined();
  });
});
