/**
 * The canonical request/response model every wire adapter translates to and from.
 * Field names follow the domain, not any one vendor's API.
 */

import type { ReasoningEffort, ReasoningEffortField } from './reasoning.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A prompt-cache breakpoint (Anthropic's `cache_control`): the prompt up to and including the item
 * that carries it may be cached by the provider. Sent on the anthropic wire; wires that cache by
 * prefix on their own (OpenAI) or not at all (local engines) need no marker.
 */
export interface CacheControl {
  ttl?: '5m' | '1h';
}

/** The cache breakpoint of the last part that carries one. */
export function lastCacheControl(parts: readonly ContentPart[]): CacheControl | undefined {
  for (let index = parts.length - 1; index >= 0; index -= 1) {
    const part = parts[index];
    if (part !== undefined && (part.type === 'text' || part.type === 'image') && part.cacheControl !== undefined) return part.cacheControl;
  }
  return undefined;
}

export interface TextPart {
  type: 'text';
  text: string;
  cacheControl?: CacheControl;
}

/** An image, inline (base64 `data`) or by `url`. */
export interface ImagePart {
  type: 'image';
  mediaType?: string;
  data?: string;
  url?: string;
  /** OpenAI's resolution hint (`low`, `high`, `auto`); the anthropic wire has none. */
  detail?: ImageDetail;
  cacheControl?: CacheControl;
}

export const IMAGE_DETAILS = ['auto', 'low', 'high'] as const;
export type ImageDetail = (typeof IMAGE_DETAILS)[number];

/**
 * Reasoning an assistant turn produced, as the client replays it (Anthropic `thinking` blocks):
 * `signature` is the provider's proof that the text is its own, which it checks when the
 * conversation continues. Only the anthropic wire sends it back; signed reasoning alone.
 */
export interface ReasoningPart {
  type: 'reasoning';
  text: string;
  signature?: string;
}

/**
 * Reasoning the provider encrypted (Anthropic `redacted_thinking`): `data` is its ciphertext,
 * opaque here, which the client must replay unmodified and in its place when the conversation
 * continues. Only the anthropic wire sends it back; every other wire drops it with a warning.
 */
export interface RedactedReasoningPart {
  type: 'redacted-reasoning';
  data: string;
}

export type ContentPart = TextPart | ImagePart | ReasoningPart | RedactedReasoningPart;

/** A tool call made by the model. `arguments` is always JSON text, whatever the wire sent. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
  /**
   * Where the call sits among the content parts of its turn (an assistant message's `content`, a
   * response's `parts`): the number of parts before it. Given when a part follows a call, as in
   * Anthropic's interleaved thinking (thinking, tool_use, thinking, tool_use), whose order the
   * provider checks when the turn is replayed; absent, the call comes after every part.
   */
  position?: number;
  /**
   * The client sent it as a call of an OpenAI `custom` (freeform) tool: its arguments are the
   * `{"input": …}` of the raw text. OpenAI's own API is sent it as a custom call even when the
   * request no longer declares the tool (the call's shape needs no definition).
   */
  freeform?: true;
}

/** One item of a turn in the order it was produced: a content part, or a tool call (with its index in `toolCalls`). */
export type TurnItem<Part> = { part: Part; index: number; call?: undefined } | { call: ToolCall; index: number; part?: undefined };

/**
 * A turn's parts and tool calls in the order they were produced (see `ToolCall.position`). The
 * calls keep their own order whatever their positions say: results are matched to them by it.
 */
export function inTurnOrder<Part>(parts: readonly Part[], toolCalls: readonly ToolCall[]): TurnItem<Part>[] {
  const items: TurnItem<Part>[] = [];
  let nextCall = 0;
  const callsUpTo = (position: number): void => {
    for (let call = toolCalls[nextCall]; call !== undefined && call.position !== undefined && call.position <= position; call = toolCalls[nextCall]) {
      items.push({ call, index: nextCall });
      nextCall += 1;
    }
  };
  parts.forEach((part, index) => {
    callsUpTo(index);
    items.push({ part, index });
  });
  for (; nextCall < toolCalls.length; nextCall += 1) items.push({ call: toolCalls[nextCall] as ToolCall, index: nextCall });
  return items;
}

export type CanonicalMessage =
  | { role: 'system'; content: ContentPart[] }
  | { role: 'user'; content: ContentPart[] }
  | { role: 'assistant'; content: ContentPart[]; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: ContentPart[]; isError?: boolean; cacheControl?: CacheControl };

