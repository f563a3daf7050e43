import type { CapabilityClass, ProviderClass, SensitivityLevel, WorkflowClass } from '../common/vocabulary.js';
import type { Policy } from '../policy/types.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { CanonicalRequest } from '../wire/canonical.js';
import type { MediaHostResolutions } from './remote-media.js';

/** What the router is asked to place. */
export interface RouteInput {
  /** `model` may be `auto`, an alias or model id, or `provider:model`. */
  request: CanonicalRequest;
  /**
   * The URLs of the request's images given by reference (`remoteMediaUrls(request)`), collected
   * once by `routeRequest`, which looks up their hosts (`mediaHosts`) before it plans.
   */
  mediaUrls: readonly string[];
  /** The classifier's verdict (after any caller hint). */
  sensitivity: SensitivityLevel;
  workflow: WorkflowClass;
  /** The caller's trust tier; the policy's default tier when absent. */
  trustTier?: string;
  /** Only this provider may be used (e.g. `run --provider`). Every other rule still applies. */
  explicitProvider?: string;
  estimatedPromptTokens: number;
  /**
   * True when the tokenizer stopped counting once the prompt outgrew every model's window
   * (`routeRequest`): the prompt holds at least `estimatedPromptTokens`, more than any window.
   */
  promptTokensAtLeast?: boolean;
  /**
   * An embeddings request's inputs in tokens, one estimate each (`estimateEmbeddingInputs`): a
   * model whose window cannot hold the longest is excluded (`context_length`), unless the request
   * lets an Ollama engine truncate (`EmbeddingRequest.truncate`). Absent: no input is checked.
   */
  embeddingInputTokens?: readonly number[];
  /**
   * The capability envelope of the stored session the request names: models above its approved
   * class are excluded (`session_envelope`), whoever sends the request.
   */
  sessionEnvelope?: { sessionId: string; maxCapability: CapabilityClass };
  /** Output tokens asked for; falls back to `request.maxTokens`, then the policy's assumption for cost. */
  maxTokens?: number;
  /**
   * What each host name of the request's media URLs resolved to (`resolveMediaHosts`, looked up by
   * `routeRequest`): a name resolving into this host's networks, or one absent or unresolved here,
   * is refused (`remote_media`).
   */
  mediaHosts?: MediaHostResolutions;
  now?: Date;
}

/**
 * Availability of one provider as last observed. Absent from the snapshot means unknown.
 * `rate_limited`: it answered 429 and is held back for as long as it asked (`retryAfterMs`).
 */
export interface ProviderHealth {
  state: 'up' | 'down' | 'rate_limited';
  /** ISO time of the observation (of the 429, when rate-limited). */
  checkedAt: string;
  /** Why it is down or rate-limited, e.g. `connection refused (is the engine running?)`. */
  reason?: string;
  /**
   * Why it is down: nothing answered (`unreachable`, the default), its calls kept failing
   * (`failing`), or — a model only — its provider says it does not exist (`not_found`) or that it
   * serves no embeddings (`embeddings_not_enabled`: llama-server without `--embeddings`).
   */
  cause?: 'unreachable' | 'failing' | 'not_found' | 'embeddings_not_enabled';
  /**
   * The HTTP status of the answer that put it down, when it answered: its probe's (a 401 for want of
   * its key, a 503 while it loads), or the last of the calls that kept failing (a hosted 401).
   */
  status?: number;
  /** Down for failing calls, the last of which had its connection reset (before or during the answer) rather than an HTTP error. */
  connectionReset?: true;
  /** How long from the snapshot until it may be used again (rate-limited) or is probed or tried again (down). */
  retryAfterMs?: number;
  /** Round trip of the health probe, for local engines. */
  probeMs?: number;
}

/** Provider id -> health. Pure data so plans can be computed and tested without I/O. */
export type HealthSnapshot = Readonly<Record<string, ProviderHealth>>;

/**
 * Provider id -> model id -> the health of a model held back on its own (`HealthMonitor.modelSnapshot`):
 * rate-limited (429), not served (`down`, cause `not_found`) or overloaded (`down`, cause `failing`),
 * while the provider's other models stay routable. Models absent here: nothing held against them.
 */
export type ModelHealthSnapshot = Readonly<Record<string, Readonly<Record<string, ProviderHealth>>>>;

/**
 * Provider id -> model id -> since when and how its engine refused a request's tools, in this process
 * or another on the store (`HealthMonitor.toolsRefusalSnapshot`): requests with tools are routed past it, others are not.
 */
export type ToolsRefusalSnapshot = Readonly<Record<string, Readonly<Record<string, { reason: string; since: string }>>>>;

/** Provider id -> ids of the models resident (loaded) right now. A provider absent here: unknown. */
export type WarmSnapshot = Readonly<Record<string, readonly string[]>>;

