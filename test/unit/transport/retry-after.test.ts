import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationSeconds, rateLimitResetSeconds, retryAfterSeconds, waitAskedFor } from '../../../src/transport/retry-after.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'engines');
const capturedHeaders = (engine: string): Record<string, string> => JSON.parse(readFileSync(join(FIXTURES, engine, 'rate-limit.headers.json'), 'utf8')) as Record<string, string>;

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');

  it('reads seconds, OpenAI’s retry-after-ms (which wins), and an HTTP date', () => {
    expect(retryAfterSeconds({ 'retry-after': '7' }, now)).toBe(7);
    expect(retryAfterSeconds({ 'retry-after': '0.5' }, now)).toBe(0.5);
    expect(retryAfterSeconds({ 'retry-after': '7', 'retry-after-ms': '1500' }, now)).toBe(1.5);
    expect(retryAfterSeconds({ 'retry-after': 'Fri, 04 Dec 2026 12:00:30 GMT' }, now)).toBe(30);
    // A date already past means now, never a negative wait.
    expect(retryAfterSeconds({ 'retry-after': 'Fri, 04 Dec 2026 11:00:00 GMT' }, now)).toBe(0);
  });

  it('is undefined when the upstream said nothing usable', () => {
    expect(retryAfterSeconds({}, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': '' }, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': '-3' }, now)).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after-ms': 'x' }, now)).toBeUndefined();
  });
});

describe('rateLimitResetSeconds: a 429 without retry-after waits for the exhausted limit to reset', () => {
  it('Anthropic: the exhausted limits’ RFC 3339 resets, measured against the answer’s own date', () => {
    const headers = capturedHeaders('anthropic');
    // Input tokens (and so tokens) are at 0 and reset at 12:40:59; the answer is dated 12:40:30.
    // Requests and output tokens, not exhausted, reset a second later: not what refused the call.
    expect(rateLimitResetSeconds(headers, Date.parse('2025-08-21T12:40:30Z'))).toBe(29);
    // The host clock is 10 minutes ahead of Anthropic's: the wait is still Anthropic's 29 s.
    expect(rateLimitResetSeconds(headers, Date.parse('2025-08-21T12:50:30Z'))).toBe(29);
    // Without a date, the host clock is the reference.
    const { date: _date, ...undated } = headers;
    expect(rateLimitResetSeconds(undated, Date.parse('2025-08-21T12:40:49Z'))).toBe(10);
  });

  it('OpenAI: the exhausted limit’s Go duration (`6m0s`), not the requests limit that resets in 12 ms', () => {
    expect(rateLimitResetSeconds(capturedHeaders('openai'))).toBe(360);
  });

  it('when no limit says 0 remaining (Anthropic rounds tokens to the thousand), the longest reset of all', () => {
    expect(
      rateLimitResetSeconds({
        'x-ratelimit-remaining-requests': '12',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': '880',
        'x-ratelimit-reset-tokens': '20ms',
      }),
    ).toBe(1);
    const now = Date.parse('2025-08-21T12:40:30Z');
    expect(
      rateLimitResetSeconds(
        { 'anthropic-ratelimit-tokens-remaining': '1000', 'anthropic-ratelimit-tokens-reset': '2025-08-21T12:40:45Z', 'anthropic-ratelimit-requests-reset': '2025-08-21T12:40:31.500+00:00' },
        now,
      ),
    ).toBe(15);
  });

  it('is undefined when there is no usable reset: absent, malformed, or already past', () => {
    const now = Date.parse('2025-08-21T12:40:30Z');
    expect(rateLimitResetSeconds({}, now)).toBeUndefined();
    expect(rateLimitResetSeconds({ 'anthropic-ratelimit-requests-reset': 'soon', 'x-ratelimit-reset-tokens': '6 minutes' }, now)).toBeUndefined();
    expect(rateLimitResetSeconds({ 'anthropic-ratelimit-requests-reset': 'Thu, 21 Aug 2025 12:41:00 GMT' }, now)).toBeUndefined();
    expect(rateLimitResetSeconds({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': '2025-08-21T12:40:00Z' }, now)).toBeUndefined();
    expect(rateLimitResetSeconds({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '0s' }, now)).toBeUndefined();
  });
});

describe('waitAskedFor', () => {
  const now = Date.parse('2025-08-21T12:40:30Z');

  it('prefers retry-after; reads the resets for a 429 only (other answers carry them too, about nothing that failed)', () => {
    const headers = capturedHeaders('anthropic');
    expect(waitAskedFor(429, { ...headers, 'retry-after': '4' }, now)).toBe(4);
    expect(waitAskedFor(429, headers, now)).toBe(29);
    expect(waitAskedFor(529, headers, now)).toBeUndefined();
    expect(waitAskedFor(200, capturedHeaders('openai'), now)).toBeUndefined();
  });
});

describe('durationSeconds', () => {
  it('reads the Go durations OpenAI writes', () => {
    expect(durationSeconds('6m0s')).toBe(360);
    expect(durationSeconds('1s')).toBe(1);
    expect(durationSeconds('20ms')).toBeCloseTo(0.02);
    expect(durationSeconds('1h2m3.5s')).toBe(3723.5);
    expect(durationSeconds('7.2s')).toBeCloseTo(7.2);
    expect(durationSeconds('150µs')).toBeCloseTo(0.00015);
  });

  it('is undefined for anything else', () => {
    for (const text of ['', '6', '6 m', 'm', '1d', '-1s', 'soon', '1s2']) expect(durationSeconds(text), text).toBeUndefined();
  });
});
