import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { counted, escapeControlCharacters, renderTable } from '../../../src/cli/output.js';

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

describe('renderTable', () => {
  it('lays out more rows than a call takes arguments (`evidence list --limit 200000` overflowed the stack)', () => {
    const rows = Array.from({ length: 300_000 }, (_, index) => [`ev_${index}`, index % 2 === 0 ? null : 'completed']);
    const lines = renderTable(['id', 'state'], rows, new Chalk({ level: 0 })).split('\n');
    expect(lines).toHaveLength(300_001);
    expect(lines[0]).toBe(`${'ID'.padEnd('ev_299999'.length)}  STATE`);
    expect(lines[2]).toBe(`${'ev_1'.padEnd('ev_299999'.length)}  completed`);
  });
});
