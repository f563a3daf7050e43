import { createRequire } from 'node:module';
import type { CST, Document, LineCounter, Node, YAMLError } from 'yaml';
import { maskSecret } from '../classify/mask.js';
import { counted } from '../common/counted.js';
import { InvalidInputError, type InputProblem } from '../errors.js';
import { credentialKind } from './credentials.js';
import { readInputFile } from './input-file.js';

/**
 * How many YAML syntax errors are listed per file. After the first few, the rest mostly follow
 * from them (a JSON Lines file read as YAML gives one per token: thousands).
 */
export const LISTED_SYNTAX_ERRORS = 5;

let yamlLibrary: typeof import('yaml') | undefined;

/**
 * The yaml library, loaded on first use (~35 modules, ~90 ms of CPU at start): most commands that
 * import this module for its problem helpers (`validateAgainstSchema`, `escapePointerSegment`)
 * parse no YAML (`provider list`, `evidence verify`). A source to point into exists only once a
 * text was parsed, so the library is loaded by then. Required, not imported: its entry for Node is
 * CommonJS, the one instance an `import('yaml')` elsewhere (`policy show`) gets too.
 */
function yaml(): typeof import('yaml') {
  yamlLibrary ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLibrary;
}

/**
 * A parsed user-written YAML file together with what is needed to point back into it:
 * the document's node tree and a line counter, so any JSON pointer maps to `line:column`.
 */
export interface YamlSource {
  /** The path as the operator wrote it, used in every problem report. */
  file: string;
  text: string;
  document: Document.Parsed;
  lineCounter: LineCounter;
}

/** The plain value of a YAML file plus its source for position lookups. */
export interface ParsedYaml {
  value: unknown;
  source: YamlSource;
}

/** Where a pointer lands in the text; 1-based like editors and compilers report it. */
export interface TextPosition {
  line: number;
  column: number;
}

/** How a caller wants a file's problems put. */
export interface YamlReadOptions {
  /**
   * The hint for a file holding several `---` documents where one is expected (default: keep one
   * document per file), e.g. how to hand several records to the command instead.
   */
  multipleDocumentsHint?: string;
}

/**
 * Parses YAML text. Syntax errors (including duplicate keys and several documents in one
 * file) throw InvalidInputError with the line and column of each error: the first
 * `LISTED_SYNTAX_ERRORS` of them, then how many more. An error names the kind of token it
 * found, never the file's text: a file read by mistake may hold secrets (`.env`, an export).
 */
export function parseYamlText(text: string, file: string, options: YamlReadOptions = {}): ParsedYaml {
  const { LineCounter, parseAllDocuments, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const count = document.errors.length;
    let openings: UnclosedOpening[] | undefined;
    const listed: InputProblem[] = document.errors.slice(0, LISTED_SYNTAX_ERRORS).map((error) => {
      const start = error.linePos?.[0];
      const position = start === undefined ? {} : { line: start.line, column: start.col };
      if (error.code === 'MULTIPLE_DOCS') {
        // The library's own words ("please use YAML.parseAllDocuments()") speak to programmers.
        const documents = parseAllDocuments(text).length;
        const where = start === undefined ? '' : ` (the second starts at the \`---\` on line ${start.line})`;
        return {
          file,
          pointer: '',
          ...position,
          message: `the file holds ${documents} YAML documents${where}, but one is expected`,
          hint: options.multipleDocumentsHint ?? 'keep one document per file: remove the `---` line and what follows it, or move that to a file of its own',
        };
      }
      const closing = closingNamedBy(error);
      const opening = closing === undefined ? undefined : lastOpeningBefore((openings ??= unclosedOpenings(text)), closing, error.pos[0]);
      if (opening !== undefined) {
        // The parser reports a missing `]` or quote where it gave up (often the end of the file);
        // the operator needs the place where it opened.
        const opened = lineCounter.linePos(opening.offset);
        const noticed = start === undefined ? '' : ` (the parser noticed at line ${start.line}, column ${start.col})`;
        return {
          file,
          pointer: '',
          line: opened.line,
          column: opened.col,
          message: `YAML syntax error ${error.code}: ${describeSyntaxError(error, text)}; the \`${opening.opening}\` opened here is never closed${noticed}`,
          hint: opening.opening === '[' || opening.opening === '{' ? unclosedFlowHint(opening) : `close the quote with \`${closing}\` where the value ends; a quote inside the value is written \`${closing === '"' ? '\\"' : "''"}\``,
        };
      }
      return { file, pointer: '', ...position, message: `YAML syntax error ${error.code}: ${describeSyntaxError(error, text)}`, hint: yamlSyntaxHint(error.code) };
    });
    const problems = count > listed.length ? [...listed, omittedProblems(file, count - listed.length, 'YAML syntax error', 'fix the errors listed first: later ones often only follow from them')] : listed;
    throw new InvalidInputError(`${file} is not valid YAML${count > 1 ? ` (${count} syntax errors)` : ''}`, problems, {
      hint: looksLikeJsonLines(text)
        ? 'this file looks like JSON Lines (one JSON object per line, as `evidence export` writes), not a YAML document: check that the path names the right file'
        : 'fix the YAML syntax at the reported line and column',
    });
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw new InvalidInputError(`${file} cannot be read as data`, [
      { file, pointer: '', line: 1, column: 1, message: (error as Error).message, hint: 'avoid deeply nested YAML aliases' },
    ]);
  }
  return { value, source: { file, text, document, lineCounter } };
}

