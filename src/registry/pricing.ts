import { cacheTokensWithinInput, type Usage } from '../wire/canonical.js';
import type { ModelPrice } from './types.js';

/**
 * What an answer cost at the model's list price: uncached input, cache reads and cache writes
 * (five-minute and one-hour) each at their own rate — a cache rate the record does not give falls
 * back to the plain input rate — plus the output. Usage counts cache reads and writes inside
 * `inputTokens` (the canonical convention), so they are taken out of the plain input first.
 */
export function usageCostUsd(price: ModelPrice, usage: Usage): number {
  const { cached, written } = cacheTokensWithinInput(usage);
  const writtenForAnHour = Math.min(usage.cacheWrite1hInputTokens ?? 0, written);
  const writeRate = price.cacheWriteInputPerMTok ?? price.inputPerMTok;
  const microDollars =
    (usage.inputTokens - cached - written) * price.inputPerMTok +
    cached * (price.cachedInputPerMTok ?? price.inputPerMTok) +
    (written - writtenForAnHour) * writeRate +
    writtenForAnHour * (price.cacheWrite1hInputPerMTok ?? writeRate) +
    usage.outputTokens * price.outputPerMTok;
  return microDollars / 1_000_000;
}
