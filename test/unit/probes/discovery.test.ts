import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InvocationResult } from '../../../src/invoke/types.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { deviationsFromInvocation, describeDiscovery, discoverFromInvocation, listDiscoveries, recordDiscoveredDeviations } from '../../../src/probes/discovery.js';
import { engineReportedContext } from '../../../src/probes/engine-context.js';
import { probePolicy } from '../../../src/probes/runner.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import { findProvider, providerHistory } from '../../../src/registry/registry.js';
import type { ProviderRecord } from '../../../src/registry/types.js';
import { openStore, type Store } from '../../../src/store/store.js';

const RECORD: ProviderRecord = {
  apiVersion: 'syndicate/v1',
  kind: 'Provider',
  id: 'engine',
  class: 'local',
  wire: 'openai',
  baseUrl: 'http://127.0.0.1:8080/v1',
  models: [{ id: 'model.gguf', contextWindow: 4096, capabilityClass: 'small' }],
  deviations: ['approximate_token_counts'],
  engine: { kind: 'llama.cpp' },
};

let store: Store;
beforeEach(async () => {
  store = openStore(':memory:');
  await registerProviderRecord(store, RECORD, 'test record');
});
afterEach(() => store.close());

describe('recordDiscoveredDeviations', () => {
  it('writes one row per undeclared deviation and ONE new version naming them all', () => {
    const outcome = recordDiscoveredDeviations(
      store,
      'engine',
      [
        { deviation: 'weak_json_adherence', declared: false, source: 'json-mode', evidenceId: 'ev_1', detail: 'prose' },
        { deviation: 'weak_json_adherence', declared: false, source: 'json-mode', evidenceId: 'ev_2', detail: 'prose again' },
        { deviation: 'unsupported_seed_control', declared: false, source: 'seed-control', evidenceId: 'ev_3', detail: 'differs' },
        { deviation: 'approximate_token_counts', declared: true, source: 'streaming', evidenceId: 'ev_4', detail: 'declared already' },
      ],
      { update: true, model: 'model.gguf' },
    );
    expect(outcome).toMatchObject({ updated: true, version: 2, deviations: ['weak_json_adherence', 'unsupported_seed_control'] });
    expect(outcome?.reason).toBe(
      'discovered deviation weak_json_adherence by probe json-mode (evidence ev_1); discovered deviation unsupported_seed_control by probe seed-control (evidence ev_3) (changed /deviations)',
    );
    const history = providerHistory(store, 'engine');
    expect(history).toHaveLength(2);
    expect(history[1]?.record.deviations).toEqual(['approximate_token_counts', 'weak_json_adherence', 'unsupported_seed_control']);
    expect(history[1]?.changes).toEqual([{ pointer: '/deviations', before: ['approximate_token_counts'], after: ['approximate_token_counts', 'weak_json_adherence', 'unsupported_seed_control'] }]);
    const rows = listDiscoveries(store, 'engine');
    expect(rows.map((row) => [row.deviation, row.source, row.evidenceId, row.observedVersion, row.recordedVersion, row.model]).sort()).toEqual([
      ['unsupported_seed_control', 'probe:seed-control', 'ev_3', 1, 2, 'model.gguf'],
      ['weak_json_adherence', 'probe:json-mode', 'ev_1', 1, 2, 'model.gguf'],
    ]);
  });

  it('update false keeps the record and still records the rows', () => {
    const outcome = recordDiscoveredDeviations(store, 'engine', [{ deviation: 'weak_json_adherence', declared: false, source: 'json-mode', detail: 'prose' }], { update: false });
    expect(outcome).toMatchObject({ updated: false, version: 1 });
    expect(outcome?.reason).toBeUndefined();
    expect(providerHistory(store, 'engine')).toHaveLength(1);
    expect(listDiscoveries(store, 'engine')).toMatchObject([{ recordedVersion: null, evidenceId: null }]);
  });

  it('nothing undeclared: nothing written', () => {
    expect(recordDiscoveredDeviations(store, 'engine', [{ deviation: 'approximate_token_counts', declared: true, source: 'x', detail: '' }], { update: true })).toBeUndefined();
    expect(recordDiscoveredDeviations(store, 'unknown', [{ deviation: 'weak_json_adherence', declared: false, source: 'x', detail: '' }], { update: true })).toBeUndefined();
    expect(listDiscoveries(store)).toEqual([]);
  });

  it('describes invocation discoveries', () => {
    expect(describeDiscovery({ deviation: 'approximate_token_counts', declared: false, source: 'invocation', evidenceId: 'ev_9', detail: '' })).toBe(
      'discovered deviation approximate_token_counts during an invocation (evidence ev_9)',
    );
  });
});