/**
 * Provider id -> model id -> the context (tokens) its engine loaded it with, when the engine says
 * (`HealthMonitor.loadedContextSnapshot`). Smaller than the record's `contextWindow`, it is the window
 * the router fits the prompt to. A model absent here: the record's window.
 */
export type LoadedContextSnapshot = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** Provider id -> ids of the models a call of this process is using right now (`HealthMonitor.callStarted`). */
export type InUseSnapshot = Readonly<Record<string, readonly string[]>>;

/**
 * Provider id -> model id -> the time to first token of that model's last answer in this process
 * (`HealthMonitor.firstTokenSnapshot`), in ms. Per model, as evidence seeds it (`FirstTokenHistory`):
 * a 1B and a 70B model of one engine answer at very different speeds.
 */
export type LiveFirstTokens = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** What loading a model costs on this host, and how that is known. */
export interface ColdStartEstimate {
  ms: number;
  /** `recorded`: an engine timed its loads (engine_events); `observed`: cold answers' first token minus warm ones'. */
  source: 'recorded' | 'observed';
}

/** The router's question: how long would this model take to load if it is not loaded now? */
export type ColdStartEstimator = (providerId: string, model: string) => ColdStartEstimate | undefined;

/** What recent evidence says of one model's time to first token (`recentFirstTokens`). */
export interface RecentFirstTokens {
  /** Median first token of its recent answers, cold local ones left out (their load is counted apart); undefined when none. */
  medianMs: number | undefined;
  /** The answers that median is of. */
  answers: number;
  /** Its recent calls (answers and failures) read. */
  calls: number;
  /** How many of those failed. */
  failures: number;
}

/** The router's question: what has this model's first token taken lately? Undefined when it made no call in the window. */
export type FirstTokenHistory = (providerId: string, model: string) => RecentFirstTokens | undefined;

export interface RouteContext {
  policy: Policy;
  providers: RegisteredProvider[];
  health: HealthSnapshot;
  /** Models held back on their own (a 429 of that model, a model the provider does not serve): only those are excluded. */
  modelHealth?: ModelHealthSnapshot;
  /** Models whose engine refused a request's tools, in this process or another on the store: excluded from requests with tools only. */
  toolsRefused?: ToolsRefusalSnapshot;
  warm?: WarmSnapshot;
  /** The context each resident local model was loaded with, when its engine says (`LoadedContextSnapshot`). */
  loadedContext?: LoadedContextSnapshot;
  /** Models a call of this process is using now: a cold model's hot-swap never evicts them (a stream would be cut, or the load wait for it). */
  inUse?: InUseSnapshot;
  /** Spend so far in the current UTC day, for the per-day ceiling. */
  spentTodayUsd?: number | (() => number);
  /** What loading a model has cost on this host (`coldStartEstimator`); undefined when never seen. */
  coldStartMs?: ColdStartEstimator;
  /** What this process observed itself, per provider:model: a model's expected first token when known. */
  liveFirstTokens?: LiveFirstTokens;
  /**
   * Recent first tokens per model from evidence (`recentFirstTokens`): the expected first token
   * of a model this process has observed no answer from (a CLI command, a gateway's first requests).
   */
  firstTokens?: FirstTokenHistory;
  /** The policy in force could not be refreshed (its file is invalid): plan local providers only, and say why. */
  policyFailure?: string;
  /**
   * Where `auth.env` references are resolved: a candidate whose key is unset here cannot be
   * called, so it ranks after every candidate that can (it stays in the plan, so with nothing
   * else left the failure names the variable). Absent: keys are not checked.
   */
  env?: NodeJS.ProcessEnv;
}

/** One provider:model the request may be sent to, in rank order. */
export interface Candidate {
  provider: string;
  version: number;
  class: ProviderClass;
  /** The upstream model id (aliases already resolved). */
  model: string;
  /** 1-based position in the plan. */
  rank: number;
  /** Why it is in and why it sits where it does. */
  reasons: string[];
  estimatedCostUsd: number;
  /** Known or estimated time to first token; absent when nothing is known. */
  expectedFirstTokenMs?: number;
  /** Local engines that say what they hold (Ollama's /api/ps): whether the model was loaded when planned. */
  warm?: boolean;
  /**
   * Set when the model's context window holds the prompt but not the requested max output: the
   * max output tokens this candidate is sent instead (what the window leaves after the prompt).
   */
  loweredMaxTokens?: number;
  /**
   * Set when the request asks for no max output: the output assumed for it (the policy's
   * `cost.defaultOutputTokens`, or what the window leaves after the prompt when that is less),
   * which a wire that requires a max output (anthropic) is sent.
   */
  defaultMaxTokens?: number;
  /** The environment variable its key is read from, when unset (`RouteContext.env`): ranked last, skipped when reached. */
  missingKey?: string;
  /** Cold on an engine with a VRAM budget that has no room: the lower-ranked models the pipeline unloads before calling it. */
  evicts?: string[];
}

