/**
 * How long an upstream asked its caller to wait, in seconds, from `retry-after-ms` (OpenAI's,
 * milliseconds) or `retry-after` (seconds, or an HTTP date); undefined when it said nothing usable.
 */
export function retryAfterSeconds(headers: Readonly<Record<string, string>>, now = Date.now()): number | undefined {
  const milliseconds = Number(headers['retry-after-ms']);
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds / 1000;
  const value = headers['retry-after']?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  // An HTTP date names its weekday and month; a bare number such as "-3" is not one.
  if (!/[A-Za-z]{3}/.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** Anthropic's rate limits, each with `anthropic-ratelimit-<limit>-remaining` and `-reset` (an RFC 3339 time). */
const ANTHROPIC_LIMITS = ['requests', 'tokens', 'input-tokens', 'output-tokens'] as const;
/** OpenAI's, each with `x-ratelimit-remaining-<limit>` and `x-ratelimit-reset-<limit>` (a Go duration: `6m0s`, `1s`, `20ms`). */
const OPENAI_LIMITS = ['requests', 'tokens'] as const;

/**
 * How long an upstream asked its caller to wait, in seconds: its `retry-after` (`retryAfterSeconds`),
 * else — for a 429 only — when its rate limit is back (`rateLimitResetSeconds`); undefined when it
 * said neither.
 */
export function waitAskedFor(status: number, headers: Readonly<Record<string, string>>, now = Date.now()): number | undefined {
  return retryAfterSeconds(headers, now) ?? (status === 429 ? rateLimitResetSeconds(headers, now) : undefined);
}

/**
 * Seconds until the rate limit that refused a request is replenished, from the reset headers a
 * provider sends with every answer: Anthropic's `anthropic-ratelimit-{requests,tokens,input-tokens,
 * output-tokens}-reset` ("the time when the rate limit will be fully replenished, provided in RFC
 * 3339 format", docs.anthropic.com/en/api/rate-limits), measured against the answer's own `date`
 * when it has one (the provider's clock: a skewed host clock neither stretches nor cuts the wait);
 * OpenAI's `x-ratelimit-reset-{requests,tokens}` ("the time until the rate limit resets to its
 * initial state", a duration such as `6m0s`). Which limit refused is the one whose `remaining`
 * is 0; when none says 0 (Anthropic rounds token counts to the thousand, and a request may need
 * more than what is left), every limit reported may be the one: the longest wait is taken, as it
 * is among several exhausted ones. Resets already past count for nothing.
 */
export function rateLimitResetSeconds(headers: Readonly<Record<string, string>>, now = Date.now()): number | undefined {
  const limits: { remaining: string | undefined; seconds: number | undefined }[] = [];
  const date = headers['date'] === undefined ? Number.NaN : Date.parse(headers['date']);
  const clock = Number.isNaN(date) ? now : date;
  for (const limit of ANTHROPIC_LIMITS) {
    const reset = headers[`anthropic-ratelimit-${limit}-reset`];
    const at = reset === undefined || !RFC_3339.test(reset.trim()) ? Number.NaN : Date.parse(reset.trim());
    limits.push({ remaining: headers[`anthropic-ratelimit-${limit}-remaining`], seconds: Number.isNaN(at) ? undefined : (at - clock) / 1000 });
  }
  for (const limit of OPENAI_LIMITS) {
    const reset = headers[`x-ratelimit-reset-${limit}`];
    limits.push({ remaining: headers[`x-ratelimit-remaining-${limit}`], seconds: reset === undefined ? undefined : durationSeconds(reset) });
  }
  const reported = limits.filter((limit): limit is { remaining: string | undefined; seconds: number } => limit.seconds !== undefined && limit.seconds > 0);
  const exhausted = reported.filter((limit) => limit.remaining?.trim() === '0');
  const waits = (exhausted.length > 0 ? exhausted : reported).map((limit) => limit.seconds);
  return waits.length === 0 ? undefined : Math.max(...waits);
}

/** `2025-08-21T12:40:59Z`, `2025-08-21T12:40:59.123+02:00`: a full RFC 3339 date-time. */
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const DURATION_UNIT_SECONDS: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ns: 1e-9 };

/** A Go duration as OpenAI writes its resets (`6m0s`, `1h2m3.5s`, `1s`, `20ms`), in seconds; undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  const value = text.trim();
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|μs|ns))+$/.test(value)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|μs|ns)/g)) seconds += Number(amount) * (DURATION_UNIT_SECONDS[unit ?? ''] ?? Number.NaN);
  return Number.isFinite(seconds) ? seconds : undefined;
}
