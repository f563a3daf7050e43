import { closest } from '../common/closest.js';
import type { Policy } from '../policy/types.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { currentProviders } from '../registry/provider-cache.js';
import { providerHistory } from '../registry/registry.js';
import type { ModelPrice } from '../registry/types.js';
import type { Store } from '../store/store.js';
import type { EarlierPrice } from './summary.js';

/** The price local tokens are compared with, and why it is not the model's own when it cannot be. */
export interface SavingsReference {
  price: { referenceModel: string } & ModelPrice;
  /** The reference model is neither priced in the policy nor registered with a price: the built-in rates stand in. */
  warning?: string;
  /** Why the reference could not be priced (`no registered provider "x"`, …), when it could not: `warning` says it with the fix. */
  unpriced?: string;
  /**
   * A registered reference whose record priced it otherwise before: each earlier price, oldest
   * first, with when the next version replaced it (`untilMs`). An answer from before that moment
   * is priced at the rates then in force, as its own spend keeps the price of the version it used.
   */
  earlierPrices?: EarlierPrice[];
}

/** How a savings reference metrics cannot price is fixed. */
export const SAVINGS_REFERENCE_FIX = 'give savings.inputPerMTok and savings.outputPerMTok in the policy, or name a registered provider:model that has a price';

/**
 * The policy's savings reference as metrics price it: its own rates when it gives any, else the
 * registered record's price of the model it names (`provider:model`, tiers included), else the
 * built-in rates with a warning that says so.
 */
export function savingsReference(store: Store, savings: Policy['savings']): SavingsReference {
  const { priceFromRegistry, ...price } = savings;
  if (priceFromRegistry !== true) return { price };
  const registered = registeredPrice(store, savings.referenceModel);
  if (typeof registered !== 'string') {
    const earlierPrices = earlierPricesOf(store, savings.referenceModel, registered);
    return { price: { referenceModel: savings.referenceModel, ...registered }, ...(earlierPrices.length === 0 ? {} : { earlierPrices }) };
  }
  return {
    price,
    unpriced: registered,
    warning:
      `savings reference ${savings.referenceModel} is neither priced in the policy nor a registered model with a price: ` +
      `local tokens are priced at the built-in rates ($${price.inputPerMTok}/$${price.outputPerMTok} per MTok in/out); ${SAVINGS_REFERENCE_FIX}`,
  };
}

/** The registered price of `provider:model`, or why there is none. */
function registeredPrice(store: Store, reference: string): ModelPrice | string {
  const separator = reference.indexOf(':');
  if (separator <= 0) return 'it is not of the form provider:model';
  const providers = currentProviders(store);
  const providerId = reference.slice(0, separator);
  const provider = providers.find((candidate) => candidate.id === providerId);
  if (provider === undefined) {
    const meant = closest(providerId, providers.map((candidate) => candidate.id));
    return `no registered provider is "${providerId}"${meant === undefined ? '' : ` (did you mean "${meant}"?)`}`;
  }
  const modelName = reference.slice(separator + 1);
  const model = findDeclaredModel(provider.record, modelName);
  if (model === undefined) {
    const meant = closest(modelName, provider.record.models.map((declared) => declared.id));
    return `provider ${providerId} declares no model "${modelName}"${meant === undefined ? '' : ` (did you mean "${meant}"?)`}`;
  }
  return model.price ?? `${providerId}'s record gives model ${model.id} no price`;
}

/**
 * The prices `provider:model` had in the versions of its record before the current one, each until
 * the version that changed it; a version that gave the model no price (or did not declare it) keeps
 * the price before it (or, before any, the first one given). Empty when the price never changed.
 */
function earlierPricesOf(store: Store, reference: string, current: ModelPrice): EarlierPrice[] {
  const separator = reference.indexOf(':');
  const versions = providerHistory(store, reference.slice(0, separator));
  const modelName = reference.slice(separator + 1);
  const earlier: EarlierPrice[] = [];
  let price: ModelPrice | undefined;
  for (const version of versions) {
    const declared = findDeclaredModel(version.record, modelName)?.price;
    if (declared === undefined) continue;
    const since = Date.parse(version.createdAt);
    if (price !== undefined && !samePrice(price, declared)) earlier.push({ price, untilMs: since });
    price = declared;
  }
  // The last price recorded is the current one: the list ends at the version that introduced it.
  return price !== undefined && samePrice(price, current) ? earlier : [];
}

function samePrice(a: ModelPrice, b: ModelPrice): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