/** Reads and parses a YAML file; an unreadable file is an input problem too (exit 3, see `unreadableInputFile`). */
export function loadYamlFile(path: string, displayPath: string = path, options: YamlReadOptions = {}): ParsedYaml {
  return parseYamlText(readInputFile(path, displayPath).toString('utf8'), displayPath, options);
}

/** Splits a JSON pointer (`/models/0/id`) into unescaped segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Escapes one segment for use in a JSON pointer. */
export function escapePointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The position of the node a JSON pointer names. `target: 'key'` points at the mapping key
 * (for unknown keys) instead of its value. When the pointer goes deeper than the document,
 * the nearest existing ancestor is used, so there is always a position to report.
 */
export function positionOf(source: YamlSource, pointer: string, target: 'key' | 'value' = 'value'): TextPosition {
  const { isMap, isPair, isSeq } = yaml();
  let node: unknown = source.document.contents;
  let keyNode: unknown;
  let found: unknown = node;
  for (const segment of pointerSegments(pointer)) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === segment);
      if (pair === undefined) break;
      keyNode = pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node)) {
      const index = Number(segment);
      const item = Number.isInteger(index) ? node.items[index] : undefined;
      if (item === undefined) break;
      node = item;
    } else {
      break;
    }
    found = target === 'key' && keyNode !== undefined ? keyNode : node;
  }
  const offset = rangeStart(found) ?? 0;
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, column: col };
}

/** Builds an InputProblem located at `pointer` in `source` (or without position when source is a bare file name). */
export function problemAt(
  source: YamlSource | string,
  pointer: string,
  message: string,
  hint?: string,
  target: 'key' | 'value' = 'value',
): InputProblem {
  const file = typeof source === 'string' ? source : source.file;
  const position = typeof source === 'string' ? undefined : positionOf(source, pointer, target);
  return {
    file,
    pointer,
    ...(position === undefined ? {} : { line: position.line, column: position.column }),
    message,
    ...(hint === undefined ? {} : { hint }),
  };
}

/**
 * The first `limit` problems, then one entry standing for the rest (`omitted`), so a file with
 * thousands of problems prints a screenful. `what` names one of them, e.g. `schema problem` (`and 1 more schema problem`, `and 7 more schema problems`).
 */
export function capProblems(problems: InputProblem[], limit: number, what: string, hint: string): InputProblem[] {
  const listed = problems.filter((problem) => problem.omitted === undefined);
  if (listed.length <= limit) return problems;
  const capped: InputProblem[] = [];
  const omittedByFile = new Map<string, number>();
  for (const problem of problems) {
    const carried = problem.omitted;
    if (carried === undefined && capped.length < limit) capped.push(problem);
    else omittedByFile.set(problem.file, (omittedByFile.get(problem.file) ?? 0) + (carried ?? 1));
  }
  for (const [file, count] of omittedByFile) capped.push(omittedProblems(file, count, what, hint));
  return capped;
}

