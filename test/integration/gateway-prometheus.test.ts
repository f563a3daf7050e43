/**
 * The gateway's `/metrics` as an operator's Prometheus scrapes it, against a running `syndicate
 * serve` with real traffic from the official SDKs through fake engines: what the exposition must be
 * (HELP and TYPE for every family, names by Prometheus's conventions, buckets that fit LLM latencies,
 * the token), label values that stay bounded whatever clients send, counters that never go back
 * while it serves, and the figures `syndicate metrics` gives for the same traffic.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonDocument } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { defaultModel, Scenario } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { parsePrometheusText } from '../unit/gateway/harness.js';

/** One metric family of the exposition: its TYPE, its HELP, and its samples as `name{labels}` → value. */
interface Family {
  type: string;
  help: string;
  samples: Map<string, number>;
}

const SUFFIXES = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count', ''], counter: [''], gauge: [''], untyped: [''] } as const;

/**
 * The text format read line by line as Prometheus's own parser reads it: each family's `# HELP`
 * and `# TYPE` once, before its samples, and every sample in a family whose TYPE allows its name.
 * Throws on anything else; the values are read by the suite's `parsePrometheusText`.
 */
function families(text: string): Map<string, Family> {
  const values = parsePrometheusText(text);
  const byName = new Map<string, Family>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment !== null) {
      const [, keyword, name, rest] = comment as unknown as [string, 'HELP' | 'TYPE', string, string];
      const family = byName.get(name) ?? { type: '', help: '', samples: new Map<string, number>() };
      if (family.samples.size > 0) throw new Error(`# ${keyword} ${name} after its samples`);
      if ((keyword === 'HELP' ? family.help : family.type) !== '') throw new Error(`a second # ${keyword} for ${name}`);
      if (keyword === 'HELP') family.help = rest;
      else family.type = rest;
      byName.set(name, family);
      current = name;
      continue;
    }
    if (line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] as string;
    const family = current === undefined ? undefined : byName.get(current);
    const suffixes: readonly string[] = family === undefined ? [] : (SUFFIXES[family.type as keyof typeof SUFFIXES] ?? []);
    if (family === undefined || !suffixes.some((suffix) => name === `${current}${suffix}`)) throw new Error(`sample ${name} outside a family that has it: ${line}`);
    const key = line.slice(0, line.lastIndexOf(' '));
    family.samples.set(key, values.get(key) as number);
  }
  return byName;
}

/** Every series of the counters and histograms (the values that may only go up), `name{labels}` → value. */
function monotonicSeries(byName: Map<string, Family>): Map<string, number> {
  const series = new Map<string, number>();
  for (const family of byName.values()) {
    if (family.type !== 'counter' && family.type !== 'histogram') continue;
    for (const [key, value] of family.samples) series.set(key, value);
  }
  return series;
}

function sum(samples: Map<string, number>, prefix: string, ...labels: string[]): number {
  let total = 0;
  for (const [key, value] of samples) if (key.startsWith(`${prefix}{`) && labels.every((label) => key.includes(label))) total += value;
  return total;
}

let local: FakeEngine;
let spare: FakeEngine;
let hosted: FakeEngine;
let scenario: Scenario;
let serve: RunningServe;
const HOSTED_KEY_ENV = 'PROMETHEUS_TEST_HOSTED_KEY';
/** The price a later version of the local record gives it (a provider registered again). */
const LOCAL_PRICE = { inputPerMTok: 0.01, outputPerMTok: 0.02 };

function token(): string {
  return readFileSync(join(scenario.home, 'gateway.token'), 'utf8').trim();
}