/** The user message of a prompt and the images sent with it (`run --image`): the images first, as vision models read them best. */
export function promptMessage(text: string, images: readonly ImagePart[] = []): CanonicalMessage {
  return { role: 'user', content: [...images, { type: 'text', text }] };
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  inputSchema: JsonObject;
  /**
   * The client sends and expects raw text, not JSON (an OpenAI `custom` tool, such as Codex
   * CLI's apply_patch): engines see a function whose one string parameter `input` carries it.
   */
  freeform?: true;
  /**
   * A freeform tool as its client declared it, kept for a wire that takes custom tools natively
   * (OpenAI's own API): its description without the grammar `description` folds in for the
   * others, and its input format.
   */
  freeformDeclaration?: { description?: string; format?: FreeformFormat };
  /** The client asked that the arguments follow `inputSchema` exactly (`strict` of an OpenAI function, of an Anthropic tool). */
  strict?: boolean;
  cacheControl?: CacheControl;
}

/** A freeform tool's input: unconstrained text, or text that follows a grammar (OpenAI: Lark or regex). */
export type FreeformFormat = { type: 'text' } | { type: 'grammar'; syntax?: string; definition: string };

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name?: string;
      schema: JsonObject;
      /** As an OpenAI client sent it; an OpenAI-wire request is sent it unchanged. */
      strict?: boolean;
      /**
       * The client's API always enforces the schema (an Anthropic client's `output_config.format`,
       * which has no `strict`; an Ollama client's schema `format`, which Ollama enforces by grammar):
       * where strict mode decides it (the openai wire), `strict: true` is
       * sent when the schema fits that mode (`strictSchemaMisfit`), and a warning says so when not.
       */
      enforced?: true;
    };

/**
 * What an embeddings request turns into vectors: texts, or token ids of the model's own tokenizer
 * (OpenAI's `number[]` / `number[][]` input), which no classifier can read.
 */
export type EmbeddingInput = { kind: 'texts'; texts: string[] } | { kind: 'tokens'; tokens: number[][] };

/**
 * The one rule for the texts of an embeddings request, on every surface (`POST /v1/embeddings`,
 * `POST /api/embed`, `syndicate embed`): an empty text is refused, as OpenAI refuses it (400
 * `'$.input' is invalid`) and llama-server does (400 `Input content cannot be empty`); a text of
 * whitespace alone is embedded as it is, as OpenAI, Ollama and llama-server embed it (llama-server
 * answers `"   "` and `"\n"` with a vector; clients send `" "` in place of `""` because OpenAI takes
 * it).
 */
export function isEmbeddableText(text: string): boolean {
  return text !== '';
}

/** What to do about a text `isEmbeddableText` refuses. */
export const EMPTY_EMBEDDING_TEXT_HINT = 'send the text to embed (a text of whitespace alone is embedded as it is)';

/** How vectors travel in an OpenAI embeddings answer: JSON numbers, or base64 of little-endian float32. */
export const EMBEDDING_ENCODINGS = ['float', 'base64'] as const;
export type EmbeddingEncoding = (typeof EMBEDDING_ENCODINGS)[number];

/**
 * An embeddings request (OpenAI `POST /v1/embeddings`). Its request has no messages and never
 * streams; only models declared `kind: embedding` on the openai wire may take it.
 */
export interface EmbeddingRequest {
  input: EmbeddingInput;
  /** The encoding the client wants its vectors in (OpenAI's default: `float`). */
  encodingFormat: EmbeddingEncoding;
  /** The vector length asked for (models trained for shortened vectors honour it). */
  dimensions?: number;
  /**
   * The engine may cut an input longer than the model's window to fit it (Ollama `/api/embed`'s
   * `truncate`, true unless the client sends `false`): the router keeps a model of an Ollama engine
   * whose window is shorter than an input, and says so. Unset (OpenAI's API, `syndicate embed`), or
   * another engine's model: such a model is excluded. Nothing is sent upstream for it: Ollama's
   * `/v1/embeddings` truncates by default, llama.cpp and vLLM refuse an over-long input.
   */
  truncate?: boolean;
}

/**
 * A legacy text completion (OpenAI `POST /v1/completions`): the model continues `prompt`; with
 * `suffix`, it fills in the middle between the two (code completion).
 * Its request has no messages; only openai-wire models tagged `completions` take it (and
 * `fill-in-middle` for a suffix): no other wire has such an endpoint, and none is translated.
 */
export interface TextCompletionRequest {
  prompt: string;
  suffix?: string;
}

