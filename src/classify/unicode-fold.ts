/**
 * The Unicode fold the classifier matches under, so the same words written differently are the
 * same words: compatibility decomposition (NFKD: full-width `ｐａｓｓ`, ligatures `ﬁ`, math
 * letters `𝐩`, circled letters, non-breaking spaces) with format characters (zero-width spaces
 * and joiners, bidi controls, soft hyphens, tag characters) and non-spacing and enclosing marks
 * (accents) removed. `Müller` precomposed (NFC, what most keyboards type), `Mu\u0308ller`
 * decomposed (NFD, what macOS and many editors produce) and `Muller` all fold to `Muller`;
 * `pas\u0301sword` and `pass\u200Bword` fold to `password`. The decimal digits of every other
 * script (Arabic-Indic `٤`, Devanagari `४`, …) fold to the ASCII digit they stand for.
 *
 * Look-alike letters of other scripts are read as the ASCII letter or digit they look like: the
 * letters and digits whose Unicode confusable skeleton (UTS #39) is one ASCII letter or digit
 * (look-alike-letters.ts, generated from confusables.txt: Cyrillic `а`, Greek `ο`, Armenian `օ`,
 * Cherokee `Ꭺ`, Latin `ı`, `ɑ`, small capitals, ...). Only in words where they stand for Latin,
 * following UTS #39's mixed-script and whole-script confusable checks: a word (letters and digits)
 * that has an ASCII letter (`pаssword`, `Müllеr`: mixed scripts), or whose every character is a
 * look-alike or an ASCII digit (`раѕѕԝогԁ`, all Cyrillic). Words of other scripts' prose (`пароль`,
 * `σύστημα`) keep their letters, so Russian or Greek text is not turned into Latin-looking words.
 *
 * Why not NFC or NFKC: composing would turn an accent inserted into an ASCII word (`s\u0301`)
 * into a different letter (`ś`), and would keep `é` apart from `e`. The fold works code point by
 * code point (decomposition never crosses one, every mark is removed, a look-alike becomes one
 * letter), so a folded text maps back to the original's offsets one run of non-ASCII characters
 * at a time. ASCII never changes.
 */

import { lastAtOrBefore } from '../common/binary-search.js';
import { LOOK_ALIKES } from './look-alike-letters.js';

/** Format characters and non-spacing or enclosing marks: what the fold removes. */
const REMOVED = /[\p{Cf}\p{Mn}\p{Me}]/u;
const REMOVED_ALL = /[\p{Cf}\p{Mn}\p{Me}]/gu;
/** Runs of non-ASCII UTF-16 units: a surrogate pair is never split (both halves are non-ASCII). */
const NON_ASCII_RUN = /[^\x00-\x7F]+/g;
const NON_ASCII = /[^\x00-\x7F]/;
/** A letter or digit of any script: what the words the look-alike rule decides on are made of. */
const WORD_CHARACTER = /^[\p{L}\p{N}]$/u;
const ELLIPSIS = '\u2026';
/** What separates the words of an excerpt (kept by `split`: odd indexes). */
const EXCERPT_WORDS = /([^\p{L}\p{N}]+)/u;

/** Classes of a non-ASCII character besides a look-alike's ASCII code (below 0x80). */
const UNKNOWN = 0;
const OTHER_LETTER = 0x80;
const SEPARATOR = 0x81;

/**
 * Per character of the Basic Multilingual Plane: the ASCII code of a look-alike (see
 * look-alike-letters.ts), or whether it is another letter or digit or a separator — learnt on
 * first sight, so a character costs one regex test per process (64 KB). Outside it, a map of the
 * ~100 look-alikes there.
 */
const BASIC_CLASSES = new Uint8Array(0x10000);
const ASTRAL_LOOK_ALIKES = new Map<number, number>();
for (const [target, sources] of Object.entries(LOOK_ALIKES)) {
  for (const source of sources) {
    const codePoint = source.codePointAt(0) as number;
    if (codePoint <= 0xffff) BASIC_CLASSES[codePoint] = target.charCodeAt(0);
    else ASTRAL_LOOK_ALIKES.set(codePoint, target.charCodeAt(0));
  }
}

