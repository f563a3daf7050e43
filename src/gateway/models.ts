import { listProviders } from '../registry/registry.js';
import type { Store } from '../store/store.js';

interface ModelEntry {
  id: string;
  /** The provider serving it; `syndicate` for `auto`. */
  owner: string;
  description: string;
}

/**
 * What a client may send as `model`: `auto`, every active `provider:model`, and every alias.
 * In OpenAI's list shape, or Anthropic's when the client sent `anthropic-version`.
 */
export function modelList(store: Store, family: 'openai' | 'anthropic'): Record<string, unknown> {
  const entries: ModelEntry[] = [{ id: 'auto', owner: 'syndicate', description: 'routed by policy' }];
  const aliases = new Map<string, ModelEntry>();
  for (const provider of listProviders(store)) {
    if (provider.retiredAt !== null || provider.record.class === 'blocked') continue;
    for (const model of provider.record.models) {
      entries.push({ id: `${provider.id}:${model.id}`, owner: provider.id, description: `${model.id} on ${provider.id}` });
      for (const alias of model.aliases ?? []) {
        if (!aliases.has(alias)) aliases.set(alias, { id: alias, owner: provider.id, description: `alias of ${provider.id}:${model.id}` });
      }
    }
  }
  entries.push(...aliases.values());
  if (family === 'anthropic') {
    return {
      data: entries.map((entry) => ({ type: 'model', id: entry.id, display_name: entry.description, created_at: '1970-01-01T00:00:00Z' })),
      has_more: false,
      first_id: entries[0]?.id ?? null,
      last_id: entries.at(-1)?.id ?? null,
    };
  }
  return { object: 'list', data: entries.map((entry) => ({ id: entry.id, object: 'model', created: 0, owned_by: entry.owner })) };
}
