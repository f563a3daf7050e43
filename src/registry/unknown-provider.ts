import { closest } from '../common/closest.js';
import { UsageError } from '../errors.js';

/**
 * `unknown provider "olama" (did you mean "ollama"?)`, with the registered ids as its hint: what
 * every command given an id that names no provider says. A command that takes only some providers
 * (the engine commands: local ones) passes those alone, and what to call them (`local providers`),
 * so the hint never offers an id the command would then refuse.
 */
export function unknownProviderError(id: string, known: readonly string[], kind?: { label: string; none: string }): UsageError {
  const suggestion = closest(id, known);
  return new UsageError(`unknown provider "${id}"${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`, {
    hint:
      known.length === 0
        ? (kind?.none ?? 'no providers are registered yet; run `syndicate provider register <file>` or `syndicate provider add <name>`')
        : `${kind?.label ?? 'known providers'}: ${known.join(', ')}`,
    details: { knownProviders: [...known] },
  });
}
