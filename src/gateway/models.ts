import { listProviders } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import type { ApiFamily } from './errors.js';

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
export function modelList(store: Store, family: ApiFamily): Record<string, unknown> {
  const entries = modelEntries(store);
  if (family === 'anthropic') {
    return {
      data: entries.map((entry) => modelObject(entry, family)),
      has_more: false,
      first_id: entries[0]?.id ?? null,
      last_id: entries.at(-1)?.id ?? null,
    };
  }
  return { object: 'list', data: entries.map((entry) => modelObject(entry, family)) };
}

/** One entry of `modelList` by its id (`GET /v1/models/{id}`), in the family's object shape; undefined when unknown. */
export function modelById(store: Store, id: string, family: ApiFamily): Record<string, unknown> | undefined {
  const entry = modelEntries(store).find((candidate) => candidate.id === id);
  return entry === undefined ? undefined : modelObject(entry, family);
}

function modelObject(entry: ModelEntry, family: ApiFamily): Record<string, unknown> {
  return family === 'anthropic'
    ? { type: 'model', id: entry.id, display_name: entry.description, created_at: '1970-01-01T00:00:00Z' }
    : { id: entry.id, object: 'model', created: 0, owned_by: entry.owner };
}

function modelEntries(store: Store): ModelEntry[] {
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
  return entries;
}
