import type { ProviderClass, SensitivityLevel, WorkflowClass } from '../common/vocabulary.js';
import type { EvidenceMarker, TokenAccounting, ToolCallFidelity, VerbatimCapture } from '../evidence/types.js';
import type { PermitKey } from '../permits/index.js';
import type { CurrentPolicy } from '../policy/live.js';
import type { Policy } from '../policy/types.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { HealthMonitor } from '../router/health.js';
import type { ClassifyFunction } from '../router/route-request.js';
import type { Unavailability } from '../router/hints.js';
import type { ColdStartEstimator, FirstTokenHistory, RoutePlan } from '../router/types.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { StoreFileWatch } from '../store/store-file.js';
import type { Store } from '../store/store.js';
import type { TransportTimeouts } from '../transport/transport.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart, Usage, WireWarning } from '../wire/canonical.js';
import type { ModelNaming } from './model-naming.js';

/** What every surface (CLI, gateway, MCP, probes) hands the pipeline besides the request. */
export interface PipelineContext {
  store: Store;
  policy: Policy;
  permitKey: PermitKey;
  health: HealthMonitor;
  /** Where `auth.env` references are resolved, at call time. */
  env: NodeJS.ProcessEnv;
  /**
   * Group commit (long-running processes: the gateway): concurrent requests share batch
   * transactions. Each request writes in turn: the permit (issued and consumed), then — in a later
   * batch, when the transport hands over the request bytes — the pending evidence row with those
   * bytes; the upstream call waits for that commit. A crash between the two batches leaves a
   * consumed permit with no evidence row, and no request sent. Finishes are committed after the
   * answer is returned. Absent (the CLI): the same writes, each its own synchronous transaction.
   */
  commits?: GroupCommitter;
  /**
   * The classifier (the router's `classify` option); absent: the router's own, in place. The
   * gateway's classifies large requests in a worker thread (`classifyLargeOffThread`).
   */
  classify?: ClassifyFunction;
  /** Told about a write that failed after the answer was returned (a group-committed finish). */
  onBackgroundError?: (error: unknown) => void;
  /**
   * Long-running processes: the policy as the operator last saved it (`LivePolicy`), read per
   * request instead of `policy`. Absent (the CLI): `policy`, read once at start.
   */
  livePolicy?: { current(): CurrentPolicy };
  /**
   * Long-running processes (the gateway): a provider found down stays out of later requests for
   * the health TTL, so failure hints say when it is tried again. Absent (the CLI): hints say
   * nothing of this process's TTL — the next run probes a local engine afresh — but give the time
   * left of the holds recorded in the store, which every process honours (this run's own included).
   */
  longRunning?: boolean;
  /**
   * Long-running processes: the store file they opened, followed by its path. A request is refused
   * (store failure) while the file there was removed or replaced: this process's writes would go to
   * a file nothing else reads. Absent (the CLI): a command opens the store it runs on.
   */
  storeFile?: StoreFileWatch;
  /** What loading a cold local model has cost on this host (`coldStartEstimator`, cached per model). */
  coldStarts?: ColdStartEstimator;
  /** Recent first tokens per model from evidence, read once per process (`firstTokenSeed`). */
  firstTokens?: (providers: readonly RegisteredProvider[]) => FirstTokenHistory;
  /** The most of an upstream body received, streamed or not (default the transport's `MAX_RESPONSE_BODY_BYTES`); tests lower it. */
  responseBodyLimitBytes?: number;
  /**
   * Told when a call its caller cancelled (the input's `signal` aborted) has stopped and its attempt
   * is being recorded as cancelled: local work from here (the tokens so far counted, a store write
   * that waits at most the store's busy timeout). The CLI's stop deadline bounds the call stopping,
   * not this: once told, it waits for the command to return.
   */
  onCancelRecording?: () => void;
}

/** A finding as the classifier reports it (the excerpt is already masked). */
export interface ClassificationSummary {
  level: SensitivityLevel;
  failedClosed: boolean;
  findings: { detector: string; level: SensitivityLevel; reason: string; location: string }[];
}

/** The provider an attempt used: the exact registered version. */
export interface AttemptProvider {
  id: string;
  version: number;
  class: ProviderClass;
}

/** What happened to one candidate of the route. */
export interface AttemptReport {
  hop: number;
  provider: AttemptProvider;
  model: string;
  /**
   * The attempt's evidence row. A candidate skipped before any call (its API key is not set) has
   * one too: failed, with no permit and no bytes.
   */
  evidenceId?: string;
  permitId?: string;
  outcome: 'completed' | 'failed' | 'skipped';
  status?: number;
  error?: { code: string; message: string };
  /** A stream cut after its answer started: its tokens up to the cut (approximate), and their cost for a priced model. */
  usage?: Usage;
  costUsd?: number;
}

