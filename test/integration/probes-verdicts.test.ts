import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveHome, type HomePaths } from '../../src/home/home.js';
import { initializeHome } from '../../src/home/init.js';
import { createPipelineContext } from '../../src/invoke/context.js';
import { invoke } from '../../src/invoke/pipeline.js';
import { probeCapabilities } from '../../src/probes/capabilities.js';
import { listDiscoveries } from '../../src/probes/discovery.js';
import { testProvider } from '../../src/probes/provider-test.js';
import type { CapabilitiesReport, CapabilityProbe, ProbeVerdict } from '../../src/probes/types.js';
import { registerProviderRecord } from '../../src/registry/register.js';
import { findProvider, providerHistory } from '../../src/registry/registry.js';
import type { Store } from '../../src/store/store.js';
import { openStore } from '../../src/store/store.js';
import { makeTempHome } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine, type FakeEngineOptions } from '../helpers/fake-engines/index.js';
import { defaultModel } from '../helpers/scenario.js';

/**
 * Every probe against every fake engine, quirky and conforming, in process: the verdicts must
 * name exactly the deviations each engine really has (test/fixtures/engines/README.md), and
 * none it does not. Records here declare no deviations, so every quirk is an undeclared one.
 */

const KEY_ENV = 'SYNDICATE_PROBE_TEST_KEY';
let home: HomePaths;
let cleanupHome: () => void;
let store: Store;
const engines: FakeEngine[] = [];

