/**
 * A static check for regular expressions that can backtrack catastrophically (ReDoS): shapes on
 * which V8's backtracking engine takes time exponential in the length of a text that almost
 * matches, such as `(a+)+$`, `(a|a)*`, `(\w+\s?)*` or `(.*a){12}`. Operator patterns run on
 * every prompt, and a JavaScript regular expression cannot be interrupted, so one such pattern
 * lets any caller hang classification with a prompt.
 *
 * The check parses the expression (ECMAScript syntax without the `u` flag, as the policy
 * compiles it) and looks inside every repeated part (a quantifier with a maximum of 2 or more)
 * for a choice the engine can get wrong and retry: an alternation whose alternatives can start
 * with the same character, an optional or repeated part whose characters can also start what
 * follows it (inside the loop, the next repetition included), or a backreference. Without such a
 * choice each repetition of the loop is matched one way only, and the text is split one way.
 * It is conservative: it may refuse a safe expression (`(ab|ac)*`), with a hint to rewrite it,
 * rather than accept an unsafe one.
 *
 * One polynomial shape is refused too, because operator patterns meet it on every long line: an
 * expression that can start with an unbounded repetition of almost any character (`.*secret`,
 * `(?=.*x)`, `[^"]+"`). The search tries the expression at every position, and from each one that
 * repetition runs to the end of the line before giving back: time quadratic in the line's length
 * (`.*secret.*` took 6.5 s over 108 KB of text without the word, measured on Node 20). Other
 * polynomial slowdowns outside loops (`\s*\s*x` on a long run of spaces) are not looked for.
 */

import { LruMap } from './lru.js';

/** Why an expression can backtrack catastrophically, and how to rewrite it. Safe to print. */
export interface BacktrackingRisk {
  /** The shape found, quoting the fragments of the expression involved. */
  message: string;
  hint: string;
}

/**
 * The first catastrophic-backtracking shape in `source` (compiled with `flags`), or undefined
 * when there is none. `source` must be an expression `new RegExp` accepts.
 */
