/**
 * The gateway's OpenAI text completions face (`POST /v1/completions`, legacy; code-completion
 * clients use it, with `suffix` to fill in the middle): read a client's request into the canonical
 * model, and write answers and stream chunks back as `text_completion` objects. Pure: the caller
 * supplies ids and clocks.
 */

import { canonicalRequest, TEMPERATURE_RANGE, type CanonicalRequest, type CanonicalResponse, type FinishReason, type JsonObject, type StreamPart, type Usage } from '../canonical.js';
import type { ClientError } from '../client-errors.js';
import { isRecord } from '../json.js';
import { optionalBoolean, optionalNumber, readJsonObject, RequestProblems, unknownFields } from '../request-reader.js';
import { mergeUsage, streamErrorOf } from '../server-common.js';
import { formatServerSentEvent } from '../sse.js';
import { OPENAI_STREAM_DONE } from './adapter.js';
import { MAXIMUM_TOP_LOGPROBS, openAIStreamErrorFrame, parseStop, toOpenAIFinishReason, toOpenAIUsage } from './server.js';
import type { OpenAIFinishReason } from './types.js';

const API = 'completions';

/** Fields read here; any other (`user`, `frequency_penalty`, `logit_bias`, ...) is named as ignored. */
const KNOWN_FIELDS = new Set(['model', 'prompt', 'suffix', 'max_tokens', 'temperature', 'top_p', 'stop', 'stream', 'stream_options', 'seed', 'n', 'echo', 'best_of', 'logprobs']);

/** A client's text completions request, read into the canonical model. */
export interface ParsedOpenAICompletionRequest {
  /** `model` is kept exactly as the client sent it; `completion` is set, `messages` empty. */
  request: CanonicalRequest;
  /** The client asked for a final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Top-level fields the gateway does not interpret (`user`, ...): not sent to any provider. */
  ignoredFields: string[];
}

/** What the gateway says of a setting it does not support: the field and what to send instead. */
function unsupported(problems: RequestProblems, field: string, what: string, hint: string): void {
  problems.add(`/${field}`, `${what} is not supported by the gateway`, hint);
}

/**
 * Reads an OpenAI completions request: `prompt` a string or a list of one string (several prompts,
 * or token ids, are refused naming `prompt`; token ids saying why: `TOKEN_PROMPT_REFUSAL`),
 * `suffix`, `max_tokens`, `temperature`, `top_p`, `stop`, `seed`, `stream` (with
 * `stream_options.include_usage`), `logprobs` (the alternatives per token, 0 to 20: the router
 * sends such a request only to the openai wire, whose engines answer them). `n` > 1, `echo: true` and `best_of` > 1 are refused: the gateway answers one choice of
 * new text. Throws
 * `InvalidInputError` naming each field at fault.
 */
