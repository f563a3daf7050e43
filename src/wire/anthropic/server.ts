/**
 * The gateway's Anthropic-compatible face: read a client's Messages API request into the
 * canonical model, and write canonical responses, stream parts and errors back as that
 * API's JSON and SSE events. Pure: the caller supplies ids.
 */

import {
  canonicalRequest,
  inTurnOrder,
  type CacheControl,
  type CanonicalMessage,
  type CanonicalRequest,
  type CanonicalResponse,
  type ContentPart,
  type FinishReason,
  type JsonObject,
  type ResponseFormat,
  type StreamPart,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
  type WireWarning,
} from '../canonical.js';
import { CLIENT_ERROR_STATUS, type ClientError, type ClientErrorKind } from '../client-errors.js';
import { isRecord, MAX_JSON_NESTING, parseArgumentsObject } from '../json.js';
import { optionalBoolean, optionalNumber, parseCacheControl, readJsonObject, RequestProblems, unknownFields, withCacheControl, checkToolChoice } from '../request-reader.js';
import { ANTHROPIC_OUTPUT_EFFORTS, type ReasoningEffort } from '../reasoning.js';
import { formatServerSentEvent } from '../sse.js';
import { mergeUsage, type RenderedBody } from '../server-common.js';
import type { AnthropicMessageResponse, AnthropicStopReason, AnthropicUsage } from './types.js';

const API = 'messages';

const KNOWN_FIELDS = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'tools',
  'tool_choice',
  'temperature',
  'top_p',
  'stop_sequences',
  'stream',
  'thinking',
  'output_config',
  'output_format',
]);

/** A client's Messages API request, read into the canonical model. */
export interface ParsedAnthropicMessagesRequest {
  /** `model` is kept exactly as the client sent it (an alias, `provider:model` or `auto`). */
  request: CanonicalRequest;
  /** Top-level fields the gateway does not interpret (`metadata`, `top_k`, ...), for the evidence. */
  ignoredFields: string[];
  /**
   * The client turned extended thinking on (`thinking.type` `enabled` or `adaptive`): reasoning an
   * engine returns apart from its answer is then sent as `thinking` blocks. The setting itself
   * reaches anthropic-wire providers only (`CanonicalRequest.thinking`).
   */
  thinking: boolean;
  /** The field the client's answer format came in: `output_config.format`, or its deprecated beta spelling `output_format`. */
  formatField: 'output_config.format' | 'output_format';
}

/**
 * Reads an Anthropic Messages request body; throws `InvalidInputError` naming each field at fault.
 * `countTokens`: the body of `POST /v1/messages/count_tokens`, which has no `max_tokens`.
 */
