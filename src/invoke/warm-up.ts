import { performance } from 'node:perf_hooks';
import { tokenCounterLoaded } from '../evidence/token-counter.js';
import { currentProviders } from '../registry/provider-cache.js';
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
  /** `fetch`, which the health probes of local engines use. */
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
 * router's code, `fetch` for the health probes, and the tokenizer when the routes count prompts
 * (a model with a price; otherwise it stays unloaded, ~26 MB resident, as most requests never
 * need it). The dry route runs on a health monitor of its own: no engine is probed, and nothing
 * is written. Never throws: what cannot be loaded here fails as it would have on the first request.
 */
export async function warmPipeline(context: PipelineContext): Promise<WarmUpReport> {
  const started = performance.now();
  const { policy, failure } = currentPolicy(context);
  const providers = [...currentProviders(context.store)];
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
  try {
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
