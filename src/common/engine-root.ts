import type { EngineKind } from './vocabulary.js';

/** The engine's root URL: its base URL without a trailing `/v1` (where Ollama's `/api`, llama.cpp's `/models` and the rest live). */
export function engineRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/**
 * The engine's own inference endpoint beside its OpenAI-compatible API, for an engine whose native
 * API syndicate calls: Ollama's `<root>/api/generate`, for raw text completions its `/v1/completions`
 * would wrap in the model's template. Undefined for every other engine.
 */
export function engineNativeInferenceUrl(engine: EngineKind | undefined, baseUrl: string): string | undefined {
  return engine === 'ollama' ? `${engineRoot(baseUrl)}/api/generate` : undefined;
}
