import { describe, expect, it } from 'vitest';
import { idCreationRange, newId, pooledRandomBytes } from '../../../src/common/ids.js';

describe('newId', () => {
  it('is the prefix, 10 characters of time and 10 of randomness, in Crockford base32', () => {
    expect(newId('ev', 0)).toMatch(/^ev_0000000000[0-9a-hjkmnp-tv-z]{10}$/);
    expect(newId('req', 1_796_400_000_000)).toMatch(/^req_01m90[0-9a-hjkmnp-tv-z]{15}$/);
  });

  it('sorts by time, and never repeats across many pool refills', () => {
    const ids = Array.from({ length: 5000 }, (_, index) => newId('ev', 1_700_000_000_000 + Math.floor(index / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    const times = ids.map((id) => id.slice(3, 13));
    for (let index = 1; index < times.length; index += 1) expect(times[index]! >= times[index - 1]!).toBe(true);
  });
});

describe('idCreationRange', () => {
  it('reads the creation time back from an id, or the range of a prefix; undefined for anything else', () => {
    const at = 1_796_400_123_456;
    const id = newId('ev', at);
    expect(idCreationRange(id, 'ev')).toEqual({ earliest: at, latest: at });
    expect(idCreationRange(id.slice(0, 13), 'ev')).toEqual({ earliest: at, latest: at });
    // Two time characters fewer: the 32 × 32 milliseconds every id with this prefix falls in.
    const range = idCreationRange(id.slice(0, 11), 'ev');
    expect(range).toEqual({ earliest: at - (at % 1024), latest: at - (at % 1024) + 1023 });
    expect(idCreationRange('ev_', 'ev')).toEqual({ earliest: 0, latest: 32 ** 10 - 1 });
    for (const other of ['ev_nope', 'pmt_0000000000', `${id}0`, 'ev0000']) expect(idCreationRange(other, 'ev'), other).toBeUndefined();
  });
});

describe('pooledRandomBytes', () => {
  it('hands out copies of the requested length, different each time, including over the pool size', () => {
    const first = pooledRandomBytes(32);
    const second = pooledRandomBytes(32);
    expect(first).toHaveLength(32);
    expect(first.equals(second)).toBe(false);
    first.fill(0);
    expect(second.some((byte) => byte !== 0)).toBe(true);
    expect(pooledRandomBytes(10_000)).toHaveLength(10_000);
  });
});
