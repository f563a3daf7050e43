import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { schemaValidator } from '../../../src/validation/index.js';

const loadedAjvModules = (): string[] => Object.keys(createRequire(import.meta.url).cache).filter((path) => /\/node_modules\/ajv(-formats)?\//.test(path));

/**
 * The only test of its file: each file runs in a process of its own, so nothing has validated
 * anything before it whatever order the tests run in. (Beside the schema tests it had to run
 * first, and a shuffled run ran it after them: ajv was already loaded.)
 */
describe('ajv', () => {
  it('is not loaded until something is validated (the commands that validate nothing do not pay for it)', () => {
    expect(loadedAjvModules()).toEqual([]);
    schemaValidator('policy');
    expect(loadedAjvModules()).not.toEqual([]);
  });
});
