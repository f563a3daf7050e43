import { SyndicateError, UnknownModelError } from '../errors.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { AttemptReport } from './types.js';

/** The attempts a failed invocation made, in order (the pipeline puts them in its error's `details.attempts`). */
export function attemptsOfFailure(error: unknown): AttemptReport[] {
  if (!(error instanceof SyndicateError)) return [];
  const attempts = error.details?.['attempts'];
  return Array.isArray(attempts) ? (attempts as AttemptReport[]) : [];
}

/** The most model names an unknown-model hint shows; the rest are counted. */
const SHOWN_MODELS = 8;

/**
 * A request named a model nothing registered serves: the hint lists what it could send instead
 * — models of providers that can take a request now first, then the others marked with why not
 * (`unservable`: its engine is down, its key is not set), at most `SHOWN_MODELS` of them.
 * Retired providers are left out: they are never called.
 */
export function unknownModelError(
  model: string,
  providers: readonly RegisteredProvider[],
  explicitProvider: string | undefined,
  unservable: (provider: RegisteredProvider) => string | undefined,
): UnknownModelError {
  const servable: string[] = [];
  const others: { name: string; why: string }[] = [];
  for (const provider of providers) {
    if (provider.retiredAt !== null || (explicitProvider !== undefined && provider.id !== explicitProvider)) continue;
    const names = provider.record.models.flatMap((entry) => [`${provider.id}:${entry.id}`, ...(entry.aliases ?? [])]);
    const why = unservable(provider);
    if (why === undefined) servable.push(...names);
    else others.push(...names.map((name) => ({ name, why })));
  }
  const listed = [...servable, ...others.map(({ name, why }) => `${name} (${why})`)];
  const shown = listed.length > SHOWN_MODELS ? `${listed.slice(0, SHOWN_MODELS).join(', ')} and ${listed.length - SHOWN_MODELS} more` : listed.join(', ');
  const scope = explicitProvider === undefined ? 'no registered model or alias' : `no model or alias of provider ${explicitProvider}`;
  return new UnknownModelError(`unknown model "${model}": ${scope} matches`, {
    hint: `send model "auto" to let the policy choose, or one of: ${shown === '' ? '(none)' : shown}; \`syndicate provider list\` and GET /v1/models list them (a client that cannot change its model name: add the name under \`aliases:\` of a model in its provider record)`,
    details: { model, known: [...servable, ...others.map(({ name }) => name)], ...(others.length === 0 ? {} : { unservable: Object.fromEntries(others.map(({ name, why }) => [name, why])) }) },
  });
}
