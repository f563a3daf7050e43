import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';

import { InvalidInputError, SyndicateError, ExitCode, type SyndicateErrorOptions } from '../../errors.js';
import type { FinishReason, JsonObject, StreamPart, ToolCall, Usage } from '../../wire/canonical.js';
import { isRecord, tryParseJson } from '../../wire/json.js';
import type { EngineGpuChoice } from '../backends.js';
import type {
  ChatModelFunctions,
  Llama,
  LlamaChat,
  LlamaChatGenerateOptions,
  LlamaContext,
  LlamaGrammar,
  LlamaModel,
  LlamaText,
  LlamaToken,
  NodeLlamaCppModule,
} from '../node-llama-cpp.js';
import { engineBackendFailure, gpuBackendMismatch } from '../runtime.js';
import type { EngineChatRequest, OutputConstraint } from './request.js';
import { StopStringFilter } from './stop-strings.js';
import { AnswerLogprobs, choiceLogprobs, recordTokenProbabilities, type AnswerEntry } from './token-logprobs.js';

export { ENGINE_GPU_CHOICES, type EngineGpuChoice } from '../backends.js';

/** The context a sequence gets when `--context` is not given: the trained context, capped to bound memory. */
export const DEFAULT_CONTEXT_CAP = 8192;

/** Raised when the model file cannot be loaded (exit 3: the input file is at fault). */
export class ModelLoadError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('model_load_failed', ExitCode.invalidInput, message, options);
  }
}

export { EngineBackendError } from '../runtime.js';

/** How to load a model. */
export interface EngineLoadOptions {
  modelPath: string;
  gpu: EngineGpuChoice;
  threads: number;
  /** Tokens per sequence; default min(trained context, DEFAULT_CONTEXT_CAP). */
  contextSize?: number;
  /** Sequences (requests generated at the same time). */
  parallel: number;
  /** Progress lines while loading (a spinner's text). */
  onProgress?: (message: string) => void;
}

/** What was loaded, as `/v1/models`, `/props` and the CLI report it. */
export interface LoadedModelInfo {
  /** The model id clients and the provider record use: the file name without `.gguf`. */
  id: string;
  path: string;
  /** `cpu`, `cuda`, `vulkan` or `metal`. */
  backend: string;
  /** Tokens one request can use (prompt + answer): the context of one sequence. */
  contextWindow: number;
  /** The context the model was trained with (`n_ctx_train`). */
  trainedContextWindow: number;
  sizeBytes: number;
  /** node-llama-cpp's chat wrapper, e.g. `JinjaTemplate` when the GGUF's own template is used. */
  chatWrapper: string;
  chatTemplate: string | undefined;
  threads: number;
  parallel: number;
  llamaCppRelease: string;
  loadMs: number;
}

/** The outcome of one generation. */
export interface EngineGenerationResult {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  rawFinishReason: string;
  usage: Usage;
  /** The answer text's token log-probabilities, when the request asked for them (llama-server's shape). */
  logprobs?: JsonObject;
  /**
   * How long the generation took and what it evaluated, as llama-server reports it in `timings`:
   * the prompt tokens evaluated (`promptTokens`, those not reused from the sequence's cache, which
   * are `cachedTokens`) until the first token came (`promptMs`), and the tokens from there on
   * (`predictedMs`, the first one's share counted as one of `predictedTokens`).
   */
  timings: GenerationSplit & { promptTokens: number; cachedTokens: number };
}

/** A generation's time split as llama-server splits it (see `generationTimings`). */
export interface GenerationSplit {
  promptMs: number;
  predictedMs: number;
  predictedTokens: number;
}

/** Where a generation's parts go while it runs (streaming); the result is returned either way. */
export type PartSink = (part: StreamPart) => void;

function modelIdOf(path: string): string {
  return basename(path).replace(/\.gguf$/i, '');
}

/**
 * llama-server's split of a generation's time: until the first token, the prompt; from there, the
 * tokens, each taking an equal share, so that the time of those after the first is the time after
 * the first came. The first token's share comes out of the time until it came, which also holds
 * the prompt's evaluation: when the tokens after it took longer on average than that whole time
 * (one of them stalled on a loaded machine), it gets at most half of it, so the prompt never
 * counts as having taken no time, or less than none.
 */
