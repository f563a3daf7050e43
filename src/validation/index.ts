/**
 * Validation of every user-written file (provider records, policy): validators generated from the
 * schemas at build time, YAML parsing with positions, problems reported as
 * `file:line:col /json/pointer message (hint)`.
 */
export { findLiteralCredentials, credentialKind, type CredentialFinding } from './credentials.js';
export { readInputFile, requireReadableFile, STDIN_FILE_NAME, unreadableInputFile } from './input-file.js';
export { generatedValidatorUrl, loadSchemaDocument, rawSchemaErrors, schemaUrl, schemaValidator, SCHEMA_FILES, type SchemaName } from './schemas.js';
export { LISTED_SCHEMA_PROBLEMS, validateAgainstSchema } from './validate.js';
export {
  capProblems,
  escapePointerSegment,
  LISTED_SYNTAX_ERRORS,
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
