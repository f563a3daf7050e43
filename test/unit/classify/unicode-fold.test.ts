import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';
import { foldForScan, foldText, isAscii } from '../../../src/classify/unicode-fold.js';

describe('foldText', () => {
  it.each([
    ['M\u00fcller', 'Muller'],
    ['Mu\u0308ller', 'Muller'],
    ['pas\u0301sword', 'password'],
    ['pass\u200bword', 'password'],
    ['pass\u00adword', 'password'],
    ['cred\u{E0020}ential', 'credential'],
    ['\uff50\uff41\uff53\uff53\u3000x', 'pass x'],
    ['\u{1D429}\u{1D41A}\u{1D42C}\u{1D42C}', 'pass'],
    ['\ufb01le', 'file'],
    ['a\u00a0b', 'a b'],
  ])('%j -> %j', (text, folded) => {
    expect(foldText(text)).toBe(folded);
    expect(foldText(text.normalize('NFC'))).toBe(folded);
    expect(foldText(text.normalize('NFD'))).toBe(folded);
  });

  it('leaves ASCII alone, and text with nothing to fold', () => {
    expect(foldText('plain ASCII, (punctuation) [kept]')).toBe('plain ASCII, (punctuation) [kept]');
    expect(foldText('\u65e5\u672c\u8a9e \u2014 ok')).toBe('\u65e5\u672c\u8a9e \u2014 ok');
  });
});

describe('foldForScan', () => {
  it('is undefined for ASCII and for non-ASCII text the fold does not change', () => {
    expect(isAscii('abc')).toBe(true);
    expect(isAscii('ab\u00e9')).toBe(false);
    expect(foldForScan('password: hunter2')).toBeUndefined();
    expect(foldForScan('\u65e5\u672c\u8a9e \u2014 \u201cquoted\u201d')).toBeUndefined();
  });

  /** Where `word` of the folded text lies in the original, by the fold's own map. */
  function spanOf(text: string, word: string): string {
    const folded = foldForScan(text);
    if (folded === undefined) throw new Error('nothing folded');
    const start = folded.text.indexOf(word);
    expect(start).toBeGreaterThanOrEqual(0);
    return text.slice(folded.originalStart(start), folded.originalEnd(start + word.length));
  }

  it('maps a span of the folded text back to the original, marks on its last letter included', () => {
    expect(spanOf('invoice for Mu\u0308ller GmbH', 'Muller GmbH')).toBe('Mu\u0308ller GmbH');
    expect(spanOf('cafe\u0301 au lait', 'cafe')).toBe('cafe\u0301');
    expect(spanOf('my pas\u0301sword is', 'password')).toBe('pas\u0301sword');
    expect(spanOf('x \u200b\u200bpassword\u200b y', 'password')).toBe('password\u200b');
    // Expanding and shrinking folds: a ligature is two letters, a math letter two UTF-16 units.
    expect(spanOf('the \ufb01le here', 'file')).toBe('\ufb01le');
    expect(spanOf('the \ufb01le here', 'il')).toBe('\ufb01l');
    expect(spanOf('the \ufb01le here', 'f')).toBe('\ufb01');
    expect(spanOf('my \u{1D429}\u{1D41A}\u{1D42C}\u{1D42C} and more', 'pass')).toBe('\u{1D429}\u{1D41A}\u{1D42C}\u{1D42C}');
    expect(spanOf('my \u{1D429}\u{1D41A}\u{1D42C}\u{1D42C} and more', 'and')).toBe('and');
    expect(spanOf('\u00e9t\u00e9 \u00e0 Z\u00fcrich-2031 ok', 'Zurich-2031')).toBe('Z\u00fcrich-2031');
  });

  it('gives the classifier spans in the original text', () => {
    const text = 'pay Mu\u0308ller GmbH and \u{1D429}\u{1D41A}\u{1D42C}\u{1D42C}\u{1D430}\u{1D428}\u{1D42B}\u{1D41D} now';
    const result = classifyText(text, { indicatorWords: [], patterns: [{ name: 'client', level: 'restricted', keywords: ['Müller GmbH'] }] });
    expect(result.level).toBe('restricted');
    const spans = result.findings.map((finding) => [finding.detector, text.slice(finding.span.start, finding.span.end)]);
    expect(spans).toEqual([
      ['operator.pattern', 'Mu\u0308ller GmbH'],
      ['indicator.word', '\u{1D429}\u{1D41A}\u{1D42C}\u{1D42C}\u{1D430}\u{1D428}\u{1D42B}\u{1D41D}'],
    ]);
    // Masked as the policy asks (restricted), and saying how it was found.
    expect(result.findings[0]).toMatchObject({ excerpt: '…', reason: expect.stringContaining('after Unicode folding') });
  });

  it('a keyword or regex written decomposed in the policy matches precomposed text too', () => {
    const patterns = [
      { name: 'client', level: 'restricted' as const, keywords: ['Mu\u0308ller GmbH'] },
      { name: 'deals', level: 'confidential' as const, regex: 'Zu\u0308rich-\\d{4}' },
    ];
    expect(classifyText('invoice for M\u00fcller GmbH', { indicatorWords: [], patterns }).level).toBe('restricted');
    expect(classifyText('deal Z\u00fcrich-2031', { indicatorWords: [], patterns }).level).toBe('confidential');
    // An indicator word the policy adds with an accent, typed either way.
    expect(classifyText('the dipl\u00f4me is scanned', { indicatorWords: ['diplo\u0302me'], patterns: [] }).level).toBe('confidential');
  });
});