export function generationTimings(started: number, firstTokenAt: number | undefined, ended: number, tokens: number): GenerationSplit {
  if (firstTokenAt === undefined || tokens === 0) return { promptMs: ended - started, predictedMs: 0, predictedTokens: 0 };
  const untilFirstMs = firstTokenAt - started;
  const afterFirstMs = ended - firstTokenAt;
  const firstTokenMs = Math.min(tokens > 1 ? afterFirstMs / (tokens - 1) : 0, untilFirstMs / 2);
  return { promptMs: untilFirstMs - firstTokenMs, predictedMs: afterFirstMs + firstTokenMs, predictedTokens: tokens };
}

function toolCallId(): string {
  return `call_${randomBytes(12).toString('base64url')}`;
}

/**
 * One GGUF model loaded through node-llama-cpp with `build: "never"` (prebuilt binaries only),
 * a context of `parallel` sequences and one LlamaChat per sequence. Each generation renders the
 * conversation with the model's own chat template, keeps the sequence's evaluated prefix as a
 * prompt cache, and counts prompt and completion tokens with the model's tokenizer.
 */
export class EmbeddedEngine {
  private readonly jsonGrammar: Promise<LlamaGrammar>;

  private constructor(
    readonly info: LoadedModelInfo,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chats: LlamaChat[],
  ) {
    this.jsonGrammar = llama.getGrammarFor('json');
    this.jsonGrammar.catch(() => undefined);
  }

  static async load(runtime: NodeLlamaCppModule, options: EngineLoadOptions): Promise<EmbeddedEngine> {
    const started = Date.now();
    options.onProgress?.('loading llama.cpp bindings');
    let llama: Llama;
    try {
      llama = await runtime.getLlama({
        build: 'never',
        gpu: options.gpu === 'cpu' ? false : options.gpu,
        logLevel: 'error',
        progressLogs: false,
        skipDownload: true,
        maxThreads: options.threads,
      });
    } catch (error) {
      throw engineBackendFailure(options.gpu, error);
    }
    // node-llama-cpp falls back to the CPU when the GPU asked for has no device or driver: only `auto` may.
    const mismatch = gpuBackendMismatch(options.gpu, llama.gpu);
    if (mismatch !== undefined) {
      await llama.dispose().catch(() => undefined);
      throw mismatch;
    }
    let model: LlamaModel | undefined;
    try {
      options.onProgress?.(`loading ${basename(options.modelPath)}`);
      try {
        model = await llama.loadModel({
          modelPath: options.modelPath,
          onLoadProgress: (progress) => options.onProgress?.(`loading ${basename(options.modelPath)} ${Math.round(progress * 100)}%`),
        });
      } catch (error) {
        throw new ModelLoadError(`cannot load ${options.modelPath}: ${(error as Error).message}`, {
          hint: 'pass a GGUF model file llama.cpp supports (e.g. from `syndicate engine make-test-model --out tiny.gguf`)',
          cause: error,
        });
      }
      const trained = model.trainContextSize;
      const contextSize = options.contextSize ?? Math.min(trained, DEFAULT_CONTEXT_CAP);
      options.onProgress?.(`creating a ${contextSize}-token context (${options.parallel} sequence${options.parallel === 1 ? '' : 's'})`);
      let context: LlamaContext;
      try {
        context = await model.createContext({ contextSize, sequences: options.parallel, threads: options.threads });
      } catch (error) {
        throw new ModelLoadError(`cannot create a ${contextSize}-token context for ${options.modelPath}: ${(error as Error).message}`, {
          hint: 'lower --context or --parallel',
          cause: error,
        });
      }
      // Resolved once and shared: resolving tests the template against every known family (~1 s).
      options.onProgress?.('resolving the chat template');
      const chatWrapper = runtime.resolveChatWrapper(model, { warningLogs: false });
      const chats: LlamaChat[] = [];
      for (let index = 0; index < options.parallel; index += 1) {
        chats.push(new runtime.LlamaChat({ contextSequence: context.getSequence(), chatWrapper, autoDisposeSequence: true }));
      }
      const template = model.fileInfo.metadata['tokenizer'];
      const chatTemplate = isRecord(template) && typeof template['chat_template'] === 'string' ? template['chat_template'] : undefined;
      const info: LoadedModelInfo = {
        id: modelIdOf(options.modelPath),
        path: options.modelPath,
        backend: llama.gpu === false ? 'cpu' : llama.gpu,
        contextWindow: context.contextSize,
        trainedContextWindow: trained,
        sizeBytes: model.size,
        chatWrapper: chatWrapper.wrapperName,
        chatTemplate,
        threads: options.threads,
        parallel: options.parallel,
        llamaCppRelease: llama.llamaCppRelease.release,
        loadMs: Date.now() - started,
      };
      return new EmbeddedEngine(info, llama, model, context, chats);
    } catch (error) {
      await model?.dispose().catch(() => undefined);
      await llama.dispose().catch(() => undefined);
      throw error;
    }
  }

