import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap } from '../../../src/common/lru.js';

describe('LruMap', () => {
  it('forgets the least recently used entry first', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.get('a')).toBe(1);
    map.set('c', 3);
    expect([map.get('a'), map.get('b'), map.get('c'), map.size, map.weight]).toEqual([1, undefined, 3, 2, 0]);
  });

  it('with weights, keeps at most their maximum in all, forgetting the least recently used first', () => {
    const map = new LruMap<string, string>(10, { max: 10, weigh: (key, value) => value.length });
    map.set('a', 'xxxx');
    map.set('b', 'yyyy');
    map.get('a');
    map.set('c', 'zzzz');
    expect([map.get('a'), map.get('b'), map.get('c'), map.weight]).toEqual(['xxxx', undefined, 'zzzz', 8]);
    // Set again, lighter: its old weight goes.
    map.set('a', 'x');
    expect(map.weight).toBe(5);
    // Heavier than the maximum alone: not kept, and the key's old value is gone too.
    map.set('c', 'z'.repeat(11));
    expect([map.get('c'), map.get('a'), map.weight, map.size]).toEqual([undefined, 'x', 1, 1]);
    map.delete('a');
    expect([map.size, map.weight]).toEqual([0, 0]);
  });

  it('agrees with a plain list of entries, most recently used last, over any sequence of operations', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), value: fc.string({ maxLength: 6 }) }),
      fc.record({ kind: fc.constantFrom('get' as const, 'delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const map = new LruMap<string, string>(3, { max: 8, weigh: (key, value) => value.length });
        let model: { key: string; value: string }[] = [];
        for (const step of operations) {
          const index = model.findIndex((entry) => entry.key === step.key);
          const found = model[index];
          if (step.kind === 'get') {
            expect(map.get(step.key)).toBe(found?.value);
            if (found !== undefined) model = [...model.filter((entry) => entry !== found), found];
          } else {
            const value = 'value' in step ? step.value : undefined;
            if (value === undefined) map.delete(step.key);
            else map.set(step.key, value);
            model = model.filter((entry) => entry.key !== step.key);
            if (value !== undefined && value.length <= 8) model.push({ key: step.key, value });
            const weightOf = (): number => model.reduce((total, entry) => total + entry.value.length, 0);
            while (model.length > 3 || weightOf() > 8) model.shift();
          }
          expect([map.size, map.weight]).toEqual([model.length, model.reduce((total, entry) => total + entry.value.length, 0)]);
        }
        for (const { key, value } of model) expect(map.get(key)).toBe(value);
      }),
      { numRuns: 300 },
    );
  });
});
