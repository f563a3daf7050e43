import type { ProviderClass, SensitivityLevel, WorkflowClass } from '../common/vocabulary.js';

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
  cost: { perRequestUsd?: number; perDayUsd?: number };
  /** Ordered provider ids to try first when falling back; others follow in route order. */
  fallback: { order: string[]; maxHops: number };
  /** Hosted hostnames that may be called at all. A hosted provider whose host is not here is never called. */
  egress: { allowHosts: string[] };
  /** Reference hosted price used to estimate savings of local tokens. */
  savings: { referenceModel: string; inputPerMTok: number; outputPerMTok: number };
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
  /** Highest sensitivity this caller may send at all. */
  maxSensitivity: SensitivityLevel;
  /** Provider classes this caller may use. */
  allowedClasses: ProviderClass[];
}
