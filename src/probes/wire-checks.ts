import { counted as countOf } from '../common/counted.js';
import type { Deviation, WireFormat } from '../common/vocabulary.js';
import { parseServerSentEvents, ServerSentEventSplitter } from '../wire/sse.js';
import type { ProbeCheck, ProbeVerdict } from './types.js';

/**
 * Checks of the raw response bytes against the wire contract (OpenAI chat completions or
 * Anthropic Messages), read back from evidence. Pure: bytes in, checks out. The decoded
 * response is deliberately not used here, because the adapters are lenient and repair what
 * these checks must see.
 */

type Json = Record<string, unknown>;

/** What the checks need to know about the request. */
export interface WireExpectation {
  wire: WireFormat;
  /** The upstream model id that was requested, for the echo check. */
  requestedModel: string;
  /** Deviations the record declares: a matching observation is `declared`, not `deviation`. */
  declared: readonly Deviation[];
  /** Prefix of every check name, e.g. `wire` or `streaming`. */
  prefix?: string;
}

const OPENAI_FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
const ANTHROPIC_STOP_REASONS = new Set(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal']);
const OPENAI_RESPONSE_FIELDS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage', 'system_fingerprint', 'service_tier']);
const OPENAI_CHUNK_FIELDS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage', 'system_fingerprint', 'service_tier', 'obfuscation']);

export function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** `deviation` when undeclared, `declared` when the record says so. */
export function deviationVerdict(deviation: Deviation, declared: readonly Deviation[]): ProbeVerdict {
  return declared.includes(deviation) ? 'declared' : 'deviation';
}

/**
 * The checks of bytes that are no well-formed answer (a stream cut before its end, a body that did
 * not decode): a deviation is only ever observed on a well-formed answer, so the checks that would
 * name one (declared or not) are left out of `judged`, and named in `unjudged`.
 */
export function withoutDeviations(checks: readonly ProbeCheck[]): { judged: ProbeCheck[]; unjudged: string[] } {
  const judged: ProbeCheck[] = [];
  const unjudged: string[] = [];
  for (const check of checks) {
    if (check.deviation !== undefined && (check.verdict === 'deviation' || check.verdict === 'declared')) unjudged.push(check.name);
    else judged.push(check);
  }
  return { judged, unjudged };
}

/**
 * Why SSE text is not a well-formed event stream, or undefined when it is one (possibly cut short):
 * it holds no event at all (an HTML page, a JSON body), or a complete event whose data is neither
 * JSON nor `[DONE]`. An event left unterminated at the end is a cut, not a malformed event.
 */
export function malformedEventStream(text: string): string | undefined {
  const splitter = new ServerSentEventSplitter();
  const complete = splitter.push(text);
  const unterminated = splitter.finish();
  if (complete.length === 0 && unterminated.length === 0) return `it holds no server-sent event: ${excerpt(text)}`;
  for (const event of complete) {
    const data = event.data.trim();
    if (data === '' || data === '[DONE]') continue;
    try {
      JSON.parse(data);
    } catch {
      return `an event's data is not JSON: ${excerpt(data)}`;
    }
  }
  return undefined;
}

function excerpt(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine === '' ? '(empty)' : JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}…` : oneLine);
}

/**
 * The response's content type against what the official SDKs read. A non-streamed answer must be
 * JSON (`application/json` or `+json`): the OpenAI and Anthropic TypeScript SDKs hand any other
 * body back as a string, so `completion.choices` is undefined in the client — a `fail`. A stream
 * should be `text/event-stream`: the SDKs parse SSE whatever the header says, but browsers'
 * EventSource refuse it and proxies buffer or compress what they do not know to be a stream — a `warn`.
 */
export function checkContentType(contentType: string | undefined, streamed: boolean, prefix: string): ProbeCheck {
  const name = `${prefix}.content-type`;
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const shown = contentType === undefined ? 'no content-type header' : `content-type ${contentType}`;
  if (streamed) {
    return mediaType === 'text/event-stream'
      ? { name, verdict: 'pass', detail: shown }
      : { name, verdict: 'warn', detail: `${shown} on a stream, not text/event-stream: the SDKs still parse it, but browsers' EventSource refuse it and proxies may buffer it` };
  }
  return mediaType.includes('application/json') || mediaType.endsWith('+json')
    ? { name, verdict: 'pass', detail: shown }
    : { name, verdict: 'fail', detail: `${shown}, not application/json: the official OpenAI and Anthropic TypeScript SDKs return such a body as a string, not a parsed answer` };
}

