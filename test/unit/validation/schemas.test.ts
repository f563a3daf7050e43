import { describe, expect, it } from 'vitest';
import { loadSchemaDocument, SCHEMA_FILES, schemaValidator, sharedAjv, type SchemaName } from '../../../src/validation/index.js';

const META_SCHEMA = 'https://json-schema.org/draft/2020-12/schema';

describe('the shipped schemas', () => {
  it.each(Object.keys(SCHEMA_FILES) as SchemaName[])('%s is a valid draft 2020-12 schema (the check the CLI leaves to this test)', async (name) => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const checker = new Ajv2020({ strict: true });
    const valid = checker.validateSchema(loadSchemaDocument(name));
    expect(checker.errors ?? [], name).toEqual([]);
    expect(valid).toBe(true);
  });

  it('compiling them does not compile the meta-schema in each process', () => {
    for (const name of Object.keys(SCHEMA_FILES) as SchemaName[]) schemaValidator(name);
    const schemas = (sharedAjv() as unknown as { schemas: Record<string, { validate?: unknown } | undefined> }).schemas;
    expect(schemas[META_SCHEMA]?.validate).toBeUndefined();
  });
});
