/**
 * `run` without `--max-tokens` to an anthropic-wire model: the Messages API requires max_tokens, so
 * the policy's `cost.defaultOutputTokens` is sent. `run` no longer warns about it on every call —
 * only when the answer was cut at it (stop reason `max_tokens`), saying so and how to ask for more.
 * The evidence and `--json` keep the warning as recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

const KEY = 'FAKE_ANTHROPIC_KEY';
const env = { [KEY]: 'test-key' };

async function anthropicHome(engine: FakeEngine, policyExtra?: string): Promise<Scenario> {
  const scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], ...(policyExtra === undefined ? {} : { policyExtra }) });
  await scenario.register({ id: 'claude', engine, class: 'approved_hosted', authEnv: KEY, price: { inputPerMTok: 3, outputPerMTok: 15 } });
  return scenario;
}

describe('run to an anthropic-wire model without --max-tokens', () => {
  let engine: FakeEngine;
  let roomy: Scenario;
  let tight: Scenario;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'anthropic' });
    // The fake model's default answer is longer than 3 tokens: with that default it is cut.
    [roomy, tight] = await Promise.all([anthropicHome(engine), anthropicHome(engine, 'cost:\n  defaultOutputTokens: 3')]);
  }, 90_000);

  afterAll(async () => {
    roomy?.cleanup();
    tight?.cleanup();
    await engine?.close();
  });

  it('sends the policy default and says nothing of it when the answer ends on its own; the evidence keeps the warning', async () => {
    const result = await roomy.cli(['run', 'Name the capital of France.', '--no-stream'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('max_tokens');
    expect(JSON.parse(inferenceExchanges(engine).at(-1)!.requestBody.toString()).max_tokens).toBe(1024);
    const { document } = await roomy.json(['run', 'Name the capital of France.', '--no-stream'], { env });
    expect(document.finishReason).toBe('stop');
    expect(document.warnings).toContainEqual({ setting: 'maxTokens', message: 'the anthropic wire requires max_tokens; none was given, so 1024 was sent', code: 'max_tokens_filled_in', value: 1024 });
    const envelope = (await roomy.evidence(document.evidenceId as string)) as { warnings: unknown[] };
    expect(envelope.warnings).toContainEqual({ setting: 'maxTokens', message: 'the anthropic wire requires max_tokens; none was given, so 1024 was sent', code: 'max_tokens_filled_in', value: 1024 });
  }, 90_000);

  it('warns when the answer was cut at the default, naming it and --max-tokens', async () => {
    const result = await tight.cli(['run', 'Name the capital of France.', '--no-stream'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(inferenceExchanges(engine).at(-1)!.requestBody.toString()).max_tokens).toBe(3);
    expect(result.stderr).toContain('maxTokens: the answer was cut at 3 tokens (stop reason max_tokens), the max_tokens sent for want of one');
    expect(result.stderr).toContain('ask for more with --max-tokens');
  }, 90_000);

  it('an explicit --max-tokens that cuts the answer is the caller\'s choice: no warning', async () => {
    const result = await roomy.cli(['run', 'Name the capital of France.', '--no-stream', '--max-tokens', '2'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('maxTokens');
  }, 90_000);
});
