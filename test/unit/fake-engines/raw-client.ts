import { request as httpRequest } from 'node:http';

/** What a plain node:http client received, byte for byte. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  chunks: Buffer[];
  /** Set when the connection failed or broke (reset, hang-up) instead of ending cleanly. */
  error?: NodeJS.ErrnoException;
  /** True when the response ended cleanly. */
  complete: boolean;
}

/** Sends one request with node:http and collects exactly what arrives, even when the connection breaks. */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: RawResponse['headers'] = {};
    let settled = false;
    const finish = (complete: boolean, error?: NodeJS.ErrnoException): void => {
      if (settled) return;
      settled = true;
      const result: RawResponse = { status, headers, body: Buffer.concat(chunks), chunks, complete };
      if (error !== undefined) result.error = error;
      resolve(result);
    };
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const client = httpRequest(url, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(body.length) }), ...options.headers },
      agent: false,
    });
    if (options.timeoutMs !== undefined) {
      client.setTimeout(options.timeoutMs, () => client.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    }
    client.on('response', (response) => {
      status = response.statusCode ?? 0;
      headers = response.headers;
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => finish(true));
      response.on('aborted', () => finish(false, Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
      response.on('error', (error: NodeJS.ErrnoException) => finish(false, error));
      response.on('close', () => finish(response.complete, response.complete ? undefined : Object.assign(new Error('closed before end'), { code: 'ECONNRESET' })));
    });
    client.on('error', (error: NodeJS.ErrnoException) => finish(false, error));
    client.end(body);
  });
}

/** A minimal chat-completions body. */
export function chatBody(model: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'What is the capital of France?' }], ...extra });
}

export const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { location: { type: 'string' }, days: { type: 'integer' } }, required: ['location'] },
  },
};

/** The JSON payloads of an OpenAI-compatible SSE body, `[DONE]` excluded. */
export function dataPayloads(body: Buffer | string): Array<Record<string, any>> {
  return String(body)
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: ') && frame !== 'data: [DONE]')
    .map((frame) => JSON.parse(frame.slice('data: '.length)) as Record<string, any>);
}
