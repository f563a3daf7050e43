import { existsSync } from 'node:fs';
import { shellWord } from '../common/shell-word.js';
import { countProblems, InvalidInputError, type PolicyRefusalError } from '../errors.js';
import { capProblems, LISTED_SCHEMA_PROBLEMS, loadYamlFile, parseYamlText, problemAt, sortProblems, STDIN_FILE_NAME, validateAgainstSchema, type ParsedYaml } from '../validation/index.js';
import { refuseUntrustedFile, untrustedFileRefusal } from '../home/access.js';
import { defaultPolicy } from './defaults.js';
import { checkPolicySemantics, mergePolicy, type PolicyDocument } from './normalize.js';
import type { Policy } from './types.js';

/** An effective policy and where it came from. */
export interface LoadedPolicy {
  policy: Policy;
  /** `file` when read from `path`, `defaults` when the file does not exist. */
  source: 'file' | 'defaults';
  path: string;
}

/**
 * The effective policy at `path` (the home's `policy.yaml`), to apply: the file merged over the
 * built-in defaults, or the defaults alone when the file does not exist. An invalid file throws
 * InvalidInputError (exit 3) with every problem located as `file:line:col /pointer message (hint)`;
 * it never falls back to the defaults, because a policy the operator wrote and got wrong must not
 * be silently ignored. Nor is a policy another user can change (the file, or the directory it is
 * in): PolicyRefusalError `policy_insecure` (exit 4), before anything of it is read.
 */
export function loadPolicy(path: string): Policy {
  refuseUntrustedPolicy(path);
  return loadPolicyWithSource(path).policy;
}

/** The refusal of a policy another user can change (exit 4). */
export const POLICY_INSECURE = 'policy_insecure';

/** Throws when another user can change the policy at `path` (see `untrustedFileProblem`). */
export function refuseUntrustedPolicy(path: string): void {
  refuseUntrustedFile(path, 'policy', 'policy', POLICY_INSECURE);
}

/** The refusal `refuseUntrustedPolicy` throws, or undefined: a running gateway fails closed with it. */
export function untrustedPolicyRefusal(path: string): PolicyRefusalError | undefined {
  return untrustedFileRefusal(path, 'policy', 'policy', POLICY_INSECURE);
}

export function loadPolicyWithSource(path: string, options: { mustExist?: boolean } = {}): LoadedPolicy {
  if (options.mustExist !== true && !existsSync(path)) return { policy: defaultPolicy(), source: 'defaults', path };
  return { policy: policyFromParsed(loadYamlFile(path)), source: 'file', path };
}

/** Validates policy text (e.g. from stdin or a test) as if it were the file `file`. */
export function parsePolicyText(text: string, file = 'policy.yaml'): Policy {
  return policyFromParsed(parseYamlText(text, file));
}

function policyFromParsed(parsed: ParsedYaml): Policy {
  const { value, source } = parsed;
  // `policy show` would fail on the same file, and a bare `policy check` reads the home's policy, not this file.
  const recheck =
    source.file === STDIN_FILE_NAME
      ? 'fix each problem listed; `syndicate policy check -` re-validates the text piped to it'
      : `fix each problem listed; \`syndicate policy check ${shellWord(source.file)}\` re-validates the file`;
  const schemaProblems = validateAgainstSchema('policy', value, source);
  if (schemaProblems.length > 0) {
    throw new InvalidInputError(`${source.file} is not a valid policy (${plural(countProblems(schemaProblems), 'problem')})`, schemaProblems, { hint: recheck });
  }
  const document = value as PolicyDocument;
  const policy = mergePolicy(document);
  const semanticProblems = checkPolicySemantics(policy, document).map((problem) =>
    problemAt(source, problem.pointer, problem.message, problem.hint),
  );
  if (semanticProblems.length > 0) {
    const listed = capProblems(sortProblems(semanticProblems), LISTED_SCHEMA_PROBLEMS, 'problem', 'fix the problems listed and check again to see the rest');
    throw new InvalidInputError(`${source.file} is not a valid policy (${plural(semanticProblems.length, 'problem')})`, listed, { hint: recheck });
  }
  return policy;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