export function parseAnthropicMessagesRequest(bodyText: string, options: { countTokens?: boolean } = {}): ParsedAnthropicMessagesRequest {
  const body = readJsonObject(bodyText, API);
  const problems = new RequestProblems(API);

  const model = body['model'];
  if (typeof model !== 'string' || model === '') problems.add('/model', 'is required and must be a non-empty string', 'send a model id, `provider:model`, an alias or `auto`');
  const maxTokens = optionalNumber(body, 'max_tokens', problems, { minimum: 1, integer: true });
  if (body['max_tokens'] === undefined && options.countTokens !== true) problems.add('/max_tokens', 'is required by the Messages API', 'send max_tokens, e.g. 1024');

  const { text: system, cacheControl: systemCacheControl } = parseSystem(body['system'], problems);
  const messages: CanonicalMessage[] = [];
  const rawMessages = body['messages'];
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
    problems.add('/messages', 'is required and must be a non-empty array of messages');
  } else {
    rawMessages.forEach((raw, index) => messages.push(...parseMessage(raw, `/messages/${index}`, problems)));
  }
  const tools = parseTools(body['tools'], problems);
  const toolChoice = parseToolChoice(body['tool_choice'], problems);
  checkToolChoice(toolChoice, tools, problems, { pointer: '/tool_choice/name', noun: 'tool' });
  const parallelToolCalls = isRecord(body['tool_choice']) && body['tool_choice']['disable_parallel_tool_use'] === true ? false : undefined;
  // Like a server tool: tools the provider itself would call. Answered without them, the client
  // would wait for the mcp_tool_use blocks they bring.
  const mcpServers = body['mcp_servers'];
  if (Array.isArray(mcpServers) ? mcpServers.length > 0 : mcpServers !== undefined && mcpServers !== null) {
    problems.add('/mcp_servers', 'MCP servers are not supported through the gateway (the provider would connect to them and call their tools itself): connect to them in the client and declare their tools as client tools');
  }
  const temperature = optionalNumber(body, 'temperature', problems, { minimum: 0, maximum: 1 });
  const topP = optionalNumber(body, 'top_p', problems, { minimum: 0, maximum: 1 });
  const stream = optionalBoolean(body, 'stream', problems) ?? false;
  let stop: string[] | undefined;
  const rawStop = body['stop_sequences'];
  if (rawStop !== undefined && rawStop !== null) {
    if (Array.isArray(rawStop) && rawStop.every((item) => typeof item === 'string')) stop = rawStop as string[];
    else problems.add('/stop_sequences', 'must be an array of strings');
  }
  problems.throwIfAny();

  const request = canonicalRequest(model as string, messages, stream, {
    system: system === '' ? undefined : system,
    systemCacheControl: system === '' || system === undefined ? undefined : systemCacheControl,
    maxTokens,
    tools,
    toolChoice,
    parallelToolCalls,
    temperature,
    topP,
    stop: stop?.length === 0 ? undefined : stop,
    // Its answer says which one ended it (`stop_sequence`).
    stopSequenceWanted: stop === undefined || stop.length === 0 ? undefined : true,
    thinking: parseThinking(body['thinking'], problems),
    responseFormat: parseOutputFormat(body, problems),
    reasoningEffort: parseOutputEffort(body['output_config'], problems),
  });
  problems.throwIfAny();
  const thinking = request.thinking?.['type'] === 'enabled' || request.thinking?.['type'] === 'adaptive';
  const outputConfig = body['output_config'];
  const ignoredSettings = isRecord(outputConfig) ? Object.keys(outputConfig).filter((key) => key !== 'format' && key !== 'effort').map((key) => `output_config.${key}`) : [];
  const formatField = body['output_format'] === undefined || body['output_format'] === null ? 'output_config.format' : 'output_format';
  return { request, ignoredFields: [...unknownFields(body, KNOWN_FIELDS), ...ignoredSettings].sort(), thinking, formatField };
}

/**
 * The client's structured-output format: `output_config.format` (the GA form), or `output_format`,
 * its deprecated beta spelling (with the `structured-outputs-2025-11-13` beta), still accepted by
 * the API and sent by older SDKs (platform.claude.com/docs/en/build-with-claude/structured-outputs:
 * "The output_format parameter has moved to output_config.format, and beta headers are no longer
 * required. The old beta header (structured-outputs-2025-11-13) and output_format parameter will
 * continue working for a transition period"). Either is `{type: "json_schema", schema}`.
 */
function parseOutputFormat(body: Record<string, unknown>, problems: RequestProblems): ResponseFormat | undefined {
  const config = body['output_config'];
  if (config !== undefined && config !== null && !isRecord(config)) {
    problems.add('/output_config', 'must be an object');
    return undefined;
  }
  const configured = isRecord(config) ? config['format'] : undefined;
  const beta = body['output_format'];
  const given = (value: unknown): boolean => value !== undefined && value !== null;
  if (given(configured) && given(beta)) {
    problems.add('/output_format', 'cannot be sent with output_config.format', 'send the format once, in output_config.format (output_format is its deprecated beta spelling)');
    return undefined;
  }
  const [format, pointer] = given(configured) ? [configured, '/output_config/format'] : [beta, '/output_format'];
  if (!given(format)) return undefined;
  if (!isRecord(format) || format['type'] !== 'json_schema') {
    problems.add(`${pointer}/type`, 'must be "json_schema"');
    return undefined;
  }
  if (!isRecord(format['schema'])) {
    problems.add(`${pointer}/schema`, 'is required and must be a JSON Schema object');
    return undefined;
  }
  return { type: 'json_schema', schema: format['schema'] as JsonObject, enforced: true };
}

/** The client's `output_config.effort` (absent or null when not given); a level the Messages API lacks is a problem, as it answers one with a 400. */
function parseOutputEffort(config: unknown, problems: RequestProblems): CanonicalRequest['reasoningEffort'] {
  const effort = isRecord(config) ? config['effort'] : undefined;
  if (effort === undefined || effort === null) return undefined;
  if (typeof effort === 'string' && ANTHROPIC_OUTPUT_EFFORTS.includes(effort as ReasoningEffort)) return { effort: effort as ReasoningEffort, field: 'output_config.effort' };
  problems.add('/output_config/effort', `must be one of ${ANTHROPIC_OUTPUT_EFFORTS.map((level) => `"${level}"`).join(', ')}`);
  return undefined;
}

