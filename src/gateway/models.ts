import { createHash } from 'node:crypto';
import type { EngineReport } from '../engines/manage.js';
import { deepFreeze } from '../common/freeze.js';
import { COMPLETIONS_TAG, FILL_IN_MIDDLE_TAG } from '../common/vocabulary.js';
import { OLLAMA_DEFAULT_TAG } from '../registry/model-names.js';
import { currentProviders } from '../registry/provider-cache.js';
import type { ProviderModel, RegisteredProvider } from '../registry/types.js';
import { selectModels } from '../router/plan.js';
import { cachedRead } from '../store/cached-read.js';
import type { Store } from '../store/store.js';
import { GatewayRequestError, type ApiFamily } from './errors.js';

interface ModelEntry {
  id: string;
  /** The provider serving it; `syndicate` for `auto`. */
  owner: string;
  description: string;
  /** The models it stands for: the one it names, or for `auto` every model a request may be routed to. */
  models: ProviderModel[];
  /** What its Ollama `digest` is made from: changes when the provider's record does. */
  digestSource: string;
  /**
   * When it last changed (ISO 8601, milliseconds): when the current version of the record serving
   * it was registered; for a name several records serve (`auto`), the latest of theirs. Every face
   * lists models with it: Ollama's `modified_at`, OpenAI's `created`, Anthropic's `created_at`.
   */
  modifiedAt: string;
}

/** A model list's date when no record stands behind a name (`auto` with nothing registered), with fractional seconds as every date here has. */
const NO_DATE = new Date(0).toISOString();

/** The latest of `providers`' registration times of their current versions (ISO strings of one format order as their times). */
function latestVersionTime(providers: Iterable<RegisteredProvider>): string {
  let latest = NO_DATE;
  for (const provider of providers) if (provider.versionCreatedAt > latest) latest = provider.versionCreatedAt;
  return latest;
}

/**
 * What a client may send as `model`: `auto`, every active `provider:model`, and every alias.
 * In OpenAI's list shape, or Anthropic's when the client sent `anthropic-version`.
 */
export function modelList(store: Store, family: ApiFamily, query: URLSearchParams = new URLSearchParams()): Record<string, unknown> {
  const entries = modelEntries(store);
  if (family === 'anthropic') {
    const { page, hasMore } = anthropicModelPage(entries, query);
    return {
      data: page.map((entry) => modelObject(entry, family)),
      has_more: hasMore,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
    };
  }
  return { object: 'list', data: entries.map((entry) => modelObject(entry, family)) };
}

/** Anthropic's page size when the client names none, and the most it takes (Models API: `limit`, 1 to 1000, default 20). */
const ANTHROPIC_DEFAULT_PAGE = 20;
const ANTHROPIC_LARGEST_PAGE = 1000;

/**
 * The page of the list that Anthropic's Models API paging asks for: at most `limit` entries,
 * immediately after `after_id` or immediately before `before_id` (the list's start without
 * either), and whether more lie beyond the page in that direction (`has_more`).
 */
function anthropicModelPage(entries: readonly ModelEntry[], query: URLSearchParams): { page: readonly ModelEntry[]; hasMore: boolean } {
  const limitText = query.get('limit');
  const limit = limitText === null ? ANTHROPIC_DEFAULT_PAGE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > ANTHROPIC_LARGEST_PAGE) {
    throw new GatewayRequestError('invalid_request', `limit: must be a whole number from 1 to ${ANTHROPIC_LARGEST_PAGE}, got "${limitText ?? ''}"`, { code: 'invalid_limit', param: 'limit' });
  }
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  if (afterId !== null && beforeId !== null) {
    throw new GatewayRequestError('invalid_request', 'give after_id or before_id, not both', { code: 'invalid_cursor', param: 'before_id' });
  }
  const cursor = afterId ?? beforeId;
  const at = cursor === null ? -1 : entries.findIndex((entry) => entry.id === cursor);
  if (cursor !== null && at === -1) {
    throw new GatewayRequestError('invalid_request', `${afterId === null ? 'before_id' : 'after_id'}: no model "${cursor}" in the list; start again without it`, {
      code: 'invalid_cursor',
      param: afterId === null ? 'before_id' : 'after_id',
    });
  }
  if (beforeId !== null) {
    const start = Math.max(0, at - limit);
    return { page: entries.slice(start, at), hasMore: start > 0 };
  }
  const start = at + 1;
  return { page: entries.slice(start, start + limit), hasMore: start + limit < entries.length };
}

