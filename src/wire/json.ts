/** Small, dependency-free helpers for reading untrusted JSON leniently. Pure. */

import type { JsonObject, JsonValue } from './canonical.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One segment of a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`. */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * How deeply the arrays and objects of untrusted JSON (a client's request body, tool-call
 * arguments) may nest. Far beyond any real request (a tool's JSON schema, a call's arguments), and
 * far below what the recursive code each goes through can take: `JSON.stringify`, when a request is
 * encoded for its provider, overflowed the stack for a body nested a few thousand levels deep.
 */
export const MAX_JSON_NESTING = 128;

/** How many segments of the path to a too-deep value a refusal names, each cut to `NAMED_SEGMENT_LENGTH`: the field the client sent it in. */
const NAMED_SEGMENTS = 4;
const NAMED_SEGMENT_LENGTH = 64;

/**
 * Where `value` holds an array or object nested deeper than `limit` — the JSON pointer of the
 * outer field it is in, at most `NAMED_SEGMENTS` deep (`''`: the value itself) — else undefined.
 * Walked without recursion.
 */
export function pointerPastNesting(value: unknown, limit = MAX_JSON_NESTING): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const pending: NestingNode[] = [{ value, depth: 1, parent: undefined, key: '' }];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node.depth > limit) return namedPointer(node);
    if (Array.isArray(node.value)) {
      for (let index = 0; index < node.value.length; index += 1) pushNested(pending, node, index, node.value[index]);
    } else {
      const record = node.value as Record<string, unknown>;
      for (const key of Object.keys(record)) pushNested(pending, node, key, record[key]);
    }
  }
  return undefined;
}

/**
 * A value pointerPastNesting walks. Each links to its parent: the path is rebuilt for the one
 * value found too deep, not copied into every node (the walk runs on every request body).
 */
interface NestingNode {
  value: object;
  depth: number;
  parent: NestingNode | undefined;
  key: string | number;
}

function pushNested(pending: NestingNode[], parent: NestingNode, key: string | number, child: unknown): void {
  if (typeof child === 'object' && child !== null) pending.push({ value: child, depth: parent.depth + 1, parent, key });
}

/** The JSON pointer of a node's outermost `NAMED_SEGMENTS` keys, each cut to `NAMED_SEGMENT_LENGTH`. */
function namedPointer(node: NestingNode): string {
  const keys: (string | number)[] = [];
  for (let at: NestingNode | undefined = node; at?.parent !== undefined; at = at.parent) keys.push(at.key);
  return keys
    .reverse()
    .slice(0, NAMED_SEGMENTS)
    .map((key) => {
      const segment = String(key);
      return `/${escapePointer(segment.length > NAMED_SEGMENT_LENGTH ? `${segment.slice(0, NAMED_SEGMENT_LENGTH)}…` : segment)}`;
    })
    .join('');
}

/** `JSON.parse` that returns `undefined` instead of throwing. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

export function numberField(record: Record<string, unknown>, key: string): number | undefined {
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * A token count: a non-negative whole number, else undefined — an engine reporting `-1` or `12.5`
 * has not reported a count, and the usage is then counted locally, as when it is missing.
 */
export function countField(record: Record<string, unknown>, key: string): number | undefined {
  const value = record[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Parses tool-call arguments text into an object; `undefined` when it is not a JSON object, or
 * nests more than `MAX_JSON_NESTING` deep (its object would overflow the stack where it is encoded).
 */
export function parseArgumentsObject(argumentsText: string): JsonObject | undefined {
  const trimmed = argumentsText.trim();
  if (trimmed === '') return {};
  const parsed = tryParseJson(trimmed);
  return isRecord(parsed) && pointerPastNesting(parsed) === undefined ? (parsed as JsonObject) : undefined;
}

/** Arguments given as a structured value (an engine quirk) serialised to the JSON text the canonical model wants. */
export function argumentsToText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value as JsonValue);
}