export function catastrophicBacktrackingRisk(source: string, flags = ''): BacktrackingRisk | undefined {
  try {
    return new Analysis(source, flags.includes('i'), flags.includes('s')).run(new Parser(source).parse());
  } catch {
    // A RangeError from deep nesting, or syntax this parser does not know: refuse rather than guess.
    return {
      message: 'it is too deeply nested or too unusual for the backtracking check to prove it safe',
      hint: 'simplify the expression: fewer nested groups, no unusual escapes',
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Character sets: sorted, merged, inclusive UTF-16 code unit ranges.

type CharRanges = readonly (readonly [number, number])[];

const MAX_CODE_UNIT = 0xffff;
const NOTHING: CharRanges = [];
const EVERYTHING: CharRanges = [[0, MAX_CODE_UNIT]];
const DIGIT: CharRanges = [[0x30, 0x39]];
const WORD: CharRanges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: CharRanges = normalize([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
const NOT_DIGIT = complement(DIGIT);
const NOT_WORD = complement(WORD);
const NOT_SPACE = complement(SPACE);
const LINE_TERMINATORS: CharRanges = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

function normalize(ranges: (readonly [number, number])[]): CharRanges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [low, high] of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged;
}

function union(a: CharRanges, b: CharRanges): CharRanges {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return normalize([...a, ...b]);
}

function complement(ranges: CharRanges): CharRanges {
  const result: [number, number][] = [];
  let next = 0;
  for (const [low, high] of ranges) {
    if (low > next) result.push([next, low - 1]);
    next = high + 1;
  }
  if (next <= MAX_CODE_UNIT) result.push([next, MAX_CODE_UNIT]);
  return result;
}

function overlaps(a: CharRanges, b: CharRanges): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const left = a[i] as readonly [number, number];
    const right = b[j] as readonly [number, number];
    if (left[1] < right[0]) i += 1;
    else if (right[1] < left[0]) j += 1;
    else return true;
  }
  return false;
}

/**
 * Adds the other case of every letter, as the `i` flag matches them (without `u`, a code unit
 * matches those with the same `toUpperCase`; mapping each to its upper and lower case covers
 * that, and a little more, which only makes the check stricter).
 */
function caseFold(ranges: CharRanges): CharRanges {
  const key = ranges.join(',');
  let result = folded.get(key);
  if (result === undefined) {
    const added: [number, number][] = [];
    for (const [code, other] of casePairs()) {
      if (inRanges(ranges, code)) added.push([other, other]);
    }
    result = added.length === 0 ? ranges : union(ranges, normalize(added));
    folded.set(key, result);
  }
  return result;
}

/** Folded sets by their ranges: a pattern often repeats a class (`\w`, `[^a]`). */
const folded = new LruMap<string, CharRanges>(256);
let pairs: [number, number][] | undefined;

/** Every (code unit, its other case) pair of the BMP, computed once. */
function casePairs(): [number, number][] {
  if (pairs === undefined) {
    pairs = [];
    for (let code = 0; code <= MAX_CODE_UNIT; code += 1) {
      const character = String.fromCharCode(code);
      for (const other of new Set([character.toLowerCase(), character.toUpperCase()])) {
        if (other.length === 1 && other !== character) pairs.push([code, other.charCodeAt(0)]);
      }
    }
  }
  return pairs;
}

function inRanges(ranges: CharRanges, code: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const range = ranges[middle] as readonly [number, number];
    if (code < range[0]) high = middle - 1;
    else if (code > range[1]) low = middle + 1;
    else return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree. Offsets point into the source so findings can quote the fragments.

interface Span {
  start: number;
  end: number;
}

type RegexNode =
  | (Span & { kind: 'characters'; ranges: CharRanges })
  | (Span & { kind: 'assertion' })
  | (Span & { kind: 'lookaround'; body: RegexNode })
  | (Span & { kind: 'group'; body: RegexNode })
  | (Span & { kind: 'backreference' })
  | (Span & { kind: 'sequence'; items: RegexNode[] })
  | (Span & { kind: 'alternation'; alternatives: RegexNode[] })
  | (Span & { kind: 'quantified'; body: RegexNode; min: number; max: number });

type Quantified = Extract<RegexNode, { kind: 'quantified' }>;

/** Recursive descent over ECMAScript regular expression syntax (Annex B, no `u` flag). */
class Parser {
  private position = 0;
  private readonly captureGroups: number;
  private readonly hasNamedGroups: boolean;

  constructor(private readonly source: string) {
    ({ captureGroups: this.captureGroups, hasNamedGroups: this.hasNamedGroups } = countGroups(source));
  }

  parse(): RegexNode {
    const tree = this.alternation();
    if (this.position < this.source.length) throw new SyntaxError(`unexpected ${this.source[this.position]} at ${this.position}`);
    return tree;
  }

  private peek(offset = 0): string | undefined {
    return this.source[this.position + offset];
  }

  private alternation(): RegexNode {
    const start = this.position;
    const alternatives = [this.sequence()];
    while (this.peek() === '|') {
      this.position += 1;
      alternatives.push(this.sequence());
    }
    if (alternatives.length === 1) return alternatives[0] as RegexNode;
    return { kind: 'alternation', alternatives, start, end: this.position };
  }

  private sequence(): RegexNode {
    const start = this.position;
    const items: RegexNode[] = [];
    for (let next = this.peek(); next !== undefined && next !== '|' && next !== ')'; next = this.peek()) {
      const atom = this.atom();
      items.push(this.quantifier(atom) ?? atom);
    }
    return { kind: 'sequence', items, start, end: this.position };
  }

  private quantifier(atom: RegexNode): RegexNode | undefined {
    const next = this.peek();
    let min: number;
    let max: number;
    if (next === '*' || next === '+' || next === '?') {
      min = next === '+' ? 1 : 0;
      max = next === '?' ? 1 : Infinity;
      this.position += 1;
    } else if (next === '{') {
      const braces = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.position));
      if (braces === null) return undefined; // Annex B: a `{` that starts no quantifier is a literal
      min = Number(braces[1]);
      max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
      this.position += braces[0].length;
    } else {
      return undefined;
    }
    if (this.peek() === '?') this.position += 1; // lazy: backtracks just as much when the match fails
    return { kind: 'quantified', body: atom, min, max, start: atom.start, end: this.position };
  }

  private atom(): RegexNode {
    const start = this.position;
    const character = this.peek() as string;
    this.position += 1;
    switch (character) {
      case '(':
        return this.group(start);
      case '[':
        return { kind: 'characters', ranges: this.characterClass(), start, end: this.position };
      case '.':
        return { kind: 'characters', ranges: DOT_PLACEHOLDER, start, end: this.position };
      case '^':
      case '$':
        return { kind: 'assertion', start, end: this.position };
      case '\\':
        return this.atomEscape(start);
      default:
        return { kind: 'characters', ranges: single(character.charCodeAt(0)), start, end: this.position };
    }
  }

  private group(start: number): RegexNode {
    let lookaround = false;
    if (this.peek() === '?') {
      const marker = this.source.slice(this.position, this.position + 3);
      if (marker.startsWith('?:')) this.position += 2;
      else if (marker.startsWith('?=') || marker.startsWith('?!')) {
        this.position += 2;
        lookaround = true;
      } else if (marker === '?<=' || marker === '?<!') {
        this.position += 3;
        lookaround = true;
      } else if (marker.startsWith('?<')) {
        const close = this.source.indexOf('>', this.position);
        if (close < 0) throw new SyntaxError('unterminated group name');
        this.position = close + 1;
      } else {
        throw new SyntaxError(`unknown group kind at ${start}`);
      }
    }
    const body = this.alternation();
    if (this.peek() !== ')') throw new SyntaxError(`unterminated group at ${start}`);
    this.position += 1;
    return { kind: lookaround ? 'lookaround' : 'group', body, start, end: this.position };
  }

  private atomEscape(start: number): RegexNode {
    const character = this.peek();
    if (character === undefined) throw new SyntaxError('\\ at end of pattern');
    if (character === 'b' || character === 'B') {
      this.position += 1;
      return { kind: 'assertion', start, end: this.position };
    }
    if (/[1-9]/.test(character)) {
      const digits = /^\d+/.exec(this.source.slice(this.position))?.[0] ?? character;
      if (Number(digits) <= this.captureGroups) {
        this.position += digits.length;
        return { kind: 'backreference', start, end: this.position };
      }
    }
    if (character === 'k' && this.hasNamedGroups) {
      const close = this.source.indexOf('>', this.position);
      if (this.peek(1) !== '<' || close < 0) throw new SyntaxError('invalid named backreference');
      this.position = close + 1;
      return { kind: 'backreference', start, end: this.position };
    }
    return { kind: 'characters', ranges: this.characterEscape(false), start, end: this.position };
  }

  /** After a `\`: the characters it stands for (inside a class, `\b` is a backspace). */
  private characterEscape(inClass: boolean): CharRanges {
    const character = this.peek() as string;
    this.position += 1;
    switch (character) {
      case 'd':
        return DIGIT;
      case 'D':
        return NOT_DIGIT;
      case 'w':
        return WORD;
      case 'W':
        return NOT_WORD;
      case 's':
        return SPACE;
      case 'S':
        return NOT_SPACE;
      case 'n':
        return single(0x0a);
      case 'r':
        return single(0x0d);
      case 't':
        return single(0x09);
      case 'v':
        return single(0x0b);
      case 'f':
        return single(0x0c);
      case 'b':
        return inClass ? single(0x08) : single(0x62);
      case 'c': {
        const letter = this.peek();
        if (letter !== undefined && /[A-Za-z]/.test(letter)) {
          this.position += 1;
          return single(letter.charCodeAt(0) % 32);
        }
        this.position -= 1; // Annex B: `\c` without a letter is a backslash followed by `c`
        return single(0x5c);
      }
      case 'x':
      case 'u': {
        const length = character === 'x' ? 2 : 4;
        const hex = this.source.slice(this.position, this.position + length);
        if (hex.length === length && /^[0-9A-Fa-f]+$/.test(hex)) {
          this.position += length;
          return single(parseInt(hex, 16));
        }
        return single(character.charCodeAt(0));
      }
      default: {
        if (/[0-7]/.test(character)) {
          // Annex B legacy octal (a digit that names no group, or any digit inside a class).
          const octal = /^[0-7]{0,2}/.exec(this.source.slice(this.position))?.[0] ?? '';
          const value = parseInt(character + octal, 8);
          const digits = value > 0o377 ? octal.slice(0, -1) : octal;
          this.position += digits.length;
          return single(parseInt(character + digits, 8));
        }
        return single(character.charCodeAt(0)); // identity escape: `\.`, `\-`, `\8`...
      }
    }
  }

  /** After `[`: the characters of the class, negation applied. */
  private characterClass(): CharRanges {
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.position += 1;
    }
    let ranges: CharRanges = NOTHING;
    while (this.peek() !== ']') {
      if (this.peek() === undefined) throw new SyntaxError('unterminated character class');
      const from = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        const dash = this.position;
        this.position += 1;
        const to = this.classAtom();
        const low = singleCode(from);
        const high = singleCode(to);
        if (low !== undefined && high !== undefined) {
          ranges = union(ranges, [[low, high]]);
          continue;
        }
        // Annex B: `[\d-x]` is `\d`, `-` and `x`.
        ranges = union(ranges, union(union(from, to), single(this.source.charCodeAt(dash))));
        continue;
      }
      ranges = union(ranges, from);
    }
    this.position += 1;
    return negated ? complement(ranges) : ranges;
  }

  private classAtom(): CharRanges {
    const character = this.peek() as string;
    this.position += 1;
    if (character !== '\\') return single(character.charCodeAt(0));
    if (this.peek() === undefined) throw new SyntaxError('\\ at end of pattern');
    return this.characterEscape(true);
  }
}

