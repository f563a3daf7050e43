import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../../../src/transport/retry-after.js';

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
