import type { ErrorObject } from 'ajv/dist/2020.js';
import { closest } from '../common/closest.js';
import type { InputProblem } from '../errors.js';
import { credentialKind } from './credentials.js';
import { loadSchemaDocument, rawSchemaErrors, type SchemaName } from './schemas.js';
import { switchedKeyAnswer } from './switched-key.js';
import { capProblems, escapePointerSegment, problemAt, sortProblems, type YamlSource } from './yaml-source.js';

/**
 * How many schema problems are listed per file. Unlike syntax errors each is a problem of its
 * own, so more are listed; a file that is not the expected record at all (a mapping of a
 * thousand unknown keys) still prints a screenful.
 */
export const LISTED_SCHEMA_PROBLEMS = 20;

/**
 * Validates a parsed value against one of the project's schemas and returns its problems,
 * located in the YAML text when `source` is a YamlSource (else just the file name), each with
 * a message saying what was expected and a hint saying how to fix it: the first
 * `LISTED_SCHEMA_PROBLEMS` in file order, then an entry counting the rest. Empty when valid.
 */
export function validateAgainstSchema(schemaName: SchemaName, value: unknown, source: YamlSource | string): InputProblem[] {
  const errors = rawSchemaErrors(schemaName, value);
  const alternatives = alternativeForms(errors, schemaName);
  // An `if` error only says its `then` or `else` failed, whose own errors are listed; so does a
  // `propertyNames` error ("property name must be valid") of the name's.
  const problems = withoutBoundsOfWrongType(errors.filter((error) => error.keyword !== 'if' && error.keyword !== 'propertyNames')).map((error) =>
    translateError(error, source, alternatives.get(error), schemaName),
  );
  return capProblems(sortProblems(dedupe(problems)), LISTED_SCHEMA_PROBLEMS, 'schema problem', 'fix the problems listed and validate again to see the rest');
}

/** The keywords that bound a value of the right type: said of a value of the wrong type, they only repeat its type error. */
const VALUE_BOUNDS: ReadonlySet<string> = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'minItems', 'maxItems']);

/**
 * The errors without those of a value's bounds where the same schema node already says the value
 * has the wrong type (`retentionDays: 0.5` is not a whole number — not also "must be >= 1"); a
 * bound of another branch (`anyOf`) stays, as it may be the one that applies.
 */
function withoutBoundsOfWrongType(errors: ErrorObject[]): ErrorObject[] {
  const wrongType = new Set(errors.filter((error) => error.keyword === 'type').map((error) => `${error.instancePath}\u0000${parentSchemaPath(error)}`));
  if (wrongType.size === 0) return errors;
  return errors.filter((error) => !(VALUE_BOUNDS.has(error.keyword) && wrongType.has(`${error.instancePath}\u0000${parentSchemaPath(error)}`)));
}

function parentSchemaPath(error: ErrorObject): string {
  return error.schemaPath.slice(0, error.schemaPath.lastIndexOf('/'));
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  enum?: unknown[];
  const?: unknown;
  type?: string;
  $ref?: string;
  if?: SchemaNode;
  then?: SchemaNode;
  else?: SchemaNode;
}

/**
 * A node that takes a value in one form or another by its type (`if: {type: string}` with a word
 * in `then` and a mapping in `else`, as `media.remoteUrls`): its `else` says only "must be a
 * mapping" of a value of neither type, though a word is as welcome. For each such `type` error,
 * the forms the node accepts, in the order the schema gives them (`"refuse" or "allow"`, `a
 * mapping (public, internal, …)`); a value of the `if`'s type has the errors of its own form only.
 */
function alternativeForms(errors: readonly ErrorObject[], schemaName: SchemaName): Map<ErrorObject, string[]> {
  const forms = new Map<ErrorObject, string[]>();
  for (const conditional of errors) {
    if (conditional.keyword !== 'if' || (conditional.params as { failingKeyword?: string }).failingKeyword !== 'else') continue;
    const node = conditional.parentSchema as SchemaNode;
    if (node.if?.type === undefined || node.then === undefined || node.else === undefined) continue;
    const elseType = `${conditional.schemaPath.slice(0, -'/if'.length)}/else/type`;
    const wrongType = errors.find((error) => error.keyword === 'type' && error.instancePath === conditional.instancePath && error.schemaPath === elseType);
    if (wrongType === undefined) continue;
    const document = loadSchemaDocument(schemaName);
    forms.set(wrongType, [describeForm(resolveReference(node.then, document)), describeForm(resolveReference(node.else, document))]);
  }
  return forms;
}