/**
 * A repeated set at least this large (UTF-16 code units) counts as "almost any character" for the
 * leading-sweep check: `.`, `\S`, `\D`, `\W`, negated classes. Long runs of such characters are
 * common (minified JSON, base64, long lines); runs of `\w` or `[a-z]` are not.
 */
const BROAD_SET_SIZE = 0x8000;

function rangeSize(ranges: CharRanges): number {
  return ranges.reduce((total, [low, high]) => total + high - low + 1, 0);
}

/** Stands for `.` until the analysis knows whether the `s` flag is set. */
const DOT_PLACEHOLDER: CharRanges = [[-1, -1]];

function single(code: number): CharRanges {
  return [[code, code]];
}

function singleCode(ranges: CharRanges): number | undefined {
  const only = ranges.length === 1 ? ranges[0] : undefined;
  return only !== undefined && only[0] === only[1] ? only[0] : undefined;
}

/** How many capturing groups the expression has, and whether any is named (so `\k<...>` is a backreference). */
function countGroups(source: string): { captureGroups: number; hasNamedGroups: boolean } {
  let captureGroups = 0;
  let hasNamedGroups = false;
  let inClass = false;
  for (let index = 0; index < source.length; index += 1) {
    const character = source[index];
    if (character === '\\') index += 1;
    else if (inClass) inClass = character !== ']';
    else if (character === '[') inClass = true;
    else if (character === '(') {
      if (source[index + 1] !== '?') captureGroups += 1;
      else if (source[index + 2] === '<' && source[index + 3] !== '=' && source[index + 3] !== '!') {
        captureGroups += 1;
        hasNamedGroups = true;
      }
    }
  }
  return { captureGroups, hasNamedGroups };
}

