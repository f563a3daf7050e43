import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordModelLoad } from '../../../src/engines/events.js';
import { spentSince } from '../../../src/evidence/index.js';
import { computeMetrics, hourlySeriesStart, MAXIMUM_HOURLY_POINTS, MetricsAccumulator, percentiles, readMetricsRows, summarizeMetrics } from '../../../src/metrics/index.js';
import type { MetricsRow } from '../../../src/metrics/summary.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { HOUR, seedMetricsStore } from './seed.js';

const START = Date.UTC(2026, 0, 15, 10);
const WINDOW = { sinceMs: START, untilMs: START + 3 * HOUR };
/** The default policy's reference price: $3 in, $15 out per million tokens. */
const SAVINGS = defaultPolicy().savings;

let store: Store;

beforeEach(() => {
  store = openStore(':memory:');
  seedMetricsStore(store, START);
});

afterEach(() => store.close());

describe('the requests-per-hour series of a long window', () => {
  it('starts at the store\'s first envelope, not at a window start decades before it', () => {
    // The seed's first row is at START - 30 min (09:30): the series runs 09:00 .. 12:00.
    const summary = computeMetrics(store, defaultPolicy(), { sinceMs: START - 999_999 * 24 * HOUR, untilMs: START + 3 * HOUR });
    expect(summary.hourly.map((point) => point.hour)).toEqual(['2026-01-15T09:00:00.000Z', '2026-01-15T10:00:00.000Z', '2026-01-15T11:00:00.000Z', '2026-01-15T12:00:00.000Z']);
    expect(summary.requests.total).toBe(5); // the window's four and the row before it
    expect(summary.window.since).toBe(new Date(START - 999_999 * 24 * HOUR).toISOString());
  });

  it('keeps the window\'s start when the store is older, and never lists more than a year and a day of hours', () => {
    expect(hourlySeriesStart({ sinceMs: START, untilMs: START + 3 * HOUR }, START - 10 * HOUR)).toBe(START);
    const untilMs = START + 3 * HOUR;
    expect(hourlySeriesStart({ sinceMs: 0, untilMs })).toBe(untilMs - MAXIMUM_HOURLY_POINTS * HOUR);
    const empty = openStore(':memory:');
    try {
      expect(computeMetrics(empty, defaultPolicy(), { sinceMs: 0, untilMs }).hourly).toHaveLength(MAXIMUM_HOURLY_POINTS);
    } finally {
      empty.close();
    }
  });
});

describe('the requests-per-hour series of a window not yet over', () => {
  it('ends at the hour under way: the hours to come are not hours of no requests', () => {
    // A month's report asked for on its 15th, at 10:20: 14 days and 11 hours, not 31 days.
    const month = { sinceMs: Date.UTC(2026, 0, 1), untilMs: Date.UTC(2026, 1, 1) };
    const now = Date.UTC(2026, 0, 15, 10, 20);
    const { hourly } = new MetricsAccumulator(month, SAVINGS, { nowMs: now }).summary();
    expect(hourly).toHaveLength(14 * 24 + 11);
    expect(hourly.at(-1)?.hour).toBe('2026-01-15T10:00:00.000Z');
    // A window over by now keeps every hour of it.
    expect(new MetricsAccumulator(month, SAVINGS, { nowMs: Date.UTC(2026, 2, 1) }).summary().hourly).toHaveLength(31 * 24);
  });
});

describe('percentiles (nearest rank)', () => {
  it('takes the value at rank ceil(p·n)', () => {
    expect(percentiles([300, 100, 200])).toEqual({ p50: 200, p95: 300, samples: 3 });
    expect(percentiles([4, 1, 3, 2])).toEqual({ p50: 2, p95: 4, samples: 4 });
    expect(percentiles(Array.from({ length: 20 }, (_, index) => index + 1))).toEqual({ p50: 10, p95: 19, samples: 20 });
    expect(percentiles([])).toBeNull();
  });
});