/** At most this many characters in an `anthropic-beta` header, and in one beta name. */
export const ANTHROPIC_BETA_LIMITS = { header: 1024, name: 64 } as const;

const BETA_NAME = /^[A-Za-z0-9._-]+$/;

/** What a well-formed `anthropic-beta` value is, as a refusal of one says it (`parseAnthropicBeta`). */
export const ANTHROPIC_BETA_RULE = `must be a comma-separated list of beta names (letters, digits, \`.\`, \`_\`, \`-\`; at most ${ANTHROPIC_BETA_LIMITS.name} characters each, ${ANTHROPIC_BETA_LIMITS.header} in all)`;

/**
 * The beta names of an `anthropic-beta` header value (`a,b`; repeated headers arrive joined by
 * `, `), in order; empty list elements are skipped, as HTTP lists allow. Undefined when the value
 * is malformed: too long, or a name with characters other than letters, digits, `.`, `_`, `-`.
 * The names reach an anthropic-wire provider as given, so nothing else may ride along.
 */
export function parseAnthropicBeta(value: string): string[] | undefined {
  if (value.length > ANTHROPIC_BETA_LIMITS.header) return undefined;
  const names: string[] = [];
  for (const element of value.split(',')) {
    const name = element.trim();
    if (name === '') continue;
    if (name.length > ANTHROPIC_BETA_LIMITS.name || !BETA_NAME.test(name)) return undefined;
    names.push(name);
  }
  return names;
}

/**
 * The extended-thinking setting, rebuilt from the fields the Messages API defines (`type`,
 * `budget_tokens`): it is sent to a provider without being classified, so nothing else rides along.
 */
function parseThinking(raw: unknown, problems: RequestProblems): JsonObject | undefined {
  if (raw === undefined || raw === null) return undefined;
  const type = isRecord(raw) ? raw['type'] : undefined;
  if (type !== 'enabled' && type !== 'disabled' && type !== 'adaptive') {
    problems.add('/thinking/type', 'must be "enabled", "disabled" or "adaptive"');
    return undefined;
  }
  const budget = (raw as Record<string, unknown>)['budget_tokens'];
  if (budget !== undefined && (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1)) {
    problems.add('/thinking/budget_tokens', 'must be a positive integer');
    return undefined;
  }
  return budget === undefined ? { type } : { type, budget_tokens: budget };
}

/**
 * The system prompt as one text; its blocks are joined, so a cache breakpoint on any of them
 * becomes one at the end of the whole system prompt (a longer cached prefix, never a wrong one).
 */
function parseSystem(raw: unknown, problems: RequestProblems): { text?: string; cacheControl?: CacheControl } {
  if (raw === undefined || raw === null) return {};
  if (typeof raw === 'string') return { text: raw };
  if (Array.isArray(raw)) {
    const texts: string[] = [];
    let cacheControl: CacheControl | undefined;
    raw.forEach((block, index) => {
      if (isRecord(block) && block['type'] === 'text' && typeof block['text'] === 'string') {
        texts.push(block['text']);
        cacheControl = parseCacheControl(block, `/system/${index}`, problems) ?? cacheControl;
      } else problems.add(`/system/${index}`, 'must be a text block {type: "text", text}');
    });
    return { text: texts.join('\n\n'), ...(cacheControl === undefined ? {} : { cacheControl }) };
  }
  problems.add('/system', 'must be a string or an array of text blocks');
  return {};
}

