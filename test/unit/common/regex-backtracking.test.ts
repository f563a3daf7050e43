import { describe, expect, it } from 'vitest';
import { catastrophicBacktrackingRisk } from '../../../src/common/regex-backtracking.js';
import { DEFAULT_POLICY_YAML } from '../../../src/policy/default-policy.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';

/**
 * Known catastrophic shapes: OWASP's "Regular expression Denial of Service - ReDoS" examples
 * (evil regexes, the e-mail and Java class name validators), the QA report's `(a+)+$`, and the
 * textbook variants of each shape.
 */
const CATASTROPHIC: [string, RegExp][] = [
  ['(a+)+$', /nested quantifiers: `a\+` inside the repeated `\(a\+\)\+`/],
  ['^(a+)+$', /nested quantifiers/],
  ['(a+)+', /nested quantifiers/],
  ['([a-zA-Z]+)*', /nested quantifiers/],
  ['(a|aa)+', /overlapping alternatives: `a` and `aa`/],
  ['(a|a?)+', /overlapping alternatives/],
  ['(.*a){12}', /nested quantifiers: `\.\*`/],
  ['^(([a-z])+.)+[A-Z]([a-z])+$', /nested quantifiers/],
  ['^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$', /nested quantifiers/],
  ['^(\\w+\\s?)*$', /nested quantifiers: `\\w\+`/],
  ['^([a-zA-Z0-9]+\\s?)*$', /nested quantifiers/],
  ['(x+x+)+y', /nested quantifiers/],
  ['(a*)*', /nested quantifiers/],
  ['(a|a)*', /overlapping alternatives/],
  ['(?:a|b|a)+$', /overlapping alternatives: `a` and `a`/],
  ['(a?a)+$', /the optional `a\?`/],
  ['(\\s*,\\s*)*$', /nested quantifiers/],
  ['(a{1,5})+$', /nested quantifiers/],
  ['(.*){1,32000}[bc]', /nested quantifiers/],
  ['^(([a-zA-Z0-9]+)*)+$', /nested quantifiers/],
  ['(\\d+|\\d+)*', /overlapping alternatives/],
  ['((ab)*)+$', /nested quantifiers/],
  ['(?:a+|b)+$', /nested quantifiers/],
  ['(a+?)+$', /nested quantifiers/],
  ['(ab|a)*c', /overlapping alternatives/],
  ['(\\w|\\d)+$', /overlapping alternatives/],
  ['(.|\\s)*x', /overlapping alternatives/],
  ['(a|)+b', /overlapping alternatives/],
  ['(a|b\\1)+', /backreference `\\1` inside the repeated/],
  ['(?<x>a)(?:b\\k<x>)+', /backreference `\\k<x>`/],
  ['(?=x)((a+)+)$', /nested quantifiers/],
];

/** Shapes that stay linear: each repetition is delimited by a character its parts cannot match. */
const SAFE = [
  'CUST-[0-9]{6}',
  'CN-[0-9]{4}',
  '\\bFALCON-\\d{3,}\\b',
  'x*',
  'project[- ]?atlas',
  '\\b(?:atlas|falcon|hydra)\\b',
  '(?:ab|cd)+',
  '[A-Z]{2}\\d{6}',
  '^[a-z]+$',
  '([a-z0-9-]+\\.)+corp\\.example\\.com',
  '(\\d+,)*\\d+',
  '(\\d{3}-){2}\\d{4}',
  '(a+b+)*',
  '(?:https?://)?wiki\\.internal/[\\w/-]+',
  '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==)?',
  '(\\d)\\1+',
  '^.*secret.*',
  'secret.*',
  'secret.*token',
  '.{0,80}secret',
  '\\w+@corp\\.example\\.com',
  '[^"]{0,40}"key"',
  '(?:api|auth)[_-]?key.*',
  '[(a+)+]',
  '\\(a+\\)+',
];

/**
 * Quadratic: each can start with an unbounded repetition of almost any character, which every
 * search attempt runs to the end of the line (`.*secret.*`: 6.5 s over 108 KB without the word).
 */
const LEADING_SWEEP: [string, string][] = [
  ['.*secret.*', '.*'],
  ['.+?token', '.+?'],
  ['(.*)secret', '.*'],
  ['(?=.*secret)', '.*'],
  ['[^"]+"key"', '[^"]+'],
  ['\\S+@corp', '\\S+'],
  ['\\D*1234', '\\D*'],
  ['\\s*.*secret', '.*'],
  ['\\b.*secret', '.*'],
  ['(?:confidential|.*internal)', '.*'],
  ['(?:ab)*.{3,}x', '.{3,}'],
];

describe('catastrophicBacktrackingRisk', () => {
  it.each(LEADING_SWEEP)('refuses %s, which can start with %s', (source, repetition) => {
    const risk = catastrophicBacktrackingRisk(source, 'i');
    expect(risk?.message).toContain(`it can start with \`${repetition}\`, an unbounded repetition of almost any character`);
    expect(risk?.hint).toMatch(/drop the leading repetition/);
  });

  it.each(CATASTROPHIC)('refuses %s', (source, message) => {
    expect(() => new RegExp(source, 'i')).not.toThrow();
    const risk = catastrophicBacktrackingRisk(source, 'i');
    expect(risk?.message).toMatch(message);
    expect(risk?.hint).not.toBe('');
  });

  it.each(SAFE)('accepts %s', (source) => {
    expect(catastrophicBacktrackingRisk(source, 'i')).toBeUndefined();
  });

  it('accepts every pattern of the built-in policy and of the commented example policy', () => {
    const examples = [...DEFAULT_POLICY_YAML.matchAll(/regex: "([^"]+)"/g)].map((match) => match[1] as string);
    expect(examples).toContain('CUST-[0-9]{6}');
    const builtIn = defaultPolicy().patterns.flatMap((pattern) => (pattern.regex === undefined ? [] : [pattern.regex]));
    for (const source of [...examples, ...builtIn]) expect(catastrophicBacktrackingRisk(source, 'i'), source).toBeUndefined();
  });

  it('folds case only under the i flag', () => {
    expect(catastrophicBacktrackingRisk('(A|a)+$', 'i')?.message).toMatch(/overlapping alternatives/);
    expect(catastrophicBacktrackingRisk('(A|a)+$', '')).toBeUndefined();
    expect(catastrophicBacktrackingRisk('(É|é)+$', 'i')?.message).toMatch(/overlapping alternatives/);
  });

  it('gives a hint that shows the rewrite', () => {
    expect(catastrophicBacktrackingRisk('(a+)+$')?.hint).toBe(
      'rewrite without nested quantifiers, e.g. `(a+)+$` as `a+$`; a repeated group may contain a repeated part only when a character that part cannot match ends the group, as in `([a-z]+\\.)+`',
    );
  });

  it('refuses what it cannot analyse instead of guessing', () => {
    const deep = `${'('.repeat(20_000)}a${')'.repeat(20_000)}`;
    expect(() => new RegExp(deep)).not.toThrow();
    expect(catastrophicBacktrackingRisk(deep)?.message).toMatch(/too deeply nested or too unusual for the backtracking check to prove it safe/);
  });

  it('stays fast on long expressions', () => {
    const started = performance.now();
    catastrophicBacktrackingRisk(`(?:${Array.from({ length: 500 }, (_, index) => `w${index}x`).join('|')})`, 'i');
    catastrophicBacktrackingRisk('\\W[^a]'.repeat(500), 'i');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