/** A schema node `$ref` points to in the document (`#/$defs/…`), merged with the node's own keywords; the node itself without a `$ref`. */
function resolveReference(node: SchemaNode, document: Record<string, unknown>): SchemaNode {
  if (node.$ref === undefined || !node.$ref.startsWith('#/')) return node;
  const target = node.$ref
    .slice(2)
    .split('/')
    .reduce<unknown>((at, segment) => (at as Record<string, unknown> | undefined)?.[segment.replaceAll('~1', '/').replaceAll('~0', '~')], document);
  const { $ref: _reference, ...own } = node;
  return { ...(target as SchemaNode), ...own };
}

/** One form a value may take, as a problem names it: its values (`"refuse" or "allow"`), else its type (`a mapping (public, internal)`). */
function describeForm(node: SchemaNode): string {
  if (node.enum !== undefined) return joinAlternatives(node.enum.map((item) => JSON.stringify(item)));
  if (node.const !== undefined) return JSON.stringify(node.const);
  const type = article(node.type ?? 'value');
  const keys = Object.keys(node.properties ?? {});
  return node.type === 'object' && keys.length > 0 ? `${type} (${keys.join(', ')})` : type;
}

function joinAlternatives(items: readonly string[]): string {
  return joinWords(items, 'or');
}

/** `a, b and c` (`conjunction` `and`), `a or b`; one item alone, or nothing. */
function joinWords(items: readonly string[], conjunction: 'and' | 'or'): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/**
 * Unknown keys whose place says what their author was after, per schema and the pointer of the
 * mapping that holds them: how to get it, said after the allowed keys. Only a key no allowed one
 * is a misspelling of gets it (`interactve` is told "did you mean").
 */
const MEANT_ELSEWHERE: Partial<Record<SchemaName, Readonly<Record<string, (key: string) => string>>>> = {
  policy: {
    // `workflows: {code-review: …}`: a per-team or per-tool rule, which is what trust tiers are.
    '/workflows': (key) => {
      // Named after the key when it is a valid tier name (the schema's own trustTiers pattern), else a placeholder.
      const name = new RegExp(trustTierNamePattern(), 'u').test(key) ? key : '<name>';
      return `a rule for a team or tool is not a workflow but a trust tier: trustTiers.${name}, given to \`syndicate serve --trust-tier ${name}\` / \`syndicate mcp --trust-tier ${name}\``;
    },
  },
};

/** The pattern a trust tier's name must match, as the policy schema gives it (`trustTiers.propertyNames`). */
function trustTierNamePattern(): string {
  const trustTiers = (loadSchemaDocument('policy')['properties'] as Record<string, { propertyNames?: { pattern?: string } }> | undefined)?.['trustTiers'];
  const pattern = trustTiers?.propertyNames?.pattern;
  if (pattern === undefined) throw new Error('the policy schema gives trustTiers no propertyNames pattern');
  return pattern;
}

