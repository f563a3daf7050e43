/** The savings reference a policy names without rates is priced by its registered record, or metrics say it is not. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { computeMetrics } from '../../../src/metrics/index.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { mergePolicy } from '../../../src/policy/normalize.js';
import type { Policy } from '../../../src/policy/types.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { HOUR, MINUTE, registerReferenceProvider, seedMetricsStore } from './seed.js';

const START = Date.parse('2026-03-01T00:00:00Z');
/** The seed's three local answers, not its older one: 1000/500, 2000/1000 (500 cached) and 3000/1500 tokens in/out. */
const WINDOW = { sinceMs: START, untilMs: START + 3 * HOUR };
const REFERENCE_PRICE = { inputPerMTok: 1, outputPerMTok: 4, tiers: [{ aboveInputTokens: 1500, inputPerMTok: 2, outputPerMTok: 8 }] };

let store: Store;

function policyWith(savings: { referenceModel: string; inputPerMTok?: number; outputPerMTok?: number }): Policy {
  return mergePolicy({ apiVersion: 'syndicate/v1', kind: 'Policy', savings });
}

beforeEach(async () => {
  store = openStore(':memory:');
  seedMetricsStore(store, START);
  await registerReferenceProvider(store, REFERENCE_PRICE);
});

afterEach(() => store.close());

describe('savings reference', () => {
  it('named without rates: priced with its registered record, tiers included', () => {
    const { savings } = computeMetrics(store, policyWith({ referenceModel: 'cloud:reference' }), WINDOW);
    // 1000 × 1 + 500 × 4; over 1500 input tokens every token at the tier: 2000 × 2 + 1000 × 8 and 3000 × 2 + 1500 × 8.
    expect(savings.localTokensAtReferenceUsd).toBeCloseTo((3_000 + 12_000 + 18_000) / 1e6, 12);
    expect(savings).toMatchObject({ referenceModel: 'cloud:reference', inputPerMTok: 1, outputPerMTok: 4, tiers: REFERENCE_PRICE.tiers });
    expect(savings.warning).toBeUndefined();
  });

  it('with rates of its own: the policy rates, whatever the record says', () => {
    const { savings } = computeMetrics(store, policyWith({ referenceModel: 'cloud:reference', inputPerMTok: 3, outputPerMTok: 15 }), WINDOW);
    expect(savings.localTokensAtReferenceUsd).toBeCloseTo((6_000 * 3 + 3_000 * 15) / 1e6, 12);
    expect(savings.warning).toBeUndefined();
  });

  it.each(['cloud:unpriced', 'cloud:missing', 'nowhere:model', 'no-provider-prefix'])('%s, neither registered with a price nor priced in the policy: the built-in rates, and a warning that says so', (referenceModel) => {
    const { savings } = computeMetrics(store, policyWith({ referenceModel }), WINDOW);
    const builtIn = defaultPolicy().savings;
    expect(savings).toMatchObject({ referenceModel, inputPerMTok: builtIn.inputPerMTok, outputPerMTok: builtIn.outputPerMTok });
    expect(savings.warning).toBe(
      `savings reference ${referenceModel} is neither priced in the policy nor a registered model with a price: local tokens are priced at the built-in rates ($2/$10 per MTok in/out); ` +
        'give savings.inputPerMTok and savings.outputPerMTok in the policy, or name a registered provider:model that has a price',
    );
  });

  it('the default policy keeps its own rates', () => {
    expect(computeMetrics(store, defaultPolicy(), WINDOW).savings.localTokensAtReferenceUsd).toBeCloseTo((6_000 * 2 + 3_000 * 10) / 1e6, 12);
  });
});

describe('a registered savings reference whose price changed', () => {
  afterEach(() => vi.useRealTimers());

  it('prices each local answer at the rates its record gave when the answer was given, as spend keeps each call\'s price', async () => {
    const own = openStore(':memory:');
    try {
      seedMetricsStore(own, START);
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(START - HOUR);
      await registerReferenceProvider(own, REFERENCE_PRICE);
      // Between the seed's local answers of hour 0 (+10 and +20 min) and hour 1 (+70 min).
      vi.setSystemTime(START + 60 * MINUTE);
      await registerReferenceProvider(own, { inputPerMTok: 10, outputPerMTok: 40 });
      vi.useRealTimers();
      const { savings } = computeMetrics(own, policyWith({ referenceModel: 'cloud:reference' }), WINDOW);
      // At the first price: 1000 × 1 + 500 × 4, and (over its 1500-token tier) 2000 × 2 + 1000 × 8;
      // at the new one: 3000 × 10 + 1500 × 40.
      expect(savings.localTokensAtReferenceUsd).toBeCloseTo((3_000 + 12_000 + 90_000) / 1e6, 12);
      expect(savings).toMatchObject({ inputPerMTok: 10, outputPerMTok: 40, pricedAtEarlierRates: 2 });
      // A window after the change prices at the new rates alone, and says nothing of earlier ones.
      const later = computeMetrics(own, policyWith({ referenceModel: 'cloud:reference' }), { sinceMs: START + HOUR, untilMs: START + 3 * HOUR }).savings;
      expect(later.localTokensAtReferenceUsd).toBeCloseTo(90_000 / 1e6, 12);
      expect(later.pricedAtEarlierRates).toBeUndefined();
    } finally {
      own.close();
    }
  });
});
