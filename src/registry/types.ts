import type {
  CapabilityClass,
  Deviation,
  EngineKind,
  ModelDeviation,
  ModelKind,
  ProviderClass,
  ReasoningEffort,
  Vendor,
  WireFormat,
} from '../common/vocabulary.js';

/** Rates in USD per million tokens, one per kind of token. */
export interface TokenRates {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Input tokens read from the provider's prompt cache; default: `inputPerMTok`. */
  cachedInputPerMTok?: number;
  /** Input tokens written to the prompt cache (Anthropic's 5-minute rate); default: `inputPerMTok`. */
  cacheWriteInputPerMTok?: number;
  /** Input tokens written to the prompt cache for an hour (Anthropic); default: `cacheWriteInputPerMTok`. */
  cacheWrite1hInputPerMTok?: number;
}

/**
 * The rates of a request whose input (cache reads and writes included) exceeds `aboveInputTokens`,
 * for every token of that request, output included.
 */
export interface PriceTier extends TokenRates {
  aboveInputTokens: number;
}

/** List price in USD per million tokens: the base rates, and the tiers of longer inputs in ascending order. */
export interface ModelPrice extends TokenRates {
  tiers?: PriceTier[];
}

/** One model a provider serves, as declared in its record (schemas/provider.v1.schema.json). */
export interface ProviderModel {
  id: string;
  /** `embedding`: answers embeddings requests only; absent or `chat`: chat requests only (`modelKindOf`). */
  kind?: ModelKind;
  contextWindow: number;
  capabilityClass: CapabilityClass;
  vramGb?: number;
  priority?: number;
  tags?: string[];
  price?: ModelPrice;
  aliases?: string[];
  /** The architecture family its engine reports (`llama`, `qwen2`): the Ollama API's `details.family`. */
  family?: string;
  /** Request settings this model refuses although its wire format accepts them; the router leaves it out of requests that send them. */
  deviations?: ModelDeviation[];
  /** The `reasoning_effort` levels the model's server takes (openai wire); see `openAIEffortCarriage`. */
  reasoningEfforts?: ReasoningEffort[];
}

/** Credentials by environment-variable reference only. */
export interface ProviderAuth {
  /** Name of the environment variable holding the key, read at call time. */
  env: string;
  /** Header carrying the key; defaults by wire format (`authorization` bearer / `x-api-key`). */
  header?: string;
}

export interface EngineLaunch {
  command: string;
  args?: string[];
  readyPath: string;
  coldStartSeconds?: number;
}

export interface ProviderEngine {
  kind: EngineKind;
  launch?: EngineLaunch;
  vramBudgetGb?: number;
}

/** The body of a provider YAML file after validation, with defaults applied. */
export interface ProviderRecord {
  apiVersion: 'syndicate/v1';
  kind: 'Provider';
  id: string;
  class: ProviderClass;
  wire: WireFormat;
  /** The vendor whose own API serves `baseUrl` (see `Vendor`); absent for engines and other servers of the wire. */
  vendor?: Vendor;
  baseUrl: string;
  description?: string;
  auth?: ProviderAuth;
  models: ProviderModel[];
  deviations: Deviation[];
  engine?: ProviderEngine;
}

/** One change between two versions of a record. */
export interface ProviderChange {
  /** JSON pointer of the changed field, e.g. `/baseUrl` or `/models/0/contextWindow`. */
  pointer: string;
  before?: unknown;
  after?: unknown;
}

/** An immutable stored version of a provider record. */
export interface ProviderVersion {
  providerId: string;
  version: number;
  contentHash: string;
  record: ProviderRecord;
  sourcePath: string | null;
  /** Why this version exists: `registered`, `changed: /baseUrl`, `discovered deviation ...`. */
  reason: string;
  changes: ProviderChange[];
  createdAt: string;
}

/** A provider with its current version, as the rest of the pipeline sees it. */
export interface RegisteredProvider {
  id: string;
  currentVersion: number;
  retiredAt: string | null;
  record: ProviderRecord;
  contentHash: string;
  /** When its current version was registered (ISO 8601, milliseconds). */
  versionCreatedAt: string;
}

/** What registering one record did. */
export interface RegistrationOutcome {
  id: string;
  /**
   * `registered`: first version; `updated`: content changed, new version; `unchanged`: identical
   * content, nothing written; `reactivated`: the id was retired and is active again as a new version.
   */
  status: 'registered' | 'updated' | 'unchanged' | 'reactivated';
  /** The version now current (the existing one when unchanged). */
  version: number;
  previousVersion: number | null;
  contentHash: string;
  reason: string;
  changes: ProviderChange[];
  sourcePath: string | null;
  /**
   * Deviations the previous version declared because a probe or an invocation discovered them,
   * and which the registered content leaves out (re-registering the original file drops them).
   * Present only when there are some.
   */
  droppedDiscoveries?: DroppedDiscovery[];
}

/** A discovered deviation a registration leaves out: which version added it, and what found it. */
export interface DroppedDiscovery {
  deviation: Deviation;
  /** The version the discovery added it in. */
  addedInVersion: number;
  /** `probe:<name>` or `invocation`. */
  source: string;
  evidenceId: string | null;
}

/** A validated, normalised record ready to be written, with where it came from. */
export interface PreparedProvider {
  record: ProviderRecord;
  /** The file as the operator named it (for messages). */
  file: string;
  /** Absolute path stored with the version; null for records built in code (catalog, discovery, probes). */
  sourcePath: string | null;
}
