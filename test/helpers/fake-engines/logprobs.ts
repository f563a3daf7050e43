/**
 * Token log-probabilities as each engine writes them, for the fake's token pieces. The numbers are
 * the fake's own (exact binary fractions, so every serialiser prints them alike); the shapes and
 * key orders are the engines':
 * - OpenAI (API reference, `ChatCompletionTokenLogprob`): `{content: [{token, logprob, bytes,
 *   top_logprobs: [{token, logprob, bytes}]}], refusal: null}`; `top_logprobs` defaults to 0.
 * - vLLM (`entrypoints/openai/protocol.py`): chat `ChatCompletionLogProbs` `{content: [{token,
 *   logprob, bytes, top_logprobs}]}` (no `refusal`); completions `CompletionLogProbs`
 *   `{text_offset, token_logprobs, tokens, top_logprobs: [{token: logprob}]}`, the legacy shape.
 * - llama-server (`completion_token_output::probs_to_json`, an ordered_json): `{content: [{id,
 *   token, bytes, logprob, top_logprobs: [{id, token, bytes, logprob}]}]}` on chat and text
 *   completions alike; `n_probs` is `top_logprobs` (default 20) or the completions' `logprobs`, and
 *   with 0 it returns none (`logprobs: null`).
 * - Ollama (`api.Logprob`, from 0.12.11: ollama/ollama#12899) `[{token, logprob, bytes,
 *   top_logprobs: [{token, logprob, bytes}]}]` — Go's `omitempty` leaves out `bytes` of an empty
 *   token and `top_logprobs` when none were asked for (its default, `top_logprobs: 0`). Native
 *   `/api/generate` and `/api/chat` put that list in each object's `logprobs`; its OpenAI layer wraps
 *   it as the chat choice's `{content: [...]}` (`ChoiceLogprobs`), and its `/v1/completions` returns
 *   none (`ToCompletion` fills no `logprobs`). An older Ollama (the fake reports 0.12.6 unless told
 *   otherwise) returns none anywhere: Go's decoder drops the unknown fields.
 */

import type { EngineState } from './engine-state.js';

/** The engine as its logprobs depend on it: its kind, and Ollama's version. */
export type LogprobsEngine = Pick<EngineState, 'kind' | 'ollamaVersion'>;

/** The first Ollama release that returns logprobs. */
export const OLLAMA_LOGPROBS_VERSION = '0.12.11';

