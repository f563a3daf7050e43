import { describe, expect, it } from 'vitest';
import { classifyRequest } from '../../../src/classify/index.js';
import { routeRefusal } from '../../../src/invoke/route-refusal.js';
import type { Exclusion, ExclusionRule, RoutePlan } from '../../../src/router/types.js';
import { canonicalRequest } from '../../../src/wire/canonical.js';

function exclusion(provider: string, model: string, rule: ExclusionRule, reason: string): Exclusion {
  return { provider, model, class: 'approved_hosted', rules: [rule], reasons: [reason] };
}

/** A plan without candidates, of a request of `level`, that left out `excluded`. */
function planOf(excluded: Exclusion[], level: RoutePlan['sensitivity']): RoutePlan {
  return {
    candidates: [],
    excluded,
    allowedClasses: ['local'],
    sensitivity: level,
    workflow: 'interactive',
    trustTier: 'operator',
    tasks: [],
    fallback: { order: [], maxHops: 3 },
    failedClosed: false,
    notes: [],
    policyDigest: `sha256:${'0'.repeat(64)}`,
    explanation: '',
  };
}

function refusalOf(excluded: Exclusion[]): ReturnType<typeof routeRefusal> {
  const request = canonicalRequest('auto', [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }], false, {});
  return routeRefusal(planOf(excluded, 'restricted'), request, { level: 'restricted', findings: [] }, { providers: [], planUnpinned: () => undefined });
}

describe('routeRefusal: the message of a refusal', () => {
  it('lists each model left out, with its reasons, when there are five or fewer', () => {
    const excluded = Array.from({ length: 5 }, (_, index) => exclusion('cloud', `m${index}`, 'class_not_allowed', 'class approved_hosted may not receive restricted data'));
    expect(refusalOf(excluded).message).toBe(
      `no provider may receive this restricted request: ${excluded.map((entry) => `cloud:${entry.model}: class approved_hosted may not receive restricted data`).join(' | ')}`,
    );
  });

  it('beyond five: the count, the three rules that left out the most (each with its first model and how many more), the rest counted; details keep all', () => {
    const excluded = [
      ...Array.from({ length: 10 }, (_, index) => exclusion('cloud', `c${index}`, 'class_not_allowed', 'class approved_hosted may not receive restricted data')),
      exclusion('ollama', 'embed', 'model_kind', 'an embedding model'),
      ...Array.from({ length: 4 }, (_, index) => exclusion('llama', `l${index}`, 'unhealthy', 'down')),
      exclusion('vllm', 'v', 'egress_denied', 'host not on the egress list'),
      exclusion('lms', 'x', 'tools', 'not tagged tools'),
      exclusion('lms', 'y', 'tools', 'not tagged tools'),
    ];
    const refusal = refusalOf(excluded);
    expect(refusal.message).toBe(
      'no provider may receive this restricted request: 18 models left out: ' +
        'cloud:c0: class approved_hosted may not receive restricted data (and 9 more left out by class_not_allowed) | ' +
        'llama:l0: down (and 3 more left out by unhealthy) | lms:x: not tagged tools (and 1 more left out by tools); ' +
        'and 2 more left out by 2 other rules',
    );
    expect(refusal.details?.['excluded']).toEqual(excluded);
  });
});

describe('routeRefusal: why a request with an image is confidential', () => {
  /** A valid 1×1 PNG: no text among its bytes, nothing a detector could find. */
  const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
  const hostedOnly: Exclusion[] = [exclusion('cloud', 'big', 'class_not_allowed', 'class approved_hosted may not receive confidential data (allowed: local)')];

  function refusalFor(text: string): ReturnType<typeof routeRefusal> {
    const request = canonicalRequest('auto', [{ role: 'user', content: [{ type: 'image', mediaType: 'image/png', data: TINY_PNG }, { type: 'text', text }] }], false, {});
    const classification = classifyRequest(request, { indicatorWords: [], patterns: [] });
    return routeRefusal(planOf(hostedOnly, classification.level), request, classification, { providers: [], planUnpinned: () => undefined });
  }

  it('a plain valid PNG with a harmless question: confidential because it is an image (fail closed), and the refusal says so', () => {
    const refusal = refusalFor('what is this');
    expect(refusal.details?.['sensitivity']).toBe('confidential');
    expect(refusal.message).toBe(
      'no provider may receive this confidential request (it carries an image: an image part is confidential whatever it shows, as screenshots and camera pictures are; a local model tagged `vision` may take it): cloud:big: class approved_hosted may not receive confidential data (allowed: local)',
    );
  });

  it('an image with text that is restricted on its own: the text is why, not the image', () => {
    const refusal = refusalFor('deploy with AKIAIOSFODNN7EXAMPLE');
    expect(refusal.details?.['sensitivity']).toBe('restricted');
    expect(refusal.message).not.toContain('it carries an image');
  });
});
