import { loadEngineModel, unloadEngineModel } from '../engines/manage.js';
import { UpstreamError } from '../errors.js';
import { unknownModelError, unservableReason } from '../invoke/failure.js';
import type { PipelineContext } from '../invoke/types.js';
import { currentProviders } from '../registry/provider-cache.js';
import { selectModels } from '../router/plan.js';
import type { JsonObject } from '../wire/canonical.js';
import { GatewayRequestError } from './errors.js';

/** How long a client's load or unload may take: Ollama's own limit on a load (`OLLAMA_LOAD_TIMEOUT`, 5 minutes). */
const CLIENT_LOAD_TIMEOUT_MS = 5 * 60_000;

/** A client asking for a model to be loaded or unloaded (an Ollama client's preload, or its unload button). */
export interface ResidencyChange {
  /** `auto`, a `provider:model` or an alias (a tagless name's added `:latest` already taken off). */
  model: string;
  /** The model as the client sent it: Ollama's refusals quote it. */
  requestedName: string;
  action: 'load' | 'unload';
  /** A load's keep-alive, for the engines that take one (Ollama). */
  keepAlive?: string;
  /** A load's Ollama `options` (`num_ctx`, ...), for the engines that take them (Ollama). */
  options?: JsonObject;
  /**
   * The API a load came through when it needs a model that completes text (`/api/chat`,
   * `/api/generate`): a name only embedding models answer to is refused there, as Ollama does.
   */
  completes?: 'chat' | 'generate';
  /** Who asked, recorded with each engine event (`gateway: POST /api/chat`). */
  requestedBy: string;
}

export interface ResidencyOutcome {
  /** The local `provider:model`s loaded or unloaded (none for `auto` or a hosted model: nothing is held for them). */
  models: string[];
  /** An Ollama engine was sent the load's keep-alive and options (no other engine takes them). */
  ollamaSettingsSent: boolean;
}

/**
 * Ollama's refusal of a load through `/api/chat` or `/api/generate` of a model without the
 * completion capability: its ChatHandler and GenerateHandler answer 400
 * `fmt.Sprintf("%q does not support chat", req.Model)` (`generate`), the name as the client sent it.
 */
function cannotComplete(requestedName: string, api: 'chat' | 'generate'): GatewayRequestError {
  return new GatewayRequestError('invalid_request', `${JSON.stringify(requestedName)} does not support ${api}`, { code: 'model_kind' });
}

/**
 * Loads or unloads the model a client names on its local engine, as `syndicate engine load|unload`
 * does — the hot-swap plan and its refusals included, every load and unload recorded as an engine
 * event. A name several local models answer to (an alias two records give) is loaded on the first
 * engine that loads it and unloaded from every engine; an engine that is down is passed over while
 * another does the job, else its `engine_unreachable` error (naming it) is the answer. `auto` and
 * hosted models have nothing to load: nothing is contacted. An unknown name is the pipeline's 404
 * (`model_not_found`); through `/api/chat` or `/api/generate`, a name only embedding models answer
 * to is Ollama's 400. Ollama engines are sent the load's keep-alive and options.
 */
export async function changeModelResidency(context: PipelineContext, change: ResidencyChange): Promise<ResidencyOutcome> {
  const outcome: ResidencyOutcome = { models: [], ollamaSettingsSent: false };
  if (change.model === 'auto') return outcome;
  const providers = currentProviders(context.store);
  const { pairs } = selectModels(
    change.model,
    providers.filter((provider) => provider.retiredAt === null),
  );
  if (pairs.length === 0) throw unknownModelError(change.model, providers, undefined, unservableReason(context.env, context.health));
  const completing = change.action === 'load' && change.completes !== undefined ? pairs.filter(({ model }) => model.kind !== 'embedding') : pairs;
  if (completing.length === 0) throw cannotComplete(change.requestedName, change.completes as 'chat' | 'generate');
  let down: UpstreamError | undefined;
  for (const { provider, model } of completing) {
    if (provider.record.class !== 'local') continue;
    const options = { timeoutMs: CLIENT_LOAD_TIMEOUT_MS, detail: change.requestedBy };
    const ollama = change.action === 'load' && provider.record.engine?.kind === 'ollama';
    const settings = ollama ? { ...(change.keepAlive === undefined ? {} : { keepAlive: change.keepAlive }), ...(change.options === undefined ? {} : { modelOptions: change.options }) } : {};
    try {
      if (change.action === 'unload') {
        await unloadEngineModel(context.store, provider, model.id, options);
        context.health.residentChanged(provider, { unloaded: [model.id] });
      } else {
        // A model this gateway is streaming from is not evicted for a client's load.
        const loaded = await loadEngineModel(context.store, provider, model.id, { ...options, ...settings, inUse: context.health.inUseSnapshot()[provider.id] ?? [] });
        context.health.residentChanged(provider, { loaded: model.id, unloaded: loaded.evicted.map((entry) => entry.model) });
      }
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.code !== 'engine_unreachable') throw error;
      down ??= error;
      continue;
    }
    outcome.models.push(`${provider.id}:${model.id}`);
    if (Object.keys(settings).length > 0) outcome.ollamaSettingsSent = true;
    if (change.action === 'load') break;
  }
  if (outcome.models.length === 0 && down !== undefined) throw down;
  return outcome;
}
