/**
 * The decoded view the classifier also scans, so a value written in an encoding the receiving
 * model reads as easily as plain text is still found: percent-encoding (`postgres%3A%2F%2F…`, a
 * URL or form field), string escapes (JSON's `\u0041KIA…` and `postgres:\/\/…`, what a tool call's
 * arguments carry; `\x41` of C, JavaScript and Python; `\u{41}` of JavaScript, Rust and Swift), HTML character references (`&#64;`,
 * `&#x40;`, `&commat;`), hex (`414b4941…`, an even run of 16 hex digits or more), base64
 * (`QUtJQUlP…`, a basic-auth header, a config blob; also split by single spaces or line breaks at
 * irregular places, see `splitBase64Run`), quoted-printable (an email's body as its
 * source has it: `key=3Dvalue`, a line ended by a soft break `=` wherever the 76-character limit
 * fell, inside a key or an address; see `quotedPrintableRuns`), and line wrapping as a PDF's
 * extracted text has it: a line break right after a hyphen inside a word (`jane@exam-⏎ple.com`) is removed with
 * the hyphen, one inside a number (`4111 1111 11-⏎11 1111`) leaving the hyphen, and one after a
 * number written in groups, before a digit (`DE89 3704 0044⏎0532 …`), is read as a space. Each
 * run of an encoding is replaced by what it decodes to; a hex or base64 run only when that is text
 * (valid UTF-8 without control characters but white space and a terminal's escapes, UTF-16 or
 * Latin-1 text: see `bytesText`), so identifiers, hashes and
 * binary data stay as they are; a base64 or hex run of compressed data (gzip, zlib) is inflated,
 * within bounds, and read as the text it holds (see `decodeCompressed`). Encodings inside encodings (base64 of a percent-encoded URL) are
 * decoded up to `MAX_DEPTH` times. The original text is always scanned as well: the view only adds
 * findings.
 */

