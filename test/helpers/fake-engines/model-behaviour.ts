import { decode, encode } from 'gpt-tokenizer';

/** The default answer of every fake model. */
export const DEFAULT_ANSWER = 'Paris is the capital of France.';

/** The parts of a chat request (OpenAI or Anthropic shape) that decide what the fake model answers. */
export interface ChatRequestView {
  model: string;
  /** Plain text of each message, in order, with its role (system prompts included). */
  messages: Array<{ role: string; text: string }>;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  stop: string[];
  temperature?: number;
  seed?: number;
  responseFormat?: { type: string; schema?: unknown };
  /** `freeform`: an OpenAI custom tool, called with raw text (`input`), not JSON arguments. */
  tools: Array<{ name: string; parameters: unknown; freeform?: boolean }>;
  /** 'auto' | 'none' | 'required' | a tool name (forced). */
  toolChoice: string;
  /** llama.cpp's `verbose`: the answer carries `__verbose`, its native result. */
  verbose?: boolean;
}

export interface GeneratedToolCall {
  name: string;
  /** The arguments as a JSON object. */
  arguments: Record<string, unknown>;
  /** The same arguments as JSON text (what OpenAI puts on the wire). */
  argumentsJson: string;
  /** A custom tool's call: the raw text it is called with (the answer), in place of arguments. */
  input?: string;
}

/** What the fake model "generated" for one request. */
export interface Generation {
  text: string;
  /** `text` split into token pieces (one stream chunk each); joined they equal `text`. */
  pieces: string[];
  toolCall?: GeneratedToolCall;
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** The stop sequence that ended the text, when one did. */
  stopSequence?: string;
  promptTokens: number;
  completionTokens: number;
}

export interface GenerationOptions {
  answer: string;
  /** false: a `json_schema` response format is ignored and the model answers prose (Ollama's quirk). */
  honourJsonSchema: boolean;
  /** false: a `json_object` response format is ignored. */
  honourJsonObject: boolean;
  /** When set, the output varies with this number: the engine ignores `seed` at temperature > 0. */
  seedIgnoredVariant?: number;
}

/**
 * Tokens as the fake counts them: gpt-tokenizer (o200k), the same count for the same input. Special
 * tokens (`<|fim_prefix|>`, `<|endoftext|>`) in a prompt the client built count as tokens, as a model's tokenizer reads them.
 */
export function countTokens(text: string): number {
  return encode(text, { allowedSpecial: 'all' }).length;
}

/** The text of its first `limit` tokens (the text itself when it has no more): an engine's truncation of an input. */
/** The token ids of `text` as the fake counts them (see `countTokens`): llama-server's `/tokenize`. */
export function tokenIds(text: string): number[] {
  return encode(text);
}

export function firstTokens(text: string, limit: number): string {
  const tokens = encode(text);
  return tokens.length <= limit ? text : decode(tokens.slice(0, limit));
}

/** Prompt tokens: every message's text plus a fixed template overhead per message (like chat templates add). */
export function countPromptTokens(messages: Array<{ role: string; text: string }>): number {
  let total = 3;
  for (const message of messages) total += 4 + countTokens(message.text);
  return total;
}

/** Splits text into token pieces whose concatenation is exactly the text. */
export function tokenPieces(text: string): string[] {
  const tokens = encode(text);
  const pieces: string[] = [];
  let previous = '';
  for (let index = 0; index < tokens.length; index += 1) {
    const decoded = decode(tokens.slice(0, index + 1));
    // A token ending inside a multi-byte character decodes to a string that is not yet a prefix of
    // the text (a replacement character, or the partial bytes dropped): its bytes go with the next token's.
    if (decoded.length > previous.length && text.startsWith(decoded)) {
      pieces.push(decoded.slice(previous.length));
      previous = decoded;
    }
  }
  if (previous.length < text.length) pieces.push(text.slice(previous.length));
  return pieces;
}