describe('metrics from a seeded evidence store', () => {
  it('equal the figures worked out by hand from the seed', () => {
    const summary = computeMetrics(store, defaultPolicy(), WINDOW);
    // Answered in the window: 3 local (llama3) + 1 hosted (claude); the probe and the earlier row are out.
    // The hosted failure is a failed attempt; the stream its caller left is counted apart.
    // Denied: the restricted request no provider may take and the request whose permit was forged
    // (refused before it was classified); the two permits refused outside any request, and the
    // refused provider probe (no user request), are apart.
    expect(summary.requests).toEqual({ total: 4, local: 3, hosted: 1, localShare: 0.75, hostedShare: 0.25, failedAttempts: 1, cancelled: 1, denied: 2, fallbacks: 1 });
    expect(summary.permitChecksRefused).toBe(2);
    expect(summary.probesDenied).toBe(1);
    // Local 1000+2000+3000 in (500 of them from the engine's prompt cache), 500+1000+1500 out;
    // hosted 400 in (300 cache reads, 50 cache writes), 100 out.
    expect(summary.tokens).toEqual({
      local: { input: 6000, output: 3000, total: 9000, cachedInput: 500, cacheWriteInput: 0, cachedInputShare: 500 / 6000 },
      hosted: { input: 400, output: 100, total: 500, cachedInput: 300, cacheWriteInput: 50, cachedInputShare: 0.75 },
      localShare: 9000 / 9500,
      withoutCounts: 0,
      // Every count of the seed is the upstream's own.
      estimatedCounts: 0,
    });
    // Answered: public local (10 min) and hosted (80 min), restricted local (20 min), internal local
    // (70 min); the denial in hour 2 is restricted. Nothing restricted was answered off the host.
    // The refused `permit issue` and the refused probe named public data, but neither was a public request.
    expect(summary.bySensitivity).toEqual([
      { level: 'public', local: 1, hosted: 1, denied: 0 },
      { level: 'internal', local: 1, hosted: 0, denied: 0 },
      { level: 'confidential', local: 0, hosted: 0, denied: 0 },
      { level: 'restricted', local: 1, hosted: 0, denied: 1 },
    ]);
    expect(summary.unclassified).toEqual({ local: 0, hosted: 0, denied: 1 });
    // The levels add up to the requests.
    const sum = (key: 'local' | 'hosted' | 'denied'): number => summary.bySensitivity.reduce((total, entry) => total + entry[key], summary.unclassified[key]);
    expect([sum('local'), sum('hosted'), sum('denied')]).toEqual([summary.requests.local, summary.requests.hosted, summary.requests.denied]);
    // llama3 first token {100, 300, 200}: p50 rank 2 → 200, p95 rank 3 → 300; total {400, 800, 600} → 600 / 800.
    expect(summary.latency).toEqual([
      { provider: 'claude', model: 'claude-sonnet', class: 'approved_hosted', requests: 1, firstTokenMs: { p50: 500, p95: 500, samples: 1 }, totalMs: { p50: 1500, p95: 1500, samples: 1 } },
      { provider: 'ollama', model: 'llama3', class: 'local', requests: 3, firstTokenMs: { p50: 200, p95: 300, samples: 3 }, totalMs: { p50: 600, p95: 800, samples: 3 } },
    ]);
    // The hosted answer cost $0.0027; the hosted probe (20 in, 10 out at claude-sonnet's $3 / $15
    // per MTok) $0.00021, counted apart from requests but in the total, as the daily ceiling counts it:
    // 0.0027 + 0.00021 = 0.00291.
    expect(summary.spendUsd).toMatchObject({ local: 0, hosted: 0.0027, probes: 0.00021 });
    expect(summary.spendUsd.total).toBeCloseTo(0.00291, 12);
    expect(summary.spendUsd.total).toBeCloseTo(spentSince(store, new Date(WINDOW.sinceMs).toISOString()), 12);
    // (6000 × $2 + 3000 × $10) / 1e6 = $0.042 of local tokens at the default reference price; local cost nothing.
    expect(summary.savings.referenceModel).toBe(SAVINGS.referenceModel);
    expect(summary.savings.localTokensAtReferenceUsd).toBeCloseTo(0.042, 12);
    expect(summary.savings.estimatedSavingsUsd).toBeCloseTo(0.042, 12);
    expect(summary.hourly).toEqual([
      { hour: '2026-01-15T10:00:00.000Z', local: 2, hosted: 0 },
      { hour: '2026-01-15T11:00:00.000Z', local: 1, hosted: 1 },
      { hour: '2026-01-15T12:00:00.000Z', local: 0, hosted: 0 },
    ]);
    expect(summary.loadTimes).toEqual([]);
    // The 20-minute answer came from a model Ollama had not loaded: first token 300 ms, against
    // {100, 200} warm (p50 rank 1 → 100, p95 rank 2 → 200); the hosted answer says nothing of warmth.
    expect(summary.coldStarts).toEqual([
      { provider: 'ollama', model: 'llama3', coldRequests: 1, coldFirstTokenMs: { p50: 300, p95: 300, samples: 1 }, warmFirstTokenMs: { p50: 100, p95: 200, samples: 2 } },
    ]);
    expect(summary.window).toEqual({ since: '2026-01-15T10:00:00.000Z', until: '2026-01-15T13:00:00.000Z' });
  });

  it('breaks answers, tokens and spend down per provider and model, adding up to the totals (probes apart)', () => {
    const summary = computeMetrics(store, defaultPolicy(), WINDOW);
    // claude-sonnet: the answer at 80 min ($0.0027; 400 in of which 300 cache reads and 50 writes,
    // 100 out) and the failed attempt at 130 min; its priced probe ($0.00021) is no invocation.
    // llama3: the three answers (1000+2000+3000 in, 500 of them cached; 500+1000+1500 out) and the
    // stream its caller left (cancelled, no tokens); nothing local cost anything. Most spend first.
    expect(summary.byModel).toEqual([
      {
        id: 'claude:claude-sonnet',
        provider: 'claude',
        model: 'claude-sonnet',
        class: 'approved_hosted',
        answers: 1,
        failedAttempts: 1,
        cancelled: 0,
        tokens: { input: 400, output: 100, total: 500, cachedInput: 300, cacheWriteInput: 50, cachedInputShare: 0.75 },
        spendUsd: 0.0027,
      },
      {
        id: 'ollama:llama3',
        provider: 'ollama',
        model: 'llama3',
        class: 'local',
        answers: 3,
        failedAttempts: 0,
        cancelled: 1,
        tokens: { input: 6000, output: 3000, total: 9000, cachedInput: 500, cacheWriteInput: 0, cachedInputShare: 500 / 6000 },
        spendUsd: 0,
      },
    ]);
    // The entries add up to the totals: spend to hosted + local (the probe's $0.00021 is only in
    // `spendUsd.probes`), answers to the requests, tokens to local + hosted, attempts to the counts.
    const sum = (value: (entry: (typeof summary.byModel)[number]) => number): number => summary.byModel.reduce((total, entry) => total + value(entry), 0);
    expect(sum((entry) => entry.spendUsd)).toBeCloseTo(summary.spendUsd.hosted + summary.spendUsd.local, 12);
    expect(sum((entry) => entry.spendUsd) + summary.spendUsd.probes).toBeCloseTo(summary.spendUsd.total, 12);
    expect(sum((entry) => entry.answers)).toBe(summary.requests.total);
    expect(sum((entry) => entry.failedAttempts)).toBe(summary.requests.failedAttempts);
    expect(sum((entry) => entry.cancelled)).toBe(summary.requests.cancelled);
    for (const key of ['input', 'output', 'total', 'cachedInput', 'cacheWriteInput'] as const) {
      expect(sum((entry) => entry.tokens[key]), key).toBe(summary.tokens.local[key] + summary.tokens.hosted[key]);
    }
    // The latency rows are those of the same entries' answers.
    expect(summary.latency.map((entry) => [`${entry.provider}:${entry.model}`, entry.requests])).toEqual(
      summary.byModel.filter((entry) => entry.answers > 0).map((entry) => [entry.id, entry.answers]).sort(),
    );
  });

  it('narrows to the window it is given', () => {
    const lastHour = computeMetrics(store, defaultPolicy(), { sinceMs: START + 2 * HOUR, untilMs: START + 3 * HOUR });
    expect(lastHour.requests).toMatchObject({ total: 0, local: 0, hosted: 0, localShare: 0, failedAttempts: 1, cancelled: 1, denied: 1 });
    expect(lastHour.probesDenied).toBe(1);
    expect(lastHour.tokens.localShare).toBe(0);
    expect(lastHour.latency).toEqual([]);
  });

  it('reports the model loads engines recorded in the window, per provider and model', () => {
    recordModelLoad(store, { providerId: 'ollama', model: 'llama3', loadMs: 2400, at: START + HOUR });
    recordModelLoad(store, { providerId: 'ollama', model: 'llama3', loadMs: 1800, at: START + 2 * HOUR });
    recordModelLoad(store, { providerId: 'ollama', model: 'llama3', loadMs: 99_999, at: START - HOUR });
    expect(computeMetrics(store, defaultPolicy(), WINDOW).loadTimes).toEqual([
      { provider: 'ollama', model: 'llama3', loads: 2, loadMs: { p50: 1800, p95: 2400, samples: 2 }, maxMs: 2400 },
    ]);
  });

  it('counts rows whose JSON columns were edited into something that is not JSON as if those said nothing', () => {
    const before = computeMetrics(store, defaultPolicy(), WINDOW);
    // The cancelled stream's error and a cold answer's route: metrics read a member of each.
    store.db.prepare("UPDATE evidence SET error_json = 'not json' WHERE json_valid(error_json) AND json_extract(error_json, '$.code') = 'interrupted'").run();
    store.db.prepare("UPDATE evidence SET route_json = '{\"chosen\":' WHERE json_valid(route_json) AND json_extract(route_json, '$.chosen.warm') = 0").run();
    const after = computeMetrics(store, defaultPolicy(), WINDOW);
    // The stream no longer says its caller left: a failed attempt now; the answer no longer says it was cold.
    expect(after.requests).toEqual({ ...before.requests, failedAttempts: before.requests.failedAttempts + 1, cancelled: before.requests.cancelled - 1 });
    expect(after.coldStarts).toEqual([]);
    expect(after.tokens).toEqual(before.tokens);
    expect(after.bySensitivity).toEqual(before.bySensitivity);
  });

  it('is a pure function of the rows: the same rows in any order give the same summary', () => {
    const rows = readMetricsRows(store, WINDOW);
    const forwards = summarizeMetrics(rows, WINDOW, SAVINGS);
    const backwards = summarizeMetrics([...rows].reverse(), WINDOW, SAVINGS);
    expect(backwards).toEqual(forwards);
  });

  it('counts answers without token counts apart and prices load events by model', () => {
    const rows = readMetricsRows(store, WINDOW).map((row) => (row.providerClass === 'local' ? { ...row, inputTokens: null, outputTokens: null } : row));
    const summary = summarizeMetrics(rows, WINDOW, SAVINGS, [
      { at: new Date(START + HOUR).toISOString(), providerId: 'ollama', model: 'llama3', loadMs: 2400 },
      { at: new Date(START + 2 * HOUR).toISOString(), providerId: 'ollama', model: 'llama3', loadMs: 1800 },
      { at: new Date(START - HOUR).toISOString(), providerId: 'ollama', model: 'llama3', loadMs: 99_999 },
    ]);
    expect(summary.tokens.withoutCounts).toBe(3);
    expect(summary.tokens.local.total).toBe(0);
    expect(summary.savings.estimatedSavingsUsd).toBe(0);
    expect(summary.loadTimes).toEqual([{ provider: 'ollama', model: 'llama3', loads: 2, loadMs: { p50: 1800, p95: 2400, samples: 2 }, maxMs: 2400 }]);
  });
});

