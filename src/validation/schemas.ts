import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { SyndicateError, ExitCode } from '../errors.js';

/** The user-written file formats with a JSON schema in `schemas/`. */
export const SCHEMA_FILES = {
  provider: 'provider.v1.schema.json',
  policy: 'policy.v1.schema.json',
} as const;
export type SchemaName = keyof typeof SCHEMA_FILES;

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const addFormats: FormatsPlugin =
  (formatsModule as unknown as { default?: FormatsPlugin }).default ?? (formatsModule as unknown as FormatsPlugin);

let ajvInstance: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/**
 * The project's one ajv instance: draft 2020-12, `allErrors` (report every problem at once),
 * `strict` (a schema typo is a bug, not a silent pass), `verbose` (errors carry the schema
 * so messages can list allowed keys and values). Created on first use.
 *
 * `validateSchema: false`: the schemas are the ones shipped in `schemas/`, checked against the
 * 2020-12 meta-schema by test/unit/validation/schemas.test.ts; checking them again in every
 * process compiled the meta-schema first, about half of the policy's validation cost in each
 * `run`, `route` and `serve`.
 */
export function sharedAjv(): Ajv2020 {
  if (ajvInstance === undefined) {
    ajvInstance = new Ajv2020({ allErrors: true, strict: true, verbose: true, validateSchema: false });
    addFormats(ajvInstance);
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
