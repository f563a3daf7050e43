import { PolicyRefusalError } from '../../../src/errors.js';
import { beginAttempt, completeAttempt, recordDenial, type AttemptStart } from '../../../src/evidence/index.js';
import { permitDenial } from '../../../src/permits/denial.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import type { ModelPrice } from '../../../src/registry/types.js';
import type { Store } from '../../../src/store/store.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

interface SeedAttempt {
  at: number;
  provider: { id: string; version: number; class: 'local' | 'approved_hosted' };
  model: string;
  hop?: number;
  kind?: 'invocation' | 'probe';
  state: 'completed' | 'failed';
  firstTokenMs?: number;
  totalMs: number;
  usage?: { inputTokens: number; outputTokens: number; cachedInputTokens?: number; cacheWriteInputTokens?: number };
  costUsd?: number;
  errorCode?: string;
  /** Default `internal`. */
  sensitivity?: 'public' | 'internal' | 'confidential' | 'restricted';
  /** Whether the engine held the model when routed (the route's `chosen.warm`); absent: it did not say. */
  warm?: boolean;
  /** The agent session the request belonged to (`x-syndicate-session`). */
  session?: string;
}

const OLLAMA = { id: 'ollama', version: 1, class: 'local' } as const;
const CLAUDE = { id: 'claude', version: 2, class: 'approved_hosted' } as const;

/**
 * The seeded evidence, relative to `start` (a whole hour): a window of three hours from `start`.
 * The figures each test expects are worked out by hand from this table in the test itself.
 */
export function seedAttempts(start: number): SeedAttempt[] {
  return [
    // Hour 0: two local answers.
    { at: start + 10 * MINUTE, provider: OLLAMA, model: 'llama3', state: 'completed', firstTokenMs: 100, totalMs: 400, usage: { inputTokens: 1000, outputTokens: 500 }, sensitivity: 'public', warm: true },
    // (The engine served 500 of its prompt tokens from its prompt cache.)
    { at: start + 20 * MINUTE, provider: OLLAMA, model: 'llama3', state: 'completed', firstTokenMs: 300, totalMs: 800, usage: { inputTokens: 2000, outputTokens: 1000, cachedInputTokens: 500 }, sensitivity: 'restricted', warm: false },
    // Hour 1: a local answer after a fallback hop, and a hosted answer with a cost.
    // Both belong to one agent session.
    { at: start + 70 * MINUTE, provider: OLLAMA, model: 'llama3', hop: 1, state: 'completed', firstTokenMs: 200, totalMs: 600, usage: { inputTokens: 3000, outputTokens: 1500 }, warm: true, session: 'sess-agent' },
    // Of its 400 input tokens, 300 were prompt-cache reads and 50 cache writes.
    { at: start + 80 * MINUTE, provider: CLAUDE, model: 'claude-sonnet', state: 'completed', firstTokenMs: 500, totalMs: 1500, usage: { inputTokens: 400, outputTokens: 100, cachedInputTokens: 300, cacheWriteInputTokens: 50 }, costUsd: 0.0027, sensitivity: 'public', session: 'sess-agent' },
    // Hour 2: a failed hosted attempt; a probe (never counted as a request).
    { at: start + 130 * MINUTE, provider: CLAUDE, model: 'claude-sonnet', state: 'failed', totalMs: 50 },
    // ... and a local stream its caller left after the first token (not a provider failure).
    { at: start + 135 * MINUTE, provider: OLLAMA, model: 'llama3', state: 'failed', firstTokenMs: 40, totalMs: 900, errorCode: 'interrupted' },
    { at: start + 140 * MINUTE, provider: OLLAMA, model: 'llama3', kind: 'probe', state: 'completed', firstTokenMs: 5, totalMs: 9, usage: { inputTokens: 7, outputTokens: 7 } },
    // ... and a priced probe of the hosted provider (`provider test` in CI): no request, but spend.
    { at: start + 142 * MINUTE, provider: CLAUDE, model: 'claude-sonnet', kind: 'probe', state: 'completed', firstTokenMs: 300, totalMs: 600, usage: { inputTokens: 20, outputTokens: 10 }, costUsd: 0.00021 },
    // Before the window: never counted.
    { at: start - 30 * MINUTE, provider: OLLAMA, model: 'llama3', state: 'completed', firstTokenMs: 9999, totalMs: 9999, usage: { inputTokens: 50_000, outputTokens: 50_000 } },
  ];
}

