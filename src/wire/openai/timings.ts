import type { GenerationTimings } from '../canonical.js';
import { isRecord } from '../json.js';

/**
 * llama.cpp's `llama-server` account of a whole answer's generation (chat and text completions):
 * `timings.predicted_ms`, how long generating the tokens took, and `predicted_per_token_ms`, how
 * long one took. Undefined when the decoded body carries no such account, or a broken one.
 */
export function generationTimingsOf(body: Record<string, unknown>): GenerationTimings | undefined {
  const timings = body['timings'];
  if (!isRecord(timings)) return undefined;
  const generationMs = timings['predicted_ms'];
  const perTokenMs = timings['predicted_per_token_ms'];
  return typeof generationMs === 'number' && typeof perTokenMs === 'number' ? { generationMs, perTokenMs } : undefined;
}

/**
 * When the first token of an answer that was not streamed came, in milliseconds from the request,
 * as far as the engine's own account allows. Such an answer's first byte comes only once every
 * token is generated, so its first byte is no first token: the engine's `timings`
 * (`CanonicalResponse.generationTimings`) say how long generating the tokens took and how long one
 * took, and the time of the tokens after the first is taken off. Without such an account, or one
 * that does not fit the time measured (an engine's clock against ours), the first byte stands.
 */
export function wholeAnswerFirstTokenMs(firstByteMs: number, timings: GenerationTimings | undefined): number {
  if (timings === undefined) return firstByteMs;
  const { generationMs, perTokenMs } = timings;
  if (!(generationMs >= perTokenMs) || perTokenMs < 0) return firstByteMs;
  const firstTokenMs = firstByteMs - (generationMs - perTokenMs);
  return firstTokenMs > 0 ? firstTokenMs : firstByteMs;
}