import { isUtf8 } from 'node:buffer';
import { constants as zlibConstants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

import { lastAtOrBefore } from '../common/binary-search.js';
import { printableRuns } from './image-bytes.js';

/** What a decoded run was written in. */
export type Encoding =
  | 'percent-encoding'
  | 'string escapes'
  | 'HTML character references'
  | 'hex'
  | 'base64'
  | 'gzip-compressed base64'
  | 'zlib-compressed base64'
  | 'gzip-compressed hex'
  | 'quoted-printable'
  | 'line wrapping';

/**
 * An encoded run that could not be read safely, at the original's offsets: compressed data that
 * inflates past its bound (a decompression bomb) or a gzip stream that does not inflate. The
 * classifier fails closed on it, as on a PNG's compressed text chunk that cannot be read.
 */
export interface DecodeProblem {
  start: number;
  end: number;
  reason: string;
}

/** A text with its encoded runs decoded, with the way back to the original's UTF-16 offsets. */
export interface DecodedText {
  text: string;
  /** Where a span starting at `index` of the decoded text starts in the original (a decoded run maps to its whole encoded run). */
  originalStart(index: number): number;
  /** Where a span ending at `index` (exclusive) of the decoded text ends in the original. */
  originalEnd(index: number): number;
  /** The encodings of the runs the decoded span [start, end) touches, outermost first. */
  encodingsIn(start: number, end: number): Encoding[];
  /**
   * The spans of the decoded text within `context` characters of a decoded run (of any layer),
   * merged, in order: a match that touches no decoded run was found in the original already, so
   * only these need scanning.
   */
  windows(context: number): { start: number; end: number }[];
  /**
   * The text after fewer layers of decoding, outermost first (none when one layer was decoded):
   * what a detector needs can lie between two layers (`Basic <base64>` percent-encoded as a whole
   * reads `Basic user:password` after both layers, where no `Basic` value is base64 any more). Each
   * one's windows are those around the runs the next layer decodes.
   */
  earlier: DecodedText[];
  /** Where the runs the first layer decodes lie in the text given, in order. */
  encodedRuns: readonly { start: number; end: number }[];
}

/** How many layers of encoding are undone (base64 of a percent-encoded URL is two). */
const MAX_DEPTH = 3;
/** A hex or base64 run shorter than this is a word or an identifier far more often than an encoding. */
const MIN_BASE64_LENGTH = 16;
/** Runs of percent-escapes, of string escapes and of HTML character references. */
const ESCAPED_RUN = /((?:%[0-9A-Fa-f]{2})+)|((?:\\(?:u[0-9A-Fa-f]{4}|u\{[0-9A-Fa-f]{1,6}\}|x[0-9A-Fa-f]{2}|["\\/]))+)|((?:&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});)+)/g;
/** The characters of base64, either alphabet (hex digits are among them), by char code. */
const BASE64_ALPHABET = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') BASE64_ALPHABET[character.charCodeAt(0)] = 1;
/** The named references of the characters detectors read (`&commat;` in an address, `&colon;&sol;&sol;` in a URL); others stay as written. */
const NAMED_REFERENCES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  commat: '@',
  colon: ':',
  sol: '/',
  bsol: '\\',
  period: '.',
  lowbar: '_',
  hyphen: '-',
  dash: '-',
  equals: '=',
  plus: '+',
  num: '#',
  percnt: '%',
  quest: '?',
  nbsp: ' ',
};
const HEX_RUN = /^[0-9A-Fa-f]+$/;

interface DecodedRun {
  originalStart: number;
  originalEnd: number;
  decodedStart: number;
  decodedEnd: number;
  encoding: Encoding;
}

/** One layer of decoding: `undefined` when the text holds no run that decodes to something else. */
interface Layer {
  text: string;
  runs: DecodedRun[];
}

/**
 * `text` with its encoded runs decoded (see the module comment); undefined when nothing was.
 * `problems`: where the runs that could not be read safely are added (see `DecodeProblem`), at `text`'s offsets.
 */
export function decodeForScan(text: string, problems?: DecodeProblem[]): DecodedText | undefined {
  const layers: Layer[] = [];
  let current = text;
  const budget = { remaining: MAX_INFLATED_BYTES };
  for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
    const found: DecodeProblem[] = [];
    const layer = decodeLayer(current, budget, found);
    // A problem in a later layer's text lies, in the original, where the runs it came from do.
    for (const problem of found) {
      problems?.push({
        ...problem,
        start: layers.reduceRight((at, earlier) => mapAcross(earlier.runs, at, 'start', 'back'), problem.start),
        end: layers.reduceRight((at, earlier) => mapAcross(earlier.runs, at, 'end', 'back'), problem.end),
      });
    }
    if (layer === undefined) break;
    layers.push(layer);
    current = layer.text;
  }
  if (layers.length === 0) return undefined;
  const earlier = layers.slice(0, -1).map((_, index) => viewOf(layers.slice(0, index + 1), (layers[index + 1] as Layer).runs, []));
  return viewOf(layers, undefined, earlier);
}

/**
 * The text after `layers`, mapped back to the original. `nextRuns`: the runs the next layer
 * decodes, which alone this view's windows surround (undefined: those of every layer, carried forward).
 */
function viewOf(layers: Layer[], nextRuns: DecodedRun[] | undefined, earlier: DecodedText[]): DecodedText {
  const current = (layers.at(-1) as Layer).text;
  // A span of the last layer maps back through each layer in turn, innermost first.
  const back = (index: number, side: 'start' | 'end'): number => layers.reduceRight((at, layer) => mapAcross(layer.runs, at, side, 'back'), index);
  return {
    earlier,
    encodedRuns: (layers[0] as Layer).runs.map((run) => ({ start: run.originalStart, end: run.originalEnd })),
    text: current,
    originalStart: (index) => back(index, 'start'),
    originalEnd: (index) => back(index, 'end'),
    encodingsIn: (start, end) => {
      const encodings: Encoding[] = [];
      let from = start;
      let to = end;
      for (let layerIndex = layers.length - 1; layerIndex >= 0; layerIndex -= 1) {
        const { runs } = layers[layerIndex] as Layer;
        for (const run of runs) if (run.decodedStart < to && run.decodedEnd > from && !encodings.includes(run.encoding)) encodings.unshift(run.encoding);
        from = mapAcross(runs, from, 'start', 'back');
        to = mapAcross(runs, to, 'end', 'back');
      }
      return encodings;
    },
    windows: (context) => {
      const spans: { start: number; end: number }[] = [];
      if (nextRuns !== undefined) {
        // The next layer's runs lie in this view's text as they are.
        for (const run of nextRuns) spans.push({ start: Math.max(0, run.originalStart - context), end: Math.min(current.length, run.originalEnd + context) });
      } else {
        // Each layer's runs, carried forward through the layers after it to the decoded text.
        layers.forEach((layer, layerIndex) => {
          for (const run of layer.runs) {
            let start = run.decodedStart;
            let end = run.decodedEnd;
            for (const later of layers.slice(layerIndex + 1)) {
              start = mapAcross(later.runs, start, 'start', 'forward');
              end = mapAcross(later.runs, end, 'end', 'forward');
            }
            spans.push({ start: Math.max(0, start - context), end: Math.min(current.length, end + context) });
          }
        });
      }
      spans.sort((a, b) => a.start - b.start);
      const merged: { start: number; end: number }[] = [];
      for (const span of spans) {
        const last = merged.at(-1);
        if (last !== undefined && span.start <= last.end) last.end = Math.max(last.end, span.end);
        else merged.push({ ...span });
      }
      return merged;
    },
  };
}

function decodeLayer(text: string, budget: InflateBudget, problems: DecodeProblem[]): Layer | undefined {
  const runs: DecodedRun[] = [];
  const pieces: string[] = [];
  let copiedUpTo = 0;
  let shift = 0;
  for (const match of encodedRuns(text)) {
    const { run, percent, escapes, references, wrap, quotedPrintable } = match;
    // A run of hex digits is also a base64 run: read as hex first (a hash decodes to no text either way).
    const hex = percent === undefined && escapes === undefined && references === undefined && wrap === undefined && quotedPrintable === undefined ? decodeHexText(run) : undefined;
    let encoding: Encoding =
      quotedPrintable !== undefined
        ? 'quoted-printable'
        : wrap !== undefined
          ? 'line wrapping'
          : percent !== undefined
            ? 'percent-encoding'
            : escapes !== undefined
              ? 'string escapes'
              : references !== undefined
                ? 'HTML character references'
                : hex !== undefined
                  ? 'hex'
                  : 'base64';
    // A soft break or a line wrap carries what it stands for; the other runs are decoded here.
    let decoded =
      quotedPrintable ??
      wrap ??
      (encoding === 'percent-encoding'
        ? decodePercent(run)
        : encoding === 'string escapes'
          ? decodeStringEscapes(run)
          : encoding === 'HTML character references'
            ? decodeCharacterReferences(run)
            : (hex ?? decodeBase64Text(run)));
    if (decoded === undefined && encoding === 'base64') {
      const inflated = decodeCompressed(run, budget);
      if (inflated !== undefined && 'problem' in inflated) {
        problems.push({ start: match.index, end: match.index + run.length, reason: inflated.problem });
        continue;
      }
      if (inflated !== undefined) ({ text: decoded, encoding } = inflated);
    }
    if (decoded === undefined || decoded === run) continue;
    const originalStart = match.index;
    const originalEnd = originalStart + run.length;
    runs.push({ originalStart, originalEnd, decodedStart: originalStart + shift, decodedEnd: originalStart + shift + decoded.length, encoding });
    pieces.push(text.slice(copiedUpTo, originalStart), decoded);
    copiedUpTo = originalEnd;
    shift += decoded.length - run.length;
  }
  if (runs.length === 0) return undefined;
  pieces.push(text.slice(copiedUpTo));
  return { text: pieces.join(''), runs };
}

interface EncodedRun {
  index: number;
  run: string;
  /** Set (to the run) for a run of percent-escapes, of string escapes, of character references; none for base64. */
  percent?: string;
  escapes?: string;
  references?: string;
  /** Set for a line break that wrapping put inside a word or a number: what it stands for (see `lineWrapRuns`). */
  wrap?: string;
  /** Set for a quoted-printable soft line break or run of `=XX` escapes: what it decodes to (see `quotedPrintableRuns`). */
  quotedPrintable?: string;
}

/**
 * The runs of escapes (see ESCAPED_RUN) and of base64 (16 characters of its alphabet or more,
 * padding included, from where a run of the alphabet starts), in order, none inside another:
 * a base64 run that starts inside an escape run (`%3DQUtJ…`: `3DQUtJ…`) is read on the next layer,
 * where the escape is decoded.
 */
function encodedRuns(text: string): EncodedRun[] {
  const escaped: EncodedRun[] = [];
  ESCAPED_RUN.lastIndex = 0;
  for (let match = ESCAPED_RUN.exec(text); match !== null; match = ESCAPED_RUN.exec(text)) {
    const [run, percent, escapes, references] = match;
    escaped.push({ index: match.index, run, percent, escapes, references });
  }
  // No escape holds white space, so a line wrap lies outside every escape run; neither holds `=`.
  const newlines = newlineIndexes(text);
  const wraps = lineWrapRuns(text, newlines);
  const quoted = quotedPrintableRuns(text, newlines);
  const found = wraps.length === 0 && quoted.length === 0 ? escaped : [...escaped, ...wraps, ...quoted].sort((a, b) => a.index - b.index);
  // A quoted-printable `=` is not base64's padding.
  const base64 = base64Runs(text, quoted.length === 0 ? undefined : new Set(quoted.map((run) => run.index)));
  if (base64.length === 0) return found;
  const runs: EncodedRun[] = [];
  let consumed = 0;
  for (let escaped = 0, next = 0; escaped < found.length || next < base64.length; ) {
    const escapedRun = found[escaped];
    const base64Run = base64[next];
    const run = base64Run === undefined || (escapedRun !== undefined && escapedRun.index <= base64Run.index) ? (found[escaped++] as EncodedRun) : (base64[next++] as EncodedRun);
    if (run.index < consumed) continue;
    consumed = run.index + run.run.length;
    runs.push(run);
  }
  return runs;
}

/**
 * The line breaks that wrapping put inside a word or a number, as a PDF's extracted text (or a
 * narrow column) has them, each with the spaces and tabs around it: after a hyphen between letters
 * or digits (`exam-⏎ple.com`: the hyphen goes too, as the typesetter added it; `11-⏎11` keeps
 * it, as a number's own; a soft hyphen always goes; Unicode's hyphens count as `-`), or after a
 * number written in groups, before a digit (`0044⏎0532`: read as the space the wrap took the
 * place of). A line break between words is not one: it hides nothing, and there is one on every line.
 */
function lineWrapRuns(text: string, newlines: readonly number[]): EncodedRun[] {
  const runs: EncodedRun[] = [];
  for (const newline of newlines) {
    let start = newline;
    if (text[start - 1] === '\r') start -= 1;
    while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start -= 1;
    let end = newline + 1;
    while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end += 1;
    const after = text.charCodeAt(end);
    const hyphen = text[start - 1] ?? '';
    if (WRAP_HYPHENS.has(hyphen) && isAsciiAlphanumeric(text.charCodeAt(start - 2)) && isAsciiAlphanumeric(after)) {
      // Between digits the hyphen may be the number's own (`123-45-⏎6789`): kept, as every detector
      // of numbers reads one. A soft hyphen is the typesetter's alone, and goes everywhere.
      const kept = hyphen !== SOFT_HYPHEN && isAsciiDigit(text.charCodeAt(start - 2)) && isAsciiDigit(after) ? '-' : '';
      runs.push({ index: start - 1, run: text.slice(start - 1, end), wrap: kept });
    } else if (isAsciiDigit(after) && GROUPED_NUMBER_END.test(text.slice(Math.max(0, start - 24), start))) {
      runs.push({ index: start, run: text.slice(start, end), wrap: ' ' });
    }
  }
  return runs;
}

/** Where each `\n` of `text` is: the line wrapping and the quoted-printable soft breaks both look at each. */
function newlineIndexes(text: string): number[] {
  const indexes: number[] = [];
  for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', newline + 1)) indexes.push(newline);
  return indexes;
}

/**
 * A line that ends in a number written in groups (`4111 1111 1111`, `DE89 3704 0044`): a break
 * after it may be a wrap inside the number. A line that ends in one number alone (a column of
 * figures, one per line) is not joined to the next: that would read every list as a card number.
 */
const GROUPED_NUMBER_END = /\d[ -]\d+$/;
const SOFT_HYPHEN = '\u00ad';
/** The hyphens a PDF's text ends a wrapped line with: ASCII's, the soft hyphen, Unicode's hyphen and non-breaking hyphen. */
const WRAP_HYPHENS: ReadonlySet<string> = new Set(['-', SOFT_HYPHEN, '\u2010', '\u2011']);

function isAsciiDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isAsciiAlphanumeric(code: number): boolean {
  return isAsciiDigit(code) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** The longest line quoted-printable writes, its soft break's `=` included (RFC 2045 §6.7). */
const QP_LINE_LIMIT = 76;
/**
 * The shortest line a soft break ends: an encoder breaks a line where the limit falls (a few
 * characters earlier to keep an escape or a character whole), so a short line ending in `=` is
 * code (`x =`, `a=`), not quoted-printable.
 */
const QP_MIN_BROKEN_LINE = 40;
const QP_ESCAPES = /(?:=[0-9A-F]{2})+/g;

/**
 * Quoted-printable's soft line breaks (read as nothing) and runs of `=XX` escapes (read as the
 * UTF-8 bytes they are), in order. A soft break is `=` and a line break, as written or as a JSON
 * string's `\n` / `\r\n` escapes (an email in a tool result): a line's last `=`, after neither white space nor
 * another `=`, on a line of `QP_MIN_BROKEN_LINE` to `QP_LINE_LIMIT` characters, that does not
 * pad a base64 run (see `isBase64Padding`: a split token that happens to look padded is left
 * split). Escapes (upper-case hex, as the RFC writes them) are decoded only in a text with a soft
 * break or an `=3D` (an encoded `=`, what every `key=value` in an encoded body becomes):
 * `width=20` in code is no escape.
 */
function quotedPrintableRuns(text: string, newlines: readonly number[]): EncodedRun[] {
  const runs: EncodedRun[] = [];
  const softBreak = (at: number, run: string): void => {
    const before = text[at - 1] ?? '';
    if (before === '' || before === '=' || /\s/.test(before)) return;
    const escapedBreak = text.lastIndexOf('\\n', at - 1);
    const lineStart = Math.max(text.lastIndexOf('\n', at - 1) + 1, escapedBreak === -1 ? 0 : escapedBreak + 2);
    const length = at + 1 - lineStart;
    if (length >= QP_MIN_BROKEN_LINE && length <= QP_LINE_LIMIT && !isBase64Padding(text, at)) runs.push({ index: at, run, quotedPrintable: '' });
  };
  // Over the line breaks, then over `=\`: a search for each of the four spellings cost ~2 % of a plain text's scan.
  for (const newline of newlines) {
    const at = text[newline - 1] === '\r' ? newline - 2 : newline - 1;
    if (text[at] === '=') softBreak(at, text.slice(at, newline + 1));
  }
  for (let at = text.indexOf('=\\'); at !== -1; at = text.indexOf('=\\', at + 1)) {
    const escaped = ['=\\n', '=\\r\\n'].find((spelling) => text.startsWith(spelling, at));
    if (escaped !== undefined) softBreak(at, escaped);
  }
  if (runs.length > 1) runs.sort((a, b) => a.index - b.index);
  if (runs.length === 0 && !text.includes('=3D')) return runs;
  const escapes: EncodedRun[] = [];
  QP_ESCAPES.lastIndex = 0;
  for (let match = QP_ESCAPES.exec(text); match !== null; match = QP_ESCAPES.exec(text)) {
    escapes.push({ index: match.index, run: match[0], quotedPrintable: decodeQuotedPrintableEscapes(match[0]) });
  }
  return escapes.length === 0 ? runs : [...runs, ...escapes].sort((a, b) => a.index - b.index);
}

/** Whether the `=` at `at` pads the base64 run before it (16 characters or more, a multiple of four with it): `Basic dXNl…cmQ=` ending a header line. */
function isBase64Padding(text: string, at: number): boolean {
  let start = at;
  while (start > 0 && text.charCodeAt(start - 1) < 128 && BASE64_ALPHABET[text.charCodeAt(start - 1)] === 1) start -= 1;
  return at - start >= MIN_BASE64_LENGTH && (at - start + 1) % 4 === 0;
}

/** A run of `=XX` escapes: as UTF-8 where it is, else byte by byte (`=FF` as `ÿ`), as percent-encoding is read. */
function decodeQuotedPrintableEscapes(run: string): string {
  return decodePercent(run.replaceAll('=', '%'));
}

/**
 * Runs of 16 or more characters of the base64 alphabet, with their padding. Looks at one
 * character in 16 until it finds one of the alphabet (no run of 16 can miss it), then at its run:
 * a regular expression tried at each character was the costliest part of classifying plain text.
 */
function base64Runs(text: string, notPadding?: ReadonlySet<number>): EncodedRun[] {
  const runs: EncodedRun[] = [];
  const inAlphabet = (index: number): boolean => {
    const code = text.charCodeAt(index);
    return code < 128 && BASE64_ALPHABET[code] === 1;
  };
  for (let index = MIN_BASE64_LENGTH - 1; index < text.length; ) {
    if (!inAlphabet(index)) {
      index += MIN_BASE64_LENGTH;
      continue;
    }
    let start = index;
    while (start > 0 && inAlphabet(start - 1)) start -= 1;
    let end = index + 1;
    while (end < text.length && inAlphabet(end)) end += 1;
    const blockEnd = wrappedBlockEnd(text, start, end, inAlphabet);
    // A word of prose (most probes) is told from a piece of base64 before anything else is done.
    if (blockEnd === end && looksLikeBase64Piece(text, start, end)) {
      const previous = runs.at(-1);
      const split = splitBase64Run(text, start, end, inAlphabet, previous === undefined ? 0 : previous.index + previous.run.length);
      if (split !== undefined) {
        runs.push(split);
        index = split.index + split.run.length + MIN_BASE64_LENGTH;
        continue;
      }
    }
    // A hyphen before a line break is line wrapping's (see `lineWrapRuns`), not the URL-safe alphabet's.
    if (blockEnd !== end) end = blockEnd;
    else if (text[end - 1] === '-' && /^[ \t]*\r?\n/.test(text.slice(end, end + 8))) end -= 1;
    if (end - start >= MIN_BASE64_LENGTH) {
      let padded = end;
      while (padded < text.length && padded - end < 2 && text[padded] === '=' && notPadding?.has(padded) !== true) padded += 1;
      runs.push({ index: start, run: text.slice(start, padded) });
    }
    // The next run starts after the character that ended this one.
    index = end + MIN_BASE64_LENGTH;
  }
  return runs;
}

/**
 * Where a block of base64 wrapped at a fixed width ends (MIME's 76 characters a line, PEM's 64),
 * given its first line's run [start, end): each line holds nothing but the block (indented alike),
 * every line but the last is as long as the first (a multiple of 4), the last no longer. Decoded
 * line by line, a value across a line break (a key, a card number, a multi-byte character) would
 * be cut in two; `end` itself when the run is not such a block's first line.
 */
function wrappedBlockEnd(text: string, start: number, end: number, inAlphabet: (index: number) => boolean): number {
  let lineStart = start;
  while (lineStart > 0 && (text[lineStart - 1] === ' ' || text[lineStart - 1] === '\t')) lineStart -= 1;
  if (lineStart > 0 && text[lineStart - 1] !== '\n') return end;
  const indent = text.slice(lineStart, start);
  const width = end - start;
  if (width < MIN_BASE64_LENGTH || width % 4 !== 0) return end;
  let blockEnd = end;
  for (;;) {
    const newline = text[blockEnd] === '\r' ? blockEnd + 1 : blockEnd;
    if (text[newline] !== '\n' || !text.startsWith(indent, newline + 1)) return blockEnd;
    const next = newline + 1 + indent.length;
    let nextEnd = next;
    while (nextEnd < text.length && inAlphabet(nextEnd)) nextEnd += 1;
    let padded = nextEnd;
    while (padded < text.length && padded - nextEnd < 2 && text[padded] === '=') padded += 1;
    const length = nextEnd - next;
    // The line must hold the block alone: it ends where the text or the line does.
    if (length === 0 || length > width || (padded < text.length && text[padded] !== '\n' && text[padded] !== '\r')) return blockEnd;
    blockEnd = nextEnd;
    if (length < width || padded > nextEnd) return blockEnd;
  }
}

/** The most pieces a split base64 value is read in, and the most ways of reading its short end pieces tried. */
const MAX_SPLIT_PIECES = 64;
const MAX_SPLIT_TRIES = 6;
/** A piece this short may be any characters of base64 (`QU`, `U=`): it is read as part of a split value only beside pieces that look like base64. */
const SHORT_PIECE = 4;

/**
 * Whether text[start, end) looks like a piece of base64 rather than a word or a name: four
 * characters or more (one group: `QUtJ QUlP U0ZP …`), with a small letter and a capital after its first character or a digit
 * (`QUtJQUlP`), or with capitals and digits (`ZPRE5O`); a word (`Hello`, `HTTPS`, `deploy`) does not. Base64 of text almost
 * always does, in any piece of five characters or more.
 */
function looksLikeBase64Piece(text: string, start: number, end: number): boolean {
  if (end - start < 4) return false;
  // A small letter, then only small letters: prose's words, told at their second character.
  const second = text.charCodeAt(start + 1);
  if (second >= 97 && second <= 122 && isSmallWord(text, start + 2, end)) return false;
  let small = false;
  let inner = false;
  let digit = false;
  let letter = false;
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 97 && code <= 122) small = true;
    else if (code >= 48 && code <= 57) digit = true;
    else if (code >= 65 && code <= 90) {
      letter = true;
      if (index > start) inner = true;
    }
    if ((small && (inner || digit)) || (digit && letter)) return true;
  }
  return false;
}

/** Whether text[start, end) is small letters only. */
function isSmallWord(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 97 || code > 122) return false;
  }
  return true;
}