beforeAll(() => {
  const temporary = makeTempHome('syndicate-probes-');
  cleanupHome = temporary.cleanup;
  home = resolveHome({ home: temporary.home });
  initializeHome(home);
  writeFileSync(home.policyPath, 'apiVersion: syndicate/v1\nkind: Policy\negress:\n  allowHosts: [127.0.0.1]\n', { mode: 0o600 });
  store = openStore(home.storePath);
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

afterAll(() => {
  store.close();
  cleanupHome();
});

function context() {
  return createPipelineContext(home, store, { ...process.env, [KEY_ENV]: 'sk-test-0000000000000000' });
}

const CONTEXT_WINDOWS: Record<string, number> = { ollama: 131072, 'llama.cpp': 4096, vllm: 32768, lmstudio: 32768, openai: 128000, anthropic: 200000 };
let counter = 0;

async function setUp(options: FakeEngineOptions, record: { tags?: string[]; deviations?: string[]; contextWindow?: number } = {}): Promise<{ id: string; engine: FakeEngine }> {
  const engine = await startFakeEngine(options);
  engines.push(engine);
  counter += 1;
  const id = `${options.kind.replace('.', '')}-${counter}`;
  const hosted = options.kind === 'openai' || options.kind === 'anthropic';
  await registerProviderRecord(
    store,
    {
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id,
      class: hosted ? 'approved_hosted' : 'local',
      wire: options.kind === 'anthropic' ? 'anthropic' : 'openai',
      baseUrl: engine.baseUrl,
      ...(hosted ? { auth: { env: KEY_ENV } } : {}),
      models: [
        {
          id: defaultModel(engine),
          contextWindow: record.contextWindow ?? CONTEXT_WINDOWS[options.kind]!,
          capabilityClass: 'small',
          ...(record.tags === undefined ? {} : { tags: record.tags }),
          ...(hosted ? { price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } } : {}),
        },
      ],
      deviations: record.deviations ?? [],
      ...(hosted ? {} : { engine: { kind: options.kind } }),
    },
    `test ${id}`,
  );
  return { id, engine };
}

function verdicts(report: CapabilitiesReport): Record<CapabilityProbe, ProbeVerdict> {
  return Object.fromEntries(report.capabilities.map((result) => [result.capability, result.verdict])) as Record<CapabilityProbe, ProbeVerdict>;
}

function undeclared(report: { deviations: { deviation: string; declared: boolean }[] }): string[] {
  return [...new Set(report.deviations.filter((item) => !item.declared).map((item) => item.deviation))].sort();
}

interface Expectation {
  name: string;
  options: FakeEngineOptions;
  record?: { tags?: string[] };
  verdicts: Record<CapabilityProbe, ProbeVerdict>;
  deviations: string[];
}

const PASSING: Record<CapabilityProbe, ProbeVerdict> = {
  'token-accounting': 'pass',
  streaming: 'pass',
  'json-mode': 'pass',
  'seed-control': 'pass',
  'tool-calls': 'pass',
  'context-window': 'pass',
  'stop-sequences': 'pass',
};

const EXPECTATIONS: Expectation[] = [
  {
    name: 'ollama with its quirks: json_schema ignored, seed ignored above temperature 0, tool arguments as an object',
    options: { kind: 'ollama' },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, 'json-mode': 'deviation', 'seed-control': 'deviation', 'tool-calls': 'deviation', 'context-window': 'warn' },
    deviations: ['nonstandard_tool_call_serialization', 'unsupported_seed_control', 'weak_json_adherence'],
  },
  {
    name: 'ollama conforming (loaded with num_ctx 4096 below the model maximum: a warning only)',
    options: { kind: 'ollama', conforming: true },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, 'context-window': 'warn' },
    deviations: [],
  },
  {
    name: 'llama.cpp without --jinja: tools refused, consistent with a model not tagged tools; timings are an extension',
    options: { kind: 'llama.cpp' },
    verdicts: PASSING,
    deviations: [],
  },
  {
    name: 'llama.cpp with --jinja: standard tool calls (but the model is not tagged tools: warn)',
    options: { kind: 'llama.cpp', jinja: true },
    verdicts: { ...PASSING, 'tool-calls': 'warn' },
    deviations: [],
  },
  {
    name: 'llama.cpp conforming, model tagged tools',
    options: { kind: 'llama.cpp', conforming: true },
    record: { tags: ['tools'] },
    verdicts: PASSING,
    deviations: [],
  },
  {
    name: 'vLLM (drops unknown fields, which syndicate never sends; Python-dumped tool arguments are valid JSON text)',
    options: { kind: 'vllm' },
    record: { tags: ['tools'] },
    verdicts: PASSING,
    deviations: [],
  },
  {
    name: 'vLLM conforming',
    options: { kind: 'vllm', conforming: true },
    record: { tags: ['tools'] },
    verdicts: PASSING,
    deviations: [],
  },
  {
    // It refuses json_object, which syndicate sends it as a json_schema of any object: JSON mode holds.
    name: 'LM Studio before 0.3.18 with its quirks: no usage in streams, json_object refused',
    options: { kind: 'lmstudio', lmStudioVersion: '0.3.17' },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, streaming: 'deviation', 'context-window': 'warn' },
    deviations: ['approximate_token_counts'],
  },
  {
    name: 'LM Studio 0.3.18 and later with its quirks: usage in streams when asked, json_object refused',
    options: { kind: 'lmstudio' },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, 'context-window': 'warn' },
    deviations: [],
  },
  {
    name: 'LM Studio conforming',
    options: { kind: 'lmstudio', conforming: true },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, 'context-window': 'warn' },
    deviations: [],
  },
  {
    name: 'OpenAI (hosted, conforming): the context window is not reported',
    options: { kind: 'openai', conforming: true },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, 'context-window': 'skipped' },
    deviations: [],
  },
  {
    name: 'Anthropic: no seed on the wire and JSON mode only emulated by an instruction',
    options: { kind: 'anthropic' },
    record: { tags: ['tools'] },
    verdicts: { ...PASSING, 'json-mode': 'deviation', 'seed-control': 'deviation', 'context-window': 'skipped' },
    deviations: ['unsupported_seed_control', 'weak_json_adherence'],
  },
];

describe('provider capabilities: verdicts against every fake engine', () => {
  for (const expectation of EXPECTATIONS) {
    it(expectation.name, async () => {
      const { id } = await setUp(expectation.options, expectation.record);
      const report = await probeCapabilities(context(), { providerId: id, update: false, timeoutMs: 10_000 });
      const details = JSON.stringify(report.capabilities.map((result) => [result.capability, result.checks.filter((check) => check.verdict !== 'pass').map((check) => `${check.name}: ${check.verdict} ${check.detail}`)]), null, 1);
      expect(verdicts(report), details).toEqual(expectation.verdicts);
      expect(undeclared(report)).toEqual(expectation.deviations);
      expect(report.conforms).toBe(expectation.deviations.length === 0);
      // Every request went through the pipeline as a probe with its own evidence row.
      const requests = report.capabilities.reduce((sum, result) => sum + result.evidenceIds.length, 0);
      expect(report.evidenceIds).toHaveLength(requests);
      expect(new Set(report.evidenceIds).size).toBe(report.evidenceIds.length);
      // --no-update: the record keeps its version.
      expect(findProvider(store, id)?.currentVersion).toBe(1);
    });
  }
});

