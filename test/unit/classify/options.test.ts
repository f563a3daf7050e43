import { describe, expect, it } from 'vitest';
import { BUILT_IN_INDICATOR_WORDS, classifyText, maskSecret } from '../../../src/classify/index.js';
import { DEFAULT_INDICATOR_WORDS } from '../../../src/policy/defaults.js';

describe('the caller hint', () => {
  it.each([
    ['hello there', 'internal', 'internal'],
    ['hello there', 'restricted', 'restricted'],
    ['mail jane@example.com', 'internal', 'confidential'],
    ['mail jane@example.com', 'public', 'confidential'],
    ['password: hunter2', 'public', 'restricted'],
    ['password: hunter2', 'confidential', 'restricted'],
  ] as const)('%j with hint %s -> %s (raises, never lowers)', (text, hint, expected) => {
    expect(classifyText(text, { indicatorWords: [], patterns: [], hint }).level).toBe(expected);
  });
});

describe('indicator words', () => {
  it('always include the user\'s four defaults, even when the options give none', () => {
    expect(BUILT_IN_INDICATOR_WORDS).toEqual(['password', 'credential', 'screenshot', 'camera']);
    for (const word of DEFAULT_INDICATOR_WORDS) expect(BUILT_IN_INDICATOR_WORDS).toContain(word);
    for (const word of ['passwords', 'Credential', 'SCREENSHOT', 'cameras']) {
      expect(classifyText(`about the ${word}`, { indicatorWords: [], patterns: [] }).level).toBe('confidential');
    }
  });

  it('the policy may add words, matched whole and with plurals', () => {
    const options = { indicatorWords: ['salary', 'medical record', 'company'], patterns: [] };
    expect(classifyText('What is a fair salary?', options).findings).toEqual([
      expect.objectContaining({ detector: 'indicator.word', level: 'confidential', reason: "indicator word 'salary'", span: { start: 15, end: 21 }, excerpt: 'salary' }),
    ]);
    expect(classifyText('scan these medical  records', options).level).toBe('confidential');
    expect(classifyText('two companies merged', options).level).toBe('confidential');
    expect(classifyText('salaryman is a Japanese word', options).level).toBe('public');
  });
});

describe('operator patterns', () => {
  it('report at their own level, case-insensitive unless caseSensitive', () => {
    const patterns = [
      { name: 'falcon', level: 'restricted' as const, keywords: ['falcon'] },
      { name: 'codename', level: 'internal' as const, regex: 'CN-[0-9]{4}', caseSensitive: true },
    ];
    expect(classifyText('the FALCON deal', { indicatorWords: [], patterns }).level).toBe('restricted');
    expect(classifyText('ticket CN-2041', { indicatorWords: [], patterns }).level).toBe('internal');
    expect(classifyText('ticket cn-2041', { indicatorWords: [], patterns }).level).toBe('public');
    const restricted = classifyText('the FALCON deal', { indicatorWords: [], patterns }).findings[0];
    expect(restricted?.excerpt).toBe('…');
  });

  it('what a confidential or restricted pattern matched is masked as a secret is (at most a quarter, nothing under 16 characters); lower levels are shortened', () => {
    const patterns = [
      { name: 'customer', level: 'confidential' as const, regex: 'CUST-[0-9]{6}' },
      { name: 'contract', level: 'confidential' as const, regex: 'CONTRACT-[A-Z0-9]{24}' },
      { name: 'atlas', level: 'confidential' as const, keywords: ['project atlas'] },
      { name: 'falcon', level: 'restricted' as const, regex: 'FALCON-[A-Z]{12}' },
      { name: 'ticket', level: 'internal' as const, regex: 'TICKET-[0-9]+' },
    ];
    const text = 'CUST-123456 signed CONTRACT-ABCDEFGHIJKLMNOPQRSTUVWX for project atlas (FALCON-ABCDEFGHIJKL), see TICKET-42';
    const excerpts = Object.fromEntries(classifyText(text, { indicatorWords: [], patterns }).findings.map((finding) => [finding.reason, finding.excerpt]));
    expect(excerpts).toEqual({
      "operator pattern 'customer'": '…',
      "operator pattern 'contract'": 'CONT…UVWX',
      "operator pattern 'atlas' (keyword)": '…',
      "operator pattern 'falcon'": 'FA…KL',
      "operator pattern 'ticket'": 'TICKET-42',
    });
  });

  it('a pattern that can backtrack catastrophically is never run: the classifier fails closed', () => {
    // The policy loader refuses such a pattern; this is the guard for options built in code.
    const patterns = [{ name: 'redos', level: 'internal' as const, regex: '(a+)+$' }];
    const result = classifyText(`${'a'.repeat(22)}!`, { indicatorWords: [], patterns });
    expect(result).toMatchObject({ level: 'restricted', failedClosed: true });
    expect(result.findings[0]?.reason).toMatch(/operator pattern 'redos' can backtrack catastrophically and is not run/);
  });

  it('a pattern matching the empty string cannot loop forever', () => {
    const result = classifyText('abc', { indicatorWords: [], patterns: [{ name: 'empty', level: 'internal', regex: 'x*' }] });
    expect(result).toMatchObject({ level: 'public', findings: [], failedClosed: false });
  });
});

