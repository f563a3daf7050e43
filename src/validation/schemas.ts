import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { SyndicateError, ExitCode } from '../errors.js';

/** The user-written file formats with a JSON schema in `schemas/`. */
export const SCHEMA_FILES = {
  provider: 'provider.v1.schema.json',
  policy: 'policy.v1.schema.json',
} as const;
export type SchemaName = keyof typeof SCHEMA_FILES;

const loaded = new Map<SchemaName, ValidateFunction>();

/**
 * The module holding a schema's validator, generated at build time from the schema by
 * scripts/compile-schemas.mjs (ajv's standalone code: draft 2020-12, `allErrors`, `strict`, `verbose`,
 * ajv-formats). Resolved from this module so it works from both `src/` and `dist/` (both two levels
 * below the package root); `npm run build` writes it.
 */
export function generatedValidatorUrl(name: SchemaName): URL {
  return new URL(`../../dist/validation/generated/${SCHEMA_FILES[name].replace(/\.schema\.json$/, '.cjs')}`, import.meta.url);
}

/** URL of a schema file, resolved from this module so it works from both `src/` and `dist/`. */
export function schemaUrl(name: SchemaName): URL {
  return new URL(`../../schemas/${SCHEMA_FILES[name]}`, import.meta.url);
}

/** The parsed JSON schema document (e.g. to list allowed keys or print it in docs). */
export function loadSchemaDocument(name: SchemaName): Record<string, unknown> {
  const url = schemaUrl(name);
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new SyndicateError('internal', ExitCode.internal, `cannot load the ${name} schema at ${url.pathname}: ${(error as Error).message}`, {
      hint: 'the installation is incomplete; reinstall syndicate',
      cause: error,
    });
  }
}

/**
 * The validator for a schema, loaded on first use: the commands that validate nothing (lists,
 * `evidence show`) do not load it. No process compiles a schema — that was ~130 ms of a `run`'s CPU,
 * paid again by every process of a batch — nor loads ajv's compiler; the generated module (CommonJS,
 * loaded with `require` so that validation stays synchronous) needs only ajv's small runtime
 * helpers.
 */
export function schemaValidator(name: SchemaName): ValidateFunction {
  let validate = loaded.get(name);
  if (validate === undefined) {
    const url = generatedValidatorUrl(name);
    try {
      validate = (createRequire(import.meta.url)(fileURLToPath(url)) as ValidateFunction);
    } catch (error) {
      throw new SyndicateError('internal', ExitCode.internal, `cannot load the ${name} schema's validator at ${url.pathname}: ${(error as Error).message}`, {
        hint: 'the installation is incomplete; reinstall syndicate (in a checkout: npm run build)',
        cause: error,
      });
    }
    loaded.set(name, validate);
  }
  return validate;
}

/** Runs a schema; returns ajv's raw errors (empty when valid). */
export function rawSchemaErrors(name: SchemaName, value: unknown): ErrorObject[] {
  const validate = schemaValidator(name);
  return validate(value) ? [] : [...(validate.errors ?? [])];
}
