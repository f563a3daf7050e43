import { formatInputProblem, InvalidInputError, SyndicateError } from '../errors.js';
import type { PolicyChange } from '../policy/live.js';
import type { Output } from './output.js';

/** What a long-running command (`serve`, `mcp`) says on stderr when policy.yaml was re-read or became unusable. */
export function reportPolicyChange(output: Output, change: PolicyChange): void {
  if (change.kind === 'reloaded') {
    output.info(`policy reloaded from ${change.path}`);
    return;
  }
  output.warn(`${change.error.message}; requests go to local providers only until ${change.path} is valid again`);
  if (change.error instanceof InvalidInputError) for (const problem of change.error.problems) output.info(`  ${formatInputProblem(problem)}`);
  // A policy another user can change: the fix is a chmod or chown, not an edit.
  else if (change.error instanceof SyndicateError && change.error.hint !== undefined) output.info(`  hint: ${change.error.hint}`);
}
