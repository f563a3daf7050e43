import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
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

describe('look-alike letters of other scripts', () => {
  it.each([
    ['p\u0430ssword', 'password'], // Cyrillic а
    ['P\u0410SSWORD', 'PASSWORD'], // Cyrillic А
    ['M\u00fcll\u0435r', 'Muller'], // Cyrillic е beside an accented Latin letter
    ['Pr\u03bfject', 'Project'], // Greek ο
    ['CREDENT\u0406AL', 'CREDENTIAL'], // Cyrillic І: the skeleton's l, upper-cased
    ['\u0440\u0430\u0455\u0455\u051d\u043e\u0433\u0501', 'password'], // every letter a Cyrillic look-alike
    ['\u13df\u13aa\u13b7\u13ac\u13a1\u13aa', 'CAMERA'], // Cherokee
    ['\u0585pen', 'open'], // Armenian օ
    ['k\u0131sa \u0251nd \u026a', 'kisa and i'], // Latin dotless i, alpha, small capital I
    ['token-\u{102A0}BC', 'token-ABC'], // Carian A: two UTF-16 units become one
    ['ghp_Zx9\u0417', 'ghp_Zx93'], // Cyrillic З is the skeleton of 3
  ])('%j -> %j', (text, folded) => {
    expect(foldText(text)).toBe(folded);
    expect(foldForScan(text)?.text).toBe(folded);
  });

  it('leaves words of other scripts that are not all look-alikes as they are', () => {
    // Russian and Greek prose: `пароль` has letters that look like nothing Latin, so none of it is read as Latin.
    const russian = '\u041d\u0430\u0448 \u043f\u0430\u0440\u043e\u043b\u044c \u2014 \u0441\u0435\u043a\u0440\u0435\u0442';
    expect(foldText(russian)).toBe(russian);
    expect(foldForScan(russian)).toBeUndefined();
    expect(foldText('\u03c3\u03cd\u03c3\u03c4\u03b7\u03bc\u03b1')).toBe('\u03c3\u03c5\u03c3\u03c4\u03b7\u03bc\u03b1');
    // Touching an ASCII letter makes a word mixed-script: only then are its look-alikes read as Latin.
    expect(foldText('\u043f\u0430\u0440\u043e\u043b\u044c')).toBe('\u043f\u0430\u0440\u043e\u043b\u044c');
    expect(foldText('x\u043f\u0430\u0440\u043e\u043b\u044c')).toBe('x\u043fapo\u043b\u044c');
    // Every word when asked (operator keywords of other scripts).
    expect(foldText('\u0421\u0431\u0435\u0440\u0431\u0430\u043d\u043a', true)).toBe('C6ep6a\u043d\u043a');
  });

  /** Where `word` of the folded text lies in the original, by the fold's own map. */
  function spanOf(text: string, word: string, from = 0): string {
    const folded = foldForScan(text);
    if (folded === undefined) throw new Error('nothing folded');
    const start = folded.text.indexOf(word, from);
    expect(start).toBeGreaterThanOrEqual(0);
    return text.slice(folded.originalStart(start), folded.originalEnd(start + word.length));
  }

  it('maps spans back to the exact original, astral look-alikes and mixed runs included', () => {
    expect(spanOf('my p\u0430ssw\u043erd is', 'password')).toBe('p\u0430ssw\u043erd');
    expect(spanOf('my p\u0430ssw\u043erd is', 'is')).toBe('is');
    expect(spanOf('id \u{102A0}\u{102A0}C-\u{102A0}7 ok', 'AAC')).toBe('\u{102A0}\u{102A0}C');
    expect(spanOf('id \u{102A0}\u{102A0}C-\u{102A0}7 ok', 'A7')).toBe('\u{102A0}7');
    expect(spanOf('id \u{102A0}\u{102A0}C-\u{102A0}7 ok', 'ok')).toBe('ok');
    // One run, three words: the Carian A alone is read as Latin, the Russian word is not.
    const text = 'x \u{102A0}\u2014\u{102A0}\u0436\u2014\u{102A0} y';
    expect(foldForScan(text)?.text).toBe('x A\u2014\u{102A0}\u0436\u2014A y');
    expect(spanOf(text, '\u{102A0}\u0436')).toBe('\u{102A0}\u0436');
    expect(spanOf(text, 'A', 4)).toBe('\u{102A0}');
    expect(spanOf(text, 'y')).toBe('y');
  });

  it('round trip: every word of the folded text is the fold of the original text the map gives for it', () => {
    const alphabet = ['p', 'a', 'S', '1', ' ', '-', '\u0430', '\u041e', '\u043f', '\u0436', '\u{102A0}', '\u{1D429}', '\ufb01', '\u0301', '\u200b', '\u00e9', '\u0131', '\u0399', '\u2014', '\u0417'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }), (characters) => {
        const text = characters.join('');
        const folded = foldForScan(text);
        if (folded === undefined) return;
        expect(folded.text).toBe(foldText(text));
        for (const word of folded.text.matchAll(/[\p{L}\p{N}]+/gu)) {
          const start = word.index;
          const end = start + word[0].length;
          const original = text.slice(folded.originalStart(start), folded.originalEnd(end));
          expect(foldText(original), JSON.stringify({ text, word: word[0], original })).toBe(word[0]);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('classifies look-alike spellings as the words they imitate, with spans and excerpts in the original', () => {
    const text = 'p\u0430ssword: hunter2 for Pr\u03bfject Falcon';
    const result = classifyText(text, { indicatorWords: [], patterns: [{ name: 'falcon', level: 'internal', keywords: ['Project Falcon'] }] });
    expect(result.level).toBe('restricted');
    const found = result.findings.map((finding) => [finding.detector, text.slice(finding.span.start, finding.span.end), finding.excerpt]);
    expect(found).toEqual([
      ['indicator.word', 'p\u0430ssword', 'p\u0430ssword'],
      ['credential.assignment', 'p\u0430ssword: hunter2', 'p\u0430ssword:\u2026'],
      ['operator.pattern', 'Pr\u03bfject Falcon', 'Pr\u03bfject Falcon'],
    ]);
    expect(result.findings[0]?.reason).toContain('look-alike letters of other scripts read as Latin');
  });

  it('shows the original in an excerpt only where it folds to as many characters as the shown piece', () => {
    // An email's mask keeps the first letter and the domain: both shown as written.
    const email = classifyText('mail \u0430lice@ex\u0430mple.com now', { indicatorWords: [], patterns: [] });
    expect(email.findings.map((finding) => finding.excerpt)).toEqual(['\u0430\u2026@ex\u0430mple.com']);
    // A masked value's two first characters: `ﬁ` would show three letters' worth of `ﬁx`, so the folded `fi` stays.
    const folded = foldForScan('api_key = \ufb01x0123456789abcdefgh');
    expect(folded?.originalExcerpt('fi\u2026gh', 10, folded.text.length)).toBe('\ufb01\u2026gh');
    expect(folded?.originalExcerpt('f\u2026gh', 10, folded.text.length)).toBe('f\u2026gh');
  });

  it.each(['prose-ru.txt', 'prose-el.txt'])('finds nothing in realistic %s (its all-look-alike words read as Latin match no detector)', (file) => {
    const text = readFileSync(resolve(import.meta.dirname, '../../fixtures/classify', file), 'utf8');
    const folded = foldForScan(text);
    // The fold does change these texts (accents, and words such as ООО or ΕΙΝΑΙ read as Latin)...
    expect(folded).toBeDefined();
    expect(folded?.text).toMatch(/\b(?:OOO|EINAI)\b/);
    // ...and no built-in detector, nor the default indicator words, fires on either form.
    const result = classifyText(text, { indicatorWords: ['password', 'credential', 'screenshot', 'camera'], patterns: [{ name: 'falcon', level: 'confidential', keywords: ['Project Falcon'] }] });
    expect(result).toMatchObject({ level: 'public', findings: [], failedClosed: false });
  });
});
