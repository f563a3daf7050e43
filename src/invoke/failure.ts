import { SyndicateError } from '../errors.js';
import type { AttemptReport } from './types.js';

/** The attempts a failed invocation made, in order (the pipeline puts them in its error's `details.attempts`). */
export function attemptsOfFailure(error: unknown): AttemptReport[] {
  if (!(error instanceof SyndicateError)) return [];
  const attempts = error.details?.['attempts'];
  return Array.isArray(attempts) ? (attempts as AttemptReport[]) : [];
}
