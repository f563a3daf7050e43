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
 * - Ollama before 0.12.11 (the fake reports 0.12.6) returns none: its OpenAI layer drops the fields.
 */

import type { FakeEngineKind } from './index.js';

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
function alternatives(kind: FakeEngineKind, asked: LogprobsAsked): number | undefined {
  if (kind === 'ollama' || kind === 'lmstudio' || kind === 'anthropic') return undefined;
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
export function chatLogprobs(kind: FakeEngineKind, pieces: readonly string[], asked: LogprobsAsked, offset = 0): Json | undefined {
  const top = alternatives(kind, asked);
  if (top === undefined) return undefined;
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

/**
 * The text completion choice's `logprobs` for `pieces`: vLLM's legacy object (`text_offset` counts
 * characters from the start of the completion, `textOffset` being where these pieces begin),
 * llama-server's chat-shaped one, or undefined when the engine returns none.
 */
export function completionLogprobs(kind: FakeEngineKind, pieces: readonly string[], asked: LogprobsAsked, offset = 0, textOffset = 0): Json | undefined {
  if (kind !== 'vllm') return chatLogprobs(kind, pieces, asked, offset);
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