/** One Anthropic message → canonical messages: a user turn's `tool_result` blocks become `tool` messages first. */
function parseMessage(raw: unknown, pointer: string, problems: RequestProblems): CanonicalMessage[] {
  if (!isRecord(raw)) {
    problems.add(pointer, 'must be an object with role and content');
    return [];
  }
  const role = raw['role'];
  if (role !== 'user' && role !== 'assistant') {
    problems.add(`${pointer}/role`, `must be "user" or "assistant" (got ${JSON.stringify(role)})`, 'put the system prompt in the top-level `system` field');
    return [];
  }
  const content = raw['content'];
  if (typeof content === 'string') return [{ role, content: [{ type: 'text', text: content }] }];
  if (!Array.isArray(content)) {
    problems.add(`${pointer}/content`, 'must be a string or an array of content blocks');
    return [];
  }

  const parts: ContentPart[] = [];
  const toolCalls: ToolCall[] = [];
  /** How many parts came before each tool call (see `ToolCall.position`). */
  const positions: number[] = [];
  const toolResults: CanonicalMessage[] = [];
  content.forEach((block, index) => {
    const blockPointer = `${pointer}/content/${index}`;
    if (!isRecord(block)) {
      problems.add(blockPointer, 'must be a content block object');
      return;
    }
    const type = block['type'];
    if (type === 'text') {
      if (typeof block['text'] !== 'string') problems.add(`${blockPointer}/text`, 'must be a string');
      else parts.push(withCacheControl({ type: 'text', text: block['text'] }, block, blockPointer, problems));
    } else if (type === 'image') {
      const image = parseImage(block['source'], `${blockPointer}/source`, problems);
      if (image !== undefined) parts.push(withCacheControl(image, block, blockPointer, problems));
    } else if (type === 'tool_use' && role === 'assistant') {
      const id = block['id'];
      const name = block['name'];
      if (typeof id !== 'string' || id === '') problems.add(`${blockPointer}/id`, 'is required');
      if (typeof name !== 'string' || name === '') problems.add(`${blockPointer}/name`, 'is required');
      if (block['input'] !== undefined && !isRecord(block['input'])) problems.add(`${blockPointer}/input`, 'must be an object');
      if (typeof id === 'string' && typeof name === 'string') {
        toolCalls.push({ id, name, arguments: JSON.stringify(isRecord(block['input']) ? block['input'] : {}) });
        positions.push(parts.length);
      }
    } else if (type === 'tool_result' && role === 'user') {
      const result = parseToolResult(block, blockPointer, problems);
      if (result !== undefined) toolResults.push(result);
    } else if (type === 'thinking' && role === 'assistant') {
      // Earlier reasoning the client replays, with the provider's signature: an anthropic-wire
      // provider checks it when thinking continues through a tool call; other wires drop it.
      if (typeof block['thinking'] === 'string') {
        parts.push({ type: 'reasoning', text: block['thinking'], ...(typeof block['signature'] === 'string' ? { signature: block['signature'] } : {}) });
      }
    } else if (type === 'redacted_thinking' && role === 'assistant') {
      // Reasoning the provider encrypted, replayed in its place: an anthropic-wire provider
      // refuses the turn without it; other wires drop it. Scanned like any string the client sends.
      if (typeof block['data'] !== 'string' || block['data'] === '') problems.add(`${blockPointer}/data`, 'must be a non-empty string', 'send the redacted_thinking block back exactly as the answer gave it');
      else parts.push({ type: 'redacted-reasoning', data: block['data'] });
    } else {
      problems.add(`${blockPointer}/type`, `content block type ${JSON.stringify(type)} is not supported in ${role} messages`);
    }
  });

  if (role === 'user') {
    return [...toolResults, ...(parts.length === 0 ? [] : [{ role: 'user' as const, content: parts }])];
  }
  // A part after a tool call (interleaved thinking): the provider checks the replayed order, so it is kept.
  if (positions.some((position) => position < parts.length)) {
    toolCalls.forEach((call, index) => {
      call.position = positions[index] as number;
    });
  }
  return [{ role: 'assistant', content: parts, ...(toolCalls.length === 0 ? {} : { toolCalls }) }];
}

function parseImage(raw: unknown, pointer: string, problems: RequestProblems): ContentPart | undefined {
  if (isRecord(raw) && raw['type'] === 'base64' && typeof raw['media_type'] === 'string' && typeof raw['data'] === 'string') {
    return { type: 'image', mediaType: raw['media_type'], data: raw['data'] };
  }
  if (isRecord(raw) && raw['type'] === 'url' && typeof raw['url'] === 'string') return { type: 'image', url: raw['url'] };
  problems.add(pointer, 'must be {type: "base64", media_type, data} or {type: "url", url}');
  return undefined;
}

function parseToolResult(block: Record<string, unknown>, pointer: string, problems: RequestProblems): CanonicalMessage | undefined {
  const toolUseId = block['tool_use_id'];
  if (typeof toolUseId !== 'string' || toolUseId === '') {
    problems.add(`${pointer}/tool_use_id`, 'is required', 'echo the id of the tool_use block this result answers');
    return undefined;
  }
  const raw = block['content'];
  const content: ContentPart[] = [];
  if (typeof raw === 'string') content.push({ type: 'text', text: raw });
  else if (Array.isArray(raw)) {
    raw.forEach((item, index) => {
      if (isRecord(item) && item['type'] === 'text' && typeof item['text'] === 'string') content.push({ type: 'text', text: item['text'] });
      else if (isRecord(item) && item['type'] === 'image') {
        const image = parseImage(item['source'], `${pointer}/content/${index}/source`, problems);
        if (image !== undefined) content.push(image);
      } else problems.add(`${pointer}/content/${index}`, 'must be a text or image block');
    });
  } else if (raw !== undefined && raw !== null) {
    problems.add(`${pointer}/content`, 'must be a string or an array of text and image blocks');
  }
  const cacheControl = parseCacheControl(block, pointer, problems);
  return {
    role: 'tool',
    toolCallId: toolUseId,
    content,
    ...(block['is_error'] === true ? { isError: true } : {}),
    ...(cacheControl === undefined ? {} : { cacheControl }),
  };
}