describe('provider test: one request against every fake engine', () => {
  const cases: { name: string; options: FakeEngineOptions; conforms: boolean; undeclared: string[] }[] = [
    { name: 'ollama', options: { kind: 'ollama' }, conforms: true, undeclared: [] },
    { name: 'llama.cpp (timings extension, no deviation)', options: { kind: 'llama.cpp' }, conforms: true, undeclared: [] },
    { name: 'vllm', options: { kind: 'vllm' }, conforms: true, undeclared: [] },
    { name: 'lmstudio (non-streamed answers carry usage)', options: { kind: 'lmstudio' }, conforms: true, undeclared: [] },
    { name: 'openai', options: { kind: 'openai' }, conforms: true, undeclared: [] },
    { name: 'anthropic', options: { kind: 'anthropic' }, conforms: true, undeclared: [] },
  ];
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const { id } = await setUp(testCase.options);
      const report = await testProvider(context(), { providerId: id, timeoutMs: 10_000 });
      const failing = report.checks.filter((check) => check.verdict === 'fail' || check.verdict === 'deviation');
      expect(failing).toEqual([]);
      expect(report.conforms).toBe(testCase.conforms);
      expect(undeclared(report)).toEqual(testCase.undeclared);
      expect(report.evidenceIds).toHaveLength(1);
      const names = report.checks.map((check) => check.name);
      for (const name of ['wire.json', 'wire.id', 'wire.model', 'wire.usage']) expect(names).toContain(name);
      expect(report.checks.find((check) => check.name === 'wire.json')?.evidenceId).toBe(report.evidenceIds[0]);
    });
  }

  it('llama.cpp reports a timings object: named as an extension, not a defect', async () => {
    const { id } = await setUp({ kind: 'llama.cpp' });
    const report = await testProvider(context(), { providerId: id, timeoutMs: 10_000 });
    expect(report.checks.find((check) => check.name === 'wire.extensions')).toMatchObject({ verdict: 'pass', detail: expect.stringContaining('timings') });
  });

  it('a declared context window larger than the engine reports fails the record check', async () => {
    const { id } = await setUp({ kind: 'llama.cpp' }, { contextWindow: 8192 });
    const report = await testProvider(context(), { providerId: id, timeoutMs: 10_000 });
    expect(report.conforms).toBe(false);
    expect(report.checks.find((check) => check.name === 'record.context-window.reported')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('set contextWindow: 4096') });
  });
});

describe('an endpoint that is broken, not deviating', () => {
  const HTML_PAGE = { status: 200, body: '<html><body>502 Bad Gateway</body></html>', headers: { 'Content-Type': 'text/html' } };

  it('every answer an HTML page: the probes fail on decoding, and no deviation reaches the record', async () => {
    const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true }, { tags: ['tools'] });
    engine.setFault(HTML_PAGE);
    const report = await probeCapabilities(context(), { providerId: id, update: true, timeoutMs: 10_000 });
    expect(verdicts(report)).toEqual({
      'token-accounting': 'fail',
      streaming: 'fail',
      'json-mode': 'fail',
      'seed-control': 'fail',
      'tool-calls': 'fail',
      'context-window': 'pass',
      'stop-sequences': 'inconclusive',
    });
    expect(report.capabilities.find((result) => result.capability === 'streaming')?.checks[0]).toMatchObject({
      name: 'streaming.decode',
      verdict: 'fail',
      detail: expect.stringContaining('not a well-formed SSE stream (content-type text/html): it holds no server-sent event'),
    });
    expect(report.deviations).toEqual([]);
    expect(report.discovery).toBeUndefined();
    expect(report.conforms).toBe(false);
    expect(providerHistory(store, id)).toHaveLength(1);
    expect(listDiscoveries(store, id)).toEqual([]);
  });

  for (const fault of ['reset-mid-stream', 'truncate-stream'] as const) {
    it(`streams cut mid-answer (${fault}): streaming is inconclusive, not partial_streaming_reliability nor approximate_token_counts`, async () => {
      const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true }, { tags: ['tools'] });
      engine.setFault(fault, undefined, 'streams');
      const report = await probeCapabilities(context(), { providerId: id, update: true, timeoutMs: 10_000 });
      expect(verdicts(report)).toEqual({ ...PASSING, streaming: 'inconclusive', 'tool-calls': 'inconclusive' });
      const streaming = report.capabilities.find((result) => result.capability === 'streaming')!;
      expect(streaming.observed).toMatch(/^broken after \d+ events?$/);
      expect(streaming.checks.find((check) => check.name === 'streaming.complete')).toMatchObject({
        verdict: 'inconclusive',
        detail: expect.stringContaining('not judged on a stream that did not complete: streaming.terminal-marker, streaming.finish_reason, streaming.usage'),
      });
      expect(report.deviations).toEqual([]);
      expect(report.discovery).toBeUndefined();
      expect(providerHistory(store, id)).toHaveLength(1);
    });
  }

  it('provider test: an answer cut mid-body is an upstream failure (exit 5), not drift', async () => {
    const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true });
    engine.setFault('reset-mid-stream', 1);
    await expect(testProvider(context(), { providerId: id, timeoutMs: 10_000 })).rejects.toMatchObject({ exitCode: 5, message: expect.stringContaining(`${id} did not answer the test request`) });
    expect(listDiscoveries(store, id)).toEqual([]);
  });
});