// ---------------------------------------------------------------------------------------------
// Analysis.

class FoundRisk {
  constructor(readonly risk: BacktrackingRisk) {}
}

class Analysis {
  private readonly firsts = new Map<RegexNode, CharRanges>();
  private readonly nullables = new Map<RegexNode, boolean>();
  private readonly dot: CharRanges;

  constructor(
    private readonly source: string,
    private readonly ignoreCase: boolean,
    dotAll: boolean,
  ) {
    this.dot = dotAll ? EVERYTHING : complement(LINE_TERMINATORS);
  }

  run(tree: RegexNode): BacktrackingRisk | undefined {
    try {
      this.walk(tree, NOTHING, undefined);
      this.checkLeadingSweep(tree);
    } catch (error) {
      if (error instanceof FoundRisk) return error.risk;
      throw error;
    }
    return undefined;
  }

  /**
   * Visits `node`, which `follow` can follow. `loop` is the innermost repeated part around it;
   * outside any loop a wrong choice costs only a polynomial amount of retrying, so choices are
   * checked inside loops only. The end of a loop's body is followed by the body's own start
   * (the next repetition) and, for a loop nested in another, by what follows the loop.
   */
  private walk(node: RegexNode, follow: CharRanges, loop: Quantified | undefined): void {
    switch (node.kind) {
      case 'characters':
      case 'assertion':
        return;
      case 'backreference':
        // `(\d)\1+` repeats one fixed text; a backreference beside other parts of a loop is refused.
        if (loop !== undefined && loop.body !== node) throw this.backreference(node, loop);
        return;
      case 'lookaround':
        // Lookarounds are atomic: the engine never backtracks into them once they matched, so only
        // loops inside them matter, each on its own.
        this.walk(node.body, NOTHING, undefined);
        return;
      case 'group':
        this.walk(node.body, follow, loop);
        return;
      case 'sequence': {
        let after = follow;
        for (let index = node.items.length - 1; index >= 0; index -= 1) {
          const item = node.items[index] as RegexNode;
          this.walk(item, after, loop);
          after = this.nullable(item) ? union(this.first(item), after) : this.first(item);
        }
        return;
      }
      case 'alternation': {
        if (loop !== undefined) this.checkAlternatives(node, follow, loop);
        for (const alternative of node.alternatives) this.walk(alternative, follow, loop);
        return;
      }
      case 'quantified': {
        if (node.max === 0) return;
        if (loop !== undefined && node.max > node.min && overlaps(this.first(node.body), follow)) {
          throw node.max >= 2 ? this.nestedRepetition(node, loop) : this.ambiguousOptional(node, loop);
        }
        if (node.max >= 2) {
          const again = this.first(node.body);
          this.walk(node.body, loop === undefined ? again : union(again, follow), node);
        } else {
          this.walk(node.body, follow, loop);
        }
        return;
      }
    }
  }

