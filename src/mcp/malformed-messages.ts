import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { isRecord, MAX_JSON_NESTING, pointerPastNesting, tryParseJson } from '../wire/json.js';
import type { DroppedMessage } from './bounded-lines.js';

/** JSON-RPC 2.0's codes for a line that is not JSON, and for JSON that is not a request. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/**
 * Answers what the SDK's stdio transport only reports to `onerror` and drops: a line that is not
 * JSON gets a Parse error (-32700), JSON that is not a JSON-RPC 2.0 message an Invalid Request
 * (-32600), both with `id: null` as JSON-RPC 2.0 requires when the id cannot be known — so a
 * client that sent garbage hears why instead of waiting for an answer that never comes. Set before
 * `connect`: the SDK's Protocol keeps a handler that was already there.
 */
export function answerMalformedMessages(transport: Transport): void {
  const previous = transport.onerror;
  transport.onerror = (error: Error) => {
    previous?.(error);
    const code = error instanceof SyntaxError ? PARSE_ERROR : error.name.includes('ZodError') ? INVALID_REQUEST : undefined;
    if (code === undefined) return;
    const message = code === PARSE_ERROR ? `Parse error: ${error.message}` : 'Invalid Request: not a JSON-RPC 2.0 message (jsonrpc "2.0" with a method, or a result or error with an id)';
    // `id: null` is what JSON-RPC 2.0 prescribes here; the SDK's types only know string and number ids.
    const answer = { jsonrpc: '2.0', id: null, error: { code, message } } as unknown as JSONRPCMessage;
    transport.send(answer).catch(() => undefined);
  };
}

/**
 * The answer to a message `boundedLines` dropped as too long: Invalid Request (-32600) to the
 * request whose id its end gave (so the client's call fails at once, saying why), else `id: null`.
 */
export function answerTooLongMessage(transport: Transport, message: DroppedMessage, limitBytes: number): void {
  const mebibytes = (bytes: number): string => `${Math.ceil((bytes / (1024 * 1024)) * 10) / 10} MiB`;
  const answer = {
    jsonrpc: '2.0',
    id: message.id,
    error: {
      code: INVALID_REQUEST,
      message: `Invalid Request: the message is over ${mebibytes(limitBytes)} (${mebibytes(message.bytes)}), the most syndicate reads, as the gateway's body limit: send smaller images or a shorter prompt`,
    },
  } as unknown as JSONRPCMessage;
  transport.send(answer).catch(() => undefined);
}

/**
 * The answer to a message (an HTTP body or a stdio line, already framed) whose arrays and objects nest
 * more than `MAX_JSON_NESTING` deep — which the SDK's own validation would overflow the stack on, and
 * which the gateway's readers refuse as well: Invalid Request (-32600) naming the limit and the field,
 * to the request's id when it has one. Undefined for any other text (not JSON included: the SDK answers that).
 */
export function tooDeeplyNestedAnswer(text: string): JSONRPCMessage | undefined {
  // Parsed only when it has enough brackets to nest that deep: most messages are not read twice.
  if (!hasMoreOpeningBrackets(text, MAX_JSON_NESTING)) return undefined;
  const parsed = tryParseJson(text);
  const pointer = pointerPastNesting(parsed);
  if (pointer === undefined) return undefined;
  const id = isRecord(parsed) && (typeof parsed.id === 'string' || typeof parsed.id === 'number') ? parsed.id : null;
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: INVALID_REQUEST,
      message: `Invalid Request: ${pointer === '' ? 'the message' : pointer} nests arrays and objects more than ${MAX_JSON_NESTING} levels deep, the most syndicate reads: send arguments nested at most ${MAX_JSON_NESTING} levels deep`,
    },
  } as unknown as JSONRPCMessage;
}

/** Whether `text` holds more than `count` of `{` and `[` (strings included: an upper bound of its nesting). */
function hasMoreOpeningBrackets(text: string, count: number): boolean {
  let seen = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if ((code === 0x7b || code === 0x5b) && ++seen > count) return true;
  }
  return false;
}
