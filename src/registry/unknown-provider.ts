import { closest } from '../common/closest.js';
import { UsageError } from '../errors.js';

/**
 * `unknown provider "olama" (did you mean "ollama"?)`, with the registered ids as its hint: what
 * every command given an id that names no provider says.
 */
export function unknownProviderError(id: string, known: readonly string[]): UsageError {
  const suggestion = closest(id, known);
  return new UsageError(`unknown provider "${id}"${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`, {
    hint:
      known.length === 0
        ? 'no providers are registered yet; run `syndicate provider register <file>` or `syndicate provider add <name>`'
        : `known providers: ${known.join(', ')}`,
    details: { knownProviders: [...known] },
  });
}