/** Where the piece before the single space or line break ending at `at` starts (`at`: the piece after it), or -1 when there is none. */
function separatorBefore(text: string, at: number): number {
  const before = text[at - 1];
  if (before === ' ' || before === '\t') return at - 1;
  if (before !== '\n') return -1;
  return text[at - 2] === '\r' ? at - 2 : at - 1;
}

/**
 * A base64 value split by single spaces or line breaks at irregular places (a red team's
 * `QUtJQUlP U0ZPRE5ON0V YQU1QTEU=`, not a fixed-width wrap: see `wrappedBlockEnd`), found from
 * its piece [start, end): the pieces around it joined by one space, tab or line break each, that
 * look like base64 (`looksLikeBase64Piece`) or are short, up to a padded piece. Read as one run
 * when together they decode to text or start as compressed data does (see `compressedFormat`); short pieces at either end may be words (`key QUtJ…`), so
 * the run is tried without them too. The piece itself looks like base64 (the caller checks).
 * Undefined when it is not such a value's: two blobs that decode apart (each is then read alone). `floor`: where the last run ended.
 */
function splitBase64Run(text: string, start: number, end: number, inAlphabet: (index: number) => boolean, floor: number): EncodedRun | undefined {
  const pieces = [{ start, end }];
  const fits = (piece: { start: number; end: number }): boolean => piece.end - piece.start > 0 && (piece.end - piece.start <= SHORT_PIECE || looksLikeBase64Piece(text, piece.start, piece.end));
  for (let first = start; pieces.length < MAX_SPLIT_PIECES; ) {
    const separator = separatorBefore(text, first);
    if (separator === -1) break;
    let pieceStart = separator;
    while (pieceStart > floor && inAlphabet(pieceStart - 1)) pieceStart -= 1;
    const piece = { start: pieceStart, end: separator };
    if (pieceStart < floor || !fits(piece) || (text[separator] !== ' ' && text[separator - 1] === '-')) break;
    pieces.unshift(piece);
    first = pieceStart;
  }
  let padding = 0;
  for (let last = end; pieces.length < MAX_SPLIT_PIECES; ) {
    if (text[last] === '=') {
      while (padding < 2 && text[last + padding] === '=') padding += 1;
      break;
    }
    const next = text[last] === ' ' || text[last] === '\t' || text[last] === '\n' ? last + 1 : text.startsWith('\r\n', last) ? last + 2 : -1;
    if (next === -1 || (text[last] !== ' ' && text[last - 1] === '-')) break;
    let pieceEnd = next;
    while (pieceEnd < text.length && inAlphabet(pieceEnd)) pieceEnd += 1;
    const piece = { start: next, end: pieceEnd };
    if (!fits(piece)) break;
    pieces.push(piece);
    last = pieceEnd;
  }
  if (pieces.length < 2) return undefined;
  // Short pieces at either end may be words beside the value: tried with them first, then without.
  let leading = 0;
  while (leading < pieces.length - 1 && !looksLikeBase64Piece(text, (pieces[leading] as { start: number }).start, (pieces[leading] as { end: number }).end)) leading += 1;
  let trailing = 0;
  while (trailing < pieces.length - 1 - leading && !looksLikeBase64Piece(text, (pieces.at(-1 - trailing) as { start: number }).start, (pieces.at(-1 - trailing) as { end: number }).end)) trailing += 1;
  let tries = 0;
  for (let dropFirst = 0; dropFirst <= leading; dropFirst += 1) {
    // Whether the run's first bytes look like text: the same for every last piece dropped, so
    // asked once (a log's lines are each tried this way, and read as base64 by none).
    let startsAsText: boolean | undefined;
    for (let dropLast = 0; dropLast <= trailing; dropLast += 1) {
      if (tries++ >= MAX_SPLIT_TRIES) return undefined;
      const kept = pieces.slice(dropFirst, pieces.length - dropLast);
      if (kept.length < 2) continue;
      let length = 0;
      for (const piece of kept) length += piece.end - piece.start;
      // What `decodeBase64Text` turns down before decoding the whole: too short, a length base64 has not, bytes not text's.
      if (length < MIN_BASE64_LENGTH || length % 4 === 1) continue;
      startsAsText ??= piecesStartAsText(text, kept);
      // Compressed data is no text until inflated: its stream's header says what it is (see
      // `compressedFormat`), read with the short pieces at the value's ends dropped (words).
      const mayBeCompressed = dropFirst === leading && dropLast === trailing && COMPRESSED_FIRST_CHARACTER.test(text.charAt((kept[0] as { start: number }).start));
      if (!startsAsText && !mayBeCompressed) continue;
      const runStart = (kept[0] as { start: number }).start;
      const runEnd = (kept.at(-1) as { end: number }).end + (dropLast === 0 ? padding : 0);
      const run = text.slice(runStart, runEnd);
      if ((startsAsText && decodeBase64Text(run) !== undefined) || (mayBeCompressed && compressedFormat(run) !== undefined)) return { index: runStart, run };
    }
  }
  return undefined;
}

