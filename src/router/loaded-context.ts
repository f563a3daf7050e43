import { sameModelOnEngine } from '../registry/model-names.js';
import type { ProviderModel, ProviderRecord } from '../registry/types.js';
import { arrayMember, member, numberMember, stringMember } from '../engines/control/http.js';

/** Model name as the engine gives it -> the context (tokens) the engine loaded it with. */
export type LoadedContexts = Readonly<Record<string, number>>;

function positive(value: number | undefined): number | undefined {
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * The context each model a local engine holds was loaded with, from answers the health probe
 * reads anyway (no request of its own):
 * - Ollama `GET /api/ps`: `context_length` of each runner (`num_ctx`: OLLAMA_CONTEXT_LENGTH,
 *   4096 by default, 2048 before 0.6, whatever the model's maximum);
 * - LM Studio `GET /api/v0/models`: `loaded_context_length` of each loaded model (`lms load
 *   --context-length`, 4096 by default), beside its `max_context_length`;
 * - llama-server `GET /props`: `default_generation_settings.n_ctx`, each slot's context (`-c` over
 *   `--parallel`); a router's `GET /v1/models`: each loaded model's `meta.n_ctx`;
 * - vLLM `GET /v1/models`: `max_model_len` (`--max-model-len`).
 * Undefined when the answers say none.
 */
export function loadedContextsOf(
  record: Pick<ProviderRecord, 'engine' | 'models'>,
  answers: { listing?: unknown; props?: unknown; residency?: unknown },
): LoadedContexts | undefined {
  const contexts: Record<string, number> = {};
  switch (record.engine?.kind) {
    case 'ollama':
      for (const entry of arrayMember(answers.residency, 'models')) {
        const context = positive(numberMember(entry, 'context_length'));
        if (context === undefined) continue;
        for (const key of ['name', 'model']) {
          const name = stringMember(entry, key);
          if (name !== undefined) contexts[name] = context;
        }
      }
      break;
    case 'lmstudio':
      for (const entry of arrayMember(answers.residency, 'data')) {
        const id = stringMember(entry, 'id');
        const context = positive(numberMember(entry, 'loaded_context_length'));
        if (id !== undefined && context !== undefined && stringMember(entry, 'state') === 'loaded') contexts[id] = context;
      }
      break;
    case 'llama.cpp': {
      if (answers.props !== undefined) {
        const context = positive(numberMember(member(answers.props, 'default_generation_settings'), 'n_ctx')) ?? positive(numberMember(answers.props, 'n_ctx'));
        // A single-model server: its one model, whatever name the record gives it.
        if (context !== undefined) for (const model of record.models) contexts[model.id] = context;
      }
      for (const entry of arrayMember(answers.listing, 'data')) {
        const id = stringMember(entry, 'id');
        const context = positive(numberMember(member(entry, 'meta'), 'n_ctx'));
        if (id !== undefined && context !== undefined && stringMember(member(entry, 'status'), 'value') === 'loaded') contexts[id] = context;
      }
      break;
    }
    case 'vllm':
      for (const entry of arrayMember(answers.listing, 'data')) {
        const id = stringMember(entry, 'id');
        const context = positive(numberMember(entry, 'max_model_len'));
        if (id !== undefined && context !== undefined) contexts[id] = context;
      }
      break;
    default:
      return undefined;
  }
  return Object.keys(contexts).length === 0 ? undefined : contexts;
}

/** The context `model` was loaded with, from its engine's `LoadedContexts`; undefined when unknown. */
export function loadedContextOf(record: Pick<ProviderRecord, 'engine'>, contexts: LoadedContexts | undefined, model: Pick<ProviderModel, 'id'>): number | undefined {
  if (contexts === undefined) return undefined;
  const exact = contexts[model.id];
  if (exact !== undefined) return exact;
  return Object.entries(contexts).find(([name]) => sameModelOnEngine(record, name, model.id))?.[1];
}

/**
 * What a user does to give `model` a larger context on its engine: the command or setting the
 * engine loads it with.
 */
export function largerContextFix(record: Pick<ProviderRecord, 'engine'>, providerId: string, model: Pick<ProviderModel, 'id' | 'contextWindow'>): string {
  switch (record.engine?.kind) {
    case 'lmstudio':
      return `load it with a larger context: \`lms unload ${model.id}\` then \`lms load ${model.id} --context-length ${model.contextWindow}\``;
    case 'ollama':
      return `load it with a larger num_ctx: \`syndicate engine load ${providerId}:${model.id} --num-ctx ${model.contextWindow}\`, or start Ollama with OLLAMA_CONTEXT_LENGTH=${model.contextWindow}`;
    case 'llama.cpp':
      return 'start llama-server with a larger `-c` (each of its `--parallel` slots gets its share)';
    case 'vllm':
      return 'start vLLM with a larger `--max-model-len`';
    default:
      return 'load it with a larger context';
  }
}

/** The engine's name for the number (`LoadedContexts`'s source), for a route's explanation. */
export function loadedContextSource(record: Pick<ProviderRecord, 'engine'>): string {
  switch (record.engine?.kind) {
    case 'lmstudio':
      return 'LM Studio loaded it with (loaded_context_length)';
    case 'ollama':
      return 'Ollama loaded it with (/api/ps context_length, num_ctx)';
    case 'llama.cpp':
      return 'llama-server runs it with (n_ctx)';
    case 'vllm':
      return 'vLLM serves it with (max_model_len)';
    default:
      return 'its engine loaded it with';
  }
}
