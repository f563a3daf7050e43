import type { FakeEngineKind, FakeReplay } from './index.js';

/** A model served by a fake engine, with every default resolved. */
export interface ResolvedModel {
  id: string;
  /** The context the engine reports as usable (llama.cpp n_ctx, vLLM max_model_len, Ollama context_length, LM Studio max_context_length). */
  contextWindow: number;
  /** Memory the model takes once loaded (Ollama's `size` / `size_vram`, LM Studio's `size_bytes`); default: the captured payload's. */
  sizeBytes?: number;
  /** An embedding model (Ollama reports the `embedding` capability and embeds with it; chat models answer 501). */
  embedding?: boolean;
  /** A thinking model (Ollama reports the `thinking` capability). */
  thinking?: boolean;
  /** Fills in the middle (Ollama reports the `insert` capability and takes a `suffix`). */
  fillInMiddle?: boolean;
  /** The length of its vectors (default 8). */
  dimensions?: number;
  /** llama.cpp: its other `--alias` names (see FakeModel.aliases). */
  aliases?: string[];
}

/** Mutable state of one fake engine, shared by its discovery and inference handlers. */
export interface EngineState {
  kind: FakeEngineKind;
  models: ResolvedModel[];
  conforming: boolean;
  jinja: boolean;
  /** llama.cpp: the `-m` path of a model served under an `--alias` (FakeEngineOptions.modelPath). */
  modelPath?: string;
  /** The Ollama release the engine is (`GET /api/version`; see FakeEngineOptions.ollamaVersion). */
  ollamaVersion: string;
  /** Ollama: `OLLAMA_CONTEXT_LENGTH` (see FakeEngineOptions.ollamaContextLength). */
  ollamaContextLength: number;
  /** The LM Studio release the engine is (see FakeEngineOptions.lmStudioVersion). */
  lmStudioVersion: string;
  answer: string;
  /** A thinking model's reasoning, sent apart from the answer as the engine does (see FakeEngineOptions.reasoning). */
  reasoning?: string;
  /** Captured answers replayed verbatim (see FakeEngineOptions.replay). */
  replay?: FakeReplay;
  /** Ollama `/api/ps`: models currently resident (the first model at start; every model used since). */
  resident: Set<string>;
  /**
   * Ollama's runners for the models loaded through `/api/generate` or `/api/embed`: when each
   * expires (its `keep_alive`) and the context it was started with (`options.num_ctx`). A resident
   * model without one has Ollama's defaults: 5 minutes, `ollamaDefaultContext`.
   */
  ollamaRunners: Map<string, { expiresAt: number; contextLength: number }>;
  /** LM Studio: the models it loaded on demand (JIT), which it unloads before the next such load (Auto-Evict). */
  jitLoaded: Set<string>;
  /** Requests seen with a seed at temperature > 0 (drives the "seed ignored" quirk). */
  seededSamplingCalls: number;
  /** What the real engine would print in its own log (vLLM's "fields were present in the request but ignored"). */
  serverLog: string[];
  /** Anthropic's prompt cache: the prompt prefixes (up to a cache_control breakpoint) written so far. */
  promptCache: Set<string>;
  /** llama.cpp prompt cache: the last prompt seen (a repeat reports all but one token as cached). */
  lastPromptText?: string;
  /** Unix seconds when the engine started (model `created` fields). */
  startedAt: number;
  /** llama.cpp started without -m: a router that loads and unloads models on request (see control.ts). */
  router: boolean;
  /** Models a load or unload request is still working on: model id -> the state it is moving to. */
  transitions: Map<string, 'loading' | 'unloading'>;
  /** How long a load takes before the model is resident (ms). */
  loadDelayMs: number;
  /** vLLM started with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1: /sleep, /wake_up, /is_sleeping exist. */
  sleepMode: boolean;
  /** vLLM put to sleep (`/sleep`), or llama-server asleep after --sleep-idle-seconds (`asleep`). */
  sleeping: boolean;
  /** llama.cpp started with --embeddings (without it, /v1/embeddings answers 501). */
  embeddings: boolean;
  /** llama.cpp `-ub`: the most tokens one input of an embeddings request may have (at most the model's context). */
  physicalBatchSize: number;
  /** llama.cpp `-c`: a chat prompt of this many tokens or more is refused (see FakeEngineOptions.contextSize). */
  contextSize: number;
  /** llama.cpp started with `--mmproj`: it takes image parts (without it, the captured 500). */
  mmproj: boolean;
}

export const DEFAULT_MODELS: Record<FakeEngineKind, ResolvedModel[]> = {
  ollama: [
    { id: 'llama3.2:latest', contextWindow: 131072 },
    { id: 'qwen2.5-coder:7b', contextWindow: 32768 },
  ],
  'llama.cpp': [{ id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', contextWindow: 4096 }],
  vllm: [{ id: 'Qwen/Qwen2.5-1.5B-Instruct', contextWindow: 32768 }],
  lmstudio: [{ id: 'qwen2.5-7b-instruct', contextWindow: 32768 }],
  openai: [{ id: 'gpt-4o-mini', contextWindow: 128000 }],
  anthropic: [{ id: 'claude-sonnet-4-20250514', contextWindow: 200000 }],
};

/** Context window assumed for a model given without one. */
export const FALLBACK_CONTEXT: Record<FakeEngineKind, number> = {
  ollama: 131072,
  'llama.cpp': 4096,
  vllm: 32768,
  lmstudio: 32768,
  openai: 128000,
  anthropic: 200000,
};

/** Ollama's default context (num_ctx) for a model: OLLAMA_CONTEXT_LENGTH (4096 unless set), never more than the model allows. */
export function ollamaDefaultContext(state: EngineState, model: ResolvedModel): number {
  return Math.min(state.ollamaContextLength, model.contextWindow);
}

/** The context (num_ctx) Ollama loaded a model with: what its load asked for, else the default. */
export function ollamaLoadedContext(state: EngineState, model: ResolvedModel): number {
  return state.ollamaRunners.get(model.id)?.contextLength ?? ollamaDefaultContext(state, model);
}

/** The context LM Studio loads a model with (`loaded_context_length`): its default 4096, never more than the model allows. */
export function lmStudioLoadedContext(model: ResolvedModel): number {
  return Math.min(4096, model.contextWindow);
}

/** LM Studio 0.3.18 added `stream_options.include_usage` (lmstudio.ai/docs/app/api-changelog); older releases stream no usage. */
export const LM_STUDIO_STREAM_USAGE_VERSION = '0.3.18';
