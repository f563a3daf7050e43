import { closest } from '../common/closest.js';
import { UsageError } from '../errors.js';
import type { Policy } from './types.js';

/**
 * A trust tier named by the operator (`route --trust-tier`, `serve --trust-tier`) must be one the
 * policy defines: otherwise a usage error (exit 2) listing the defined tiers, and the one a
 * misspelt name meant (`code_review` for `code-review`), rather than a route that silently fails
 * closed to local providers and blames the sensitivity map.
 */
export function requireTrustTier(policy: Policy, name: string | undefined): void {
  if (name === undefined || Object.hasOwn(policy.trustTiers, name)) return;
  const defined = Object.keys(policy.trustTiers);
  const meant = closest(name, defined);
  throw new UsageError(`unknown trust tier "${name}"${meant === undefined ? '' : ` (did you mean "${meant}"?)`}`, {
    hint: `use one of: ${defined.join(', ') || '(none defined)'} (trustTiers in policy.yaml; without the option: ${policy.defaultTrustTier})`,
    details: { trustTier: name, defined },
  });
}
