/**
 * An OpenAI chat completions request, as the embedded engine reads it: the shared OpenAI codec
 * parses the body, then this module refuses what llama.cpp cannot honour (a 400 naming the
 * field, as a real engine answers) and turns the rest into node-llama-cpp's chat history,
 * callable functions and sampling settings. Pure: no model, no I/O.
 */

import type { CanonicalMessage, CanonicalRequest, JsonObject, ToolDefinition } from '../../wire/canonical.js';
import { isRecord, parseArgumentsObject } from '../../wire/json.js';
import { parseOpenAIChatRequest } from '../../wire/openai/server.js';
import { optionalNumber, readJsonObject, RequestProblems } from '../../wire/request-reader.js';
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions } from '../node-llama-cpp.js';

const API = 'chat completions';

/**
 * Fields a client may send that change what is generated but the engine cannot honour: refused
 * with a 400 rather than silently ignored, so no caller believes it got what it asked for.
 */
export const REFUSED_FIELDS: Readonly<Record<string, string>> = {
  logit_bias: 'logit_bias is not supported by this engine',
  audio: 'audio output is not supported by this engine',
  modalities: 'only text output is supported by this engine',
  prediction: 'predicted outputs are not supported by this engine',
  web_search_options: 'web search is not supported by this engine',
  functions: 'the legacy `functions` field is not supported; send `tools`',
  function_call: 'the legacy `function_call` field is not supported; send `tool_choice`',
};

/**
 * Sampling defaults when the client sends none: llama-server's (`GET /props`
 * default_generation_settings), so the engine behaves like the llama.cpp server operators know.
 */
export const DEFAULT_SAMPLING = { temperature: 0.8, topP: 0.95, topK: 40, minP: 0.05 } as const;

/** Sampling and length settings for one generation. */
export interface SamplingSettings {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  /** Absent: a random seed, as llama-server does. */
  seed?: number;
  maxTokens?: number;
  stop: string[];
  frequencyPenalty?: number;
  presencePenalty?: number;
}

/** How the answer is constrained. */
export type OutputConstraint =
  | { kind: 'text' }
  /** `response_format: json_object`: any JSON value through node-llama-cpp's JSON grammar. */
  | { kind: 'json' }
  /** `response_format: json_schema`: a grammar built from the schema. */
  | { kind: 'json-schema'; schema: JsonObject }
  /** `tool_choice: auto` with tools: the chat wrapper's own function-calling syntax; the model decides. */
  | { kind: 'functions'; functions: ChatModelFunctions }
  /**
   * `tool_choice: required` or a named function: one call forced by a grammar over
   * `{"name": ..., "arguments": ...}` (node-llama-cpp has no forced function call of its own).
   * The grammar constrains only the shape, so the history also carries a system message that
   * defines the allowed tools (see `forcedCallInstructions`).
   */
  | { kind: 'forced-tool-call'; schema: JsonObject; tools: ToolDefinition[] };

/** A request ready for the engine. */
export interface EngineChatRequest {
  request: CanonicalRequest;
  history: ChatHistoryItem[];
  constraint: OutputConstraint;
  sampling: SamplingSettings;
  stream: boolean;
  includeUsage: boolean;
  /**
   * `logprobs: true`: the answer's token log-probabilities, each with its `top` likeliest
   * candidates (`top_logprobs`, default 0 as OpenAI's).
   */
  logprobs?: { top: number };
  /** Top-level fields neither interpreted nor refused (`user`, `metadata`, ...). */
  ignoredFields: string[];
}

