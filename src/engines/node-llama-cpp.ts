/**
 * The subset of node-llama-cpp 3.22.1's API that syndicate uses, declared by hand: the package is
 * not a dependency (it is installed on demand by `syndicate engine install`, see runtime.ts), so
 * its own declarations are not available at compile time. Shapes are copied from the package's
 * `dist/*.d.ts` (bindings/getLlama, bindings/Llama, evaluator/LlamaModel, evaluator/LlamaContext,
 * evaluator/LlamaChat, ChatWrapper, types); only what the engine server calls is declared.
 */

/** A token id of the loaded model (`Token` in node-llama-cpp: a branded number). */
export type LlamaToken = number & { readonly __llamaToken: never };

/** `false` is the CPU build. */
export type LlamaGpuType = 'metal' | 'cuda' | 'vulkan' | false;

/** node-llama-cpp's `LlamaLogLevel` enum values (string enum). */
export type LlamaLogLevelName = 'disabled' | 'fatal' | 'error' | 'warn' | 'info' | 'log' | 'debug';

/** `getLlama(options)` (bindings/getLlama.d.ts `LlamaOptions`). */
export interface LlamaLoadOptions {
  gpu?: 'auto' | LlamaGpuType | { type: 'auto'; exclude?: LlamaGpuType[] };
  /** `"never"`: use the prebuilt binaries only; never compile or download at run time. */
  build?: 'auto' | 'never' | 'forceRebuild' | 'try' | 'autoAttempt';
  logLevel?: LlamaLogLevelName;
  logger?: (level: LlamaLogLevelName, message: string) => void;
  progressLogs?: boolean | 'stderr';
  skipDownload?: boolean;
  usePrebuiltBinaries?: boolean;
  maxThreads?: number;
}

/** `Llama` (bindings/Llama.d.ts): the loaded llama.cpp bindings. */
export interface Llama {
  readonly gpu: LlamaGpuType;
  readonly cpuMathCores: number;
  maxThreads: number;
  readonly buildType: 'localBuild' | 'prebuilt';
  readonly llamaCppRelease: { readonly repo: string; readonly release: string };
  loadModel(options: LlamaModelOptions): Promise<LlamaModel>;
  /** Throws for JSON Schema features node-llama-cpp's GBNF converter does not support. */
  createGrammarForJsonSchema(schema: Readonly<Record<string, unknown>>): Promise<LlamaGrammar>;
  getGrammarFor(type: 'json' | 'json_arr' | 'list' | 'c' | 'arithmetic' | 'japanese' | 'chess'): Promise<LlamaGrammar>;
  dispose(): Promise<void>;
}

/** `LlamaModelOptions` (evaluator/LlamaModel/LlamaModel.d.ts). */
export interface LlamaModelOptions {
  modelPath: string;
  gpuLayers?: 'auto' | 'max' | number;
  useMmap?: 'auto' | boolean;
  onLoadProgress?: (loadProgress: number) => void;
  loadSignal?: AbortSignal;
}

/** The model's tokenizer (`Tokenizer` in types.d.ts): callable, plus helpers. */
export interface LlamaTokenizer {
  (text: string, specialTokens?: boolean, options?: 'trimLeadingSpace'): LlamaToken[];
  readonly detokenize: (tokens: readonly LlamaToken[], specialTokens?: boolean, lastTokens?: readonly LlamaToken[]) => string;
  isSpecialToken(token: LlamaToken): boolean;
  isEogToken(token: LlamaToken): boolean;
}