/**
 * The temperatures a prompt's request may carry: OpenAI's range (Chat Completions, Responses), the
 * widest of the wires. Anthropic's Messages API ends at 1: its adapter sends a higher one as 1, with a
 * warning, so no value valid on either wire is refused. `run`, MCP `complete` and the gateway's
 * OpenAI and Ollama faces refuse one outside it; its Anthropic face refuses one above 1, as that API does.
 */
export const TEMPERATURE_RANGE = { minimum: 0, maximum: 2 } as const;

export interface CanonicalRequest {
  /** The upstream model id (already resolved from alias / `provider:model`). */
  model: string;
  /** Set on an embeddings request (`messages` is then empty): see `EmbeddingRequest`. */
  embedding?: EmbeddingRequest;
  /** Set on a text completion request (`messages` is then empty): see `TextCompletionRequest`. */
  completion?: TextCompletionRequest;
  /** System prompt; adapters place it where their wire expects it. */
  system?: string;
  /** A cache breakpoint at the end of the system prompt (see `CacheControl`). */
  systemCacheControl?: CacheControl;
  /**
   * The client's extended-thinking setting (Anthropic `thinking`), as given: sent as is on the
   * anthropic wire; on the openai wire it becomes a `reasoning_effort` (see `wire/reasoning.ts`).
   */
  thinking?: JsonObject;
  /**
   * The client's reasoning effort (`reasoning_effort`, Responses `reasoning.effort`, Ollama's
   * `think`) and the field that carried it: sent as `reasoning_effort` to openai-wire servers that
   * take it, as `thinking` (and `output_config.effort`) on the anthropic wire; see `wire/reasoning.ts`.
   */
  reasoningEffort?: { effort: ReasoningEffort; field: ReasoningEffortField };
  /**
   * The Anthropic betas the client turned on (its `anthropic-beta` header: `context-1m-2025-08-07`,
   * `interleaved-thinking-2025-05-14`, ...), each a name of letters, digits, `.`, `_` and `-`. Sent
   * as that header on the anthropic wire only; other wires have no betas and warn.
   */
  anthropicBeta?: string[];
  messages: CanonicalMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** false: at most one tool call per answer (OpenAI `parallel_tool_calls`, Anthropic `disable_parallel_tool_use`). */
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  /** From 0 to 2 (`TEMPERATURE_RANGE`, OpenAI's range); the anthropic wire, whose range ends at 1, sends a higher one as 1 and warns. */
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  /**
   * The client is told which of `stop` ended the answer (the Anthropic face's `stop_sequence`): a
   * server that names it only when asked is asked (llama-server: `verbose`, see the openai adapter).
   */
  stopSequenceWanted?: boolean;
  /**
   * The client asked for the log-probabilities of the answer's tokens (Chat Completions `logprobs:
   * true` with `top_logprobs`, legacy Completions `logprobs: N`), with up to `top` likeliest
   * alternatives each. Only the openai wire returns them (`CanonicalResponse.logprobs`); the
   * anthropic wire drops the request with a warning.
   */
  logprobs?: LogprobsRequest;
  stream: boolean;
}

/** See `CanonicalRequest.logprobs`. */
export interface LogprobsRequest {
  /** The alternatives per token (`top_logprobs`, or the number a legacy `logprobs` gives); absent: none asked for. */
  top?: number;
}

/** The client fields a request's logprobs came in, as `FieldEffect`s: `logprobs`, and `top_logprobs` when it asked for alternatives. */
export function logprobsDropped(logprobs: LogprobsRequest): FieldEffect[] {
  return [{ setting: 'logprobs', effect: 'dropped' }, ...(logprobs.top === undefined ? [] : [{ setting: 'topLogprobs' as const, effect: 'dropped' as const }])];
}

/** The `setting` of the warning of a wire that cannot send the client's Anthropic betas (the gateway names the header). */
export const ANTHROPIC_BETA_SETTING = 'anthropicBeta' satisfies keyof CanonicalRequest;

/** The optional settings of a request; an undefined value means "not given". */
export type RequestSettings = { [K in Exclude<keyof CanonicalRequest, 'model' | 'messages' | 'stream'>]?: CanonicalRequest[K] | undefined };

/** A canonical request with only the settings that were given (no keys holding `undefined`). */
export function canonicalRequest(model: string, messages: CanonicalMessage[], stream: boolean, settings: RequestSettings): CanonicalRequest {
  const request: CanonicalRequest = { model, messages, stream };
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined) Object.assign(request, { [key]: value });
  }
  return request;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