export function parseOpenAICompletionRequest(bodyText: string): ParsedOpenAICompletionRequest {
  const body = readJsonObject(bodyText, API);
  const problems = new RequestProblems(API);
  const model = body['model'];
  if (typeof model !== 'string' || model === '') problems.add('/model', 'is required and must be a non-empty string', 'send a model id, `provider:model`, an alias or `auto`');
  const prompt = readPrompt(body['prompt'], problems);
  const rawSuffix = body['suffix'];
  if (rawSuffix !== undefined && rawSuffix !== null && typeof rawSuffix !== 'string') problems.add('/suffix', 'must be a string');
  const suffix = typeof rawSuffix === 'string' ? rawSuffix : undefined;
  const maxTokens = optionalNumber(body, 'max_tokens', problems, { minimum: 1, integer: true });
  const temperature = optionalNumber(body, 'temperature', problems, TEMPERATURE_RANGE);
  const topP = optionalNumber(body, 'top_p', problems, { minimum: 0, maximum: 1 });
  const seed = optionalNumber(body, 'seed', problems, { integer: true });
  const stop = parseStop(body['stop'], problems);
  const stream = optionalBoolean(body, 'stream', problems) ?? false;
  const n = optionalNumber(body, 'n', problems, { minimum: 1, integer: true });
  if (n !== undefined && n > 1) unsupported(problems, 'n', `n = ${n} (several choices)`, 'ask for one completion per request (n = 1)');
  if (optionalBoolean(body, 'echo', problems) === true) unsupported(problems, 'echo', 'echo: true', 'leave echo out: the answer is the new text only; the client has the prompt');
  const bestOf = optionalNumber(body, 'best_of', problems, { minimum: 1, integer: true });
  if (bestOf !== undefined && bestOf > 1) unsupported(problems, 'best_of', `best_of = ${bestOf}`, 'leave best_of out: one completion is generated per request');
  const logprobs = optionalNumber(body, 'logprobs', problems, { minimum: 0, maximum: MAXIMUM_TOP_LOGPROBS, integer: true });
  let includeUsage = false;
  const streamOptions = body['stream_options'];
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isRecord(streamOptions)) problems.add('/stream_options', 'must be an object');
    else includeUsage = optionalBoolean(streamOptions, 'include_usage', problems) ?? false;
  }
  problems.throwIfAny();
  const request = canonicalRequest(model as string, [], stream, {
    completion: { prompt: prompt as string, ...(suffix === undefined ? {} : { suffix }) },
    maxTokens,
    temperature,
    topP,
    seed,
    stop,
    logprobs: logprobs === undefined ? undefined : { top: logprobs },
  });
  return { request, includeUsage: stream && includeUsage, ignoredFields: unknownFields(body, KNOWN_FIELDS) };
}

/**
 * Why a prompt of token ids is refused. The canonical request carries a text completion's prompt
 * (and suffix) as text, which the classifier reads before any route; token ids only the model's
 * tokenizer can read. `/v1/embeddings` does take them, as restricted: its canonical input has a
 * token form, which the router keeps on engines that take it.
 */
const TOKEN_PROMPT_REFUSAL =
  "is token ids, which the gateway does not take for a text completion: it classifies the prompt as text before routing it, and only the model's tokenizer can read token ids (POST /v1/embeddings takes them, as restricted); send the prompt as text, decoded with the model's tokenizer (llama-server: POST /detokenize)";

function readPrompt(raw: unknown, problems: RequestProblems): string | undefined {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw) && raw.length === 1 && typeof raw[0] === 'string') return raw[0];
  if (Array.isArray(raw) && raw.length > 0 && raw.every((item) => typeof item === 'string')) {
    problems.add('/prompt', `holds ${raw.length} prompts; several prompts in one request are not supported by the gateway`, 'send one prompt per request');
  } else if (Array.isArray(raw) && raw.length > 0 && raw.every((item) => typeof item === 'number' || (Array.isArray(item) && item.every((token) => typeof token === 'number')))) {
    // The message is what a gateway client reads (its 400 carries no hint): why, and what to send instead.
    problems.add('/prompt', TOKEN_PROMPT_REFUSAL);
  } else {
    problems.add('/prompt', 'is required and must be a string (or a list of one string)');
  }
  return undefined;
}

/** Ids, model and clock of an answer; the caller owns them. */
export interface OpenAICompletionRenderOptions {
  id: string;
  model: string;
  /** Unix seconds. */
  created: number;
}

/**
 * The finish reason of a text completion. The legacy Completions API has no refusal field: a
 * model's refusal (OpenAI's `refusal`, see `CanonicalResponse.refusal`) is given as the `text`, and
 * its finish is `content_filter` — of the API's three finish reasons (`stop`, `length`,
 * `content_filter`: "content was omitted due to a flag from our content filters") the only one that
 * tells a client the text is not the completion it asked for. With `stop` a code-completion client
 * would insert "I'm sorry, I cannot…" into the file as if the model had written code.
 */
function completionFinishReason(finishReason: FinishReason, refused: boolean): OpenAIFinishReason {
  return refused ? 'content_filter' : toOpenAIFinishReason(finishReason);
}

