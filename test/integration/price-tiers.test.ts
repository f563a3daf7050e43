/**
 * Input-length price tiers end to end, through the built CLI: a prompt over GPT-6.2 Sol's 272K-token
 * threshold ("For requests with more than 272K input tokens, input and cache rates double and
 * output costs 1.5 times the short-context rate for the full request", developers.openai.com/api/
 * docs/models/gpt-6.2-sol) sent to a fake OpenAI upstream that counts it and reports it in its usage.
 * The evidence's cost and `metrics` spend bill the whole request at the tier, and the router's
 * estimate refuses it when only the tier takes it over the per-request ceiling. Then Claude Haiku
 * 5.5 through the gateway and the Anthropic SDK: a prompt over 100,000 tokens only with its cache
 * reads (Anthropic's `input_tokens` leaves them out; its prompt length counts them) is billed at 5x.
 */
import Anthropic from '@anthropic-ai/sdk';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { computeMetrics } from '../../src/metrics/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy } from '../unit/gateway/harness.js';

const MODEL = 'gpt-6.2-sol';
const PRICE = { inputPerMTok: 2, outputPerMTok: 10, tiers: [{ aboveInputTokens: 272_000, inputPerMTok: 4, outputPerMTok: 15 }] };
/** About 288 000 tokens: over the threshold as the upstream counts it, and as the router estimates it. */
const LONG_PROMPT = 'The river bends past the old mill, and the meadow grows quiet at dusk. '.repeat(18_000);
const KEY_ENV = { FAKE_OPENAI_KEY: 'sk-fake-openai-key-for-tests-only' };
const RUN = ['run', '--provider', `openai:${MODEL}`, '--no-stream', '--max-tokens', '256'];

let engine: FakeEngine;
let scenario: Scenario;

function writePolicy(perRequestUsd: number): void {
  const lines = ['apiVersion: syndicate/v1', 'kind: Policy', 'egress:', '  allowHosts: [127.0.0.1]', 'cost:', `  perRequestUsd: ${perRequestUsd}`];
  writeFileSync(join(scenario.home, 'policy.yaml'), `${lines.join('\n')}\n`, { mode: 0o600 });
}

beforeAll(async () => {
  engine = await startFakeEngine({ kind: 'openai', models: [{ id: MODEL, contextWindow: 1_050_000 }] });
  scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
  await scenario.register({ id: 'openai', engine, class: 'approved_hosted', model: MODEL, contextWindow: 1_050_000, capabilityClass: 'frontier', authEnv: 'FAKE_OPENAI_KEY', price: PRICE });
}, 30_000);

afterAll(async () => {
  scenario?.cleanup();
  await engine?.close();
});

describe('a request over a price tier threshold', () => {
  it('is priced at the tier, every token of it, in the evidence and in metrics spend', async () => {
    writePolicy(5);
    const { result, document } = await scenario.json(RUN, { input: LONG_PROMPT, env: KEY_ENV, timeoutMs: 60_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const usage = JSON.parse(inferenceExchanges(engine).at(-1)?.responseBody.toString('utf8') ?? '{}').usage as { prompt_tokens: number; completion_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(272_000);
    const atTier = (usage.prompt_tokens * 4 + usage.completion_tokens * 15) / 1_000_000;
    const atBase = (usage.prompt_tokens * 2 + usage.completion_tokens * 10) / 1_000_000;
    expect(document['costUsd']).toBeCloseTo(atTier, 12);
    expect(atTier).toBeGreaterThan(1.9 * atBase);

    const evidence = await scenario.evidence(String(document['evidenceId']));
    expect(evidence).toMatchObject({ state: 'completed', inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens });
    expect(evidence['costUsd']).toBeCloseTo(atTier, 12);

    const metrics = await scenario.json(['metrics', '--since', '1h']);
    expect(metrics.result.exitCode, metrics.result.stderr).toBe(0);
    const spend = (metrics.document['metrics'] as { spendUsd: { hosted: number; total: number } }).spendUsd;
    expect(spend.hosted).toBeCloseTo(atTier, 12);
    expect(spend.total).toBeCloseTo(atTier, 12);
  }, 90_000);

  it('is refused before any call when only the tier takes its estimate over the per-request ceiling', async () => {
    // ~317 000 estimated tokens and 256 out: $0.64 at the base rates, $1.27 at the tier.
    writePolicy(1);
    const before = inferenceExchanges(engine).length;
    const { result, document } = await scenario.json(RUN, { input: LONG_PROMPT, env: KEY_ENV, timeoutMs: 60_000 });
    expect(result.exitCode, result.stderr).toBe(4);
    expect(JSON.stringify(document)).toMatch(/estimated \$1\.\d\d \(prompt over 272000 tokens: the whole request at \$4 \/ \$15 per MTok in\/out\) exceeds the per-request ceiling \$1\.00/);
    expect(inferenceExchanges(engine)).toHaveLength(before);
  }, 90_000);
});

describe('an Anthropic prompt over the threshold only with its cache reads', () => {
  const HAIKU = 'claude-haiku-5-5';
  const HAIKU_PRICE = {
    inputPerMTok: 0.1, outputPerMTok: 0.5, cachedInputPerMTok: 0.01, cacheWriteInputPerMTok: 0.125,
    tiers: [{ aboveInputTokens: 100_000, inputPerMTok: 0.5, outputPerMTok: 2.5, cachedInputPerMTok: 0.05, cacheWriteInputPerMTok: 0.625 }],
  };
  /** About 104 000 tokens, cached after the first request. */
  const SYSTEM = 'The river bends past the old mill, and the meadow grows quiet at dusk. '.repeat(6_500);

  it('is billed at the tier: cache reads at the tier\'s cache rate, the rest at 5x', async () => {
    const claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: HAIKU, contextWindow: 1_000_000 }] });
    const gateway = await startTestGateway({
      providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: HAIKU, contextWindow: 1_000_000, price: HAIKU_PRICE }] }],
    });
    try {
      const client = new Anthropic({ apiKey: TEST_TOKEN, baseURL: gateway.url, maxRetries: 0 });
      const request: Anthropic.MessageCreateParamsNonStreaming = {
        model: `claude:${HAIKU}`,
        max_tokens: 256,
        system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'Where does the river bend?' }],
      };
      await client.messages.create(request);
      const { data: again, response } = await client.messages.create(request).withResponse();
      const read = again.usage.cache_read_input_tokens ?? 0;
      expect(again.usage.input_tokens).toBeLessThan(100);
      expect(read).toBeGreaterThan(100_000);
      await gateway.settled();
      const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
      const atTier = (again.usage.input_tokens * 0.5 + read * 0.05 + again.usage.output_tokens * 2.5) / 1_000_000;
      expect(evidence).toMatchObject({ state: 'completed', inputTokens: again.usage.input_tokens + read, cachedInputTokens: read });
      expect(evidence?.costUsd).toBeCloseTo(atTier, 12);
      const summary = computeMetrics(gateway.store, testPolicy(), { sinceMs: 0, untilMs: Date.now() + 60_000 });
      // Both answers were over the threshold: the first wrote the cache at the tier's write rate.
      expect(summary.spendUsd.hosted).toBeGreaterThan(atTier + (read * 0.625) / 1_000_000 - 1e-12);
    } finally {
      await gateway.close();
      await claude.close();
    }
  }, 90_000);
});
