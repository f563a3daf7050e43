/**
 * A client's JSON Schema made fit for Anthropic's structured outputs (`output_config.format`),
 * whose constrained decoding takes a subset of JSON Schema
 * (platform.claude.com/docs/en/build-with-claude/structured-outputs, "JSON Schema limitations"):
 * every object closed (`additionalProperties: false`), no numeric, string-length or array-size
 * constraints but `minItems` 0 or 1, a list of string formats. Anthropic's own SDKs transform a
 * schema before sending it (@anthropic-ai/sdk `lib/transform-json-schema`, `transformJSONSchema`):
 * a keyword outside the subset is taken out and written into the schema's `description` as
 * `{minimum: 1, maximum: 5}`, so the model still reads it but the provider does not enforce it;
 * `oneOf` becomes `anyOf`; every object gets `additionalProperties: false`. This does the same,
 * keeping the keywords the docs list as supported (`enum`, `const`, `default`, `pattern`, ...)
 * that the SDK would move too, and names what it moved so the caller can warn.
 */

import type { JsonObject, JsonValue } from '../canonical.js';
import { escapePointer, isRecord } from '../json.js';

const SUPPORTED_STRING_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'uri', 'ipv4', 'ipv6', 'uuid']);

/** Keywords kept as they are on any schema (subschemas are walked separately). */
const KEPT_KEYWORDS = new Set(['type', 'description', 'title', 'enum', 'const', 'default', 'pattern', 'required', '$ref']);

/** Metadata about the schema document, not a constraint on the answer: left out without a word. */
const DROPPED_KEYWORDS = new Set(['$schema', '$id', '$comment']);

/** One place where keywords were moved into the description, by JSON pointer into the client's schema. */
export interface MovedKeywords {
  pointer: string;
  keywords: string[];
}

export interface AnthropicOutputSchema {
  schema: JsonObject;
  /** Where constraints were moved into descriptions (not enforced by the provider); empty when none. */
  moved: MovedKeywords[];
}

export function anthropicOutputSchema(schema: JsonObject): AnthropicOutputSchema {
  const moved: MovedKeywords[] = [];
  return { schema: transform(schema, '', moved), moved };
}

function transform(schema: JsonObject, pointer: string, moved: MovedKeywords[]): JsonObject {
  const result: JsonObject = {};
  const unsupported: JsonObject = {};
  const type = schema['type'];
  const isObject = type === 'object' || (Array.isArray(type) && type.includes('object')) || isRecord(schema['properties']);
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${pointer}/${escapePointer(keyword)}`;
    if (KEPT_KEYWORDS.has(keyword)) result[keyword] = value;
    else if (DROPPED_KEYWORDS.has(keyword)) continue;
    else if (keyword === 'properties' || keyword === '$defs' || keyword === 'definitions') {
      if (isRecord(value)) result[keyword] = mapValues(value as JsonObject, (subschema, name) => subschemaAt(subschema, `${at}/${escapePointer(name)}`, moved));
      else unsupported[keyword] = value;
    } else if (keyword === 'anyOf' || keyword === 'oneOf' || keyword === 'allOf') {
      if (!Array.isArray(value)) unsupported[keyword] = value;
      else {
        const variants = value.map((variant, index) => subschemaAt(variant, `${at}/${index}`, moved));
        // oneOf (exactly one) is sent as anyOf (at least one), as the SDKs send it; said in the warning.
        if (keyword === 'oneOf') moved.push({ pointer, keywords: ['oneOf (sent as anyOf)'] });
        result[keyword === 'allOf' ? 'allOf' : 'anyOf'] = variants;
      }
    } else if (keyword === 'items' && isRecord(value)) result['items'] = transform(value as JsonObject, at, moved);
    else if (keyword === 'minItems' && (value === 0 || value === 1)) result['minItems'] = value;
    else if (keyword === 'format' && typeof value === 'string' && SUPPORTED_STRING_FORMATS.has(value)) result['format'] = value;
    else if (keyword === 'additionalProperties' && value === false) continue;
    else unsupported[keyword] = value;
  }
  if (isObject) result['additionalProperties'] = false;
  const keywords = Object.keys(unsupported);
  if (keywords.length > 0) {
    moved.push({ pointer, keywords });
    const written = `{${keywords.map((keyword) => `${keyword}: ${JSON.stringify(unsupported[keyword])}`).join(', ')}}`;
    const description = typeof result['description'] === 'string' ? `${result['description']}\n\n` : '';
    result['description'] = `${description}${written}`;
  }
  return result;
}

/** A subschema: an object schema is transformed; a boolean schema (`true`/`false`) is kept as it is. */
function subschemaAt(value: JsonValue, pointer: string, moved: MovedKeywords[]): JsonValue {
  return isRecord(value) ? transform(value as JsonObject, pointer, moved) : value;
}

function mapValues(object: JsonObject, map: (value: JsonValue, key: string) => JsonValue): JsonObject {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value, key)]));
}

/** The moved keywords in words, for a warning: `/properties/age: minimum, maximum; /: oneOf (sent as anyOf)`. */
export function describeMovedKeywords(moved: readonly MovedKeywords[]): string {
  return moved.map((entry) => `${entry.pointer === '' ? '/' : entry.pointer}: ${entry.keywords.join(', ')}`).join('; ');
}