/** Whether an Ollama `version` (`major.minor.patch`) is `minimum` or later. */
/** Whether a dotted release (`0.12.11`) is `minimum` or later. */
export function releaseAtLeast(version: string, minimum: string): boolean {
  const parts = (text: string): number[] => text.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [have, want] = [parts(version), parts(minimum)];
  for (let index = 0; index < Math.max(have.length, want.length); index += 1) {
    const difference = (have[index] ?? 0) - (want[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

/** Whether this engine is an Ollama that returns logprobs. */
function ollamaReturnsLogprobs(engine: LogprobsEngine): boolean {
  return engine.kind === 'ollama' && releaseAtLeast(engine.ollamaVersion, OLLAMA_LOGPROBS_VERSION);
}

type Json = Record<string, unknown>;

/** What the client asked for: `undefined` when it asked for none. */
export interface LogprobsAsked {
  /** Alternatives per token (`top_logprobs`, or the completions' `logprobs` number). */
  top: number | undefined;
}

/** The fake's log-probability of the `index`th token and of its `rank`th alternative (0: the token itself). */
function logprobOf(index: number, rank: number): number {
  return -((index % 8) + 1) / 16 - rank * 0.25;
}

function bytesOf(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

/** The token id llama-server names beside each token: any stable number will do for the fake. */
function tokenId(text: string): number {
  let id = 7;
  for (const byte of bytesOf(text)) id = (id * 31 + byte) % 150_000;
  return id;
}

/** The `rank`th candidate for a token: the token itself first, then made-up alternatives. */
function candidate(token: string, rank: number): string {
  return rank === 0 ? token : `${token}~${rank}`;
}

/** How many alternatives the engine lists per token; undefined when it returns no logprobs at all. */
function alternatives(engine: LogprobsEngine, asked: LogprobsAsked): number | undefined {
  const { kind } = engine;
  if (kind === 'ollama') return ollamaReturnsLogprobs(engine) ? (asked.top ?? 0) : undefined;
  if (kind === 'lmstudio' || kind === 'anthropic') return undefined;
  if (kind === 'llama.cpp') {
    const probs = asked.top ?? 20;
    return probs === 0 ? undefined : probs;
  }
  return asked.top ?? 0;
}

/**
 * The chat choice's `logprobs` object for `pieces` (the tokens of the answer, or of one stream
 * chunk, whose first token is the `offset`th), or undefined when the engine returns none.
 */
export function chatLogprobs(engine: LogprobsEngine, pieces: readonly string[], asked: LogprobsAsked, offset = 0): Json | undefined {
  const { kind } = engine;
  const top = alternatives(engine, asked);
  if (top === undefined) return undefined;
  if (kind === 'ollama') return { content: ollamaTokens(pieces, top, offset) };
  const content = pieces.map((token, position) => {
    const index = offset + position;
    const ranks = Array.from({ length: top }, (_, rank) => rank);
    if (kind === 'llama.cpp') {
      const entry = (text: string, rank: number): Json => ({ id: tokenId(text), token: text, bytes: bytesOf(text), logprob: logprobOf(index, rank) });
      return { ...entry(token, 0), top_logprobs: ranks.map((rank) => entry(candidate(token, rank), rank)) };
    }
    const entry = (text: string, rank: number): Json => ({ token: text, logprob: logprobOf(index, rank), bytes: bytesOf(text) });
    return { ...entry(token, 0), top_logprobs: ranks.map((rank) => entry(candidate(token, rank), rank)) };
  });
  return kind === 'openai' ? { content, refusal: null } : { content };
}

/** Ollama's `api.Logprob` list for `pieces` with `top` alternatives each (see the module comment for its omissions). */
function ollamaTokens(pieces: readonly string[], top: number, offset: number): Json[] {
  const entry = (text: string, logprob: number): Json => ({ token: text, logprob, ...(text === '' ? {} : { bytes: bytesOf(text) }) });
  return pieces.map((token, position) => {
    const index = offset + position;
    const ranks = Array.from({ length: top }, (_, rank) => rank);
    return { ...entry(token, logprobOf(index, 0)), ...(top === 0 ? {} : { top_logprobs: ranks.map((rank) => entry(candidate(token, rank), logprobOf(index, rank))) }) };
  });
}

/**
 * The `logprobs` of an Ollama native answer object (`/api/generate`) for `pieces`, whose first
 * token is the `offset`th; undefined when the engine returns none (too old, or not asked:
 * `logprobs: true`, with `top_logprobs` alternatives each, default 0).
 */
export function ollamaNativeLogprobs(engine: LogprobsEngine, request: Json, pieces: readonly string[], offset = 0): Json[] | undefined {
  if (request['logprobs'] !== true || !ollamaReturnsLogprobs(engine) || pieces.length === 0) return undefined;
  return ollamaTokens(pieces, typeof request['top_logprobs'] === 'number' ? request['top_logprobs'] : 0, offset);
}

/**
 * The text completion choice's `logprobs` for `pieces`: vLLM's legacy object (`text_offset` counts
 * characters from the start of the completion, `textOffset` being where these pieces begin),
 * llama-server's chat-shaped one, or undefined when the engine returns none.
 */
export function completionLogprobs(engine: LogprobsEngine, pieces: readonly string[], asked: LogprobsAsked, offset = 0, textOffset = 0): Json | undefined {
  if (engine.kind === 'ollama') return undefined;
  if (engine.kind !== 'vllm') return chatLogprobs(engine, pieces, asked, offset);
  const top = asked.top ?? 0;
  let at = textOffset;
  const textOffsets = pieces.map((piece) => {
    const start = at;
    at += piece.length;
    return start;
  });
  return {
    text_offset: textOffsets,
    token_logprobs: pieces.map((_, position) => logprobOf(offset + position, 0)),
    tokens: [...pieces],
    top_logprobs: pieces.map((token, position) => Object.fromEntries(Array.from({ length: Math.max(top, 1) }, (_, rank) => [candidate(token, rank), logprobOf(offset + position, rank)]))),
  };
}

/** What a chat request asks for (`logprobs: true`, `top_logprobs`); undefined when it asks for none. */
export function chatLogprobsAsked(request: Json): LogprobsAsked | undefined {
  if (request['logprobs'] !== true) return undefined;
  return { top: typeof request['top_logprobs'] === 'number' ? request['top_logprobs'] : undefined };
}

/** What a text completion request asks for (`logprobs: N`); undefined when it asks for none. */
export function completionLogprobsAsked(request: Json): LogprobsAsked | undefined {
  return typeof request['logprobs'] === 'number' ? { top: request['logprobs'] } : undefined;
}
