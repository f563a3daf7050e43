import type { GatewayCall, GatewayReply } from './app.js';

/** Response headers a browser script may read: what produced the answer, its evidence, what was ignored or changed. */
const EXPOSED_HEADERS = [
  'x-syndicate-provider',
  'x-syndicate-model',
  'x-syndicate-sensitivity',
  'x-syndicate-evidence',
  'x-syndicate-request',
  'x-request-id',
  'request-id',
  'x-syndicate-ignored-fields',
  'x-syndicate-changed-fields',
  'x-syndicate-token-count',
  'retry-after',
].join(', ');

/**
 * Cross-origin access for browser-based clients served from origins the operator named
 * (`serve --cors-origin`). Only those origins get CORS headers; every request still needs the
 * bearer token (a preflight carries none and answers only what the browser asks: it reaches no
 * route). Other origins get no CORS headers, so browsers keep their scripts out.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.origins = new Set(origins.map(normalizeOrigin));
  }

  /** The request's origin when it is allowed, else undefined. */
  allowedOrigin(call: GatewayCall): string | undefined {
    const origin = call.header('origin');
    return origin !== undefined && this.origins.has(origin.toLowerCase()) ? origin : undefined;
  }

  /** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin. */
  preflight(call: GatewayCall, origin: string): GatewayReply | undefined {
    if (call.method !== 'OPTIONS' || call.header('access-control-request-method') === undefined) return undefined;
    const requested = call.header('access-control-request-headers');
    return {
      status: 204,
      headers: {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, HEAD, POST',
        // The SDKs send their own headers (x-stainless-*, anthropic-version, ...): what was asked is allowed, the token still decides.
        ...(requested === undefined ? {} : { 'access-control-allow-headers': requested }),
        'access-control-max-age': '600',
        vary: 'Origin, Access-Control-Request-Headers',
      },
      body: '',
    };
  }

  /** Adds the CORS headers for an allowed origin to a reply. */
  decorate(reply: GatewayReply, origin: string): GatewayReply {
    return {
      ...reply,
      headers: { ...reply.headers, 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS, vary: 'Origin' },
    };
  }
}

/**
 * `http(s)://host[:port]`, lower-cased, as browsers send it in `Origin`; throws a plain Error
 * naming the problem (the CLI turns it into a usage error).
 */
export function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`"${origin}" is not an origin: write it as scheme://host[:port], e.g. http://localhost:3000`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || origin.endsWith('/')) {
    throw new Error(`"${origin}" is not an origin: write it as scheme://host[:port] with no path, e.g. http://localhost:3000`);
  }
  return url.origin.toLowerCase();
}
