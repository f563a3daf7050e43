import type { EngineKind } from './vocabulary.js';

/** The engine's root URL: its base URL without a trailing `/v1` (where Ollama's `/api`, llama.cpp's `/models` and the rest live). */
export function engineRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/**
 * Where an engine's own inference API lives beside its OpenAI-compatible one, for an engine whose
 * native API syndicate calls (Ollama: `<root>/api`, for raw text completions its `/v1/completions`
 * would wrap in the model's template); undefined for every other engine.
 */
export function engineNativeApiUrl(engine: EngineKind | undefined, baseUrl: string): string | undefined {
  return engine === 'ollama' ? `${engineRoot(baseUrl)}/api` : undefined;
}
