/**
 * The gateway's face for OpenAI's Responses API (`POST /v1/responses`, what Codex CLI and
 * `client.responses.create` speak): read a request into the canonical model, write a canonical
 * answer back as a `response` object or as the API's typed SSE events. Stateless: the gateway
 * keeps no conversation, so `previous_response_id`, `conversation` and stored `prompt` templates
 * are refused and the whole conversation comes as `input`. Pure: the caller supplies ids and clocks.
 */

import {
  canonicalRequest,
  type CanonicalMessage,
  type CanonicalRequest,
  type CanonicalResponse,
  type ContentPart,
  type FinishReason,
  type JsonObject,
  type LogprobsRequest,
  type ResponseFormat,
  type StreamPart,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
  TEMPERATURE_RANGE,
} from '../canonical.js';
import type { ClientError } from '../client-errors.js';
import { argumentsToText, isRecord } from '../json.js';
import { imageFromUrl, optionalBoolean, optionalNumber, readContentParts, readImageDetail, readJsonObject, readReasoningEffort, RequestProblems, unknownFields, checkToolChoice } from '../request-reader.js';
import type { ReasoningEffort } from '../reasoning.js';
import { mergeUsage, streamErrorOf } from '../server-common.js';
import { formatServerSentEvent } from '../sse.js';
import { answerTokenLogprobs } from '../token-logprobs.js';
import { customCallArguments, freeformInput, freeformToolNames, readCustomTool } from './custom-tools.js';
import { MAXIMUM_TOP_LOGPROBS, readFunctionTool, readJsonSchemaFormat } from './server.js';
import type {
  ResponsesLogprob,
  ResponsesMessageItem,
  ResponsesOutputRefusal,
  ResponsesOutputText,
  ResponsesObject,
  ResponsesOutputItem,
  ResponsesReasoningItem,
  ResponsesStatus,
  ResponsesTextFormat,
  ResponsesToolChoice,
  ResponsesToolEcho,
  ResponsesUsage,
} from './responses-types.js';

const API = 'responses';

const KNOWN_FIELDS = new Set([
  'model',
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'text',
  'temperature',
  'top_p',
  'max_output_tokens',
  'stream',
  'store',
  'previous_response_id',
  'conversation',
  'prompt',
  'reasoning',
  'include',
  'top_logprobs',
]);

/** The `include` value that asks for the log-probabilities of the answer's tokens. */
const LOGPROBS_INCLUDE = 'message.output_text.logprobs';

/** A client's Responses API request, read into the canonical model. */
export interface ParsedResponsesRequest {
  /** `model` is kept exactly as the client sent it (an alias, `provider:model` or `auto`). */
  request: CanonicalRequest;
  /** Request fields and input items the gateway does not interpret (`reasoning`, `input.reasoning`, ...). */
  ignoredFields: string[];
}

/**
 * Reads a Responses API request body; throws `InvalidInputError` naming each field at fault.
 * `countTokens`: the body of `POST /v1/responses/input_tokens`, where `model` is optional.
 */
