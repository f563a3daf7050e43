import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine, type FakeFault } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

/**
 * The privacy promise under faults, with real processes: a local engine that is down, slow,
 * rate-limited, failing or cut off, and a hosted "recorder" that logs every byte it receives.
 * Sensitive prompts must never reach the recorder, whatever fails; public ones may fall back.
 */
const SENSITIVE_PROMPTS = [
  'my password is hunter2, why does login fail?',
  'Connect with postgres://admin:s3cr3t-Pa55@db.internal:5432/prod and list tables',
  'Summarise the notes in /home/alice/notes/q3-plan.md',
  'Email jane.doe@example.com about the screenshot from my camera',
];
const PUBLIC_PROMPT = 'Name the capital of France.';
const HOSTED_KEY = { FAKE_HOSTED_KEY: 'test-key-not-a-secret' };

describe('fault injection: sensitive data never leaves the machine', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let recorder: FakeEngine;

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    recorder = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({
      egressHosts: ['127.0.0.1'],
      policyExtra: ['workflows:', '  interactive:', '    prefer: [local, priority]', '  batch:', '    prefer: [local, cheapest]'].join('\n'),
    });
    await scenario.register(
      { id: 'local', engine: local },
      { id: 'hosted', engine: recorder, class: 'approved_hosted', authEnv: 'FAKE_HOSTED_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
    );
  });
  afterEach(() => {
    local.setFault('ok');
    // A 429 or a reset holds the local engine back (2 s, 5 s) for later runs: each case meets its own fault.
    scenario.releaseHoldsInProcess();
  });
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([local.close(), recorder.close()]);
  });

  const faults: { name: string; fault: FakeFault }[] = [
    { name: '429', fault: { status: 429, body: '{"error":"too many requests"}' } },
    { name: '500', fault: { status: 500, body: '{"error":"model crashed"}' } },
    { name: 'reset', fault: 'reset' },
    { name: 'hang (slow)', fault: 'hang' },
    { name: 'truncated stream', fault: 'truncate-stream' },
  ];

  for (const { name, fault } of faults) {
    // Four CLI runs, each of which a loaded machine may take seconds to start: the many-process timeout.
    it(`local engine ${name}: every sensitive prompt exits 5 with reasons, the recorder receives nothing`, { timeout: 90_000 }, async () => {
      local.setFault(fault);
      // Counted from what the earlier tests sent it: a public prompt may reach it, and the tests may run in any order.
      const recorded = inferenceExchanges(recorder).length;
      for (const prompt of SENSITIVE_PROMPTS) {
        const { result, document } = await scenario.json(['run', prompt, '--stream', '--timeout', '1s'], { env: HOSTED_KEY });
        expect(result.exitCode, `${prompt}\n${result.stderr}`).toBe(5);
        expect((document.error as { message: string }).message.length).toBeGreaterThan(20);
      }
      expect(inferenceExchanges(recorder)).toHaveLength(recorded);
    });
  }

  it('local engine down (process gone): sensitive prompts exit 5 without waiting on the engine, with "inference unavailable", recorder receives nothing', { timeout: 90_000 }, async () => {
    const down = await startFakeEngine({ kind: 'llama.cpp' });
    const downScenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    const recorded = inferenceExchanges(recorder).length;
    try {
      await downScenario.register(
        { id: 'gone', engine: down },
        { id: 'hosted', engine: recorder, class: 'approved_hosted', authEnv: 'FAKE_HOSTED_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
      );
      await down.close();
      for (const prompt of SENSITIVE_PROMPTS) {
        const { result, document } = await downScenario.json(['run', prompt], { env: HOSTED_KEY });
        expect(result.exitCode, result.stderr).toBe(5);
        const error = document.error as { code: string; message: string };
        expect(error.code).toBe('inference_unavailable');
        expect(error.message).toMatch(/inference unavailable, try again later/);
        expect(error.message).toMatch(/gone/);
        // Nothing waited on the engine: its probe met a refused connection, not a timeout. (A bound on
        // the run's wall-clock time said so before: a single run took 10.7 s on a loaded machine.)
        expect(error.message).toMatch(/gone:\S+: engine unreachable: http:\/\/127\.0\.0\.1:\d+\/v1\/models is unreachable: connection refused/);
        expect(error.message).not.toMatch(/within \d+ ?m?s/);
      }
      expect(inferenceExchanges(recorder)).toHaveLength(recorded);
    } finally {
      downScenario.cleanup();
    }
  });

  it('a public prompt falls back from a failing local engine to the hosted provider; evidence shows the hop chain', async () => {
    local.setFault({ status: 500, body: '{"error":"model crashed"}' });
    const before = inferenceExchanges(recorder).length;
    const { result, document } = await scenario.json(['run', PUBLIC_PROMPT, '--no-stream'], { env: HOSTED_KEY });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(document.answer).toBe(DEFAULT_ANSWER);
    expect(document.provider).toMatchObject({ id: 'hosted', class: 'approved_hosted' });
    expect(inferenceExchanges(recorder).length - before).toBe(1);
    const attempts = document.attempts as { hop: number; provider: { id: string }; outcome: string; evidenceId: string }[];
    expect(attempts.map((attempt) => [attempt.hop, attempt.provider.id, attempt.outcome])).toEqual([
      [0, 'local', 'failed'],
      [1, 'hosted', 'completed'],
    ]);
    const listed = await scenario.json(['evidence', 'list']);
    const rows = (listed.document.evidence as { requestId: string; hop: number; state: string; markers: string[]; provider: { id: string } }[]).filter(
      (row) => row.requestId === document.requestId,
    );
    expect(rows.map((row) => [row.hop, row.provider.id, row.state]).sort()).toEqual([
      [0, 'local', 'failed'],
      [1, 'hosted', 'completed'],
    ]);
    expect(rows.find((row) => row.hop === 1)!.markers).toContain('fallback');
    expect(rows.find((row) => row.hop === 0)!.markers).toContain('upstream_error');
  });

  it('a stream that breaks after the answer started is not papered over by fallback', async () => {
    local.setFault('truncate-stream');
    const before = inferenceExchanges(recorder).length;
    const result = await scenario.cli(['run', PUBLIC_PROMPT, '--stream'], { env: HOSTED_KEY });
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/broke after the answer had started|truncated/);
    expect(inferenceExchanges(recorder).length).toBe(before);
  });
});