function parseTools(raw: unknown, problems: RequestProblems): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    problems.add('/tools', 'must be an array of tools');
    return undefined;
  }
  const tools: ToolDefinition[] = [];
  raw.forEach((tool, index) => {
    const definition = readAnthropicTool(tool, `/tools/${index}`, problems);
    if (definition !== undefined) tools.push(definition);
  });
  return tools;
}

/** One client tool as the Messages API declares it, `{name, description?, input_schema}`; a server tool (`type`) is a problem. */
export function readAnthropicTool(tool: unknown, pointer: string, problems: RequestProblems): ToolDefinition | undefined {
  if (!isRecord(tool)) {
    problems.add(pointer, 'must be {name, description?, input_schema}');
    return undefined;
  }
  if (tool['type'] !== undefined && tool['type'] !== 'custom') {
    problems.add(`${pointer}/type`, `server tool ${JSON.stringify(tool['type'])} is not supported through the gateway`, 'declare client tools with name and input_schema');
    return undefined;
  }
  const name = tool['name'];
  const schema = tool['input_schema'];
  if (typeof name !== 'string' || name === '') problems.add(`${pointer}/name`, 'is required');
  if (!isRecord(schema)) problems.add(`${pointer}/input_schema`, 'is required and must be a JSON Schema object');
  if (typeof name !== 'string' || name === '' || !isRecord(schema)) return undefined;
  const cacheControl = parseCacheControl(tool, pointer, problems);
  return {
    name,
    ...(typeof tool['description'] === 'string' ? { description: tool['description'] } : {}),
    inputSchema: schema as JsonObject,
    ...(typeof tool['strict'] === 'boolean' ? { strict: tool['strict'] } : {}),
    ...(cacheControl === undefined ? {} : { cacheControl }),
  };
}

function parseToolChoice(raw: unknown, problems: RequestProblems): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (isRecord(raw)) {
    if (raw['type'] === 'auto') return 'auto';
    if (raw['type'] === 'any') return 'required';
    if (raw['type'] === 'none') return 'none';
    if (raw['type'] === 'tool' && typeof raw['name'] === 'string' && raw['name'] !== '') return { name: raw['name'] };
  }
  problems.add('/tool_choice', 'must be {type: "auto"}, {type: "any"}, {type: "none"} or {type: "tool", name}');
  return undefined;
}

interface AnthropicStop {
  stop_reason: AnthropicStopReason;
  stop_sequence: string | null;
}

/**
 * The Anthropic stop reason and stop sequence for a canonical finish; `error` and `other` read as
 * `end_turn`. A stop sequence the upstream named (Anthropic's own, vLLM's `stop_reason`) is
 * `stop_sequence` with that sequence, as the Messages API answers; an OpenAI-wire `stop` that does
 * not say which ended it stays `end_turn` — unless the answer holds tool calls (`withToolUse`):
 * then it is `tool_use`, as the Messages API ends every turn that calls a tool and agents loop on
 * it. OpenAI-wire servers answer a forced tool choice with `stop` (OpenAI's API, and vLLM for
 * `required` or a named function: only an `auto` choice gets `tool_calls`). An answer that is a
 * refusal (`refused`: OpenAI's `refusal`, which ends with `stop`) is `refusal`, the Messages API's
 * own stop reason for it.
 */
function toAnthropicStop(finish: { finishReason: FinishReason; rawFinishReason: string | null; stopSequence?: string }, withToolUse: boolean, refused = false): AnthropicStop {
  if (refused) return { stop_reason: 'refusal', stop_sequence: null };
  const reason = toAnthropicStopReason(finish.finishReason, finish.rawFinishReason, finish.stopSequence);
  if (reason === 'end_turn' && withToolUse) return { stop_reason: 'tool_use', stop_sequence: null };
  return { stop_reason: reason, stop_sequence: reason === 'stop_sequence' ? (finish.stopSequence ?? null) : null };
}

