import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { InvalidInputError, type InputProblem } from '../errors.js';

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

/**
 * Parses YAML text. Syntax errors (including duplicate keys and several documents in one
 * file) throw InvalidInputError with the line and column of each error.
 */
export function parseYamlText(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems: InputProblem[] = document.errors.map((error) => {
      const start = error.linePos?.[0];
      return {
        file,
        pointer: '',
        ...(start === undefined ? {} : { line: start.line, column: start.col }),
        message: `YAML syntax error: ${firstLine(error.message)}`,
        hint: yamlSyntaxHint(error.code),
      };
    });
    throw new InvalidInputError(`${file} is not valid YAML`, problems, {
      hint: 'fix the YAML syntax at the reported line and column',
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

/** Reads and parses a YAML file; an unreadable file is an input problem too (exit 3). */
export function loadYamlFile(path: string, displayPath: string = path): ParsedYaml {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? (error as Error).message);
    throw new InvalidInputError(`cannot read ${displayPath}: ${reason}`, [
      { file: displayPath, pointer: '', message: `cannot read the file: ${reason}`, hint: 'check the path and the file permissions' },
    ]);
  }
  return parseYamlText(text, displayPath);
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

/** Orders problems by file, then position, so reports read top to bottom. */
export function sortProblems(problems: InputProblem[]): InputProblem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.pointer.localeCompare(b.pointer),
  );
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
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

function yamlSyntaxHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once per mapping; remove or rename the duplicate';
    case 'MULTIPLE_DOCS':
      return 'put one record per file (remove the extra `---` document)';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
      return 'align the indentation of keys at the same level';
    default:
      return 'check the indentation, quoting and `key: value` syntax around this position';
  }
}