export function parseResponsesRequest(bodyText: string, options: { countTokens?: boolean } = {}): ParsedResponsesRequest {
  const body = readJsonObject(bodyText, API);
  const problems = new RequestProblems(API);
  const ignored = unknownFields(body, KNOWN_FIELDS);

  const model = body['model'] ?? (options.countTokens === true ? 'auto' : undefined);
  if (typeof model !== 'string' || model === '') problems.add('/model', 'is required and must be a non-empty string', 'send a model id, `provider:model`, an alias or `auto`');
  const previous = body['previous_response_id'];
  if (previous !== undefined && previous !== null) {
    problems.add('/previous_response_id', 'is not supported: the gateway keeps no responses to continue from', 'send the whole conversation as `input`');
  }
  // Both stand for input kept at OpenAI (a conversation's items, a stored prompt's instructions):
  // answering without them would be a different request, so they are refused, not ignored.
  const conversation = body['conversation'];
  if (conversation !== undefined && conversation !== null) {
    problems.add('/conversation', 'is not supported: the gateway keeps no conversations to add to', 'send the whole conversation as `input`');
  }
  const prompt = body['prompt'];
  if (prompt !== undefined && prompt !== null) {
    problems.add('/prompt', 'is not supported: prompt templates are stored at OpenAI, out of the gateway\'s reach', 'send the prompt\'s text as `instructions` and `input`');
  }
  // The gateway stores nothing; a client asking it to is told so, like any field it does not honour.
  if (body['store'] === true) ignored.push('store');

  const instructions = body['instructions'];
  if (instructions !== undefined && instructions !== null && typeof instructions !== 'string') problems.add('/instructions', 'must be a string');
  const systemParts: string[] = typeof instructions === 'string' && instructions !== '' ? [instructions] : [];
  // An output may answer a call kept in a stored response or conversation: with either (both are
  // refused above) its pairing is not checked, so the refusal names only the field at fault.
  const callsStoredElsewhere = (previous !== undefined && previous !== null) || (conversation !== undefined && conversation !== null);
  const messages = parseInput(body['input'], problems, systemParts, ignored, { checkPairing: !callsStoredElsewhere });
  if (messages.length === 0 && problems.problems.length === 0) {
    problems.add('/input', 'holds only instructions: there is no user message to answer', 'add a user message to `input`');
  }

  const tools = parseTools(body['tools'], problems);
  const toolChoice = parseToolChoice(body['tool_choice'], problems);
  checkToolChoice(toolChoice, tools, problems, { pointer: '/tool_choice/name', noun: 'function' });
  const parallelToolCalls = optionalBoolean(body, 'parallel_tool_calls', problems);
  const responseFormat = parseTextFormat(body['text'], problems);
  // `text.verbosity` and the like: settings of OpenAI's own models that no provider here reads.
  if (isRecord(body['text'])) for (const key of Object.keys(body['text'])) if (key !== 'format') ignored.push(`text.${key}`);
  const temperature = optionalNumber(body, 'temperature', problems, TEMPERATURE_RANGE);
  const topP = optionalNumber(body, 'top_p', problems, { minimum: 0, maximum: 1 });
  const maxTokens = optionalNumber(body, 'max_output_tokens', problems, { minimum: 1, integer: true });
  const stream = optionalBoolean(body, 'stream', problems) ?? false;
  const logprobs = readIncludedLogprobs(body, problems, ignored);
  const reasoning = body['reasoning'];
  let reasoningEffort: ReasoningEffort | undefined;
  if (reasoning !== undefined && reasoning !== null) {
    if (!isRecord(reasoning)) problems.add('/reasoning', 'must be an object');
    else {
      reasoningEffort = readReasoningEffort(reasoning['effort'], '/reasoning/effort', problems);
      // `summary` and the like: settings of OpenAI's own reasoning items, which no provider here returns.
      for (const key of Object.keys(reasoning)) if (key !== 'effort') ignored.push(`reasoning.${key}`);
    }
  }
  problems.throwIfAny();

  const request = canonicalRequest(model as string, messages, stream, {
    system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined,
    tools,
    toolChoice,
    parallelToolCalls,
    responseFormat,
    temperature,
    topP,
    maxTokens,
    reasoningEffort: reasoningEffort === undefined ? undefined : { effort: reasoningEffort, field: 'reasoning.effort' },
    logprobs,
  });
  return { request, ignoredFields: [...new Set(ignored)].sort() };
}

/**
 * `include: ["message.output_text.logprobs"]` with its `top_logprobs` (0 to 20): the logprobs the
 * chat path asks for. The other `include` values ask for what OpenAI's hosted tools and stored
 * reasoning return (`reasoning.encrypted_content`, ...), and `top_logprobs` without that include
 * counts the alternatives of logprobs not asked for: both are named ignored.
 */
function readIncludedLogprobs(body: Record<string, unknown>, problems: RequestProblems, ignored: string[]): LogprobsRequest | undefined {
  const include = body['include'];
  let wanted = false;
  if (include !== undefined && include !== null) {
    if (!Array.isArray(include) || include.some((value) => typeof value !== 'string')) problems.add('/include', 'must be an array of strings', `send ["${LOGPROBS_INCLUDE}"] for token logprobs, or leave \`include\` out`);
    else {
      wanted = include.includes(LOGPROBS_INCLUDE);
      if (include.some((value) => value !== LOGPROBS_INCLUDE)) ignored.push('include');
    }
  }
  const top = optionalNumber(body, 'top_logprobs', problems, { minimum: 0, maximum: MAXIMUM_TOP_LOGPROBS, integer: true });
  if (top !== undefined && !wanted) ignored.push('top_logprobs');
  return wanted ? { ...(top === undefined ? {} : { top }) } : undefined;
}

/**
 * `input`: a string (one user message) or a list of items — messages (the easy `{role, content}`
 * form or `type: "message"`), `function_call` and `function_call_output`, and their freeform
 * twins `custom_tool_call` and `custom_tool_call_output`. Leading system and
 * developer messages join `instructions` as the system prompt; consecutive function calls become
 * one assistant turn. Reasoning items carry nothing a model behind the gateway can read: skipped,
 * and named as ignored. `checkPairing`: an output must answer a call item of the same input
 * (as OpenAI requires when there is no stored response to find the call in).
 */
