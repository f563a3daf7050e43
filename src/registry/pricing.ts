import { cacheTokensWithinInput, type Usage } from '../wire/canonical.js';
import type { ModelPrice, PriceTier, TokenRates } from './types.js';

/**
 * The tier of `price` that bills a request whose input is `inputTokens`: the last one whose
 * `aboveInputTokens` the input exceeds (a request exactly at a threshold stays below it), or
 * undefined when the base rates apply. `inputTokens` counts the whole prompt as the vendors do
 * for these thresholds — cache reads and writes included (the canonical `Usage.inputTokens`;
 * Anthropic's "prompt" of input + cache reads + cache writes, OpenAI's input tokens).
 */
export function tierForInput(price: ModelPrice, inputTokens: number): PriceTier | undefined {
  let applied: PriceTier | undefined;
  for (const tier of price.tiers ?? []) if (inputTokens > tier.aboveInputTokens) applied = tier;
  return applied;
}

/**
 * Each tier whose `aboveInputTokens` is not above the previous tier's (`tierForInput` needs them
 * ascending), with the message and hint a provider record and the policy's savings report.
 */
export function tierOrderProblems(tiers: readonly PriceTier[]): { index: number; message: string; hint: string }[] {
  return tiers.flatMap((tier, index) => {
    const previous = tiers[index - 1];
    if (previous === undefined || tier.aboveInputTokens > previous.aboveInputTokens) return [];
    return [
      {
        index,
        message: `tiers must be in ascending order of aboveInputTokens: ${tier.aboveInputTokens} is not above the previous tier's ${previous.aboveInputTokens}`,
        hint: 'list the tiers from the shortest input to the longest, each threshold above the one before',
      },
    ];
  });
}

/**
 * What an answer cost at the model's list price: every token of the request at the rates of the
 * tier its input reaches (`tierForInput`; the base rates below the first threshold) — uncached
 * input, cache reads and cache writes (five-minute and one-hour) each at their own rate, a cache
 * rate the rates do not give falling back to their plain input rate — plus the output. Usage
 * counts cache reads and writes inside `inputTokens` (the canonical convention), so they are taken
 * out of the plain input first. The router prices its estimate (prompt tokens, no cache) here too.
 */
export function usageCostUsd(price: ModelPrice, usage: Usage): number {
  const rates: TokenRates = tierForInput(price, usage.inputTokens) ?? price;
  const { cached, written } = cacheTokensWithinInput(usage);
  const writtenForAnHour = Math.min(usage.cacheWrite1hInputTokens ?? 0, written);
  const writeRate = rates.cacheWriteInputPerMTok ?? rates.inputPerMTok;
  const microDollars =
    (usage.inputTokens - cached - written) * rates.inputPerMTok +
    cached * (rates.cachedInputPerMTok ?? rates.inputPerMTok) +
    (written - writtenForAnHour) * writeRate +
    writtenForAnHour * (rates.cacheWrite1hInputPerMTok ?? writeRate) +
    usage.outputTokens * rates.outputPerMTok;
  return microDollars / 1_000_000;
}
