/**
 * Input-length price tiers end to end, through the built CLI: a prompt over GPT-6.2 Sol's 272K-token
 * threshold ("For requests with more than 272K input tokens, input and cache rates double and
 * output costs 1.5 times the short-context rate for the full request", developers.openai.com/api/
 * docs/models/gpt-6.2-sol) sent to a fake OpenAI upstream that counts it and reports it in its usage.
 * The evidence's cost and `metrics` spend bill the whole request at the tier, and the router's
 * estimate refuses it when only the tier takes it over the per-request ceiling.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

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