describe('the hint when the time allowed runs out names what the caller can do', () => {
  it('provider test: its own --timeout, doubled', async () => {
    const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true });
    engine.setFault('hang');
    await expect(testProvider(context(), { providerId: id, timeoutMs: 300 })).rejects.toMatchObject({
      exitCode: 5,
      hint: `every candidate was still answering when the 300ms allowed ran out; allow more (\`syndicate provider test ${id} --timeout 600ms\`)`,
    });
  });

  it('a gateway client, who cannot set the time: fewer tokens, and no command line', async () => {
    const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true });
    engine.setFault('hang');
    const request = { model: `${id}:${defaultModel(engine)}`, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Name the capital of France.' }] }], stream: false };
    await expect(invoke(context(), { request, caller: 'gateway', provider: id, timeouts: { totalMs: 300 } })).rejects.toMatchObject({
      exitCode: 5,
      hint: 'every candidate was still answering when the 300ms allowed ran out; ask for fewer tokens (a lower max_tokens)',
    });
  });
});

describe('the content type of answers', () => {
  it('provider test fails a JSON answer sent as text/plain (the TypeScript SDKs would return it as a string)', async () => {
    const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true });
    engine.setFault({ contentType: 'text/plain' });
    const report = await testProvider(context(), { providerId: id, timeoutMs: 10_000 });
    expect(report.checks.filter((check) => check.verdict === 'fail')).toMatchObject([{ name: 'wire.content-type', detail: expect.stringContaining('content-type text/plain, not application/json') }]);
    expect(report.conforms).toBe(false);
    expect(report.deviations).toEqual([]);
  });

  it('provider capabilities warns about a stream sent as text/plain', async () => {
    const { id, engine } = await setUp({ kind: 'llama.cpp', conforming: true }, { tags: ['tools'] });
    engine.setFault({ contentType: 'text/plain' }, undefined, 'streams');
    const report = await probeCapabilities(context(), { providerId: id, update: false, timeoutMs: 10_000 });
    expect(verdicts(report)).toEqual({ ...PASSING, streaming: 'warn' });
    expect(report.capabilities.find((result) => result.capability === 'streaming')?.checks.find((check) => check.name === 'streaming.content-type')).toMatchObject({ verdict: 'warn' });
    expect(report.conforms).toBe(true);
  });
});