/**
 * Whether the first eight characters of `pieces` (of the alphabet; 16 or more in all) decode to
 * bytes text starts with: what `decodeBase64Text` first asks of the run they make, without the run.
 */
function piecesStartAsText(text: string, pieces: readonly { start: number; end: number }[]): boolean {
  let head = '';
  for (const piece of pieces) {
    head += text.slice(piece.start, Math.min(piece.end, piece.start + 8 - head.length));
    if (head.length === 8) break;
  }
  return startsLikeText(base64Head(head) ?? Buffer.from(head, 'base64'));
}

/** A run of `%XX` escapes: as UTF-8 where it is, else byte by byte (`%FF` as `ÿ`), so its ASCII still reads. */
function decodePercent(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    return run.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}

/**
 * A run of the string escapes that hide what a detector reads (`\u0041`, `\x41`, `\/`, `\"`,
 * `\\`); `\uD83D\uDE00` pairs join as the UTF-16 units they are. `\n`, `\t` and the other
 * escapes of white space are left as they are: in code they are everywhere, and white space hides nothing.
 */
function decodeStringEscapes(run: string): string {
  return run.replace(/\\(u\{[0-9A-Fa-f]{1,6}\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|.)/g, (escape: string, body: string) => {
    if (body.length === 1) return body;
    if (body[1] !== '{') return String.fromCharCode(Number.parseInt(body.slice(1), 16));
    // `\u{41}` (JavaScript, Rust, Swift, PHP): any code point; past U+10FFFF it is no character.
    const codePoint = Number.parseInt(body.slice(2, -1), 16);
    return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : escape;
  });
}

/** A run of HTML character references: numeric ones as the code point they name (when there is one), named ones of NAMED_REFERENCES. */
function decodeCharacterReferences(run: string): string {
  return run.replace(/&(#[xX]?)?([0-9A-Za-z]+);/g, (reference: string, numeric: string | undefined, body: string) => {
    if (numeric === undefined) return NAMED_REFERENCES[body] ?? reference;
    const codePoint = Number.parseInt(body, numeric.length === 2 ? 16 : 10);
    return codePoint > 0 && codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff) ? String.fromCodePoint(codePoint) : reference;
  });
}

