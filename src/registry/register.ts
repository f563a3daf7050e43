import { resolve } from 'node:path';
import { countProblems, InvalidInputError, type InputProblem } from '../errors.js';
import type { Store } from '../store/store.js';
import { requireReadableFile } from '../validation/input-file.js';
import { loadYamlFile, parseYamlText, positionOf, problemAt, type YamlSource } from '../validation/yaml-source.js';
import { checkProviderValue } from './checks.js';
import { registerPreparedProviders } from './registry.js';
import type { PreparedProvider, ProviderRecord, RegistrationOutcome } from './types.js';

/** The result of checking one input: a prepared record, or the problems that stop it. */
export interface PreparationResult {
  prepared: PreparedProvider | undefined;
  problems: InputProblem[];
  /** Where the record came from, to locate problems found across inputs (a provider id two files declare). */
  source?: YamlSource | string;
}

/** Provider YAML given as text rather than a path (`provider register -` reads it from stdin), named `file` in its problems. */
export interface ProviderText {
  file: string;
  text: string;
}

const MULTIPLE_DOCUMENTS_HINT = 'put one provider record per file, and register the files together: `syndicate provider register a.yaml b.yaml`';

/** Loads and fully checks one provider YAML file (or text) without touching the store. */
export async function prepareProviderFile(input: string | ProviderText): Promise<PreparationResult> {
  let parsed;
  try {
    parsed =
      typeof input === 'string'
        ? loadYamlFile(input, input, { multipleDocumentsHint: MULTIPLE_DOCUMENTS_HINT })
        : parseYamlText(input.text, input.file, {
            multipleDocumentsHint: 'give one provider record per input: save each to a file of its own and register the files together: `syndicate provider register a.yaml b.yaml`',
          });
  } catch (error) {
    if (error instanceof InvalidInputError) return { prepared: undefined, problems: error.problems };
    throw error;
  }
  return prepareProviderValue(parsed.value, parsed.source, typeof input === 'string' ? resolve(input) : null);
}

/**
 * Checks an already-parsed value (a YAML source for positions, or a label such as
 * `catalog ollama` for records built in code) and normalises it.
 */
export async function prepareProviderValue(
  value: unknown,
  source: YamlSource | string,
  sourcePath: string | null,
): Promise<PreparationResult> {
  const { record, problems } = await checkProviderValue(value, source);
  const file = typeof source === 'string' ? source : source.file;
  return { prepared: record === undefined ? undefined : { record, file, sourcePath }, problems, source };
}

/** Throws one InvalidInputError carrying every problem of every input, or returns the prepared records. */
export function requireAllValid(results: PreparationResult[], what: string): PreparedProvider[] {
  const duplicates = duplicateIdProblems(results);
  const problems = [...results.flatMap((result) => result.problems), ...duplicates];
  if (problems.length > 0) {
    const failedFiles = new Set(problems.map((problem) => problem.file)).size;
    const scope = results.length > 1 ? `${failedFiles} of ${results.length} ${what} invalid; nothing was registered` : `${[...new Set(problems.map((problem) => problem.file))][0] ?? what} is invalid; nothing was registered`;
    const count = countProblems(problems);
    throw new InvalidInputError(`${count} problem${count === 1 ? '' : 's'}: ${scope}`, problems, {
      hint: 'fix each problem listed above (file:line:col /pointer message) and register again',
    });
  }
  return results.map((result) => result.prepared).filter((prepared): prepared is PreparedProvider => prepared !== undefined);
}

/**
 * `provider register <file...>`: validates every file first (schema, credentials, uniqueness,
 * local-class rule), then writes them all in one transaction. Any problem in any file means
 * nothing is written.
 */
export async function registerProviderFiles(store: Store, paths: string[]): Promise<RegistrationOutcome[]> {
  return registerPreparedProviders(store, await prepareProviderFiles(paths));
}

/** Reads and checks every file without the store, so a refused batch (exit 3) changes nothing, not even a fresh home. */
export async function prepareProviderFiles(inputs: ReadonlyArray<string | ProviderText>): Promise<PreparedProvider[]> {
  // A path that names no readable file is refused as every command refuses one, not as "invalid".
  for (const input of inputs) if (typeof input === 'string') requireReadableFile(input);
  const results: PreparationResult[] = [];
  for (const input of inputs) results.push(await prepareProviderFile(input));
  return requireAllValid(results, 'provider files are');
}

/**
 * Checks and registers one record built in code (catalog entry, discovery result).
 * `refuseOverwrite` runs in the write's transaction, before it, so what it checks against the
 * store still holds when the record lands; it throws to write nothing.
 */
export async function registerProviderRecord(
  store: Store,
  record: ProviderRecord | Record<string, unknown>,
  label: string,
  refuseOverwrite: (prepared: ProviderRecord) => void = () => undefined,
): Promise<RegistrationOutcome> {
  const result = await prepareProviderValue(record, label, null);
  const [prepared] = requireAllValid([result], label);
  if (prepared === undefined) throw new Error(`unreachable: ${label} produced no record`);
  const [outcome] = store.transaction(() => {
    refuseOverwrite(prepared.record);
    return registerPreparedProviders(store, [prepared]);
  });
  if (outcome === undefined) throw new Error(`unreachable: ${label} produced no outcome`);
  return outcome;
}

function duplicateIdProblems(results: PreparationResult[]): InputProblem[] {
  const seen = new Map<string, string>();
  const problems: InputProblem[] = [];
  for (const result of results) {
    const prepared = result.prepared;
    if (prepared === undefined) continue;
    const earlier = seen.get(prepared.record.id);
    if (earlier === undefined) {
      seen.set(prepared.record.id, located(result.source ?? prepared.file, '/id'));
      continue;
    }
    problems.push(
      problemAt(result.source ?? prepared.file, '/id', `provider id "${prepared.record.id}" is also declared in ${earlier}`, 'register one file per provider id in a batch'),
    );
  }
  return problems;
}

/** `file:line:column` of a pointer in a parsed file, as problems print it; the bare name for a record built in code. */
function located(source: YamlSource | string, pointer: string): string {
  if (typeof source === 'string') return source;
  const { line, column } = positionOf(source, pointer);
  return `${source.file}:${line}:${column}`;
}
