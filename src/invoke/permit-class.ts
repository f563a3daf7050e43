import type { SensitivityLevel } from '../common/vocabulary.js';
import { PolicyRefusalError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import type { RegisteredProvider } from '../registry/types.js';
import { classRuleRefusal } from '../router/index.js';
import { hintForExclusions } from '../router/hints.js';

/**
 * The refusal of a permit for a provider whose class the policy never lets receive `level` data:
 * the router would refuse every use of it, so it is refused at issue time with the router's reason
 * and the class rule's hint (exit 4).
 */
export function classRefusal(policy: Policy, provider: RegisteredProvider, modelId: string, level: SensitivityLevel): PolicyRefusalError | undefined {
  const reason = classRuleRefusal(policy, provider.record.class, level);
  if (reason === undefined) return undefined;
  const exclusion = { provider: provider.id, model: modelId, class: provider.record.class, rules: ['class_not_allowed' as const], reasons: [reason] };
  return new PolicyRefusalError('route_denied', `permit refused: ${provider.id}:${modelId} may never receive ${level} data: ${reason}`, {
    hint: hintForExclusions([exclusion]),
    details: { sensitivity: level, excluded: [exclusion] },
  });
}
