/**
 * A gateway request body read outside the gateway (`route --request FILE`): which face it is
 * for, decoded by that face's own parser, so it routes and fails exactly as the gateway's would.
 */

import { InvalidInputError, UsageError } from '../errors.js';
import { ANTHROPIC_BETA_RULE, parseAnthropicBeta, parseAnthropicMessagesRequest } from './anthropic/server.js';
import type { CanonicalRequest } from './canonical.js';
import { isRecord, tryParseJson } from './json.js';
import { parseOpenAICompletionRequest } from './openai/completions-server.js';
import { parseOpenAIEmbeddingsRequest } from './openai/embeddings-server.js';
import { parseResponsesRequest } from './openai/responses-server.js';
import { parseOpenAIChatRequest } from './openai/server.js';
import { isOllamaModelManagement, parseOllamaChatRequest, parseOllamaGenerateRequest, type OllamaModelManagement, type ParsedOllamaRequest } from './ollama/server.js';
import { REQUEST_BODY } from './request-reader.js';

/**
 * The request bodies the gateway routes: OpenAI Chat Completions, Anthropic Messages, OpenAI's
 * legacy text completions, Responses and embeddings, and Ollama's `/api/chat` and `/api/generate`.
 */
export const REQUEST_FAMILIES = ['openai', 'anthropic', 'openai-completions', 'openai-responses', 'openai-embeddings', 'ollama-chat', 'ollama-generate'] as const;
export type RequestFamily = (typeof REQUEST_FAMILIES)[number];
/** The two conversation APIs, told apart by the fields only one of them has (`requestFamilyMarkers`). */
type ConversationFamily = 'openai' | 'anthropic';

/** Each API as a message names it. */
const FAMILY_NAMES: Record<RequestFamily, string> = {
  openai: 'an OpenAI chat completions',
  anthropic: 'an Anthropic Messages',
  'openai-completions': 'an OpenAI text completions',
  'openai-responses': 'an OpenAI Responses',
  'openai-embeddings': 'an OpenAI embeddings',
  'ollama-chat': 'an Ollama /api/chat',
  'ollama-generate': 'an Ollama /api/generate',
};

/**
 * Fields only Ollama's native API has at the top level of a body (its sampling settings live in
 * `options`; `format` is its `response_format`): a body with one of them is Ollama's, unless it
 * also has a field only the OpenAI or Anthropic API has.
 */
const OLLAMA_ONLY_FIELDS = ['options', 'keep_alive', 'format', 'think', 'raw', 'template', 'context', 'images'];

/** Fields of a body with an `input` (and no `messages` or `prompt`) that only a Responses request, or only an embeddings one, has. */
const RESPONSES_ONLY_FIELDS = ['instructions', 'max_output_tokens', 'previous_response_id', 'conversation', 'reasoning', 'text', 'store', 'include', 'truncation', 'tools', 'tool_choice', 'parallel_tool_calls', 'background', 'temperature', 'top_p', 'stream'];
const EMBEDDINGS_ONLY_FIELDS = ['encoding_format', 'dimensions'];

export interface DecodedGatewayRequest {
  family: RequestFamily;
  request: CanonicalRequest;
  /** Top-level fields the gateway would not interpret (it names them in `x-syndicate-ignored-fields`). */
  ignoredFields: string[];
}

const OPENAI_ONLY_FIELDS = ['max_completion_tokens', 'response_format', 'n', 'stream_options', 'parallel_tool_calls', 'seed', 'stop', 'frequency_penalty', 'presence_penalty', 'logprobs', 'reasoning_effort'];
const ANTHROPIC_ONLY_FIELDS = ['system', 'stop_sequences', 'thinking', 'top_k', 'metadata', 'output_config', 'output_format'];
const OPENAI_ONLY_ROLES = ['system', 'developer', 'tool'];
const OPENAI_ONLY_PARTS = ['image_url', 'input_audio', 'file'];
const ANTHROPIC_ONLY_BLOCKS = ['image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'];

/**
 * The things in `body` only one of the two APIs has, each named by JSON pointer: top-level
 * fields, message roles and content types of one API only, a tool in one API's shape
 * (`function` / `input_schema`) and a `tool_choice` only one API spells that way (OpenAI's
 * strings and `function`; Anthropic's `any` and `tool`).
 */
