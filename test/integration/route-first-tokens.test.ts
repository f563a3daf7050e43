import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

/**
 * `prefer: fastest` (the default interactive preference) in CLI processes, which observe nothing
 * themselves before planning: the expected first token comes from the evidence of earlier runs.
 * `erratic` sorts first by id and only ever answers HTTP 500; `steady` answers.
 */
describe('route and run rank by the first tokens recorded in evidence', () => {
  let scenario: Scenario;
  let erratic: FakeEngine;
  let steady: FakeEngine;

  beforeAll(async () => {
    erratic = await startFakeEngine({ kind: 'llama.cpp' });
    steady = await startFakeEngine({ kind: 'llama.cpp' });
    erratic.setFault({ status: 500, body: '{"error":{"code":500,"message":"model crashed","type":"server_error"}}' });
    scenario = await Scenario.create();
    await scenario.register({ id: 'erratic', engine: erratic }, { id: 'steady', engine: steady });
    for (let call = 0; call < 2; call += 1) expect((await scenario.cli(['run', '--provider', 'erratic', 'hello'])).exitCode).toBe(5);
    for (let call = 0; call < 3; call += 1) expect((await scenario.cli(['run', '--provider', 'steady', 'hello'])).exitCode).toBe(0);
  }, 120_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([erratic?.close(), steady?.close()]);
  });

  it('route --explain says where the expected first token comes from, and ranks a provider whose calls all failed last', async () => {
    const result = await scenario.cli(['route', '--explain', 'hello']);
    expect(result.exitCode, result.stderr).toBe(0);
    const candidates = result.stdout.split('\n').filter((line) => /^ {2}\d\. /.test(line));
    expect(candidates).toHaveLength(2);
    // Every answer steady gave so far: the setup's three, and the other test's run when it ran first.
    const answers = inferenceExchanges(steady).length;
    expect(candidates[0]).toMatch(new RegExp(`^ {2}1\\. steady:\\S+ \\(local, v1\\) — .*expected first token \\d+ ms \\(median of its last ${answers} answers\\); priority 0$`));
    expect(candidates[1]).toMatch(/^ {2}2\. erratic:\S+ \(local, v1\) — .*no answer in its last 2 calls, all failed: ranked as slowest; priority 0$/);
    const { document } = await scenario.json(['route', 'hello']);
    const plan = document.plan as { candidates: { provider: string; expectedFirstTokenMs?: number }[] };
    expect(plan.candidates.map((candidate) => candidate.provider)).toEqual(['steady', 'erratic']);
    expect(plan.candidates[0]?.expectedFirstTokenMs).toBeGreaterThan(0);
  });

  it('run goes to the provider that answers, without a failed call first', async () => {
    const erraticCalls = inferenceExchanges(erratic).length;
    const { result, document } = await scenario.json(['run', 'hello']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.provider).toMatchObject({ id: 'steady' });
    expect(document.attempts).toHaveLength(1);
    expect(inferenceExchanges(erratic)).toHaveLength(erraticCalls);
  });
});