/** A canonical response as an OpenAI `text_completion` body (a refusal as its text: `completionFinishReason`). Usage is omitted when the upstream reported none. */
export function renderOpenAICompletionResponse(response: CanonicalResponse, options: OpenAICompletionRenderOptions): string {
  const text = response.text + (response.refusal ?? '');
  return JSON.stringify({
    id: options.id,
    object: 'text_completion',
    created: options.created,
    model: options.model,
    choices: [{ text, index: 0, logprobs: response.logprobs ?? null, finish_reason: completionFinishReason(response.finishReason, response.refusal !== undefined) }],
    ...(response.usage === undefined ? {} : { usage: toOpenAIUsage(response.usage) }),
  });
}

/**
 * Turns canonical stream parts into `text_completion` SSE chunks: one per text delta (and per
 * refusal delta: a refusal is the text, finished `content_filter`, see `completionFinishReason`), the finish
 * chunk, the usage chunk (empty `choices`) when asked for, then `data: [DONE]`. After an error it
 * writes one `data: {"error":...}` frame and never `[DONE]`. Reasoning and tool calls have no
 * place in a text completion and are not sent.
 */
export class OpenAICompletionStreamEncoder {
  private finished = false;
  private isClosed = false;
  private refused = false;
  private readonly usage: Partial<Usage> = {};
  /** The upstream chunk's `logprobs`, for the chunk of the text they came with. */
  private pendingLogprobs: JsonObject | null = null;

  constructor(private readonly options: OpenAICompletionRenderOptions & { includeUsage: boolean }) {}

  get closed(): boolean {
    return this.isClosed;
  }

  encodeAll(parts: readonly StreamPart[]): string {
    let output = '';
    for (const part of parts) {
      if (this.isClosed) break;
      switch (part.type) {
        case 'usage':
          mergeUsage(this.usage, part.usage);
          break;
        case 'logprobs':
          if (this.pendingLogprobs !== null) output += this.chunk('', null);
          this.pendingLogprobs = part.logprobs;
          break;
        case 'text-delta':
          output += this.chunk(part.text, null);
          break;
        case 'refusal-delta':
          this.refused = true;
          output += this.chunk(part.text, null);
          break;
        case 'finish':
          if (!this.finished) output += this.chunk('', completionFinishReason(part.finishReason, this.refused));
          this.finished = true;
          break;
        case 'stream-end':
          output += this.end();
          break;
        case 'error':
          output += this.fail(streamErrorOf(part));
          break;
        default:
          break;
      }
    }
    return output;
  }

  /** The frame that ends a stream that broke after bytes were sent: an error, never `[DONE]`. */
  fail(error: ClientError): string {
    if (this.isClosed) return '';
    this.isClosed = true;
    return openAIStreamErrorFrame(error);
  }

  private end(): string {
    let output = this.finished ? (this.pendingLogprobs === null ? '' : this.chunk('', null)) : this.chunk('', completionFinishReason('stop', this.refused));
    this.finished = true;
    if (this.options.includeUsage && this.usage.inputTokens !== undefined && this.usage.outputTokens !== undefined) {
      output += formatServerSentEvent({ data: JSON.stringify({ ...this.envelope(), choices: [], usage: toOpenAIUsage(this.usage as Usage) }) });
    }
    this.isClosed = true;
    return output + formatServerSentEvent({ data: OPENAI_STREAM_DONE });
  }

  private envelope(): { id: string; object: 'text_completion'; created: number; model: string } {
    return { id: this.options.id, object: 'text_completion', created: this.options.created, model: this.options.model };
  }

  private chunk(text: string, finishReason: OpenAIFinishReason | null): string {
    const logprobs = this.pendingLogprobs;
    this.pendingLogprobs = null;
    return formatServerSentEvent({ data: JSON.stringify({ ...this.envelope(), choices: [{ text, index: 0, logprobs, finish_reason: finishReason }] }) });
  }
}