/** What a base64 run decodes to when that is text; undefined for binary data, or a run that is not base64. */
export function decodeBase64Text(run: string): string | undefined {
  // A wrapped block's line breaks and indentation are not part of the encoding.
  const unpadded = (/\s/.test(run) ? run.replace(/\s+/g, '') : run).replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  // Binary data (an inline image's megabytes) is told by its first bytes before the rest is decoded.
  if (!startsLikeText(base64Head(unpadded) ?? Buffer.from(unpadded.slice(0, 8), 'base64'))) return undefined;
  return bytesText(Buffer.from(unpadded, 'base64'));
}

/** The values of base64's characters, either alphabet, by char code (-1: not one). */
const BASE64_VALUES = new Int8Array(128).fill(-1);
for (const [value, character] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) BASE64_VALUES[character.charCodeAt(0)] = value;
BASE64_VALUES['-'.charCodeAt(0)] = 62;
BASE64_VALUES['_'.charCodeAt(0)] = 63;
/** Where `base64Head` decodes to (read at once by the caller, never kept). */
const HEAD = Buffer.alloc(6);

/**
 * The six bytes the first eight characters of `run` decode to, as `Buffer.from(…, 'base64')` reads
 * them, without its call: a log's lines hold thousands of runs of the alphabet (`/api/customers/0
 * HTTP/1`, a timestamp) that are each tried and turned down on these bytes. Undefined when the run is
 * shorter or one of them is not of the alphabet (the caller then asks Buffer).
 */
