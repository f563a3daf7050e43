import { randomBytes } from 'node:crypto';
import type { PipelineContext } from '../../src/invoke/types.js';
import { PermitKey } from '../../src/permits/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { openStore } from '../../src/store/store.js';
import { registerTestProvider, testPolicy, type TestProvider } from '../unit/gateway/harness.js';
import { startFakeEngine, type FakeEngine, type FakeReplay, type RecordedExchange } from './fake-engines/index.js';

/**
 * What the tests that call the real pipeline in this process start from: a loopback engine, an
 * in-memory store with providers registered at it, and a pipeline context over that store.
 */

/**
 * A local OpenAI-wire engine on 127.0.0.1 (a fake vLLM: it asks for no key) serving `models`; its
 * health probe (`GET /v1/models`) lists them. `answer`: the text it answers with; `replay.body`:
 * every non-streamed answer verbatim instead (e.g. one without usage).
 */
export function loopbackEngine(models: string[], options: { answer?: string; replay?: FakeReplay } = {}): Promise<FakeEngine> {
  return startFakeEngine({ kind: 'vllm', conforming: true, models: models.map((id) => ({ id })), ...options });
}

/** The inference calls `engine` received (POSTs, counted as each arrives): the route's health probes are GETs. */
export function inferenceCalls(engine: FakeEngine): RecordedExchange[] {
  return engine.exchanges.filter((exchange) => exchange.method === 'POST');
}

/**
 * A pipeline context over a new in-memory store with `providers` registered: the test policy (the
 * loopback host allowed as egress), a fresh permit key and health monitor, no environment;
 * `context` replaces any of them or adds to them. The caller closes `store`.
 */
export async function pipelineOver(providers: TestProvider[], context: Partial<Omit<PipelineContext, 'store'>> = {}): Promise<PipelineContext> {
  const store = openStore(':memory:');
  try {
    for (const provider of providers) await registerTestProvider(store, provider);
  } catch (error) {
    store.close();
    throw error;
  }
  return { store, policy: testPolicy(), permitKey: PermitKey.fromBytes(randomBytes(32)), health: new HealthMonitor(), env: {}, ...context };
}

/** A user's question, as the pipeline takes it (not streamed). */
export function question(text = 'What is the capital of France?') {
  return { model: 'auto', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text }] }], stream: false };
}
