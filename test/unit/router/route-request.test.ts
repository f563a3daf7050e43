import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DAY_SPEND_SQL, SPEND_CHAINED_SINCE_SQL } from '../../../src/evidence/queries.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { estimatePromptTokens, routeRequest, spentTodayUsd } from '../../../src/router/route-request.js';
import { openStore } from '../../../src/store/store.js';
import { PRICE, provider, textRequest } from './fixtures.js';

const providers = [
  provider({ id: 'ollama', models: [{ id: 'llama3.2:3b' }] }),
  provider({ id: 'anthropic', class: 'approved_hosted', baseUrl: 'https://api.anthropic.com', models: [{ id: 'claude', price: PRICE }] }),
];
// Probes answer instantly: these tests are about classification and spend, not health.
const health = (): HealthMonitor => new HealthMonitor({ probe: async () => ({}) });

describe('routeRequest', () => {
  it('a classifier that throws fails closed: restricted, local candidates only', async () => {
    const routed = await routeRequest({
      request: textRequest('hello'),
      policy: defaultPolicy(),
      providers,
      workflow: 'batch',
      health: health(),
      classify: () => {
        throw new Error('detector exploded');
      },
    });
    expect(routed.classification).toMatchObject({ level: 'restricted', failedClosed: true, findings: [{ detector: 'classifier.error' }] });
    expect(routed.classification.findings[0]?.reason).toContain('detector exploded');
    expect(routed.plan.candidates.map((candidate) => candidate.provider)).toEqual(['ollama']);
  });

  it('passes the policy words and patterns to the classifier; a hint raises the level but never lowers it', async () => {
    const policy = defaultPolicy();
    policy.patterns = [{ name: 'atlas', level: 'confidential', keywords: ['atlas'] }];
    let seen: unknown;
    const raised = await routeRequest({
      request: textRequest('hello'),
      policy,
      providers,
      workflow: 'batch',
      health: health(),
      sensitivityHint: 'confidential',
      classify: (_request, options) => {
        seen = options;
        return { level: 'public', findings: [], failedClosed: false };
      },
    });
    expect(seen).toEqual({ indicatorWords: policy.indicatorWords, patterns: policy.patterns, hint: 'confidential' });
    expect(raised.classification.level).toBe('confidential');
    expect(raised.plan.sensitivity).toBe('confidential');
    const kept = await routeRequest({
      request: textRequest('hello'),
      policy,
      providers,
      workflow: 'batch',
      health: health(),
      sensitivityHint: 'public',
      classify: () => ({ level: 'restricted', findings: [], failedClosed: false }),
    });
    expect(kept.plan.sensitivity).toBe('restricted');
  });

  it('the per-day ceiling counts what evidence says was spent today', async () => {
    const store = openStore(':memory:');
    try {
      const insert = store.db.prepare(
        "INSERT INTO evidence (id, chain_seq, request_id, kind, state, pid, created_at, caller, cost_usd) VALUES (?, ?, ?, 'invocation', 'completed', 1, ?, 'test', ?)",
      );
      insert.run('e1', 1, 'r1', '2025-06-01T08:00:00.000Z', 12.5);
      insert.run('e2', 2, 'r2', '2025-06-01T09:30:00.000Z', 7.49);
      insert.run('e3', 3, 'r3', '2025-05-31T23:59:59.000Z', 100);
      const now = new Date('2025-06-01T12:00:00.000Z');
      expect(spentTodayUsd(store, now)).toBeCloseTo(19.99, 10);
      const routed = await routeRequest({
        request: textRequest('hello'),
        policy: defaultPolicy(),
        providers,
        workflow: 'batch',
        health: health(),
        store,
        now,
        classify: () => ({ level: 'public', findings: [], failedClosed: false }),
      });
      expect(routed.plan.candidates.map((candidate) => candidate.provider)).toEqual(['ollama']);
      expect(routed.plan.excluded[0]?.rules).toEqual(['cost_per_day']);
    } finally {
      store.close();
    }
  });

  it('keeps the day\'s spend as a running total: later calls add what was chained since, by created_at, and start afresh each day', () => {
    const store = openStore(':memory:');
    try {
      const insert = store.db.prepare(
        "INSERT INTO evidence (id, chain_seq, request_id, kind, state, pid, created_at, caller, cost_usd) VALUES (?, ?, ?, 'invocation', ?, 1, ?, 'test', ?)",
      );
      const chain = store.db.prepare("UPDATE evidence SET chain_seq = ?, state = 'completed', cost_usd = ? WHERE id = ?");
      const now = new Date('2025-06-01T12:00:00.000Z');
      insert.run('e1', 1, 'r1', 'completed', '2025-06-01T08:00:00.000Z', 1.25);
      insert.run('pending', null, 'r2', 'pending', '2025-06-01T09:00:00.000Z', null);
      expect(spentTodayUsd(store, now)).toBeCloseTo(1.25, 10);
      // Finished since: the pending row (started today), a row started yesterday, a new one, a denial.
      chain.run(2, 2.5, 'pending');
      insert.run('yesterday', 3, 'r3', 'completed', '2025-05-31T23:59:00.000Z', 100);
      insert.run('e4', 4, 'r4', 'completed', '2025-06-01T11:00:00.000Z', 0.25);
      insert.run('denial', 5, 'r5', 'denied', '2025-06-01T11:30:00.000Z', null);
      expect(spentTodayUsd(store, now)).toBeCloseTo(4, 10);
      expect(spentTodayUsd(store, now)).toBeCloseTo(4, 10);
      // Envelopes removed by hand and the chain restarted: summed afresh, never undercounted.
      store.db.exec('DELETE FROM evidence');
      insert.run('again', 1, 'r7', 'completed', '2025-06-01T11:45:00.000Z', 3);
      expect(spentTodayUsd(store, now)).toBeCloseTo(3, 10);
      // The next day starts from what was recorded since its start.
      insert.run('tomorrow', 6, 'r6', 'completed', '2025-06-02T00:30:00.000Z', 0.5);
      expect(spentTodayUsd(store, new Date('2025-06-02T01:00:00.000Z'))).toBeCloseTo(0.5, 10);
    } finally {
      store.close();
    }
  });

  it('reads the day\'s spend through indexes only: no statement scans the evidence table', () => {
    const store = openStore(':memory:');
    try {
      const statements: [string, unknown[]][] = [
        [DAY_SPEND_SQL, ['2025-06-01T00:00:00.000Z']],
        [SPEND_CHAINED_SINCE_SQL, ['2025-06-01T00:00:00.000Z', 3]],
      ];
      for (const [sql, parameters] of statements) {
        const steps = (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((step) => step.detail);
        expect(steps.length, sql).toBeGreaterThan(0);
        for (const step of steps.filter((detail) => /evidence\b/.test(detail))) expect(step, sql).toMatch(/USING (COVERING )?INDEX/);
      }
    } finally {
      store.close();
    }
  });

  it('a store that cannot answer counts as unlimited spend (fail closed)', () => {
    const store = openStore(':memory:');
    store.db.exec('DROP TABLE evidence_chunks; DROP TABLE evidence');
    expect(spentTodayUsd(store, new Date())).toBe(Number.POSITIVE_INFINITY);
    store.close();
  });
});

describe('routeRequest without a now', () => {
  it("dates a model's hold on the health monitor's clock, which measured its time left", async () => {
    const at = Date.parse('2025-06-01T10:00:00.000Z');
    const monitor = new HealthMonitor({ probe: async () => ({}), now: () => at });
    const hosted = providers[1]!;
    monitor.reportFailure(hosted, { kind: 'model_not_found', reason: 'anthropic answered HTTP 404: model: claude' }, 'claude');
    const routed = await routeRequest({ request: textRequest('hello'), policy: defaultPolicy(), providers, workflow: 'batch', health: monitor });
    const excluded = routed.plan.excluded.find((exclusion) => exclusion.provider === 'anthropic');
    expect(excluded?.reasons).toEqual([expect.stringContaining('held back for another 30 s (until 2025-06-01T10:00:30.000Z)')]);
  });
});

describe('routeRequest with the bounded prompt estimate (the pipeline)', () => {
  const local = [provider({ id: 'fakeoai', models: [{ id: 'm1', contextWindow: 32_768 }] })];
  const words = 'the quick brown fox jumps over the lazy dog '.repeat(50);
  const route = (maxTokens: number) =>
    routeRequest({ request: textRequest(words, { maxTokens }), policy: defaultPolicy(), providers: local, workflow: 'batch', health: health(), promptEstimate: 'bounded' });

  it('uses the byte bound when every window holds it and the whole requested output', async () => {
    const routed = await route(1000);
    expect(routed.estimatedPromptTokens).toBe(Math.ceil(Buffer.byteLength(words) * 1.1));
    expect(routed.plan.candidates[0]?.loweredMaxTokens).toBeUndefined();
  });

  it('counts the prompt when a max output must be lowered: lowered by the byte bound it would lose ~3 tokens per prompt token', async () => {
    const exact = await estimatePromptTokens(textRequest(words));
    expect(exact).toBeLessThan(Buffer.byteLength(words) / 3);
    const routed = await route(40_000);
    expect(routed.estimatedPromptTokens).toBe(exact);
    expect(routed.plan.candidates[0]?.loweredMaxTokens).toBe(32_768 - exact - 136);
  });

  it('counts the prompt when no max output is asked and the bound would leave less than the output the policy assumes', async () => {
    const exact = await estimatePromptTokens(textRequest(words));
    const bound = Math.ceil(Buffer.byteLength(words) * 1.1);
    const policy = defaultPolicy();
    policy.cost.defaultOutputTokens = 32_768 - 136 - Math.ceil((bound + exact) / 2);
    const routed = await routeRequest({ request: textRequest(words), policy, providers: local, workflow: 'batch', health: health(), promptEstimate: 'bounded' });
    expect(routed.estimatedPromptTokens).toBe(exact);
    expect(routed.plan.candidates[0]?.defaultMaxTokens).toBe(policy.cost.defaultOutputTokens);
  });
});

describe('routeRequest of a prompt too long for every window', () => {
  it('counts it only until it outgrows the largest window, and says the count is a lower bound', async () => {
    // ~350 KB of base64 is ~250 000 tokens; the largest window holds 128 000.
    const base64 = randomBytes(256 * 1024).toString('base64');
    const windows = [provider({ id: 'local', models: [{ id: 'small', contextWindow: 32_768 }, { id: 'large', contextWindow: 128_000 }] })];
    const routed = await routeRequest({ request: textRequest(base64), policy: defaultPolicy(), providers: windows, workflow: 'batch', health: health(), classify: () => ({ level: 'public', findings: [], failedClosed: false }) });
    const whole = await estimatePromptTokens(textRequest(base64));
    expect(whole).toBeGreaterThan(200_000);
    expect(routed.estimatedPromptTokens).toBeLessThan(whole);
    expect(routed.estimatedPromptTokens).toBeGreaterThan(128_000);
    // Stopped within a slice (64 Ki characters, at most as many tokens, plus the 10 % margin) of the largest window.
    expect(routed.estimatedPromptTokens).toBeLessThanOrEqual(Math.ceil((128_000 + 65_536) * 1.1));
    expect(routed.plan.candidates).toEqual([]);
    const tokens = routed.estimatedPromptTokens;
    expect(routed.plan.excluded.map((exclusion) => exclusion.reasons)).toEqual([
      [`context window 32768 < at least ${tokens + 136} tokens of the prompt (at least ${tokens}) and the chat template allowance (136)`],
      [`context window 128000 < at least ${tokens + 136} tokens of the prompt (at least ${tokens}) and the chat template allowance (136)`],
    ]);
    expect(routed.plan.notes).toContain(`the prompt was counted until it outgrew every context window: at least ${tokens} tokens, too long for every model`);
  });
});

describe('routeRequest for an embeddings request: each input against the windows', () => {
  const embedder = [provider({ id: 'bge', models: [{ id: 'bge-small', kind: 'embedding', contextWindow: 512 }] })];
  const sentence = 'the quick brown fox jumps over the lazy dog ';
  const route = (texts: string[], promptEstimate?: 'bounded') =>
    routeRequest({
      request: { model: 'auto', messages: [], stream: false, embedding: { input: { kind: 'texts', texts }, encodingFormat: 'float' } },
      policy: defaultPolicy(),
      providers: embedder,
      workflow: 'batch',
      health: health(),
      ...(promptEstimate === undefined ? {} : { promptEstimate }),
    });

  it('counts each input as a prompt is counted (the tokenizer plus 10 %) and names the one too long', async () => {
    const long = sentence.repeat(60);
    const exact = await estimatePromptTokens(textRequest(long));
    expect(exact + 2).toBeGreaterThan(512);
    const routed = await route(['short', long]);
    expect(routed.plan.candidates).toEqual([]);
    expect(routed.plan.excluded[0]?.reasons).toEqual([`context window 512 < ${exact + 2} tokens of input[1] (${exact} estimated, 2 special)`]);
  });

  it('bounded: counts an input whose byte bound alone would not fit, and keeps the model when the count does', async () => {
    const medium = sentence.repeat(20);
    expect(Math.ceil(Buffer.byteLength(medium) * 1.1)).toBeGreaterThan(512);
    expect(await estimatePromptTokens(textRequest(medium))).toBeLessThan(510);
    expect((await route([medium], 'bounded')).plan.candidates.map((candidate) => candidate.model)).toEqual(['bge-small']);
    expect((await route([sentence.repeat(60)], 'bounded')).plan.candidates).toEqual([]);
  });

  it('counts token ids as they are', async () => {
    const routed = await routeRequest({
      request: { model: 'auto', messages: [], stream: false, embedding: { input: { kind: 'tokens', tokens: [[1, 2], Array.from({ length: 511 }, () => 7)] }, encodingFormat: 'float' } },
      policy: defaultPolicy(),
      providers: embedder,
      workflow: 'batch',
      health: health(),
      promptEstimate: 'bounded',
    });
    expect(routed.plan.excluded[0]?.reasons).toEqual(['context window 512 < 513 tokens of input[1] (511 token ids, 2 special)']);
  });
});

describe('estimatePromptTokens', () => {
  it('counts text with a margin and 1000 tokens per image', async () => {
    const text = await estimatePromptTokens(textRequest('The quick brown fox jumps over the lazy dog.'));
    expect(text).toBeGreaterThanOrEqual(10);
    expect(text).toBeLessThan(20);
    const request = textRequest('The quick brown fox jumps over the lazy dog.');
    request.messages.push({ role: 'user', content: [{ type: 'image', mediaType: 'image/png', data: 'AAAA' }] });
    expect(await estimatePromptTokens(request)).toBe(text + 1000);
  });

  it('counts the assistant’s earlier tool calls too (an agent’s file write is most of its context)', async () => {
    const written = 'export const answer = 42;\n'.repeat(200);
    const withoutCall = textRequest('Write the file.');
    const withCall = textRequest('Write the file.');
    withCall.messages.push(
      { role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'write_file', arguments: JSON.stringify({ path: 'a.ts', content: written }) }] },
      { role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: 'ok' }] },
    );
    const difference = (await estimatePromptTokens(withCall)) - (await estimatePromptTokens(withoutCall));
    expect(difference).toBeGreaterThan(1000);
  });
});
