import { InvalidInputError, type InputProblem } from '../errors.js';
import { IMAGE_DETAILS, type CacheControl, type ContentPart, type ImageDetail, type ImagePart, type ToolChoice, type ToolDefinition } from './canonical.js';
import { isRecord, MAX_JSON_NESTING, pointerPastNesting, tryParseJson } from './json.js';
import { isReasoningEffort, REASONING_EFFORTS, type ReasoningEffort } from './reasoning.js';

/** The `file` every problem in a client request names. */
export const REQUEST_BODY = 'request body';

/**
 * Collects the problems found while reading a client request body, each located by JSON
 * pointer, and throws them together as one `InvalidInputError` (the gateway answers 400).
 */
export class RequestProblems {
  readonly problems: InputProblem[] = [];

  constructor(private readonly api: string) {}

  add(pointer: string, message: string, hint?: string): void {
    this.problems.push({ file: REQUEST_BODY, pointer, message, ...(hint === undefined ? {} : { hint }) });
  }

  throwIfAny(): void {
    const first = this.problems[0];
    if (first === undefined) return;
    const others = this.problems.length - 1;
    const more = others > 0 ? ` (and ${others} more problem${others === 1 ? '' : 's'})` : '';
    const where = first.pointer === '' ? '' : `${first.pointer}: `;
    throw new InvalidInputError(`invalid ${this.api} request: ${where}${first.message}${more}`, this.problems, {
      ...(first.hint === undefined ? {} : { hint: first.hint }),
    });
  }
}

/** Parses the body text as a JSON object or throws the one problem that it is not (nor nested more than `MAX_JSON_NESTING` deep). */
export function readJsonObject(body: string, api: string): Record<string, unknown> {
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) {
    const problems = new RequestProblems(api);
    problems.add('', parsed === undefined ? 'the body is not valid JSON' : 'the body must be a JSON object', 'send a JSON object with content-type application/json');
    problems.throwIfAny();
  }
  const tooDeep = pointerPastNesting(parsed);
  if (tooDeep !== undefined) {
    const problems = new RequestProblems(api);
    problems.add(tooDeep, `nests arrays and objects more than ${MAX_JSON_NESTING} levels deep`, `send a body nested at most ${MAX_JSON_NESTING} levels deep`);
    problems.throwIfAny();
  }
  return parsed as Record<string, unknown>;
}


export function optionalNumber(
  body: Record<string, unknown>,
  key: string,
  problems: RequestProblems,
  range: { minimum?: number; maximum?: number; integer?: boolean } = {},
): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problems.add(`/${key}`, 'must be a number');
    return undefined;
  }
  if (range.integer === true && !Number.isInteger(value)) problems.add(`/${key}`, 'must be an integer');
  else if (range.minimum !== undefined && value < range.minimum) problems.add(`/${key}`, `must be at least ${range.minimum}`);
  else if (range.maximum !== undefined && value > range.maximum) problems.add(`/${key}`, `must be at most ${range.maximum}`);
  else return value;
  return undefined;
}

export function optionalBoolean(body: Record<string, unknown>, key: string, problems: RequestProblems): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    problems.add(`/${key}`, 'must be true or false');
    return undefined;
  }
  return value;
}

/**
 * The top-level fields of a request this codec does not interpret, sorted. A field sent as `null`
 * asks for nothing (the APIs read it as absent; openai-node types `metadata`, `audio`, the
 * penalties ... as nullable), so it is not one the provider missed.
 */
export function unknownFields(body: Record<string, unknown>, known: ReadonlySet<string>): string[] {
  return Object.keys(body)
    .filter((key) => !known.has(key) && body[key] !== null)
    .sort();
}

/** `data:image/png;base64,AAAA` → its media type and payload; `undefined` for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+)?((?:;[^;,]+)*?);base64,(.*)$/s.exec(url);
  if (match === null) return undefined;
  return { mediaType: match[1] ?? 'application/octet-stream', data: match[3] ?? '' };
}

/** An image given by URL: a `data:` URL becomes inline bytes, any other URL stays a reference. */
export function imageFromUrl(url: string, detail?: ImageDetail): ImagePart {
  const inline = parseDataUrl(url);
  const image: ImagePart = inline === undefined ? { type: 'image', url } : { type: 'image', mediaType: inline.mediaType, data: inline.data };
  if (detail !== undefined) image.detail = detail;
  return image;
}

