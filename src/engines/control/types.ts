import type { EngineKind } from '../../common/vocabulary.js';

/** A model an engine holds in memory (or is bringing into memory) right now. */
export interface ResidentModel {
  /** The model id as the engine names it. */
  model: string;
  /** `loading`: asked for and not ready yet; `sleeping`: kept by a process that released its memory (vLLM sleep mode, llama.cpp's idle sleep). */
  state: 'loaded' | 'loading' | 'sleeping';
  /** Memory the model takes in all, when the engine says (bytes). */
  sizeBytes?: number;
  /** Of that, GPU memory (bytes), when the engine says. */
  vramBytes?: number;
  /** When the engine will unload it on its own (Ollama's keep-alive), ISO 8601. */
  expiresAt?: string;
  /** The context it was loaded with (Ollama's `context_length`), in tokens, when the engine says. */
  contextLength?: number;
}

/** What an engine says about itself. */
export interface EngineState {
  /** Models resident now; undefined when the engine does not tell. */
  resident: ResidentModel[] | undefined;
  /** Every model the engine can serve, loaded or not, when it lists them. */
  available: string[] | undefined;
  /** How this engine runs when it matters for what it can do: llama.cpp `router` or `single-model`, vLLM `sleep-mode`. */
  mode?: string;
  version?: string;
}

export interface EngineLoadOptions {
  /** Ollama: how long the engine keeps the model after its last use (`5m`, `1h`, `-1` for ever). */
  keepAlive?: string;
  /** Ollama: the model options to load it with (`num_ctx`, `num_gpu`, ...), as Ollama's API takes them. */
  modelOptions?: Readonly<Record<string, unknown>>;
  /** The model only embeds (`kind: embedding`): Ollama loads it through `/api/embed`, its `/api/generate` refusing it. */
  embedding?: boolean;
  /** How long to wait for the model to be ready. */
  timeoutMs: number;
}

export interface EngineUnloadOptions {
  /** How long to wait for the model to leave memory. */
  timeoutMs: number;
}

/**
 * What syndicate can do with one kind of local engine through its own HTTP API. Every call goes
 * to a loopback address and carries no prompt data (`engineRequest`), so none needs a permit.
 * An operation the engine does not offer throws `EngineOperationError` naming what to do instead.
 * Implementations share one contract suite (test/contract/engine-controllers.test.ts).
 */
export interface EngineController {
  readonly kind: EngineKind | 'openai-compatible';
  /** Throws `UpstreamError` (`engine_unreachable`) when nothing answers. */
  state(): Promise<EngineState>;
  /** Returns once the engine reports the model resident and ready. */
  load(model: string, options: EngineLoadOptions): Promise<void>;
  /** Returns once the engine no longer reports the model resident. */
  unload(model: string, options: EngineUnloadOptions): Promise<void>;
}
