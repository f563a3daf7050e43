import { setFlagsFromString } from 'node:v8';
import { syndicateVersion } from '../common/version.js';
import type { SyndicateError } from '../errors.js';
import type { PruneResult } from '../evidence/retention.js';
import { scheduleRetention, type RetentionSchedule } from '../evidence/retention-schedule.js';
import type { HomePaths } from '../home/home.js';
import { readGatewayToken } from '../home/home.js';
import { createPipelineContext, currentPolicy } from '../invoke/context.js';
import { invoke } from '../invoke/pipeline.js';
import type { PipelineContext } from '../invoke/types.js';
import { followRegistryForWarmUp, warmPipeline, type RegistryWarmUpReport, type WarmUpReport } from '../invoke/warm-up.js';
import type { McpHttpEndpoint } from '../mcp/http.js';
import { GatewayMetrics, type HeldBackTarget } from '../metrics/prometheus.js';
import { LivePolicy, type PolicyChange } from '../policy/live.js';
import { requireTrustTier } from '../policy/trust-tiers.js';
import { currentProviders } from '../registry/provider-cache.js';
import type { EngineTransition, HoldTransition } from '../router/health.js';
import type { RegisteredProvider } from '../registry/types.js';
import { spentTodayUsd } from '../router/route-request.js';
import { holdsInForce } from '../router/shared-holds.js';
import { startBackgroundCheckpoint } from '../store/background-checkpoint.js';
import { StoreFileWatch } from '../store/store-file.js';
import type { Store } from '../store/store.js';
import { createGateway, DEFAULT_BODY_LIMIT_BYTES, type Gateway } from './app.js';
import { TokenGuard, type TokenChange } from './auth.js';
import { HostCheck } from '../common/host-check.js';
import type { AccessLogEntry } from './access-log.js';
import { listenGateway, type GatewayListenOptions, type RunningGateway } from './node-adapter.js';

/** SQLite page cache of the gateway's connection, in KiB. */
const GATEWAY_CACHE_KIB = 2048;

/**
 * Old-space growth allowed after each full GC, in percent of the live heap. V8's default picks a
 * factor between 1.1 and 4 from GC and mutator speed; under sustained load it chose ~4, so a
 * gateway with ~15 MB live let its old space fill to 60-70 MB with promoted request garbage
 * before collecting. 20 % keeps it near 25 MB at the same throughput (bench/RESULTS.md).
 */
const GATEWAY_HEAP_GROWING_PERCENT = 20;

/**
 * Applies GATEWAY_HEAP_GROWING_PERCENT unless the operator started node with the flag
 * (`node --heap-growing-percent=N …/syndicate serve`; node refuses it in NODE_OPTIONS). V8 reads
 * this flag each time it sizes the heap after a full GC, so setting it at start-up takes effect.
 */
function boundHeapGrowth(): void {
  const given = process.execArgv.some((argument) => /^--heap[-_]growing[-_]percent\b/.test(argument));
  if (!given) setFlagsFromString(`--heap-growing-percent=${GATEWAY_HEAP_GROWING_PERCENT}`);
}

/** Everything `syndicate serve` needs to start the gateway. */
export interface StartGatewayOptions extends GatewayListenOptions {
  home: HomePaths;
  store: Store;
  /** Trust tier of gateway callers; default: the policy's `defaultTrustTier`. */
  trustTier?: string;
  env?: NodeJS.ProcessEnv;
  onInternalError?: (error: unknown) => void;
  /** One call per request as it ends: `serve --access-log`. */
  onRequestEnd?: (entry: AccessLogEntry) => void;
  /** The policy file was re-read after an edit (or found invalid: local providers only until fixed). */
  onPolicyChange?: (change: PolicyChange) => void;
  /** The token file was re-read after a rotation (or cannot be used: every request refused until it can). */
  onTokenChange?: (change: TokenChange) => void;
  /** Browser origins allowed to call the gateway (`serve --cors-origin`). */
  corsOrigins?: readonly string[];
  /**
   * Names besides loopback ones the gateway answers to in `Host` (`serve --allow-host`). `Host` is
   * checked unless `allowRemote` is set and none is given (a gateway on the network is called by
   * whatever names the network has for it).
   */
  allowedHosts?: readonly string[];
  /** A warm-up ran for a registry changed since start (`followRegistryForWarmUp`): whether it loaded the tokenizer, and how long it took. */
  onRegistryWarmUp?: (report: RegistryWarmUpReport) => void;
  /**
   * The policy's evidence retention deleted envelopes (at start, then daily), or could not (tried
   * again in `retryInMs`), or ran after such failures (`recoveredAfter`: how many), or deleted
   * nothing because the policy file is invalid (`heldBack`: the reason).
   */
  onRetention?: (outcome: RetentionOutcome) => void;
  /** The background checkpoint worker failed (`BackgroundCheckpointOptions.onFailure`): the store's connection checkpoints from then on. */
  onCheckpointFailure?: (message: string) => void;
  /**
   * A local engine stopped answering or answers again, as routing sees it (`HealthMonitor.onEngineTransition`):
   * once per change. With it, the local engines are also probed every `engineWatchMs` while no
   * request does, so a change is told when it happens rather than at the next request.
   */
  onEngineTransition?: (transition: EngineTransition) => void;
  /**
   * A hosted provider, or one of its models, held out of routes (rate-limited, down) or usable
   * again, as this gateway's routing sees it (`HealthMonitor.onHoldTransition`): once per change.
   */
  onHoldTransition?: (transition: HoldTransition) => void;
  /** Between two probes of the local engines for `onEngineTransition`; default `ENGINE_WATCH_MS`. */
  engineWatchMs?: number;
}

