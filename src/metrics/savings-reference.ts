import type { Policy } from '../policy/types.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { currentProviders } from '../registry/provider-cache.js';
import type { ModelPrice } from '../registry/types.js';
import type { Store } from '../store/store.js';

/** The price local tokens are compared with, and why it is not the model's own when it cannot be. */
export interface SavingsReference {
  price: { referenceModel: string } & ModelPrice;
  /** The reference model is neither priced in the policy nor registered with a price: the built-in rates stand in. */
  warning?: string;
}

/**
 * The policy's savings reference as metrics price it: its own rates when it gives any, else the
 * registered record's price of the model it names (`provider:model`, tiers included), else the
 * built-in rates with a warning that says so.
 */
export function savingsReference(store: Store, savings: Policy['savings']): SavingsReference {
  const { priceFromRegistry, ...price } = savings;
  if (priceFromRegistry !== true) return { price };
  const registered = registeredPrice(store, savings.referenceModel);
  if (registered !== undefined) return { price: { referenceModel: savings.referenceModel, ...registered } };
  return {
    price,
    warning:
      `savings reference ${savings.referenceModel} is neither priced in the policy nor a registered model with a price: ` +
      `local tokens are priced at the built-in rates ($${price.inputPerMTok}/$${price.outputPerMTok} per MTok in/out); ` +
      'give savings.inputPerMTok and savings.outputPerMTok in the policy, or name a registered provider:model that has a price',
  };
}

function registeredPrice(store: Store, reference: string): ModelPrice | undefined {
  const separator = reference.indexOf(':');
  if (separator <= 0) return undefined;
  const provider = currentProviders(store).find((candidate) => candidate.id === reference.slice(0, separator));
  return provider === undefined ? undefined : findDeclaredModel(provider.record, reference.slice(separator + 1))?.price;
}
