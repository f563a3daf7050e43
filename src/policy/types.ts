import type { CapabilityClass, ProviderClass, SensitivityLevel, WorkflowClass } from '../common/vocabulary.js';
import type { ModelPrice } from '../registry/types.js';

/**
 * The operator's policy (`policy.yaml`, schemas/policy.v1.schema.json) after validation,
 * with defaults applied. Contract shared by the classifier, the router, the gateway and metrics.
 */
export interface Policy {
  apiVersion: 'syndicate/v1';
  kind: 'Policy';
  /** Provider classes allowed to receive each sensitivity level. */
  sensitivity: Record<SensitivityLevel, ProviderClass[]>;
  /** Words that lift a request to at least `confidential` wherever they appear. Always includes the defaults. */
  indicatorWords: string[];
  /** The operator's own patterns ("known sensitive projects"). */
  patterns: OperatorPattern[];
  workflows: Record<WorkflowClass, WorkflowPreference>;
  /** Task routing, e.g. prompts about code prefer models tagged `code`. */
  tasks: TaskRule[];
  trustTiers: Record<string, TrustTier>;
  /** Tier used when the caller names none. */
  defaultTrustTier: string;
  cost: {
    perRequestUsd?: number;
    perDayUsd?: number;
    /**
     * Output tokens assumed for the cost estimate when the request sets no `maxTokens`; also the
     * `max_tokens` a model on the anthropic wire (which requires one) is sent then.
     */
    defaultOutputTokens?: number;
  };
  /** Ordered provider ids to try first when falling back; others follow in route order. */
  fallback: { order: string[]; maxHops: number };
  /** Hosted hostnames that may be called at all. A hosted provider whose host is not here is never called. */
  egress: { allowHosts: string[] };
  /**
   * Reference hosted price used to estimate savings of local tokens: the reference model's list
   * price as a provider record gives it (cache rates and input-length `tiers` included), applied
   * to each local answer as its spend would be (`usageCostUsd`).
   */
  savings: {
    referenceModel: string;
    /**
     * The policy names the reference model without rates of its own: its registered record's price
     * applies (`savingsReference` in metrics); the rates here are the built-in ones, used only when
     * it has none.
     */
    priceFromRegistry?: true;
  } & ModelPrice;
  /** Media a request gives by URL (`media.remoteUrls`): see `RemoteMediaPolicy`. */
  media: RemoteMediaPolicy;
  /** Evidence retention; `retentionDays` absent: kept until `evidence prune` is run by hand. */
  evidence: { retentionDays?: number };
  /** Required-capability rules the router applies (tools, JSON, vision, per-task minimums). */
  capabilities: CapabilityPolicy;
}

/** What may happen to a media URL (not `data:`) the engine receiving it would fetch itself. */
export type RemoteMediaSetting = 'allow' | 'refuse';

/**
 * Media URLs in a request only local providers may receive (its level's classes and the caller's
 * trust tier's): per level, `refuse` leaves every local engine out of the request (a 400 through the
 * gateway) and `allow` lets the engine fetch it. A request some hosted class may receive sends its
 * URLs as it came, whatever this says; `restricted` is always `refuse`.
 */
export interface RemoteMediaPolicy {
  remoteUrls: Record<SensitivityLevel, RemoteMediaSetting>;
}

/** How the router treats requests that need a capability some models lack. */
export interface CapabilityPolicy {
  /**
   * Models whose provider declares `nonstandard_tool_call_serialization` when the request has tools:
   * `repair` keeps them (the openai wire adapter re-serialises object arguments to JSON text),
   * `exclude` drops them.
   */
  nonstandardToolCalls: 'repair' | 'exclude';
  /**
   * Models whose provider declares `weak_json_adherence` when the request asks for JSON:
   * `demote` ranks them after every other candidate, `exclude` drops them. A strict `json_schema`
   * request always excludes them.
   */
  weakJson: 'demote' | 'exclude';
  /** Tag a model must carry to receive image parts. */
  visionTag: string;
  /** Tag that marks a model able to take tool definitions (provider records use `tools`). */
  toolsTag: string;
  /** When true (default), a request with tools only goes to models carrying `toolsTag`. */
  requireToolsTag: boolean;
  /** Extra minimums, e.g. "code tasks need a medium model tagged code". */
  rules: CapabilityRule[];
}

/** A required-capability rule: when every `when` condition holds, every candidate must meet `require`. */
export interface CapabilityRule {
  name: string;
  /** Conditions; an absent condition always holds. */
  when: { task?: string; workflow?: WorkflowClass; tools?: boolean; json?: boolean; vision?: boolean };
  require: { minCapabilityClass?: CapabilityClass; tags?: string[]; minContextWindow?: number };
}

export interface OperatorPattern {
  name: string;
  level: SensitivityLevel;
  /** ECMAScript regular expression source (flags: `i` unless caseSensitive). */
  regex?: string;
  keywords?: string[];
  caseSensitive?: boolean;
}

export interface WorkflowPreference {
  /** Ordered preference: `local`, `hosted`, `cheapest`, `fastest`, `priority`. Policy-driven; nothing is assumed better. */
  prefer: ('local' | 'hosted' | 'cheapest' | 'fastest' | 'priority')[];
  latencyBudget: { firstTokenMs?: number; totalMs?: number };
}

export interface TaskRule {
  name: string;
  /** Words in the prompt that mark the task. */
  keywords: string[];
  /** Model tags preferred for it, e.g. `code`. */
  preferTags: string[];
}

export interface TrustTier {
  description?: string;
  /** Highest sensitivity this caller may send at all. */
  maxSensitivity: SensitivityLevel;
  /** Provider classes this caller may use. */
  allowedClasses: ProviderClass[];
}