/**
 * Writes the seed through the real evidence API (pending row, then completion), plus the refusals:
 * in hour 1, two permits refused outside any request (`permit issue` of a blocked provider, as
 * public data; `permit verify` of an expired token) and a request refused before it was
 * classified (its permit was forged); in hour 2, a provider probe the policy refused (`provider
 * test` of a host off the egress list: public, no user request) and a restricted request no
 * provider may take.
 */
export function seedMetricsStore(store: Store, start: number): void {
  seedAttempts(start).forEach((attempt, index) => {
    const begin: AttemptStart = {
      requestId: `req_${index}`,
      hop: attempt.hop ?? 0,
      kind: attempt.kind ?? 'invocation',
      caller: 'gateway',
      provider: attempt.provider,
      model: attempt.model,
      permitId: `pm_${index}`,
      permit: {},
      sensitivity: attempt.sensitivity ?? 'internal',
      route: attempt.warm === undefined ? {} : { chosen: { provider: attempt.provider.id, model: attempt.model, warm: attempt.warm } },
      streamed: false,
      now: attempt.at,
      ...(attempt.session === undefined ? {} : { sessionId: attempt.session }),
    };
    const id = beginAttempt(store, begin);
    completeAttempt(store, id, {
      state: attempt.state,
      ...(attempt.firstTokenMs === undefined ? {} : { firstTokenMs: attempt.firstTokenMs }),
      totalMs: attempt.totalMs,
      ...(attempt.usage === undefined ? {} : { usage: attempt.usage }),
      tokenAccounting: attempt.usage === undefined ? 'not_available' : 'exact',
      verbatimCapture: 'none',
      toolCallFidelity: 'not_applicable',
      markers: attempt.hop === undefined ? [] : ['fallback'],
      warnings: [],
      ...(attempt.costUsd === undefined ? {} : { costUsd: attempt.costUsd }),
      ...(attempt.errorCode === undefined ? {} : { error: { code: attempt.errorCode, message: 'the invocation was aborted before the response ended' } }),
      now: attempt.at + attempt.totalMs,
    });
  });
  const refused = (code: string) => new PolicyRefusalError(code, `permit refused: ${code}`);
  recordDenial(store, { ...permitDenial(undefined, refused('provider_blocked'), { caller: 'cli', outsideRequest: true, providerId: 'shady', model: 'm', sensitivity: 'public' }), now: start + 100 * MINUTE });
  recordDenial(store, { ...permitDenial('syn1.e30.expired', refused('permit_expired'), { caller: 'cli', outsideRequest: true }), now: start + 105 * MINUTE });
  recordDenial(store, { ...permitDenial('syn1.e30.forged', refused('permit_forged'), { caller: 'gateway', requestId: 'req_forged' }), now: start + 110 * MINUTE });
  recordDenial(store, { requestId: 'req_probe', caller: 'probe', reasonCode: 'route_denied', message: 'no provider may receive this public request', sensitivity: 'public', now: start + 125 * MINUTE });
  recordDenial(store, { requestId: 'req_denied', caller: 'gateway', reasonCode: 'route_denied', message: 'no provider may receive this', sensitivity: 'restricted', now: start + 150 * MINUTE });
}

/**
 * Registers `cloud`, a hosted provider with a model `reference` priced at `price` and a model
 * `unpriced` without one: the savings reference a policy may name (`cloud:reference`) or not price.
 */
export async function registerReferenceProvider(store: Store, price: ModelPrice): Promise<void> {
  await registerProviderRecord(
    store,
    {
      apiVersion: 'syndicate/v1',
      kind: 'Provider',
      id: 'cloud',
      class: 'approved_hosted',
      wire: 'openai',
      baseUrl: 'https://api.example.com/v1',
      auth: { env: 'EXAMPLE_KEY' },
      models: [
        { id: 'reference', contextWindow: 200_000, capabilityClass: 'large', price },
        { id: 'unpriced', contextWindow: 200_000, capabilityClass: 'large' },
      ],
      deviations: [],
    },
    'cloud',
  );
}
