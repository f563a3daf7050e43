import { performance } from 'node:perf_hooks';
import { tokenCounterLoaded } from '../evidence/token-counter.js';
import { currentProviders } from '../registry/provider-cache.js';
import type { RegisteredProvider } from '../registry/types.js';
import { HealthMonitor } from '../router/health.js';
import { warmTaskPatterns } from '../router/request-traits.js';
import { loadClassifier, routeRequest } from '../router/route-request.js';
import { warmEngineRequests } from '../transport/engine-info.js';
import type { CanonicalRequest } from '../wire/canonical.js';
import { currentPolicy } from './context.js';
import type { PipelineContext } from './types.js';

/** What `warmPipeline` loaded, and how long it took. */
export interface WarmUpReport {
  /** The classifier's modules, and its patterns compiled. */
  classifier: boolean;
  /** The tokenizer: loaded only when the routes count prompts (a registered model has a price). */
  tokenizer: boolean;
  /** The HTTP client of the health probes of local engines (`engineRequest`), run once. */
  httpClient: boolean;
  ms: number;
}

/**
 * An ordinary prompt touching the detectors' common cases (an e-mail address, a path, a phone
 * number, a date), so their patterns are compiled here rather than on a client's first request.
 * Shorter than the classifier's cached parts: nothing of it is remembered.
 */
const WARM_UP_TEXT = 'Summarise the release notes in /home/user/notes.md for the team (ops@example.com, +1 555 0100) by 2026-01-05: what changed, and why?';

const WARM_UP_REQUEST: CanonicalRequest = {
  model: 'auto',
  messages: [{ role: 'user', content: [{ type: 'text', text: WARM_UP_TEXT }] }],
  stream: false,
};

/** Says every engine is up with nothing loaded, without asking it: the dry route probes nothing. */
const answerWithoutProbing = (): Promise<unknown> => Promise.resolve({ object: 'list', data: [] });

/**
 * Loads and compiles at start-up what the first request of a long-running surface (the gateway,
 * the MCP server) would otherwise load on its way to the upstream — 0.3–1.1 s on a loaded 2-core
 * VM, against ~1.5 ms for the requests after it (bench/RESULTS.md, nineteenth session): the
 * classifier (imported on demand) with its patterns, the policy's task keyword patterns, the
 * router's code, the health probes' HTTP client, and the tokenizer when the routes count prompts
 * (a model with a price; otherwise it stays unloaded, ~26 MB resident, as most requests never
 * need it). The dry route runs on a health monitor of its own: no engine is probed, and nothing
 * is written. Never throws: what cannot be loaded here fails as it would have on the first request.
 */
export async function warmPipeline(context: PipelineContext): Promise<WarmUpReport> {
  const started = performance.now();
  const { policy } = currentPolicy(context);
  const report: WarmUpReport = { classifier: false, tokenizer: false, httpClient: false, ms: 0 };
  try {
    const classify = await loadClassifier();
    // Twice: V8 compiles a regular expression to machine code on its second run (see warmTaskPatterns).
    const options = { indicatorWords: policy.indicatorWords, patterns: policy.patterns };
    await classify(WARM_UP_REQUEST, options);
    await classify(WARM_UP_REQUEST, options);
    report.classifier = true;
  } catch {
    // The first request's classification fails closed (restricted), as it would have.
  }
  warmTaskPatterns(policy.tasks);
  await warmRoutes(context);
  report.tokenizer = tokenCounterLoaded();
  try {
    await warmEngineRequests();
    report.httpClient = true;
  } catch {
    // No loopback listener here (a sandbox): the first probe loads the client instead.
  }
  report.ms = performance.now() - started;
  return report;
}

/**
 * A dry route of the warm-up request on the current policy and registry: the router's code, the
 * holds other processes share, and the tokenizer when the routes count prompts. Never throws.
 */
async function warmRoutes(context: PipelineContext): Promise<void> {
  try {
    const { policy, failure } = currentPolicy(context);
    const providers = [...currentProviders(context.store)];
    // The pipeline's own options: the tokenizer is loaded exactly when its routes would load it.
    await routeRequest({
      request: WARM_UP_REQUEST,
      policy,
      ...(failure === undefined ? {} : { policyFailure: failure }),
      providers,
      workflow: 'interactive',
      store: context.store,
      health: new HealthMonitor({ probe: answerWithoutProbing }),
      env: context.env,
      promptEstimate: 'bounded',
      ...(context.coldStarts === undefined ? {} : { coldStartMs: context.coldStarts }),
      ...(context.firstTokens === undefined ? {} : { firstTokens: context.firstTokens(providers) }),
    });
    // The holds other processes share through the store, read by every route without probing.
    context.health.modelSnapshot(providers);
    context.health.toolsRefusalSnapshot(providers);
  } catch {
    // Whatever failed here fails on the first request instead, as it would have.
  }
}

/** What a warm-up for a changed registry loaded (`followRegistryForWarmUp`), and how long it took. */
export interface RegistryWarmUpReport {
  /** The tokenizer was loaded: the routes count prompts now (a model with a price was registered). */
  tokenizer: boolean;
  ms: number;
}

/** A long-running surface's look at the registry for the warm-up (`followRegistryForWarmUp`). */
export interface RegistryWarmUpFollower {
  /** Stops looking; resolves when a warm-up under way has ended (call it before closing the store). */
  stop(): Promise<void>;
}

/** How often a long-running surface looks at the registry for a change its warm-up did not see: as for a policy edit, within a second. */
const REGISTRY_WARM_UP_INTERVAL_MS = 1000;

/**
 * After `warmPipeline`: a provider registered later (another process's `provider register` or
 * `add`) with a priced model makes every route count prompts, and the first request after it
 * would load the tokenizer (~0.2 s) on its way. Looks at the registry every second, off any
 * request's path (the provider cache: one read of SQLite's data version while nothing changed),
 * and on a change runs the warm-up's dry route again in the background, which loads the tokenizer
 * exactly when the routes would. Stops for good once the tokenizer is loaded (by this or by a
 * request); `onWarmUp` hears each dry route run for a change. Never throws: a registry that
 * cannot be read now is looked at again at the next interval.
 */
export function followRegistryForWarmUp(
  context: PipelineContext,
  options: { onWarmUp?: (report: RegistryWarmUpReport) => void } = {},
): RegistryWarmUpFollower {
  if (tokenCounterLoaded()) return { stop: () => Promise.resolve() };
  let seen = currentProviders(context.store);
  let warming: Promise<void> | undefined;
  const warmUp = async (): Promise<void> => {
    const started = performance.now();
    await warmRoutes(context);
    if (tokenCounterLoaded()) clearInterval(timer);
    options.onWarmUp?.({ tokenizer: tokenCounterLoaded(), ms: performance.now() - started });
  };
  const timer = setInterval(() => {
    if (warming !== undefined) return;
    if (tokenCounterLoaded()) {
      clearInterval(timer);
      return;
    }
    let providers: readonly RegisteredProvider[];
    try {
      providers = currentProviders(context.store);
    } catch {
      return;
    }
    // The provider cache returns the same list until the registry changed.
    if (providers === seen) return;
    seen = providers;
    warming = warmUp()
      .catch(() => undefined)
      .finally(() => {
        warming = undefined;
      });
  }, REGISTRY_WARM_UP_INTERVAL_MS);
  // A gateway with nothing else to do exits when asked to, whatever this timer says.
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await warming;
    },
  };
}
