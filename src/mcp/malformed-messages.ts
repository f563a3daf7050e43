import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
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