/** Parses and checks a chat completions body; throws `InvalidInputError` (HTTP 400) naming each field at fault. */
export function readEngineChatRequest(bodyText: string): EngineChatRequest {
  const parsed = parseOpenAIChatRequest(bodyText);
  const body = readJsonObject(bodyText, API);
  const problems = new RequestProblems(API);

  for (const [field, reason] of Object.entries(REFUSED_FIELDS)) {
    const value = body[field];
    if (value === undefined || value === null || value === false) continue;
    problems.add(`/${field}`, reason, `remove \`${field}\` from the request`);
  }
  findImages(body['messages'], problems);

  const topK = optionalNumber(body, 'top_k', problems, { minimum: 0, integer: true });
  const minP = optionalNumber(body, 'min_p', problems, { minimum: 0, maximum: 1 });
  const frequencyPenalty = optionalNumber(body, 'frequency_penalty', problems, { minimum: -2, maximum: 2 });
  const presencePenalty = optionalNumber(body, 'presence_penalty', problems, { minimum: -2, maximum: 2 });

  const { request } = parsed;
  const constraint = outputConstraint(request, problems);
  const history = toChatHistory(request, problems, leadingSystemCount(body['messages']));
  problems.throwIfAny();
  if (constraint.kind === 'forced-tool-call') insertAfterSystemMessages(history, { type: 'system', text: forcedCallInstructions(constraint.tools) });

  const sampling: SamplingSettings = {
    temperature: request.temperature ?? DEFAULT_SAMPLING.temperature,
    topP: request.topP ?? DEFAULT_SAMPLING.topP,
    topK: topK ?? DEFAULT_SAMPLING.topK,
    minP: minP ?? DEFAULT_SAMPLING.minP,
    stop: (request.stop ?? []).filter((text) => text !== ''),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
    ...(frequencyPenalty === undefined || frequencyPenalty === 0 ? {} : { frequencyPenalty }),
    ...(presencePenalty === undefined || presencePenalty === 0 ? {} : { presencePenalty }),
  };
  const interpreted = new Set(['top_k', 'min_p', 'frequency_penalty', 'presence_penalty', ...Object.keys(REFUSED_FIELDS)]);
  return {
    request,
    history,
    constraint,
    sampling,
    stream: request.stream,
    includeUsage: parsed.includeUsage,
    ...(request.logprobs === undefined ? {} : { logprobs: { top: request.logprobs.top ?? 0 } }),
    // The shared reader takes `reasoning_effort` for the gateway; this engine has no reasoning to set.
    ignoredFields: [...parsed.ignoredFields.filter((field) => !interpreted.has(field)), ...(request.reasoningEffort === undefined ? [] : ['reasoning_effort'])].sort(),
  };
}

/** Image parts: the shared codec accepts them for the gateway, but a text-only GGUF cannot see them. */
function findImages(rawMessages: unknown, problems: RequestProblems): void {
  if (!Array.isArray(rawMessages)) return;
  rawMessages.forEach((message, messageIndex) => {
    if (!isRecord(message) || !Array.isArray(message['content'])) return;
    message['content'].forEach((part, partIndex) => {
      if (isRecord(part) && part['type'] === 'image_url') {
        problems.add(`/messages/${messageIndex}/content/${partIndex}/type`, 'image input is not supported: the loaded model is text-only', 'send text parts only');
      }
    });
  });
}

/** How many leading system/developer messages the codec folded into the system prompt (to point at the right raw message). */
function leadingSystemCount(rawMessages: unknown): number {
  if (!Array.isArray(rawMessages)) return 0;
  const first = rawMessages.findIndex((message) => !isRecord(message) || (message['role'] !== 'system' && message['role'] !== 'developer'));
  return first === -1 ? rawMessages.length : first;
}

function outputConstraint(request: CanonicalRequest, problems: RequestProblems): OutputConstraint {
  const tools = request.tools ?? [];
  const choice = request.toolChoice ?? 'auto';
  const format = request.responseFormat ?? { type: 'text' };
  tools.forEach((tool, index) => {
    if (tool.freeform === true) {
      problems.add(`/tools/${index}`, 'custom (freeform) tools are not supported by this engine', 'declare the tool as a function; the syndicate gateway serves custom tools to its clients by sending them to engines as functions');
    }
  });
  const usesTools = tools.length > 0 && choice !== 'none';
  if (usesTools && format.type !== 'text') {
    problems.add('/response_format', 'cannot be combined with tools: the engine constrains an answer either to JSON or to a tool call', 'send either `tools` or `response_format`');
    return { kind: 'text' };
  }
  if (tools.length === 0 && choice !== 'auto' && choice !== 'none') {
    problems.add('/tool_choice', 'asks for a tool call, but the request has no tools', 'send `tools`, or remove `tool_choice`');
    return { kind: 'text' };
  }
  if (usesTools) {
    if (choice === 'auto') {
      const functions: Record<string, { description?: string; params?: JsonObject }> = {};
      for (const tool of tools) functions[tool.name] = { ...(tool.description === undefined ? {} : { description: tool.description }), params: tool.inputSchema };
      return { kind: 'functions', functions };
    }
    const chosen = choice === 'required' ? tools : tools.filter((tool) => tool.name === choice.name);
    if (chosen.length === 0) {
      problems.add('/tool_choice/function/name', `names a function that is not among the tools (${tools.map((tool) => tool.name).join(', ')})`);
      return { kind: 'text' };
    }
    return { kind: 'forced-tool-call', schema: forcedCallSchema(chosen), tools: chosen };
  }
  if (format.type === 'json_object') return { kind: 'json' };
  if (format.type === 'json_schema') return { kind: 'json-schema', schema: format.schema };
  return { kind: 'text' };
}

