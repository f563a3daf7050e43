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

/**
 * Request headers with every credential-bearing value replaced by `[redacted]`. Names keep their
 * case. `credential`: the provider's key the request was sent with; a header carrying it is
 * redacted whatever its name (a record's `auth.header` may name any header).
 */
export function redactRequestHeaders(headers: Readonly<Record<string, string>>, credential?: string): Record<string, string> {
  const redacted: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) redacted[name] = isSecretRequestHeader(name) || carries(value, credential) ? REDACTED : value;
  return redacted;
}

/** Response headers with cookies and credential-like values replaced by `[redacted]`; with `credential`, any header quoting it too. */
export function redactResponseHeaders(headers: Readonly<Record<string, string>>, credential?: string): Record<string, string> {
  const redacted: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) redacted[name] = isSecretResponseHeader(name) || carries(value, credential) ? REDACTED : value;
  return redacted;
}

function carries(value: string, credential: string | undefined): boolean {
  return credential !== undefined && credential !== '' && value.includes(credential);
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

/**
 * A credential shorter than this is not searched for, nor is a run of fewer of its characters: replacing
 * a few common characters would garble the text and hide nothing.
 */
const SHORTEST_REDACTED_CREDENTIAL = 8;

/** The visible end of a masked key (`sk-proj-****…wxyz`, `sk-a...wxyz`) that identifies it: OpenAI shows four characters. */
const SHORTEST_MASKED_END = 4;

/** A word holding a mask (three or more `*`, `•` or `.`, or `…`) between what it shows of a key. */
const MASKED_WORD = /[^\s"'`,;:()[\]{}<>]*(?:[*•]{3,}|\.{3,}|…)[^\s"'`,;:()[\]{}<>]*/gu;
const MASK_RUN = /[*•]{3,}|\.{3,}|…/u;
const LAST_MASK_RUN = /(?:[*•]{3,}|\.{3,}|…)(?!.*(?:[*•]{3,}|\.{3,}|…))/u;

/**
 * `text` (an upstream's error message, in its status answer or in its stream) with the key syndicate
 * sent redacted wherever it is quoted: whole (`Incorrect API key provided: sk-…`), in part (a run of
 * at least 8 of its characters), or masked with its ends shown (`sk-proj-****…wxyz`), each replaced by
 * `[redacted]`. The message is printed, stored in evidence and returned to gateway clients.
 */
export function redactCredential(text: string, credential: string | undefined): string {
  if (credential === undefined || credential.length < SHORTEST_REDACTED_CREDENTIAL) return text;
  const whole = text.split(credential).join(REDACTED);
  return redactCredentialRuns(redactMaskedCredential(whole, credential), credential);
}

/** Each masked word whose shown start or end is the credential's. */
function redactMaskedCredential(text: string, credential: string): string {
  return text.replace(MASKED_WORD, (matched) => {
    // A sentence's full stop after the shown end is not part of it (an ellipsis is a mask).
    const fullStop = /[^.]\.$/u.test(matched) ? '.' : '';
    const word = matched.slice(0, matched.length - fullStop.length);
    const head = word.slice(0, word.search(MASK_RUN));
    const lastMask = LAST_MASK_RUN.exec(word);
    const tail = lastMask === null ? '' : word.slice(lastMask.index + lastMask[0].length);
    const shownStart = head.length >= SHORTEST_MASKED_END && credential.startsWith(head);
    const shownEnd = tail.length >= SHORTEST_MASKED_END && credential.endsWith(tail);
    return shownStart || shownEnd ? REDACTED + fullStop : matched;
  });
}

/** Every run of at least `SHORTEST_REDACTED_CREDENTIAL` characters of `text` that occurs in the credential. */
function redactCredentialRuns(text: string, credential: string): string {
  let output = '';
  let index = 0;
  while (index < text.length) {
    let end = index + SHORTEST_REDACTED_CREDENTIAL;
    if (end <= text.length && credential.includes(text.slice(index, end))) {
      while (end < text.length && credential.includes(text.slice(index, end + 1))) end += 1;
      output += REDACTED;
      index = end;
    } else {
      output += text[index];
      index += 1;
    }
  }
  return output;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