/**
 * One model by the name a client sends (`GET /v1/models/{id}`, the SDKs' `models.retrieve`), in the
 * family's object shape: an entry of `modelList`, or any other name a chat request is routed by —
 * a model's own id without its provider (`claude-sonnet-4-20250514`), an Ollama name without its
 * tag (`llama3.2`, `ollama:llama3.2`) — under that name, so a client that checks its model before
 * using it is not told "not found" of a model that answers. Undefined when nothing answers to it.
 */
export function modelById(store: Store, id: string, family: ApiFamily): Record<string, unknown> | undefined {
  const entry = modelEntries(store).find((candidate) => candidate.id === id) ?? entryRoutedBy(store, id);
  return entry === undefined ? undefined : modelObject(entry, family);
}

/** The models a name not listed selects, as the router selects them, as one entry under that name. */
function entryRoutedBy(store: Store, name: string): ModelEntry | undefined {
  const { pairs } = selectModels(name, currentProviders(store).filter(isListed));
  const first = pairs[0];
  if (first === undefined || name.trim() === '' || name.trim() === 'auto') return undefined;
  const owners = new Set(pairs.map((pair) => pair.provider.id));
  return {
    id: name,
    owner: owners.size === 1 ? first.provider.id : 'syndicate',
    description: pairs.map((pair) => `${pair.model.id} on ${pair.provider.id}`).join(', '),
    models: pairs.map((pair) => pair.model),
    digestSource: name,
    modifiedAt: latestVersionTime(pairs.map((pair) => pair.provider)),
  };
}

/** Whether a provider's models are listed: active and not blocked. */
function isListed(provider: RegisteredProvider): boolean {
  return provider.retiredAt === null && provider.record.class !== 'blocked';
}

function modelObject(entry: ModelEntry, family: ApiFamily): Record<string, unknown> {
  return family === 'anthropic'
    ? { type: 'model', id: entry.id, display_name: entry.description, created_at: entry.modifiedAt }
    : { id: entry.id, object: 'model', created: Math.floor(Date.parse(entry.modifiedAt) / 1000), owned_by: entry.owner };
}

/** The entries of one registry state, and their ids. */
interface ModelCatalog {
  entries: readonly ModelEntry[];
  ids: ReadonlySet<string>;
}

/**
 * The model entries, built once per registry state: Ollama clients name `auto:latest` (or another
 * tagged name) on every request, and `ollamaModelId` looks it up among them.
 */
const modelCatalog = cachedRead(['providers', 'provider_versions'], (store): ModelCatalog => {
  const entries = deepFreeze(buildModelEntries(store));
  return { entries, ids: new Set(entries.map((entry) => entry.id)) };
});

function modelEntries(store: Store): readonly ModelEntry[] {
  return modelCatalog(store).entries;
}

function buildModelEntries(store: Store): ModelEntry[] {
  const listed = currentProviders(store).filter(isListed);
  const auto: ModelEntry = { id: 'auto', owner: 'syndicate', description: 'routed by policy', models: [], digestSource: 'auto', modifiedAt: latestVersionTime(listed) };
  const entries: ModelEntry[] = [auto];
  const aliases = new Map<string, ModelEntry>();
  for (const provider of listed) {
    auto.digestSource += `:${provider.contentHash}`;
    const modifiedAt = provider.versionCreatedAt;
    for (const model of provider.record.models) {
      auto.models.push(model);
      const digestSource = `${provider.contentHash}:${model.id}`;
      entries.push({ id: `${provider.id}:${model.id}`, owner: provider.id, description: `${model.id} on ${provider.id}`, models: [model], digestSource, modifiedAt });
      for (const alias of model.aliases ?? []) {
        if (!aliases.has(alias)) aliases.set(alias, { id: alias, owner: provider.id, description: `alias of ${provider.id}:${model.id}`, models: [model], digestSource, modifiedAt });
      }
    }
  }
  entries.push(...aliases.values());
  return entries;
}

/**
 * `/api/show`'s `template` for a model that fills in the middle: a Go template comment (the engine
 * applies the model's own template) naming `.Prompt` and `.Suffix`, where Continue looks for
 * `.Suffix` to tell whether a model takes a suffix.
 */
const FILL_IN_MIDDLE_TEMPLATE = "{{/* applied by the engine with the model's own template: /api/generate fills in the middle between .Prompt and .Suffix */}}";

/** The family every model of `entry` declares, undefined when they declare none or several. */
function familyOf(entry: ModelEntry): string | undefined {
  const families = new Set(entry.models.map((model) => model.family));
  const [family] = families;
  return families.size === 1 ? family : undefined;
}