function parseInput(raw: unknown, problems: RequestProblems, systemParts: string[], ignored: string[], options: { checkPairing: boolean }): CanonicalMessage[] {
  if (typeof raw === 'string') {
    if (raw === '') problems.add('/input', "is an empty string: there is nothing to answer; send the user's message as `input`");
    return [{ role: 'user', content: [{ type: 'text', text: raw }] }];
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.add('/input', 'is required: a string or a non-empty array of input items; send the whole conversation as `input` (the gateway keeps no earlier responses)');
    return [];
  }
  // The calls an output may answer: the call items of this input, wherever they are.
  const callIds = new Set<unknown>();
  for (const item of raw) if (isRecord(item) && (item['type'] === 'function_call' || item['type'] === 'custom_tool_call')) callIds.add(item['call_id']);
  const messages: CanonicalMessage[] = [];
  raw.forEach((item, index) => {
    const pointer = `/input/${index}`;
    if (!isRecord(item)) {
      problems.add(pointer, 'must be an input item object');
      return;
    }
    const type = item['type'] ?? 'message';
    switch (type) {
      case 'message': {
        const message = parseMessage(item, pointer, problems);
        if (message === undefined) return;
        if (message.role === 'system' && messages.length === 0) systemParts.push(textOf(message.content));
        else messages.push(message);
        return;
      }
      case 'function_call':
      case 'custom_tool_call': {
        const call = type === 'function_call' ? parseFunctionCall(item, pointer, problems) : parseCustomToolCall(item, pointer, problems);
        if (call === undefined) return;
        const last = messages.at(-1);
        if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
        else messages.push({ role: 'assistant', content: [], toolCalls: [call] });
        return;
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const callId = item['call_id'];
        if (typeof callId !== 'string' || callId === '') problems.add(`${pointer}/call_id`, 'is required', 'echo the call_id of the function_call this output answers');
        else if (options.checkPairing && !callIds.has(callId)) problems.add(`${pointer}/call_id`, unansweredCallMessage(type === 'custom_tool_call_output', callId));
        const content = parseContent(item['output'], `${pointer}/output`, problems, 'user');
        if (content !== undefined && typeof callId === 'string' && callId !== '') messages.push({ role: 'tool', toolCallId: callId, content });
        return;
      }
      case 'reasoning':
        ignored.push('input.reasoning');
        return;
      default:
        problems.add(
          `${pointer}/type`,
          `input item type ${JSON.stringify(type)} is not supported by the gateway`,
          'send message, function_call, function_call_output, custom_tool_call and custom_tool_call_output items (item references need stored responses, which the gateway does not keep)',
        );
    }
  });
  return messages;
}

/**
 * OpenAI's wording (`No tool call found for function call output with call_id …`) and what to do:
 * without stored responses the call the output answers must be in the same input.
 */
function unansweredCallMessage(freeform: boolean, callId: string): string {
  const [output, call] = freeform ? ['custom tool call output', 'custom_tool_call'] : ['function call output', 'function_call'];
  return `no tool call found for ${output} with call_id ${JSON.stringify(callId)}: no item of the input calls it, and the gateway keeps no earlier responses to find it in; send the ${call} item it answers before it in \`input\`, or leave the output out`;
}

function parseMessage(item: Record<string, unknown>, pointer: string, problems: RequestProblems): CanonicalMessage | undefined {
  const role = item['role'];
  switch (role) {
    case 'system':
    case 'developer': {
      const content = parseMessageContent(item['content'], `${pointer}/content`, problems, 'system');
      return content === undefined ? undefined : { role: 'system', content };
    }
    case 'user': {
      const content = parseMessageContent(item['content'], `${pointer}/content`, problems, 'user');
      return content === undefined ? undefined : { role: 'user', content };
    }
    case 'assistant': {
      const content = parseMessageContent(item['content'], `${pointer}/content`, problems, 'assistant');
      return content === undefined ? undefined : { role: 'assistant', content };
    }
    default:
      problems.add(`${pointer}/role`, `must be one of user, assistant, system, developer (got ${JSON.stringify(role)})`);
      return undefined;
  }
}

/** Which content parts a speaker may send: users text and images, the system text, the assistant its earlier output. */
type Speaker = 'user' | 'system' | 'assistant';

/**
 * A message's content: OpenAI refuses an empty list of parts (`Invalid 'input[2].content': empty
 * array`), so it is refused here rather than upstream. An empty string is a message OpenAI takes.
 */
function parseMessageContent(raw: unknown, pointer: string, problems: RequestProblems, speaker: Speaker): ContentPart[] | undefined {
  if (Array.isArray(raw) && raw.length === 0) {
    problems.add(pointer, 'is an empty array: a message needs at least one content part; send its text as a string or in at least one part, or leave the message out');
    return undefined;
  }
  return parseContent(raw, pointer, problems, speaker);
}

