import { exposureRank, type ProviderClass } from '../common/vocabulary.js';
import type { Candidate, RoutePlan } from './types.js';

/**
 * The candidates still to try after `failed`, for the invoke pipeline's fallback walk: those
 * ranked after it whose class is the same as or stricter (exposure rank <=) than the class the
 * request was permitted for — never a wider one, so a failure can only move data closer to
 * this machine. Providers named in the policy's `fallback.order` come first, in that order;
 * the rest keep route order; candidates whose key is not set stay last, as the route ranks
 * them. The hop limit (`plan.fallback.maxHops`) is the caller's to count.
 */
export function fallbackCandidates(plan: RoutePlan, failed: Candidate, permittedClass: ProviderClass): Candidate[] {
  if (permittedClass === 'blocked') return [];
  const ceiling = exposureRank(permittedClass);
  const remaining = plan.candidates.filter(
    (candidate) =>
      candidate.rank > failed.rank &&
      !(candidate.provider === failed.provider && candidate.model === failed.model) &&
      candidate.class !== 'blocked' &&
      exposureRank(candidate.class) <= ceiling,
  );
  const position = (candidate: Candidate): number => {
    const index = plan.fallback.order.indexOf(candidate.provider);
    return index === -1 ? Number.POSITIVE_INFINITY : index;
  };
  const keyless = (candidate: Candidate): number => (candidate.missingKey === undefined ? 0 : 1);
  return remaining
    .map((candidate, index) => ({ candidate, index }))
    .sort((a, b) => keyless(a.candidate) - keyless(b.candidate) || position(a.candidate) - position(b.candidate) || a.index - b.index)
    .map(({ candidate }) => candidate);
}
