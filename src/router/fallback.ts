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

/** The calls a request makes, in order, and the candidates the hop limit leaves out. */
export interface AttemptQueue {
  /** The first candidate, then its fallbacks: at most `plan.fallback.maxHops + 1`. */
  attempts: Candidate[];
  /** Fallbacks past `plan.fallback.maxHops`: never tried, never recorded. */
  beyondMaxHops: Candidate[];
}

/**
 * What `run`, the gateway and MCP walk for a plan (and what `route` says they would): the first
 * candidate, then `fallbackCandidates` within `permittedClass`, cut at `plan.fallback.maxHops`.
 */
export function attemptQueue(plan: RoutePlan, permittedClass: ProviderClass): AttemptQueue {
  const first = plan.candidates[0];
  if (first === undefined) return { attempts: [], beyondMaxHops: [] };
  const walk = [first, ...fallbackCandidates(plan, first, permittedClass)];
  const limit = Math.max(0, plan.fallback.maxHops) + 1;
  return { attempts: walk.slice(0, limit), beyondMaxHops: walk.slice(limit) };
}

/**
 * The class a request without a presented permit is permitted for: the widest class its plan
 * allows, and never narrower than `floor` (its first candidate's class).
 */
export function widestClass(classes: readonly ProviderClass[], floor: ProviderClass): ProviderClass {
  return classes.filter((providerClass) => providerClass !== 'blocked').reduce((widest, providerClass) => (exposureRank(providerClass) > exposureRank(widest) ? providerClass : widest), floor);
}
