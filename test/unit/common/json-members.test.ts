import { describe, expect, it } from 'vitest';
import { topLevelMemberValues } from '../../../src/common/json-members.js';

/** A small deterministic generator (mulberry32), so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY_STRINGS = ['model', '"model"', 'a\\', '\\"', '{"model":"evil"}', '}', ']', ',', ':', 'naïve ✓ 🚀', '\u2028', '', 'x\ny'];

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 4 : 6));
  if (pick === 0) return TRICKY_STRINGS[Math.floor(next() * TRICKY_STRINGS.length)];
  if (pick === 1) return Math.round(next() * 1e6) / 100 - 5000;
  if (pick === 2) return [true, false, null][Math.floor(next() * 3)];
  if (pick === 3) return `s${Math.floor(next() * 1000)}`;
  if (pick === 4) return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  const object: Record<string, unknown> = {};
  for (let index = Math.floor(next() * 4); index > 0; index -= 1) {
    object[next() < 0.3 ? 'model' : TRICKY_STRINGS[Math.floor(next() * TRICKY_STRINGS.length)] ?? 'k'] = value(next, depth + 1);
  }
  return object;
}

describe('topLevelMemberValues', () => {
  it('agrees with JSON.parse on 3 000 generated objects (nested "model" members, tricky strings, whitespace)', () => {
    for (let seed = 1; seed <= 3000; seed += 1) {
      const next = random(seed);
      const object: Record<string, unknown> = {};
      for (let index = Math.floor(next() * 5); index > 0; index -= 1) object[TRICKY_STRINGS[Math.floor(next() * TRICKY_STRINGS.length)] ?? 'k'] = value(next, 1);
      if (next() < 0.7) object.model = value(next, 1);
      const text = JSON.stringify(object, null, next() < 0.3 ? 2 : undefined);
      const expected = 'model' in object ? [JSON.parse(JSON.stringify(object.model))] : [];
      expect(topLevelMemberValues(text, 'model'), `seed ${seed}: ${text}`).toEqual(expected);
    }
  });

  it('returns every duplicate, in order, and decodes escaped names', () => {
    expect(topLevelMemberValues('{"model":"allowed","messages":[],"model":"other"}', 'model')).toEqual(['allowed', 'other']);
    expect(topLevelMemberValues('{"mod\\u0065l":"escaped"}', 'model')).toEqual(['escaped']);
    expect(topLevelMemberValues(' {"a":{"model":"inner"},"b":["model",{"model":1}]} \n', 'model')).toEqual([]);
    expect(topLevelMemberValues('{"model":{"id":"x"}}', 'model')).toEqual([{ id: 'x' }]);
  });

  it('refuses text that is not structured as one JSON object', () => {
    for (const text of [
      '',
      '[]',
      '"model"',
      '{"model":"a"',
      '{"model":"a"}}',
      '{"model":"a"} {"model":"b"}',
      '{"model":"a]',
      '{"a":[1,2}',
      '{"a":{"b":1]}',
      '{"model":"a" "x"}',
      '{"model":nope}',
    ]) {
      expect(topLevelMemberValues(text, 'model'), text).toBeUndefined();
    }
  });
});