/**
 * Ollama's `details`: syndicate serves no files, so no format, size or quantization to tell. The
 * family is the one its records declare (`family`, from the engine), when every model the entry
 * stands for declares that same one; otherwise (`auto` over several, a hosted model) it is unknown,
 * listed as Ollama lists a model of unknown family: `""`, and `families` null.
 */
function ollamaDetails(entry: ModelEntry): Record<string, unknown> {
  const family = familyOf(entry);
  return { parent_model: '', format: '', family: family ?? '', families: family === undefined ? null : [family], parameter_size: '', quantization_level: '' };
}

/**
 * `/api/show`'s `model_info`: `general.architecture` is the family `details.family` shows when it is
 * known (as Ollama's are one: `llama`), with the context window under `<architecture>.context_length`,
 * where Ollama puts it and tools that read it from `/api/show` look; `syndicate` for a model of
 * unknown family. `syndicate.context_length` always holds it too.
 */
function ollamaModelInfo(entry: ModelEntry, contextLength: number): Record<string, unknown> {
  const architecture = familyOf(entry) ?? 'syndicate';
  return {
    'general.architecture': architecture,
    'general.basename': entry.id,
    [`${architecture}.context_length`]: contextLength,
    'syndicate.context_length': contextLength,
  };
}

/**
 * A model's Ollama name: its id, with `:latest` added when it has no tag (`auto`, an alias without
 * `:`), as Ollama lists every model. Open WebUI adds `:latest` to a tagless name and then looks it
 * up in the list it read: a tagless entry there could never be chosen.
 */
function ollamaNameOf(id: string): string {
  return id.includes(':') ? id : `${id}${OLLAMA_DEFAULT_TAG}`;
}

/**
 * The model id an Ollama client's name stands for: the name itself when it is one, else for
 * `X:latest` the tagless `X` (`auto`, an alias, an undated name such as `claude-sonnet-4-5`) it
 * names; other names as sent (the pipeline refuses an unknown one with 404).
 */
export function ollamaModelId(store: Store, name: string): string {
  const id = modelIdAmong(() => modelCatalog(store).ids, name);
  if (id !== name || !name.endsWith(OLLAMA_DEFAULT_TAG)) return id;
  const providers = currentProviders(store).filter(isListed);
  const untagged = name.slice(0, -OLLAMA_DEFAULT_TAG.length);
  return selectModels(name, providers).pairs.length === 0 && selectModels(untagged, providers).pairs.length > 0 ? untagged : name;
}

/** `ollamaModelId` over the entries' ids, read only when the name could stand for a tagless one. */
function modelIdAmong(ids: () => ReadonlySet<string>, name: string): string {
  if (!name.endsWith(OLLAMA_DEFAULT_TAG)) return name;
  const untagged = name.slice(0, -OLLAMA_DEFAULT_TAG.length);
  if (untagged.includes(':')) return name;
  const known = ids();
  return !known.has(name) && known.has(untagged) ? untagged : name;
}

function ollamaDigest(entry: ModelEntry): string {
  return createHash('sha256').update(entry.digestSource).digest('hex');
}

function ollamaModelObject(entry: ModelEntry): Record<string, unknown> {
  return {
    name: ollamaNameOf(entry.id),
    model: ollamaNameOf(entry.id),
    modified_at: entry.modifiedAt,
    size: 0,
    digest: ollamaDigest(entry),
    details: ollamaDetails(entry),
  };
}

/**
 * `GET /api/tags`: the same models as `GET /v1/models` (`auto`, every `provider:model`, every alias)
 * as Ollama lists them, every name with a tag (`auto:latest`).
 */
export function ollamaModelList(store: Store): { models: Record<string, unknown>[] } {
  return { models: modelEntries(store).map(ollamaModelObject) };
}

/**
 * 2^63 − 1 nanoseconds, in milliseconds: how far ahead Ollama puts `expires_at` for a model kept
 * for ever (`keep_alive: -1`), which its clients show as "Forever".
 */
const KEPT_FOR_EVER_MS = 9_223_372_036_854;

