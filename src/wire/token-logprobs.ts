import type { JsonObject } from './canonical.js';
import { isRecord } from './json.js';

/** One token with its log-probability and UTF-8 bytes, as the Responses API and Ollama list it. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/** A token of the answer with its likeliest alternatives. */
export interface AnswerTokenLogprob extends TokenLogprob {
  top_logprobs: TokenLogprob[];
}

/**
 * The upstream's logprobs (`CanonicalResponse.logprobs`) as a list of tokens: from the chat shape
 * `{content: [{token, logprob, bytes, top_logprobs}]}` (OpenAI, vLLM, llama-server, Ollama), each
 * with just its `token`, `logprob` and `bytes` (llama-server's token `id` left out; `bytes` made from
 * the token when the engine gave none); from vLLM's legacy completions shape `{tokens,
 * token_logprobs, top_logprobs: [{token: logprob}]}`, the same. Nothing for any other shape.
 */
export function answerTokenLogprobs(logprobs: JsonObject | undefined): AnswerTokenLogprob[] {
  const content = logprobs?.['content'];
  if (Array.isArray(content)) {
    return content.flatMap((raw) => {
      const entry = tokenLogprob(raw);
      if (entry === undefined) return [];
      const alternatives = isRecord(raw) && Array.isArray(raw['top_logprobs']) ? raw['top_logprobs'] : [];
      return [{ ...entry, top_logprobs: alternatives.flatMap((alternative) => tokenLogprob(alternative) ?? []) }];
    });
  }
  const tokens = logprobs?.['tokens'];
  const values = logprobs?.['token_logprobs'];
  if (!Array.isArray(tokens) || !Array.isArray(values)) return [];
  const tops = Array.isArray(logprobs?.['top_logprobs']) ? (logprobs['top_logprobs'] as unknown[]) : [];
  return tokens.flatMap((token, index) => {
    const entry = tokenLogprob({ token, logprob: values[index] });
    if (entry === undefined) return [];
    const top = tops[index];
    const alternatives = isRecord(top) ? Object.entries(top).flatMap(([text, logprob]) => tokenLogprob({ token: text, logprob }) ?? []) : [];
    return [{ ...entry, top_logprobs: alternatives }];
  });
}

function tokenLogprob(raw: unknown): TokenLogprob | undefined {
  if (!isRecord(raw)) return undefined;
  const { token, logprob, bytes } = raw;
  if (typeof token !== 'string' || typeof logprob !== 'number') return undefined;
  const given = Array.isArray(bytes) && bytes.every((byte) => typeof byte === 'number') ? (bytes as number[]) : undefined;
  return { token, logprob, bytes: given ?? [...Buffer.from(token, 'utf8')] };
}