function toAnthropicStopReason(reason: FinishReason, rawFinishReason: string | null, stopSequence: string | undefined): AnthropicStopReason {
  switch (reason) {
    case 'stop':
      return rawFinishReason === 'stop_sequence' || stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Anthropic usage for canonical usage. The gateway gives it the local count when the engine
 * reported none; a count still unknown (the tokenizer could not be loaded) is sent as 0, since
 * Anthropic clients require the fields: the evidence, not this body, says it was unknown.
 */
function toAnthropicUsage(usage: Partial<Usage> | undefined): AnthropicUsage {
  const cached = usage?.cachedInputTokens ?? 0;
  const written = usage?.cacheWriteInputTokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.inputTokens ?? 0) - cached - written),
    output_tokens: usage?.outputTokens ?? 0,
    ...(usage?.cacheWriteInputTokens === undefined ? {} : { cache_creation_input_tokens: written }),
    ...(usage?.cachedInputTokens === undefined ? {} : { cache_read_input_tokens: cached }),
  };
}

export interface AnthropicRenderOptions {
  /** Overrides the message id (default: the upstream's id). */
  id?: string;
  /** Overrides the model reported to the client (default: the upstream's model). */
  model?: string;
  /** Send the model's reasoning as a `thinking` block (the client enabled thinking). */
  thinking?: boolean;
}

/** A canonical response as an Anthropic `message` body. */
export function renderAnthropicMessageResponse(response: CanonicalResponse, options: AnthropicRenderOptions = {}): RenderedBody {
  const warnings: WireWarning[] = [];
  const content: AnthropicMessageResponse['content'] = [];
  const toolUse = (call: ToolCall, index: number): void => {
    let input = parseArgumentsObject(call.arguments);
    if (input === undefined) {
      warnings.push({
        setting: `toolCalls[${index}].arguments`,
        message: `the model produced tool-call arguments that are not a JSON object (or nest more than ${MAX_JSON_NESTING} levels deep); the client received an empty input`,
      });
      input = {};
    }
    content.push({ type: 'tool_use', id: call.id, name: call.name, input });
  };
  if (response.parts !== undefined) {
    // Several thinking blocks (interleaved thinking) or a redacted one: each in its place, with its own signature.
    for (const item of inTurnOrder(response.parts, response.toolCalls)) {
      if (item.call !== undefined) toolUse(item.call, item.index);
      else if (item.part.type === 'text') content.push({ type: 'text', text: item.part.text });
      else if (options.thinking !== true) continue;
      else if (item.part.type === 'redacted-reasoning') content.push({ type: 'redacted_thinking', data: item.part.data });
      else content.push({ type: 'thinking', thinking: item.part.text, signature: item.part.signature ?? '' });
    }
  } else {
    if (options.thinking === true && response.reasoning !== undefined) content.push({ type: 'thinking', thinking: response.reasoning, signature: response.reasoningSignature ?? '' });
    if (response.text !== '') content.push({ type: 'text', text: response.text });
    response.toolCalls.forEach(toolUse);
  }
  // The Messages API has no refusal field: the refusal is the answer's text (its stop reason says what it is).
  if (response.refusal !== undefined) content.push({ type: 'text', text: response.refusal });
  const body: AnthropicMessageResponse = {
    id: options.id ?? response.id,
    type: 'message',
    role: 'assistant',
    model: options.model ?? response.model,
    content,
    ...toAnthropicStop(response, response.toolCalls.length > 0, response.refusal !== undefined),
    usage: toAnthropicUsage(response.usage),
  };
  return { body: JSON.stringify(body), warnings };
}

export interface AnthropicStreamEncoderOptions {
  id: string;
  model: string;
  /** Send reasoning deltas as a `thinking` block (the client enabled thinking); dropped otherwise. */
  thinking?: boolean;
}

/** `signed`: a thinking block whose signature was written, which ends it. */
type OpenBlock = { kind: 'text' | 'thinking' | 'tool'; blockIndex: number; signed?: boolean };

/** The stream parts that belong to a content block. */
type BlockPart = Extract<StreamPart, { type: 'text-delta' | 'reasoning-delta' | 'reasoning-signature' | 'redacted-reasoning' | 'tool-call-delta' }>;

