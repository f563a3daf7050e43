import type { ProviderRecord } from '../../registry/types.js';
import { llamaCppController } from './llama-cpp.js';
import { llamaSwapController } from './llama-swap.js';
import { lmStudioController } from './lmstudio.js';
import { ollamaController } from './ollama.js';
import { singleModelController } from './single-model.js';
import type { EngineController } from './types.js';
import { vllmController } from './vllm.js';

export type { EngineController, EngineState, ResidentModel, EngineLoadOptions, EngineUnloadOptions } from './types.js';
export { sameOllamaModel } from '../../registry/model-names.js';
export { sameLlamaCppModel } from './llama-cpp.js';

/** The controller for a local provider's engine, by the record's `engine.kind` (none declared: a plain OpenAI-compatible server). */
export function controllerFor(record: Pick<ProviderRecord, 'baseUrl' | 'engine'>): EngineController {
  switch (record.engine?.kind) {
    case 'ollama':
      return ollamaController(record.baseUrl);
    case 'llama.cpp':
      return llamaCppController(record.baseUrl);
    case 'llama-swap':
      return llamaSwapController(record.baseUrl);
    case 'lmstudio':
      return lmStudioController(record.baseUrl);
    case 'vllm':
      return vllmController(record.baseUrl);
    case 'node-llama-cpp':
      return singleModelController(record.baseUrl, 'node-llama-cpp');
    case undefined:
      return singleModelController(record.baseUrl, 'openai-compatible');
  }
}
