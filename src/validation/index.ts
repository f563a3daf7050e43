/**
 * Validation of every user-written file (provider records, policy): one ajv instance, YAML
 * parsing with positions, problems reported as `file:line:col /json/pointer message (hint)`.
 */
export { findLiteralCredentials, credentialKind, type CredentialFinding } from './credentials.js';
export { loadSchemaDocument, rawSchemaErrors, schemaUrl, schemaValidator, sharedAjv, SCHEMA_FILES, type SchemaName } from './schemas.js';
export { validateAgainstSchema } from './validate.js';
export {
  escapePointerSegment,
  loadYamlFile,
  parseYamlText,
  pointerSegments,
  positionOf,
  problemAt,
  sortProblems,
  type ParsedYaml,
  type TextPosition,
  type YamlSource,
} from './yaml-source.js';