function base64Head(run: string): Buffer | undefined {
  if (run.length < 8) return undefined;
  for (let group = 0; group < 2; group += 1) {
    let bits = 0;
    for (let index = group * 4; index < group * 4 + 4; index += 1) {
      const code = run.charCodeAt(index);
      const value = code < 128 ? (BASE64_VALUES[code] as number) : -1;
      if (value === -1) return undefined;
      bits = (bits << 6) | value;
    }
    HEAD[group * 3] = bits >> 16;
    HEAD[group * 3 + 1] = (bits >> 8) & 0xff;
    HEAD[group * 3 + 2] = bits & 0xff;
  }
  return HEAD;
}

/** What an even run of hex digits decodes to when that is text; undefined otherwise (a hash, an id). */
function decodeHexText(run: string): string | undefined {
  if (run.length % 2 === 1 || !HEX_RUN.test(run)) return undefined;
  if (!startsLikeText(Buffer.from(run.slice(0, 8), 'hex'))) return undefined;
  return bytesText(Buffer.from(run, 'hex'));
}

/**
 * How much compressed data found in one text may inflate to, all its runs together (every layer):
 * the bound a PNG's compressed text chunks have. A deflate stream can inflate ~1000 times (a
 * repetitive log gzipped ~100 times, and it is still text to read); past the bound a run fails
 * closed unread (see `DecodeProblem`), so a decompression bomb costs neither memory nor the
 * classifier's time.
 */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;

