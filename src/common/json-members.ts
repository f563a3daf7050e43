const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The values of every top-level member named `name` in the text of a JSON object — duplicates
 * included, in order, since parsers differ on which duplicate wins — without parsing the rest.
 * Undefined when the text is not structured as one JSON object: not starting with `{`, unbalanced
 * or mismatched brackets, an unterminated string, anything after the closing brace, or a wanted
 * value that does not parse. Member names are compared decoded (`"mod\u0065l"` is `model`).
 *
 * Strings are skipped with `indexOf`, so a megabyte of conversation costs well under a
 * millisecond where `JSON.parse` would allocate a copy of every string in it.
 */
export function topLevelMemberValues(json: string, name: string): unknown[] | undefined {
  const length = json.length;
  let index = skipWhitespace(json, 0);
  if (json.charCodeAt(index) !== OPEN_BRACE) return undefined;
  const closers: number[] = [];
  const values: unknown[] = [];
  let expectingName = false;
  let wantedName = false;
  let valueStart = -1;
  while (index < length) {
    const code = json.charCodeAt(index);
    const depth = closers.length;
    if (code === QUOTE) {
      const end = stringEnd(json, index);
      if (end < 0) return undefined;
      if (depth === 1 && expectingName) {
        wantedName = decodeString(json, index, end) === name;
        expectingName = false;
      }
      index = end + 1;
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      closers.push(code === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
      if (closers.length === 1) expectingName = true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      if (closers.pop() !== code) return undefined;
      if (closers.length === 0) {
        if (!takeValue(json, valueStart, index, values)) return undefined;
        return skipWhitespace(json, index + 1) === length ? values : undefined;
      }
    } else if (depth === 1 && code === COLON) {
      if (wantedName) valueStart = index + 1;
      wantedName = false;
    } else if (depth === 1 && code === COMMA) {
      if (!takeValue(json, valueStart, index, values)) return undefined;
      valueStart = -1;
      expectingName = true;
    }
    index += 1;
  }
  return undefined;
}

function takeValue(json: string, start: number, end: number, values: unknown[]): boolean {
  if (start < 0) return true;
  try {
    values.push(JSON.parse(json.slice(start, end)) as unknown);
    return true;
  } catch {
    return false;
  }
}

/** The index of the quote closing the string that opens at `start`, or -1. */
function stringEnd(json: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = json.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (json.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function decodeString(json: string, start: number, end: number): string | undefined {
  const raw = json.slice(start + 1, end);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(json.slice(start, end + 1)) as string;
  } catch {
    return undefined;
  }
}

function skipWhitespace(json: string, from: number): number {
  let index = from;
  for (;;) {
    const code = json.charCodeAt(index);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return index;
    index += 1;
  }
}