export function requestFamilyMarkers(body: Record<string, unknown>): Record<ConversationFamily, string[]> {
  const markers: Record<ConversationFamily, string[]> = { openai: [], anthropic: [] };
  for (const field of OPENAI_ONLY_FIELDS) if (field in body) markers.openai.push(`/${field}`);
  for (const field of ANTHROPIC_ONLY_FIELDS) if (field in body) markers.anthropic.push(`/${field}`);
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  messages.forEach((message: unknown, index) => {
    if (!isRecord(message)) return;
    if (typeof message['role'] === 'string' && OPENAI_ONLY_ROLES.includes(message['role'])) markers.openai.push(`/messages/${index}/role`);
    if ('tool_calls' in message) markers.openai.push(`/messages/${index}/tool_calls`);
    const content = Array.isArray(message['content']) ? message['content'] : [];
    content.forEach((part: unknown, partIndex) => {
      if (!isRecord(part) || typeof part['type'] !== 'string') return;
      const pointer = `/messages/${index}/content/${partIndex}/type`;
      if (OPENAI_ONLY_PARTS.includes(part['type'])) markers.openai.push(pointer);
      if (ANTHROPIC_ONLY_BLOCKS.includes(part['type'])) markers.anthropic.push(pointer);
    });
  });
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  tools.forEach((tool: unknown, index) => {
    if (!isRecord(tool)) return;
    if ('function' in tool || tool['type'] === 'function') markers.openai.push(`/tools/${index}`);
    if ('input_schema' in tool) markers.anthropic.push(`/tools/${index}`);
  });
  const toolChoice = body['tool_choice'];
  if (typeof toolChoice === 'string' || (isRecord(toolChoice) && (toolChoice['type'] === 'function' || toolChoice['type'] === 'custom'))) markers.openai.push('/tool_choice');
  if (isRecord(toolChoice) && ['any', 'tool', 'auto', 'none'].includes(String(toolChoice['type']))) markers.anthropic.push('/tool_choice');
  return markers;
}

/** What a gateway request carries besides its body: the API it was sent to, and the headers a face reads. */
export interface GatewayRequestOptions {
  /** The face the body is for; default: told from its fields (`requestFamilyMarkers`). */
  family?: RequestFamily;
  /** The value of the `anthropic-beta` header the Anthropic face reads (`parseAnthropicBeta`). */
  anthropicBeta?: string;
  /** How the caller's user names the API, for the hints (default `route`'s `--format openai`; MCP: `format: "openai"`). */
  formatOption?: (family: RequestFamily) => string;
  /** How the caller's user names the `anthropic-beta` value, for the errors (default `route`'s `--anthropic-beta`; MCP: `anthropicBeta`). */
  betaOption?: string;
}

const FORMAT_FLAG = (family: RequestFamily): string => `--format ${family}`;

/**
 * Decodes `bodyText` as the gateway face of `options.family` would, or of the family the body's
 * markers name (`requestFamilyMarkers`) when it is not given: a body with markers of both or of
 * neither is a usage error (exit 2) asking for `--format`, never a guess. What the face would
 * answer with a 400 is the same `InvalidInputError` (exit 3), its problems located in `file`. An
 * `anthropic-beta` value is held to the face's rule, and given with an OpenAI body it is a usage
 * error: only the Anthropic face reads that header.
 */
export function decodeGatewayRequest(bodyText: string, file: string, options: GatewayRequestOptions = {}): DecodedGatewayRequest {
  const betaOption = options.betaOption ?? '--anthropic-beta';
  const anthropicBeta = options.anthropicBeta === undefined ? undefined : anthropicBetaNames(options.anthropicBeta, betaOption);
  const formatOption = options.formatOption ?? FORMAT_FLAG;
  const chosen = options.family ?? detectRequestFamily(bodyText, file, formatOption);
  if (anthropicBeta !== undefined && chosen !== 'anthropic') {
    throw new UsageError(`${file}: ${betaOption} (the anthropic-beta header) applies to an Anthropic Messages request, and the body is ${FAMILY_NAMES[chosen]} request`, {
      hint: `drop ${betaOption}, or route an Anthropic Messages body (${formatOption('anthropic')})`,
    });
  }
  try {
    const { request, ignoredFields } = FAMILY_PARSERS[chosen](bodyText, file);
    if (chosen === 'anthropic' && anthropicBeta !== undefined && anthropicBeta.length > 0) request.anthropicBeta = anthropicBeta;
    return { family: chosen, request, ignoredFields };
  } catch (error) {
    throw error instanceof InvalidInputError ? inFile(error, file) : error;
  }
}

/** Each family's face parser: the request and the fields it would not interpret. */
const FAMILY_PARSERS: Record<RequestFamily, (bodyText: string, file: string) => { request: CanonicalRequest; ignoredFields: string[] }> = {
  openai: parseOpenAIChatRequest,
  anthropic: (bodyText) => parseAnthropicMessagesRequest(bodyText),
  'openai-completions': parseOpenAICompletionRequest,
  'openai-responses': (bodyText) => parseResponsesRequest(bodyText),
  'openai-embeddings': parseOpenAIEmbeddingsRequest,
  'ollama-chat': (bodyText, file) => routableOllamaRequest(parseOllamaChatRequest(bodyText), 'ollama-chat', file),
  'ollama-generate': (bodyText, file) => routableOllamaRequest(parseOllamaGenerateRequest(bodyText), 'ollama-generate', file),
};