/** The JSON Schema of one call to any of `tools`: `{"name": <const>, "arguments": <its parameters>}`. */
export function forcedCallSchema(tools: readonly ToolDefinition[]): JsonObject {
  const variants: JsonObject[] = tools.map((tool) => ({
    type: 'object',
    properties: { name: { const: tool.name }, arguments: tool.inputSchema },
    required: ['name', 'arguments'],
    additionalProperties: false,
  }));
  return variants.length === 1 ? (variants[0] as JsonObject) : { oneOf: variants };
}

/**
 * The system message a forced call is generated under: the allowed tools as the client sent them
 * (OpenAI's tool shape, as chat templates that render tools print them: name, description, JSON
 * Schema of the parameters) and the answer shape the grammar enforces. With `tool_choice: auto`
 * node-llama-cpp documents the functions itself (through the chat template's tool rendering or
 * its own system text); a forced call bypasses its function calling, so without this the model
 * would fill the arguments knowing nothing but their JSON shape.
 */
export function forcedCallInstructions(tools: readonly ToolDefinition[]): string {
  const definitions = tools.map((tool) =>
    JSON.stringify({ type: 'function', function: { name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), parameters: tool.inputSchema } }),
  );
  const which = tools.length === 1 ? 'the function below' : 'one of the functions below';
  return [
    `Answer with exactly one call to ${which}, written as a JSON object {"name": <the function's name>, "arguments": <an object matching its parameters>}, and nothing else.`,
    '',
    tools.length === 1 ? 'Function:' : 'Functions:',
    ...definitions,
  ].join('\n');
}

/** Inserts `item` after the history's leading system messages, where node-llama-cpp puts its own function documentation. */
function insertAfterSystemMessages(history: ChatHistoryItem[], item: ChatHistoryItem): void {
  const firstOther = history.findIndex((entry) => entry.type !== 'system');
  history.splice(firstOther === -1 ? history.length : firstOther, 0, item);
}

function textOf(message: CanonicalMessage): string {
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/**
 * The canonical conversation as node-llama-cpp's chat history: the system prompt first, user and
 * system turns as they are, an assistant turn's tool calls paired with the `tool` messages that
 * answer them (node-llama-cpp keeps a call and its result together), and an empty model turn
 * for the answer to generate.
 */
export function toChatHistory(request: CanonicalRequest, problems: RequestProblems, messageOffset = 0): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  if (request.system !== undefined && request.system !== '') history.push({ type: 'system', text: request.system });
  const pending = new Map<string, ChatModelFunctionCall>();
  request.messages.forEach((message, index) => {
    switch (message.role) {
      case 'system':
        history.push({ type: 'system', text: textOf(message) });
        break;
      case 'user':
        history.push({ type: 'user', text: textOf(message) });
        break;
      case 'assistant': {
        const response: (string | ChatModelFunctionCall)[] = [];
        const text = textOf(message);
        if (text !== '') response.push(text);
        for (const call of message.toolCalls ?? []) {
          const params = parseArgumentsObject(call.arguments);
          const functionCall: ChatModelFunctionCall = { type: 'functionCall', name: call.name, params: params ?? call.arguments, result: undefined };
          pending.set(call.id, functionCall);
          response.push(functionCall);
        }
        history.push({ type: 'model', response });
        break;
      }
      case 'tool': {
        const call = pending.get(message.toolCallId);
        if (call === undefined) {
          problems.add(`/messages/${index + messageOffset}/tool_call_id`, `answers no earlier assistant tool call (${JSON.stringify(message.toolCallId)})`, 'echo the id of a tool call from an earlier assistant message');
          return;
        }
        pending.delete(message.toolCallId);
        call.result = textOf(message);
        break;
      }
    }
  });
  history.push({ type: 'model', response: [] });
  return history;
}
