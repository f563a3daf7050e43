/**
 * The Unicode fold the classifier matches under, so the same words written differently are the
 * same words: compatibility decomposition (NFKD: full-width `ｐａｓｓ`, ligatures `ﬁ`, math
 * letters `𝐩`, circled letters, non-breaking spaces) with format characters (zero-width spaces
 * and joiners, bidi controls, soft hyphens, tag characters) and non-spacing and enclosing marks
 * (accents) removed. `Müller` precomposed (NFC, what most keyboards type), `Mu\u0308ller`
 * decomposed (NFD, what macOS and many editors produce) and `Muller` all fold to `Muller`;
 * `pas\u0301sword` and `pass\u200Bword` fold to `password`.
 *
 * Why not NFC or NFKC: composing would turn an accent inserted into an ASCII word (`s\u0301`)
 * into a different letter (`ś`), and would keep `é` apart from `e`. The fold works code point by
 * code point (decomposition never crosses one, and every mark is removed), so a folded text maps
 * back to the original's offsets one run of non-ASCII characters at a time. ASCII never changes.
 */

/** Format characters and non-spacing or enclosing marks: what the fold removes. */
const REMOVED = /[\p{Cf}\p{Mn}\p{Me}]/u;
const REMOVED_ALL = /[\p{Cf}\p{Mn}\p{Me}]/gu;
/** Runs of non-ASCII UTF-16 units: a surrogate pair is never split (both halves are non-ASCII). */
const NON_ASCII_RUN = /[^\x00-\x7F]+/g;
const NON_ASCII = /[^\x00-\x7F]/;

/** True when every UTF-16 unit is ASCII; counting UTF-8 bytes is a native pass, ~10x a regex scan on a one-byte string. */
export function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/** `text` folded (see the module comment); the text itself when it is ASCII. */
export function foldText(text: string): string {
  if (!NON_ASCII.test(text)) return text;
  return text.replace(NON_ASCII_RUN, foldRun);
}

function foldRun(run: string): string {
  const decomposed = run.normalize('NFKD');
  return REMOVED.test(decomposed) ? decomposed.replace(REMOVED_ALL, '') : decomposed;
}

/** A text the fold changed, with the way back to the original's UTF-16 offsets. */
export interface FoldedText {
  text: string;
  /** Where a span starting at `index` of the folded text starts in the original. */
  originalStart(index: number): number;
  /** Where a span ending at `index` (exclusive) of the folded text ends in the original, marks on its last letter included. */
  originalEnd(index: number): number;
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
    const folded = foldRun(run);
    if (folded === run) continue;
    const originalStart = match.index;
    const originalEnd = originalStart + run.length;
    runs.push({ originalStart, originalEnd, foldedStart: originalStart + shift, foldedEnd: originalStart + shift + folded.length });
    pieces.push(text.slice(copiedUpTo, originalStart), folded);
    copiedUpTo = originalEnd;
    shift += folded.length - run.length;
  }
  if (runs.length === 0) return undefined;
  pieces.push(text.slice(copiedUpTo));
  return {
    text: pieces.join(''),
    originalStart: (index) => mapBack(text, runs, index, 'start'),
    originalEnd: (index) => mapBack(text, runs, index, 'end'),
  };
}

function mapBack(original: string, runs: ChangedRun[], index: number, side: 'start' | 'end'): number {
  // The last run whose fold starts at or before `index` (fold starts strictly increase: ASCII separates runs).
  let low = 0;
  let high = runs.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((runs[middle] as ChangedRun).foldedStart <= index) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
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
  let originalIndex = run.originalStart;
  let foldedIndex = run.foldedStart;
  for (const codePoint of original.slice(run.originalStart, run.originalEnd)) {
    const length = foldRun(codePoint).length;
    points.originalStart.push(originalIndex);
    points.originalEnd.push(originalIndex + codePoint.length);
    points.foldedStart.push(foldedIndex);
    points.foldedEnd.push(foldedIndex + length);
    originalIndex += codePoint.length;
    foldedIndex += length;
  }
  // Folding the run whole and code point by code point agree on lengths (the fold never looks past
  // a code point); should they not, the run is mapped as one piece rather than misplaced.
  run.codePoints = foldedIndex === run.foldedEnd ? points : null;
  return run.codePoints;
}