function omittedProblems(file: string, count: number, what: string, hint: string): InputProblem {
  return { file, pointer: '', message: `and ${counted(count, `more ${what}`)}, not listed`, hint, omitted: count };
}

/** Orders problems by file, then position, so reports read top to bottom; an `omitted` entry ends its file's list. */
export function sortProblems(problems: InputProblem[]): InputProblem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      Number(a.omitted !== undefined) - Number(b.omitted !== undefined) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.pointer.localeCompare(b.pointer),
  );
}

function keyText(key: unknown): string | undefined {
  if (yaml().isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range === undefined || range === null ? undefined : range[0];
}

function firstLine(message: string): string {
  // prettyErrors appends " at line N, column M:" and a code excerpt; the position is reported separately.
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

/** Token kinds of the yaml parser, as an operator would name them. */
const TOKEN_NAMES: Record<string, string> = {
  'flow-map-start': '`{`',
  'flow-map-end': '`}`',
  'flow-seq-start': '`[`',
  'flow-seq-end': '`]`',
  'map-value-ind': '`:`',
  'seq-item-ind': '`-`',
  'explicit-key-ind': '`?`',
  comma: '`,`',
  'doc-start': '`---`',
  'doc-end': '`...`',
  scalar: 'plain scalar',
  'block-scalar-header': 'block scalar header',
  'byte-order-mark': 'byte order mark',
  newline: 'line break',
  error: 'text',
};

/** Indicator characters: safe and useful to show as they are. */
const INDICATORS = /^[-?:,[\]{}#&*!|>'"%@`.]{1,3}$/;

/**
 * One line describing a yaml syntax error without echoing the file: the yaml library quotes the
 * offending token's source (`Unexpected double-quoted-scalar token in YAML stream: "\"sk-...\""`);
 * here the token's kind is named and its text, if shown at all, is masked as classify masks secrets.
 */
function describeSyntaxError(error: YAMLError, text: string): string {
  // The composer appends an error token's source as JSON: `Unexpected ... with key: "..."`.
  const summary = firstLine(error.message).replace(/: "(?:[^"\\]|\\.)*"$/, '');
  const excerpt = maskedExcerpt(text, error.pos);
  const token = (type: string): string => TOKEN_NAMES[type] ?? type.replace(/-/g, ' ');
  const unexpected = /^Unexpected ([a-z-]+)(?: token(?: in YAML (?:stream|document))?)?(:.*)?$/s.exec(summary);
  if (unexpected !== null) return `Unexpected ${token(unexpected[1] as string)}${excerpt}`;
  const atNodeEnd = /^Unexpected ([a-z-]+) at node end$/.exec(summary);
  if (atNodeEnd !== null) return `Unexpected ${token(atNodeEnd[1] as string)} after the end of a value${excerpt}`;
  // Messages that append part of the source after a fixed description: keep the description.
  const quoting = /^(Not a YAML token|Block scalar header includes extra characters|Unresolved tag|Could not resolve tag|Not a valid tag|Ordered maps must not include duplicate keys|Unresolved plain scalar|Verbatim tags aren't resolved|Invalid escape sequence|Unsupported YAML version|Unknown directive)\b/.exec(summary);
  if (quoting !== null) return `${quoting[1] as string}${excerpt}`;
  const tagSuffix = /^The .* tag has no suffix$/.test(summary);
  if (tagSuffix) return `Tag has no suffix${excerpt}`;
  const startsWith = /^Plain value cannot start with (.*)$/.exec(summary);
  if (startsWith !== null) return `Plain value cannot start with ${INDICATORS.test(startsWith[1] as string) ? (startsWith[1] as string) : 'this character'}`;
  // Any other message names no source text; still, never let one through that looks like a secret.
  if (credentialKind(summary) !== undefined || summary.length > 160) return `${error.code.toLowerCase().replace(/_/g, ' ')}${excerpt}`;
  return summary;
}

/** ` (masked excerpt)` of the first line of the source range, or '' when masking leaves nothing. */
function maskedExcerpt(text: string, [start, end]: [number, number]): string {
  const source = text.slice(start, Math.max(end, start + 1)).split(/\r?\n/)[0]?.trim() ?? '';
  if (source === '' || INDICATORS.test(source)) return '';
  const masked = maskSecret(source);
  return masked === '…' ? '' : ` (${masked}, masked)`;
}

/** A JSON Lines file (an evidence export...) named where a YAML record was expected. */
function looksLikeJsonLines(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '').slice(0, 2);
  return lines.length === 2 && lines.every((line) => /^\s*\{.*\}\s*$/.test(line));
}

/** A `[`, `{` or quote that the yaml parser found no end for, and where it opened. */
interface UnclosedOpening {
  opening: string;
  closing: string;
  offset: number;
}

/** The character a syntax error says is missing at the end of a flow collection or quoted value, if it says so. */
function closingNamedBy(error: YAMLError): string | undefined {
  const summary = firstLine(error.message);
  if (error.code === 'MISSING_CHAR') {
    const quote = /^Missing closing (["'])quote$/.exec(summary);
    if (quote !== null) return quote[1];
  }
  if (error.code === 'MISSING_CHAR' || error.code === 'BAD_INDENT') return /^Flow (?:sequence|map)\b.* end with a ([\]}])$/.exec(summary)?.[1];
  return undefined;
}

/** The flow collections and quoted values of `text` that never close, read from the yaml library's own token tree. */
function unclosedOpenings(text: string): UnclosedOpening[] {
  const found: UnclosedOpening[] = [];
  const inspect = (token: CST.Token | null | undefined): void => {
    if (token === null || token === undefined) return;
    if (token.type === 'flow-collection') {
      const closed = token.end.some((end) => end.type === 'flow-seq-end' || end.type === 'flow-map-end');
      if (!closed) found.push({ opening: token.start.source, closing: token.start.source === '{' ? '}' : ']', offset: token.offset });
    } else if (token.type === 'double-quoted-scalar' && !/^"(?:[^"\\]|\\.)*"$/s.test(token.source)) {
      found.push({ opening: '"', closing: '"', offset: token.offset });
    } else if (token.type === 'single-quoted-scalar' && !/^'(?:[^']|'')*'$/s.test(token.source)) {
      found.push({ opening: "'", closing: "'", offset: token.offset });
    }
  };
  const { CST: tokens, Parser } = yaml();
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    tokens.visit(token, (item) => {
      inspect(item.key);
      inspect(item.value);
    });
  }
  return found;
}

