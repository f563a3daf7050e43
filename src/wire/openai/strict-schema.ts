/**
 * Whether a JSON Schema fits OpenAI's strict structured outputs (`response_format.json_schema.strict:
 * true`), which enforce a schema by constrained decoding only in strict mode and answer a schema
 * outside it with a 400 (platform.openai.com/docs/guides/structured-outputs, "Supported schemas"):
 * the root an object; every object closed (`additionalProperties: false`) with every property in
 * `required` (an optional one is a nullable type instead); only the keywords listed as supported.
 * The check is conservative: a keyword it does not know makes the schema unfit, as the cost of
 * a wrong "fits" is a refused request and that of a wrong "does not fit" only a schema not enforced.
 * The same guide's size limits are checked too (`STRICT_SCHEMA_LIMITS`).
 */

import { escapePointer, isRecord } from '../json.js';

/** The keywords strict mode takes (subschemas under `properties`, `items`, `anyOf`, `$defs` are checked in turn). */
const STRICT_KEYWORDS: ReadonlySet<string> = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'anyOf',
  'enum',
  'const',
  'description',
  'title',
  '$ref',
  '$defs',
  'definitions',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);

/**
 * The size limits of a strict schema (platform.openai.com/docs/guides/structured-outputs,
 * "Objects have limitations on nesting depth and size"): at most 5000 object properties in all,
 * 10 levels of nesting and 1000 enum values; the names of properties and definitions, enum values
 * and consts at most 120 000 characters together; one string enum of more than 250 values at most
 * 15 000 characters.
 */
export const STRICT_SCHEMA_LIMITS = {
  properties: 5000,
  nesting: 10,
  enumValues: 1000,
  stringLength: 120_000,
  largeEnumValues: 250,
  largeEnumStringLength: 15_000,
} as const;

/**
 * Why `schema` does not fit OpenAI's strict mode, at the first place found (`/properties/tags:
 * additionalProperties is not false`), or the size limit it is over; undefined when it fits.
 */
export function strictSchemaMisfit(schema: unknown): string | undefined {
  if (!isRecord(schema) || schema['type'] !== 'object') return 'the root is not of type object';
  return misfitAt(schema, '') ?? sizeMisfit(schema);
}

/** What a schema counts against the size limits. */
interface SchemaSize {
  properties: number;
  /** The most object schemas on one path from the root (the root is level 1). */
  nesting: number;
  enumValues: number;
  stringLength: number;
  /** The first string enum of more than 250 values over 15 000 characters, by its pointer. */
  largeEnum?: string;
}

function sizeMisfit(schema: Record<string, unknown>): string | undefined {
  const size: SchemaSize = { properties: 0, nesting: 0, enumValues: 0, stringLength: 0 };
  measure(schema, '', 0, size);
  const limits = STRICT_SCHEMA_LIMITS;
  if (size.properties > limits.properties) return `${size.properties} object properties in all, over strict mode's limit of ${limits.properties}`;
  if (size.nesting > limits.nesting) return `${size.nesting} levels of nesting, over strict mode's limit of ${limits.nesting}`;
  if (size.enumValues > limits.enumValues) return `${size.enumValues} enum values in all, over strict mode's limit of ${limits.enumValues}`;
  if (size.stringLength > limits.stringLength) {
    return `property and definition names, enum values and consts of ${size.stringLength} characters in all, over strict mode's limit of ${limits.stringLength}`;
  }
  if (size.largeEnum !== undefined) return size.largeEnum;
  return undefined;
}

function measure(node: unknown, pointer: string, depth: number, size: SchemaSize): void {
  if (!isRecord(node)) return;
  const properties = node['properties'];
  const isObject = node['type'] === 'object' || (Array.isArray(node['type']) && node['type'].includes('object')) || isRecord(properties);
  const level = isObject ? depth + 1 : depth;
  size.nesting = Math.max(size.nesting, level);
  const enumValues: unknown = node['enum'];
  if (Array.isArray(enumValues)) {
    size.enumValues += enumValues.length;
    const strings = enumValues.filter((value): value is string => typeof value === 'string');
    const length = strings.reduce((sum, value) => sum + value.length, 0);
    size.stringLength += length;
    const limits = STRICT_SCHEMA_LIMITS;
    if (size.largeEnum === undefined && strings.length > limits.largeEnumValues && length > limits.largeEnumStringLength) {
      size.largeEnum = `${pointer === '' ? 'the root' : pointer}: an enum of ${strings.length} strings of ${length} characters, over strict mode's limit of ${limits.largeEnumStringLength} for an enum of more than ${limits.largeEnumValues} values`;
    }
  }
  const constant = node['const'];
  if (typeof constant === 'string') size.stringLength += constant.length;
  for (const [name, child] of Object.entries(isRecord(properties) ? properties : {})) {
    size.properties += 1;
    size.stringLength += name.length;
    measure(child, `${pointer}/properties/${escapePointer(name)}`, level, size);
  }
  if (node['items'] !== undefined) measure(node['items'], `${pointer}/items`, level, size);
  const anyOf: unknown = node['anyOf'];
  if (Array.isArray(anyOf)) anyOf.forEach((child: unknown, index) => measure(child, `${pointer}/anyOf/${index}`, level, size));
  for (const keyword of ['$defs', 'definitions'] as const) {
    const definitions = node[keyword];
    for (const [name, child] of Object.entries(isRecord(definitions) ? definitions : {})) {
      size.stringLength += name.length;
      measure(child, `${pointer}/${keyword}/${escapePointer(name)}`, depth, size);
    }
  }
}

function misfitAt(node: unknown, pointer: string): string | undefined {
  const at = (problem: string): string => `${pointer === '' ? 'the root' : pointer}: ${problem}`;
  if (!isRecord(node)) return at('a subschema is not an object');
  const unknown = Object.keys(node).find((keyword) => !STRICT_KEYWORDS.has(keyword));
  if (unknown !== undefined) return at(`keyword ${unknown} is not supported in strict mode`);
  const type: unknown = node['type'];
  const properties = node['properties'];
  if (type === 'object' || (Array.isArray(type) && type.includes('object')) || properties !== undefined) {
    if (node['additionalProperties'] !== false) return at('additionalProperties is not false');
    const required: unknown = node['required'];
    const optional = Object.keys(isRecord(properties) ? properties : {}).find((name) => !Array.isArray(required) || !required.includes(name));
    if (optional !== undefined) return at(`property ${optional} is not in required`);
  }
  const items = node['items'];
  if (items !== undefined && !isRecord(items)) return at('items is not one schema');
  const anyOf: unknown = node['anyOf'];
  const children: Array<[string, unknown]> = [
    ...Object.entries(isRecord(properties) ? properties : {}).map(([name, child]): [string, unknown] => [`/properties/${escapePointer(name)}`, child]),
    ...(items === undefined ? [] : [['/items', items] as [string, unknown]]),
    ...(Array.isArray(anyOf) ? anyOf.map((child: unknown, index): [string, unknown] => [`/anyOf/${index}`, child]) : []),
    ...(['$defs', 'definitions'] as const).flatMap((keyword) => {
      const definitions = node[keyword];
      return Object.entries(isRecord(definitions) ? definitions : {}).map(([name, child]): [string, unknown] => [`/${keyword}/${escapePointer(name)}`, child]);
    }),
  ];
  for (const [path, child] of children) {
    const misfit = misfitAt(child, `${pointer}${path}`);
    if (misfit !== undefined) return misfit;
  }
  return undefined;
}
