import { loadEngineModel, unloadEngineModel } from '../engines/manage.js';
import { UpstreamError } from '../errors.js';
import { unknownModelError, unservableReason } from '../invoke/failure.js';
import type { PipelineContext } from '../invoke/types.js';
import { currentProviders } from '../registry/provider-cache.js';
import { selectModels } from '../router/plan.js';

/** How long a client's load or unload may take: Ollama's own limit on a load (`OLLAMA_LOAD_TIMEOUT`, 5 minutes). */
const CLIENT_LOAD_TIMEOUT_MS = 5 * 60_000;

/** A client asking for a model to be loaded or unloaded (an Ollama client's preload, or its unload button). */
export interface ResidencyChange {
  /** `auto`, a `provider:model` or an alias (a tagless name's added `:latest` already taken off). */
  model: string;
  action: 'load' | 'unload';
  /** A load's keep-alive, for the engines that take one (Ollama). */
  keepAlive?: string;
  /** Who asked, recorded with each engine event (`gateway: POST /api/chat`). */
  requestedBy: string;
}

export interface ResidencyOutcome {
  /** The local `provider:model`s loaded or unloaded (none for `auto` or a hosted model: nothing is held for them). */
  models: string[];
  /** An engine was sent the load's keep-alive (only Ollama takes one). */
  keepAliveSent: boolean;
}

/**
 * Loads or unloads the model a client names on its local engine, as `syndicate engine load|unload`
 * does — the hot-swap plan and its refusals included, every load and unload recorded as an engine
 * event. A name several local models answer to (an alias two records give) is loaded on the first
 * engine that loads it and unloaded from every engine; an engine that is down is passed over while
 * another does the job, else its `engine_unreachable` error (naming it) is the answer. `auto` and
 * hosted models have nothing to load: nothing is contacted. An unknown name is the pipeline's 404
 * (`model_not_found`).
 */
export async function changeModelResidency(context: PipelineContext, change: ResidencyChange): Promise<ResidencyOutcome> {
  const outcome: ResidencyOutcome = { models: [], keepAliveSent: false };
  if (change.model === 'auto') return outcome;
  const providers = currentProviders(context.store);
  const { pairs } = selectModels(
    change.model,
    providers.filter((provider) => provider.retiredAt === null),
  );
  if (pairs.length === 0) throw unknownModelError(change.model, providers, undefined, unservableReason(context.env, context.health));
  let down: UpstreamError | undefined;
  for (const { provider, model } of pairs) {
    if (provider.record.class !== 'local') continue;
    const options = { timeoutMs: CLIENT_LOAD_TIMEOUT_MS, detail: change.requestedBy };
    const keepAlive = change.action === 'load' && provider.record.engine?.kind === 'ollama' ? change.keepAlive : undefined;
    try {
      if (change.action === 'unload') await unloadEngineModel(context.store, provider, model.id, options);
      else await loadEngineModel(context.store, provider, model.id, keepAlive === undefined ? options : { ...options, keepAlive });
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.code !== 'engine_unreachable') throw error;
      down ??= error;
      continue;
    }
    outcome.models.push(`${provider.id}:${model.id}`);
    if (keepAlive !== undefined) outcome.keepAliveSent = true;
    if (change.action === 'load') break;
  }
  if (outcome.models.length === 0 && down !== undefined) throw down;
  return outcome;
}