function parseContent(raw: unknown, pointer: string, problems: RequestProblems, speaker: Speaker): ContentPart[] | undefined {
  return readContentParts(raw, pointer, problems, (part, partPointer) => {
    const type = part['type'];
    const textKey = type === 'input_text' || type === 'output_text' ? 'text' : type === 'refusal' ? 'refusal' : undefined;
    if (textKey !== undefined && (type === 'input_text' || speaker === 'assistant')) {
      const text = part[textKey];
      if (typeof text === 'string') return { type: 'text', text };
      problems.add(`${partPointer}/${textKey}`, 'must be a string');
      return undefined;
    }
    if (type === 'input_image' && speaker === 'user') {
      const url = part['image_url'];
      const detail = readImageDetail(part['detail'], `${partPointer}/detail`, problems);
      if (typeof url === 'string' && url !== '') return imageFromUrl(url, detail);
      problems.add(`${partPointer}/image_url`, 'must be an http(s) or data: URL', 'uploaded files (file_id) are not reachable through the gateway: send the image inline');
      return undefined;
    }
    const accepted = speaker === 'user' ? 'input_text or input_image' : speaker === 'assistant' ? 'output_text, refusal or input_text' : 'input_text';
    problems.add(`${partPointer}/type`, `content part type ${JSON.stringify(type)} is not supported here`, `send ${accepted} parts`);
    return undefined;
  });
}

function parseFunctionCall(item: Record<string, unknown>, pointer: string, problems: RequestProblems): ToolCall | undefined {
  const callId = item['call_id'];
  const name = item['name'];
  if (typeof callId !== 'string' || callId === '') problems.add(`${pointer}/call_id`, 'is required');
  if (typeof name !== 'string' || name === '') problems.add(`${pointer}/name`, 'is required');
  if (typeof callId !== 'string' || callId === '' || typeof name !== 'string' || name === '') return undefined;
  const text = argumentsToText(item['arguments']);
  return { id: callId, name, arguments: text === '' ? '{}' : text };
}

function parseCustomToolCall(item: Record<string, unknown>, pointer: string, problems: RequestProblems): ToolCall | undefined {
  const callId = item['call_id'];
  const name = item['name'];
  const input = item['input'];
  if (typeof callId !== 'string' || callId === '') problems.add(`${pointer}/call_id`, 'is required');
  if (typeof name !== 'string' || name === '') problems.add(`${pointer}/name`, 'is required');
  if (typeof input !== 'string') problems.add(`${pointer}/input`, 'must be a string');
  if (typeof callId !== 'string' || callId === '' || typeof name !== 'string' || name === '' || typeof input !== 'string') return undefined;
  return { id: callId, name, arguments: customCallArguments(input), freeform: true };
}

function parseTools(raw: unknown, problems: RequestProblems): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    problems.add('/tools', 'must be an array of function or custom tools');
    return undefined;
  }
  const tools: ToolDefinition[] = [];
  raw.forEach((tool, index) => {
    const pointer = `/tools/${index}`;
    if (isRecord(tool) && tool['type'] === 'custom') {
      const definition = readCustomTool(tool, pointer, problems, 'flat');
      if (definition !== undefined) tools.push(definition);
      return;
    }
    if (!isRecord(tool) || tool['type'] !== 'function') {
      const type = isRecord(tool) ? JSON.stringify(tool['type']) : 'none';
      problems.add(`${pointer}/type`, `only function and custom tools are supported (got ${type})`, 'hosted tools (web search, file search, code interpreter, ...) run at OpenAI, not behind the gateway: leave them out of `tools` (Codex CLI: turn its web search off in config.toml)');
      return;
    }
    const definition = readFunctionTool(tool, pointer, problems);
    if (definition !== undefined) tools.push(definition);
  });
  return tools;
}

function parseToolChoice(raw: unknown, problems: RequestProblems): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'auto' || raw === 'none' || raw === 'required') return raw;
  if (isRecord(raw) && (raw['type'] === 'function' || raw['type'] === 'custom') && typeof raw['name'] === 'string' && raw['name'] !== '') return { name: raw['name'] };
  problems.add('/tool_choice', 'must be "auto", "none", "required", {type: "function", name} or {type: "custom", name}');
  return undefined;
}

function parseTextFormat(raw: unknown, problems: RequestProblems): ResponseFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    problems.add('/text', 'must be an object');
    return undefined;
  }
  const format = raw['format'];
  if (format === undefined || format === null) return undefined;
  if (!isRecord(format)) {
    problems.add('/text/format', 'must be an object');
    return undefined;
  }
  switch (format['type']) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema':
      return readJsonSchemaFormat(format, '/text/format', problems);
    default:
      problems.add('/text/format/type', 'must be "text", "json_object" or "json_schema"');
      return undefined;
  }
}

