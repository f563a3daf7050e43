/** Small, dependency-free helpers for reading untrusted JSON leniently. Pure. */

import type { JsonObject, JsonValue } from './canonical.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One segment of a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`. */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
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

/** Parses tool-call arguments text into an object; `undefined` when it is not a JSON object. */
export function parseArgumentsObject(argumentsText: string): JsonObject | undefined {
  const trimmed = argumentsText.trim();
  if (trimmed === '') return {};
  const parsed = tryParseJson(trimmed);
  return isRecord(parsed) ? (parsed as JsonObject) : undefined;
}

/** Arguments given as a structured value (an engine quirk) serialised to the JSON text the canonical model wants. */
export function argumentsToText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value as JsonValue);
}
