import { describe, expect, it } from 'vitest';
import { LiteralGate, SpanIndex } from '../../../src/classify/scan.js';
import { maskNumber } from '../../../src/classify/mask.js';

/**
 * The structures the detectors lean on answer exactly what the plain readings they replace answer
 * (a list read through, `includes` per literal, the digits copied out): they exist for speed on
 * record-shaped text, and a finding must not depend on which reading ran. Seeded, so a failure repeats.
 */

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('SpanIndex', () => {
  it('says a span overlaps exactly when one added so far does, with and without a test, however far and long the spans', () => {
    const next = random(7);
    for (let round = 0; round < 40; round += 1) {
      const index = new SpanIndex<{ start: number; end: number; tag: number }>();
      const added: { start: number; end: number; tag: number }[] = [];
      // Offsets far apart in some rounds (the index grows), spans long and empty in all.
      const reach = round % 4 === 0 ? 5_000_000 : 4_000;
      for (let step = 0; step < 300; step += 1) {
        const start = Math.floor(next() * reach);
        const length = next() < 0.1 ? Math.floor(next() * 3_000) : next() < 0.1 ? 0 : Math.floor(next() * 40);
        const query = { start, end: start + length };
        const test = (known: { tag: number }): boolean => known.tag % 3 !== 0;
        expect(index.overlaps(query.start, query.end)).toBe(added.some((known) => known.start < query.end && known.end > query.start));
        expect(index.overlaps(query.start, query.end, test)).toBe(added.some((known) => known.start < query.end && known.end > query.start && test(known)));
        if (next() < 0.6) {
          const span = { ...query, tag: step };
          index.add(span);
          added.push(span);
        }
      }
    }
  });
});

describe('LiteralGate', () => {
  it('finds the literals `includes` finds: shared pivots, literals ending or made of their pivot, at the text\'s edges', () => {
    const next = random(11);
    const alphabet = 'ab-c9_/K.';
    const word = (length: number): string => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)] as string).join('');
    for (let round = 0; round < 200; round += 1) {
      const literals = Array.from({ length: 1 + Math.floor(next() * 12) }, () => word(1 + Math.floor(next() * 4)));
      const gate = new LiteralGate(literals);
      const text = word(Math.floor(next() * 60));
      const expected = new Set(literals.filter((literal) => text.includes(literal)));
      expect(gate.present(text), `${JSON.stringify(literals)} in ${JSON.stringify(text)}`).toEqual(expected);
      expect(gate.any(text)).toBe(expected.size > 0);
    }
  });
});

describe('maskNumber', () => {
  it('shows the last four digits, as copying every digit out and keeping the last four does', () => {
    const next = random(3);
    const alphabet = '0123456789 -.()+٤a';
    for (let round = 0; round < 500; round += 1) {
      const value = Array.from({ length: Math.floor(next() * 24) }, () => alphabet[Math.floor(next() * alphabet.length)] as string).join('');
      expect(maskNumber(value)).toBe(`…${value.replace(/\D/g, '').slice(-4)}`);
    }
  });
});