function invocationResult(overrides: { tokenAccounting?: 'exact' | 'approximate'; observations?: string[] } = {}): InvocationResult {
  return {
    requestId: 'req_1',
    evidenceId: 'ev_inv',
    permitId: 'pmt_1',
    provider: { id: 'engine', version: 1, class: 'local' },
    model: 'model.gguf',
    response: { id: 'x', model: 'model.gguf', text: 'hi', toolCalls: [], finishReason: 'stop', rawFinishReason: 'stop', ...(overrides.observations === undefined ? {} : { observations: overrides.observations }) },
    usage: { inputTokens: 1, outputTokens: 1 },
    fidelity: { tokenAccounting: overrides.tokenAccounting ?? 'exact', verbatimCapture: 'full', toolCallFidelity: 'not_applicable' },
    markers: [],
    warnings: [],
    latency: { totalMs: 1, beforeUpstreamMs: 0.1 },
    classification: { level: 'public', failedClosed: false, findings: [] },
    route: {} as InvocationResult['route'],
    attempts: [],
  };
}

describe('invocation-time discovery', () => {
  it('maps missing usage and tool-call observations to deviations, marking declared ones', () => {
    const found = deviationsFromInvocation(RECORD, invocationResult({ tokenAccounting: 'approximate', observations: ['tool_arguments_object', 'content_parts_array'] }));
    expect(found.map((item) => [item.deviation, item.declared])).toEqual([
      ['approximate_token_counts', true],
      ['nonstandard_tool_call_serialization', false],
    ]);
  });

  it('records an undeclared one as a new version; a clean answer changes nothing', () => {
    expect(discoverFromInvocation(store, invocationResult())).toBeUndefined();
    const outcome = discoverFromInvocation(store, invocationResult({ observations: ['tool_call_id_missing'] }));
    expect(outcome).toMatchObject({ updated: true, version: 2, deviations: ['nonstandard_tool_call_serialization'] });
    expect(findProvider(store, 'engine')?.record.deviations).toEqual(['approximate_token_counts', 'nonstandard_tool_call_serialization']);
    expect(listDiscoveries(store, 'engine')).toMatchObject([{ source: 'invocation', evidenceId: 'ev_inv', recordedVersion: 2 }]);
  });
});

describe('probePolicy', () => {
  it('opens only the capability gates and turns fallback off; sensitivity and egress stay', () => {
    const policy = defaultPolicy();
    const relaxed = probePolicy(policy);
    expect(relaxed.capabilities).toMatchObject({ requireToolsTag: false, nonstandardToolCalls: 'repair', weakJson: 'demote', rules: [] });
    expect(relaxed.fallback).toEqual({ order: [], maxHops: 0 });
    expect(relaxed.sensitivity).toEqual(policy.sensitivity);
    expect(relaxed.egress).toEqual(policy.egress);
    expect(relaxed.cost).toEqual(policy.cost);
  });
});

describe('engineReportedContext', () => {
  const reader = (answers: Record<string, unknown>) => async (url: string) => {
    if (!(url in answers)) throw new Error(`unexpected ${url}`);
    return answers[url];
  };

  it('reads llama.cpp /props, vLLM max_model_len, Ollama /api/show + /api/ps and LM Studio /api/v0', async () => {
    expect(await engineReportedContext(RECORD, 'model.gguf', { read: reader({ 'http://127.0.0.1:8080/props': { default_generation_settings: { n_ctx: 2048 } } }) })).toEqual({ source: 'llama.cpp GET /props n_ctx', contextWindow: 2048 });
    const vllm = { ...RECORD, engine: { kind: 'vllm' as const } };
    expect(await engineReportedContext(vllm, 'm', { read: reader({ 'http://127.0.0.1:8080/v1/models': { data: [{ id: 'other', max_model_len: 1 }, { id: 'm', max_model_len: 8192 }] } }) })).toMatchObject({ contextWindow: 8192 });
    const ollama = { ...RECORD, engine: { kind: 'ollama' as const } };
    expect(
      await engineReportedContext(ollama, 'llama3.2', {
        read: reader({
          'http://127.0.0.1:8080/api/show': { model_info: { 'general.architecture': 'llama', 'llama.context_length': 131072 } },
          'http://127.0.0.1:8080/api/ps': { models: [{ name: 'llama3.2:latest', context_length: 4096 }] },
        }),
      }),
    ).toMatchObject({ contextWindow: 131072, loadedContext: 4096 });
    const studio = { ...RECORD, engine: { kind: 'lmstudio' as const } };
    expect(await engineReportedContext(studio, 'qwen/7b', { read: reader({ 'http://127.0.0.1:8080/api/v0/models/qwen%2F7b': { max_context_length: 32768, loaded_context_length: 4096 } }) })).toMatchObject({ contextWindow: 32768, loadedContext: 4096 });
  });

  it('hosted records and engines without a known kind report nothing', async () => {
    const failing = async (): Promise<unknown> => {
      throw new Error('must not be called');
    };
    expect(await engineReportedContext({ ...RECORD, class: 'approved_hosted' }, 'm', { read: failing })).toBeUndefined();
    const { engine: _engine, ...withoutEngine } = RECORD;
    expect(await engineReportedContext(withoutEngine, 'm', { read: failing })).toBeUndefined();
  });
});
