/**
 * The credential header for a wire request. `authorization` carries a bearer token; any
 * other header name (`x-api-key`, `api-key`) carries the key as is.
 */
export function credentialHeaders(defaultHeader: string, apiKey: string | undefined, headerOverride?: string): Record<string, string> {
  if (apiKey === undefined || apiKey === '') return {};
  const header = (headerOverride ?? defaultHeader).toLowerCase();
  return { [header]: header === 'authorization' ? `Bearer ${apiKey}` : apiKey };
}

/** `${baseUrl}${path}` without a doubled slash. */
export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}
