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

/** The calls a request makes, in order, the candidates it passes over for their unset key, and those the hop limit leaves out. */
export interface AttemptQueue {
  /** The first candidate, then its fallbacks: at most `plan.fallback.maxHops + 1`. */
  attempts: Candidate[];
  /** Candidates after the first whose key is not set, reached within the hop limit: not called (`not called: no key: set VAR`), no hop used. */
  passedOver: Candidate[];
  /** Fallbacks past `plan.fallback.maxHops`: never tried, never recorded. */
  beyondMaxHops: Candidate[];
}

/**
 * What `run`, the gateway and MCP walk for a plan when every call fails (and what `route` says
 * they would): the first candidate, then `fallbackCandidates` within `permittedClass`, cut once
 * `plan.fallback.maxHops` fallbacks were called. A candidate after the first whose key is not set
 * is passed over without using a hop, as the invoke pipeline's walk does — as long as no failure
 * in the walk holds a candidate back or defers a provider (`deferProvider`).
 */
export function attemptQueue(plan: RoutePlan, permittedClass: ProviderClass): AttemptQueue {
  const walk = fallbackWalk(plan, permittedClass);
  const limit = Math.max(0, plan.fallback.maxHops) + 1;
  const queue: AttemptQueue = { attempts: [], passedOver: [], beyondMaxHops: [] };
  for (const [index, candidate] of walk.entries()) {
    if (queue.attempts.length >= limit) return { ...queue, beyondMaxHops: walk.slice(index) };
    if (queue.attempts.length > 0 && candidate.missingKey !== undefined) queue.passedOver.push(candidate);
    else queue.attempts.push(candidate);
  }
  return queue;
}

/**
 * `attemptQueue` when every call fails in a way that counts against its whole provider (a 5xx that
 * names no model, a reset, nothing answering: the usual failures of a local engine): after each
 * call its provider's other models move behind the other providers (`deferProvider`), as the
 * invoke pipeline's walk moves them. What `route --explain` says beside the plain order when the
 * two differ.
 */
export function attemptQueueAfterProviderFailures(plan: RoutePlan, permittedClass: ProviderClass): AttemptQueue {
  let walk = fallbackWalk(plan, permittedClass);
  const limit = Math.max(0, plan.fallback.maxHops) + 1;
  const queue: AttemptQueue = { attempts: [], passedOver: [], beyondMaxHops: [] };
  const deferred = new Set<string>();
  for (let index = 0; index < walk.length; index += 1) {
    const candidate = walk[index] as Candidate;
    if (queue.attempts.length >= limit) return { ...queue, beyondMaxHops: walk.slice(index) };
    if (queue.attempts.length > 0 && candidate.missingKey !== undefined) {
      queue.passedOver.push(candidate);
      continue;
    }
    queue.attempts.push(candidate);
    if (!deferred.has(candidate.provider)) {
      deferred.add(candidate.provider);
      walk = deferProvider(walk, index + 1, candidate.provider);
    }
  }
  return queue;
}

/**
 * The candidates a walk may call, in the order `attemptQueue` gives them, with no hop limit: the
 * invoke pipeline walks this and counts the hops itself, for a candidate a hold keeps out (one
 * that came into force during the walk) is passed over without using one (`deferProvider`).
 */
export function fallbackWalk(plan: RoutePlan, permittedClass: ProviderClass): Candidate[] {
  const first = plan.candidates[0];
  return first === undefined ? [] : [first, ...fallbackCandidates(plan, first, permittedClass)];
}

/**
 * The walk after a failure at `walk[from - 1]` that counted against the whole `provider` (a 5xx
 * or a reset that names no model, nothing answering): that provider's candidates still to come
 * move behind every other candidate that can be called — before those whose key is not set,
 * which stay last — in their order. The same candidates, so the class rule stands; a sibling is
 * still called when the hops allow after the others, and not at all once a hold keeps it out.
 */
export function deferProvider(walk: readonly Candidate[], from: number, provider: string): Candidate[] {
  const done = walk.slice(0, from);
  const rest = walk.slice(from);
  const keyed = rest.filter((candidate) => candidate.missingKey === undefined);
  return [
    ...done,
    ...keyed.filter((candidate) => candidate.provider !== provider),
    ...keyed.filter((candidate) => candidate.provider === provider),
    ...rest.filter((candidate) => candidate.missingKey !== undefined),
  ];
}

/**
 * The class a request without a presented permit is permitted for: the widest class its plan
 * allows, and never narrower than `floor` (its first candidate's class).
 */
export function widestClass(classes: readonly ProviderClass[], floor: ProviderClass): ProviderClass {
  return classes.filter((providerClass) => providerClass !== 'blocked').reduce((widest, providerClass) => (exposureRank(providerClass) > exposureRank(widest) ? providerClass : widest), floor);
}
