import type { EngineKind } from '../../common/vocabulary.js';
import type { EngineController, EngineState } from './types.js';
import { engineClient, stopProcessHint, unsupported } from './http.js';

/**
 * An engine that serves the model(s) it was started with for its whole life — syndicate's own
 * `engine serve` (node-llama-cpp) and any OpenAI-compatible server syndicate knows nothing more
 * about: up means resident. Loading what it serves is a no-op; anything else needs another process.
 */
export function singleModelController(baseUrl: string, kind: EngineKind | 'openai-compatible', headers: Record<string, string> = {}, provider?: string): EngineController {
  const { servedModels } = engineClient(baseUrl, headers);
  return {
    kind,
    async state(): Promise<EngineState> {
      const served = await servedModels();
      return { resident: served.map((model) => ({ model, state: 'loaded' as const })), available: served, mode: 'single-model' };
    },
    async load(model): Promise<void> {
      const served = await servedModels();
      if (served.includes(model)) return;
      throw unsupported(`this engine serves ${served.join(', ') || 'no model'} and cannot load ${model}`, 'start an engine for that model (engine serve --model FILE, or the engine\'s own command) and register it');
    },
    async unload(): Promise<void> {
      throw unsupported('this engine keeps its model for as long as it runs', stopProcessHint(provider));
    },
  };
}