function textOf(content: readonly ContentPart[]): string {
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/** What a response object repeats of its request, and who it is. */
export interface ResponsesRenderOptions {
  /** `resp_…`; item ids are derived from it. */
  id: string;
  /** Unix seconds (`created_at`); the caller owns the clock. */
  createdAt: number;
  /** The model reported to the client (`provider:model`). */
  model: string;
  request: CanonicalRequest;
}

/** The canonical response as a Responses API `response` object. */
export function renderResponsesResponse(response: CanonicalResponse, options: ResponsesRenderOptions): string {
  const { status, incomplete } = statusOf(response.finishReason);
  const output: ResponsesOutputItem[] = [];
  const itemStatus = status === 'incomplete' ? 'incomplete' : 'completed';
  if (response.reasoning !== undefined) output.push(reasoningItem(itemId(options.id, 'rs', 0), response.reasoning, itemStatus));
  if (response.text !== '' || response.toolCalls.length === 0 || response.refusal !== undefined) {
    // A refusal is OpenAI's own `refusal` content part; the message holds no text part when the model only refused, as OpenAI answers it.
    const content = [
      ...(response.text === '' && response.refusal !== undefined ? [] : [outputText(response.text, answerTokenLogprobs(response.logprobs))]),
      ...(response.refusal === undefined ? [] : [outputRefusal(response.refusal)]),
    ];
    output.push(messageItem(itemId(options.id, 'msg', output.length), itemStatus, content));
  }
  const freeform = freeformToolNames(options.request);
  for (const call of response.toolCalls) {
    output.push(
      freeform.has(call.name)
        ? { type: 'custom_tool_call', id: itemId(options.id, 'ctc', output.length), call_id: call.id, name: call.name, input: freeformInput(call.arguments), status: itemStatus }
        : { type: 'function_call', id: itemId(options.id, 'fc', output.length), call_id: call.id, name: call.name, arguments: call.arguments, status: itemStatus },
    );
  }
  return JSON.stringify(responseObject(options, { status, incomplete, output, usage: response.usage, error: null }));
}

/**
 * Turns canonical stream parts into the Responses API's SSE events: `response.created` and
 * `response.in_progress`, then the output items one after the other, as OpenAI streams them —
 * each item's `output_item.added`, its deltas (`reasoning_text.delta` for reasoning the engine
 * sent apart, `output_text.delta`, `refusal.delta` for a model's refusal (a `refusal` content part
 * of the message), `function_call_arguments.delta`; a custom tool's raw input as
 * one `custom_tool_call_input.delta` when it is closed), its `…done` events and
 * `output_item.done` before the next item is added — and finally `response.completed` (or
 * `response.incomplete`) carrying the whole response with usage. After an error it writes
 * `error` and `response.failed`, never a completion. Every event has its `sequence_number`.
 *
 * Reasoning and text split freely: when one follows the other the open item is closed, and
 * reasoning or text that comes back later opens a new item. A tool call cannot be split, and an
 * OpenAI-wire engine may interleave the argument deltas of parallel calls; so once a call is
 * open, parts of any other item are held back until the stream ends, then written item by item.
 */
export class ResponsesStreamEncoder {
  private sequence = 0;
  private started = false;
  private isClosed = false;
  private finishReason: FinishReason = 'stop';
  private readonly usage: Partial<Usage> = {};
  /** Every item added so far, in output order. */
  private readonly items: OpenItem[] = [];
  /** The item whose deltas are being written; every earlier item is done. */
  private current: OpenItem | undefined;
  /** Item parts that came while a tool call was open, written once the stream ends. */
  private held: ItemPart[] = [];
  private readonly calls = new Map<number, OpenCall>();
  private readonly freeform: ReadonlySet<string>;

  constructor(private readonly options: ResponsesRenderOptions) {
    this.freeform = freeformToolNames(options.request);
  }

  /** True once the response completed or failed; later parts are ignored. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Encodes the parts decoded from one upstream event together (one write). */
  encodeAll(parts: readonly StreamPart[]): string {
    if (this.isClosed || parts.length === 0) return '';
    let output = this.start();
    // The logprobs of one upstream chunk come before its deltas: they go with its text, the only
    // output with logprobs on this API (those of reasoning or call tokens are dropped).
    let logprobs: ResponsesLogprob[] = [];
    for (const part of parts) {
      if (this.isClosed) break;
      switch (part.type) {
        case 'response-metadata':
        case 'reasoning-signature':
          break;
        case 'usage':
          mergeUsage(this.usage, part.usage);
          break;
        case 'logprobs':
          logprobs.push(...answerTokenLogprobs(part.logprobs));
          break;
        case 'text-delta':
          output += this.itemPart({ ...part, logprobs });
          logprobs = [];
          break;
        case 'reasoning-delta':
        case 'refusal-delta':
        case 'tool-call-delta':
          output += this.itemPart(part);
          logprobs = [];
          break;
        case 'finish':
          this.finishReason = part.finishReason;
          break;
        case 'stream-end':
          output += this.complete();
          break;
        case 'error':
          output += this.fail(streamErrorOf(part));
          break;
      }
    }
    return output;
  }

  /** Ends a stream that broke after bytes were sent: an `error` event and `response.failed`, never a completion. */
  fail(error: ClientError): string {
    if (this.isClosed) return '';
    const output = this.start();
    this.isClosed = true;
    this.held = [];
    const code = error.code ?? error.kind;
    const snapshot = responseObject(this.options, {
      status: 'failed',
      incomplete: null,
      output: this.items.map((item) => this.snapshotOf(item, item.status ?? 'incomplete')),
      usage: this.knownUsage(),
      error: { code, message: error.message },
    });
    return output + this.event('error', { code, message: error.message, param: error.param ?? null }) + this.event('response.failed', { response: snapshot });
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const snapshot = responseObject(this.options, { status: 'in_progress', incomplete: null, output: [], usage: undefined, error: null });
    return this.event('response.created', { response: snapshot }) + this.event('response.in_progress', { response: snapshot });
  }

  /** Writes a part into its item, or holds it back while another item's tool call is open. */
  private itemPart(part: ItemPart): string {
    const forCurrentCall = part.type === 'tool-call-delta' && this.current?.kind === 'function_call' && this.calls.get(part.index) === this.current;
    if (!forCurrentCall && (this.held.length > 0 || this.current?.kind === 'function_call')) {
      this.held.push(part);
      return '';
    }
    switch (part.type) {
      case 'text-delta':
        return this.textDelta(part.text, part.logprobs);
      case 'reasoning-delta':
        return this.reasoningDelta(part.text);
      case 'refusal-delta':
        return this.refusalDelta(part.text);
      case 'tool-call-delta':
        return this.toolCallDelta(part);
    }
  }

  private textDelta(text: string, logprobs: ResponsesLogprob[] = []): string {
    let output = this.openMessage();
    const message = this.current as OpenMessage;
    if (message.textIndex === undefined) {
      message.textIndex = message.parts.length;
      message.parts.push('text');
      output += this.event('response.content_part.added', { item_id: message.id, output_index: message.outputIndex, content_index: message.textIndex, part: outputText('') });
    }
    if (text === '') return output;
    message.text += text;
    message.logprobs.push(...logprobs);
    return output + this.event('response.output_text.delta', { item_id: message.id, output_index: message.outputIndex, content_index: message.textIndex, delta: text, logprobs });
  }

  /** The model's refusal, streamed as OpenAI streams it: a `refusal` content part of the message and its `response.refusal.delta` events. */
  private refusalDelta(text: string): string {
    let output = this.openMessage();
    const message = this.current as OpenMessage;
    if (message.refusalIndex === undefined) {
      message.refusalIndex = message.parts.length;
      message.parts.push('refusal');
      message.refusal = '';
      output += this.event('response.content_part.added', { item_id: message.id, output_index: message.outputIndex, content_index: message.refusalIndex, part: outputRefusal('') });
    }
    message.refusal = (message.refusal ?? '') + text;
    return output + this.event('response.refusal.delta', { item_id: message.id, output_index: message.outputIndex, content_index: message.refusalIndex, delta: text });
  }

  /** Adds a message item (empty, without content parts yet) unless one is open. */
  private openMessage(): string {
    if (this.current?.kind === 'message') return '';
    const output = this.closeCurrent('completed');
    const message: OpenMessage = { kind: 'message', id: itemId(this.options.id, 'msg', this.items.length), outputIndex: this.items.length, text: '', logprobs: [], parts: [] };
    this.items.push(message);
    this.current = message;
    return output + this.event('response.output_item.added', { output_index: message.outputIndex, item: messageItem(message.id, 'in_progress', []) });
  }

  private reasoningDelta(text: string): string {
    let output = '';
    if (this.current?.kind !== 'reasoning') {
      output += this.closeCurrent('completed');
      output += this.announce({ kind: 'reasoning', id: itemId(this.options.id, 'rs', this.items.length), outputIndex: this.items.length, text: '' });
    }
    const reasoning = this.current as OpenReasoning;
    reasoning.text += text;
    return output + this.event('response.reasoning_text.delta', { item_id: reasoning.id, output_index: reasoning.outputIndex, content_index: 0, delta: text });
  }

  /** Adds a reasoning item, announced as the API does: the item empty, then its one content part, empty. */
  private announce(item: OpenReasoning): string {
    this.items.push(item);
    this.current = item;
    const empty = reasoningItem(item.id, '', 'in_progress');
    return (
      this.event('response.output_item.added', { output_index: item.outputIndex, item: { ...empty, content: [] } }) +
      this.event('response.content_part.added', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part: empty.content[0] })
    );
  }

  /** Only ever called for a new call or the open one (`itemPart` holds back the rest). */
  private toolCallDelta(part: Extract<StreamPart, { type: 'tool-call-delta' }>): string {
    let call = this.calls.get(part.index);
    let output = '';
    if (call === undefined) {
      output += this.closeCurrent('completed');
      const outputIndex = this.items.length;
      const name = part.name ?? '';
      const freeform = this.freeform.has(name);
      call = { kind: 'function_call', freeform, id: itemId(this.options.id, freeform ? 'ctc' : 'fc', outputIndex), outputIndex, callId: part.id ?? `call_${outputIndex}`, name, arguments: '' };
      this.calls.set(part.index, call);
      this.items.push(call);
      this.current = call;
      output += this.event('response.output_item.added', { output_index: outputIndex, item: this.snapshotOf(call, 'in_progress') });
    }
    if (part.freeform === true) {
      call.streamedInput = (call.streamedInput ?? '') + part.argumentsDelta;
      call.arguments = customCallArguments(call.streamedInput);
      if (part.argumentsDelta === '' || !call.freeform) return output;
      return output + this.event('response.custom_tool_call_input.delta', { item_id: call.id, output_index: call.outputIndex, delta: part.argumentsDelta });
    }
    if (part.argumentsDelta === '') return output;
    call.arguments += part.argumentsDelta;
    // A freeform call's raw text is inside the JSON the engine streams: it is sent once whole, when the call is closed.
    if (call.freeform) return output;
    return output + this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: part.argumentsDelta });
  }

  /** Writes the open item's `…done` events and `output_item.done`; nothing when no item is open. */
  private closeCurrent(status: ItemStatus): string {
    const item = this.current;
    if (item === undefined) return '';
    this.current = undefined;
    item.status = status;
    let output = '';
    if (item.kind === 'reasoning') {
      output +=
        this.event('response.reasoning_text.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, text: item.text }) +
        this.event('response.content_part.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part: { type: 'reasoning_text', text: item.text } });
    } else if (item.kind === 'message') {
      item.parts.forEach((kind, index) => {
        const where = { item_id: item.id, output_index: item.outputIndex, content_index: index };
        output +=
          kind === 'text'
            ? this.event('response.output_text.done', { ...where, text: item.text, logprobs: item.logprobs }) + this.event('response.content_part.done', { ...where, part: outputText(item.text, item.logprobs) })
            : this.event('response.refusal.done', { ...where, refusal: item.refusal ?? '' }) + this.event('response.content_part.done', { ...where, part: outputRefusal(item.refusal ?? '') });
      });
    } else {
      // A call streamed without arguments (Anthropic sends none for empty input) reads as `{}`.
      if (!item.freeform && item.arguments === '') item.arguments = '{}';
      if (item.freeform) {
        const input = item.streamedInput ?? freeformInput(item.arguments);
        if (input !== '' && item.streamedInput === undefined) output += this.event('response.custom_tool_call_input.delta', { item_id: item.id, output_index: item.outputIndex, delta: input });
        output += this.event('response.custom_tool_call_input.done', { item_id: item.id, output_index: item.outputIndex, input });
      } else {
        output += this.event('response.function_call_arguments.done', { item_id: item.id, output_index: item.outputIndex, name: item.name, arguments: item.arguments });
      }
    }
    return output + this.event('response.output_item.done', { output_index: item.outputIndex, item: this.snapshotOf(item, status) });
  }

  private complete(): string {
    const { status, incomplete } = statusOf(this.finishReason);
    // Items still open when the answer ended share its fate (`incomplete` when it was cut short).
    const endStatus: ItemStatus = status === 'incomplete' ? 'incomplete' : 'completed';
    let output = '';
    // The parts held back behind a tool call, item by item: each pass closes the open item and
    // writes the held parts again, which opens the next item and holds back the rest once more.
    while (this.held.length > 0) {
      output += this.closeCurrent(endStatus);
      const pending = this.held;
      this.held = [];
      for (const part of pending) output += this.itemPart(part);
    }
    // An answer with neither text nor tool calls is still one (empty) message, as the API reports it.
    if (this.items.length === 0) output += this.textDelta('');
    output += this.closeCurrent(endStatus);
    this.isClosed = true;
    const final = responseObject(this.options, { status, incomplete, output: this.items.map((item) => this.snapshotOf(item, item.status ?? endStatus)), usage: this.knownUsage(), error: null });
    return output + this.event(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
  }

  private snapshotOf(item: OpenItem, status: ResponsesMessageItem['status']): ResponsesOutputItem {
    if (item.kind === 'reasoning') return reasoningItem(item.id, item.text, status);
    if (item.kind === 'message') return messageItem(item.id, status, item.parts.map((kind) => (kind === 'text' ? outputText(item.text, item.logprobs) : outputRefusal(item.refusal ?? ''))));
    if (item.freeform) {
      return { type: 'custom_tool_call', id: item.id, call_id: item.callId, name: item.name, input: status === 'in_progress' ? '' : freeformInput(item.arguments), status };
    }
    return { type: 'function_call', id: item.id, call_id: item.callId, name: item.name, arguments: item.arguments, status };
  }

  private knownUsage(): Usage | undefined {
    return this.usage.inputTokens === undefined || this.usage.outputTokens === undefined ? undefined : (this.usage as Usage);
  }

  private event(type: string, fields: Record<string, unknown>): string {
    const data = JSON.stringify({ type, sequence_number: this.sequence, ...fields });
    this.sequence += 1;
    return formatServerSentEvent({ event: type, data });
  }
}

/** The stream parts that belong to an output item, a text delta with the logprobs of its tokens. */
type ItemPart = Extract<StreamPart, { type: 'reasoning-delta' | 'refusal-delta' | 'tool-call-delta' }> | (Extract<StreamPart, { type: 'text-delta' }> & { logprobs: ResponsesLogprob[] });

/** How an item ended: set when its `output_item.done` is written. */
type ItemStatus = 'completed' | 'incomplete';

interface OpenMessage {
  kind: 'message';
  id: string;
  outputIndex: number;
  text: string;
  logprobs: ResponsesLogprob[];
  /** Its content parts in the order they were added: the text's, the refusal's (each at most once). */
  parts: ('text' | 'refusal')[];
  textIndex?: number;
  refusal?: string;
  refusalIndex?: number;
  status?: ItemStatus;
}

interface OpenCall {
  kind: 'function_call';
  /** A `custom` tool's call: its raw input is sent when it is closed, unwrapped from the arguments JSON. */
  freeform: boolean;
  id: string;
  outputIndex: number;
  callId: string;
  name: string;
  arguments: string;
  /** The raw input received so far of a custom call the upstream streamed natively (OpenAI): sent as it comes. */
  streamedInput?: string;
  status?: ItemStatus;
}

interface OpenReasoning {
  kind: 'reasoning';
  id: string;
  outputIndex: number;
  text: string;
  status?: ItemStatus;
}

type OpenItem = OpenReasoning | OpenMessage | OpenCall;

function statusOf(reason: FinishReason): { status: ResponsesStatus; incomplete: ResponsesObject['incomplete_details'] } {
  if (reason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (reason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

/** Item ids derive from the response id (`resp_X` → `msg_X_0`, `fc_X_1`): unique without a clock or randomness of their own. */
function itemId(responseId: string, prefix: 'rs' | 'msg' | 'fc' | 'ctc', outputIndex: number): string {
  return `${prefix}_${responseId.replace(/^resp_/, '')}_${outputIndex}`;
}

function outputText(text: string, logprobs: ResponsesLogprob[] = []): ResponsesOutputText {
  return { type: 'output_text', text, annotations: [], logprobs };
}

function outputRefusal(refusal: string): ResponsesOutputRefusal {
  return { type: 'refusal', refusal };
}

function reasoningItem(id: string, text: string, status: ResponsesReasoningItem['status']): ResponsesReasoningItem {
  return { type: 'reasoning', id, summary: [], content: [{ type: 'reasoning_text', text }], status };
}

function messageItem(id: string, status: ResponsesMessageItem['status'], content: ResponsesMessageItem['content']): ResponsesMessageItem {
  return { type: 'message', id, status, role: 'assistant', content };
}

function responseObject(
  options: ResponsesRenderOptions,
  state: { status: ResponsesStatus; incomplete: ResponsesObject['incomplete_details']; output: ResponsesOutputItem[]; usage: Usage | undefined; error: ResponsesObject['error'] },
): ResponsesObject {
  const { request } = options;
  return {
    id: options.id,
    object: 'response',
    created_at: options.createdAt,
    status: state.status,
    error: state.error,
    incomplete_details: state.incomplete,
    instructions: request.system ?? null,
    max_output_tokens: request.maxTokens ?? null,
    model: options.model,
    output: state.output,
    parallel_tool_calls: request.parallelToolCalls ?? true,
    previous_response_id: null,
    store: false,
    temperature: request.temperature ?? null,
    text: { format: textFormatOf(request.responseFormat) },
    tool_choice: toolChoiceOf(request.toolChoice, request),
    tools: (request.tools ?? []).map(toolEcho),
    top_p: request.topP ?? null,
    truncation: 'disabled',
    ...(state.usage === undefined ? {} : { usage: usageOf(state.usage) }),
    metadata: {},
  };
}

/** A tool as the client declared it: a custom tool's own description and format, not the grammar folded in for engines without custom tools. */
function toolEcho(tool: ToolDefinition): ResponsesToolEcho {
  if (tool.freeform !== true) return { type: 'function', name: tool.name, description: tool.description ?? null, parameters: tool.inputSchema, strict: tool.strict ?? null };
  const declaration = tool.freeformDeclaration ?? {};
  return { type: 'custom', name: tool.name, description: declaration.description ?? null, ...(declaration.format === undefined ? {} : { format: declaration.format }) };
}

function usageOf(usage: Usage): ResponsesUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

function textFormatOf(format: ResponseFormat | undefined): ResponsesTextFormat {
  if (format === undefined || format.type === 'text') return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', name: format.name ?? 'response', schema: format.schema, strict: format.strict ?? null };
}

function toolChoiceOf(choice: ToolChoice | undefined, request: CanonicalRequest): ResponsesToolChoice {
  if (choice === undefined) return 'auto';
  if (typeof choice === 'string') return choice;
  return { type: freeformToolNames(request).has(choice.name) ? 'custom' : 'function', name: choice.name };
}
