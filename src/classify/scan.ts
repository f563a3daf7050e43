/** Small helpers shared by the detectors. */

/** Every match of a global regular expression, guarded against empty matches looping forever. */
export function* matchesOf(pattern: RegExp, text: string): Generator<RegExpExecArray> {
  if (!pattern.global) throw new Error(`detector pattern ${pattern.source} must be global`);
  pattern.lastIndex = 0;
  for (;;) {
    const match = pattern.exec(text);
    if (match === null) return;
    if (match[0].length === 0) {
      pattern.lastIndex += 1;
      continue;
    }
    yield match;
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isLetter(character: string | undefined): boolean {
  return character !== undefined && /\p{L}/u.test(character);
}

function isLowerCase(character: string): boolean {
  return character !== character.toUpperCase() && character === character.toLowerCase();
}

function isUpperCase(character: string): boolean {
  return character !== character.toLowerCase() && character === character.toUpperCase();
}

/**
 * Whether `text[start, end)` is a whole word: not glued to letters on either side, except at a
 * camelCase seam (`userPassword`, `passwordHash`). Underscores, digits and punctuation separate
 * words (`DB_PASSWORD`, `password1`), so `passwordless` and `mypassword` are not the word `password`.
 */
export function isWholeWord(text: string, start: number, end: number): boolean {
  const before = text[start - 1];
  const after = text[end];
  const first = text[start] ?? '';
  const last = text[end - 1] ?? '';
  if (isLetter(before) && !(isLowerCase(before as string) && isUpperCase(first))) return false;
  if (isLetter(after) && !(isLowerCase(last) && isUpperCase(after as string))) return false;
  return true;
}

/** Mod-10 (Luhn) check over a string of digits. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Characters from rarest to most common, measured on a mix of prose, TypeScript and Markdown. A literal is found by
 * scanning for its rarest character with `indexOf` — a vectorised memchr in V8, far cheaper than
 * a regex alternation or a multi-character `includes` over a megabyte — and checking the literal
 * around each hit.
 */
const RARITY = '~%^#\\ZXQKJ!$|?G&6j@U`Y<zBWV+FN>7HSAMP*-5D][9_OqCL8/2R3Tk\'E4bI:x{}10;w"v=,()y.gflcuhpmdniosarte ';

function pivotOf(literal: string): number {
  let best = 0;
  let bestRank = Number.POSITIVE_INFINITY;
  for (let index = 0; index < literal.length; index += 1) {
    // Characters not in the table (digits are, non-ASCII is not) count as rare.
    const rank = RARITY.indexOf(literal[index] as string);
    if (rank < bestRank) {
      bestRank = rank;
      best = index;
    }
  }
  return best;
}

/** A literal filed under its pivot: `offset` in it, and the character code beside the pivot it is first told apart by. */
interface GateEntry {
  literal: string;
  offset: number;
  /** Where that character is, relative to the pivot (+1 after, -1 before; 0: the literal is its pivot alone). */
  side: number;
  /** Its code (-1 when `side` is 0). */
  beside: number;
}

/** Finds which of a fixed set of case-sensitive literals occur in a text, in one cheap pass per pivot character. */
export class LiteralGate {
  /**
   * The literals by pivot character. An array, not the Map it is built in: iterating a Map's
   * entries allocates a `[key, value]` pair each, and the detectors run every gate on every request.
   */
  private readonly pivots: { pivot: string; entries: GateEntry[] }[];

  constructor(literals: readonly string[]) {
    const byPivot = new Map<string, GateEntry[]>();
    for (const literal of new Set(literals)) {
      if (literal.length === 0) continue;
      const offset = pivotOf(literal);
      const pivot = literal[offset] as string;
      const side = offset + 1 < literal.length ? 1 : offset > 0 ? -1 : 0;
      const entries = byPivot.get(pivot) ?? [];
      entries.push({ literal, offset, side, beside: side === 0 ? -1 : literal.charCodeAt(offset + side) });
      byPivot.set(pivot, entries);
    }
    this.pivots = [...byPivot].map(([pivot, entries]) => ({ pivot, entries }));
  }

  /**
   * The literals present in `text`. At each of a pivot's occurrences a literal is compared only
   * when the character beside the pivot is its own: on record-shaped text a common pivot (`-` in
   * every date, 21 literals filed under it) occurs tens of thousands of times per megabyte, and
   * comparing every literal at each occurrence was a tenth of the classification (bench/RESULTS.md).
   */
  present(text: string): Set<string> {
    const found = new Set<string>();
    for (const { pivot, entries } of this.pivots) {
      const done = entries.length === 1 ? undefined : new Uint8Array(entries.length);
      let remaining = entries.length;
      let position = text.indexOf(pivot);
      while (position !== -1 && remaining > 0) {
        const after = text.charCodeAt(position + 1);
        const before = position === 0 ? -1 : text.charCodeAt(position - 1);
        for (let index = 0; index < entries.length; index += 1) {
          const entry = entries[index] as GateEntry;
          if (entry.beside !== (entry.side === 1 ? after : entry.side === -1 ? before : -1)) continue;
          if (done !== undefined && done[index] === 1) continue;
          if (text.startsWith(entry.literal, position - entry.offset)) {
            found.add(entry.literal);
            remaining -= 1;
            if (done !== undefined) done[index] = 1;
          }
        }
        position = text.indexOf(pivot, position + 1);
      }
    }
    return found;
  }

  /** Whether any of the literals occurs. */
  any(text: string): boolean {
    for (const { pivot, entries } of this.pivots) {
      let position = text.indexOf(pivot);
      while (position !== -1) {
        const after = text.charCodeAt(position + 1);
        const before = position === 0 ? -1 : text.charCodeAt(position - 1);
        for (const entry of entries) {
          if (entry.beside === (entry.side === 1 ? after : entry.side === -1 ? before : -1) && text.startsWith(entry.literal, position - entry.offset)) return true;
        }
        position = text.indexOf(pivot, position + 1);
      }
    }
    return false;
  }
}

/** `word`, `Word` and `WORD`: the spellings a case-sensitive gate checks for a case-insensitive word. */
export function casings(words: readonly string[]): string[] {
  return words.flatMap((word) => [word.toLowerCase(), word.charAt(0).toUpperCase() + word.slice(1).toLowerCase(), word.toUpperCase()]);
}

/**
 * Spans (`[start, end)` offsets) found so far, to ask whether a new one overlaps any of them in
 * about constant time, as `spans.some((known) => known.start < end && known.end > start && …)`
 * does in time proportional to the spans found: a text of records (a JSON or CSV export, a log)
 * holds thousands of phone numbers and e-mail addresses, and asking that of each made the
 * classifier quadratic in them (5 000 records: 1.3 s for 0.7 MB, bench/RESULTS.md).
 *
 * Each span is filed under every block of BLOCK characters it covers (an empty span under the
 * block of its offset), so two overlapping spans share a block; a query reads only the spans filed
 * under its own blocks and applies the exact test to them.
 *
 * The blocks are linked lists in flat arrays (a typed array of heads, indexed by block; the
 * filings' span and next filing as arrays of small integers), not a Map of arrays: one text's
 * scans fill several indexes with thousands of spans each, and a Map entry and an array per block
 * were a tenth of a record-shaped text's classification with the garbage they left (bench/RESULTS.md).
 */
export class SpanIndex<T extends { start: number; end: number }> {
  private static readonly BLOCK = 256;
  private readonly spans: T[] = [];
  /** Per block: the last filing under it, plus one (0: none). Grown as spans further on are added. */
  private heads = new Int32Array(64);
  /** Per filing: its span's index in `spans`, and the filing before it under the same block (plus one; 0: none). */
  private readonly filedSpans: number[] = [];
  private readonly filedBefore: number[] = [];

  add(span: T): void {
    const index = this.spans.push(span) - 1;
    const last = SpanIndex.blockOf(Math.max(span.start, span.end - 1));
    if (last >= this.heads.length) {
      const grown = new Int32Array(Math.max(last + 1, this.heads.length * 2));
      grown.set(this.heads);
      this.heads = grown;
    }
    for (let block = SpanIndex.blockOf(span.start); block <= last; block += 1) {
      this.filedSpans.push(index);
      this.filedBefore.push(this.heads[block] as number);
      this.heads[block] = this.filedSpans.length;
    }
  }

  /** Whether a span added so far overlaps `[start, end)` (`known.start < end && known.end > start`) and passes `test`. */
  overlaps(start: number, end: number, test?: (known: T) => boolean): boolean {
    const last = Math.min(SpanIndex.blockOf(Math.max(start, end - 1)), this.heads.length - 1);
    for (let block = Math.max(SpanIndex.blockOf(start), 0); block <= last; block += 1) {
      for (let filing = this.heads[block] as number; filing !== 0; filing = this.filedBefore[filing - 1] as number) {
        const known = this.spans[this.filedSpans[filing - 1] as number] as T;
        if (known.start < end && known.end > start && (test === undefined || test(known))) return true;
      }
    }
    return false;
  }

  private static blockOf(offset: number): number {
    return Math.floor(offset / SpanIndex.BLOCK);
  }
}