/**
 * Turns canonical stream parts into Anthropic SSE events: `message_start`, then
 * `content_block_start` / `content_block_delta` / `content_block_stop` for each text and
 * `tool_use` block, `message_delta` (stop reason, cumulative usage) and `message_stop`.
 * After an error it writes one `event: error` and never `message_stop`.
 *
 * Anthropic's blocks are strictly sequential (deltas only for the open block, none after its
 * stop), but an OpenAI-wire engine may interleave the argument deltas of parallel tool calls and
 * nothing on that wire says a call is complete before the stream ends. So once a tool_use block
 * is open it stays open, and parts of any other block are held back until the stream ends, then
 * written block by block (as `ResponsesStreamEncoder` does for its items).
 */
export class AnthropicStreamEncoder {
  private started = false;
  private isClosed = false;
  private openBlock: OpenBlock | undefined;
  private nextBlockIndex = 0;
  private readonly toolBlocks = new Map<number, number>();
  /** Block parts that came while a tool_use block was open, written once the stream ends. */
  private held: BlockPart[] = [];
  private readonly usage: Partial<Usage> = {};
  /** The upstream's finish, made a stop reason when the stream ends (when its tool calls are all known). */
  private finish: Extract<StreamPart, { type: 'finish' }> | undefined;
  /** A refusal was streamed (as text): the stop reason is `refusal`, whatever the finish said. */
  private refused = false;

  constructor(private readonly options: AnthropicStreamEncoderOptions) {}

  /** True once `message_stop` or an error event was written; later parts are ignored. */
  get closed(): boolean {
    return this.isClosed;
  }

  encode(part: StreamPart): string {
    return this.encodeAll([part]);
  }

  /**
   * Encodes the parts decoded from one upstream event together, so `message_start` can
   * carry the input tokens an Anthropic upstream reports in that same event.
   */
  encodeAll(parts: readonly StreamPart[]): string {
    if (this.isClosed) return '';
    for (const part of parts) {
      if (part.type === 'usage') mergeUsage(this.usage, part.usage);
    }
    // A stream that fails before anything was said gets only the error event.
    let output = parts.some((part) => part.type !== 'error') ? this.start() : '';
    for (const part of parts) {
      if (this.isClosed) break;
      switch (part.type) {
        case 'response-metadata':
        case 'usage':
          break;
        case 'text-delta':
        case 'reasoning-delta':
        case 'reasoning-signature':
        case 'redacted-reasoning':
        case 'tool-call-delta':
          output += this.blockPart(part);
          break;
        case 'refusal-delta':
          this.refused = true;
          output += this.blockPart({ type: 'text-delta', text: part.text });
          break;
        case 'finish':
          this.finish = part;
          break;
        case 'stream-end':
          output += this.writeHeld();
          output += this.closeBlock();
          output += this.event('message_delta', {
            delta:
              this.finish === undefined && !this.refused
                ? { stop_reason: 'end_turn', stop_sequence: null }
                : toAnthropicStop(this.finish ?? { finishReason: 'stop', rawFinishReason: null }, this.toolBlocks.size > 0, this.refused),
            usage: toAnthropicUsage(this.usage),
          });
          output += this.event('message_stop', {});
          this.isClosed = true;
          break;
        case 'error':
          output += this.fail({ kind: upstreamErrorKind(part.errorType), message: part.message });
          break;
      }
    }
    return output;
  }

  /** The event that ends a stream that broke after bytes were sent: `event: error`, never `message_stop`. */
  fail(error: ClientError): string {
    if (this.isClosed) return '';
    this.isClosed = true;
    this.held = [];
    return formatServerSentEvent({ event: 'error', data: JSON.stringify(anthropicErrorBody(error)) });
  }

  /** Writes a part into its block, or holds it back while another block's tool call is open. */
  private blockPart(part: BlockPart): string {
    if ((part.type === 'reasoning-delta' || part.type === 'reasoning-signature' || part.type === 'redacted-reasoning') && this.options.thinking !== true) return '';
    const open = this.openBlock;
    const forOpenTool = part.type === 'tool-call-delta' && open?.kind === 'tool' && this.toolBlocks.get(part.index) === open.blockIndex;
    if (!forOpenTool && (this.held.length > 0 || open?.kind === 'tool')) {
      this.held.push(part);
      return '';
    }
    switch (part.type) {
      case 'text-delta':
        return (open?.kind === 'text' ? '' : this.openNewBlock('text', { type: 'text', text: '' })) + this.delta({ type: 'text_delta', text: part.text });
      case 'reasoning-delta':
        return this.openThinkingBlock() + this.delta({ type: 'thinking_delta', thinking: part.text });
      case 'reasoning-signature': {
        // A signature ends its block (interleaved thinking sends several); one alone is a block with no text shown.
        const output = this.openThinkingBlock() + this.delta({ type: 'signature_delta', signature: part.signature });
        (this.openBlock as OpenBlock).signed = true;
        return output;
      }
      case 'redacted-reasoning': {
        // A whole block in its start event, as Anthropic streams it: nothing follows but its stop.
        const output = this.openNewBlock('thinking', { type: 'redacted_thinking', data: part.data });
        return output + this.closeBlock();
      }
      case 'tool-call-delta': {
        // Only a new call or the open one gets here: the others were held back above.
        let output = '';
        if (!forOpenTool) {
          output += this.closeBlock();
          const blockIndex = this.nextBlockIndex++;
          this.toolBlocks.set(part.index, blockIndex);
          this.openBlock = { kind: 'tool', blockIndex };
          output += this.event('content_block_start', {
            index: blockIndex,
            content_block: { type: 'tool_use', id: part.id ?? `toolu_${blockIndex}`, name: part.name ?? '', input: {} },
          });
        }
        return part.argumentsDelta === '' ? output : output + this.delta({ type: 'input_json_delta', partial_json: part.argumentsDelta });
      }
    }
  }