  /** Sequences available for concurrent generations. */
  get slots(): number {
    return this.chats.length;
  }

  /**
   * Generates one answer on sequence `slot` (which the caller's queue owns exclusively).
   * Request-level problems found only with the model at hand (a prompt longer than the
   * context, a schema the grammar converter rejects) throw `InvalidInputError` before anything
   * is generated. An aborted `signal` stops generation and returns what was produced.
   */
  async generate(request: EngineChatRequest, slot: number, signal: AbortSignal, onPart?: PartSink): Promise<EngineGenerationResult> {
    const chat = this.chats[slot];
    if (chat === undefined) throw new Error(`no sequence ${slot}`);
    const { constraint, sampling, history } = request;
    const functions = constraint.kind === 'functions' ? constraint.functions : undefined;
    const grammar = await this.grammarFor(constraint);
    if (functions !== undefined) await this.checkFunctionSchemas(functions);

    const prompt = this.promptText(chat, request).tokenize(this.model.tokenizer);
    const room = this.info.contextWindow - prompt.length;
    if (room <= 0) {
      throw new InvalidInputError(
        `the request (${prompt.length} prompt tokens) exceeds the available context size (${this.info.contextWindow} tokens)`,
        [{ file: 'request body', pointer: '/messages', message: `${prompt.length} prompt tokens do not fit a ${this.info.contextWindow}-token context` }],
        { hint: 'shorten the conversation, or restart the engine with a larger --context' },
      );
    }
    // The last prompt token is always evaluated again (its logits start generation), so at most length - 1 are served from the cache.
    const cached = Math.min(chat.sequence.compareContextTokens(prompt).firstDifferentIndex, prompt.length - 1);
    const maxTokens = Math.min(sampling.maxTokens ?? room, room);

    let visibleTokens = 0;
    const forced = constraint.kind === 'forced-tool-call';
    const stops = new StopStringFilter(sampling.stop);
    // The answer's token logprobs, handed out with the text they spell (never those of a forced call's JSON).
    const logprobs = request.logprobs === undefined || forced ? undefined : new AnswerLogprobs(this.model, request.logprobs.top);
    let emittedLength = 0;
    const emitText = (text: string, entries: () => AnswerEntry[]): void => {
      emittedLength += text.length;
      const spelled = logprobs === undefined ? [] : entries();
      if (spelled.length > 0) onPart?.({ type: 'logprobs', logprobs: choiceLogprobs(spelled) });
      onPart?.({ type: 'text-delta', text });
    };
    // Generation ends when the client goes away or a stop string appears.
    const halt = new AbortController();
    const onClientAbort = (): void => halt.abort();
    if (signal.aborted) halt.abort();
    else signal.addEventListener('abort', onClientAbort, { once: true });
    let firstTokenAt: number | undefined;
    const callIds = new Map<number, string>();
    const callArguments = new Map<number, string>();
    const options: LlamaChatGenerateOptions = {
      signal: halt.signal,
      stopOnAbortSignal: true,
      maxTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      minP: sampling.minP,
      ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
      repeatPenalty:
        sampling.frequencyPenalty === undefined && sampling.presencePenalty === undefined
          ? false
          : { penalty: 1, ...(sampling.frequencyPenalty === undefined ? {} : { frequencyPenalty: sampling.frequencyPenalty }), ...(sampling.presencePenalty === undefined ? {} : { presencePenalty: sampling.presencePenalty }) },
      ...(grammar === undefined ? {} : { grammar }),
      ...(functions === undefined ? {} : { functions, maxParallelFunctionCalls: 1 }),
      onResponseChunk: (chunk) => {
        firstTokenAt ??= performance.now();
        visibleTokens += chunk.tokens.length;
      },
      onTextChunk: (text) => {
        if (forced) return;
        const safe = stops.push(text);
        if (safe !== '') emitText(safe, () => logprobs!.take(emittedLength));
        if (stops.matched) halt.abort();
      },
      onFunctionCallParamsChunk: (chunk) => {
        let id = callIds.get(chunk.callIndex);
        const first = id === undefined;
        if (id === undefined) {
          id = toolCallId();
          callIds.set(chunk.callIndex, id);
        }
        callArguments.set(chunk.callIndex, (callArguments.get(chunk.callIndex) ?? '') + chunk.paramsChunk);
        if (first || chunk.paramsChunk !== '') {
          onPart?.({ type: 'tool-call-delta', index: chunk.callIndex, ...(first ? { id, name: chunk.functionName } : {}), argumentsDelta: chunk.paramsChunk });
        }
      },
    };
    let response;
    const generationStarted = performance.now();
    const stopRecording = logprobs === undefined ? undefined : recordTokenProbabilities(chat.sequence, (token, probabilities) => logprobs.record(token, probabilities));
    try {
      response = await chat.generateResponse(history, options);
    } finally {
      stopRecording?.();
      signal.removeEventListener('abort', onClientAbort);
    }
    if (!forced) {
      const rest = stops.flush();
      // Unless a stop string cut the answer, its last tokens are all the rest (whatever their spelling adds up to).
      const last = (): AnswerEntry[] => (stops.matched || (response.functionCalls ?? []).length > 0 ? logprobs!.take(emittedLength) : logprobs!.rest());
      if (rest !== '') emitText(rest, last);
      else if (logprobs !== undefined) {
        const trailing = last();
        if (trailing.length > 0) onPart?.({ type: 'logprobs', logprobs: choiceLogprobs(trailing) });
      }
    }

    const completionTokens = this.completionTokens(chat, prompt, visibleTokens, maxTokens);
    const reused = Math.max(0, cached);
    const timings = { ...generationTimings(generationStarted, firstTokenAt, performance.now(), completionTokens), promptTokens: prompt.length - reused, cachedTokens: reused };
    const usage: Usage = { inputTokens: prompt.length, outputTokens: completionTokens, cachedInputTokens: reused };
    const stopReason = response.metadata.stopReason;
    let finishReason: FinishReason = stopReason === 'maxTokens' && !stops.matched ? 'length' : 'stop';
    let text = forced ? response.response : stops.answer;
    const toolCalls: ToolCall[] = [];

    if (forced) {
      const call = parseForcedCall(text);
      if (call !== undefined) {
        toolCalls.push({ id: toolCallId(), name: call.name, arguments: call.arguments });
        text = '';
        if (finishReason !== 'length') finishReason = 'tool_calls';
        onPart?.({ type: 'tool-call-delta', index: 0, id: toolCalls[0]!.id, name: call.name, argumentsDelta: call.arguments });
      } else if (text !== '') {
        // Cut off (max_tokens) or aborted before the call closed: what was generated is returned as text.
        onPart?.({ type: 'text-delta', text });
      }
    } else {
      (response.functionCalls ?? []).forEach((call, index) => {
        const streamed = callArguments.get(index);
        const argumentsText = streamed !== undefined && isRecord(tryParseJson(streamed)) ? streamed : JSON.stringify(call.params ?? {});
        toolCalls.push({ id: callIds.get(index) ?? toolCallId(), name: call.functionName, arguments: argumentsText });
      });
      if (toolCalls.length > 0) finishReason = 'tool_calls';
    }
    const rawFinishReason = stops.matched ? 'stopString' : stopReason;
    onPart?.({ type: 'finish', finishReason, rawFinishReason });
    onPart?.({ type: 'usage', usage });
    return { text, toolCalls, finishReason, rawFinishReason, usage, timings, ...(logprobs === undefined ? {} : { logprobs: logprobs.answer() }) };
  }

