import { isRecord, tryParseJson } from '../json.js';

/**
 * When the first token of an answer that was not streamed came, in milliseconds from the request,
 * as far as the engine's own account allows. Such an answer's first byte comes only once every
 * token is generated, so its first byte is no first token: llama.cpp's `llama-server` (chat and
 * text completions) says in `timings` how long generating the tokens took (`predicted_ms`) and how
 * long one took (`predicted_per_token_ms`), and the time of the tokens after the first is taken
 * off. Without such an account, or one that does not fit the time measured (an engine's clock
 * against ours), the first byte stands.
 */
export function wholeAnswerFirstTokenMs(firstByteMs: number, body: string): number {
  // Most answers carry no such account (embeddings can be megabytes): parse only one that may.
  if (!body.includes('"predicted_ms"')) return firstByteMs;
  const parsed = tryParseJson(body);
  const timings = isRecord(parsed) ? parsed['timings'] : undefined;
  if (!isRecord(timings)) return firstByteMs;
  const generationMs = timings['predicted_ms'];
  const perTokenMs = timings['predicted_per_token_ms'];
  if (typeof generationMs !== 'number' || typeof perTokenMs !== 'number' || !(generationMs >= perTokenMs) || perTokenMs < 0) return firstByteMs;
  const firstTokenMs = firstByteMs - (generationMs - perTokenMs);
  return firstTokenMs > 0 ? firstTokenMs : firstByteMs;
}