/** The class of a non-ASCII code point: a look-alike's ASCII code, OTHER_LETTER or SEPARATOR. */
function classOf(codePoint: number): number {
  if (codePoint <= 0xffff) {
    let known = BASIC_CLASSES[codePoint] as number;
    if (known === UNKNOWN) {
      known = WORD_CHARACTER.test(String.fromCharCode(codePoint)) ? OTHER_LETTER : SEPARATOR;
      BASIC_CLASSES[codePoint] = known;
    }
    return known;
  }
  return ASTRAL_LOOK_ALIKES.get(codePoint) ?? (WORD_CHARACTER.test(String.fromCodePoint(codePoint)) ? OTHER_LETTER : SEPARATOR);
}

function isAsciiLetter(code: number): boolean {
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

/** True when every UTF-16 unit is ASCII; counting UTF-8 bytes is a native pass, ~10x a regex scan on a one-byte string. */
export function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/**
 * `text` folded (see the module comment); the text itself when it is ASCII. `everyWord` reads the
 * look-alikes of every word as Latin: for an operator's keyword in another script (`Сбербанк`), so
 * that the keyword typed with a Latin letter in it (`Cбербанк`, folded as a mixed-script word) is
 * still found.
 */
export function foldText(text: string, everyWord = false): string {
  if (!NON_ASCII.test(text)) return text;
  return text.replace(NON_ASCII_RUN, (run: string, offset: number) =>
    foldRun(run, everyWord || isAsciiLetter(text.charCodeAt(offset - 1)), everyWord || isAsciiLetter(text.charCodeAt(offset + run.length)), everyWord),
  );
}

/**
 * NFKD with format characters and marks removed: the fold of a run before look-alikes are read;
 * `text` itself when that changes nothing. Done one code point at a time from what each character
 * was found to fold to — the same as decomposing the run (NFKD decomposes code point by code
 * point; the reordering of marks it adds does not matter once they are removed) without a
 * `normalize` call per run: the words of Russian or Greek text are each a run.
 */
function decompose(text: string): string {
  let pieces: string[] | undefined;
  let copiedUpTo = 0;
  for (let index = 0; index < text.length; ) {
    const code = text.codePointAt(index) as number;
    const width = code > 0xffff ? 2 : 1;
    if (code >= 0x80) {
      const folded = decomposedCharacter(code);
      if (folded !== undefined) {
        pieces ??= [];
        pieces.push(text.slice(copiedUpTo, index), folded);
        copiedUpTo = index + width;
      }
    }
    index += width;
  }
  if (pieces === undefined) return text;
  pieces.push(text.slice(copiedUpTo));
  return pieces.join('');
}

/** Per character of the Basic Multilingual Plane: whether its fold is known to leave it as it is (64 KB). */
const UNCHANGED_BASIC = new Uint8Array(0x10000);
/** The folds of characters that change (and, as null, characters of other planes that do not), up to a bound. */
const CHARACTER_FOLDS = new Map<number, string | null>();
const MAX_REMEMBERED_FOLDS = 4096;

/**
 * Dashes that look like `-` but that NFKD keeps (UTS #39's confusables map each to it): hyphen,
 * non-breaking hyphen, figure dash, en dash, hyphen bullet, modifier minus, minus sign, heavy minus.
 * Read as `-`, so a card number, SSN, IBAN or phone number grouped with them is still found.
 */
const DASHES = new Set([0x2010, 0x2011, 0x2012, 0x2013, 0x2043, 0x02d7, 0x2212, 0x2796]);

/** What one non-ASCII code point folds to (NFKD, marks and format characters removed; dashes as `-`), undefined when it stays. */
function decomposedCharacter(codePoint: number): string | undefined {
  if (DASHES.has(codePoint)) return '-';
  if (codePoint <= 0xffff && UNCHANGED_BASIC[codePoint] === 1) return undefined;
  const known = CHARACTER_FOLDS.get(codePoint);
  if (known !== undefined) return known ?? undefined;
  const character = String.fromCodePoint(codePoint);
  let folded = character.normalize('NFKD');
  if (REMOVED.test(folded)) folded = folded.replace(REMOVED_ALL, '');
  folded = asciiDigit(folded) ?? folded;
  if (folded === character) {
    if (codePoint <= 0xffff) UNCHANGED_BASIC[codePoint] = 1;
    else if (CHARACTER_FOLDS.size < MAX_REMEMBERED_FOLDS) CHARACTER_FOLDS.set(codePoint, null);
    return undefined;
  }
  // Bounded: Hangul alone has 11 172 syllables that decompose; past the bound a character is decomposed each time.
  if (CHARACTER_FOLDS.size < MAX_REMEMBERED_FOLDS) CHARACTER_FOLDS.set(codePoint, folded);
  return folded;
}

const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * The ASCII digit a decimal digit of another script stands for (Arabic-Indic `٤`, Persian `۴`,
 * Devanagari `४`, Thai `๔`, …: what their writers type a card or phone number in, and what a
 * model reads as the number), undefined for anything else. Unicode encodes every script's decimal
 * digits as one run of ten, 0 to 9 (its stability policy), so a digit's value is its distance
 * from the start of its run of digits, modulo 10 (a few scripts' runs are adjacent).
 */
function asciiDigit(character: string): string | undefined {
  const codePoint = character.codePointAt(0) as number;
  if (codePoint < 0x80 || character.length > 2 || !DECIMAL_DIGIT.test(character)) return undefined;
  let first = codePoint;
  while (DECIMAL_DIGIT.test(String.fromCodePoint(first - 1))) first -= 1;
  return String.fromCharCode(0x30 + ((codePoint - first) % 10));
}

/**
 * A run of non-ASCII characters folded. `latinBefore` and `latinAfter`: whether an ASCII letter
 * touches the run, so that its first or last word is part of a Latin word (`p|а|ssword`).
 */
function foldRun(run: string, latinBefore: boolean, latinAfter: boolean, everyWord = false): string {
  return foldLookAlikes(decompose(run), latinBefore, latinAfter, undefined, everyWord);
}

/**
 * The look-alikes of `text` (a decomposed run) read as the ASCII letters or digits they look like,
 * in the words where they stand for Latin: a word that has an ASCII letter (its own or one touching
 * the run), or whose every character is a look-alike or an ASCII digit (`раѕѕԝогԁ` in Cyrillic
 * letters only). Other words are prose of their script (`пароль`, `σύστημα`) and stay as they are.
 * `onAstralFolded` is told the index of each look-alike outside the Basic Multilingual Plane that
 * was folded (two UTF-16 units become one), for the offset map. One pass, no regex: this runs on
 * every word of Cyrillic or Greek text.
 */
function foldLookAlikes(
  text: string,
  latinBefore: boolean,
  latinAfter: boolean,
  onAstralFolded?: (index: number) => void,
  everyWord = false,
): string {
  let pieces: string[] | undefined;
  let copiedUpTo = 0;
  let wordStart = -1;
  let latin = false;
  let allLookAlikes = true;
  let lookAlikes = 0;
  for (let index = 0; index <= text.length; ) {
    const code = index < text.length ? (text.codePointAt(index) as number) : -1;
    const width = code > 0xffff ? 2 : 1;
    let kind: number;
    if (code < 0) kind = SEPARATOR;
    else if (code < 0x80) kind = isAsciiLetter(code) ? 1 : code >= 0x30 && code <= 0x39 ? 2 : SEPARATOR;
    else kind = classOf(code);
    if (kind === SEPARATOR) {
      if (wordStart !== -1 && lookAlikes > 0) {
        if (everyWord || latin || allLookAlikes || (wordStart === 0 && latinBefore) || (index === text.length && latinAfter)) {
          pieces ??= [];
          pieces.push(text.slice(copiedUpTo, wordStart), readAsLatin(text, wordStart, index, onAstralFolded));
          copiedUpTo = index;
        }
      }
      wordStart = -1;
    } else {
      if (wordStart === -1) {
        wordStart = index;
        latin = false;
        allLookAlikes = true;
        lookAlikes = 0;
      }
      if (code < 0x80) latin ||= kind === 1;
      else if (kind === OTHER_LETTER) allLookAlikes = false;
      else lookAlikes += 1;
    }
    index += width;
  }
  if (pieces === undefined) return text;
  pieces.push(text.slice(copiedUpTo));
  return pieces.join('');
}

/** `text[start, end)` with its look-alikes replaced by their ASCII letters or digits. */
function readAsLatin(text: string, start: number, end: number, onAstralFolded?: (index: number) => void): string {
  let word = '';
  for (let index = start; index < end; index += 1) {
    const code = text.codePointAt(index) as number;
    const target = code < 0x80 ? OTHER_LETTER : classOf(code);
    if (code > 0xffff) {
      if (target < 0x80) onAstralFolded?.(index);
      index += 1;
    }
    word += target < 0x80 ? String.fromCharCode(target) : String.fromCodePoint(code);
  }
  return word;
}

/** A text the fold changed, with the way back to the original's UTF-16 offsets. */
export interface FoldedText {
  text: string;
  /** Where a span starting at `index` of the folded text starts in the original. */
  originalStart(index: number): number;
  /** Where a span ending at `index` (exclusive) of the folded text ends in the original, marks on its last letter included. */
  originalEnd(index: number): number;
  /**
   * An excerpt a detector built from the folded text's span [start, end), showing the original
   * text instead: each word of it found in the span (in order; after a `…`, which the fold never
   * yields, from the span's end, where a masked value's last characters are) is replaced by the
   * original text it was folded from — when that folds to as many characters as the word, so a
   * masked excerpt shows no more than it did. Words the detector wrote itself are kept.
   */
  originalExcerpt(excerpt: string, start: number, end: number): string;
  /**
   * Whether the fold changed something strictly inside the folded span [start, end): a character
   * folded there, or one removed between two of its characters (`QUtJ\u200BQUlP` is `QUtJQUlP`).
   */
  changedInside(start: number, end: number): boolean;
  /** Where the fold changed the text, in the folded text, in order (empty where characters were only removed). */
  changes: readonly { start: number; end: number }[];
}

interface CodePointMap {
  originalStart: number[];
  originalEnd: number[];
  foldedStart: number[];
  foldedEnd: number[];
}

/** A run of the original the fold changed, and where its fold sits in the folded text. */
interface ChangedRun {
  originalStart: number;
  originalEnd: number;
  foldedStart: number;
  foldedEnd: number;
  /** Whether an ASCII letter touches the run before and after it (see `foldRun`). */
  latinBefore: boolean;
  latinAfter: boolean;
  /**
   * Per code point of the run: where it starts and ends in the original and where its fold starts
   * and ends in the folded text; built on first use (null: the run is mapped as one piece).
   */
  codePoints?: CodePointMap | null;
}

/**
 * The folded form of `text` for a second scan, or undefined when folding changes nothing — always
 * for ASCII text, which costs one native length count. Otherwise only the non-ASCII runs are
 * normalised; the offset map of a run is built only when a finding falls in it.
 */
export function foldForScan(text: string): FoldedText | undefined {
  if (isAscii(text)) return undefined;
  const runs: ChangedRun[] = [];
  const pieces: string[] = [];
  let copiedUpTo = 0;
  let shift = 0;
  NON_ASCII_RUN.lastIndex = 0;
  for (let match = NON_ASCII_RUN.exec(text); match !== null; match = NON_ASCII_RUN.exec(text)) {
    const run = match[0];
    const originalStart = match.index;
    const originalEnd = originalStart + run.length;
    const latinBefore = isAsciiLetter(text.charCodeAt(originalStart - 1));
    const latinAfter = isAsciiLetter(text.charCodeAt(originalEnd));
    const folded = foldRun(run, latinBefore, latinAfter);
    if (folded === run) continue;
    runs.push({ originalStart, originalEnd, foldedStart: originalStart + shift, foldedEnd: originalStart + shift + folded.length, latinBefore, latinAfter });
    pieces.push(text.slice(copiedUpTo, originalStart), folded);
    copiedUpTo = originalEnd;
    shift += folded.length - run.length;
  }
  if (runs.length === 0) return undefined;
  pieces.push(text.slice(copiedUpTo));
  const folded: FoldedText = {
    text: pieces.join(''),
    originalStart: (index) => mapBack(text, runs, index, 'start'),
    originalEnd: (index) => mapBack(text, runs, index, 'end'),
    originalExcerpt: (excerpt, start, end) => originalExcerpt(text, folded, excerpt, start, end),
    changedInside: (start, end) => {
      // Runs are in order and never overlap: the first that ends after `start` decides.
      const found = lastAtOrBefore(runs, (run) => run.foldedStart <= start);
      for (let index = Math.max(0, found); index < runs.length; index += 1) {
        const run = runs[index] as ChangedRun;
        if (run.foldedStart >= end) return false;
        if (run.foldedEnd > run.foldedStart ? run.foldedEnd > start : run.foldedStart > start) return true;
      }
      return false;
    },
    changes: runs.map((run) => ({ start: run.foldedStart, end: run.foldedEnd })),
  };
  return folded;
}

function originalExcerpt(original: string, folded: FoldedText, excerpt: string, start: number, end: number): string {
  let cursor = start;
  let afterEllipsis = false;
  return excerpt
    .split(EXCERPT_WORDS)
    .map((piece, index) => {
      if (index % 2 === 1 || piece === '') {
        if (piece.includes(ELLIPSIS)) afterEllipsis = true;
        return piece;
      }
      // A word before the first ellipsis is found from where the span starts; one after it, from where the span ends.
      const at = afterEllipsis ? folded.text.lastIndexOf(piece, end - piece.length) : folded.text.indexOf(piece, cursor);
      if (at < cursor || at + piece.length > end) return piece;
      cursor = at + piece.length;
      const text = original.slice(folded.originalStart(at), folded.originalEnd(at + piece.length));
      return codePointCount(decompose(text)) === codePointCount(piece) ? text : piece;
    })
    .join('');
}

function codePointCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function mapBack(original: string, runs: ChangedRun[], index: number, side: 'start' | 'end'): number {
  // The last run whose fold starts at or before `index` (fold starts strictly increase: ASCII separates runs).
  const found = lastAtOrBefore(runs, (run) => run.foldedStart <= index);
  if (found === -1) return index;
  const run = runs[found] as ChangedRun;
  if (index >= run.foldedEnd) return run.originalEnd + (index - run.foldedEnd);
  const points = codePointsOf(original, run);
  if (points === null) return side === 'start' ? run.originalStart : run.originalEnd;
  const count = points.foldedStart.length;
  if (side === 'start') {
    // The first code point whose fold covers `index`.
    for (let point = 0; point < count; point += 1) {
      if ((points.foldedEnd[point] as number) > index) return points.originalStart[point] as number;
    }
    return run.originalEnd;
  }
  // The last code point whose fold starts before `index`, with the marks and invisible characters right after it.
  let last = -1;
  for (let point = 0; point < count && (points.foldedStart[point] as number) < index; point += 1) last = point;
  if (last === -1) return run.originalStart;
  while (last + 1 < count && points.foldedStart[last + 1] === points.foldedEnd[last + 1]) last += 1;
  return points.originalEnd[last] as number;
}

function codePointsOf(original: string, run: ChangedRun): CodePointMap | null {
  if (run.codePoints !== undefined) return run.codePoints;
  const points: CodePointMap = { originalStart: [], originalEnd: [], foldedStart: [], foldedEnd: [] };
  // Decomposition works code point by code point; a look-alike becomes one ASCII letter, so only
  // one from outside the Basic Multilingual Plane (two UTF-16 units) changes a length.
  const codePoints = [...original.slice(run.originalStart, run.originalEnd)];
  const decomposed = codePoints.map(decompose);
  const lengths = decomposed.map((piece) => piece.length);
  const whole = decomposed.join('');
  let point = 0;
  let pointStart = 0;
  foldLookAlikes(whole, run.latinBefore, run.latinAfter, (index) => {
    while (pointStart + (decomposed[point] as string).length <= index) {
      pointStart += (decomposed[point] as string).length;
      point += 1;
    }
    lengths[point] = (lengths[point] as number) - 1;
  });
  let originalIndex = run.originalStart;
  let foldedIndex = run.foldedStart;
  codePoints.forEach((codePoint, index) => {
    const length = lengths[index] as number;
    points.originalStart.push(originalIndex);
    points.originalEnd.push(originalIndex + codePoint.length);
    points.foldedStart.push(foldedIndex);
    points.foldedEnd.push(foldedIndex + length);
    originalIndex += codePoint.length;
    foldedIndex += length;
  });
  // Folding the run whole and code point by code point agree on lengths (the fold never looks past
  // a code point but for the word a look-alike stands in); should they not, the run is mapped as
  // one piece rather than misplaced.
  run.codePoints = foldedIndex === run.foldedEnd ? points : null;
  return run.codePoints;
}
