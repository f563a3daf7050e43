import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';

/**
 * `syndicate route --request` with a reasoning effort, through the built CLI: the model that would
 * refuse it is excluded by rule `reasoning`, and each candidate says what its server would get.
 * Nothing upstream is called.
 */

const KEY_ENV = { ROUTE_EFFORT_OPENAI_KEY: 'not-a-real-key' };

let home = '';
let cleanupHome: () => void = () => {};
let llamaCpp: FakeEngine;

beforeAll(async () => {
  ({ home, cleanup: cleanupHome } = makeTempHome('syndicate-route-effort-'));
  llamaCpp = await startFakeEngine({ kind: 'llama.cpp' });
  expect((await runCli(['init'], { home })).exitCode).toBe(0);
  const hosted = join(home, 'openai.yaml');
  writeFileSync(
    hosted,
    `apiVersion: syndicate/v1
kind: Provider
id: openai
class: approved_hosted
wire: openai
vendor: openai
baseUrl: https://api.openai.com/v1
auth: { env: ROUTE_EFFORT_OPENAI_KEY }
models:
  - id: gpt-4.1
    contextWindow: 1000000
    capabilityClass: large
    tags: [chat]
    price: { inputPerMTok: 2, outputPerMTok: 8 }
  - id: gpt-6.2-sol
    contextWindow: 1050000
    capabilityClass: frontier
    tags: [chat, reasoning]
    reasoningEfforts: [low, medium, high, xhigh, max]
    price: { inputPerMTok: 2, outputPerMTok: 10 }
`,
  );
  const local = join(home, 'llamacpp.yaml');
  writeFileSync(
    local,
    `apiVersion: syndicate/v1
kind: Provider
id: llamacpp
class: local
wire: openai
baseUrl: ${llamaCpp.baseUrl}
models:
  - id: model.gguf
    contextWindow: 8192
    capabilityClass: small
engine:
  kind: llama.cpp
`,
  );
  const registered = await runCli(['provider', 'register', hosted, local], { home });
  expect(registered.exitCode, registered.stderr).toBe(0);
}, 30_000);

afterAll(async () => {
  await llamaCpp?.close();
  cleanupHome();
});

const body = (effort: string): string => JSON.stringify({ model: 'auto', reasoning_effort: effort, messages: [{ role: 'user', content: 'What is two plus two?' }] });

it('--explain: the model that does not reason is excluded by rule reasoning; each candidate says what it would be sent', async () => {
  const result = await runCli(['route', '--explain', '--request', '-'], { home, env: KEY_ENV, input: body('xhigh') });
  expect(result.exitCode, result.stderr).toBe(0);
  expect(result.stdout).toContain('request needs: reasoning effort xhigh (reasoning_effort)');
  expect(result.stdout).toMatch(/openai:gpt-4\.1 \(approved_hosted\) — request sets reasoning_effort "xhigh" and OpenAI answers reasoning_effort with 400/);
  expect(result.stdout).toMatch(/openai:gpt-6\.2-sol .*reasoning_effort "xhigh" sent as reasoning_effort "xhigh"/);
  expect(result.stdout).toMatch(/llamacpp:model\.gguf .*reasoning_effort "xhigh" was not sent: llama-server reads no reasoning_effort/);
});

it('--json: the exclusion carries rule reasoning; an effort of none excludes nothing', async () => {
  const high = await runCli(['route', '--json', '--request', '-'], { home, env: KEY_ENV, input: body('high') });
  const plan = (parseJsonDocument(high.stdout) as { plan: { excluded: { model: string; rules: string[] }[] } }).plan;
  expect(plan.excluded.find((exclusion) => exclusion.model === 'gpt-4.1')?.rules).toEqual(['reasoning']);
  const none = await runCli(['route', '--json', '--request', '-'], { home, env: KEY_ENV, input: body('none') });
  expect((parseJsonDocument(none.stdout) as { plan: { excluded: unknown[] } }).plan.excluded).toEqual([]);
});

it('--json: an effort every model it may use refuses is reasoning_effort_unsupported, each fact once in details', async () => {
  const pinned = JSON.stringify({ model: 'openai:gpt-4.1', reasoning_effort: 'high', messages: [{ role: 'user', content: 'What is two plus two?' }] });
  const result = await runCli(['route', '--json', '--request', '-'], { home, env: KEY_ENV, input: pinned });
  expect(result.exitCode, result.stderr).toBe(4);
  const { error } = parseJsonDocument(result.stdout) as { error: { code: string; details: Record<string, unknown> & { param: string; plan: { excluded: { rules: string[] }[] } } } };
  expect(error.code).toBe('reasoning_effort_unsupported');
  // The shape of `route_denied`'s details, and the field at fault: not the level, findings and exclusions again beside them.
  expect(Object.keys(error.details).sort()).toEqual(['classification', 'estimatedPromptTokens', 'holds', 'param', 'plan', 'skipped']);
  expect(error.details.param).toBe('reasoning_effort');
  expect(error.details.plan.excluded.map((exclusion) => exclusion.rules)).toEqual([['reasoning']]);
});
