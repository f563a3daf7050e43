/**
 * The fallback walk through a hosted provider's outage, with real processes: a fake Anthropic API
 * answering 503 to every call (a failure that names no model: it counts against the whole
 * provider) must not use up `fallback.maxHops` on Anthropic's other models while OpenAI and the
 * local engine are never tried. And a 429 that names its model still lets a sibling model of the
 * same record be tried (Anthropic pools a family's limits, but a hold is per model).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges, Scenario } from '../helpers/scenario.js';

const OPUS = 'claude-opus-4-1-20250805';
const SONNET = 'claude-sonnet-4-5-20250929';
const HAIKU = 'claude-haiku-4-5-20251001';
const GPT = 'gpt-4o-mini';
const LOCAL = 'llama3.2:latest';
const KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', FAKE_OPENAI_KEY: 'sk-fake-openai-key' };
const QUESTION = 'What is the capital of France?';
const OVERLOADED = JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Service unavailable' } });

interface Attempt {
  provider: { id: string };
  model: string;
  outcome: string;
}

interface PassedOver {
  provider: string;
  model: string;
  reason: string;
}

describe('the fallback walk through a provider outage', () => {
  let scenario: Scenario;
  let anthropicApi: FakeEngine;
  let openaiApi: FakeEngine;
  let local: FakeEngine;
  /** The Anthropic models in the order the route ranks them (first, second, third). */
  let ranked: string[] = [];

  beforeAll(async () => {
    [anthropicApi, openaiApi, local] = await Promise.all([
      startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }, { id: SONNET }, { id: HAIKU }] }),
      startFakeEngine({ kind: 'openai', models: [{ id: GPT }] }),
      startFakeEngine({ kind: 'ollama' }),
    ]);
    // With model `auto`: hosted is preferred, and Anthropic's frontier models rank first.
    scenario = await Scenario.create({
      egressHosts: ['127.0.0.1'],
      policyExtra: ['workflows:', '  interactive:', '    prefer: [hosted]'].join('\n'),
    });
    const price = '\n    price:\n      inputPerMTok: 3\n      outputPerMTok: 15';
    const model = (id: string, capabilityClass: string, priced = true): string => `  - id: "${id}"\n    contextWindow: 200000\n    capabilityClass: ${capabilityClass}${priced ? price : ''}`;
    const records = {
      claude: `id: claude\nclass: approved_hosted\nwire: anthropic\nbaseUrl: ${anthropicApi.baseUrl}\nauth:\n  env: FAKE_ANTHROPIC_KEY\nmodels:\n${[model(OPUS, 'frontier'), model(SONNET, 'frontier'), model(HAIKU, 'frontier')].join('\n')}`,
      openai: `id: openai\nclass: approved_hosted\nwire: openai\nbaseUrl: ${openaiApi.baseUrl}\nauth:\n  env: FAKE_OPENAI_KEY\nmodels:\n${model(GPT, 'medium')}`,
      ollama: `id: ollama\nclass: local\nwire: openai\nbaseUrl: ${local.baseUrl}\nengine:\n  kind: ollama\nmodels:\n${model(LOCAL, 'small', false)}`,
    };
    await scenario.registerRecords(records);
    // The walk the tests below rely on: the three Anthropic models, then OpenAI, then the local engine.
    const route = await scenario.json(['route', QUESTION, '--model', 'auto'], { env: KEYS });
    expect(route.result.exitCode, route.result.stderr).toBe(0);
    const candidates = (route.document.plan as { candidates: { provider: string; model: string }[] }).candidates.map(({ provider, model: id }) => `${provider}:${id}`);
    expect(candidates.slice(3)).toEqual([`openai:${GPT}`, `ollama:${LOCAL}`]);
    ranked = candidates.slice(0, 3).map((candidate) => candidate.replace(/^claude:/, ''));
    expect([...ranked].sort()).toEqual([OPUS, SONNET, HAIKU].sort());
  }, 90_000);

  afterEach(async () => {
    anthropicApi.setFault('ok');
    await scenario.releaseHolds();
  });

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([anthropicApi?.close(), openaiApi?.close(), local?.close()]);
  });

  /** The models a fake hosted API was asked for, in order. */
  const calls = (engine: FakeEngine): string[] => inferenceExchanges(engine).map((exchange) => (JSON.parse(exchange.requestBody.toString('utf8')) as { model: string }).model);

  it('after a 503 naming no model, Anthropic\'s other models go behind OpenAI: one Anthropic call, then OpenAI answers', async () => {
    const anthropicBefore = calls(anthropicApi).length;
    const openaiBefore = calls(openaiApi).length;
    anthropicApi.setFault({ status: 503, body: OVERLOADED, headers: { 'content-type': 'application/json' } });

    const run = await scenario.json(['run', QUESTION, '--model', 'auto'], { env: KEYS });
    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(run.document.answer).toBe(DEFAULT_ANSWER);
    expect(run.document).toMatchObject({ provider: { id: 'openai' }, model: GPT });
    // The fake Anthropic API saw one call, not three: OpenAI was the first fallback.
    expect(calls(anthropicApi).slice(anthropicBefore)).toEqual([ranked[0]]);
    expect(calls(openaiApi).slice(openaiBefore)).toEqual([GPT]);
    expect((run.document.attempts as Attempt[]).map(({ provider, model, outcome }) => [provider.id, model, outcome])).toEqual([
      ['claude', ranked[0], 'failed'],
      ['openai', GPT, 'completed'],
    ]);
    // Nothing a hold kept out: Anthropic's other models were only moved behind, never reached.
    expect(run.document.passedOver).toEqual([]);
  }, 90_000);

  it('when every provider fails, the hint and details name the Anthropic models the walk did not call', async () => {
    const anthropicBefore = calls(anthropicApi).length;
    anthropicApi.setFault({ status: 503, body: OVERLOADED, headers: { 'content-type': 'application/json' } });
    openaiApi.setFault({ status: 503, body: JSON.stringify({ error: { message: 'down', type: 'server_error' } }), headers: { 'content-type': 'application/json' } });
    local.setFault({ status: 500, body: JSON.stringify({ error: 'runner crashed' }), headers: { 'content-type': 'application/json' } });
    try {
      const run = await scenario.json(['run', QUESTION, '--model', 'auto'], { env: KEYS });
      expect(run.result.exitCode, run.result.stderr).toBe(5);
      const error = run.document.error as { code: string; message: string; details: { attempts: Attempt[]; passedOver: PassedOver[] } };
      expect(error.code).toBe('inference_unavailable');
      // The first Anthropic model, OpenAI, the local engine, then — one hop left — the second; the third is past fallback.maxHops.
      expect(error.details.attempts.map(({ provider, model }) => `${provider.id}:${model}`)).toEqual([`claude:${ranked[0]}`, `openai:${GPT}`, `ollama:${LOCAL}`, `claude:${ranked[1]}`]);
      expect(calls(anthropicApi).slice(anthropicBefore)).toEqual([ranked[0], ranked[1]]);
      expect(error.details.passedOver).toEqual([{ provider: 'claude', model: ranked[2], reason: expect.stringContaining("not called: moved behind the other providers after claude's failure") }]);
      expect(error.message).toContain(`claude:${ranked[2]}: not called: moved behind the other providers`);
    } finally {
      openaiApi.setFault('ok');
      local.setFault('ok');
    }
  }, 90_000);

  it('a 429 naming the first Anthropic model still lets the next, a sibling of the same record, be tried', async () => {
    const anthropicBefore = calls(anthropicApi).length;
    const [first = '', second = ''] = ranked;
    anthropicApi.setFault({ status: 429, headers: { 'retry-after': '600' } }, 1, { model: first });

    const run = await scenario.json(['run', QUESTION, '--model', 'auto'], { env: KEYS });
    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(run.document).toMatchObject({ provider: { id: 'claude' }, model: second });
    expect(calls(anthropicApi).slice(anthropicBefore)).toEqual([first, second]);
    expect(run.document.passedOver).toEqual([]);
  }, 90_000);
});

