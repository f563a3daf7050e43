/**
 * Whether a JSON Schema fits OpenAI's strict structured outputs (`response_format.json_schema.strict:
 * true`), which enforce a schema by constrained decoding only in strict mode and answer a schema
 * outside it with a 400 (platform.openai.com/docs/guides/structured-outputs, "Supported schemas"):
 * the root an object; every object closed (`additionalProperties: false`) with every property in
 * `required` (an optional one is a nullable type instead); only the keywords listed as supported.
 * The check is conservative: a keyword it does not know makes the schema unfit, as the cost of
 * a wrong "fits" is a refused request and that of a wrong "does not fit" only a schema not enforced.
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
 * Why `schema` does not fit OpenAI's strict mode, at the first place found (`/properties/tags:
 * additionalProperties is not false`); undefined when it fits.
 */
export function strictSchemaMisfit(schema: unknown): string | undefined {
  if (!isRecord(schema) || schema['type'] !== 'object') return 'the root is not of type object';
  return misfitAt(schema, '');
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
