import type { ProviderModel, ProviderRecord } from './types.js';

/** How many of a provider's models a hint names before it points at `syndicate provider show`. */
export const MODELS_NAMED_IN_HINTS = 3;

/** The tag Ollama reads a model name without one as. */
export const OLLAMA_DEFAULT_TAG = ':latest';

/** Ollama names `llama3.2` and `llama3.2:latest` the same model. */
export function sameOllamaModel(a: string, b: string): boolean {
  return a === b || `${a}${OLLAMA_DEFAULT_TAG}` === b || a === `${b}${OLLAMA_DEFAULT_TAG}`;
}

/** Whether two names are one model on the record's engine: Ollama's `x` and `x:latest` are; elsewhere only the same name. */
export function sameModelOnEngine(record: Pick<ProviderRecord, 'engine'>, a: string, b: string): boolean {
  return record.engine?.kind === 'ollama' ? sameOllamaModel(a, b) : a === b;
}

/**
 * The model of a provider record that a name refers to: its id or one of its aliases; for an
 * Ollama engine, which reads a name without a tag as `:latest`, also the same model spelt the
 * other way (`llama3.2` for a declared `llama3.2:latest`, and the reverse). Undefined when none.
 */
export function findDeclaredModel(record: Pick<ProviderRecord, 'models' | 'engine'>, name: string): ProviderModel | undefined {
  const exact = record.models.find((model) => model.id === name || (model.aliases ?? []).includes(name));
  if (exact !== undefined || record.engine?.kind !== 'ollama') return exact;
  return record.models.find((model) => sameOllamaModel(model.id, name));
}