/** One evidence row as the store reads it: a failed local attempt unless `fields` says otherwise. */
const row = (fields: Partial<MetricsRow>): MetricsRow => ({
  createdAt: new Date(START + 60_000).toISOString(),
  kind: 'invocation',
  state: 'failed',
  providerId: 'ollama',
  providerClass: 'local',
  model: 'llama3',
  sensitivity: 'public',
  warm: null,
  hop: 0,
  firstTokenMs: null,
  totalMs: null,
  inputTokens: null,
  outputTokens: null,
  cachedInputTokens: null,
  cacheWriteInputTokens: null,
  costUsd: null,
  errorCode: null,
  byProbe: false,
  embedding: false,
  approximateTokens: false,
  ...fields,
});

describe('cancelled attempts and interrupted ones', () => {
  it('a call the caller cancelled (a closed stream, Ctrl-C on run) is counted apart; a process that died before recording is a failed attempt', () => {
    const summary = summarizeMetrics(
      [
        // Finished by the pipeline after the caller's abort (gateway client gone, `run` Ctrl-C).
        row({ state: 'failed', errorCode: 'interrupted', firstTokenMs: 120 }),
        // Recovered by a later process: nothing says who ended it.
        row({ state: 'interrupted', errorCode: 'interrupted' }),
        row({ state: 'failed', errorCode: 'upstream_http_error' }),
      ],
      WINDOW,
      SAVINGS,
    );
    expect(summary.requests).toMatchObject({ failedAttempts: 2, cancelled: 1, total: 0 });
  });
});

