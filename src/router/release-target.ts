import { UsageError } from '../errors.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { requireProvider } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { holdsInForce, type ReleaseTarget } from './shared-holds.js';

/**
 * What `provider release PROVIDER[:MODEL]` names: the provider, its own hold and every model's (an
 * unknown one is the usual usage error, exit 2, listing the known ids); or one model, by its id or
 * an alias, or a model held now that its record no longer declares. A model neither declared nor
 * held is a usage error.
 */
export function releaseTargetOf(store: Store, name: string): ReleaseTarget {
  const colon = name.indexOf(':');
  const provider = requireProvider(store, colon < 0 ? name : name.slice(0, colon));
  if (colon < 0) return { provider, everyModel: true };
  const modelName = name.slice(colon + 1);
  const declared = findDeclaredModel(provider.record, modelName);
  if (declared !== undefined) return { provider, model: declared.id };
  if (holdsInForce(store, [provider]).some((hold) => hold.model === modelName)) return { provider, model: modelName };
  throw new UsageError(`provider ${provider.id} has no model ${modelName}`, {
    hint: `its models: ${provider.record.models.map((model) => model.id).join(', ')}; \`syndicate provider release ${provider.id}\` releases every one`,
  });
}
