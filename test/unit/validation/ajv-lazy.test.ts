import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { rawSchemaErrors, SCHEMA_FILES, schemaValidator, type SchemaName } from '../../../src/validation/index.js';

const loadedAjvModules = (): string[] => Object.keys(createRequire(import.meta.url).cache).filter((path) => /\/node_modules\/ajv(-formats)?\//.test(path));

/**
 * The only test of its file: each file runs in a process of its own, so nothing has validated
 * anything before it whatever order the tests run in. (Beside the schema tests it had to run
 * first, and a shuffled run ran it after them: ajv was already loaded.)
 */
describe('ajv', () => {
  it('validating loads only the validators generated at build time and ajv runtime helpers, never its compiler; nothing of it before something is validated', () => {
    expect(loadedAjvModules()).toEqual([]);
    for (const name of Object.keys(SCHEMA_FILES) as SchemaName[]) schemaValidator(name);
    expect(rawSchemaErrors('policy', { apiVersion: 'syndicate/v1', kind: 'Policy', nope: 1 }).map((error) => error.keyword)).toEqual(['additionalProperties']);
    const loaded = loadedAjvModules();
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.filter((path) => !/\/node_modules\/ajv\/dist\/runtime\/|\/node_modules\/ajv-formats\/dist\/formats\.js$/.test(path))).toEqual([]);
  });
});
