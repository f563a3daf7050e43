import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { SyndicateError, ExitCode } from '../errors.js';

/** The user-written file formats with a JSON schema in `schemas/`. */
export const SCHEMA_FILES = {
  provider: 'provider.v1.schema.json',
  policy: 'policy.v1.schema.json',
} as const;
export type SchemaName = keyof typeof SCHEMA_FILES;

// ajv and ajv-formats are CommonJS, loaded on first use: the commands that validate nothing (lists,
// `evidence show`) do not load them. ajv-formats' plugin is its `exports.default`.
const requireCommonJs = createRequire(import.meta.url);
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;

let ajvInstance: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/**
 * The project's one ajv instance: draft 2020-12, `allErrors` (report every problem at once),
 * `strict` (a schema typo is a bug, not a silent pass), `verbose` (errors carry the schema
 * so messages can list allowed keys and values). Created on first use.
 *
 * Each process compiles a schema once and validates one or a few files with it, so compiling is
 * what costs (it was a fifth of a `run`'s CPU time): `validateSchema: false` does not check the
 * shipped schemas against the 2020-12 meta-schema in every process (which compiled the
 * meta-schema first; test/unit/validation/schemas.test.ts checks them), and `code.optimize:
 * false` skips the pass that tidies the generated code, which validates the same.
 */
export function sharedAjv(): Ajv2020 {
  if (ajvInstance === undefined) {
    const { Ajv2020: AjvClass } = requireCommonJs('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const formats = requireCommonJs('ajv-formats') as { default: FormatsPlugin };
    ajvInstance = new AjvClass({ allErrors: true, strict: true, verbose: true, validateSchema: false, code: { optimize: false } });
    formats.default(ajvInstance);
  }
  return ajvInstance;
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

/** The compiled validator for a schema, compiled once per process. */
export function schemaValidator(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (validate === undefined) {
    validate = sharedAjv().compile(loadSchemaDocument(name));
    compiled.set(name, validate);
  }
  return validate;
}

/** Runs a schema; returns ajv's raw errors (empty when valid). */
export function rawSchemaErrors(name: SchemaName, value: unknown): ErrorObject[] {
  const validate = schemaValidator(name);
  return validate(value) ? [] : [...(validate.errors ?? [])];
}
