import type { WireHttpRequest, WireTarget } from './adapter.js';

/**
 * The credential header for a wire request. `authorization` carries a bearer token; any
 * other header name (`x-api-key`, `api-key`) carries the key as is.
 */
export function credentialHeaders(defaultHeader: string, apiKey: string | undefined, headerOverride?: string): Record<string, string> {
  if (apiKey === undefined || apiKey === '') return {};
  const header = (headerOverride ?? defaultHeader).toLowerCase();
  return { [header]: header === 'authorization' ? `Bearer ${apiKey}` : apiKey };
}

/** A JSON `POST` to `url` with the target's credential: `accept` says which answer the caller reads (JSON, SSE, NDJSON). */
export function jsonPost(url: string, body: Record<string, unknown>, accept: string, target: WireTarget): WireHttpRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', accept, ...credentialHeaders('authorization', target.apiKey, target.authHeader) },
    body: JSON.stringify(body),
    warnings: [],
  };
}

/** `${baseUrl}${path}` without a doubled slash. */
export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}