/**
 * How often a gateway told of engine transitions probes its local engines (one `GET …/models` each,
 * as a routed request's probe; skipped while one fresher than the health TTL is at hand).
 */
export const ENGINE_WATCH_MS = 10_000;

/** What `StartGatewayOptions.onRetention` is told. */
export type RetentionOutcome =
  | { result: PruneResult; retentionDays: number }
  | { recoveredAfter: number; result: PruneResult; retentionDays: number }
  | { heldBack: string; retentionDays: number }
  | { error: SyndicateError; retryInMs: number };

/** A running gateway with its core (for metrics and tests). */
export interface StartedGateway extends RunningGateway {
  gateway: Gateway;
  /** The policy it follows; `checkNow()` re-reads an edited file at once (what SIGHUP does). */
  policy: LivePolicy;
  /** The token it accepts, following `gateway.token`; `checkNow()` as for the policy. */
  token: TokenGuard;
  /** The policy's evidence retention; `runNow()` runs what the daily schedule runs. */
  retention: RetentionSchedule;
  /** What was loaded before listening, so the first request is as quick as the next (`warmPipeline`). */
  warmUp: WarmUpReport;
}

/** Loads the policy, permit key and token, builds the core and listens. */
export async function startGateway(options: StartGatewayOptions): Promise<StartedGateway> {
  const token = readGatewayToken(options.home.gatewayTokenPath);
  boundHeapGrowth();
  const pipeline = createPipelineContext(options.home, options.store, options.env);
  // Checked once, against the policy at start: should a later edit drop the tier, requests fail closed to local providers.
  requireTrustTier(pipeline.policy, options.trustTier);
  // Recent first tokens from evidence, read now rather than on the first request.
  pipeline.firstTokens?.(currentProviders(options.store));
  const metrics = new GatewayMetrics({
    spentTodayUsd: () => spentTodayUsd(options.store, new Date()),
    costCeilings: () => currentPolicy(pipeline).policy.cost ?? {},
    heldBack: () => {
      const providers = currentProviders(options.store);
      return [...pipeline.health.holds(providers), ...toolsRefusalsHeld(options.store, providers)];
    },
  });
  // A gateway runs for days: policy edits apply to new requests without a restart.
  let retention: RetentionSchedule | undefined;
  const policy = new LivePolicy(options.home.policyPath, pipeline.policy, {
    onChange: (change) => {
      metrics.recordPolicyReload(change.kind);
      options.onPolicyChange?.(change);
      // A changed retention, or a file fixed after a held-back run, applies now rather than at the
      // next daily run; deferred so the request whose policy read found the edit is not delayed.
      if (change.kind === 'reloaded') setImmediate(() => void retention?.runNow());
    },
  });
  pipeline.livePolicy = policy;
  pipeline.longRunning = true;
  pipeline.storeFile = new StoreFileWatch(options.store.path);
  // Rotating the token (`serve --rotate-token`) must not need a restart to lock the old one out.
  const guard = new TokenGuard(token, { file: options.home.gatewayTokenPath, ...(options.onTokenChange === undefined ? {} : { onChange: options.onTokenChange }) });
  // The MCP server at /mcp: the same tools as `syndicate mcp`, on the gateway's pipeline and trust tier.
  // Loaded on the first /mcp request: the MCP SDK with its schemas is ~15 MB resident (the RSS target
  // is 120 MB), which a gateway serving only the OpenAI, Anthropic and Ollama APIs never needs.
  let mcpEndpoint: Promise<McpHttpEndpoint> | undefined;
  const mcp: McpHttpEndpoint = async (request) => {
    mcpEndpoint ??= import('../mcp/http.js').then(({ mcpHttpEndpoint }) =>
      mcpHttpEndpoint({
        home: options.home,
        store: options.store,
        version: syndicateVersion(),
        pipeline,
        bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
        ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
        ...(options.env === undefined ? {} : { env: options.env }),
        onInvocationEnd: (outcome) => {
          if ('result' in outcome) metrics.recordSuccess('mcp', outcome.result);
          else metrics.recordFailure('mcp', outcome.error);
        },
      }),
    );
    return (await mcpEndpoint)(request);
  };
  const gateway = createGateway({
    pipeline,
    invoke,
    token: guard,
    metrics,
    home: options.home,
    mcp,
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
    ...(options.onInternalError === undefined ? {} : { onInternalError: options.onInternalError }),
    ...(options.onRequestEnd === undefined ? {} : { onRequestEnd: options.onRequestEnd }),
    ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
    ...(options.allowRemote === true && (options.allowedHosts ?? []).length === 0 ? {} : { hostCheck: new HostCheck(options.allowedHosts) }),
  });
  // SQLite's default page cache is 16 MB per connection and fills as the store grows; a 2 KB-page
  // store written at its right edge needs a small fraction of that (the gateway's RSS target is 120 MB).
  options.store.db.pragma(`cache_size = -${GATEWAY_CACHE_KIB}`);
  // A priced model registered later makes routes count prompts: its warm-up runs then, in the
  // background. Following from before the warm-up reads the registry, so no change falls between.
  const registryWarmUp = followRegistryForWarmUp(pipeline, options.onRegistryWarmUp === undefined ? {} : { onWarmUp: options.onRegistryWarmUp });
  let warmUp: WarmUpReport;
  let running: RunningGateway;
  try {
    // Before listening: a client that sees the gateway up gets its first answer as fast as the next.
    warmUp = await warmPipeline(pipeline);
    running = await listenGateway(gateway, options);
  } catch (error) {
    await registryWarmUp.stop();
    throw error;
  }
  // A long-running process: keep SQLite's WAL checkpoints off the request path.
  const checkpoint = startBackgroundCheckpoint(options.store, {
    ...(options.onCheckpointFailure === undefined ? {} : { onFailure: options.onCheckpointFailure }),
  });
  const engineWatch = watchEngines(pipeline.health, options);
  // The policy's evidence retention, at start and then daily, following policy edits; it runs
  // beside the requests (between its batches), so it neither delays listening nor holds requests.
  retention = scheduleRetention(options.store, {
    retentionDays: () => policy.current().policy.evidence.retentionDays,
    // An invalid file keeps requests local (fail closed); for deletion, closed means deleting nothing.
    heldBack: () => policy.current().failure,
    onPrune: (result, retentionDays) => options.onRetention?.({ result, retentionDays }),
    onHeldBack: (heldBack, retentionDays) => options.onRetention?.({ heldBack, retentionDays }),
    onError: (error, retryInMs) => options.onRetention?.({ error, retryInMs }),
    onRecovered: (failures, result, retentionDays) => options.onRetention?.({ recoveredAfter: failures, result, retentionDays }),
  });
  return {
    ...running,
    gateway,
    policy,
    token: guard,
    retention,
    warmUp,
    // Read when asked, not copied at start as the spread above copies the rest.
    get uploading() {
      return running.uploading;
    },
    close: async () => {
      engineWatch.stop();
      await registryWarmUp.stop();
      // A prune under way ends after its batch: the store is closed after this.
      await retention.stop();
      await running.close();
      await checkpoint.stop();
    },
  };
}

