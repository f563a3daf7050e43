import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordModelLoad } from '../../../src/engines/events.js';
import { beginAttempt, completeAttempt } from '../../../src/evidence/index.js';
import { coldStartEstimator, OBSERVED_ANSWERS_SQL } from '../../../src/router/cold-starts.js';
import { openStore, type Store } from '../../../src/store/store.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const MINUTE = 60_000;

/** One answered invocation of ollama:`model`, routed while the model was warm or cold (or unknown). */
function answer(store: Store, model: string, firstTokenMs: number, warm: boolean | undefined, at = NOW - 10 * MINUTE): void {
  const id = beginAttempt(store, {
    requestId: `req_${Math.random()}`,
    hop: 0,
    kind: 'invocation',
    caller: 'cli',
    provider: { id: 'ollama', version: 1, class: 'local' },
    model,
    permitId: 'pm_1',
    permit: {},
    sensitivity: 'public',
    route: { chosen: { provider: 'ollama', model, ...(warm === undefined ? {} : { warm }) } },
    streamed: false,
    now: at,
  });
  completeAttempt(store, id, {
    state: 'completed',
    firstTokenMs,
    totalMs: firstTokenMs + 100,
    tokenAccounting: 'not_available',
    verbatimCapture: 'none',
    toolCallFidelity: 'not_applicable',
    markers: [],
    warnings: [],
    now: at + firstTokenMs + 100,
  });
}

describe('coldStartEstimator', () => {
  let store: Store;
  let clock: number;
  beforeEach(() => {
    store = openStore(':memory:');
    clock = NOW;
  });
  afterEach(() => store.close());

  it('is what cold answers cost over warm ones: median cold first token minus median warm', () => {
    for (const ms of [2200, 2600, 9000]) answer(store, 'qwen', ms, false);
    for (const ms of [150, 250]) answer(store, 'qwen', ms, true);
    answer(store, 'qwen', 50_000, undefined); // warm state unknown: not evidence either way
    expect(coldStartEstimator(store, { now: () => clock })('ollama', 'qwen')).toEqual({ ms: 2600 - 200, source: 'observed' });
  });

  it('takes the cold median alone when the model was never seen warm, and nothing when it was never seen cold', () => {
    answer(store, 'qwen', 3000, false);
    answer(store, 'llama', 120, true);
    const estimate = coldStartEstimator(store, { now: () => clock });
    expect(estimate('ollama', 'qwen')).toEqual({ ms: 3000, source: 'observed' });
    expect(estimate('ollama', 'llama')).toBeUndefined();
    expect(estimate('other', 'qwen')).toBeUndefined();
  });

  it('prefers loads an engine recorded, and forgets what is older than the window', () => {
    answer(store, 'qwen', 3000, false);
    recordModelLoad(store, { providerId: 'ollama', model: 'qwen', loadMs: 800, at: NOW - MINUTE });
    recordModelLoad(store, { providerId: 'ollama', model: 'qwen', loadMs: 1000, at: NOW - 2 * MINUTE });
    expect(coldStartEstimator(store, { now: () => clock })('ollama', 'qwen')).toEqual({ ms: 900, source: 'recorded' });
    answer(store, 'old', 4000, false, NOW - 15 * 86_400_000);
    expect(coldStartEstimator(store, { now: () => clock })('ollama', 'old')).toBeUndefined();
  });

  it('leaves out an answer whose route was edited into something that is not JSON, instead of failing the request', () => {
    for (const ms of [2200, 2600]) answer(store, 'qwen', ms, false);
    answer(store, 'qwen', 200, true);
    answer(store, 'qwen', 9000, false);
    store.db.prepare("UPDATE evidence SET route_json = 'not json' WHERE first_token_ms = 9000").run();
    expect(coldStartEstimator(store, { now: () => clock })('ollama', 'qwen')).toEqual({ ms: 2400 - 200, source: 'observed' });
  });

  it('reads one model\'s newest answers through their index, not every envelope of the window', () => {
    const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${OBSERVED_ANSWERS_SQL}`).all('2026-11-20T00:00:00.000Z', 'ollama', 'qwen') as { detail: string }[];
    expect(plan.map((step) => step.detail)).toEqual([expect.stringMatching(/^SEARCH evidence USING INDEX evidence_attempts_by_model \(provider_id=\? AND model=\? AND created_at>\?\)$/)]);
  });

  it('keeps an estimate for its time to live, then reads again', () => {
    const estimate = coldStartEstimator(store, { now: () => clock, ttlMs: 60_000 });
    expect(estimate('ollama', 'qwen')).toBeUndefined();
    answer(store, 'qwen', 3000, false);
    clock += 59_999;
    expect(estimate('ollama', 'qwen')).toBeUndefined();
    clock += 1;
    expect(estimate('ollama', 'qwen')).toEqual({ ms: 3000, source: 'observed' });
  });
});
