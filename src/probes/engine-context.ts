import { engineRoot } from '../common/engine-root.js';
import type { ProviderRecord } from '../registry/types.js';
import { engineCredentialHeaders } from '../registry/credentials.js';
import { fetchEngineJson } from '../transport/engine-info.js';

/** The context window a local engine reports for one model (metadata only, loopback only). */
export interface EngineContextReport {
  /** Where the number came from, e.g. `llama.cpp GET /props default_generation_settings.n_ctx`. */
  source: string;
  /** The longest context the engine accepts for the model, when reported. */
  contextWindow?: number;
  /** The context the model is currently loaded with, when smaller and reported (Ollama num_ctx, LM Studio). */
  loadedContext?: number;
}

/** Reads JSON metadata; injectable for tests. */
export type EngineJsonReader = (url: string, options?: { method?: 'GET' | 'POST'; body?: Record<string, unknown>; timeoutMs?: number; headers?: Record<string, string> }) => Promise<unknown>;

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Asks the engine behind a local record how long a context it gives `modelId`: llama.cpp
 * `GET /props` (`n_ctx`), vLLM `GET /v1/models` (`max_model_len`), Ollama `POST /api/show`
 * (`<arch>.context_length`) and `GET /api/ps` (loaded `context_length`), LM Studio
 * `GET /api/v0/models/<id>` (`max_context_length`, `loaded_context_length`). Returns undefined
 * when the record is not a local engine of a kind that reports it. Throws `UpstreamError` when
 * the engine cannot be read.
 */
export async function engineReportedContext(
  record: ProviderRecord,
  modelId: string,
  options: { timeoutMs?: number; read?: EngineJsonReader } = {},
): Promise<EngineContextReport | undefined> {
  if (record.class !== 'local' || record.wire !== 'openai') return undefined;
  const readWithout: EngineJsonReader = options.read ?? fetchEngineJson;
  const headers = engineCredentialHeaders(record, process.env);
  const read: EngineJsonReader = (url, readOptions) => readWithout(url, { ...readOptions, headers });
  const timeoutMs = options.timeoutMs ?? 5000;
  const baseUrl = record.baseUrl.replace(/\/+$/, '');
  const root = engineRoot(baseUrl);
  switch (record.engine?.kind) {
    case 'llama.cpp':
    // `syndicate engine serve` reports its context in a llama-server-like /props.
    case 'node-llama-cpp': {
      const props = object(await read(`${root}/props`, { timeoutMs }));
      const settings = object(props['default_generation_settings']);
      const contextWindow = positive(settings['n_ctx']) ?? positive(props['n_ctx']);
      return { source: 'llama.cpp GET /props n_ctx', ...(contextWindow === undefined ? {} : { contextWindow }) };
    }
    case 'vllm': {
      const listing = object(await read(`${baseUrl}/models`, { timeoutMs }));
      const entry = (Array.isArray(listing['data']) ? listing['data'] : []).map(object).find((item) => item['id'] === modelId);
      const contextWindow = positive(entry?.['max_model_len']);
      return { source: 'vLLM GET /v1/models max_model_len', ...(contextWindow === undefined ? {} : { contextWindow }) };
    }
    case 'ollama': {
      const show = object(await read(`${root}/api/show`, { method: 'POST', body: { model: modelId }, timeoutMs }));
      const info = object(show['model_info']);
      const architecture = typeof info['general.architecture'] === 'string' ? info['general.architecture'] : undefined;
      const contextWindow =
        positive(architecture === undefined ? undefined : info[`${architecture}.context_length`]) ??
        positive(Object.entries(info).find(([key]) => key.endsWith('.context_length'))?.[1]);
      let loadedContext: number | undefined;
      try {
        const running = object(await read(`${root}/api/ps`, { timeoutMs }));
        const entry = (Array.isArray(running['models']) ? running['models'] : [])
          .map(object)
          .find((item) => item['name'] === modelId || item['model'] === modelId || item['name'] === `${modelId}:latest`);
        loadedContext = positive(entry?.['context_length']);
      } catch {
        // Older Ollama builds report no loaded context; the model maximum still decides.
      }
      return {
        source: 'Ollama POST /api/show context_length',
        ...(contextWindow === undefined ? {} : { contextWindow }),
        ...(loadedContext === undefined ? {} : { loadedContext }),
      };
    }
    case 'lmstudio': {
      const entry = object(await read(`${root}/api/v0/models/${encodeURIComponent(modelId)}`, { timeoutMs }));
      const contextWindow = positive(entry['max_context_length']);
      const loadedContext = positive(entry['loaded_context_length']);
      return {
        source: 'LM Studio GET /api/v0/models max_context_length',
        ...(contextWindow === undefined ? {} : { contextWindow }),
        ...(loadedContext === undefined ? {} : { loadedContext }),
      };
    }
    default:
      return undefined;
  }
}