export interface Usage {
  /** Every input token the upstream processed, cached ones included (Anthropic: input + cache read + cache write). */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the upstream's prompt cache, when reported. */
  cachedInputTokens?: number;
  /** Input tokens written to the upstream's prompt cache (Anthropic `cache_creation_input_tokens`), when reported. */
  cacheWriteInputTokens?: number;
  /** Of those, the ones written for an hour (Anthropic `cache_creation.ephemeral_1h_input_tokens`), billed higher. */
  cacheWrite1hInputTokens?: number;
}

/**
 * The prompt-cache reads and writes of `usage`, each bounded by what the input leaves for it: the
 * canonical convention counts both inside `inputTokens`, and an engine reporting more cached
 * tokens than prompt tokens must not make the rest negative.
 */
export function cacheTokensWithinInput(usage: Usage): { cached: number; written: number } {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  return { cached, written: Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - cached) };
}

export interface CanonicalResponse {
  id: string;
  model: string;
  text: string;
  /**
   * The model's reasoning before its answer, when the engine returns it apart from the text
   * (llama.cpp, vLLM, DeepSeek: `reasoning_content`; Ollama: `reasoning`; Anthropic: `thinking`
   * blocks). Absent when there was none.
   */
  reasoning?: string;
  /** Anthropic's signature of that reasoning, which the client must send back with it. */
  reasoningSignature?: string;
  /**
   * The model's refusal to answer, when the upstream gives it apart from the text (OpenAI's
   * `message.refusal`, with structured outputs: `content` is then null). An OpenAI client gets it
   * back as `refusal` (Responses API: a `refusal` content part); an Anthropic client as the
   * answer's text, with `stop_reason: "refusal"`; an Ollama client as the text (it has no field for it);
   * a legacy Completions client as the text, finished `content_filter`. Counted as output when the
   * tokens are counted locally. Absent when there was none. (Anthropic's `stop_reason: "refusal"`
   * is no such statement — its classifiers cut the answer, which stays `text` — but the finish
   * reason `content_filter`.)
   */
  refusal?: string;
  /**
   * The answer's text and reasoning blocks in the order the upstream produced them, each reasoning
   * block with its own signature, when the answer holds more than one reasoning block (Anthropic's
   * interleaved thinking) or any redacted one (which only these parts carry); the tool calls'
   * `position` places them among these parts. `text` and `reasoning` still hold the whole answer,
   * joined; `reasoningSignature` is then absent (no one signature covers all of it).
   */
  parts?: Array<TextPart | ReasoningPart | RedactedReasoningPart>;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** The raw finish reason string the wire used (`end_turn`, `stop`, ...). */
  rawFinishReason: string | null;
  /** The client's stop sequence that ended the answer, when the upstream names it (Anthropic `stop_sequence`, vLLM `stop_reason`). */
  stopSequence?: string;
  /** Absent when the upstream did not report usage. */
  usage?: Usage;
  /**
   * Deviations from the wire's contract the adapter tolerated while decoding
   * (e.g. `tool_arguments_object`), so probes can detect undeclared capability deviations.
   */
  observations?: string[];
  /**
   * An embeddings answer: one vector per input, in input order — the numbers as the engine wrote
   * them (a float32's shortest decimal, from Go) or decoded from its base64 float32.
   */
  embeddings?: number[][];
  /**
   * The log-probabilities of the answer's tokens, as the upstream's choice carried them (its
   * `logprobs` object): Chat Completions' `{content: [{token, logprob, bytes, top_logprobs}],
   * refusal}`, or legacy Completions' `{tokens, token_logprobs, top_logprobs, text_offset}`. Kept
   * as data in that shape, which the OpenAI faces return as it is. Absent when none came.
   */
  logprobs?: JsonObject;
  /**
   * The engine's own account of how long it took to generate the answer's tokens, when a whole
   * (not streamed) answer carries one (llama.cpp's `llama-server`: `timings`): read with the rest
   * of the body, for the invoker to place the first token (`wholeAnswerFirstTokenMs`).
   */
  generationTimings?: GenerationTimings;
  /**
   * How long the engine says it spent getting the model ready for this answer, in milliseconds
   * (Ollama's native `load_duration`): a cold start when the model was not loaded before.
   */
  engineLoadMs?: number;
}

/** How long generating an answer's tokens took, all of them and one, in milliseconds, as the engine reports it. */
export interface GenerationTimings {
  /** llama-server's `timings.predicted_ms`. */
  generationMs: number;
  /** llama-server's `timings.predicted_per_token_ms`. */
  perTokenMs: number;
}