  /**
   * The prompt `generate` evaluates for `request`, rendered by the model's chat template, as text
   * (special tokens spelled out): what the model is shown, for tests and debugging.
   */
  renderPrompt(request: EngineChatRequest): string {
    const chat = this.chats[0];
    if (chat === undefined) throw new Error('the engine has no sequence');
    return this.promptText(chat, request).toString();
  }

  /** The conversation in the chat template, with the functions node-llama-cpp documents itself when tool_choice is auto. */
  private promptText(chat: LlamaChat, request: EngineChatRequest): LlamaText {
    const functions = request.constraint.kind === 'functions' ? request.constraint.functions : undefined;
    return chat.chatWrapper.generateContextState({ chatHistory: request.history, ...(functions === undefined ? {} : { availableFunctions: functions }) }).contextText;
  }

  /**
   * Tokens sampled for the answer, the final one (end of turn, a stop string's last token) included,
   * as llama-server counts them, never more than `maxTokens`. Every sampled token but the last is
   * evaluated into the sequence, so the sequence grew by count - 1 past the prompt. The tokens
   * node-llama-cpp hands to `onResponseChunk` are no substitute: it can hand over more than it
   * sampled (17 for 16 with max_tokens 16, seen with the generated test model), so they are counted
   * only when the sequence no longer starts with the prompt (a context shift).
   */
  private completionTokens(chat: LlamaChat, prompt: LlamaToken[], visibleTokens: number, maxTokens: number): number {
    const after = chat.sequence.contextTokens;
    const intact = chat.sequence.compareContextTokens(prompt).firstDifferentIndex >= prompt.length;
    return Math.min(intact ? after.length - prompt.length + 1 : visibleTokens, maxTokens);
  }

