import { InvalidInputError } from '../errors.js';
import type { TextPosition } from './yaml-source.js';

/**
 * Parses a JSON file the operator wrote (`run --schema`, `run --tools`). Invalid JSON is an
 * invalid input file (exit 3) naming the file, the line and column of the first syntax error and
 * what was expected there; never the file's text, which may hold secrets (V8's own message quotes it).
 */
export function parseJsonText(text: string, file: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    const syntax = firstJsonSyntaxError(body) ?? { offset: 0, expected: 'valid JSON' };
    const { line, column } = positionOf(body, syntax.offset);
    const message = `not valid JSON: expected ${syntax.expected} at line ${line}, column ${column}${syntax.offset >= body.length ? ' (where the file ends)' : ''}`;
    throw new InvalidInputError(`${file} is ${message}`, [{ file, pointer: '', line, column, message }], { hint: 'fix the JSON syntax at the reported line and column' });
  }
}

interface JsonSyntaxError {
  offset: number;
  expected: string;
}

/** Where the first syntax error of `text` is (a small recursive-descent reader of RFC 8259), or undefined when it is valid. */
function firstJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let offset = 0;
  const skipWhitespace = (): void => {
    while (offset < text.length && ' \t\n\r'.includes(text[offset] as string)) offset += 1;
  };
  const fail = (expected: string): JsonSyntaxError => ({ offset, expected });
  const readString = (): JsonSyntaxError | undefined => {
    offset += 1;
    while (offset < text.length) {
      const character = text[offset] as string;
      if (character === '"') {
        offset += 1;
        return undefined;
      }
      if (character < ' ') return fail('a closing `"` (a control character must be escaped)');
      if (character === '\\') {
        const escaped = text[offset + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(offset + 2, offset + 6))) return fail('four hex digits after \\u');
          offset += 6;
          continue;
        }
        if (escaped === undefined || !'"\\/bfnrt'.includes(escaped)) return fail('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX');
        offset += 2;
        continue;
      }
      offset += 1;
    }
    return fail('a closing `"`');
  };
  const readValue = (depth: number): JsonSyntaxError | undefined => {
    skipWhitespace();
    const character = text[offset];
    if (depth > 512) return fail('less nesting');
    if (character === '{') return readMembers(depth, '}', true);
    if (character === '[') return readMembers(depth, ']', false);
    if (character === '"') return readString();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, offset)) {
        offset += literal.length;
        return undefined;
      }
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(offset, offset + 400));
    if (number !== null && number[0] !== '-') {
      offset += number[0].length;
      return undefined;
    }
    return fail('a value (an object, array, string, number, true, false or null)');
  };
  const readMembers = (depth: number, closing: '}' | ']', named: boolean): JsonSyntaxError | undefined => {
    offset += 1;
    skipWhitespace();
    if (text[offset] === closing) {
      offset += 1;
      return undefined;
    }
    for (;;) {
      if (named) {
        skipWhitespace();
        if (text[offset] !== '"') return fail('a property name in double quotes');
        const name = readString();
        if (name !== undefined) return name;
        skipWhitespace();
        if (text[offset] !== ':') return fail('`:` after the property name');
        offset += 1;
      }
      const value = readValue(depth + 1);
      if (value !== undefined) return value;
      skipWhitespace();
      if (text[offset] === closing) {
        offset += 1;
        return undefined;
      }
      if (text[offset] !== ',') return fail(`\`,\` or \`${closing}\``);
      offset += 1;
      skipWhitespace();
      if (text[offset] === closing) return fail(named ? 'a property name in double quotes (JSON has no trailing comma)' : 'a value (JSON has no trailing comma)');
    }
  };
  const error = readValue(0);
  if (error !== undefined) return error;
  skipWhitespace();
  return offset < text.length ? fail('the end of the file after the JSON value') : undefined;
}

/** The 1-based line and column of `offset` in `text`. */
function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}
