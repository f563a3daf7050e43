import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { SyndicateError } from '../errors.js';
import { tooDeeplyNestedAnswer } from './malformed-messages.js';
import { createMcpServer, type McpServerOptions } from './server.js';

/** The request headers the transport reads; nothing else (the gateway token above all) is handed on to the tools. */
const PROTOCOL_HEADERS = ['accept', 'content-type', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id'] as const;

/** One HTTP request to `/mcp` as the gateway received it, its body read within the gateway's limit. */
export interface McpHttpRequest {
  method: string;
  body: string;
  header(name: string): string | undefined;
  /**
   * Aborted when the client goes away (its calls are cancelled as by the client) or by the
   * gateway's stop (with the gateway's reason, which their evidence then gives).
   */
  signal: AbortSignal;
}

/** The answer to one `/mcp` request. */
export interface McpHttpExchange {
  /** The transport's own answer: SSE for requests, 202 for notifications, its JSON-RPC errors. */
  response: Response;
  /** Resolves once the answer's body ended or was cancelled and every call it made ended, its evidence completed. */
  ended: Promise<void>;
}

/** Answers one `/mcp` request: the gateway's MCP endpoint. */
export type McpHttpEndpoint = (request: McpHttpRequest) => Promise<McpHttpExchange>;

/**
 * The MCP server over Streamable HTTP, in the SDK's stateless mode: each request gets its own
 * server and transport, on the pipeline given (the gateway's), and they close once its answer is
 * out. Stateless because every tool is one request and one answer: nothing here sends requests
 * to the client or needs a resumable stream, progress notifications travel on the POST's own SSE
 * answer, and there is no per-client state to keep, bound or expire. What the mode costs: a
 * `notifications/cancelled` arrives on a request of its own, to a server that never saw the call,
 * so a client stops a call by closing its connection, which cancels it as it does the gateway's streams,
 * and no `notifications/tools/list_changed` can ever reach a client: `tools.listChanged` is false here.
 */
export function mcpHttpEndpoint(options: McpServerOptions & Required<Pick<McpServerOptions, 'pipeline'>> & { bodyLimitBytes: number }): McpHttpEndpoint {
  const { bodyLimitBytes, ...serverOptions } = options;
  return async (request) => {
    // Refused before the SDK, whose validation of a body nested thousands deep overflows the stack.
    const tooDeep = request.method === 'POST' ? tooDeeplyNestedAnswer(request.body) : undefined;
    if (tooDeep !== undefined) {
      return { response: new Response(JSON.stringify(tooDeep), { status: 400, headers: { 'content-type': 'application/json' } }), ended: Promise.resolve() };
    }
    const mcp = createMcpServer(serverOptions);
    // The tools' registration advertised `listChanged` (true on stdio); a stateless server lives for one
    // request and has no channel to the client afterwards, so it can never send that notification.
    mcp.server.server.registerCapabilities({ tools: { listChanged: false } });
    // The gateway enforced its own limit on the body already; the SDK's (4 MiB by default) must not be tighter.
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, maxRequestBodySize: bodyLimitBytes });
    await mcp.connect(transport);
    let announceEnd!: () => void;
    const ended = new Promise<void>((resolve) => {
      announceEnd = resolve;
    });
    let closing = false;
    const close = (): void => {
      if (closing) return;
      closing = true;
      request.signal.removeEventListener('abort', onAbort);
      // Closing aborts the calls still running (cancelled by the client, unless the gateway's stop cancelled them first).
      void mcp.server
        .close()
        .then(() => mcp.settled())
        .finally(announceEnd);
    };
    const onAbort = (): void => {
      if (request.signal.reason instanceof SyndicateError) mcp.cancel(request.signal.reason);
      close();
    };
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });

    let response: Response;
    try {
      response = await transport.handleRequest(webRequest(request));
    } catch (error) {
      close();
      throw error;
    }
    const body = response.body;
    if (body === null) {
      close();
      return { response, ended };
    }
    // The exchange ends with its answer: the transport ends an SSE answer once the last response is in it.
    const reader = body.getReader();
    const relayed = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          close();
        } else controller.enqueue(value);
      },
      cancel: async (reason) => {
        close();
        await reader.cancel(reason);
      },
    });
    return { response: new Response(relayed, { status: response.status, headers: response.headers }), ended };
  };
}

/** The request as the SDK's transport takes it: a web Request with the protocol's headers only. */
function webRequest(request: McpHttpRequest): Request {
  const headers = new Headers();
  for (const name of PROTOCOL_HEADERS) {
    const value = request.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  const withBody = request.method !== 'GET' && request.method !== 'HEAD';
  // The URL is only handed to the tools' request info, which none reads.
  return new Request('http://localhost/mcp', { method: request.method, headers, ...(withBody ? { body: request.body } : {}) });
}