/**
 * Tells `onHoldTransition` of each hold of a hosted provider begun or lifted, and `onEngineTransition` of each change of a local engine's health the pipeline's monitor sees,
 * and probes the local engines every `engineWatchMs` so that a change comes out while no request
 * comes in. The timer never keeps the process alive.
 */
function watchEngines(health: PipelineContext['health'], options: StartGatewayOptions): { stop(): void } {
  const unsubscribeHolds = options.onHoldTransition === undefined ? () => undefined : health.onHoldTransition(options.onHoldTransition);
  const listener = options.onEngineTransition;
  if (listener === undefined) return { stop: unsubscribeHolds };
  const unsubscribeEngines = health.onEngineTransition(listener);
  const unsubscribe = (): void => {
    unsubscribeEngines();
    unsubscribeHolds();
  };
  let probing = false;
  const timer = setInterval(() => {
    if (probing) return;
    probing = true;
    const local = currentProviders(options.store).filter((provider) => provider.record.class === 'local' && provider.retiredAt === null);
    void health
      .snapshot(local)
      .catch(() => undefined)
      .finally(() => {
        probing = false;
      });
  }, options.engineWatchMs ?? ENGINE_WATCH_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      unsubscribe();
    },
  };
}

/** The tools refusals in force on the store (any process's), as `/metrics` lists them beside the holds: read when it is scraped. */
function toolsRefusalsHeld(store: Store, providers: readonly RegisteredProvider[]): HeldBackTarget[] {
  const now = Date.now();
  return holdsInForce(store, providers, now)
    .filter((hold) => hold.state === 'tools_refused')
    .map((hold) => ({ provider: hold.provider, ...(hold.model === undefined ? {} : { model: hold.model }), state: 'tools_refused', retryAfterMs: Date.parse(hold.until) - now }));
}
