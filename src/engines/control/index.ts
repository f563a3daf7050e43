import { engineCredentialHeaders } from '../../registry/credentials.js';
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

/**
 * The controller for a local provider's engine, by the record's `engine.kind` (none declared: a
 * plain OpenAI-compatible server); its requests carry the record's key from `env` when it has one,
 * and its hints name the record's `id` (`syndicate engine stop ID`) when it has one.
 */
export function controllerFor(record: Pick<ProviderRecord, 'baseUrl' | 'engine'> & Partial<Pick<ProviderRecord, 'id' | 'auth' | 'wire'>>, env: NodeJS.ProcessEnv = process.env): EngineController {
  const headers = engineCredentialHeaders(record, env);
  switch (record.engine?.kind) {
    case 'ollama':
      return ollamaController(record.baseUrl, headers);
    case 'llama.cpp':
      return llamaCppController(record.baseUrl, headers, record.id);
    case 'llama-swap':
      return llamaSwapController(record.baseUrl, headers);
    case 'lmstudio':
      return lmStudioController(record.baseUrl, headers);
    case 'vllm':
      return vllmController(record.baseUrl, headers, record.id);
    case 'node-llama-cpp':
      return singleModelController(record.baseUrl, 'node-llama-cpp', headers, record.id);
    case undefined:
      return singleModelController(record.baseUrl, 'openai-compatible', headers, record.id);
  }
}