/**
 * `GET /api/ps`: the models the local engines of `reports` hold now, as Ollama lists them, each
 * under the `provider:model` name `/api/tags` gives it, so a client can use it. Models an engine
 * holds that its record does not declare have no such name and are left out, as are models asleep
 * (vLLM's sleep mode: they hold no memory). What the engine does not say is filled from the record:
 * the size from `vramGb`, counted as VRAM; the context from `contextWindow`; an engine that keeps
 * a model until it is unloaded (all but Ollama) has it expire when Ollama's `-1` does. Listed as
 * Ollama's PsHandler lists them, whichever engine holds them: the longest time left first
 * (a stable sort on `expires_at` in whole seconds, as it compares `ExpiresAt.Unix()`).
 */
export function ollamaRunningModelList(store: Store, reports: readonly EngineReport[], now: number = Date.now()): { models: Record<string, unknown>[] } {
  const entries = new Map(modelEntries(store).map((entry) => [entry.id, entry]));
  const models = reports.flatMap((report) =>
    (report.resident ?? []).flatMap((resident) => {
      const entry = resident.declared === undefined || resident.state === 'sleeping' ? undefined : entries.get(`${report.provider}:${resident.declared}`);
      if (entry === undefined) return [];
      const size = resident.sizeBytes ?? resident.vramBytes ?? Math.round((resident.vramGb ?? 0) * 1e9);
      return [
        {
          name: ollamaNameOf(entry.id),
          model: ollamaNameOf(entry.id),
          size,
          digest: ollamaDigest(entry),
          details: ollamaDetails(entry),
          expires_at: resident.expiresAt ?? new Date(now + KEPT_FOR_EVER_MS).toISOString(),
          size_vram: resident.vramBytes ?? size,
          context_length: resident.contextLength ?? entry.models[0]?.contextWindow ?? 0,
        },
      ];
    }),
  );
  const expirySeconds = (model: Record<string, unknown>): number => Math.floor(Date.parse(String(model['expires_at'])) / 1000);
  return { models: models.sort((left, right) => expirySeconds(right) - expirySeconds(left)) };
}

/**
 * `POST /api/show` for one model (`auto:latest` is `auto`, `small:latest` the alias `small`), or
 * any other name `/api/chat` is routed by (`llama3.2`, `llama3.2:latest`, `ollama:llama3.2`: the
 * tools that call it before a chat — Continue, Zed, Open WebUI — send the name the user gave them),
 * undefined when nothing answers to it: its details,
 * its `capabilities` from the record (`embedding` for `kind: embedding`, else `completion`, and
 * `tools`, `vision`, `thinking` from its tags, `insert` with `completions` and `fill-in-middle`,
 * with a `template` naming `.Suffix`; for `auto`, or a name several models answer to, any model's)
 * and its context window in `model_info` (`ollamaModelInfo`) and as `num_ctx` in `parameters`
 * (for `auto`, the largest).
 */
export function ollamaModelShow(store: Store, id: string): Record<string, unknown> | undefined {
  const { entries, ids } = modelCatalog(store);
  const wanted = modelIdAmong(() => ids, id);
  const entry = entries.find((candidate) => candidate.id === wanted) ?? entryRoutedBy(store, wanted);
  if (entry === undefined) return undefined;
  const capabilities = new Set<string>();
  for (const model of entry.models) {
    if (model.kind === 'embedding') {
      capabilities.add('embedding');
      continue;
    }
    capabilities.add('completion');
    const tags = model.tags ?? [];
    for (const tag of tags) {
      if (tag === 'tools' || tag === 'vision') capabilities.add(tag);
      if (tag === 'reasoning' || tag === 'thinking') capabilities.add('thinking');
    }
    // What /api/generate answers with a suffix (routed as POST /v1/completions): Ollama's `insert`.
    if (tags.includes(COMPLETIONS_TAG) && tags.includes(FILL_IN_MIDDLE_TAG)) capabilities.add('insert');
  }
  const contextLength = Math.max(0, ...entry.models.map((model) => model.contextWindow));
  return {
    // No license is known for a model served through a record. Ollama leaves an empty one out, but
    // typed clients require the field: OllamaKit's model info (Enchanted, Ollamac) fails without it.
    license: '',
    modelfile: '',
    // A Modelfile's PARAMETER lines, as Ollama shows them: Continue reads its context window from `num_ctx` here.
    parameters: contextLength > 0 ? `${'num_ctx'.padEnd(30)} ${contextLength}` : '',
    // Continue sends a suffix (fill in the middle) only to a model whose template names `.Suffix`.
    template: capabilities.has('insert') ? FILL_IN_MIDDLE_TEMPLATE : '',
    details: ollamaDetails(entry),
    model_info: ollamaModelInfo(entry, contextLength),
    capabilities: [...capabilities],
    modified_at: entry.modifiedAt,
  };
}