describe('requests nothing registered could take (no_providers)', () => {
  it('are failed attempts, not denials: no policy refused them — the denial rows of stores written before included', () => {
    const summary = summarizeMetrics(
      [
        // As written now: a failed invocation that called nothing.
        row({ state: 'failed', providerId: null, providerClass: null, model: null, errorCode: 'no_providers' }),
        // As stores written before recorded it: a denial with that code.
        row({ kind: 'denial', state: 'denied', providerId: null, providerClass: null, model: null, errorCode: 'no_providers' }),
        row({ kind: 'denial', state: 'denied', providerId: null, providerClass: null, model: null, sensitivity: 'restricted', errorCode: 'route_denied' }),
      ],
      WINDOW,
      SAVINGS,
    );
    expect(summary.requests).toMatchObject({ failedAttempts: 2, denied: 1, total: 0 });
    expect(summary.bySensitivity.find((level) => level.level === 'public')).toMatchObject({ denied: 0 });
    expect(summary.bySensitivity.find((level) => level.level === 'restricted')).toMatchObject({ denied: 1 });
  });
});

describe('savings at a reference price with input-length tiers', () => {
  // Claude Haiku 5.5's price (providers/catalog/anthropic.yaml): 5× the base rates for prompts over 100,000 tokens.
  const haiku = { referenceModel: 'anthropic:claude-haiku-5-5', inputPerMTok: 0.1, outputPerMTok: 0.5, cachedInputPerMTok: 0.01, tiers: [{ aboveInputTokens: 100_000, inputPerMTok: 0.5, outputPerMTok: 2.5, cachedInputPerMTok: 0.05 }] };
  const answered = (inputTokens: number, outputTokens: number, cachedInputTokens: number | null = null): MetricsRow => row({ state: 'completed', inputTokens, outputTokens, cachedInputTokens });

  it('prices each local answer as its spend would be: at the tier its own input reaches, cache reads at the cache rate', () => {
    const rows = [answered(150_000, 1_000), answered(60_000, 2_000, 50_000), answered(60_000, 2_000)];
    const summary = summarizeMetrics(rows, WINDOW, haiku);
    const long = (150_000 * 0.5 + 1_000 * 2.5) / 1_000_000;
    const cached = (10_000 * 0.1 + 50_000 * 0.01 + 2_000 * 0.5) / 1_000_000;
    const short = (60_000 * 0.1 + 2_000 * 0.5) / 1_000_000;
    expect(summary.savings.localTokensAtReferenceUsd).toBeCloseTo(long + cached + short, 12);
    expect(summary.savings.estimatedSavingsUsd).toBeCloseTo(long + cached + short, 12);
    // The answers' 270,000 input tokens together are over the threshold; none but the first is.
    expect(summary.savings.tiers).toEqual(haiku.tiers);
    // The cache-read rate applied is shown with the others, so the figure can be worked out from the report.
    expect(summary.savings.cachedInputPerMTok).toBe(0.01);
  });

  it('leaves local embeddings answers out, counting their input tokens apart: a chat model\'s rates are no price of embeddings', () => {
    const rows = [answered(60_000, 2_000), row({ state: 'completed', inputTokens: 1_000_000, outputTokens: 0, embedding: true })];
    const summary = summarizeMetrics(rows, WINDOW, haiku);
    expect(summary.savings.localTokensAtReferenceUsd).toBeCloseTo((60_000 * 0.1 + 2_000 * 0.5) / 1_000_000, 12);
    expect(summary.savings.embeddingTokensLeftOut).toBe(1_000_000);
    // Still requests and tokens of their own.
    expect(summary.requests.local).toBe(2);
    expect(summary.tokens.local.input).toBe(1_060_000);
  });

  it('hosted answers and failed attempts are not priced', () => {
    const summary = summarizeMetrics([row({ state: 'completed', providerClass: 'approved_hosted', inputTokens: 150_000, outputTokens: 10 }), row({ inputTokens: 150_000, outputTokens: 10 })], WINDOW, haiku);
    expect(summary.savings.localTokensAtReferenceUsd).toBe(0);
  });
});

