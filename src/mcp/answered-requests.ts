import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse, type RequestId } from '@modelcontextprotocol/sdk/types.js';

/** What `followRequests` gives: when every request read from the client's input has had its answer. */
export interface RequestsFollowed {
  /**
   * Settles once `input` has ended (every line the client sent was handed to the server) and every
   * request among them was answered — or cancelled by the client (`notifications/cancelled`,
   * which the server does not answer).
   */
  allAnswered(input: Readable): Promise<void>;
}

/**
 * Follows the requests `transport` hands the server and the answers the server sends back, so that
 * a client that closed stdin right after its last request (`printf '%s\n' … | syndicate mcp`, as
 * the MCP stdio shutdown starts) still gets every answer before the server stops, as the SDK's
 * reference servers do. Set before `connect`: the SDK's Protocol keeps an `onmessage` that was
 * already there, and calls it first.
 */
export function followRequests(transport: Transport): RequestsFollowed {
  const unanswered = new Set<RequestId>();
  let settled: (() => void) | undefined;
  const check = (): void => {
    if (unanswered.size === 0) settled?.();
  };
  const previous = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message)) unanswered.add(message.id);
    else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (requestId !== undefined) unanswered.delete(requestId);
      check();
    }
    previous?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    try {
      await send(message, options);
    } finally {
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
        unanswered.delete(message.id as RequestId);
        check();
      }
    }
  };
  return {
    async allAnswered(input) {
      if (!input.readableEnded) await once(input, 'end');
      if (unanswered.size === 0) return;
      await new Promise<void>((resolve) => (settled = resolve));
    },
  };
}