  private async grammarFor(constraint: OutputConstraint): Promise<LlamaGrammar | undefined> {
    switch (constraint.kind) {
      case 'json':
        return this.jsonGrammar;
      case 'json-schema':
        return this.schemaGrammar(constraint.schema, '/response_format/json_schema/schema');
      case 'forced-tool-call':
        return this.schemaGrammar(constraint.schema, '/tools');
      default:
        return undefined;
    }
  }

  private async schemaGrammar(schema: Readonly<Record<string, unknown>>, pointer: string): Promise<LlamaGrammar> {
    try {
      return await this.llama.createGrammarForJsonSchema(schema);
    } catch (error) {
      throw new InvalidInputError(
        `the JSON Schema cannot be turned into a grammar: ${(error as Error).message}`,
        [{ file: 'request body', pointer, message: `unsupported JSON Schema: ${(error as Error).message}` }],
        { hint: 'use plain object/array/string/number/boolean/enum/const schemas' },
      );
    }
  }

  private async checkFunctionSchemas(functions: ChatModelFunctions): Promise<void> {
    let index = 0;
    for (const definition of Object.values(functions)) {
      if (definition.params !== undefined && definition.params !== null) await this.schemaGrammar(definition.params, `/tools/${index}/function/parameters`);
      index += 1;
    }
  }

  /** Frees the context, the model and the bindings; the engine cannot be used afterwards. */
  async dispose(): Promise<void> {
    for (const chat of this.chats) chat.dispose({ disposeSequence: true });
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/** `{"name": ..., "arguments": {...}}` generated under the forced-call grammar, or undefined when it did not complete. */
export function parseForcedCall(text: string): { name: string; arguments: string } | undefined {
  const parsed = tryParseJson(text.trim());
  if (!isRecord(parsed) || typeof parsed['name'] !== 'string' || !isRecord(parsed['arguments'])) return undefined;
  return { name: parsed['name'], arguments: JSON.stringify(parsed['arguments']) };
}