/** What the compressed runs of one text may still inflate to, in bytes (see `MAX_INFLATED_BYTES`). */
interface InflateBudget {
  remaining: number;
}

/** The first character of compressed data: `H` (gzip in base64), `e` (zlib in base64), `1` (gzip in hex). */
const COMPRESSED_FIRST_CHARACTER = /^[He1]$/;

/**
 * The compressed stream a run starts with: gzip (`1f 8b 08`: `H4sI` in base64, `1f8b08` in hex:
 * `gzip | base64`, `xxd -p`) or zlib (`78`, then a flag byte that checks against it, without a
 * preset dictionary: `eJ…` of the default level, `eN…` of the best, `eA…`/`eF…` of the fastest:
 * Python's `zlib.compress`, Node's `deflateSync`, Java's `Deflater`). A zlib header is two bytes,
 * one random base64 run in ~16 000 starts like one; gzip's three and its flag byte (its three
 * high bits clear) are told apart from chance and from words (`H4sIsTheStart…`).
 */
function compressedFormat(run: string): { format: 'gzip' | 'zlib'; written: 'base64' | 'hex'; bytes: Buffer } | undefined {
  if (run.length < MIN_BASE64_LENGTH) return undefined;
  const first = run.charCodeAt(0);
  // `1`, `H` and `e`: the first character of hex of 0x1f and of base64 of 0x1f and 0x78; most runs stop here.
  if (first === 49 && /^1f8b08[01][0-9a-f]/i.test(run)) {
    // `xxd -p` wraps its lines at 60 digits: read as one block (see `wrappedBlockEnd`).
    const digits = /\s/.test(run) ? run.replace(/\s+/g, '') : run;
    return HEX_RUN.test(digits) && digits.length % 2 === 0 ? { format: 'gzip', written: 'hex', bytes: Buffer.from(digits, 'hex') } : undefined;
  }
  if (first !== 72 && first !== 101) return undefined;
  const head = Buffer.from(run.slice(0, 4), 'base64');
  const gzip = head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08 && (Buffer.from(run.slice(4, 8), 'base64')[0] ?? 0) < 0x20;
  const zlib = head[0] === 0x78 && ((0x78 << 8) | (head[1] as number)) % 31 === 0 && ((head[1] as number) & 0x20) === 0;
  if (!gzip && !zlib) return undefined;
  return { format: gzip ? 'gzip' : 'zlib', written: 'base64', bytes: Buffer.from(run.replace(/\s+/g, ''), 'base64') };
}

/**
 * What a run of compressed data (see `compressedFormat`) inflates to, as text (`bytesText`), or
 * its runs of printable text (`printableRuns`: a `tar czf - ~/.ssh | base64` holds its files
 * between binary headers); a problem when it inflates past its bound (see `MAX_INFLATED_BYTES`)
 * or, for gzip, does not inflate (a corrupt stream); undefined when the run is no compressed
 * data, or holds no text. A stream cut short (a truncated paste) is read as far as it goes, one
 * with a wrong checksum or bytes after it (`…AAAA--`) without them, as a lenient reader reads it;
 * a zlib stream that does not inflate whole is read as far as it does (see `salvageDeflate`).
 */
function decodeCompressed(run: string, budget: InflateBudget): { text: string; encoding: Encoding } | { problem: string } | undefined {
  const found = compressedFormat(run);
  if (found === undefined) return undefined;
  const { format, written, bytes } = found;
  const limit = budget.remaining;
  const what: Encoding = written === 'hex' ? 'gzip-compressed hex' : format === 'gzip' ? 'gzip-compressed base64' : 'zlib-compressed base64';
  const tooLarge = { problem: `${what} that inflates past ${limit} bytes (${bytes.length} compressed; the classifier reads at most ${MAX_INFLATED_BYTES} bytes of compressed data's text in all)` };
  const options = { maxOutputLength: limit, finishFlush: zlibConstants.Z_SYNC_FLUSH };
  let inflated: Buffer | undefined;
  try {
    inflated = format === 'gzip' ? gunzipSync(bytes, options) : inflateSync(bytes, options);
  } catch (error) {
    if (isTooLarge(error)) return tooLarge;
    const body = format === 'gzip' ? gzipBody(bytes) : bytes.subarray(2);
    if (format === 'gzip') {
      // Read whole without its checksum (a lenient reader's way) or not at all: a corrupt gzip stream fails closed.
      const whole = body === undefined ? undefined : inflateWhole(body, limit);
      if (whole === 'too large') return tooLarge;
      if (whole === undefined) return { problem: `${what} that does not inflate` };
      inflated = whole;
    } else {
      const salvaged = salvageDeflate(body as Buffer, options);
      if (salvaged === 'too large') return tooLarge;
      inflated = salvaged;
    }
  }
  if (inflated === undefined || inflated.length === 0) return undefined;
  budget.remaining -= inflated.length;
  const text = bytesText(inflated) ?? printableRuns(inflated);
  return text === '' ? undefined : { text, encoding: what };
}

/** The deflate stream of a gzip member (after its header's optional extra field, name, comment and header checksum, RFC 1952); undefined when the header runs past the bytes. */
function gzipBody(bytes: Buffer): Buffer | undefined {
  const flags = bytes[3] ?? 0;
  let at = 10;
  if ((flags & 0x04) !== 0) at += 2 + bytes.readUInt16LE(Math.min(at, Math.max(0, bytes.length - 2)));
  for (const flag of [0x08, 0x10]) {
    if ((flags & flag) === 0) continue;
    const end = bytes.indexOf(0, at);
    if (end === -1) return undefined;
    at = end + 1;
  }
  if ((flags & 0x02) !== 0) at += 2;
  return at < bytes.length ? bytes.subarray(at) : undefined;
}

/** What a raw deflate stream inflates to when it is whole (what follows its last block is ignored); undefined when it is not. */
function inflateWhole(body: Buffer, limit: number): Buffer | 'too large' | undefined {
  try {
    return inflateRawSync(body, { maxOutputLength: limit });
  } catch (error) {
    return isTooLarge(error) ? 'too large' : undefined;
  }
}

