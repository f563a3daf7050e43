import { describe, expect, it } from 'vitest';
import { attemptQueue, attemptQueueAfterProviderFailures, deferProvider, fallbackCandidates, fallbackWalk } from '../../../src/router/fallback.js';
import type { Candidate, RoutePlan } from '../../../src/router/types.js';

function candidate(rank: number, provider: string, providerClass: Candidate['class']): Candidate {
  return { provider, version: 1, class: providerClass, model: `${provider}-model`, rank, reasons: [], estimatedCostUsd: 0 };
}

function plan(candidates: Candidate[], order: string[] = []): RoutePlan {
  return {
    candidates,
    excluded: [],
    allowedClasses: ['local', 'approved_hosted', 'restricted_hosted'],
    sensitivity: 'public',
    workflow: 'batch',
    trustTier: 'operator',
    tasks: [],
    fallback: { order, maxHops: 3 },
    failedClosed: false,
    notes: [],
    policyDigest: `sha256:${'0'.repeat(64)}`,
    explanation: '',
  };
}

const glm = candidate(1, 'glm', 'restricted_hosted');
const anthropic = candidate(2, 'anthropic', 'approved_hosted');
const ollama = candidate(3, 'ollama', 'local');
const openai = candidate(4, 'openai', 'approved_hosted');
const llamacpp = candidate(5, 'llamacpp', 'local');
const all = plan([glm, anthropic, ollama, openai, llamacpp]);

const names = (candidates: Candidate[]): string[] => candidates.map((item) => item.provider);

describe('fallbackCandidates', () => {
  it('a request permitted for restricted_hosted may fall back to any class ranked after the failure', () => {
    expect(names(fallbackCandidates(all, glm, 'restricted_hosted'))).toEqual(['anthropic', 'ollama', 'openai', 'llamacpp']);
  });

  it('a request permitted for approved_hosted never moves to restricted_hosted', () => {
    const first = candidate(1, 'anthropic', 'approved_hosted');
    const withWider = plan([first, candidate(2, 'zhipu', 'restricted_hosted'), candidate(3, 'openai', 'approved_hosted'), candidate(4, 'ollama', 'local')]);
    expect(names(fallbackCandidates(withWider, first, 'approved_hosted'))).toEqual(['openai', 'ollama']);
  });

  it('a request permitted for local only stays local', () => {
    expect(names(fallbackCandidates(all, anthropic, 'local'))).toEqual(['ollama', 'llamacpp']);
    expect(names(fallbackCandidates(all, ollama, 'local'))).toEqual(['llamacpp']);
  });

  it('never returns the failed candidate or anything ranked before it', () => {
    expect(names(fallbackCandidates(all, openai, 'restricted_hosted'))).toEqual(['llamacpp']);
    expect(fallbackCandidates(all, llamacpp, 'restricted_hosted')).toEqual([]);
  });

  it('puts the policy fallback order first, then route order', () => {
    const ordered = plan(all.candidates, ['llamacpp', 'openai']);
    expect(names(fallbackCandidates(ordered, glm, 'restricted_hosted'))).toEqual(['llamacpp', 'openai', 'anthropic', 'ollama']);
  });

  it('a candidate whose key is not set stays last, even when the fallback order names it', () => {
    const keyless: Candidate = { ...candidate(5, 'keyless', 'approved_hosted'), missingKey: 'KEYLESS_API_KEY' };
    const ordered = plan([glm, anthropic, ollama, openai, keyless], ['keyless', 'openai']);
    expect(names(fallbackCandidates(ordered, glm, 'restricted_hosted'))).toEqual(['openai', 'anthropic', 'ollama', 'keyless']);
  });

  it('nothing is permitted for a blocked class', () => {
    expect(fallbackCandidates(all, glm, 'blocked')).toEqual([]);
  });
});

describe('attemptQueue', () => {
  it('the first candidate and its fallbacks up to fallback.maxHops; the rest, keyless ones last, are beyond it', () => {
    const keyless: Candidate = { ...candidate(2, 'keyless', 'approved_hosted'), missingKey: 'KEYLESS_API_KEY' };
    const withKeyless = { ...plan([glm, keyless, anthropic, ollama]), fallback: { order: [], maxHops: 1 } };
    const queue = attemptQueue(withKeyless, 'restricted_hosted');
    expect(names(queue.attempts)).toEqual(['glm', 'anthropic']);
    expect(names(queue.beyondMaxHops)).toEqual(['ollama', 'keyless']);
    expect(queue.passedOver).toEqual([]);
    expect(attemptQueue(plan([]), 'local')).toEqual({ attempts: [], passedOver: [], beyondMaxHops: [] });
  });

  it('a keyless candidate after the first attempt is passed over without using a hop, as run passes it over', () => {
    const keylessA: Candidate = { ...candidate(2, 'keyless-a', 'approved_hosted'), missingKey: 'KEY_A' };
    const keylessB: Candidate = { ...candidate(3, 'keyless-b', 'approved_hosted'), missingKey: 'KEY_B' };
    // One call (maxHops 1 allows two): both keyless ones are reached, neither takes a hop, none is beyond.
    const queue = attemptQueue({ ...plan([{ ...ollama, rank: 1 }, keylessA, keylessB]), fallback: { order: [], maxHops: 1 } }, 'restricted_hosted');
    expect(names(queue.attempts)).toEqual(['ollama']);
    expect(names(queue.passedOver)).toEqual(['keyless-a', 'keyless-b']);
    expect(queue.beyondMaxHops).toEqual([]);
    // Three callable ones use every hop of maxHops 2 but leave one of maxHops 3: the keyless one is reached then, and only then.
    const four = attemptQueue({ ...plan([glm, anthropic, ollama, { ...keylessA, rank: 4 }]), fallback: { order: [], maxHops: 3 } }, 'restricted_hosted');
    expect([names(four.attempts), names(four.passedOver), names(four.beyondMaxHops)]).toEqual([['glm', 'anthropic', 'ollama'], ['keyless-a'], []]);
    const cut = attemptQueue({ ...plan([glm, anthropic, ollama, { ...keylessA, rank: 4 }]), fallback: { order: [], maxHops: 2 } }, 'restricted_hosted');
    expect([names(cut.attempts), names(cut.passedOver), names(cut.beyondMaxHops)]).toEqual([['glm', 'anthropic', 'ollama'], [], ['keyless-a']]);
    // Every keyless: the first is the attempt (run records it skipped), the rest passed over; with maxHops 0 the rest are beyond.
    const allKeyless = plan([{ ...keylessA, rank: 1 }, keylessB]);
    expect(names(attemptQueue(allKeyless, 'restricted_hosted').passedOver)).toEqual(['keyless-b']);
    expect(names(attemptQueue({ ...allKeyless, fallback: { order: [], maxHops: 0 } }, 'restricted_hosted').beyondMaxHops)).toEqual(['keyless-b']);
  });
});