describe('a hold that comes into force during the walk', () => {
  let scenario: Scenario;
  let ollama: FakeEngine;
  let vllm: FakeEngine;
  const OLLAMA_MODELS = ['llama3.2:latest', 'qwen3:8b'];
  /** The Ollama model the walk called, and the other: which is first depends on which one an earlier test saw fail. */
  const called = (attempts: Attempt[]): [string, string] => {
    const first = attempts[0]?.model ?? '';
    return [first, OLLAMA_MODELS.find((id) => id !== first) ?? ''];
  };

  beforeAll(async () => {
    [ollama, vllm] = await Promise.all([
      // Both loaded: a cold model whose load time is unknown ranks after vLLM once vLLM has answered
      // (`prefer: fastest`), and the walk under test starts at Ollama whichever test ran first.
      startFakeEngine({ kind: 'ollama', models: [{ id: 'qwen3:8b' }, { id: 'llama3.2:latest' }], resident: ['qwen3:8b', 'llama3.2:latest'] }),
      startFakeEngine({ kind: 'vllm', models: [{ id: 'Qwen/Qwen2.5-7B-Instruct' }] }),
    ]);
    // Two fallbacks, Ollama's before vLLM's: the walk is both Ollama models, then vLLM.
    scenario = await Scenario.create({ policyExtra: ['fallback:', '  order: [ollama, vllm]', '  maxHops: 2'].join('\n') });
    const model = (id: string, capabilityClass: string): string => `  - id: "${id}"\n    contextWindow: 32768\n    capabilityClass: ${capabilityClass}`;
    const records = {
      ollama: `id: ollama\nclass: local\nwire: openai\nbaseUrl: ${ollama.baseUrl}\nengine:\n  kind: ollama\nmodels:\n${model('qwen3:8b', 'medium')}\n${model('llama3.2:latest', 'medium')}`,
      vllm: `id: vllm\nclass: local\nwire: openai\nbaseUrl: ${vllm.baseUrl}\nengine:\n  kind: vllm\nmodels:\n${model('Qwen/Qwen2.5-7B-Instruct', 'small')}`,
    };
    await scenario.registerRecords(records);
    const route = await scenario.json(['route', QUESTION, '--model', 'auto']);
    expect(route.result.exitCode, route.result.stderr).toBe(0);
    const candidates = (route.document.plan as { candidates: { provider: string; model: string }[] }).candidates.map(({ provider, model: id }) => `${provider}:${id}`);
    expect(candidates[0]).toMatch(/^ollama:/);
    expect(candidates.filter((candidate) => candidate.startsWith('ollama:')).sort()).toEqual(OLLAMA_MODELS.map((id) => `ollama:${id}`));
  }, 90_000);

  afterEach(async () => {
    await scenario.releaseHolds();
  });

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([ollama?.close(), vllm?.close()]);
  });

  it('an engine that reset the first call: its other model goes behind vLLM, which answers', async () => {
    ollama.setFault('reset');
    try {
      const run = await scenario.json(['run', QUESTION, '--model', 'auto']);
      expect(run.result.exitCode, run.result.stderr).toBe(0);
      expect(run.document).toMatchObject({ provider: { id: 'vllm' } });
      const attempts = run.document.attempts as Attempt[];
      const [first, other] = called(attempts);
      expect(attempts.map(({ provider, model, outcome }) => [provider.id, model, outcome])).toEqual([
        ['ollama', first, 'failed'],
        ['vllm', 'Qwen/Qwen2.5-7B-Instruct', 'completed'],
      ]);
      expect(OLLAMA_MODELS).toContain(first);
      // Never reached: vLLM answered first.
      expect(run.document.passedOver).toEqual([]);
      expect(other).not.toBe(first);
    } finally {
      ollama.setFault('ok');
    }
  }, 90_000);

  it('when vLLM fails too, the other model is reached held down and passed over without a call, named with its hold in the error and its details', async () => {
    ollama.setFault('reset');
    vllm.setFault({ status: 500, body: JSON.stringify({ error: { message: 'engine crashed', type: 'server_error' } }), headers: { 'content-type': 'application/json' } });
    try {
      const run = await scenario.json(['run', QUESTION, '--model', 'auto']);
      expect(run.result.exitCode, run.result.stderr).toBe(5);
      const error = run.document.error as { code: string; message: string; hint: string; details: { attempts: Attempt[]; passedOver: PassedOver[] } };
      expect(error.code).toBe('inference_unavailable');
      const [first, other] = called(error.details.attempts);
      expect(error.details.attempts.map(({ provider, model }) => `${provider.id}:${model}`)).toEqual([`ollama:${first}`, 'vllm:Qwen/Qwen2.5-7B-Instruct']);
      // In the route's words for the same hold (`heldBack`): the reset said nothing answers there.
      expect(error.details.passedOver).toEqual([{ provider: 'ollama', model: other, reason: expect.stringMatching(/^not called: engine unreachable: .+ \(checked \S+Z\)$/) }]);
      expect(error.message).toContain(`ollama:${other}: not called: engine unreachable: `);
      expect(error.hint).toContain('ollama');
    } finally {
      ollama.setFault('ok');
      vllm.setFault('ok');
    }
  }, 90_000);
});
