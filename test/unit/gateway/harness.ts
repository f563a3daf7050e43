import { randomBytes } from 'node:crypto';
import type { CapabilityClass, ModelDeviation, ReasoningEffort, Vendor } from '../../../src/common/vocabulary.js';
import { createGateway, listenGateway, type Gateway, type GatewayOptions, type RunningGateway } from '../../../src/gateway/index.js';
import { invoke } from '../../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../../src/invoke/types.js';
import { PermitKey } from '../../../src/permits/index.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import type { Policy } from '../../../src/policy/types.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import type { ModelPrice } from '../../../src/registry/types.js';
import { HealthMonitor } from '../../../src/router/health.js';
import { openStore, type Store } from '../../../src/store/store.js';

export const TEST_TOKEN = 'syn_test-gateway-token';
/** The env var the hosted fakes' records reference, and its value. */
export const FAKE_KEY_ENV = 'FAKE_UPSTREAM_KEY';

/** A provider record as a test writes it (validated and normalised by the real registry). */
export interface TestProvider {
  id: string;
  class: 'local' | 'approved_hosted' | 'restricted_hosted';
  wire: 'openai' | 'anthropic';
  baseUrl: string;
  /** `contextWindow` defaults to 32 768, `capabilityClass` to medium, `kind` to chat. */
  models: {
    id: string;
    kind?: 'chat' | 'embedding';
    contextWindow?: number;
    capabilityClass?: CapabilityClass;
    priority?: number;
    tags?: string[];
    aliases?: string[];
    price?: ModelPrice;
    vramGb?: number;
    deviations?: ModelDeviation[];
    reasoningEfforts?: ReasoningEffort[];
  }[];
  /** Engine kind for local records (drives health probing of resident models). */
  engine?: 'ollama' | 'llama.cpp' | 'vllm' | 'lmstudio' | 'llama-swap';
  /** The engine's VRAM budget (with `engine`): loads are planned against it (hot-swap). */
  vramBudgetGb?: number;
  /** Reference FAKE_UPSTREAM_KEY (hosted fakes check that a key is sent). */
  auth?: boolean;
  /** The record's `vendor`: for a fake of OpenAI's or Anthropic's own API (their wire extensions: custom tools, structured outputs). */
  vendor?: Vendor;
}