function translateError(error: ErrorObject, source: YamlSource | string, forms: readonly string[] | undefined, schemaName: SchemaName): InputProblem {
  const parentSchema = (error.parentSchema ?? {}) as SchemaNode;
  const described = parentSchema.description === undefined ? undefined : `expected: ${parentSchema.description}`;
  const params = error.params as Record<string, unknown>;
  const here = error.instancePath;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(parentSchema.properties ?? {});
      if (key === '<<') {
        // YAML 1.1's merge key: an author who wrote `<<: *defaults` meant those keys here, and removing it would drop them.
        return problemAt(
          source,
          `${here}/${escapePointerSegment(key)}`,
          'the YAML merge key "<<" is not read (syndicate reads YAML 1.2, which has no merge keys), so nothing would be merged here',
          `write out here the keys you meant to merge (allowed keys: ${allowed.join(', ')}); an alias (\`*name\`) as a whole value works`,
          'key',
        );
      }
      // A key that switches a real one off or on (`noToolsTag`) is told how to say that, never offered the key it negates.
      const value = typeof error.data === 'object' && error.data !== null ? (error.data as Record<string, unknown>)[key] : undefined;
      const switched = switchedKeyAnswer(key, value, parentSchema.properties ?? {});
      const suggestion = switched === undefined ? closest(key, allowed) : undefined;
      const clause = switched?.clause ?? (suggestion === undefined ? undefined : `(did you mean "${suggestion}"?)`);
      const meantElsewhere = clause === undefined ? MEANT_ELSEWHERE[schemaName]?.[here]?.(key) : undefined;
      return problemAt(
        source,
        `${here}/${escapePointerSegment(key)}`,
        `unknown key "${key}"${clause === undefined ? '' : ` ${clause}`}`,
        `${switched?.fix ?? 'remove it'}; allowed keys here: ${allowed.join(', ')}${meantElsewhere === undefined ? '' : `; ${meantElsewhere}`}`,
        'key',
      );
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const description = parentSchema.properties?.[missing]?.description;
      return problemAt(
        source,
        here,
        `missing required key "${missing}"`,
        `add "${missing}:"${description === undefined ? '' : ` — ${description}`}`,
      );
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((item) => JSON.stringify(item)).join(', ');
      // A value in the wrong case or misspelt (`Confidential`, `confidental`) is told the one it meant.
      const meant = typeof error.data === 'string' ? closest(error.data, (params.allowedValues as unknown[]).filter((item): item is string => typeof item === 'string')) : undefined;
      return problemAt(
        source,
        here,
        `must be one of ${allowed}, got ${describeValue(error.data)}${meant === undefined ? '' : ` (did you mean ${JSON.stringify(meant)}?)`}`,
        `use one of: ${allowed}`,
      );
    }
    case 'const':
      return problemAt(
        source,
        here,
        `must be ${JSON.stringify(params.allowedValue)}, got ${describeValue(error.data)}`,
        `set it to ${JSON.stringify(params.allowedValue)}`,
      );
    case 'type':
      // YAML's `.inf` and `.nan` read as numbers that JSON Schema's numbers leave out: "must be a number, got the number Infinity" says nothing.
      if (typeof error.data === 'number' && !Number.isFinite(error.data)) {
        const written = Number.isNaN(error.data) ? '.nan' : error.data > 0 ? '.inf' : '-.inf';
        const wanted = params.type === 'integer' ? 'a whole number' : 'a finite number';
        return problemAt(source, here, `must be ${wanted}, got ${written}`, `write ${wanted} (YAML's .inf and .nan are none)${described === undefined ? '' : `; ${described}`}`);
      }
      // An empty file (or one of comments only) is a null document: say so, and what it needs at least.
      if (here === '' && error.data === null) {
        const required = ((parentSchema as SchemaNode & { required?: string[] }).required ?? []).map((key) => {
          const constant = parentSchema.properties?.[key]?.const;
          return typeof constant === 'string' ? `\`${key}: ${constant}\`` : `\`${key}:\``;
        });
        return problemAt(source, here, 'the file is empty (no YAML document, or only comments)', `write at least ${joinWords(required, 'and')}${described === undefined ? '' : `; ${described}`}`);
      }
      return problemAt(source, here, `must be ${forms === undefined ? article(String(params.type)) : forms.join(', or ')}, got ${typeName(error.data)}`, described);
    case 'pattern':
      // A key's name (`propertyNames`): located at the key itself, which is what to rename.
      if (error.propertyName !== undefined) {
        return problemAt(source, `${here}/${escapePointerSegment(error.propertyName)}`, `the name ${describeValue(error.propertyName)} does not have the expected form (pattern ${String(params.pattern)})`, described, 'key');
      }
      return problemAt(source, here, `${describeValue(error.data)} does not have the expected form (pattern ${String(params.pattern)})`, described);
    case 'format':
      return problemAt(source, here, `${describeValue(error.data)} is not a valid ${String(params.format)}`, described);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return problemAt(source, here, `must be ${String(params.comparison)} ${String(params.limit)}, got ${describeValue(error.data)}`, described);
    case 'minItems':
      return problemAt(source, here, `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`, described);
    case 'maxItems':
      return problemAt(source, here, `must have at most ${String(params.limit)} items`, described);
    case 'minLength':
      return problemAt(source, here, params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`, described);
    case 'maxLength':
      return problemAt(source, here, `must be at most ${String(params.limit)} characters long`, described);
    case 'uniqueItems': {
      const later = Math.max(Number(params.i), Number(params.j));
      const earlier = Math.min(Number(params.i), Number(params.j));
      return problemAt(
        source,
        `${here}/${later}`,
        `duplicate item: same as item ${earlier}`,
        'remove the duplicate; every item must be unique',
      );
    }
    default:
      return problemAt(source, here, error.message ?? `fails the "${error.keyword}" rule`, described);
  }
}

/** Never echoes something that looks like a secret; keeps long values short. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    if (credentialKind(value) !== undefined) return '"<redacted>"';
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (value === null || typeof value !== 'object') return String(value);
  return typeName(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'string') return `the string ${describeValue(value)}`;
  return `${typeof value} ${String(value)}`;
}

function article(type: string): string {
  const named: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false' };
  return named[type] ?? type;
}

function dedupe(problems: InputProblem[]): InputProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.pointer}\u0000${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