describe('the per-model breakdown', () => {
  const hosted = { providerId: 'cloud', providerClass: 'approved_hosted' } as const;

  it('keeps one entry per provider and model: a billed failure counts, an attempt that reached no provider or is under way does not', () => {
    const rows = [
      row({ ...hosted, model: 'big', state: 'completed', inputTokens: 100, outputTokens: 10, costUsd: 0.5 }),
      row({ ...hosted, model: 'big', state: 'completed', inputTokens: 200, outputTokens: 20, cachedInputTokens: 150, costUsd: 0.25 }),
      // A stream that broke after the prompt was read: billed, no answer, no answered tokens.
      row({ ...hosted, model: 'big', state: 'failed', errorCode: 'upstream_http_error', inputTokens: 300, costUsd: 0.125 }),
      // A model that only failed: in `byModel`, not in the latency table.
      row({ ...hosted, model: 'small', state: 'failed', errorCode: 'upstream_http_error' }),
      // Nothing registered could take it: a failed attempt of no provider.
      row({ state: 'failed', providerId: null, providerClass: null, model: null, errorCode: 'no_providers' }),
      // A call still under way: nothing to count yet.
      row({ ...hosted, model: 'pending', state: 'pending' }),
      row({ kind: 'probe', ...hosted, model: 'big', state: 'completed', inputTokens: 5, outputTokens: 5, costUsd: 1 }),
    ];
    const summary = summarizeMetrics(rows, WINDOW, SAVINGS);
    expect(summary.byModel.map(({ id, answers, failedAttempts, cancelled, spendUsd }) => ({ id, answers, failedAttempts, cancelled, spendUsd }))).toEqual([
      { id: 'cloud:big', answers: 2, failedAttempts: 1, cancelled: 0, spendUsd: 0.875 },
      { id: 'cloud:small', answers: 0, failedAttempts: 1, cancelled: 0, spendUsd: 0 },
    ]);
    expect(summary.byModel[0]?.tokens).toEqual({ input: 300, output: 30, total: 330, cachedInput: 150, cacheWriteInput: 0, cachedInputShare: 0.5 });
    expect(summary.requests.failedAttempts).toBe(3);
    expect(summary.spendUsd).toEqual({ total: 1.875, local: 0, hosted: 0.875, probes: 1 });
    expect(summary.latency.map((entry) => entry.model)).toEqual(['big']);
  });

  it('lists the most spend first, then the most answers, then by id in byte order', () => {
    const answer = (providerId: string, model: string, costUsd: number | null = null): MetricsRow => row({ providerId, model, state: 'completed', costUsd });
    const rows = [answer('b', 'm'), answer('a', 'cheap', 0.001), answer('a', 'dear', 0.002), answer('a', 'x'), answer('a', 'x'), answer('B', 'm'), answer('a', 'm')];
    // 'B' (0x42) sorts before 'a' (0x61) and 'b' in byte order, whatever the locale says.
    expect(summarizeMetrics(rows, WINDOW, SAVINGS).byModel.map((entry) => entry.id)).toEqual(['a:dear', 'a:cheap', 'a:x', 'B:m', 'a:m', 'b:m']);
  });
});