  /**
   * The parts held back behind tool calls, block by block: each pass closes the open block and
   * writes the held parts again, which opens the next block and holds back the rest once more.
   */
  private writeHeld(): string {
    let output = '';
    while (this.held.length > 0) {
      output += this.closeBlock();
      const pending = this.held;
      this.held = [];
      for (const part of pending) output += this.blockPart(part);
    }
    return output;
  }

  /** Opens a thinking block unless one still unsigned is open. */
  private openThinkingBlock(): string {
    if (this.openBlock?.kind === 'thinking' && this.openBlock.signed !== true) return '';
    return this.openNewBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
  }

  /** Closes the open block, if any, and opens a text or thinking block. */
  private openNewBlock(kind: 'text' | 'thinking', contentBlock: Record<string, unknown>): string {
    const output = this.closeBlock();
    const blockIndex = this.nextBlockIndex++;
    this.openBlock = { kind, blockIndex };
    return output + this.event('content_block_start', { index: blockIndex, content_block: contentBlock });
  }

  /** A delta for the open block. */
  private delta(delta: Record<string, unknown>): string {
    return this.event('content_block_delta', { index: this.openBlock?.blockIndex, delta });
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    return this.event('message_start', {
      message: {
        id: this.options.id,
        type: 'message',
        role: 'assistant',
        model: this.options.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...toAnthropicUsage({ ...this.usage, outputTokens: 0 }) },
      },
    });
  }

  private closeBlock(): string {
    if (this.openBlock === undefined) return '';
    const { blockIndex } = this.openBlock;
    this.openBlock = undefined;
    return this.event('content_block_stop', { index: blockIndex });
  }

  private event(type: string, payload: Record<string, unknown>): string {
    return formatServerSentEvent({ event: type, data: JSON.stringify({ type, ...payload }) });
  }
}

/** Keeps the meaning of an upstream's in-stream error type (Anthropic's or OpenAI's spelling) for the client. */
function upstreamErrorKind(errorType: string | undefined): ClientErrorKind {
  switch (errorType) {
    case 'overloaded_error':
      return 'unavailable';
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
      return 'rate_limit';
    case 'timeout_error':
      return 'timeout';
    default:
      return 'upstream';
  }
}

const ANTHROPIC_ERROR_TYPES: Record<ClientErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  internal: 'api_error',
  upstream: 'api_error',
  unavailable: 'overloaded_error',
  timeout: 'timeout_error',
};

/**
 * The words the Messages API starts a prompt over the window with (`prompt is too long: 210118
 * tokens > 200000 maximum`): Anthropic clients compact the conversation on them (Claude Code).
 */
const PROMPT_TOO_LONG = 'prompt is too long';

/**
 * The Anthropic error envelope: `{type: "error", error: {type, message}}`. The only place it is built.
 * A `context_length_exceeded` an engine gave in its own words still starts as the Messages API's.
 */
export function anthropicErrorBody(error: ClientError): { type: 'error'; error: { type: string; message: string } } {
  const message = error.code === 'context_length_exceeded' && !error.message.startsWith(PROMPT_TOO_LONG) ? `${PROMPT_TOO_LONG}: ${error.message}` : error.message;
  return { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[error.kind], message } };
}

/** An error response for an Anthropic client: HTTP status and exact body bytes. */
export function renderAnthropicError(error: ClientError): { status: number; body: string } {
  return { status: CLIENT_ERROR_STATUS[error.kind], body: JSON.stringify(anthropicErrorBody(error)) };
}
