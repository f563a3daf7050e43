import { closest } from '../common/closest.js';
import type { Policy } from './types.js';

/**
 * What the policy says of providers no registered provider is — a `fallback.order` id misspelt, or
 * of a provider not registered (yet) — each as a sentence: such an entry changes nothing, and
 * nothing else would tell its author. `providerIds`: every registered provider's id (retired ones too).
 */
export function unknownProviderReferences(policy: Policy, providerIds: readonly string[]): string[] {
  const known = new Set(providerIds);
  return (policy.fallback?.order ?? [])
    .filter((id) => !known.has(id))
    .map((id) => {
      const suggestion = closest(id, providerIds);
      return `fallback.order names "${id}", which no registered provider is${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}: it orders no fallback`;
    });
}
