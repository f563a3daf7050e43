import type { Policy } from './types.js';

/** The user's own indicator words: always kept, whatever the policy file says; a policy may only add words. */
export const DEFAULT_INDICATOR_WORDS: readonly string[] = ['password', 'credential', 'screenshot', 'camera'];

/** Hosted hosts that may be called when the policy file names none. */
export const DEFAULT_EGRESS_HOSTS: readonly string[] = ['api.anthropic.com', 'api.openai.com', 'open.bigmodel.cn'];

/**
 * The built-in policy, used when `policy.yaml` does not exist and as the base every file is
 * merged over. `DEFAULT_POLICY_YAML` (default-policy.ts) writes exactly this, with comments;
 * a unit test keeps the two equal.
 */
export function defaultPolicy(): Policy {
  return {
    apiVersion: 'syndicate/v1',
    kind: 'Policy',
    sensitivity: {
      public: ['local', 'approved_hosted', 'restricted_hosted'],
      internal: ['local', 'approved_hosted'],
      confidential: ['local'],
      restricted: ['local'],
    },
    indicatorWords: [...DEFAULT_INDICATOR_WORDS],
    patterns: [],
    workflows: {
      interactive: { prefer: ['fastest', 'priority'], latencyBudget: { firstTokenMs: 1500 } },
      batch: { prefer: ['cheapest', 'priority'], latencyBudget: {} },
    },
    tasks: [
      {
        name: 'code',
        keywords: ['code', 'function', 'refactor', 'stack trace', 'compile', 'typescript', 'javascript', 'python', 'rust', 'bug', 'unit test'],
        preferTags: ['code'],
      },
    ],
    trustTiers: {
      operator: {
        description: 'the operator at this terminal: every level, every callable class the sensitivity map allows',
        maxSensitivity: 'restricted',
        allowedClasses: ['local', 'approved_hosted', 'restricted_hosted'],
      },
      agent: {
        description: 'agents and tools calling through the gateway or MCP: up to confidential, never restricted_hosted',
        maxSensitivity: 'confidential',
        allowedClasses: ['local', 'approved_hosted'],
      },
      untrusted: {
        description: 'anything unidentified: local models only',
        maxSensitivity: 'internal',
        allowedClasses: ['local'],
      },
    },
    defaultTrustTier: 'operator',
    cost: { perRequestUsd: 1, perDayUsd: 20, defaultOutputTokens: 1024 },
    fallback: { order: [], maxHops: 3 },
    egress: { allowHosts: [...DEFAULT_EGRESS_HOSTS] },
    savings: { referenceModel: 'anthropic:claude-sonnet-5-5', inputPerMTok: 2, outputPerMTok: 10 },
    media: { remoteUrls: { public: 'refuse', internal: 'refuse', confidential: 'refuse', restricted: 'refuse' } },
    evidence: {},
    capabilities: {
      nonstandardToolCalls: 'repair',
      weakJson: 'demote',
      visionTag: 'vision',
      toolsTag: 'tools',
      requireToolsTag: true,
      rules: [],
    },
  };
}