  /**
   * Throws when a search attempt can start with an unbounded repetition of almost any character
   * (see the header). Returns whether every match of `node` is anchored (`^`) or has consumed a
   * character by its end, i.e. whether what follows `node` is no longer at an attempt's start.
   */
  private checkLeadingSweep(node: RegexNode): boolean {
    switch (node.kind) {
      case 'characters':
      case 'backreference':
        return true;
      case 'assertion':
        // `^` ties every attempt to the text's (or, with `m`, a line's) start: one sweep per line.
        return this.source.slice(node.start, node.end) === '^';
      case 'lookaround':
        // `(?=.*x)` at the start sweeps the line from every position just the same.
        this.checkLeadingSweep(node.body);
        return false;
      case 'group':
        return this.checkLeadingSweep(node.body);
      case 'sequence':
        return node.items.some((item) => this.checkLeadingSweep(item));
      case 'alternation':
        return node.alternatives.map((alternative) => this.checkLeadingSweep(alternative)).every(Boolean);
      case 'quantified': {
        if (node.max === 0) return false;
        if (node.max === Infinity && rangeSize(this.first(node.body)) >= BROAD_SET_SIZE) throw this.leadingSweep(node);
        const settled = this.checkLeadingSweep(node.body);
        return node.min > 0 && settled;
      }
    }
  }

  /**
   * Alternatives compete when two can start with the same character, when two can match nothing,
   * or when one can match nothing and another starts like what follows the alternation.
   */
  private checkAlternatives(node: Extract<RegexNode, { kind: 'alternation' }>, follow: CharRanges, loop: Quantified): void {
    let startsSoFar: CharRanges = NOTHING;
    let emptySoFar: RegexNode | undefined;
    const earlier: RegexNode[] = [];
    for (const alternative of node.alternatives) {
      const first = this.first(alternative);
      const empty = this.nullable(alternative);
      let rival: RegexNode | undefined;
      if (overlaps(first, startsSoFar)) rival = earlier.find((other) => overlaps(this.first(other), first));
      else if (empty && emptySoFar !== undefined) rival = emptySoFar;
      else if (empty && overlaps(startsSoFar, follow)) rival = earlier.find((other) => overlaps(this.first(other), follow));
      else if (emptySoFar !== undefined && overlaps(first, follow)) rival = emptySoFar;
      if (rival !== undefined) throw this.overlappingAlternatives(node, rival, alternative, loop);
      startsSoFar = union(startsSoFar, first);
      if (empty) emptySoFar ??= alternative;
      earlier.push(alternative);
    }
  }

