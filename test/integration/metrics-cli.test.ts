/** `syndicate metrics` through the built CLI over a store seeded with known evidence. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { HOUR, MINUTE, seedMetricsStore } from '../unit/metrics/seed.js';

let home: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ home, cleanup } = makeTempHome('syndicate-metrics-cli-'));
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const store = openStore(join(home, 'syndicate.db'));
  // The seed spans start+10 min .. start+150 min, plus one row at start-30 min; `--since 3h` keeps all but that one.
  seedMetricsStore(store, Date.now() - 3 * HOUR + 5 * MINUTE);
  store.close();
});

afterAll(() => cleanup?.());

describe('syndicate metrics', () => {
  it('--json reports the figures worked out by hand from the seed', async () => {
    const result = await runCli(['--json', 'metrics', '--since', '3h'], { home });
    expect(result.exitCode).toBe(0);
    const { metrics } = parseJsonDocument(result.stdout) as { ok: boolean; metrics: Record<string, unknown> };
    expect(metrics['requests']).toEqual({ total: 4, local: 3, hosted: 1, localShare: 0.75, hostedShare: 0.25, failedAttempts: 1, cancelled: 1, denied: 2, fallbacks: 1 });
    expect(metrics['permitChecksRefused']).toBe(2);
    expect(metrics['probesDenied']).toBe(1);
    expect(metrics['unclassified']).toEqual({ local: 0, hosted: 0, denied: 1 });
    expect(metrics['tokens']).toMatchObject({ local: { input: 6000, output: 3000, total: 9000 }, hosted: { input: 400, output: 100, total: 500, cachedInput: 300, cacheWriteInput: 50 } });
    // The hosted answer's $0.0027 and the hosted probe's $0.00021 (20 in, 10 out at $3 / $15 per MTok): 0.00291.
    expect(metrics['spendUsd']).toMatchObject({ local: 0, hosted: 0.0027, probes: 0.00021 });
    expect((metrics['spendUsd'] as { total: number }).total).toBeCloseTo(0.00291, 12);
    // The default reference price, claude-sonnet-5-5's $2 / $10: (6000 × 2 + 3000 × 10) / 1e6.
    expect((metrics['savings'] as { estimatedSavingsUsd: number }).estimatedSavingsUsd).toBeCloseTo(0.042, 12);
    expect((metrics['hourly'] as unknown[]).length).toBe(4);
    expect(metrics['bySensitivity']).toContainEqual({ level: 'restricted', local: 1, hosted: 0, denied: 1 });
    // Per provider and model, most spend first: claude-sonnet's answer ($0.0027) and failed attempt;
    // llama3's three answers and the stream its caller left. The probe is in neither (spendUsd.probes).
    const byModel = metrics['byModel'] as { id: string; class: string; answers: number; failedAttempts: number; cancelled: number; tokens: { input: number; output: number; cachedInput: number }; spendUsd: number }[];
    expect(byModel).toMatchObject([
      { id: 'claude:claude-sonnet', class: 'approved_hosted', answers: 1, failedAttempts: 1, cancelled: 0, tokens: { input: 400, output: 100, cachedInput: 300 }, spendUsd: 0.0027 },
      { id: 'ollama:llama3', class: 'local', answers: 3, failedAttempts: 0, cancelled: 1, tokens: { input: 6000, output: 3000, cachedInput: 500 }, spendUsd: 0 },
    ]);
    const spend = metrics['spendUsd'] as { local: number; hosted: number };
    expect(byModel.reduce((total, entry) => total + entry.spendUsd, 0)).toBeCloseTo(spend.local + spend.hosted, 12);
  });

  it('a window far longer than the store\'s history answers at once, its hourly series from the first envelope', async () => {
    const result = await runCli(['--json', 'metrics', '--since', '3650d'], { home });
    expect(result.exitCode).toBe(0);
    const { metrics } = parseJsonDocument(result.stdout) as { metrics: { hourly: { hour: string }[]; requests: { total: number } } };
    expect(metrics.requests.total).toBe(5); // the 3h window's four and the row half an hour before it
    // The first row is ~3 h 25 min old: 4 or 5 hours, not 24 million.
    expect(metrics.hourly.length).toBeGreaterThanOrEqual(4);
    expect(metrics.hourly.length).toBeLessThanOrEqual(5);
  });

  it('warns on stderr, and in --json, when the policy names a savings reference that is neither registered with a price nor priced in it', async () => {
    const { home: ownHome, cleanup: removeOwnHome } = makeTempHome('syndicate-metrics-reference-');
    try {
      expect((await runCli(['init'], { home: ownHome })).exitCode).toBe(0);
      writeFileSync(join(ownHome, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nsavings:\n  referenceModel: nowhere:model\n');
      const warning = 'warning: savings reference nowhere:model is neither priced in the policy nor a registered model with a price';
      const human = await runCli(['metrics'], { home: ownHome });
      expect(human.exitCode).toBe(0);
      expect(human.stderr).toContain(warning);
      expect(human.stdout).toContain('local tokens priced at nowhere:model ($2/$10 per MTok in/out)');
      const json = await runCli(['--json', 'metrics'], { home: ownHome });
      expect(json.stderr).toContain(warning);
      const { metrics } = parseJsonDocument(json.stdout) as { metrics: { savings: { warning?: string } } };
      expect(metrics.savings.warning).toMatch(/^savings reference nowhere:model is neither priced/);
    } finally {
      removeOwnHome();
    }
  });

  it('prints a human summary with the latency table and the chart', async () => {
    const result = await runCli(['metrics', '--since', '3h'], { home });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('requests  4 answered: 3 local (75.0%), 1 hosted (25.0%); 1 after fallback, 1 failed attempt, 1 cancelled by the caller, 2 denied\n');
    expect(result.stdout).toContain('permits   2 refused outside any request (permit issue/verify): not counted as denied requests\n');
    expect(result.stdout).toContain('probes    1 refused by policy (provider test/capabilities): not counted as denied requests\n');
    expect(result.stdout).toContain('spend     $0.002910 (hosted $0.002700, local $0.00, provider probes $0.000210)\n');
    // The seed's local engine read 500 prompt tokens from its cache, which the default reference (no cache-read rate) prices in full: said so.
    expect(result.stdout).toContain('savings   ~$0.04: local tokens priced at anthropic:claude-sonnet-5-5 ($2/$10 per MTok in/out, cache reads at the input rate)\n');
    expect(result.stdout).toContain('cache     hosted 300 of 400 input read from cache (75.0%), 50 written; local 500 of 6000 input read from cache (8.3%)\n');
    expect(result.stdout).toMatch(/ollama\s+llama3\s+local\s+3\s+200 ms\s+300 ms\s+600 ms\s+800 ms/);
    // Answers, tokens and spend per model, most spend first; the probes' spend in a last row, so
    // the spend column adds up to the spend line.
    expect(result.stdout).toMatch(
      /MODEL\s+CLASS\s+ANSWERS\s+FAILED\s+TOKENS IN\s+OUT\s+CACHED\s+SPEND\nclaude:claude-sonnet\s+approved_hosted\s+1\s+1\s+400\s+100\s+300\s+\$0\.002700\nollama:llama3\s+local\s+3\s+0\s+6000\s+3000\s+500\s+\$0\.00\n\(provider probes\)\s+\$0\.000210\n/,
    );
    // Where each level went: only levels seen in the window, least sensitive first, then the
    // request refused before it was classified: the DENIED column adds up to the 2 denied.
    expect(result.stdout).toMatch(/SENSITIVITY\s+LOCAL\s+HOSTED\s+DENIED\npublic\s+1\s+1\s+0\ninternal\s+1\s+0\s+0\nrestricted\s+1\s+0\s+1\n\(no level\)\s+0\s+0\s+1\n/);
    expect(result.stdout).toContain('local requests per hour');
    expect(result.stdout).toMatch(/cold starts: .*\nPROVIDER\s+MODEL\s+COLD ANSWERS\s+FIRST TOKEN P50 COLD\s+WARM\nollama\s+llama3\s+1\s+300 ms\s+100 ms\n/);
  });

  it('--sensitivity counts the requests of the levels given, one or several comma-separated (confidential and above: confidential,restricted)', async () => {
    const [restricted, publicAndInternal, human] = await Promise.all([
      runCli(['--json', 'metrics', '--since', '3h', '--sensitivity', 'restricted'], { home }),
      runCli(['--json', 'metrics', '--since', '3h', '--sensitivity', 'internal,public'], { home }),
      runCli(['metrics', '--since', '3h', '--sensitivity', 'confidential,restricted'], { home }),
    ]);
    expect(restricted.exitCode, restricted.stderr).toBe(0);
    const restrictedMetrics = (parseJsonDocument(restricted.stdout) as { metrics: Record<string, unknown> }).metrics;
    expect(restrictedMetrics['window']).toMatchObject({ sensitivity: ['restricted'] });
    // The seed's restricted rows: one local answer and one denial (the request refused before it was classified has no level).
    expect(restrictedMetrics['requests']).toMatchObject({ total: 1, local: 1, hosted: 0, denied: 1 });
    expect(restrictedMetrics['unclassified']).toEqual({ local: 0, hosted: 0, denied: 0 });
    expect(restrictedMetrics['bySensitivity']).toContainEqual({ level: 'restricted', local: 1, hosted: 0, denied: 1 });
    const both = (parseJsonDocument(publicAndInternal.stdout) as { metrics: Record<string, unknown> }).metrics;
    expect(both['window']).toMatchObject({ sensitivity: ['public', 'internal'] });
    expect(both['requests']).toMatchObject({ total: 3, local: 2, hosted: 1, denied: 0 });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^Last 3h \(.* – .*\), sensitivity confidential,restricted$/m);
    expect(human.stdout).toContain('requests  1 answered: 1 local (100.0%), 0 hosted (0.0%)');
  });

  it('--session counts one agent session only (the fallback answer and the hosted one of hour 1)', async () => {
    const result = await runCli(['--json', 'metrics', '--since', '3h', '--session', 'sess-agent'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    const { metrics } = parseJsonDocument(result.stdout) as { metrics: Record<string, unknown> };
    expect(metrics['window']).toMatchObject({ session: 'sess-agent' });
    expect(metrics['requests']).toEqual({ total: 2, local: 1, hosted: 1, localShare: 0.5, hostedShare: 0.5, failedAttempts: 0, cancelled: 0, denied: 0, fallbacks: 1 });
    expect(metrics['tokens']).toMatchObject({ local: { input: 3000, output: 1500, total: 4500 }, hosted: { input: 400, output: 100, total: 500 } });
    // The probe belongs to no session.
    expect(metrics['spendUsd']).toEqual({ total: 0.0027, local: 0, hosted: 0.0027, probes: 0 });
    const human = await runCli(['metrics', '--since', '3h', '--session', 'sess-agent'], { home });
    expect(human.stdout).toMatch(/^Last 3h \(.* – .*\), session sess-agent$/m);
    expect(human.stdout).toContain('requests  2 answered: 1 local (50.0%), 1 hosted (50.0%); 1 after fallback');
    expect(result.stderr).toBe('');
    // Nothing bears this id (most likely a typo): still zeros, exit 0 — a client may name a session before its first request — but said so.
    const unknown = await runCli(['--json', 'metrics', '--since', '3h', '--session', 'no-such-session'], { home });
    expect(unknown.exitCode).toBe(0);
    expect((parseJsonDocument(unknown.stdout) as { metrics: { requests: { total: number } } }).metrics.requests.total).toBe(0);
    expect(unknown.stderr).toBe(
      'warning: no stored session and no evidence row is named "no-such-session": check the id (stored sessions: `syndicate session list`; every session id in the evidence: `syndicate evidence list`)',
    );
  });

  it('a shorter window leaves the older rows out (only the denial, 25 minutes ago, is left)', async () => {
    const result = await runCli(['--json', 'metrics', '--since', '30m'], { home });
    const { metrics } = parseJsonDocument(result.stdout) as { metrics: { requests: { total: number; denied: number } } };
    expect(metrics.requests).toMatchObject({ total: 0, denied: 1 });
  });

  it('charts a window that ends after now (this month, asked mid-month) up to now, its newest point so far: not hours to come at 0', async () => {
    const since = new Date(Date.now() - 4 * HOUR).toISOString();
    const until = new Date(Date.now() + 30 * 24 * HOUR).toISOString();
    const json = await runCli(['--json', 'metrics', '--since', since, '--until', until], { home });
    expect(json.exitCode, json.stderr).toBe(0);
    const { metrics } = parseJsonDocument(json.stdout) as { metrics: { window: { until: string }; hourly: { hour: string }[] } };
    expect(metrics.window.until).toBe(until);
    // Four or five hours up to the one under way, not the 720 of the month to come.
    expect(metrics.hourly.length).toBeLessThanOrEqual(6);
    expect(Date.parse(metrics.hourly.at(-1)?.hour ?? '')).toBeLessThanOrEqual(Date.now());
    const human = await runCli(['metrics', '--since', since, '--until', until], { home });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/newest point: \d\d:00–\d\d:\d\d UTC, so far$/);
  });

  it('charts up to the time its hourly series ends: the one time the command read, however many reads of the clock later it prints', async () => {
    // Each read of Date.now an hour after the last (from 37 minutes past an hour): a command that
    // read the clock again to chart the series charted an hour past its end, without the note.
    const start = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR + 37 * MINUTE;
    const env = { NODE_OPTIONS: `--require ${JSON.stringify(join(REPO_ROOT, 'test', 'helpers', 'hour-per-read-clock.cjs'))}`, SYNDICATE_TEST_CLOCK_START: String(start) };
    const since = new Date(start - 4 * HOUR).toISOString();
    const until = new Date(start + 30 * 24 * HOUR).toISOString();
    // A home of its own, without evidence: the seed's rows, now, would lie past the hours this clock reads.
    const empty = makeTempHome('syndicate-metrics-clock-');
    try {
      expect((await runCli(['init'], { home: empty.home })).exitCode).toBe(0);
      const human = await runCli(['metrics', '--since', since, '--until', until], { home: empty.home, env });
      expect(human.exitCode, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/newest point: \d\d:00–\d\d:37 UTC, so far$/);
    } finally {
      empty.cleanup();
    }
  });

  it('rejects a malformed or empty --since with exit 2 and a hint', async () => {
    for (const since of ['yesterday', '0s']) {
      const result = await runCli(['metrics', '--since', since], { home });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('--since');
      expect(result.stderr).toMatch(/^hint: .*24h/m);
    }
  });

  it('refuses a bare --since (30 days? 30 minutes?): exit 2, the hint writes the units out (was read as 30 seconds, "Last 30")', async () => {
    const result = await runCli(['--json', 'metrics', '--since', '30'], { home });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(parseJsonDocument(result.stdout)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: '--since "30" has no unit: 30 days, 30 hours, 30 minutes or 30 seconds?', hint: 'write the unit: --since 30d for 30 days (or 30h, 30m, 30s)' },
    });
  });

  it('rejects a --since beyond its maximum with exit 2 naming the range (was "internal error: Invalid time value", exit 70)', async () => {
    const result = await runCli(['metrics', '--since', '99999999999d'], { home });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain('--since must be between 1ms and 3650d, got "99999999999d"');
  });
});

describe('syndicate metrics: provider probes are not user requests', () => {
  let scenario: Scenario;
  let engine: FakeEngine;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'openai' });
    // The default egress list holds only the real hosted hosts: the policy refuses anything sent to this one.
    scenario = await Scenario.create();
    await scenario.register({ id: 'offlist', engine, class: 'approved_hosted', authEnv: 'OFFLIST_KEY', price: { inputPerMTok: 1, outputPerMTok: 1 } });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await engine?.close();
  });

  it('a probe the policy refuses is counted apart from denied requests; a refused run is a denied request', async () => {
    const probe = await scenario.cli(['provider', 'test', 'offlist'], { env: { OFFLIST_KEY: 'test-key' } });
    expect(probe.exitCode, probe.stderr).toBe(4);
    const afterProbe = (await scenario.json(['metrics', '--since', '1h'])).document.metrics as { requests: { denied: number }; probesDenied: number; bySensitivity: { denied: number }[] };
    expect(afterProbe.requests.denied).toBe(0);
    expect(afterProbe.probesDenied).toBe(1);
    expect(afterProbe.bySensitivity.every((level) => level.denied === 0)).toBe(true);
    const run = await scenario.cli(['run', 'hello', '--provider', 'offlist'], { env: { OFFLIST_KEY: 'test-key' } });
    expect(run.exitCode, run.stderr).toBe(4);
    const afterRun = (await scenario.json(['metrics', '--since', '1h'])).document.metrics as typeof afterProbe;
    expect(afterRun.requests.denied).toBe(1);
    expect(afterRun.probesDenied).toBe(1);
    expect(inferenceExchanges(engine)).toHaveLength(0);
  });
});