describe('deviation discovery', () => {
  it('a probe run records each undeclared deviation and makes exactly one new version naming them', async () => {
    const { id } = await setUp({ kind: 'ollama' }, { tags: ['tools'] });
    const report = await probeCapabilities(context(), { providerId: id, update: true, timeoutMs: 10_000 });
    expect(report.discovery?.updated).toBe(true);
    const history = providerHistory(store, id);
    expect(history.map((version) => version.version)).toEqual([1, 2]);
    const latest = history[1]!;
    expect(latest.record.deviations).toEqual(['weak_json_adherence', 'unsupported_seed_control', 'nonstandard_tool_call_serialization']);
    expect(latest.reason).toMatch(/^discovered deviation weak_json_adherence by probe json-mode \(evidence ev_[^)]+\); /);
    expect(latest.reason).toContain('discovered deviation nonstandard_tool_call_serialization by probe tool-calls (evidence ev_');
    const discoveries = listDiscoveries(store, id);
    expect(discoveries).toHaveLength(3);
    for (const discovery of discoveries) {
      expect(discovery.recordedVersion).toBe(2);
      expect(discovery.observedVersion).toBe(1);
      expect(report.evidenceIds).toContain(discovery.evidenceId);
    }
    // Probing again finds them declared: no further version.
    const again = await probeCapabilities(context(), { providerId: id, update: true, timeoutMs: 10_000 });
    expect(again.conforms).toBe(true);
    expect(again.discovery).toBeUndefined();
    expect(providerHistory(store, id)).toHaveLength(2);
  });

  it('--no-update records the discoveries but no version', async () => {
    const { id } = await setUp({ kind: 'ollama' }, { tags: ['tools'] });
    const report = await probeCapabilities(context(), { providerId: id, update: false, timeoutMs: 10_000 });
    expect(report.discovery).toMatchObject({ updated: false, version: 1, deviations: ['weak_json_adherence', 'unsupported_seed_control', 'nonstandard_tool_call_serialization'] });
    expect(providerHistory(store, id)).toHaveLength(1);
    expect(listDiscoveries(store, id).map((discovery) => discovery.recordedVersion)).toEqual([null, null, null]);
  });

  it('an ordinary invocation whose stream lacks usage adds approximate_token_counts as one new version', async () => {
    const { id } = await setUp({ kind: 'lmstudio', lmStudioVersion: '0.3.17' });
    const request = { model: `${id}:qwen2.5-7b-instruct`, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Name the capital of France.' }] }], stream: true };
    const result = await invoke(context(), { request, caller: 'cli', provider: id });
    expect(result.fidelity.tokenAccounting).toBe('approximate');
    expect(result.warnings.find((warning) => warning.setting === 'deviations')?.message).toContain(`discovered undeclared deviation approximate_token_counts (evidence ${result.evidenceId}); the provider record of ${id} is now v2`);
    const history = providerHistory(store, id);
    expect(history).toHaveLength(2);
    expect(history[1]!.reason).toBe(`discovered deviation approximate_token_counts during an invocation (evidence ${result.evidenceId}) (changed /deviations)`);
    expect(history[1]!.record.deviations).toEqual(['approximate_token_counts']);
    // The next invocation runs on v2, where the deviation is declared: nothing new.
    const next = await invoke(context(), { request, caller: 'cli', provider: id });
    expect(next.provider.version).toBe(2);
    expect(next.warnings.some((warning) => warning.setting === 'deviations')).toBe(false);
    expect(providerHistory(store, id)).toHaveLength(2);
  });

  it('an ordinary invocation with tool arguments sent as an object adds nonstandard_tool_call_serialization', async () => {
    const { id } = await setUp({ kind: 'ollama' }, { tags: ['tools'] });
    const result = await invoke(context(), {
      request: {
        model: `${id}:llama3.2:latest`,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }] }],
        tools: [{ name: 'get_weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }],
        stream: false,
      },
      caller: 'cli',
      provider: id,
    });
    expect(result.response.observations).toContain('tool_arguments_object');
    expect(providerHistory(store, id).at(-1)?.record.deviations).toEqual(['nonstandard_tool_call_serialization']);
    expect(listDiscoveries(store, id)).toMatchObject([{ deviation: 'nonstandard_tool_call_serialization', source: 'invocation', evidenceId: result.evidenceId, recordedVersion: 2 }]);
  });

  it('probe requests never trigger the invocation hook (no version from a --no-update run)', async () => {
    const { id } = await setUp({ kind: 'ollama' }, { tags: ['tools'] });
    await testProvider(context(), { providerId: id, timeoutMs: 10_000 });
    await probeCapabilities(context(), { providerId: id, update: false, timeoutMs: 10_000 });
    expect(providerHistory(store, id)).toHaveLength(1);
  });
});
