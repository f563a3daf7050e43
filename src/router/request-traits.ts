import type { TaskRule } from '../policy/types.js';
import type { CanonicalRequest, ContentPart } from '../wire/canonical.js';
import { requestedEffort, type RequestedEffort } from '../wire/reasoning.js';

/** What the router needs to know about a request's shape, independent of any provider. */
export interface RequestTraits {
  tools: boolean;
  /** The request asks for JSON output. */
  json: boolean;
  /** The request asks for JSON conforming to a schema with `strict: true`. */
  strictJson: boolean;
  vision: boolean;
  /** An image is given by URL (not inline data): what an engine would have to fetch. */
  imageUrl: boolean;
  /** The tool choice forces a tool (OpenAI `required` or a named function, Anthropic `any` or `tool`), as the request words it; undefined when it does not. */
  forcedTool: string | undefined;
  /**
   * The request turns extended thinking off or budgets it by hand (Anthropic `thinking` of type
   * `disabled` or `enabled`, a reasoning effort `none` — OpenAI's or Ollama's `think: false`): the setting, in words,
   * and the request field that holds it; undefined otherwise.
   */
  manualThinking: { setting: string; param: string } | undefined;
  /** The reasoning the request asks for (its effort, or its Anthropic thinking read as one); undefined when it sets none. */
  reasoning: RequestedEffort | undefined;
  /** The request asks for the log-probabilities of the answer's tokens (`CanonicalRequest.logprobs`). */
  logprobs: boolean;
}

export function requestTraits(request: CanonicalRequest): RequestTraits {
  const format = request.responseFormat;
  const tools = (request.tools?.length ?? 0) > 0;
  const choice = request.toolChoice;
  return {
    tools,
    forcedTool: !tools || choice === undefined || choice === 'auto' || choice === 'none' ? undefined : choice === 'required' ? 'a tool' : `tool ${choice.name}`,
    manualThinking: manualThinkingOf(request),
    reasoning: requestedEffort(request),
    json: format !== undefined && format.type !== 'text',
    strictJson: format?.type === 'json_schema' && format.strict === true,
    vision: request.messages.some((message) => message.content.some((part) => part.type === 'image')),
    imageUrl: request.messages.some((message) => message.content.some((part) => part.type === 'image' && part.data === undefined && part.url !== undefined)),
    logprobs: request.logprobs !== undefined,
  };
}

/** See `RequestTraits.manualThinking`. */
export function manualThinkingOf(request: CanonicalRequest): RequestTraits['manualThinking'] {
  const thinkingType = request.thinking?.['type'];
  if (thinkingType === 'disabled' || thinkingType === 'enabled') return { setting: `thinking type ${thinkingType}`, param: 'thinking' };
  const effort = request.reasoningEffort;
  if (effort?.effort === 'none') return { setting: `${effort.field} none`, param: effort.field };
  return undefined;
}

/**
 * The texts a person wrote, piece by piece: system prompt and user/assistant/tool text parts. Kept
 * apart rather than joined: an agent's conversation runs to megabytes, and one joined copy of it
 * per request costs more than everything read from it.
 */
export function requestTexts(request: CanonicalRequest): string[] {
  const texts: string[] = [];
  if (request.system !== undefined) texts.push(request.system);
  for (const message of request.messages) for (const part of message.content) if (isText(part)) texts.push(part.text);
  if (request.embedding?.input.kind === 'texts') texts.push(...request.embedding.input.texts);
  if (request.completion !== undefined) texts.push(request.completion.prompt, ...(request.completion.suffix === undefined ? [] : [request.completion.suffix]));
  return texts;
}

/**
 * Everything of the request a model reads as text, piece by piece, for counting its tokens: the
 * text above, the assistant's earlier tool calls (names and JSON arguments — in an agent's loop
 * often the largest part, a whole file written by a tool) and the tool definitions. An agent
 * resends most pieces unchanged every turn, so counters remember them piece by piece.
 */
export function promptPieces(request: CanonicalRequest): string[] {
  const pieces = requestTexts(request);
  for (const message of request.messages) {
    if (message.role === 'assistant') for (const call of message.toolCalls ?? []) pieces.push(call.name, call.arguments);
  }
  if (request.tools !== undefined) pieces.push(JSON.stringify(request.tools));
  return pieces;
}

/** The image parts of the request's messages. */
export function imageCount(request: CanonicalRequest): number {
  let images = 0;
  for (const message of request.messages) for (const part of message.content) if (part.type === 'image') images += 1;
  return images;
}

function isText(part: ContentPart): part is Extract<ContentPart, { type: 'text' }> {
  return part.type === 'text';
}

/** A task that matched, with the keyword that matched it. */
export interface MatchedTask {
  rule: TaskRule;
  keyword: string;
}

/** Task rules whose keywords appear in one of the texts as whole words, case-insensitively. */
export function matchTasks(texts: readonly string[], tasks: readonly TaskRule[]): MatchedTask[] {
  const matched: MatchedTask[] = [];
  for (const rule of tasks) {
    const keyword = rule.keywords.find((word) => {
      const pattern = wholeWordPattern(word);
      return texts.some((text) => pattern.test(text));
    });
    if (keyword !== undefined) matched.push({ rule, keyword });
  }
  return matched;
}

/**
 * Compiles every task keyword's pattern and runs it twice (V8 interprets a regular expression's
 * first run and compiles it to machine code on the second — for these Unicode, case-insensitive
 * patterns the costly part, 10–30 ms for the default policy's keywords on a loaded VM, otherwise
 * paid by the first requests that meet them).
 */
export function warmTaskPatterns(tasks: readonly TaskRule[]): void {
  for (const rule of tasks) {
    for (const word of rule.keywords) {
      const pattern = wholeWordPattern(word);
      pattern.test(WARM_UP_SUBJECT);
      pattern.test(WARM_UP_SUBJECT);
    }
  }
}

const WARM_UP_SUBJECT = 'a plain sentence, with no keyword of any task in it';

/** Compiled patterns by keyword: the policy's task keywords are a small, fixed set. */
const patterns = new Map<string, RegExp>();
const MAXIMUM_CACHED_PATTERNS = 4096;

function wholeWordPattern(word: string): RegExp {
  let pattern = patterns.get(word);
  if (pattern === undefined) {
    pattern = compileWholeWord(word);
    if (patterns.size >= MAXIMUM_CACHED_PATTERNS) patterns.clear();
    patterns.set(word, pattern);
  }
  return pattern;
}

function compileWholeWord(word: string): RegExp {
  const escaped = word.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'iu');
}
