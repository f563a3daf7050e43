import { expect } from 'vitest';

/** NDJSON → its objects, checking every line is one JSON object and the body ends with a newline. */
export function ndjsonLines(text: string): Record<string, unknown>[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
