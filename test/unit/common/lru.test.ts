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
});