export interface TestGateway {
  url: string;
  store: Store;
  gateway: Gateway;
  running: RunningGateway;
  pipeline: PipelineContext;
  /**
   * Resolves once every evidence write queued so far is committed: an answered request's finish
   * may wait a few milliseconds for the next request's batch (`GroupCommitter.runDeferred`), so
   * a test reads the store after this, not right after the answer.
   */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Two hosted fakes as approved_hosted providers under the default policy, with prices (so the
 * cost ceiling does not keep them out): `openai:gpt-4o-mini` (OpenAI wire) and
 * `claude:claude-sonnet-4-20250514` (Anthropic wire), tagged `tools`. What the egress tests send
 * confidential and restricted content to, and check received nothing.
 */
export function approvedHostedPair(openai: { baseUrl: string }, claude: { baseUrl: string }): TestProvider[] {
  return [
    { id: 'openai', class: 'approved_hosted', wire: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: 'gpt-4o-mini', tags: ['tools'], price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] },
    { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
  ];
}

/** The default policy, with the loopback host allowed as egress so hosted fakes on 127.0.0.1 are callable. */
export function testPolicy(overrides: Partial<Policy> = {}): Policy {
  const policy = defaultPolicy();
  return { ...policy, egress: { allowHosts: [...policy.egress.allowHosts, '127.0.0.1'] }, ...overrides };
}

export async function registerTestProvider(store: Store, provider: TestProvider): Promise<void> {
  await registerProviderRecord(
    store,
    {
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id: provider.id,
      class: provider.class,
      wire: provider.wire,
      ...(provider.vendor === undefined ? {} : { vendor: provider.vendor }),
      baseUrl: provider.baseUrl,
      ...(provider.auth === true ? { auth: { env: FAKE_KEY_ENV } } : {}),
      ...(provider.engine === undefined ? {} : { engine: { kind: provider.engine, ...(provider.vramBudgetGb === undefined ? {} : { vramBudgetGb: provider.vramBudgetGb }) } }),
      models: provider.models.map((model) => ({
        id: model.id,
        ...(model.kind === undefined ? {} : { kind: model.kind }),
        contextWindow: model.contextWindow ?? 32_768,
        capabilityClass: model.capabilityClass ?? 'medium',
        ...(model.priority === undefined ? {} : { priority: model.priority }),
        ...(model.tags === undefined ? {} : { tags: model.tags }),
        ...(model.aliases === undefined ? {} : { aliases: model.aliases }),
        ...(model.price === undefined ? {} : { price: model.price }),
        ...(model.vramGb === undefined ? {} : { vramGb: model.vramGb }),
        ...(model.deviations === undefined ? {} : { deviations: model.deviations }),
        ...(model.reasoningEfforts === undefined ? {} : { reasoningEfforts: model.reasoningEfforts }),
      })),
    },
    `test provider ${provider.id}`,
  );
}

/**
 * A real gateway (core + node:http adapter on 127.0.0.1:0) over the real pipeline, with an
 * in-memory store, a fresh permit key and a fresh health monitor (no state shared between tests).
 */
export async function startTestGateway(options: {
  providers: TestProvider[];
  policy?: Policy;
  bodyLimitBytes?: number;
  onRequestEnd?: GatewayOptions['onRequestEnd'];
  corsOrigins?: string[];
  hostCheck?: GatewayOptions['hostCheck'];
  /** The pipeline entry point, default the real `invoke`: a test may wrap it to change what an answer holds. */
  invoke?: GatewayOptions['invoke'];
}): Promise<TestGateway> {
  const store = openStore(':memory:');
  for (const provider of options.providers) await registerTestProvider(store, provider);
  const pipeline: PipelineContext = {
    store,
    policy: options.policy ?? testPolicy(),
    permitKey: PermitKey.fromBytes(randomBytes(32)),
    health: new HealthMonitor(),
    env: { [FAKE_KEY_ENV]: 'sk-fake-upstream-key' },
    longRunning: true,
  };
  const gateway = createGateway({
    pipeline,
    invoke: options.invoke ?? invoke,
    token: TEST_TOKEN,
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.onRequestEnd === undefined ? {} : { onRequestEnd: options.onRequestEnd }),
    ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
    ...(options.hostCheck === undefined ? {} : { hostCheck: options.hostCheck }),
  });
  const running = await listenGateway(gateway, { host: '127.0.0.1', port: 0 });
  return {
    url: running.url,
    store,
    gateway,
    running,
    pipeline,
    settled: async () => {
      await pipeline.commits?.idle();
    },
    close: async () => {
      await running.close();
      store.close();
    },
  };
}

/** The gateway's `/metrics`, parsed (`parsePrometheusText`). */
export async function scrapeMetrics(gateway: TestGateway): Promise<Map<string, number>> {
  const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  return parsePrometheusText(await response.text());
}

/** `syndicate_gateway_requests_total` summed over every series of one API and outcome (of one provider class when given). */
export function gatewayRequests(samples: Map<string, number>, labels: { api: string; outcome: string; class?: string }): number {
  return [...samples.entries()]
    .filter(([name]) => name.startsWith('syndicate_gateway_requests_total{') && name.includes(`api="${labels.api}"`) && name.includes(`outcome="${labels.outcome}"`))
    .filter(([name]) => labels.class === undefined || name.includes(`class="${labels.class}"`))
    .reduce((sum, [, value]) => sum + value, 0);
}

/**
 * Prometheus text → `name{labels}` → value (comments and blank lines skipped; throws on a
 * malformed line). NaN and Inf are case-insensitive, as in Prometheus's own parser (prom-client writes `Nan`).
 */
export function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|nan|\+inf|-inf))$/i.exec(line);
    if (match === null) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(match[1] as string, Number(match[2]));
  }
  return samples;
}