/** An OpenAI image part's `detail` (absent when not given); anything else than the three is a problem. */
export function readImageDetail(value: unknown, pointer: string, problems: RequestProblems): ImageDetail | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (IMAGE_DETAILS as readonly string[]).includes(value)) return value as ImageDetail;
  problems.add(pointer, `must be one of ${IMAGE_DETAILS.map((detail) => `"${detail}"`).join(', ')}`);
  return undefined;
}

/**
 * An OpenAI reasoning effort (`reasoning_effort`, Responses `reasoning.effort`; absent or null when
 * not given). Another value is a problem, as OpenAI answers it with a 400.
 */
export function readReasoningEffort(value: unknown, pointer: string, problems: RequestProblems): ReasoningEffort | undefined {
  if (value === undefined || value === null) return undefined;
  if (isReasoningEffort(value)) return value;
  problems.add(pointer, `must be one of ${REASONING_EFFORTS.map((effort) => `"${effort}"`).join(', ')}`);
  return undefined;
}

/**
 * A message's content as OpenAI's APIs send it: a string (one text part) or an array of part
 * objects, each read by `readPart`, which reports its own problems and returns undefined for a
 * part it refuses.
 */
export function readContentParts(
  raw: unknown,
  pointer: string,
  problems: RequestProblems,
  readPart: (part: Record<string, unknown>, partPointer: string) => ContentPart | undefined,
): ContentPart[] | undefined {
  if (typeof raw === 'string') return [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) {
    problems.add(pointer, 'must be a string or an array of content parts');
    return undefined;
  }
  const parts: ContentPart[] = [];
  raw.forEach((part, index) => {
    const partPointer = `${pointer}/${index}`;
    if (!isRecord(part)) {
      problems.add(partPointer, 'must be a content part object');
      return;
    }
    const read = readPart(part, partPointer);
    if (read !== undefined) parts.push(read);
  });
  return parts;
}

/**
 * A block's `cache_control` ({type: "ephemeral", ttl?: "5m" | "1h"}) — Anthropic's prompt-cache
 * breakpoint, which OpenAI-format clients of Anthropic models send on content parts too (as
 * OpenRouter and LiteLLM accept it). Undefined when it has none.
 */
export function parseCacheControl(block: Record<string, unknown>, pointer: string, problems: RequestProblems): CacheControl | undefined {
  const raw = block['cache_control'];
  if (raw === undefined || raw === null) return undefined;
  if (isRecord(raw) && raw['type'] === 'ephemeral' && (raw['ttl'] === undefined || raw['ttl'] === '5m' || raw['ttl'] === '1h')) {
    return raw['ttl'] === undefined ? {} : { ttl: raw['ttl'] };
  }
  problems.add(`${pointer}/cache_control`, 'must be {type: "ephemeral"} with an optional ttl of "5m" or "1h"');
  return undefined;
}

/** `part` with the block's cache breakpoint, if it has one. */
export function withCacheControl<T extends ContentPart>(part: T, block: Record<string, unknown>, pointer: string, problems: RequestProblems): T {
  const cacheControl = parseCacheControl(block, pointer, problems);
  return cacheControl === undefined ? part : { ...part, cacheControl };
}

/**
 * A tool choice that forces a call must have a tool to call: every API refuses it upstream (after
 * a permit and an evidence row), so it is refused here with the field named. `named`: where the
 * API spells a chosen tool's name, and what it calls a tool.
 */
export function checkToolChoice(
  toolChoice: ToolChoice | undefined,
  tools: readonly ToolDefinition[] | undefined,
  problems: RequestProblems,
  named: { pointer: string; noun: 'function' | 'tool' },
): void {
  if (toolChoice === undefined || toolChoice === 'auto' || toolChoice === 'none') return;
  const names = (tools ?? []).map((tool) => tool.name);
  if (names.length === 0) {
    problems.add('/tool_choice', 'asks for a tool call, but the request defines no tools', 'define the tools in `tools`, or leave tool_choice out');
  } else if (typeof toolChoice === 'object' && !names.includes(toolChoice.name)) {
    problems.add(named.pointer, `names a ${named.noun} that is not among the tools (${names.join(', ')})`, 'name one of the tools the request defines');
  }
}