export interface InvocationInput {
  /** `model` may be `auto`, an alias or model id, or `provider:model`. */
  request: CanonicalRequest;
  /** Who asks: `cli`, `gateway`, `mcp`, `probe`. Recorded in evidence. */
  caller: string;
  kind?: 'invocation' | 'probe';
  trustTier?: string;
  /** Can raise the classified level, never lower it. */
  sensitivityHint?: SensitivityLevel;
  workflow?: WorkflowClass;
  sessionId?: string;
  /** Only this provider may be used (`run --provider`). Every policy rule still applies. */
  provider?: string;
  /** A pre-issued permit (`run --permit`): pins the provider and model it names. */
  permitToken?: string;
  timeouts?: Partial<TransportTimeouts>;
  /**
   * The option that sets the time allowed, as the caller's user types it (`syndicate run
   * --timeout`): when every candidate ran out of it, the hint suggests twice as much with it.
   * Absent (the gateway: its clients cannot set it), the hint asks for fewer tokens.
   */
  timeoutOption?: string;
  /** How the caller's user names a model, for the hint of one nothing serves (`ModelNaming`); absent: the gateway's words. */
  modelNaming?: ModelNaming;
  signal?: AbortSignal;
  /** When the caller received the request, on the `performance.now()` clock (the gateway: its arrival). */
  receivedAt?: number;
  /**
   * Stream parts forwarded as they arrive from the attempt that delivers the answer. Its
   * `stream-end` comes once the answer is complete (also when the upstream sent no terminal
   * marker), after a `usage` part with the local count when the upstream reported no usage.
   */
  onPart?: (part: StreamPart) => void;
  /**
   * Asked after each upstream chunk's parts went to `onPart`: a promise while the consumer cannot
   * take more yet (a gateway client reading slowly), which the stream waits for before it reads
   * on — the upstream is held back rather than the answer piling up in memory. Absent or
   * `undefined`: read on at once.
   */
  whenWritable?: () => Promise<void> | undefined;
  /**
   * Told of each stream part as it arrives, from every attempt, by a caller that shows only the
   * whole answer (the MCP server's progress notifications count its growth): unlike `onPart`,
   * nothing is handed on, so an attempt that breaks mid-answer may still fall back.
   */
  onPartArrived?: (part: StreamPart) => void;
  /** Told when an attempt starts, e.g. to show which provider is being tried. */
  onAttempt?: (attempt: AttemptStarted) => void;
  /**
   * What the caller asked for that no provider will see (request fields the gateway does not
   * interpret): recorded with every attempt's warnings, before the wire adapter's own.
   */
  callerWarnings?: WireWarning[];
}

/** An attempt about to call its provider: where it goes and where its evidence is. */
export interface AttemptStarted {
  hop: number;
  provider: AttemptProvider;
  model: string;
  requestId: string;
  evidenceId: string;
  /** The sensitivity the request was classified (and permitted) at. */
  sensitivity: SensitivityLevel;
  /** What this attempt does not send as asked (the caller's warnings, then the wire adapter's), as its evidence records them. */
  warnings: WireWarning[];
}

export interface InvocationFidelity {
  tokenAccounting: TokenAccounting;
  verbatimCapture: VerbatimCapture;
  toolCallFidelity: ToolCallFidelity;
}

/**
 * A candidate of the fallback walk that was not called: a hold came into force during the walk (the
 * walk's own failure, or another process's), or the hop limit was reached after its provider's
 * failure moved it behind the other providers.
 */
export interface PassedOver {
  provider: string;
  model: string;
  reason: string;
  /** What the hint says of the hold that kept it out. */
  held?: Unavailability;
  /** The variable of its key, not set: it would make no call. */
  missingKey?: string;
}

/** The answer and everything the operator may need to show where it came from. */
export interface InvocationResult {
  requestId: string;
  evidenceId: string;
  permitId: string;
  provider: AttemptProvider;
  model: string;
  response: CanonicalResponse;
  /** Exact when the upstream reported usage, else counted locally (see fidelity). */
  usage: Usage | undefined;
  fidelity: InvocationFidelity;
  markers: EvidenceMarker[];
  warnings: WireWarning[];
  /**
   * `beforeUpstreamMs`: from the request's arrival (`receivedAt`, else the pipeline's start) until
   * the answering attempt's request was handed to the socket — classification, routing, permit,
   * the evidence commit and any failed earlier hops: what syndicate adds before the provider works.
   */
  latency: { firstTokenMs?: number; totalMs: number; beforeUpstreamMs: number };
  costUsd?: number;
  classification: ClassificationSummary;
  route: RoutePlan;
  attempts: AttemptReport[];
  /** Candidates the walk passed over without a call before the answering one (absent when none). */
  passedOver?: PassedOver[];
}