/** Stable identifiers of the rules that can exclude a candidate. */
export type ExclusionRule =
  | 'blocked'
  | 'retired'
  | 'class_not_allowed'
  | 'trust_tier'
  | 'egress_denied'
  | 'not_loopback'
  | 'unhealthy'
  | 'rate_limited'
  | 'tools'
  /** The request has tools and the model's engine refused a request's tools earlier, in this process or another (`HealthMonitor.reportToolsRefused`). */
  | 'tools_refused'
  /** The request has a turn with no content and the provider speaks the anthropic wire, which refuses one (`anthropicUnsendableTurn`). */
  | 'empty_content'
  /** The request has no message besides its system prompt and the provider speaks the anthropic wire, which needs one (`anthropicSendsNoMessage`). */
  | 'no_messages'
  /** The request gives an image by URL and the engine takes inline data only (Ollama). */
  | 'image_url'
  /**
   * The request gives media by a URL (not `data:`) that the engine would fetch over the network, and
   * only local providers may receive it: egress the policy does not allow (`media.remoteUrls`).
   */
  | 'remote_media'
  /** The request forces a tool and the model declares `forced_tool_choice_unsupported`. */
  | 'tool_choice'
  /** The request turns extended thinking off (or budgets it by hand) and the model declares `thinking_always_on`. */
  | 'thinking'
  /** The request asks for reasoning (an effort, or Anthropic thinking) and the model's server refuses it (`openAIEffortCarriage`: an OpenAI model not tagged reasoning). */
  | 'reasoning'
  | 'json'
  | 'vision'
  | 'context_length'
  | 'capability_rule'
  | 'session_envelope'
  | 'cost_per_request'
  | 'cost_per_day'
  | 'price_unknown'
  | 'latency_budget'
  | 'engine_budget'
  | 'fail_closed'
  /** A chat request and an embedding model, or an embeddings request and a chat model (or the anthropic wire). */
  | 'model_kind'
  /** An embeddings request of token ids to an engine that takes text only (Ollama). */
  | 'token_input'
  /**
   * A text completion (`POST /v1/completions`) and a model that cannot take it: not on the openai
   * wire (no other wire has a completions endpoint, and none is translated), not tagged
   * `completions`, or given a `suffix` and not tagged `fill-in-middle`.
   */
  | 'completions';

export interface Exclusion {
  provider: string;
  model: string;
  class: ProviderClass;
  rules: ExclusionRule[];
  reasons: string[];
  /** Excluded for a rate limit: seconds until the provider (or, with `heldModel`, the model) may be used again. */
  retryAfterSeconds?: number;
  /**
   * Excluded as down (`unhealthy`): whether nothing answered, its calls kept failing, or (a model)
   * its provider does not serve it, and in how many seconds it is tried again.
   */
  unavailable?: { cause: 'unreachable' | 'failing' | 'not_found' | 'embeddings_not_enabled'; status?: number; connectionReset?: true; retryInSeconds?: number };
  /** The rate limit or unavailability above holds back this model alone: the provider's other models stay routable. */
  heldModel?: true;
}

/** One reason a request has its sensitivity: a detector's reason and where it matched (never the matched text). */
export interface LevelSource {
  /** The detector (`operator.pattern`, `pii.email`, …), or `caller` for a sensitivity the caller asked for. */
  detector: string;
  reason: string;
  /** The request parts it matched in (`messages[0].content[0]`, …). */
  locations: string[];
}

/** The router's answer: who may take the request, in what order, who may not and why. */
export interface RoutePlan {
  candidates: Candidate[];
  excluded: Exclusion[];
  /** Classes the request may reach: the sensitivity map intersected with the trust tier. */
  allowedClasses: ProviderClass[];
  sensitivity: SensitivityLevel;
  workflow: WorkflowClass;
  trustTier: string;
  /** Task rules whose keywords matched the prompt. */
  tasks: string[];
  /** Provider ids tried first on fallback, and the most hops after the first attempt. */
  fallback: { order: string[]; maxHops: number };
  /** True when planning hit an error or a missing policy piece and fell back to local only. */
  failedClosed: boolean;
  /**
   * Why every non-local provider was left out unexamined (`fail_closed`): the policy in force could
   * not be used (a running gateway's file invalid, unreadable or untrusted) or planning hit an
   * error. Absent otherwise. Also the first of `notes`.
   */
  failure?: string;
  /** What the planner had to decide around: why it failed closed, a relaxed latency budget, an ignored policy entry. */
  notes: string[];
  /** The effective policy that planned it (`policyDigest`): `sha256:<hex>`, as `policy show` prints it. */
  policyDigest: string;
  /**
   * What set `sensitivity` (`levelSources`): the detectors whose findings are at that level, or
   * the caller's hint; empty when nothing raised it. Set by `routeRequest`, which classifies.
   */
  levelSources?: LevelSource[];
  /** Human-readable, multi-line. */
  explanation: string;
}