async function scrape(): Promise<{ text: string; byName: Map<string, Family>; samples: Map<string, number> }> {
  const response = await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${token()}` } });
  expect(response.status).toBe(200);
  const text = await response.text();
  const byName = families(text);
  return { text, byName, samples: parsePrometheusText(text) };
}

const openai = (): OpenAI => new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: token(), maxRetries: 0 });
const anthropic = (): Anthropic => new Anthropic({ baseURL: serve.url, apiKey: token(), maxRetries: 0 });
const localModel = (): string => `local:${defaultModel(local)}`;
const hostedModel = (): string => `claude:${defaultModel(hosted)}`;

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${serve.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

beforeAll(async () => {
  local = await startFakeEngine({ kind: 'ollama' });
  spare = await startFakeEngine({ kind: 'llama.cpp' });
  hosted = await startFakeEngine({ kind: 'anthropic' });
  scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
  await scenario.register(
    { id: 'local', engine: local },
    { id: 'spare', engine: spare },
    { id: 'claude', engine: hosted, class: 'approved_hosted', authEnv: HOSTED_KEY_ENV, price: { inputPerMTok: 3, outputPerMTok: 15 } },
  );
  serve = await startServe(['serve', '--port', '0', '--home', scenario.home], { [HOSTED_KEY_ENV]: 'sk-fake-hosted' }, 90_000);
}, 90_000);

afterAll(async () => {
  serve?.server.kill('SIGTERM');
  await serve?.server;
  scenario?.cleanup();
  await Promise.all([local?.close(), spare?.close(), hosted?.close()]);
});

describe("the gateway's /metrics, scraped as Prometheus does", () => {
  it('is the text format behind the token: HELP and TYPE for every family, names by the conventions, buckets for LLM latencies', { timeout: 90_000 }, async () => {
    await openai().chat.completions.create({ model: localModel(), messages: [{ role: 'user', content: 'hi' }] });
    const stream = await openai().chat.completions.create({ model: localModel(), messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of stream) void chunk;
    await anthropic().messages.create({ model: localModel(), max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });

    expect((await fetch(`${serve.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${serve.url}/metrics`, { headers: { authorization: 'Bearer syn_not-the-token' } })).status).toBe(401);
    const response = await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${token()}` } });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    const byName = families(await response.text());

    for (const [name, family] of byName) {
      expect(family.help, name).not.toBe('');
      expect(['counter', 'gauge', 'histogram'], name).toContain(family.type);
      // Only counters end in _total, and every counter does (promtool check metrics).
      expect(name.endsWith('_total'), `${name} is a ${family.type}`).toBe(family.type === 'counter');
      if (family.type === 'histogram') expect(name, 'a histogram of a base unit').toMatch(/_(seconds|bytes)$/);
      expect(name, 'no unit other than the base ones').not.toMatch(/_(milliseconds|ms|minutes|kilobytes|megabytes)(_|$)/);
    }
    // Histograms: cumulative buckets, +Inf equal to the count; latencies from milliseconds to minutes.
    for (const name of ['syndicate_gateway_first_token_seconds', 'syndicate_gateway_total_seconds']) {
      const family = byName.get(name) as Family;
      const answered = [...family.samples.keys()].filter((key) => key.startsWith(`${name}_count{`));
      expect(answered.length).toBeGreaterThan(0);
      for (const countKey of answered) {
        const labels = countKey.slice(`${name}_count`.length + 1, -1);
        const buckets = [...family.samples.entries()]
          .filter(([key]) => key.startsWith(`${name}_bucket{`) && key.endsWith(`,${labels}}`))
          .map(([key, value]) => ({ le: /le="([^"]+)"/.exec(key)?.[1] as string, value }));
        const bounds = buckets.map((bucket) => (bucket.le === '+Inf' ? Infinity : Number(bucket.le)));
        expect(bounds.at(-1)).toBe(Infinity);
        expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
        expect(buckets.map((bucket) => bucket.value)).toEqual(buckets.map((bucket) => bucket.value).sort((a, b) => a - b));
        expect(buckets.at(-1)?.value).toBe(family.samples.get(countKey));
        expect(bounds[0]).toBeLessThanOrEqual(0.01);
        // Up to the 10 minutes a request may take when the policy sets no latencyBudget.totalMs.
        expect(bounds.at(-2)).toBeGreaterThanOrEqual(600);
      }
    }
  });

  it('keeps its series bounded whatever clients send: models, hint headers, paths and tokens never become label values', { timeout: 90_000 }, async () => {
    const round = async (value: string): Promise<void> => {
      const statuses = [
        await post('/v1/chat/completions', { model: value, messages: [{ role: 'user', content: 'hi' }] }),
        await post('/v1/chat/completions', { model: `local:${value}`, messages: [{ role: 'user', content: 'hi' }] }),
        await post('/v1/messages', { model: `claude:${value}`, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' }),
        await post('/api/chat', { model: value, messages: [{ role: 'user', content: 'hi' }], stream: false }),
        await post('/api/chat', { model: value }),
        await post('/api/generate', { model: `${value}:latest`, prompt: 'hi', stream: false }),
        await post('/v1/embeddings', { model: value, input: 'hi' }),
        await post('/v1/completions', { model: value, prompt: 'hi' }),
        await post('/v1/responses', { model: value, input: 'hi' }),
        await post(`/v1/${value}`, {}),
        await post('/v1/chat/completions', { model: localModel(), messages: [{ role: 'user', content: 'hi' }] }, { 'x-syndicate-session': value, 'x-claude-code-session-id': value, 'session-id': value }),
        await post('/v1/chat/completions', { model: localModel(), messages: [{ role: 'user', content: 'hi' }] }, { 'x-syndicate-workflow': value, 'x-syndicate-sensitivity': value }),
        await post('/v1/chat/completions', { model: localModel(), messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer syn_${value}` }),
      ];
      // Answered, refused as unknown, or refused as malformed: never a 5xx.
      for (const status of statuses) expect(status).toBeLessThan(500);
    };
    // Once, so that every outcome these requests have already has its series.
    await round(`warm-${randomBytes(4).toString('hex')}`);
    const before = await scrape();
    const values: string[] = [];
    for (let index = 0; index < 40; index += 1) {
      const value = `x${randomBytes(6).toString('hex')}`;
      values.push(value);
      await round(value);
    }
    const after = await scrape();
    // prom-client's `nodejs_active_{handles,requests,resources}{type}` list the kinds of handle node
    // holds at the scrape (a `Timeout` or not, at that moment): a fixed set of node's, not clients'.
    const nodeResourceKinds = /^syndicate_nodejs_active_(?:handles|requests|resources)\{type="[A-Za-z]+"\}$/;
    // And `nodejs_gc_duration_seconds{kind}` gets a kind's series at the first collection of that kind
    // (a major or incremental one may first run during these requests): V8's four kinds, not clients'.
    const gcKinds = /^syndicate_nodejs_gc_duration_seconds_(?:bucket|sum|count)\{(?:le="[^"]+",)?kind="(?:minor|major|incremental|weakcb)"\}$/;
    expect([...after.samples.keys()].filter((key) => !before.samples.has(key) && !nodeResourceKinds.test(key) && !gcKinds.test(key))).toEqual([]);
    for (const value of values) expect(after.text).not.toContain(value);
    // The requests were counted, under the labels they had before.
    expect(sum(after.samples, 'syndicate_gateway_requests_total', 'outcome="model_not_found"')).toBeGreaterThan(sum(before.samples, 'syndicate_gateway_requests_total', 'outcome="model_not_found"'));
    expect(sum(after.samples, 'syndicate_gateway_refused_callers_total', 'reason="token_invalid"')).toBeGreaterThanOrEqual(sum(before.samples, 'syndicate_gateway_refused_callers_total', 'reason="token_invalid"') + 40);
  });

  it('never moves a counter back while it serves: a provider registered again, a policy reload, a busy store', { timeout: 90_000 }, async () => {
    await openai().chat.completions.create({ model: localModel(), messages: [{ role: 'user', content: 'hi' }] });
    const first = monotonicSeries((await scrape()).byName);
    expect(first.size).toBeGreaterThan(0);
    const notBelow = (earlier: Map<string, number>, later: Map<string, number>, when: string): void => {
      for (const [key, value] of earlier) expect(later.get(key), `${key} ${when}`).toBeGreaterThanOrEqual(value);
    };

    // A new version of the local record (a price), which the gateway follows.
    await scenario.register({ id: 'local', engine: local, price: LOCAL_PRICE });
    await openai().chat.completions.create({ model: localModel(), messages: [{ role: 'user', content: 'hi' }] });
    const reregistered = monotonicSeries((await scrape()).byName);
    notBelow(first, reregistered, 'after the provider was registered again');

    // An edit of the policy, reloaded at once on SIGHUP.
    const reloadsBefore = sum((await scrape()).samples, 'syndicate_gateway_policy_reloads_total', 'outcome="reloaded"');
    appendFileSync(join(scenario.home, 'policy.yaml'), 'cost:\n  perDayUsd: 50\n');
    serve.server.kill('SIGHUP');
    let reloaded = await scrape();
    while (sum(reloaded.samples, 'syndicate_gateway_policy_reloads_total', 'outcome="reloaded"') === reloadsBefore) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      reloaded = await scrape();
    }
    notBelow(reregistered, monotonicSeries(reloaded.byName), 'after the policy reload');

    // Another process holds the store: the request is refused (store_failure), the scrape still answers.
    const holder = new Database(join(scenario.home, 'syndicate.db'));
    let whileBusy: Map<string, number>;
    holder.exec('BEGIN IMMEDIATE');
    try {
      expect(await post('/v1/chat/completions', { model: localModel(), messages: [{ role: 'user', content: 'hi' }] })).toBe(503);
      whileBusy = monotonicSeries((await scrape()).byName);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    notBelow(monotonicSeries(reloaded.byName), whileBusy, 'while another process held the store');
    await openai().chat.completions.create({ model: localModel(), messages: [{ role: 'user', content: 'hi' }] });
    const last = await scrape();
    notBelow(whileBusy, monotonicSeries(last.byName), 'once the store was free');
    expect(sum(last.samples, 'syndicate_gateway_requests_total', 'outcome="store_failure"')).toBeGreaterThan(0);
  });

  it('agrees with `syndicate metrics` on the same traffic, and differs only where the README says', { timeout: 90_000 }, async () => {
    const cliMetrics = async (): Promise<{ requests: Record<string, number>; tokens: Record<string, { input: number; output: number }>; spendUsd: { total: number } }> => {
      const { result, document } = await scenario.json(['metrics', '--since', '1h']);
      expect(result.exitCode, result.stderr).toBe(0);
      return document.metrics as never;
    };
    type Row = { id: string; kind: string; state: string; hop: number; inputTokens: number | null; outputTokens: number | null; provider: { class: string } | null };
    const evidence = async (): Promise<Row[]> => {
      const result = await scenario.cli(['--json', 'evidence', 'list', '--limit', '1000']);
      expect(result.exitCode, result.stderr).toBe(0);
      return (parseJsonDocument(result.stdout) as { evidence: Row[] }).evidence;
    };
    const seen = new Set((await evidence()).map((row) => row.id));
    const cliBefore = await cliMetrics();
    const before = (await scrape()).samples;

    // Two local answers and one hosted; a restricted request refused for the hosted provider.
    await openai().chat.completions.create({ model: localModel(), messages: [{ role: 'user', content: 'hi' }] });
    await anthropic().messages.create({ model: localModel(), max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });
    await anthropic().messages.create({ model: hostedModel(), max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });
    await expect(
      anthropic().messages.create({ model: hostedModel(), max_tokens: 64, messages: [{ role: 'user', content: `my key: sk-ant-api03-${'a'.repeat(90)}` }] }),
    ).rejects.toMatchObject({ status: 403 });
    // A fallback: the first local candidate fails, the other answers. Confidential: local only;
    // batch: the cheapest first, which is spare once local has a price (as the test above gives it).
    await scenario.register({ id: 'local', engine: local, price: LOCAL_PRICE });
    spare.setFault({ status: 500 }, 1);
    const fellBack = await openai()
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-syndicate-sensitivity': 'confidential', 'x-syndicate-workflow': 'batch' } })
      .withResponse();
    expect(fellBack.response.headers.get('x-syndicate-provider')).toBe('local');
    // A hosted stream cut after it started: billed, and its tokens counted by /metrics alone.
    hosted.setFault('truncate-stream', 1);
    await expect(
      (async () => {
        for await (const event of anthropic().messages.stream({ model: hostedModel(), max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })) void event;
      })(),
    ).rejects.toThrow();
    await scenario.releaseHolds();

    const after = (await scrape()).samples;
    const cliAfter = await cliMetrics();
    const rows = (await evidence()).filter((row) => !seen.has(row.id) && row.kind === 'invocation');
    const delta = (prefix: string, ...labels: string[]): number => sum(after, prefix, ...labels) - sum(before, prefix, ...labels);
    const cliDelta = (key: string): number => (cliAfter.requests[key] as number) - (cliBefore.requests[key] as number);

    expect(delta('syndicate_gateway_requests_total', 'outcome="completed"', 'class="local"')).toBe(cliDelta('local'));
    expect(delta('syndicate_gateway_requests_total', 'outcome="completed"', 'class="approved_hosted"')).toBe(cliDelta('hosted'));
    expect(cliDelta('local')).toBe(3);
    expect(cliDelta('hosted')).toBe(1);
    expect(delta('syndicate_gateway_denials_total')).toBe(cliDelta('denied'));
    expect(cliDelta('denied')).toBe(1);
    expect(delta('syndicate_gateway_spend_usd_total')).toBeCloseTo(cliAfter.spendUsd.total - cliBefore.spendUsd.total, 9);
    // Fallbacks: every hop after the first in /metrics, the answers from one in `metrics`.
    expect(delta('syndicate_gateway_fallbacks_total')).toBe(rows.filter((row) => row.hop > 0).length);
    expect(cliDelta('fallbacks')).toBe(rows.filter((row) => row.hop > 0 && row.state === 'completed').length);
    expect(cliDelta('fallbacks')).toBe(1);
    // Tokens: answers in both; the cut stream's in /metrics only (as its spend is in both).
    const tokensOf = (which: Row[]): number => which.reduce((total, row) => total + (row.inputTokens ?? 0) + (row.outputTokens ?? 0), 0);
    const cliTokens = (metrics: typeof cliAfter): number => Object.values(metrics.tokens).reduce((total, side) => total + (typeof side === 'object' ? side.input + side.output : 0), 0);
    expect(cliTokens(cliAfter) - cliTokens(cliBefore)).toBe(tokensOf(rows.filter((row) => row.state === 'completed')));
    const cut = rows.filter((row) => row.state === 'failed' && (row.inputTokens ?? 0) > 0);
    expect(cut.length).toBe(1);
    expect(delta('syndicate_gateway_tokens_total')).toBe(tokensOf(rows));
    // The family says so too.
    expect((await scrape()).byName.get('syndicate_gateway_tokens_total')?.help).toContain('streams cut after the model read the prompt');
  });
});