describe('deferProvider', () => {
  const model = (rank: number, provider: string, id: string, providerClass: Candidate['class'] = 'approved_hosted', missingKey?: string): Candidate => ({
    ...candidate(rank, provider, providerClass),
    model: id,
    ...(missingKey === undefined ? {} : { missingKey }),
  });
  const opus = model(1, 'anthropic', 'opus');
  const sonnet = model(2, 'anthropic', 'sonnet');
  const haiku = model(3, 'anthropic', 'haiku');
  const gpt = model(4, 'openai', 'gpt');
  const local = model(5, 'ollama', 'llama', 'local');
  const glm = model(6, 'glm', 'glm-4', 'restricted_hosted', 'ZAI_API_KEY');
  const ids = (candidates: Candidate[]): string[] => candidates.map((item) => `${item.provider}:${item.model}`);

  it("moves the failed provider's other models behind every other candidate that can be called, before the keyless", () => {
    const walk = fallbackWalk(plan([opus, sonnet, haiku, gpt, local, glm]), 'restricted_hosted');
    expect(ids(walk)).toEqual(['anthropic:opus', 'anthropic:sonnet', 'anthropic:haiku', 'openai:gpt', 'ollama:llama', 'glm:glm-4']);
    expect(ids(deferProvider(walk, 1, 'anthropic'))).toEqual(['anthropic:opus', 'openai:gpt', 'ollama:llama', 'anthropic:sonnet', 'anthropic:haiku', 'glm:glm-4']);
  });

  it('keeps what was walked already and changes nothing when the provider has no candidate left', () => {
    const walk = [opus, gpt, sonnet, local];
    expect(ids(deferProvider(walk, 2, 'openai'))).toEqual(ids(walk));
    expect(ids(deferProvider(walk, 2, 'anthropic'))).toEqual(['anthropic:opus', 'openai:gpt', 'ollama:llama', 'anthropic:sonnet']);
  });

  it('never adds a candidate: the class rule of the walk it reorders stands', () => {
    const walk = fallbackWalk(plan([opus, sonnet, gpt, local, glm]), 'approved_hosted');
    expect(ids(walk)).not.toContain('glm:glm-4');
    expect(ids(deferProvider(walk, 1, 'anthropic')).sort()).toEqual(ids(walk).sort());
  });
});

describe('attemptQueueAfterProviderFailures', () => {
  const model = (rank: number, provider: string, name: string, missingKey?: string): Candidate => ({ ...candidate(rank, provider, provider === 'ollama' ? 'local' : 'approved_hosted'), model: name, ...(missingKey === undefined ? {} : { missingKey }) });

  it('moves each failed provider\'s other models behind the other providers, as the pipeline walk does, within maxHops', () => {
    const walked = plan([model(1, 'ollama', 'a'), model(2, 'ollama', 'b'), model(3, 'openai', 'c'), model(4, 'openai', 'd'), model(5, 'anthropic', 'e')]);
    const queue = attemptQueueAfterProviderFailures(walked, 'restricted_hosted');
    expect(queue.attempts.map((item) => item.model)).toEqual(['a', 'c', 'e', 'b']);
    expect(queue.beyondMaxHops.map((item) => item.model)).toEqual(['d']);
    expect(attemptQueue(walked, 'restricted_hosted').attempts.map((item) => item.model)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('passes over a keyless candidate without a hop and leaves it last', () => {
    const walked = plan([model(1, 'ollama', 'a'), model(2, 'ollama', 'b'), model(3, 'anthropic', 'e', 'ANTHROPIC_API_KEY')]);
    const queue = attemptQueueAfterProviderFailures(walked, 'restricted_hosted');
    expect(queue.attempts.map((item) => item.model)).toEqual(['a', 'b']);
    expect(queue.passedOver.map((item) => item.model)).toEqual(['e']);
  });
});