/** `LlamaModel` (evaluator/LlamaModel/LlamaModel.d.ts). */
export interface LlamaModel {
  readonly tokenizer: LlamaTokenizer;
  readonly filename: string | undefined;
  /** File size in bytes. */
  readonly size: number;
  /** `llama.context_length` of the GGUF: the context the model was trained with. */
  readonly trainContextSize: number;
  readonly gpuLayers: number;
  readonly typeDescription: string;
  readonly fileInfo: { readonly metadata: Readonly<Record<string, unknown>> };
  tokenize(text: string, specialTokens?: boolean): LlamaToken[];
  detokenize(tokens: readonly LlamaToken[], specialTokens?: boolean): string;
  createContext(options?: LlamaContextOptions): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

/** `LlamaContextOptions` (evaluator/LlamaContext/types.d.ts). */
export interface LlamaContextOptions {
  /** Independent sequences (parallel requests) sharing the context. */
  sequences?: number;
  contextSize?: 'auto' | number | { min?: number; max?: number };
  batchSize?: number;
  threads?: number | { ideal?: number; min?: number };
  createSignal?: AbortSignal;
}

/** `LlamaContext` (evaluator/LlamaContext/LlamaContext.d.ts). */
export interface LlamaContext {
  /** Tokens one sequence can hold. */
  readonly contextSize: number;
  readonly totalSequences: number;
  readonly sequencesLeft: number;
  readonly currentThreads: number;
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}

/** `LlamaContextSequence`: one independent KV-cache lane of a context. */
export interface LlamaContextSequence {
  readonly contextSize: number;
  /** The tokens currently evaluated into this sequence's state (the reusable prompt cache). */
  readonly contextTokens: LlamaToken[];
  compareContextTokens(tokens: LlamaToken[]): { firstDifferentIndex: number };
  clearHistory(): Promise<void>;
  dispose(): Promise<void>;
  /**
   * Evaluates `tokens` and generates the next ones, each `next(...)` able to hand back a token to
   * use instead; LlamaChat generates through it. In 3.22.1 it is `evaluateWithMetadata(tokens, {},
   * options)` yielding only each output's `token`.
   */
  evaluate(tokens: LlamaToken[], options?: SequenceEvaluateOptions): AsyncGenerator<LlamaToken, void, void | LlamaToken | LlamaToken[]>;
  /**
   * `evaluate` with metadata per generated token: with `probabilities`, the candidates for the
   * token and their probabilities, highest first — over the whole vocabulary when sampling is
   * greedy (temperature 0), else those the sampler kept (top-k, top-p, min-p), temperature applied.
   */
  evaluateWithMetadata(
    tokens: LlamaToken[],
    metadata: { readonly probabilities: true },
    options?: SequenceEvaluateOptions,
  ): AsyncGenerator<{ token: LlamaToken; probabilities: Map<LlamaToken, number> }, void, void | LlamaToken | LlamaToken[]>;
}

/** `SequenceEvaluateOptions` (evaluator/LlamaContext/types.d.ts): passed through as LlamaChat gives them. */
export type SequenceEvaluateOptions = Readonly<Record<string, unknown>>;

/** A compiled GBNF grammar; opaque to syndicate. */
export interface LlamaGrammar {
  readonly grammar: string;
}

/** `LlamaText`: text with special tokens, as a chat wrapper renders it. */
export interface LlamaText {
  tokenize(tokenizer: LlamaTokenizer): LlamaToken[];
  toString(): string;
}

/** JSON form of a `LlamaText` (`LlamaTextJSON`), e.g. a function call's raw text. */
export type LlamaTextJson = string | (string | { type: string; value: string | number })[];

/** `ChatHistoryItem` and its members (types.d.ts). */
export type ChatHistoryItem = ChatSystemMessage | ChatUserMessage | ChatModelResponse;

export interface ChatSystemMessage {
  type: 'system';
  text: string;
}

export interface ChatUserMessage {
  type: 'user';
  text: string;
}

export interface ChatModelResponse {
  type: 'model';
  response: (string | ChatModelFunctionCall)[];
}

/** A function call the model made, with the result the caller fed back. */
export interface ChatModelFunctionCall {
  type: 'functionCall';
  name: string;
  description?: string;
  params: unknown;
  result: unknown;
  rawCall?: LlamaTextJson;
  startsNewChunk?: boolean;
}

/** `ChatModelFunctions`: callable functions by name; `params` is a GBNF-compatible JSON Schema. */
export type ChatModelFunctions = Readonly<Record<string, { readonly description?: string; readonly params?: Readonly<Record<string, unknown>> | null }>>;

/** `ChatWrapper` (ChatWrapper.d.ts): renders a history in the model's chat template. */
export interface ChatWrapper {
  readonly wrapperName: string;
  readonly settings: { readonly supportsSystemMessages: boolean; readonly functions: Readonly<Record<string, unknown>> };
  generateContextState(options: { chatHistory: readonly ChatHistoryItem[]; availableFunctions?: ChatModelFunctions; documentFunctionParams?: boolean }): {
    contextText: LlamaText;
    stopGenerationTriggers: LlamaText[];
  };
}

/** `LlamaChatResponseChunk`: generated text, main response (`type` undefined) or a segment (thoughts). */
export interface LlamaChatResponseChunk {
  type: undefined | 'segment';
  segmentType: undefined | 'thought' | 'comment';
  text: string;
  tokens: LlamaToken[];
}

/** `LlamaChatResponseFunctionCallParamsChunk`: streamed function-call arguments. */
export interface LlamaChatFunctionCallParamsChunk {
  callIndex: number;
  functionName: string;
  paramsChunk: string;
  done: boolean;
}

/** `LLamaChatGenerateResponseOptions` (evaluator/LlamaChat/LlamaChat.d.ts); `grammar` and `functions` exclude each other. */
export interface LlamaChatGenerateOptions {
  onTextChunk?: (text: string) => void;
  onResponseChunk?: (chunk: LlamaChatResponseChunk) => void;
  onFunctionCallParamsChunk?: (chunk: LlamaChatFunctionCallParamsChunk) => void;
  signal?: AbortSignal;
  /** Return what was generated so far instead of throwing when `signal` aborts. */
  stopOnAbortSignal?: boolean;
  maxTokens?: number;
  temperature?: number;
  minP?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  repeatPenalty?: false | { lastTokens?: number; penalty?: number; frequencyPenalty?: number; presencePenalty?: number; penalizeNewLine?: boolean };
  customStopTriggers?: readonly string[];
  grammar?: LlamaGrammar;
  functions?: ChatModelFunctions;
  documentFunctionParams?: boolean;
  maxParallelFunctionCalls?: number;
  budgets?: { thoughtTokens?: number; commentTokens?: number };
}

/** `LlamaChatResponse`. */
export interface LlamaChatResponse {
  /** The main response text, without segments such as thoughts. */
  response: string;
  functionCalls?: { functionName: string; params: unknown; raw: LlamaTextJson }[];
  metadata: {
    stopReason: 'eogToken' | 'stopGenerationTrigger' | 'functionCalls' | 'maxTokens' | 'abort' | 'customStopTrigger';
  };
}

/** `LlamaChat`: stateless chat generation over one context sequence. */
export interface LlamaChat {
  readonly chatWrapper: ChatWrapper;
  readonly sequence: LlamaContextSequence;
  generateResponse(history: ChatHistoryItem[], options?: LlamaChatGenerateOptions): Promise<LlamaChatResponse>;
  dispose(options?: { disposeSequence?: boolean }): void;
}

/** The module namespace `import('node-llama-cpp')` yields, reduced to what syndicate uses. */
export interface NodeLlamaCppModule {
  getLlama(options?: LlamaLoadOptions): Promise<Llama>;
  /**
   * The chat wrapper for a model: the GGUF's `tokenizer.chat_template` (as a Jinja template, or a
   * specialised wrapper when the template matches a known family), else a guess from the file name.
   */
  resolveChatWrapper(model: LlamaModel, options?: { type?: 'auto'; fallbackToOtherWrappersOnJinjaError?: boolean; noJinja?: boolean; warningLogs?: boolean }): ChatWrapper;
  LlamaChat: new (options: { contextSequence: LlamaContextSequence; chatWrapper?: 'auto' | ChatWrapper; autoDisposeSequence?: boolean }) => LlamaChat;
}
