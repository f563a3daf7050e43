import { PolicyRefusalError, SyndicateError, UnknownModelError, UsageError } from '../errors.js';
import { missingCredential } from '../registry/credentials.js';
import { findUndatedModel, undatedName } from '../registry/model-names.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { HealthMonitor } from '../router/health.js';
import { selectModels } from '../router/plan.js';
import { GATEWAY_MODEL_NAMING, type ModelNaming } from './model-naming.js';
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
 * — models that can take a request now first, then the others marked with why not
 * (`unservable`: its engine is down, its key is not set, the model itself is held down), at most
 * `SHOWN_MODELS` of them — in the words of the surface that asked (`naming`; the gateway's by default).
 * Retired providers are left out: they are never called.
 */
export function unknownModelError(
  model: string,
  providers: readonly RegisteredProvider[],
  explicitProvider: string | undefined,
  unservable: (provider: RegisteredProvider, model: string) => string | undefined,
  naming: ModelNaming = GATEWAY_MODEL_NAMING,
): UnknownModelError {
  const servable: string[] = [];
  const others: { name: string; why: string }[] = [];
  for (const provider of providers) {
    if (provider.retiredAt !== null || (explicitProvider !== undefined && provider.id !== explicitProvider)) continue;
    for (const entry of provider.record.models) {
      const names = [`${provider.id}:${entry.id}`, ...(entry.aliases ?? [])];
      const why = unservable(provider, entry.id);
      if (why === undefined) servable.push(...names);
      else others.push(...names.map((name) => ({ name, why })));
    }
  }
  const listed = [...servable, ...others.map(({ name, why }) => `${name} (${why})`)];
  const shown = listed.length > SHOWN_MODELS ? `${listed.slice(0, SHOWN_MODELS).join(', ')} and ${listed.length - SHOWN_MODELS} more` : listed.join(', ');
  const scope = explicitProvider === undefined ? 'no registered model or alias' : `no model or alias of provider ${explicitProvider}`;
  return new UnknownModelError(`unknown model "${model}": ${scope} matches`, {
    hint: `${undatedSuggestion(model, providers, explicitProvider)}${naming.auto} to let the policy choose, or one of: ${shown === '' ? '(none)' : shown}; ${naming.listing}`,
    details: { model, known: [...servable, ...others.map(({ name }) => name)], ...(others.length === 0 ? {} : { unservable: Object.fromEntries(others.map(({ name, why }) => [name, why])) }) },
  });
}

/**
 * For a dated name no record declares (`claude-sonnet-4-5-20250514` where another date of it is
 * registered), the start of the hint: its undated name, which names the newest dated model of a
 * record (`findUndatedModel`), and what that reaches. Empty when no record has another date of it.
 */
function undatedSuggestion(model: string, providers: readonly RegisteredProvider[], explicitProvider: string | undefined): string {
  const undated = undatedName(model);
  if (undated === undefined) return '';
  const reached = providers.flatMap((provider) => {
    if (provider.retiredAt !== null || (explicitProvider !== undefined && provider.id !== explicitProvider)) return [];
    const newest = findUndatedModel(provider.record, undated);
    return newest === undefined ? [] : [`${provider.id}:${newest.id}`];
  });
  if (reached.length === 0) return '';
  return `name it undated, ${JSON.stringify(undated)}, for the newest dated model registered (${reached.join(', ')}); or `;
}

/**
 * What is wrong with a provider the caller named (`--provider`), before anything is classified:
 * no provider has that id (a usage error, exit 2, naming the active ones), or it is retired (refused,
 * exit 4, said once: a retired provider is never called). Undefined when it can be asked — and when
 * no provider is active, an id none has: that is the route's to refuse (`no_providers`, naming the
 * commands that register one), as for a model name (`unknownModelOf`).
 */
export function namedProviderError(providerId: string | undefined, providers: readonly RegisteredProvider[]): UsageError | PolicyRefusalError | undefined {
  if (providerId === undefined) return undefined;
  const named = providers.find((provider) => provider.id === providerId);
  const active = providers.filter((provider) => provider.retiredAt === null).map((provider) => provider.id);
  if (named === undefined && active.length === 0) return undefined;
  const others = `${active.join(', ') || '(none active)'} (\`syndicate provider list\`)`;
  if (named === undefined) {
    return new UsageError(`no provider ${providerId} is registered`, {
      hint: `name one of: ${others}, or leave the provider out to let the policy choose`,
      details: { provider: providerId, active },
    });
  }
  if (named.retiredAt !== null) {
    return new PolicyRefusalError('provider_retired', `provider ${providerId} was retired at ${named.retiredAt}: a retired provider is never called`, {
      hint: `register it again (\`syndicate provider register FILE\`), or name an active one: ${others}`,
      details: { provider: providerId, retiredAt: named.retiredAt, active },
    });
  }
  return undefined;
}

/**
 * The request names a model none of the registered providers (or none of the provider asked for)
 * serves: its error, else undefined (also when nothing is registered: that is the route's to refuse).
 * `unservable` says why a provider cannot take a request now (see `unservableReason`).
 */
export function unknownModelOf(
  model: string,
  providers: readonly RegisteredProvider[],
  explicitProvider: string | undefined,
  unservable: (provider: RegisteredProvider, model: string) => string | undefined,
  naming?: ModelNaming,
): UnknownModelError | undefined {
  if (providers.length === 0 || selectModels(model, providers, explicitProvider).pairs.length > 0) return undefined;
  return unknownModelError(model, providers, explicitProvider, unservable, naming);
}

/**
 * Why a provider:model cannot take a request now, for an unknown-model hint: its provider blocked,
 * its key unset, or down as last seen, or the model itself held down (not served by its provider,
 * or overloaded call after call). Unknown counts as servable.
 * Not derived from the route's `heldBack`: these did-you-mean labels count a block or missing key but not a
 * rate limit (only a wait), and say "down" of a failing model where its timed sentences say "failing".
 */
export function unservableReason(env: NodeJS.ProcessEnv, health: HealthMonitor): (provider: RegisteredProvider, model: string) => string | undefined {
  return (provider, model) => {
    if (provider.record.class === 'blocked') return 'blocked';
    const missingKey = missingCredential(provider.record, env);
    if (missingKey !== undefined) return `key ${missingKey} not set`;
    if (health.known(provider)?.state === 'down') return 'down';
    const held = health.knownModels(provider)[model];
    if (held?.state !== 'down') return undefined;
    return held.cause === 'not_found' ? 'not served by its provider' : held.cause === 'embeddings_not_enabled' ? 'its provider serves no embeddings' : 'down';
  };
}