class CheckList {
  readonly checks: ProbeCheck[] = [];
  constructor(
    private readonly prefix: string,
    private readonly declared: readonly Deviation[],
  ) {}

  add(name: string, verdict: ProbeVerdict, detail: string): void {
    this.checks.push({ name: `${this.prefix}.${name}`, verdict, detail });
  }

  deviation(name: string, deviation: Deviation, detail: string): void {
    this.checks.push({ name: `${this.prefix}.${name}`, verdict: deviationVerdict(deviation, this.declared), detail, deviation });
  }

  require(name: string, ok: boolean, passDetail: string, failDetail: string): void {
    this.add(name, ok ? 'pass' : 'fail', ok ? passDetail : failDetail);
  }
}

/** The model-echo check: same id, or a dated snapshot of it (OpenAI, Anthropic aliases). */
function modelEcho(list: CheckList, model: unknown, requested: string): void {
  if (typeof model !== 'string' || model === '') {
    list.add('model', 'fail', 'the response names no model (`model` missing or empty)');
  } else if (model === requested) {
    list.add('model', 'pass', `echoes the requested model ${requested}`);
  } else if (model.startsWith(requested)) {
    list.add('model', 'pass', `answered as ${model}, a snapshot of the requested ${requested}`);
  } else {
    list.add('model', 'warn', `answered as ${model} although ${requested} was requested`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A non-streamed response body (the exact bytes received). */
export function checkResponseBody(body: string, expectation: WireExpectation): ProbeCheck[] {
  return expectation.wire === 'anthropic' ? checkAnthropicBody(body, expectation) : checkOpenAIBody(body, expectation);
}

/**
 * The checks every non-streamed body begins with, OpenAI's and Anthropic's alike: a JSON object
 * (`parsed` undefined, and nothing more to check, when it is not), with a non-empty string `id`.
 */
function startBodyChecks(body: string, expectation: WireExpectation): { list: CheckList; parsed: Json | undefined } {
  const list = new CheckList(expectation.prefix ?? 'wire', expectation.declared);
  const parsed = parseObject(body);
  if (parsed === undefined) {
    list.add('json', 'fail', `the body is not a JSON object: ${body.slice(0, 80)}`);
    return { list, parsed };
  }
  list.add('json', 'pass', 'the body is a JSON object');
  const id = parsed['id'];
  list.require('id', typeof id === 'string' && id !== '', `id ${String(id)}`, `\`id\` must be a non-empty string, got ${typeName(id)}`);
  return { list, parsed };
}

function checkOpenAIBody(body: string, expectation: WireExpectation): ProbeCheck[] {
  const { list, parsed } = startBodyChecks(body, expectation);
  if (parsed === undefined) return list.checks;
  list.require('object', parsed['object'] === 'chat.completion', 'object is chat.completion', `\`object\` must be "chat.completion", got ${JSON.stringify(parsed['object'])}`);
  list.require('created', isCount(parsed['created']), 'created is a Unix time', `\`created\` must be an integer, got ${typeName(parsed['created'])}`);
  modelEcho(list, parsed['model'], expectation.requestedModel);

  const choices = parsed['choices'];
  const choice = Array.isArray(choices) ? choices[0] : undefined;
  if (!isJsonObject(choice)) {
    list.add('choices', 'fail', '`choices` must be a non-empty array of objects');
    return list.checks;
  }
  const message = choice['message'];
  const messageOk = isJsonObject(message) && message['role'] === 'assistant';
  list.require('choices', messageOk && typeof choice['index'] === 'number', 'choices[0] has an index and an assistant message', 'choices[0] needs `index` and `message.role: "assistant"`');
  if (isJsonObject(message)) {
    const content = message['content'];
    const toolCalls = message['tool_calls'];
    if (typeof content === 'string') list.add('content', 'pass', 'message.content is a string');
    else if (content === null && Array.isArray(toolCalls) && toolCalls.length > 0) list.add('content', 'pass', 'message.content is null beside tool calls');
    else if (Array.isArray(content)) list.add('content', 'warn', 'message.content is an array of parts, not a string');
    else list.add('content', 'fail', `message.content must be a string, got ${typeName(content)}`);
  }
  const finish = choice['finish_reason'];
  list.require(
    'finish_reason',
    typeof finish === 'string' && OPENAI_FINISH_REASONS.has(finish),
    `finish_reason ${String(finish)}`,
    `finish_reason must be one of ${[...OPENAI_FINISH_REASONS].join(', ')}, got ${JSON.stringify(finish)}`,
  );
  checkOpenAIUsage(list, parsed['usage'], 'usage');
  const extensions = Object.keys(parsed).filter((key) => !OPENAI_RESPONSE_FIELDS.has(key));
  if (extensions.length > 0) list.add('extensions', 'pass', `engine-specific fields beside the standard ones: ${extensions.join(', ')}`);
  return list.checks;
}

function checkOpenAIUsage(list: CheckList, usage: unknown, name: string): void {
  if (usage === undefined || usage === null) {
    list.deviation(name, 'approximate_token_counts', 'no `usage` in the response: token counts must be estimated locally');
    return;
  }
  if (!isJsonObject(usage) || !isCount(usage['prompt_tokens']) || !isCount(usage['completion_tokens'])) {
    list.deviation(name, 'approximate_token_counts', `usage lacks integer prompt_tokens / completion_tokens: ${JSON.stringify(usage).slice(0, 120)}`);
    return;
  }
  const total = usage['total_tokens'];
  const sum = usage['prompt_tokens'] + usage['completion_tokens'];
  if (total !== undefined && total !== sum) {
    list.add(name, 'warn', `total_tokens ${String(total)} is not prompt_tokens + completion_tokens (${sum})`);
    return;
  }
  list.add(name, 'pass', `usage: ${usage['prompt_tokens']} prompt + ${usage['completion_tokens']} completion tokens`);
}

function checkAnthropicBody(body: string, expectation: WireExpectation): ProbeCheck[] {
  const { list, parsed } = startBodyChecks(body, expectation);
  if (parsed === undefined) return list.checks;
  list.require('type', parsed['type'] === 'message' && parsed['role'] === 'assistant', 'type message, role assistant', 'needs `type: "message"` and `role: "assistant"`');
  modelEcho(list, parsed['model'], expectation.requestedModel);
  const content = parsed['content'];
  list.require(
    'content',
    Array.isArray(content) && content.every((block) => isJsonObject(block) && typeof block['type'] === 'string'),
    'content is an array of typed blocks',
    '`content` must be an array of blocks with a `type`',
  );
  const stop = parsed['stop_reason'];
  list.require(
    'stop_reason',
    typeof stop === 'string' && ANTHROPIC_STOP_REASONS.has(stop),
    `stop_reason ${String(stop)}`,
    `stop_reason must be one of ${[...ANTHROPIC_STOP_REASONS].join(', ')}, got ${JSON.stringify(stop)}`,
  );
  const usage = parsed['usage'];
  if (isJsonObject(usage) && isCount(usage['input_tokens']) && isCount(usage['output_tokens'])) {
    list.add('usage', 'pass', `usage: ${usage['input_tokens']} input + ${usage['output_tokens']} output tokens`);
  } else {
    list.deviation('usage', 'approximate_token_counts', 'no integer usage.input_tokens / output_tokens: token counts must be estimated locally');
  }
  return list.checks;
}

/** What a stream check found besides its checks: the usage it carried. */
export interface StreamCheckResult {
  checks: ProbeCheck[];
  usage?: { inputTokens: number; outputTokens: number };
  /** Number of events (SSE frames) received. */
  events: number;
}

/** A streamed response (the exact SSE bytes received, as text). */
export function checkStreamBody(text: string, expectation: WireExpectation): StreamCheckResult {
  return expectation.wire === 'anthropic' ? checkAnthropicStream(text, expectation) : checkOpenAIStream(text, expectation);
}

function checkOpenAIStream(text: string, expectation: WireExpectation): StreamCheckResult {
  const list = new CheckList(expectation.prefix ?? 'streaming', expectation.declared);
  const events = parseServerSentEvents(text);
  const payloads = events.map((event) => event.data.trim()).filter((data) => data !== '');
  const doneAt = payloads.indexOf('[DONE]');
  const chunks: Json[] = [];
  const malformed: string[] = [];
  for (const data of payloads) {
    if (data === '[DONE]') continue;
    const chunk = parseObject(data);
    if (chunk === undefined || !Array.isArray(chunk['choices']) || chunk['object'] !== 'chat.completion.chunk') malformed.push(data.slice(0, 60));
    else chunks.push(chunk);
  }
  if (payloads.length === 0) {
    list.deviation('chunks', 'partial_streaming_reliability', 'the stream carried no events at all');
    return { checks: list.checks, events: 0 };
  }
  if (malformed.length > 0) list.deviation('chunks', 'partial_streaming_reliability', `${countOf(malformed.length, 'malformed chunk')}, e.g. ${malformed[0]}`);
  else list.add('chunks', 'pass', `${countOf(chunks.length, 'well-formed chat.completion.chunk event')}`);

  if (doneAt === -1) list.deviation('terminal-marker', 'partial_streaming_reliability', 'the stream ended without `data: [DONE]`');
  else if (doneAt !== payloads.length - 1) list.deviation('terminal-marker', 'partial_streaming_reliability', 'events arrived after `data: [DONE]`');
  else list.add('terminal-marker', 'pass', 'ends with data: [DONE]');

  const ids = new Set(chunks.map((chunk) => chunk['id']));
  if (chunks.length > 0) {
    const idOk = ids.size === 1 && typeof [...ids][0] === 'string' && [...ids][0] !== '';
    list.add('id', idOk ? 'pass' : 'warn', idOk ? 'every chunk carries the same id' : `chunk ids are missing or differ (${ids.size} distinct)`);
  }
  const finish = chunks
    .flatMap((chunk) => (chunk['choices'] as unknown[]).filter(isJsonObject))
    .map((choice) => choice['finish_reason'])
    .find((reason) => typeof reason === 'string' && reason !== '');
  if (typeof finish === 'string' && OPENAI_FINISH_REASONS.has(finish)) list.add('finish_reason', 'pass', `finish_reason ${finish}`);
  else if (finish === undefined) list.deviation('finish_reason', 'partial_streaming_reliability', 'no chunk carried a finish_reason');
  else list.add('finish_reason', 'fail', `finish_reason must be one of ${[...OPENAI_FINISH_REASONS].join(', ')}, got ${JSON.stringify(finish)}`);

  const usageChunks = chunks.filter((chunk) => isJsonObject(chunk['usage']));
  const usageChunk = usageChunks.at(-1);
  const usage = usageChunk?.['usage'];
  let counted: StreamCheckResult['usage'];
  if (isJsonObject(usage) && isCount(usage['prompt_tokens']) && isCount(usage['completion_tokens'])) {
    counted = { inputTokens: usage['prompt_tokens'], outputTokens: usage['completion_tokens'] };
    const last = usageChunk === chunks.at(-1);
    list.add('usage', last ? 'pass' : 'warn', last ? `usage in the last chunk: ${counted.inputTokens} prompt + ${counted.outputTokens} completion tokens` : 'usage arrived, but not in the last chunk');
  } else {
    list.deviation('usage', 'approximate_token_counts', 'no usage in the stream although stream_options.include_usage was requested');
  }
  const lastChunk = chunks.at(-1);
  if (lastChunk !== undefined) {
    const extensions = Object.keys(lastChunk).filter((key) => !OPENAI_CHUNK_FIELDS.has(key));
    if (extensions.length > 0) list.add('extensions', 'pass', `engine-specific fields in the last chunk: ${extensions.join(', ')}`);
  }
  return { checks: list.checks, ...(counted === undefined ? {} : { usage: counted }), events: payloads.length };
}

function checkAnthropicStream(text: string, expectation: WireExpectation): StreamCheckResult {
  const list = new CheckList(expectation.prefix ?? 'streaming', expectation.declared);
  const events = parseServerSentEvents(text);
  if (events.length === 0) {
    list.deviation('chunks', 'partial_streaming_reliability', 'the stream carried no events at all');
    return { checks: list.checks, events: 0 };
  }
  const malformed: string[] = [];
  const parsed: { event: string; data: Json }[] = [];
  for (const event of events) {
    const data = parseObject(event.data);
    if (data === undefined || event.event === undefined || data['type'] !== event.event) malformed.push(`${event.event ?? '(no event)'} ${event.data.slice(0, 40)}`);
    else parsed.push({ event: event.event, data });
  }
  if (malformed.length > 0) list.deviation('chunks', 'partial_streaming_reliability', `${countOf(malformed.length, 'malformed event')}, e.g. ${malformed[0]}`);
  else list.add('chunks', 'pass', `${countOf(parsed.length, 'well-formed event')}, each data.type equal to its event name`);

  const names = parsed.map((entry) => entry.event);
  list.require('message-start', names[0] === 'message_start', 'starts with message_start', 'the first event must be message_start');
  const last = names.at(-1);
  if (last === 'message_stop') list.add('terminal-marker', 'pass', 'ends with message_stop');
  else list.deviation('terminal-marker', 'partial_streaming_reliability', `the stream ended with ${last ?? 'nothing'} instead of message_stop`);

  const start = parsed.find((entry) => entry.event === 'message_start')?.data['message'];
  const delta = parsed.filter((entry) => entry.event === 'message_delta').at(-1)?.data;
  const stop = isJsonObject(delta?.['delta']) ? delta['delta']['stop_reason'] : undefined;
  if (typeof stop === 'string' && ANTHROPIC_STOP_REASONS.has(stop)) list.add('finish_reason', 'pass', `stop_reason ${stop}`);
  else list.deviation('finish_reason', 'partial_streaming_reliability', 'no message_delta carried a stop_reason');

  const inputTokens = isJsonObject(start) && isJsonObject(start['usage']) ? start['usage']['input_tokens'] : undefined;
  const outputTokens = isJsonObject(delta?.['usage']) ? delta['usage']['output_tokens'] : undefined;
  let counted: StreamCheckResult['usage'];
  if (isCount(inputTokens) && isCount(outputTokens)) {
    counted = { inputTokens, outputTokens };
    list.add('usage', 'pass', `usage in message_start / message_delta: ${inputTokens} input + ${outputTokens} output tokens`);
  } else {
    list.deviation('usage', 'approximate_token_counts', 'message_start / message_delta carried no integer token counts');
  }
  return { checks: list.checks, ...(counted === undefined ? {} : { usage: counted }), events: events.length };
}

/** What a tool-call check expects: the one tool offered. */
export interface ToolExpectation extends WireExpectation {
  toolName: string;
  /**
   * The request forced the tool (`required`, or a named one). An OpenAI-wire server may then end
   * with `stop` beside the call — vLLM does (only an `auto` choice's parsed calls get `tool_calls`),
   * as OpenAI's API does for a named function — which clients read by the call itself (the gateway
   * answers Anthropic clients `tool_use`): not a deviation.
   */
  forced?: boolean;
}

/**
 * Tool calls in the raw bytes (non-streamed body or SSE text): arguments JSON text (OpenAI) or
 * an `input` object (Anthropic), ids present, finish reason `tool_calls` / `tool_use`.
 * Returns `inconclusive` when the model answered in text instead.
 */
export function checkToolCalls(raw: string, streamed: boolean, expectation: ToolExpectation): ProbeCheck[] {
  const calls = streamed ? toolCallsFromStream(raw, expectation.wire) : toolCallsFromBody(raw, expectation.wire);
  const list = new CheckList(expectation.prefix ?? 'tool-calls', expectation.declared);
  const mode = streamed ? 'streamed' : 'non-streamed';
  if (calls.calls.length === 0) {
    list.add('present', 'inconclusive', `the ${mode} answer called no tool (finish ${calls.finish ?? 'none'}): tool support could not be judged`);
    return list.checks;
  }
  const call = calls.calls[0]!;
  if (call.name !== expectation.toolName) list.add('name', 'fail', `called ${JSON.stringify(call.name)}, but only ${expectation.toolName} was offered`);
  else list.add('name', 'pass', `called ${call.name}`);
  if (call.id === undefined || call.id === '') list.deviation('id', 'nonstandard_tool_call_serialization', `the ${mode} tool call carries no id`);
  else list.add('id', 'pass', `tool call id ${call.id}`);

  const expectedKind = expectation.wire === 'anthropic' ? 'object' : 'string';
  // A call cut off by the token budget says nothing about how the engine serialises complete ones.
  const truncated = calls.finish === 'length' || calls.finish === 'max_tokens';
  const argumentsParse = expectation.wire === 'anthropic' ? !call.argumentKinds.includes('invalid') : parseObject(call.argumentsText === '' ? '{}' : call.argumentsText) !== undefined;
  if (truncated && !argumentsParse) {
    list.add('arguments', 'inconclusive', `the ${mode} tool call was cut off by max_tokens (finish ${calls.finish ?? ''}) before its arguments closed: ${call.argumentsText.slice(0, 60)}`);
    list.add('finish_reason', 'inconclusive', `finish reason ${calls.finish ?? ''}: the token budget ended the call`);
    return list.checks;
  }
  if (call.argumentKinds.some((kind) => kind !== expectedKind)) {
    list.deviation(
      'arguments',
      'nonstandard_tool_call_serialization',
      expectation.wire === 'anthropic' ? `tool_use input is ${call.argumentKinds.join('/')}, not an object` : `arguments arrived as a JSON ${call.argumentKinds.filter((kind) => kind !== 'string').join('/')}, not as JSON text (${mode})`,
    );
  } else if (expectation.wire === 'openai' && parseObject(call.argumentsText === '' ? '{}' : call.argumentsText) === undefined) {
    list.deviation('arguments', 'nonstandard_tool_call_serialization', `arguments are not a JSON object: ${call.argumentsText.slice(0, 80)}`);
  } else {
    list.add('arguments', 'pass', expectation.wire === 'anthropic' ? 'input is a JSON object' : `arguments are JSON text: ${call.argumentsText.slice(0, 80)}`);
  }
  const wanted = expectation.wire === 'anthropic' ? 'tool_use' : 'tool_calls';
  if (calls.finish === wanted) list.add('finish_reason', 'pass', `finish reason ${wanted}`);
  else if (calls.finish === 'stop' && expectation.wire === 'openai' && expectation.forced === true) {
    list.add('finish_reason', 'pass', 'finish reason stop beside the forced tool call, as vLLM and OpenAI answer a forced tool choice');
  } else if (truncated) list.add('finish_reason', 'inconclusive', `finish reason ${calls.finish ?? ''}: the token budget ended the answer after the call`);
  else list.deviation('finish_reason', 'nonstandard_tool_call_serialization', `finish reason ${calls.finish ?? 'missing'} instead of ${wanted} beside a tool call`);
  return list.checks;
}

interface RawToolCall {
  id?: string;
  name: string;
  /** typeof of each arguments value as it arrived (`string`, `object`, ...). */
  argumentKinds: string[];
  argumentsText: string;
}

function toolCallsFromBody(body: string, wire: WireFormat): { calls: RawToolCall[]; finish?: string } {
  const parsed = parseObject(body);
  if (parsed === undefined) return { calls: [] };
  if (wire === 'anthropic') {
    const content = Array.isArray(parsed['content']) ? parsed['content'].filter(isJsonObject) : [];
    const calls = content
      .filter((block) => block['type'] === 'tool_use')
      .map((block): RawToolCall => ({
        ...(typeof block['id'] === 'string' ? { id: block['id'] } : {}),
        name: String(block['name'] ?? ''),
        argumentKinds: [typeName(block['input'])],
        argumentsText: JSON.stringify(block['input'] ?? null),
      }));
    return { calls, ...(typeof parsed['stop_reason'] === 'string' ? { finish: parsed['stop_reason'] } : {}) };
  }
  const choice = Array.isArray(parsed['choices']) ? parsed['choices'][0] : undefined;
  if (!isJsonObject(choice)) return { calls: [] };
  const message = isJsonObject(choice['message']) ? choice['message'] : {};
  const rawCalls = Array.isArray(message['tool_calls']) ? message['tool_calls'].filter(isJsonObject) : [];
  const calls = rawCalls.map((call): RawToolCall => {
    const fn = isJsonObject(call['function']) ? call['function'] : {};
    const value = fn['arguments'];
    return {
      ...(typeof call['id'] === 'string' ? { id: call['id'] } : {}),
      name: String(fn['name'] ?? ''),
      argumentKinds: [typeName(value)],
      argumentsText: typeof value === 'string' ? value : JSON.stringify(value ?? null),
    };
  });
  return { calls, ...(typeof choice['finish_reason'] === 'string' ? { finish: choice['finish_reason'] } : {}) };
}

function toolCallsFromStream(text: string, wire: WireFormat): { calls: RawToolCall[]; finish?: string } {
  const calls = new Map<number, RawToolCall>();
  let finish: string | undefined;
  for (const event of parseServerSentEvents(text)) {
    const data = parseObject(event.data);
    if (data === undefined) continue;
    if (wire === 'anthropic') {
      if (data['type'] === 'content_block_start' && isJsonObject(data['content_block']) && data['content_block']['type'] === 'tool_use') {
        const block = data['content_block'];
        calls.set(Number(data['index'] ?? calls.size), {
          ...(typeof block['id'] === 'string' ? { id: block['id'] } : {}),
          name: String(block['name'] ?? ''),
          argumentKinds: ['object'],
          argumentsText: '',
        });
      } else if (data['type'] === 'content_block_delta' && isJsonObject(data['delta']) && data['delta']['type'] === 'input_json_delta') {
        const call = calls.get(Number(data['index'] ?? 0));
        if (call !== undefined) call.argumentsText += String(data['delta']['partial_json'] ?? '');
      } else if (data['type'] === 'message_delta' && isJsonObject(data['delta']) && typeof data['delta']['stop_reason'] === 'string') {
        finish = data['delta']['stop_reason'];
      }
      continue;
    }
    const choice = Array.isArray(data['choices']) ? data['choices'][0] : undefined;
    if (!isJsonObject(choice)) continue;
    if (typeof choice['finish_reason'] === 'string') finish = choice['finish_reason'];
    const delta = isJsonObject(choice['delta']) ? choice['delta'] : {};
    const rawCalls = Array.isArray(delta['tool_calls']) ? delta['tool_calls'].filter(isJsonObject) : [];
    rawCalls.forEach((rawCall, position) => {
      const index = typeof rawCall['index'] === 'number' ? rawCall['index'] : position;
      const call = calls.get(index) ?? { name: '', argumentKinds: [], argumentsText: '' };
      if (typeof rawCall['id'] === 'string' && rawCall['id'] !== '' && call.id === undefined) call.id = rawCall['id'];
      const fn = isJsonObject(rawCall['function']) ? rawCall['function'] : {};
      if (typeof fn['name'] === 'string' && fn['name'] !== '' && call.name === '') call.name = fn['name'];
      const value = fn['arguments'];
      if (value !== undefined) {
        call.argumentKinds.push(typeName(value));
        call.argumentsText += typeof value === 'string' ? value : JSON.stringify(value);
      }
      calls.set(index, call);
    });
  }
  if (wire === 'anthropic') {
    for (const call of calls.values()) {
      if (call.argumentsText !== '' && parseObject(call.argumentsText) === undefined) call.argumentKinds = ['invalid'];
    }
  }
  return { calls: [...calls.entries()].sort(([left], [right]) => left - right).map(([, call]) => call), ...(finish === undefined ? {} : { finish }) };
}
