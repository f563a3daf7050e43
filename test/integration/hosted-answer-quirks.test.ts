import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, providerYaml, Scenario } from '../helpers/scenario.js';

const fixture = (name: string): string => readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'wire', 'openai', name), 'utf8');
const PROMPT = 'Name the capital of France.';
const KEY = 'FAKE_ZHIPUAI_KEY';
const GLM_PRICE = { inputPerMTok: 1.4, outputPerMTok: 4.4 };

/**
 * What a hosted API answers besides a plain answer or an HTTP error, through `run` as an operator
 * meets it: Zhipu GLM's finish reasons `sensitive` (its safety review cut the answer) and
 * `network_error` (its inference failed) in HTTP 200 answers, its 1301 refusal, and a key read
 * with the end of its line. Before, `sensitive` printed an empty answer and exited 0 without a
 * word, `network_error` printed the half answer as complete (exit 0), 1301's hint said to "check
 * the model and settings", and a key ending in CRLF failed every call as a bug (exit 70).
 */
describe('run: hosted answers that are not what they seem', () => {
  let filtering: FakeEngine;
  let failing: FakeEngine;
  let ollama: FakeEngine;
  let scenario: Scenario;

  beforeAll(async () => {
    [filtering, failing, ollama] = await Promise.all([
      startFakeEngine({ kind: 'openai', models: [{ id: 'glm-5.3' }], replay: { body: fixture('glm-sensitive.json') } }),
      startFakeEngine({ kind: 'openai', models: [{ id: 'glm-4.6' }], replay: { body: fixture('glm-network-error.json'), stream: fixture('glm-network-error.chunks.txt') } }),
      startFakeEngine({ kind: 'ollama' }),
    ]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra: ['workflows:', '  interactive:', '    prefer: [hosted]'].join('\n') });
    await scenario.register(
      { id: 'glm', engine: filtering, class: 'approved_hosted', model: 'glm-5.3', authEnv: KEY, price: GLM_PRICE },
      // Ranked first of the two (same class and priority, ids in order), so a request routed by the policy meets it first.
      { id: 'failing-glm', engine: failing, class: 'approved_hosted', model: 'glm-4.6', authEnv: KEY, price: GLM_PRICE },
      { id: 'ollama', engine: ollama },
    );
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([filtering?.close(), failing?.close(), ollama?.close()]);
  });
  beforeEach(async () => {
    filtering.setFault('ok');
    await scenario.releaseHolds();
  });

  it('an answer GLM’s safety review cut (finish_reason sensitive) is said to be one', { timeout: 90_000 }, async () => {
    const result = await scenario.cli(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: 'glm-key' } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('warning: the provider stopped the answer for its content (stop reason sensitive)');
    const { document } = await scenario.json(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: 'glm-key' } });
    expect(document.finishReason).toBe('content_filter');
  });

  it('an answer whose inference failed (finish_reason network_error) is a failure: the request falls back, streamed or not', { timeout: 90_000 }, async () => {
    for (const stream of [[], ['--stream']]) {
      const { result, document } = await scenario.json(['run', PROMPT, ...stream], { env: { [KEY]: 'glm-key' } });
      expect(result.exitCode, result.stdout).toBe(0);
      const attempts = document.attempts as { provider: { id: string }; outcome: string; error?: { code: string; message: string } }[];
      expect(attempts.map((attempt) => [attempt.provider.id, attempt.outcome])).toEqual([
        ['failing-glm', 'failed'],
        ['glm', 'completed'],
      ]);
      expect(attempts[0]!.error?.code).toBe(stream.length === 0 ? 'upstream_inference_failed' : 'upstream_stream_error');
      expect(attempts[0]!.error?.message).toContain('network_error');
    }
    // Pinned to it: a failure (exit 5), not the half answer as a complete one.
    const pinned = await scenario.cli(['run', PROMPT, '--provider', 'failing-glm'], { env: { [KEY]: 'glm-key' } });
    expect(pinned.exitCode, pinned.stderr).toBe(5);
    expect(pinned.stdout).toBe('');
  });

  it('GLM’s 1301 names its content filter, and holds nothing back', { timeout: 90_000 }, async () => {
    filtering.setFault({ status: 400, body: fixture('error-400-glm-1301.json') }, 1);
    const { result, document } = await scenario.json(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: 'glm-key' } });
    expect(result.exitCode, result.stdout).toBe(5);
    const error = document.error as { code: string; hint: string };
    expect(error.code).toBe('upstream_content_filtered');
    expect(error.hint).toContain("glm's content filter refused the request");
    const after = await scenario.cli(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: 'glm-key' } });
    expect(after.exitCode, after.stderr).toBe(0);
  });

  it('a key read with its line end is sent without it; a blank one is a key not set', { timeout: 90_000 }, async () => {
    const before = inferenceExchanges(filtering).length;
    const sent = await scenario.cli(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: 'glm-key\r\n' } });
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(inferenceExchanges(filtering).slice(before).map((exchange) => exchange.requestHeaders.authorization)).toEqual(['Bearer glm-key']);
    const blank = await scenario.cli(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: '  ' } });
    expect(blank.exitCode).toBe(5);
    expect(blank.stderr).toContain(`${KEY} is not set, so glm cannot be called`);
    expect(inferenceExchanges(filtering).length).toBe(before + 1);
  });

  it('a 404 naming no model says the baseUrl is wrong, and what Zhipu’s /api/anthropic is', { timeout: 90_000 }, async () => {
    // GLM's docs give https://open.bigmodel.cn/api/anthropic to Anthropic clients; given to the openai-wire entry, every call is a 404.
    const path = join(scenario.home, 'glm-anthropic-url.yaml');
    const yaml = providerYaml({ id: 'glm-anthropic-url', engine: filtering, class: 'approved_hosted', model: 'glm-5.3', authEnv: KEY, price: GLM_PRICE });
    writeFileSync(path, yaml.replace(`baseUrl: ${filtering.baseUrl}`, `baseUrl: ${filtering.url}/api/anthropic`));
    const registered = await scenario.cli(['provider', 'register', path]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const { result, document } = await scenario.json(['run', PROMPT, '--provider', 'glm-anthropic-url'], { env: { [KEY]: 'glm-key' } });
    expect(result.exitCode, result.stdout).toBe(5);
    const hint = (document.error as { hint: string }).hint;
    expect(hint).toContain(`nothing answers at ${filtering.url}/api/anthropic/chat/completions, so glm-anthropic-url's baseUrl`);
    expect(hint).toContain('serves the Anthropic Messages API, which a record of wire: anthropic calls');
    await scenario.cli(['provider', 'remove', 'glm-anthropic-url']);
  });

  it('a key the upstream quotes back whole is never stored: masked in the recorded answer, the capture partial', { timeout: 90_000 }, async () => {
    const key = 'sk-glm-QUOTEDKEY0123456789abcdef';
    filtering.setFault({ status: 401, body: `{"error":{"code":"1002","message":"Authorization Token非法，请确认Authorization Token正确传递: ${key}"}}` }, 1);
    const { result, document } = await scenario.json(['run', PROMPT, '--model', 'glm:glm-5.3'], { env: { [KEY]: key } });
    expect(result.exitCode, result.stdout).toBe(5);
    expect(result.stdout).not.toContain(key);
    const evidenceId = (document.error as { details: { evidenceId: string } }).details.evidenceId;
    const raw = (await scenario.rawEvidence(evidenceId, 'response')).toString('utf8');
    expect(raw).not.toContain(key);
    expect(raw).toContain(`正确传递: ${'*'.repeat(key.length)}"}}`);
    const shown = await scenario.cli(['evidence', 'show', evidenceId, '--json']);
    expect(shown.stdout).not.toContain(key);
    expect(JSON.parse(shown.stdout).evidence).toMatchObject({ verbatimCapture: 'partial' });
    const verified = await scenario.cli(['evidence', 'verify']);
    expect(verified.exitCode, verified.stderr).toBe(0);
  });
});
