import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { requireTrustTier } from '../../../src/policy/trust-tiers.js';
import type { Policy, TrustTier } from '../../../src/policy/types.js';

/** What `requireTrustTier` throws for `name`, undefined when it accepts it. */
function refusal(policy: Policy, name: string): unknown {
  try {
    requireTrustTier(policy, name);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('requireTrustTier', () => {
  const policy = defaultPolicy();

  it('accepts no tier (the default applies) and every tier the policy defines', () => {
    expect(() => requireTrustTier(policy, undefined)).not.toThrow();
    for (const name of Object.keys(policy.trustTiers)) expect(() => requireTrustTier(policy, name)).not.toThrow();
  });

  it('refuses any other name, inherited object members included, as a usage error listing the defined tiers', () => {
    for (const name of ['nobody', 'constructor', '__proto__']) {
      const caught = refusal(policy, name);
      expect(caught, name).toBeInstanceOf(UsageError);
      expect(caught).toMatchObject({
        exitCode: 2,
        message: `unknown trust tier "${name}"`,
        hint: 'use one of: operator, agent, untrusted (trustTiers in policy.yaml; without the option: operator)',
      });
    }
  });

  it('names the tier a misspelt or mis-cased name meant, in the message', () => {
    const codeReview: TrustTier = { maxSensitivity: 'internal', allowedClasses: ['local'] };
    const withTeamTier: Policy = { ...policy, trustTiers: { ...policy.trustTiers, 'code-review': codeReview } };
    for (const [name, meant] of [
      ['code_review', 'code-review'],
      ['Operator', 'operator'],
      ['agnet', 'agent'],
    ] as const) {
      const caught = refusal(withTeamTier, name);
      expect(caught, name).toBeInstanceOf(UsageError);
      expect(caught).toMatchObject({
        exitCode: 2,
        message: `unknown trust tier "${name}" (did you mean "${meant}"?)`,
        hint: 'use one of: operator, agent, untrusted, code-review (trustTiers in policy.yaml; without the option: operator)',
      });
    }
  });
});
