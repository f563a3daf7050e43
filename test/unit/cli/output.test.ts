import { describe, expect, it } from 'vitest';
import { counted, escapeControlCharacters } from '../../../src/cli/output.js';

describe('counted', () => {
  it('puts a count before its noun, singular for one', () => {
    expect(counted(0, 'row')).toBe('0 rows');
    expect(counted(1, 'row')).toBe('1 row');
    expect(counted(100_000, 'row')).toBe('100000 rows');
  });
});

describe('escapeControlCharacters', () => {
  it('writes control characters as escapes and leaves backslashes, quotes and other text as they are', () => {
    expect(escapeControlCharacters('C:\\Users\\…')).toBe('C:\\Users\\…');
    expect(escapeControlCharacters('say "hi" ✓')).toBe('say "hi" ✓');
    expect(escapeControlCharacters('a\nb\tc\rd\u001b[31me\u007f\u0085')).toBe('a\\nb\\tc\\rd\\u001b[31me\\u007f\\u0085');
  });
});
