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