describe('masking', () => {
  it('keeps a few characters of long values, never more than a quarter, and none of short ones', () => {
    expect(maskSecret('ghp_abcdefghijklmnopqrstuvwxyz0123456789')).toBe('ghp_…6789');
    expect(maskSecret('sk-proj-SECRETSECRETSECRET')).toBe('sk…ET');
    expect(maskSecret('correct-horse-battery')).toBe('co…ry');
    // Short credentials QA found half-shown (`pa…rd`): nothing of them now.
    expect(maskSecret('pa55word')).toBe('…');
    expect(maskSecret('hunter2!x')).toBe('…');
    expect(maskSecret('ghp_short')).toBe('…');
    for (const length of [16, 20, 31, 32, 40, 64]) {
      const masked = maskSecret('x'.repeat(length));
      expect(masked.length - 1, `length ${length}`).toBeLessThanOrEqual(length / 4);
    }
  });

  it('no excerpt of a secret, credential or card contains the value', () => {
    const text = 'token ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8 card 4539 1488 0343 6467 DB_PASS=Tr0ub4dor&3';
    const result = classifyText(text, { indicatorWords: [], patterns: [] });
    expect(result.findings.map((finding) => finding.excerpt)).toEqual(['ghp_…9Xc8', '…6467', 'DB_PASS=…']);
  });

  it.each([
    ['DE89 3704 0044 0532 0130 00', 'DE…00'],
    ['GB82WEST12345698765432', 'GB…32'],
    ['FR14 2004 1010 0505 0001 3M02 606', 'FR…06'],
    ['NO9386011117947', '…'],
  ])('an IBAN excerpt follows the secret rule: %j -> %j, at most a quarter of it', (iban, excerpt) => {
    const finding = classifyText(`pay to ${iban} today`, { indicatorWords: [], patterns: [] }).findings.find((candidate) => candidate.detector === 'pii.iban');
    expect(finding?.excerpt).toBe(excerpt);
    expect(excerpt.length - 1).toBeLessThanOrEqual(iban.replace(/ /g, '').length / 4);
  });
});

describe('home paths', () => {
  it.each([
    ['Open /home/alice/projects/budget.xlsx now', '/home/…'],
    ['The log is at /Users/bob/Library/Logs/app.log', '/Users/…'],
    ['Copy C:\\Users\\carol\\Documents\\report.docx over', 'C:\\Users\\…'],
    ['{"file": "C:\\\\Users\\\\dave\\\\Desktop\\\\notes.txt"}', 'C:\\\\Users\\\\…'],
    ['my config lives in ~/.config/app/settings.toml', '~/…'],
    ['see $HOME/private/diary.md', '$HOME/…'],
    ['in /var/home/erin/notes', '/var/home/…'],
  ])('%j: the excerpt keeps the home directory it starts in, not the user or the file', (text, excerpt) => {
    const finding = classifyText(text, { indicatorWords: [], patterns: [] }).findings.find((candidate) => candidate.detector === 'path.local');
    expect(finding?.excerpt).toBe(excerpt);
  });
});
