import { isHostedClass } from '../common/vocabulary.js';
import type { RegisteredProvider } from '../registry/types.js';
import type { Exclusion, ProviderHealth } from './types.js';

/** A provider, or one model of it, held out of routes right now (`heldBack`). */
export interface Hold {
  /** The exclusion rule it is: down (`unhealthy`), or held back by a 429 (`rate_limited`). */
  rule: 'unhealthy' | 'rate_limited';
  /** Why, as the route's exclusion says it (and the walk, after "not called: "). */
  reason: string;
  /** The model's own hold: the provider's other models stay routable. */
  heldModel: boolean;
  /** `rate_limited`: seconds until it may be used again. */
  retryAfterSeconds?: number;
  /** `unhealthy`: whether nothing answered, its calls kept failing, or (a model) it is not served, and in how many seconds it is tried again. */
  unavailable?: NonNullable<Exclusion['unavailable']>;
}

/**
 * Whether the health monitor holds `model` of `provider` out right now, and why — the one answer
 * the route's exclusions (`planRoute`) and the fallback walk's "not called" (a hold in force when a
 * candidate is reached) both give. The provider's hold comes first: a model of a provider that is
 * down or rate-limited is not held again on its own, and `modelHealth` is then not read. A model
 * held down without a cause is `failing` (its provider answers; the calls for that model failed),
 * never `unreachable`. `now`, when known, dates the end of a model's hold in the reason.
 */
export function heldBack(
  provider: Pick<RegisteredProvider, 'id' | 'record'>,
  model: string,
  health: ProviderHealth | undefined,
  modelHealth: ProviderHealth | undefined,
  now?: Date,
): Hold | undefined {
  if (health?.state === 'down') {
    const label = isHostedClass(provider.record.class) ? 'recently failed' : health.cause === 'failing' ? 'engine failing' : 'engine unreachable';
    return {
      rule: 'unhealthy',
      reason: `${label}: ${health.reason ?? 'down'} (checked ${health.checkedAt})`,
      heldModel: false,
      unavailable: downFacts(health, health.cause ?? 'unreachable'),
    };
  }
  if (health?.state === 'rate_limited') {
    const retryAfterSeconds = waitMs(health) / 1000;
    return {
      rule: 'rate_limited',
      reason: `rate-limited for another ${Math.ceil(retryAfterSeconds)} s: ${health.reason ?? 'HTTP 429'} (checked ${health.checkedAt})`,
      heldModel: false,
      retryAfterSeconds,
    };
  }
  if (modelHealth === undefined || modelHealth.state === 'up') return undefined;
  const wait = waitMs(modelHealth);
  const until = now === undefined ? '' : ` (until ${new Date(now.getTime() + wait).toISOString()})`;
  const checked = `(checked ${modelHealth.checkedAt})`;
  if (modelHealth.state === 'rate_limited') {
    const retryAfterSeconds = wait / 1000;
    const others = provider.record.models.length > 1 ? `, ${provider.id}'s other models stay routable` : '';
    return {
      rule: 'rate_limited',
      reason: `model ${model} rate-limited for another ${Math.ceil(retryAfterSeconds)} s${until}${others}: ${modelHealth.reason ?? 'HTTP 429'} ${checked}`,
      heldModel: true,
      retryAfterSeconds,
    };
  }
  const label =
    modelHealth.cause === 'not_found'
      ? `model ${model} not served by ${provider.id}`
      : modelHealth.cause === 'embeddings_not_enabled'
        ? `model ${model}: ${provider.id} serves no embeddings`
        : `model ${model} failing`;
  return {
    rule: 'unhealthy',
    reason: `${label}, held back for another ${Math.ceil(wait / 1000)} s${until}: ${modelHealth.reason ?? 'down'} ${checked}`,
    heldModel: true,
    unavailable: downFacts(modelHealth, modelHealth.cause ?? 'failing'),
  };
}

/** The time left of a hold, never below nothing (unknown: none). */
function waitMs(health: ProviderHealth): number {
  return Math.max(0, health.retryAfterMs ?? 0);
}

/** What a hint names of a down hold: its cause, the last failure's status or connection reset, and when it is tried again. */
function downFacts(health: ProviderHealth, cause: NonNullable<ProviderHealth['cause']>): NonNullable<Exclusion['unavailable']> {
  return {
    cause,
    ...(health.status === undefined ? {} : { status: health.status }),
    ...(health.connectionReset === true ? { connectionReset: true as const } : {}),
    ...(health.retryAfterMs === undefined ? {} : { retryInSeconds: waitMs(health) / 1000 }),
  };
}