/**
 * Adds one chunk's `logprobs` to those of the chunks before it (`total`, changed in place): the
 * lists of each field joined in order (`content`, `refusal`; `tokens`, `token_logprobs`, ...), any
 * other value the last one given (a `null` keeps what came before).
 */
export function appendLogprobs(total: JsonObject, chunk: JsonObject): void {
  for (const [key, value] of Object.entries(chunk)) {
    const earlier = total[key];
    if (Array.isArray(value) && Array.isArray(earlier)) earlier.push(...value);
    else if (Array.isArray(value)) total[key] = [...value];
    else if (value !== null || earlier === undefined) total[key] = value;
  }
}

/** A setting the adapter could not honour: kept in the evidence, never silently dropped. */
export interface WireWarning {
  setting: string;
  /** For people: what the reader of the evidence, `run` or `run --json` is told. */
  message: string;
  /**
   * For code: what the warning is, where a reader acts on it (never on `message`'s words).
   * `max_tokens_filled_in`: the anthropic wire sent a `max_tokens` the request did not set (the
   * Messages API requires one), `value` the number sent. Absent on the warnings no reader acts on.
   */
  code?: 'max_tokens_filled_in';
  /** With `code`: the value the warning is about (for `max_tokens_filled_in`, the `max_tokens` sent). */
  value?: number;
  /**
   * The client's request settings the warning says the provider got otherwise than asked: for the
   * gateway's `x-syndicate-ignored-fields` (dropped) and `x-syndicate-changed-fields` (changed),
   * in the client's own field names.
   */
  fields?: FieldEffect[];
}

/** What became of one request setting on the way upstream. */
export interface FieldEffect {
  /**
   * `reasoning`: the request's reasoning field, whichever its client used (`reasoning_effort`, `thinking`, ...).
   * `responseFormat`: its answer format (`response_format`, `text.format`, `output_config.format`, `format`).
   */
  setting: 'temperature' | 'topP' | 'seed' | 'maxTokens' | 'reasoning' | 'logprobs' | 'topLogprobs' | 'responseFormat' | 'toolChoice';
  /** `dropped`: not sent at all, or sent and not honoured (logprobs an engine answered without); `changed`: sent with another value than the client's (an enforced format sent as an instruction only). */
  effect: 'dropped' | 'changed';
}

/** Parts decoded from one stream event, named noun-verb as in the Vercel AI SDK. */
export type StreamPart =
  | { type: 'response-metadata'; id?: string; model?: string }
  | { type: 'text-delta'; text: string }
  /**
   * The log-probabilities of the tokens of the parts that follow it from the same upstream chunk
   * (its choice's `logprobs`, in the wire's shape: see `CanonicalResponse.logprobs`).
   */
  | { type: 'logprobs'; logprobs: JsonObject }
  /** Reasoning the engine streams apart from the answer (see `CanonicalResponse.reasoning`). */
  | { type: 'reasoning-delta'; text: string }
  /** A piece of the model's refusal (OpenAI `delta.refusal`, see `CanonicalResponse.refusal`). */
  | { type: 'refusal-delta'; text: string }
  /**
   * The provider's signature of the reasoning streamed before it (Anthropic `signature_delta`),
   * which ends that reasoning block: reasoning after it is a block of its own.
   */
  | { type: 'reasoning-signature'; signature: string }
  /** A whole block of encrypted reasoning (Anthropic `redacted_thinking`, see `RedactedReasoningPart`). */
  | { type: 'redacted-reasoning'; data: string }
  | {
      type: 'tool-call-delta';
      index: number;
      id?: string;
      name?: string;
      argumentsDelta: string;
      /**
       * `argumentsDelta` is a piece of a custom (freeform) call's raw input text, not of JSON
       * arguments: OpenAI streams a custom call's input as it is. Set on every delta of such a call.
       */
      freeform?: true;
      /** Deviations tolerated while decoding this delta (see `CanonicalResponse.observations`). */
      observations?: string[];
    }
  /** Usage counts are cumulative: a later value replaces an earlier one for the same field. */
  | { type: 'usage'; usage: Partial<Usage> }
  | { type: 'finish'; finishReason: FinishReason; rawFinishReason: string | null; stopSequence?: string; engineLoadMs?: number }
  /** The wire's terminal marker: `[DONE]` or `message_stop`. */
  | { type: 'stream-end' }
  | { type: 'error'; message: string; errorType?: string };
