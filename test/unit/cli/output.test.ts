import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { counted, escapeControlCharacters, renderTable, terminalSafe, terminalSafeText, terminalWidth } from '../../../src/cli/output.js';

describe('counted', () => {
  it('puts a count before its noun, singular for one', () => {
    expect(counted(0, 'row')).toBe('0 rows');
    expect(counted(1, 'row')).toBe('1 row');
    expect(counted(100_000, 'row')).toBe('100000 rows');
  });
});

describe('terminalSafe and terminalSafeText', () => {
  it('show control characters as escapes, keeping line feeds and tabs; a model text keeps a carriage return before a line feed only', () => {
    const text = 'a\u001b]52;c;eA==\u0007\tb\r\nc\rd\u009b2J\u007f\n';
    expect(terminalSafe(text)).toBe('a\\u001b]52;c;eA==\\u0007\tb\\u000d\nc\\u000dd\\u009b2J\\u007f\n');
    expect(terminalSafeText(text)).toBe('a\\u001b]52;c;eA==\\u0007\tb\r\nc\\u000dd\\u009b2J\\u007f\n');
    expect(terminalSafeText('plain text, ünïcode ✓\n')).toBe('plain text, ünïcode ✓\n');
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

describe('renderTable within a width', () => {
  const plain = new Chalk({ level: 0 });
  const rows = [
    ['ev_01m96krc60reh45463gx', 'claude-sonnet-4-5-20250929', null],
    ['ev_01m96kmq0044279x43s4', 'llama3', 'fallback'],
  ];

  it('prints a table that fits as a table, and one without a width (a pipe) however wide', () => {
    const table = renderTable(['id', 'model', 'markers'], rows, plain);
    expect(table.split('\n')[0]).toBe('ID                       MODEL                       MARKERS');
    expect(renderTable(['id', 'model', 'markers'], rows, plain, 61)).toBe(table);
  });

  it('prints each row as a record, every value whole, when the table is wider than the width', () => {
    const records = renderTable(['id', 'model', 'markers'], rows, plain, 60);
    expect(records).toBe(
      [
        'ID       ev_01m96krc60reh45463gx',
        'MODEL    claude-sonnet-4-5-20250929',
        'MARKERS  -',
        '',
        'ID       ev_01m96kmq0044279x43s4',
        'MODEL    llama3',
        'MARKERS  fallback',
      ].join('\n'),
    );
  });

  it('keeps a table without rows a header line', () => {
    expect(renderTable(['id', 'model'], [], plain, 3)).toBe('ID  MODEL');
  });
});

describe('terminalWidth', () => {
  it('takes COLUMNS when it is a positive number, else the width the terminal reports, else none', () => {
    expect(terminalWidth('60', 200)).toBe(60);
    expect(terminalWidth(undefined, 200)).toBe(200);
    expect(terminalWidth('0', 120)).toBe(120);
    expect(terminalWidth('wide', 120)).toBe(120);
    expect(terminalWidth('', 0)).toBeUndefined();
    expect(terminalWidth(undefined, undefined)).toBeUndefined();
  });
});
