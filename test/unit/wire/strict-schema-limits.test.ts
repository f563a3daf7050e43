/**
 * OpenAI's size limits on a strict schema (platform.openai.com/docs/guides/structured-outputs,
 * "Objects have limitations on nesting depth and size"): a schema just under each fits strict
 * mode; one just over is sent without `strict`, with a warning naming the limit, rather than
 * earning OpenAI's 400.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalRequest, JsonObject } from '../../../src/wire/canonical.js';
import { encodeOpenAIRequest } from '../../../src/wire/openai/adapter.js';
import { STRICT_SCHEMA_LIMITS, strictSchemaMisfit } from '../../../src/wire/openai/strict-schema.js';

/** A closed object of these properties, every one required. */
function closedObject(properties: Record<string, unknown>): JsonObject {
  return { type: 'object', properties: properties as JsonObject, required: Object.keys(properties), additionalProperties: false };
}

function manyProperties(count: number): JsonObject {
  return closedObject(Object.fromEntries(Array.from({ length: count }, (_, index) => [`p${index}`, { type: 'string' }])));
}

/** Objects nested `levels` deep, the root the first. */
function nested(levels: number): JsonObject {
  let schema = closedObject({ leaf: { type: 'string' } });
  for (let level = 1; level < levels; level += 1) schema = closedObject({ inner: schema });
  return schema;
}

/** One string enum property of these values. */
function withEnum(values: readonly string[]): JsonObject {
  return closedObject({ choice: { type: 'string', enum: [...values] } });
}

/** `count` distinct strings of `length` characters each. */
function strings(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, index) => String(index).padStart(length, 'x'));
}

describe("OpenAI strict mode's size limits", () => {
  it('total object properties: 5000 fit, 5001 do not', () => {
    expect(STRICT_SCHEMA_LIMITS.properties).toBe(5000);
    expect(strictSchemaMisfit(manyProperties(5000))).toBeUndefined();
    expect(strictSchemaMisfit(manyProperties(5001))).toBe("5001 object properties in all, over strict mode's limit of 5000");
  });

  it('properties of nested objects count too', () => {
    const schema = closedObject({ a: manyProperties(2500), b: manyProperties(2499) });
    expect(strictSchemaMisfit(schema)).toBe("5001 object properties in all, over strict mode's limit of 5000");
  });

  it('nesting: 10 levels of objects fit, 11 do not (through arrays and anyOf alike)', () => {
    expect(strictSchemaMisfit(nested(10))).toBeUndefined();
    expect(strictSchemaMisfit(nested(11))).toBe("11 levels of nesting, over strict mode's limit of 10");
    const throughArray = closedObject({ list: { type: 'array', items: nested(10) } });
    expect(strictSchemaMisfit(throughArray)).toBe("11 levels of nesting, over strict mode's limit of 10");
    const throughAnyOf = closedObject({ either: { anyOf: [nested(9), { type: 'null' }] } });
    expect(strictSchemaMisfit(throughAnyOf)).toBeUndefined();
    const deeperAnyOf = closedObject({ either: { anyOf: [nested(10), { type: 'null' }] } });
    expect(strictSchemaMisfit(deeperAnyOf)).toBe("11 levels of nesting, over strict mode's limit of 10");
  });

  it('enum values: 1000 in all fit, 1001 do not', () => {
    expect(strictSchemaMisfit(withEnum(strings(1000, 4)))).toBeUndefined();
    expect(strictSchemaMisfit(withEnum(strings(1001, 4)))).toBe("1001 enum values in all, over strict mode's limit of 1000");
    const twoEnums = closedObject({ a: { type: 'string', enum: strings(500, 4) }, b: { type: 'integer', enum: Array.from({ length: 501 }, (_, index) => index) } });
    expect(strictSchemaMisfit(twoEnums)).toBe("1001 enum values in all, over strict mode's limit of 1000");
  });

  it('names, enum values and consts: 120 000 characters in all fit, 120 001 do not', () => {
    // Property names of 50 000, 49 990 and 3 ('ref') characters, a definition name of 5 ('thing'), an enum value of 2 and a const.
    const schema = (constLength: number): JsonObject => ({
      ...closedObject({ ['a'.repeat(50_000)]: { type: 'string', enum: ['yy'] }, ['b'.repeat(49_990)]: { const: 'c'.repeat(constLength) }, ref: { $ref: '#/$defs/thing' } }),
      $defs: { thing: { type: 'string' } },
    });
    expect(strictSchemaMisfit(schema(120_000 - 50_000 - 49_990 - 3 - 5 - 2))).toBeUndefined();
    expect(strictSchemaMisfit(schema(120_000 - 50_000 - 49_990 - 3 - 5 - 2 + 1))).toBe(
      "property and definition names, enum values and consts of 120001 characters in all, over strict mode's limit of 120000",
    );
  });

  it('a string enum of more than 250 values: 15 000 characters fit, 15 001 do not; 250 values may be longer', () => {
    const values = (lastLength: number): string[] => [...strings(250, 59), 'z'.repeat(lastLength)];
    expect(strictSchemaMisfit(withEnum(values(250)))).toBeUndefined();
    expect(strictSchemaMisfit(withEnum(values(251)))).toBe(
      "/properties/choice: an enum of 251 strings of 15001 characters, over strict mode's limit of 15000 for an enum of more than 250 values",
    );
    expect(strictSchemaMisfit(withEnum(strings(250, 80)))).toBeUndefined();
  });

  it('an enforced schema over a limit goes to OpenAI without strict, the warning naming the limit', () => {
    const schema = nested(11);
    const request: CanonicalRequest = {
      model: 'gpt-5',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Fill it in.' }] }],
      stream: false,
      responseFormat: { type: 'json_schema', schema, enforced: true },
    };
    const sent = encodeOpenAIRequest(request, { baseUrl: 'https://api.openai.com/v1', vendor: 'openai' });
    expect((JSON.parse(sent.body) as JsonObject)['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });
    expect(sent.warnings).toEqual([
      { setting: 'responseFormat', message: expect.stringContaining("does not fit OpenAI's strict structured outputs (11 levels of nesting, over strict mode's limit of 10), so it was sent without strict"), fields: [{ setting: 'responseFormat', effect: 'changed' }] },
    ]);
    const fits = encodeOpenAIRequest({ ...request, responseFormat: { type: 'json_schema', schema: nested(10), enforced: true } }, { baseUrl: 'https://api.openai.com/v1', vendor: 'openai' });
    expect((JSON.parse(fits.body) as { response_format: { json_schema: { strict?: boolean } } }).response_format.json_schema.strict).toBe(true);
  });
});