  private first(node: RegexNode): CharRanges {
    let result = this.firsts.get(node);
    if (result !== undefined) return result;
    switch (node.kind) {
      case 'characters':
        result = node.ranges === DOT_PLACEHOLDER ? this.dot : this.ignoreCase ? caseFold(node.ranges) : node.ranges;
        break;
      case 'assertion':
      case 'lookaround':
        result = NOTHING;
        break;
      case 'backreference':
        result = EVERYTHING; // whatever the group captured
        break;
      case 'group':
        result = this.first(node.body);
        break;
      case 'sequence': {
        result = NOTHING;
        for (const item of node.items) {
          result = union(result, this.first(item));
          if (!this.nullable(item)) break;
        }
        break;
      }
      case 'alternation':
        result = node.alternatives.reduce<CharRanges>((all, alternative) => union(all, this.first(alternative)), NOTHING);
        break;
      case 'quantified':
        result = node.max === 0 ? NOTHING : this.first(node.body);
        break;
    }
    this.firsts.set(node, result);
    return result;
  }

  private nullable(node: RegexNode): boolean {
    let result = this.nullables.get(node);
    if (result !== undefined) return result;
    switch (node.kind) {
      case 'characters':
        result = false;
        break;
      case 'assertion':
      case 'lookaround':
      case 'backreference':
        result = true;
        break;
      case 'group':
        result = this.nullable(node.body);
        break;
      case 'sequence':
        result = node.items.every((item) => this.nullable(item));
        break;
      case 'alternation':
        result = node.alternatives.some((alternative) => this.nullable(alternative));
        break;
      case 'quantified':
        result = node.min === 0 || this.nullable(node.body);
        break;
    }
    this.nullables.set(node, result);
    return result;
  }

  private quote(node: Span): string {
    const text = this.source.slice(node.start, node.end);
    return `\`${text.length > 40 ? `${text.slice(0, 39)}…` : text}\``;
  }

  private leadingSweep(repetition: Quantified): FoundRisk {
    return new FoundRisk({
      message: `it can start with ${this.quote(repetition)}, an unbounded repetition of almost any character: the search tries it from every position of a line and each try runs to the line's end, so a long line without a match takes time quadratic in its length (seconds for 100 KB)`,
      hint: 'drop the leading repetition (a pattern is found anywhere in the text without it: `secret` rather than `.*secret.*`), bound it (`.{0,80}secret`), or start with `^` to match from the start of the text or, with `m`, of a line',
    });
  }

  private nestedRepetition(inner: Quantified, loop: Quantified): FoundRisk {
    return new FoundRisk({
      message: `nested quantifiers: ${this.quote(inner)} inside the repeated ${this.quote(loop)} can match the same characters as what follows it (the next repetition included)`,
      hint: 'rewrite without nested quantifiers, e.g. `(a+)+$` as `a+$`; a repeated group may contain a repeated part only when a character that part cannot match ends the group, as in `([a-z]+\\.)+`',
    });
  }

  private ambiguousOptional(optional: Quantified, loop: Quantified): FoundRisk {
    return new FoundRisk({
      message: `the optional ${this.quote(optional)} inside the repeated ${this.quote(loop)} can match the same characters as what follows it`,
      hint: 'make what follows the optional part start with a character it cannot match, or merge them, e.g. `(a?a)+` as `a+`',
    });
  }

  private overlappingAlternatives(node: Span, left: Span, right: Span, loop: Quantified): FoundRisk {
    return new FoundRisk({
      message: `overlapping alternatives: ${this.quote(left)} and ${this.quote(right)} of ${this.quote(node)} inside the repeated ${this.quote(loop)} can match the same text`,
      hint: 'make the alternatives start with different characters or merge them, e.g. `(a|ab)*` as `(ab?)*` and `(a|b)*` as `[ab]*`',
    });
  }

  private backreference(node: Span, loop: Quantified): FoundRisk {
    return new FoundRisk({
      message: `backreference ${this.quote(node)} inside the repeated ${this.quote(loop)}`,
      hint: 'remove the backreference from the repeated group, or spell out the text it should repeat',
    });
  }
}