function isTooLarge(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * What a raw deflate stream that does not inflate whole inflates to up to where it stops: a
 * corrupt checksum or garbage after the data hides nothing from a lenient reader, so it does
 * not hide it from the classifier either. Read without the checksum, then, if it still fails,
 * the longest prefix that inflates (found by halving: a prefix of a stream that inflates does).
 */
function salvageDeflate(body: Buffer, options: { maxOutputLength: number; finishFlush: number }): Buffer | 'too large' | undefined {
  const attempt = (length: number): Buffer | 'too large' | undefined => {
    try {
      return inflateRawSync(body.subarray(0, length), options);
    } catch (error) {
      return isTooLarge(error) ? 'too large' : undefined;
    }
  };
  const whole = attempt(body.length);
  if (whole !== undefined) return whole;
  let good: Buffer | undefined;
  let low = 0;
  let high = body.length;
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    const read = attempt(middle);
    if (read === 'too large') return read;
    if (read === undefined) high = middle;
    else {
      good = read;
      low = middle;
    }
  }
  return good;
}

/**
 * `bytes` as text when they are: valid UTF-8 without control characters (see `isTextCode`; checked
 * without a decoder's exception: most runs are not), or UTF-16 (see `utf16Text`).
 */
function bytesText(bytes: Buffer): string | undefined {
  if (isTextBytes(bytes)) return isUtf8(bytes) ? bytes.toString('utf8') : latin1Text(bytes);
  return utf16Text(bytes);
}

/** Of a Latin-1 (ISO 8859-1) text, at least this share of the bytes are ASCII: English, German, French or Spanish text and code are. */
const LATIN1_MIN_ASCII = 0.8;

/**
 * `bytes` (text's, not UTF-8) as Latin-1 text: what a Windows or older Unix tool writes
 * (`Passwort für Jürgen: …` with `ü` as the one byte `0xFC`). Only when the bytes above ASCII are
 * Latin-1's letters and signs (0xA0 and up, not the C1 controls) and at least 80 % of them are
 * ASCII: random bytes are ASCII 38 % of the time, so an id or a hash is not taken for text.
 */
function latin1Text(bytes: Buffer): string | undefined {
  let ascii = 0;
  for (const byte of bytes) {
    if (byte < 0x80) ascii += 1;
    else if (byte < 0xa0) return undefined;
  }
  return ascii >= bytes.length * LATIN1_MIN_ASCII ? bytes.toString('latin1') : undefined;
}

/** Whether a run's first bytes are text's: see `isTextBytes`, or UTF-16's (see `utf16Order`). */
function startsLikeText(bytes: Buffer): boolean {
  return isTextBytes(bytes) || utf16Order(bytes) !== undefined;
}

/**
 * Whether a character code is text's: no control characters but tab, line feed, carriage return,
 * and escape, vertical tab and form feed (a terminal's colours, `\x1b[32m`, and page breaks are in
 * the text a tool captures); NUL, the other controls and DEL are binary data's.
 */
function isTextCode(code: number): boolean {
  return code >= 0x20 ? code !== 0x7f : code === 0x09 || code === 0x0a || code === 0x0d || code === 0x1b || code === 0x0b || code === 0x0c;
}

function isTextBytes(bytes: Buffer): boolean {
  for (const byte of bytes) if (!isTextCode(byte)) return false;
  return bytes.length > 0;
}

/**
 * The byte order of UTF-16 text, from its byte-order mark or, without one, from its first
 * characters being ASCII with a zero byte beside each (`k\0e\0y\0`): what Windows writes, and
 * what PowerShell's `-EncodedCommand` takes as base64. Undefined for anything else.
 */
function utf16Order(bytes: Buffer): 'utf-16le' | 'utf-16be' | undefined {
  if (bytes.length < 4) return undefined;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  const asciiAt = (high: number, low: number): boolean => {
    for (let index = 0; index + 1 < bytes.length; index += 2) {
      if (bytes[index + high] !== 0 || !isTextCode(bytes[index + low] as number) || (bytes[index + low] as number) >= 0x80) return false;
    }
    return true;
  };
  return asciiAt(1, 0) ? 'utf-16le' : asciiAt(0, 1) ? 'utf-16be' : undefined;
}

const UTF16_DECODERS = { 'utf-16le': new TextDecoder('utf-16le', { fatal: true }), 'utf-16be': new TextDecoder('utf-16be', { fatal: true }) };

/**
 * `bytes` as UTF-16 text: well-formed (no lone surrogate), every character text's (`isTextCode`),
 * and at least half of them ASCII, as English text and code are: random bytes read as UTF-16 are
 * almost all CJK and other letters (1 in 512 is ASCII), so binary data is not taken for text.
 */
function utf16Text(bytes: Buffer): string | undefined {
  const order = utf16Order(bytes);
  if (order === undefined || bytes.length % 2 === 1) return undefined;
  let text: string;
  try {
    text = UTF16_DECODERS[order].decode(bytes);
  } catch {
    return undefined;
  }
  let ascii = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (!isTextCode(code)) return undefined;
    if (code < 0x80) ascii += 1;
  }
  return ascii * 2 >= text.length ? text : undefined;
}

/** Where `index` of a layer's output (`back`) or input (`forward`) lies in the other text (an index inside a run: the run's start or end there). */
function mapAcross(runs: readonly DecodedRun[], index: number, side: 'start' | 'end', direction: 'back' | 'forward'): number {
  const from = (run: DecodedRun): [number, number] => (direction === 'back' ? [run.decodedStart, run.decodedEnd] : [run.originalStart, run.originalEnd]);
  const to = (run: DecodedRun): [number, number] => (direction === 'back' ? [run.originalStart, run.originalEnd] : [run.decodedStart, run.decodedEnd]);
  // The last run that starts at (for a span's start) or before (for its end) `index`: starts strictly increase on both sides.
  const found = lastAtOrBefore(runs, (run) => (side === 'start' ? from(run)[0] <= index : from(run)[0] < index));
  if (found === -1) return index;
  const run = runs[found] as DecodedRun;
  const [, fromEnd] = from(run);
  const [toStart, toEnd] = to(run);
  if (index >= fromEnd) return toEnd + (index - fromEnd);
  return side === 'start' ? toStart : toEnd;
}
