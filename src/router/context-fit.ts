import type { CanonicalRequest } from '../wire/canonical.js';

/**
 * The least output a request whose max output had to be lowered must keep (a quarter of the
 * window for windows under 4 096 tokens). Below it the model could barely start an answer: the
 * prompt counts as too long, which is the error clients compact their conversation on.
 */
export const MIN_OUTPUT_TOKENS = 1024;

/**
 * What a chat template adds around the text the prompt estimate counts, which the window must
 * hold as well: per message the role header and end-of-turn markers (5 tokens in ChatML, Llama 3
 * and Gemma; the estimate counts 1 per separator); once, the generation prompt and the default
 * system text some templates insert (Qwen's, Llama 3.1's date header: 20–30 tokens); with tools,
 * the tool-use instructions (Anthropic documents 313–346 tokens, Qwen and Llama templates ~100).
 */
const TEMPLATE_TOKENS = 128;
const TEMPLATE_TOKENS_PER_MESSAGE = 8;
const TOOL_INSTRUCTION_TOKENS = 512;

/** The chat-template allowance of `request` (see above), in tokens. */
export function templateAllowance(request: CanonicalRequest): number {
  const messages = request.messages.length + (request.system === undefined ? 0 : 1);
  return TEMPLATE_TOKENS + TEMPLATE_TOKENS_PER_MESSAGE * messages + ((request.tools?.length ?? 0) > 0 ? TOOL_INSTRUCTION_TOKENS : 0);
}

/** How a request sits in one model's context window. */
export type ContextFit =
  /** The window holds the prompt and the whole requested output (or the minimum, when none was requested). */
  | { kind: 'fits'; room: number }
  /** The window holds the prompt but not the requested output: send `maxTokens` (the room) instead. */
  | { kind: 'lowered'; room: number; maxTokens: number }
  /** The window leaves less than `minimumOutput` after the prompt: the prompt is too long for it. */
  | { kind: 'too_long'; room: number; minimumOutput: number };

/**
 * Whether a window of `contextWindow` tokens holds the prompt (`promptTokens`, the router's
 * estimate, plus the template `allowance`) and `requestedOutput` max output tokens. What it
 * leaves is the room for output; a request asking for more is lowered to the room, unless the
 * room is under the minimum (`MIN_OUTPUT_TOKENS`, or what was requested when less).
 */
export function fitContext(contextWindow: number, promptTokens: number, allowance: number, requestedOutput: number | undefined): ContextFit {
  const room = contextWindow - promptTokens - allowance;
  const minimumOutput = minimumOutputTokens(contextWindow, requestedOutput);
  if (room < minimumOutput) return { kind: 'too_long', room, minimumOutput };
  if (requestedOutput === undefined || requestedOutput <= room) return { kind: 'fits', room };
  return { kind: 'lowered', room, maxTokens: room };
}

/** The least output a window of `contextWindow` tokens must leave room for (`MIN_OUTPUT_TOKENS`, a quarter of a smaller window, or what was requested when less). */
export function minimumOutputTokens(contextWindow: number, requestedOutput: number | undefined): number {
  return Math.min(requestedOutput ?? Number.POSITIVE_INFINITY, MIN_OUTPUT_TOKENS, Math.max(1, Math.floor(contextWindow / 4)));
}

/**
 * What an embedding model reads besides an input's text: its start and end tokens (BOS/CLS,
 * EOS/SEP), which Ollama keeps room for too when it truncates an input to the window.
 */
export const EMBEDDING_SPECIAL_TOKENS = 2;

/**
 * The inputs of an embeddings request a window of `contextWindow` tokens cannot hold, each as
 * estimated (`inputTokens`, the router's per-input estimate) plus `EMBEDDING_SPECIAL_TOKENS`:
 * their indexes, longest first. An embedding has no output, so the window needs no room for one.
 */
export function inputsOverWindow(contextWindow: number, inputTokens: readonly number[]): number[] {
  return inputTokens
    .flatMap((tokens, index) => (tokens + EMBEDDING_SPECIAL_TOKENS > contextWindow ? [index] : []))
    .sort((a, b) => (inputTokens[b] ?? 0) - (inputTokens[a] ?? 0) || a - b);
}
