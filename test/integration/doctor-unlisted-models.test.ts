/**
 * `doctor` against llama-swap and LM Studio, whose `GET /v1/models` names every model they serve:
 * a record model the listing lacks is a warning, not a pass. llama-swap refuses such a model with a
 * 400 on every request; LM Studio answers it with the one model it has loaded when it has exactly
 * one, so a wrong id goes unnoticed by every request until a second model is loaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startFakeLlamaSwap, type FakeLlamaSwap } from '../helpers/fake-engines/llama-swap.js';
import { Scenario } from '../helpers/scenario.js';

let scenario: Scenario;
let lmStudio: FakeEngine;
let swap: FakeLlamaSwap;

beforeAll(async () => {
  scenario = await Scenario.create();
  lmStudio = await startFakeEngine({ kind: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct' }] });
  swap = await startFakeLlamaSwap({ models: ['coder'] });
  await scenario.registerRecords({
    studio: `id: studio\nclass: local\nwire: openai\nbaseUrl: ${lmStudio.baseUrl}\nengine: { kind: lmstudio }\nmodels:\n  - { id: qwen2.5-7b-instruct, contextWindow: 32768, capabilityClass: small }\n  - { id: qwen2.5-7b-instruct-typo, contextWindow: 32768, capabilityClass: small }`,
    swap: `id: swap\nclass: local\nwire: openai\nbaseUrl: ${swap.baseUrl}\nengine: { kind: llama-swap }\nmodels:\n  - { id: coder, contextWindow: 32768, capabilityClass: small }\n  - { id: ghost, contextWindow: 32768, capabilityClass: small }`,
  });
}, 90_000);

afterAll(async () => {
  await Promise.all([lmStudio?.close(), swap?.close()]);
  scenario?.cleanup();
});

describe('doctor: record models the engine does not list', () => {
  it('warns of each, with what to do', async () => {
    const { result, document } = await scenario.json(['doctor']);
    expect(result.exitCode, result.stderr).toBe(0);
    const checks = document['checks'] as { name: string; status: string; detail: string; hint?: string }[];
    const swapCheck = checks.find((check) => check.name === 'engine swap');
    expect(swapCheck).toMatchObject({ status: 'warn', detail: `${swap.baseUrl}/models answers, but lists no ghost` });
    expect(swapCheck?.hint).toContain("llama-swap refuses a model its config.yaml does not name (HTTP 400): add it to config.yaml");
    const studio = checks.find((check) => check.name === 'engine studio');
    expect(studio).toMatchObject({ status: 'warn', detail: `${lmStudio.baseUrl}/models answers, but lists no qwen2.5-7b-instruct-typo` });
    expect(studio?.hint).toContain('LM Studio answers a model it does not have with the one model it has loaded');
  });
});