/** An Ollama body without its payload (`messages`, `prompt`) loads or unloads a model, as in Ollama: nothing to route. */
function routableOllamaRequest(read: ParsedOllamaRequest | OllamaModelManagement, family: 'ollama-chat' | 'ollama-generate', file: string): ParsedOllamaRequest {
  if (!isOllamaModelManagement(read)) return read;
  const payload = family === 'ollama-chat' ? '`messages`' : '`prompt`';
  throw new UsageError(`${file}: the body has no ${payload}: Ollama reads it as a model ${read.action}, which routes nowhere`, {
    hint: `add the request's ${payload} to route it`,
  });
}

/** The beta names of an `anthropic-beta` value, as the Anthropic face reads its header; a malformed one is a usage error naming `option`. */
function anthropicBetaNames(value: string, option: string): string[] {
  const names = parseAnthropicBeta(value);
  if (names === undefined) throw new UsageError(`${option} ${ANTHROPIC_BETA_RULE}`, { hint: 'give the beta names as an Anthropic client sends them, e.g. context-1m-2025-08-07' });
  return names;
}

function detectRequestFamily(bodyText: string, file: string, formatOption: (family: RequestFamily) => string): RequestFamily {
  const body = tryParseJson(bodyText);
  if (!isRecord(body)) {
    const problem = body === undefined ? 'the body is not valid JSON' : 'the body must be a JSON object';
    throw new InvalidInputError(`${file}: invalid request: ${problem}`, [{ file, pointer: '', message: problem }], {
      hint: 'write the JSON body of a request the gateway takes (OpenAI chat or text completions, Anthropic Messages, Ollama /api/chat or /api/generate)',
    });
  }
  const markers = requestFamilyMarkers(body);
  const ollama = OLLAMA_ONLY_FIELDS.some((field) => field in body) && markers.openai.length === 0 && markers.anthropic.length === 0;
  // A prompt to continue and no conversation: what `POST /v1/completions` takes, or Ollama's `/api/generate`.
  if ('prompt' in body && !('messages' in body)) return ollama || 'system' in body ? 'ollama-generate' : 'openai-completions';
  if ('input' in body && !('messages' in body)) return inputFamily(body, file, formatOption);
  if (ollama) return 'ollama-chat';
  if (markers.openai.length > 0 && markers.anthropic.length === 0) return 'openai';
  if (markers.anthropic.length > 0 && markers.openai.length === 0) return 'anthropic';
  const found = (['openai', 'anthropic'] as const).filter((family) => markers[family].length > 0).map((family) => `${family} (${markers[family].slice(0, 3).join(', ')})`);
  throw new UsageError(
    found.length === 0
      ? `${file}: cannot tell whether the body is an OpenAI chat completions or an Anthropic Messages request: it has nothing only one of them has`
      : `${file}: the body has fields of both APIs: ${found.join(' and ')}`,
    { hint: `name the API with ${formatOption('openai')} or ${formatOption('anthropic')} (or ${formatOption('ollama-chat')} for an Ollama /api/chat body)` },
  );
}

/**
 * A body with an `input` and no `messages`: a Responses request or an embeddings one, told by the
 * fields only one has, or by its input (token ids are embedded; role or typed items are a
 * conversation); a plain text input with neither is a usage error asking for `--format`.
 */
function inputFamily(body: Record<string, unknown>, file: string, formatOption: (family: RequestFamily) => string): RequestFamily {
  const input = body['input'];
  const items = Array.isArray(input) ? input : [input];
  const responses = RESPONSES_ONLY_FIELDS.some((field) => field in body) || items.some((item) => isRecord(item));
  const embeddings = EMBEDDINGS_ONLY_FIELDS.some((field) => field in body) || items.some((item) => typeof item === 'number' || Array.isArray(item));
  if (responses && !embeddings) return 'openai-responses';
  if (embeddings && !responses) return 'openai-embeddings';
  throw new UsageError(`${file}: cannot tell whether the body is an OpenAI Responses or an embeddings request: ${responses ? 'it has fields of both' : 'it has nothing only one of them has'}`, {
    hint: `name the API with ${formatOption('openai-responses')} or ${formatOption('openai-embeddings')}`,
  });
}

/** The face's error, its problems located in `file` rather than the gateway's `request body`. */
function inFile(error: InvalidInputError, file: string): InvalidInputError {
  const problems = error.problems.map((problem) => (problem.file === REQUEST_BODY ? { ...problem, file } : problem));
  return new InvalidInputError(`${file}: ${error.message}`, problems, { ...(error.hint === undefined ? {} : { hint: error.hint }) });
}