/** The innermost opening closed by `closing` that opened before the parser gave up at `offset`. */
function lastOpeningBefore(openings: readonly UnclosedOpening[], closing: string, offset: number): UnclosedOpening | undefined {
  return openings.filter((opening) => opening.closing === closing && opening.offset < offset).sort((a, b) => b.offset - a.offset)[0];
}

function unclosedFlowHint({ opening, closing }: UnclosedOpening): string {
  const what = opening === '[' ? '`[...]` list' : '`{...}` mapping';
  return `close the \`${opening}\` with \`${closing}\`; a ${what} that goes on over several lines continues on lines indented more than its key`;
}

/** What to do about each kind of error the yaml library reports (its `code`). */
function yamlSyntaxHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once per mapping; remove or rename the duplicate';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
      return 'align the indentation of keys at the same level';
    case 'MISSING_CHAR':
      return 'add the character the message names (a `:` after a key, a `,` between items, a closing bracket or quote)';
    case 'UNEXPECTED_TOKEN':
      return 'remove or quote the character named, or close what a line above left open';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'one line holds one `key: value`: put the inner mapping on indented lines of its own, or quote a value that contains `: `';
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key must fit on one line: look for a missing `:` or an unclosed quote just above';
    case 'BLOCK_IN_FLOW':
      return 'inside `[...]` or `{...}` write values inline; use indented `- item` lines for a block list instead';
    case 'BAD_SCALAR_START':
      return 'quote the value: a plain value cannot start with this character';
    case 'BAD_DQ_ESCAPE':
      return 'in double quotes write a backslash as `\\\\`, or use single quotes, where a backslash is literal';
    case 'BAD_ALIAS':
      return 'an alias `*name` needs an anchor `&name` defined above it; quote a value that starts with `*`';
    case 'TAG_RESOLVE_FAILED':
      return 'remove the `!tag`, or quote a value that starts with `!`';
    default:
      return 'check the indentation, quoting and `key: value` syntax around this position';
  }
}
