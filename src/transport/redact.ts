/**
 * Redaction of credentials from what the transport hands to evidence and puts in messages.
 * Request headers are redacted broadly (any name mentioning key, token, secret or auth);
 * response headers narrowly, so rate-limit headers such as `x-ratelimit-remaining-tokens`
 * stay in the evidence.
 */

export const REDACTED = '[redacted]';

const REQUEST_SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'proxy-authorization', 'cookie']);
const REQUEST_SECRET_PATTERN = /key|token|secret|auth/i;

const RESPONSE_SECRET_HEADERS = new Set([
  'set-cookie',
  'cookie',
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
]);
const RESPONSE_SECRET_PATTERN = /secret|api[-_]?key|access[-_]?token|session[-_]?token|security[-_]?token/i;

const QUERY_SECRET_PATTERN = /key|token|secret|auth|signature|sig$/i;

export function isSecretRequestHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return REQUEST_SECRET_HEADERS.has(lower) || REQUEST_SECRET_PATTERN.test(lower);
}

export function isSecretResponseHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESPONSE_SECRET_HEADERS.has(lower) || RESPONSE_SECRET_PATTERN.test(lower);
}

/** Request headers with every credential-bearing value replaced by `[redacted]`. Names keep their case. */
export function redactRequestHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const redacted: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) redacted[name] = isSecretRequestHeader(name) ? REDACTED : value;
  return redacted;
}

/** Response headers with cookies and credential-like values replaced by `[redacted]`. */
export function redactResponseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const redacted: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) redacted[name] = isSecretResponseHeader(name) ? REDACTED : value;
  return redacted;
}

/**
 * The URL with user info and credential-like query parameters (`?key=`, `?access_token=`)
 * redacted, everything else byte for byte. Text that is not a URL is returned unchanged.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const userInfo = parsed.username !== '' || parsed.password !== '' ? `${REDACTED}@` : '';
  const queryStart = url.indexOf('?');
  const hashStart = url.indexOf('#');
  let query = '';
  if (queryStart !== -1) {
    const raw = url.slice(queryStart + 1, hashStart > queryStart ? hashStart : undefined);
    query = `?${raw
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        const name = equals === -1 ? pair : pair.slice(0, equals);
        return equals !== -1 && QUERY_SECRET_PATTERN.test(decodeURIComponentSafe(name)) ? `${name}=${REDACTED}` : pair;
      })
      .join('&')}`;
  }
  return `${parsed.protocol}//${userInfo}${parsed.host}${parsed.pathname}${query}`;
}

/** A credential shorter than this is not searched for: replacing a few common characters would garble the text and hide nothing. */
const SHORTEST_REDACTED_CREDENTIAL = 8;

/**
 * `text` (an upstream's error message) with every occurrence of `credential` (the key syndicate
 * sent) replaced by `[redacted]`: some servers quote the key they refused (`Incorrect API key
 * provided: sk-…`), and the message is printed, stored in evidence and returned to gateway clients.
 */
export function redactCredential(text: string, credential: string | undefined): string {
  if (credential === undefined || credential.length < SHORTEST_REDACTED_CREDENTIAL) return text;
  return text.split(credential).join(REDACTED);
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