/** Decides the fake model's output for a request: deterministic, derived only from the request and options. */
export function generate(request: ChatRequestView, options: GenerationOptions): Generation {
  const promptTokens = countPromptTokens(request.messages);
  const lastRole = request.messages.at(-1)?.role;
  const wantsTool =
    request.tools.length > 0 && request.toolChoice !== 'none' && lastRole !== 'tool' && lastRole !== 'tool_result';
  if (wantsTool) {
    const tool = request.tools.find((candidate) => candidate.name === request.toolChoice) ?? request.tools[0]!;
    if (tool.freeform === true) {
      return {
        text: '',
        pieces: [],
        toolCall: { name: tool.name, arguments: {}, argumentsJson: '', input: options.answer },
        finishReason: 'tool_calls',
        promptTokens,
        completionTokens: countTokens(tool.name) + countTokens(options.answer),
      };
    }
    const value = valueFromSchema(tool.parameters, options.answer);
    const toolArguments = isPlainObject(value) ? value : {};
    const argumentsJson = JSON.stringify(toolArguments);
    return {
      text: '',
      pieces: [],
      toolCall: { name: tool.name, arguments: toolArguments, argumentsJson },
      finishReason: 'tool_calls',
      promptTokens,
      completionTokens: countTokens(tool.name) + countTokens(argumentsJson),
    };
  }

  let text = options.answer;
  const format = request.responseFormat;
  if (format?.type === 'json_object' && options.honourJsonObject) {
    text = JSON.stringify({ answer: options.answer });
  } else if (format?.type === 'json_schema' && options.honourJsonSchema) {
    text = JSON.stringify(valueFromSchema(format.schema, options.answer));
  }
  if (options.seedIgnoredVariant !== undefined && options.seedIgnoredVariant > 0) {
    text = `${text} (sample ${options.seedIgnoredVariant + 1})`;
  }

  let finishReason: Generation['finishReason'] = 'stop';
  let stopSequence: string | undefined;
  let cut = -1;
  for (const stop of request.stop) {
    if (stop === '') continue;
    const at = text.indexOf(stop);
    if (at !== -1 && (cut === -1 || at < cut)) {
      cut = at;
      stopSequence = stop;
    }
  }
  if (cut !== -1) text = text.slice(0, cut);

  let pieces = tokenPieces(text);
  if (request.maxTokens !== undefined && request.maxTokens >= 0 && pieces.length > request.maxTokens) {
    pieces = pieces.slice(0, request.maxTokens);
    text = pieces.join('');
    finishReason = 'length';
    stopSequence = undefined;
  }
  const generation: Generation = { text, pieces, finishReason, promptTokens, completionTokens: countTokens(text) };
  if (stopSequence !== undefined) generation.stopSequence = stopSequence;
  return generation;
}

/** A small valid instance of a JSON schema: strings carry the answer, numbers 42, booleans true. */
export function valueFromSchema(schema: unknown, answer: string): unknown {
  if (!isPlainObject(schema)) return answer;
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) return valueFromSchema(options[0], answer);
  }
  const type = Array.isArray(schema['type']) ? schema['type'][0] : schema['type'];
  switch (type) {
    case 'object': {
      const properties = isPlainObject(schema['properties']) ? schema['properties'] : {};
      const result: Record<string, unknown> = {};
      for (const [name, propertySchema] of Object.entries(properties)) result[name] = valueFromSchema(propertySchema, answer);
      return result;
    }
    case 'array': {
      const count = typeof schema['minItems'] === 'number' ? Math.max(1, schema['minItems']) : 1;
      return Array.from({ length: count }, () => valueFromSchema(schema['items'], answer));
    }
    case 'integer':
      return typeof schema['minimum'] === 'number' ? Math.ceil(schema['minimum']) : 42;
    case 'number':
      return typeof schema['minimum'] === 'number' ? schema['minimum'] : 42;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      return answer;
    default:
      return isPlainObject(schema['properties']) ? valueFromSchema({ ...schema, type: 'object' }, answer) : answer;
  }
}

/** A request body's JSON object; undefined when the body is not one. */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of an OpenAI or Anthropic message `content` (string or array of parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === null || content === undefined ? '' : JSON.stringify(content);
  return content
    .map((part: unknown) => {
      if (!isPlainObject(part)) return '';
      if (typeof part['text'] === 'string') return part['text'];
      if (part['type'] === 'tool_result') return contentText(part['content']);
      if (part['type'] === 'tool_use') return JSON.stringify(part['input'] ?? {});
      return '';
    })
    .join('');
}
