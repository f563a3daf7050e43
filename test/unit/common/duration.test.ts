import { describe, expect, it } from 'vitest';
import { formatDuration, MAXIMUM_DURATION_MS, MAXIMUM_TIMEOUT_MS, parseDuration, parseTimeout } from '../../../src/common/duration.js';
import { UsageError } from '../../../src/errors.js';

function usageError(action: () => unknown): UsageError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseDuration', () => {
  it('reads every unit', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('0')).toBe(0);
  });

  it('refuses a bare number (a window or a lifetime: 30 days? 30 minutes?), naming the units it could have meant', () => {
    const error = usageError(() => parseDuration('90', '--older-than', { minimumMs: 1 }));
    expect(error.message).toBe('--older-than "90" has no unit: 90 days, 90 hours, 90 minutes or 90 seconds?');
    expect(error.hint).toBe('write the unit: --older-than 90d for 90 days (or 90h, 90m, 90s)');
    expect(parseDuration('90d', '--older-than', { minimumMs: 1 })).toBe(90 * 86_400_000);
    expect(usageError(() => parseDuration('30', '--since')).hint).toBe('write the unit: --since 30d for 30 days (or 30h, 30m, 30s)');
    // Only the units the flag's bounds allow: a permit lives at most an hour.
    const ttl = usageError(() => parseDuration('30', '--ttl', { minimumMs: 1, maximumMs: 3_600_000 }));
    expect(ttl.message).toBe('--ttl "30" has no unit: 30 minutes or 30 seconds?');
    expect(ttl.hint).toBe('write the unit: --ttl 30m for 30 minutes (or 30s)');
    const ninety = usageError(() => parseDuration('90', '--ttl', { minimumMs: 1, maximumMs: 3_600_000 }));
    expect(ninety.message).toBe('--ttl "90" has no unit: 90 seconds?');
    expect(ninety.hint).toBe('write the unit: --ttl 90s for 90 seconds');
    // One of a unit is said in the singular.
    const one = usageError(() => parseDuration('1', '--older-than', { minimumMs: 1 }));
    expect(one.message).toBe('--older-than "1" has no unit: 1 day, 1 hour, 1 minute or 1 second?');
    expect(one.hint).toBe('write the unit: --older-than 1d for 1 day (or 1h, 1m, 1s)');
    expect(usageError(() => parseDuration('1.5', '--older-than', { minimumMs: 1 })).hint).toBe('write the unit: --older-than 1.5d for 1.5 days (or 1.5h, 1.5m, 1.5s)');
    // No unit would fit: the range says what would.
    expect(usageError(() => parseDuration('5000', '--ttl', { minimumMs: 1, maximumMs: 3_600_000 })).message).toBe('--ttl must be between 1ms and 1h, got "5000"');
  });

  it('reads a bare number as seconds where asked (a wait), and says so in its hints', () => {
    expect(parseDuration('90', '--timeout', { bareNumberIsSeconds: true })).toBe(90_000);
    expect(usageError(() => parseDuration('soon', '--timeout', { bareNumberIsSeconds: true })).hint).toBe(
      'use a number with a unit: 500ms, 30s, 5m, 24h or 7d (a bare number is seconds)',
    );
  });

  it('refuses what is not a duration', () => {
    expect(usageError(() => parseDuration('yesterday', '--since')).message).toBe('invalid --since "yesterday"');
  });

  it('has an upper bound: a look-back beyond it would leave the range of a Date (exit 70 before)', () => {
    expect(parseDuration('3650d')).toBe(MAXIMUM_DURATION_MS);
    const tooFar = usageError(() => parseDuration('99999999999d', '--since'));
    expect(tooFar.message).toBe('--since must be between 0ms and 3650d, got "99999999999d"');
    expect(tooFar.exitCode).toBe(2);
    // More digits than a number holds.
    expect(usageError(() => parseDuration(`${'9'.repeat(400)}d`, '--since')).message).toMatch(/^--since must be between 0ms and 3650d/);
  });

  it('names the range for a negative value', () => {
    expect(usageError(() => parseDuration('-5m', '--since')).message).toBe('--since must be between 0ms and 3650d, got "-5m"');
  });

  it('takes the bounds a flag gives', () => {
    expect(parseDuration('1h', '--ttl', { minimumMs: 1, maximumMs: 3_600_000 })).toBe(3_600_000);
    const error = usageError(() => parseDuration('2h', '--ttl', { minimumMs: 1, maximumMs: 3_600_000 }));
    expect(error.message).toBe('--ttl must be between 1ms and 1h, got "2h"');
    expect(error.hint).toBe('use a duration between 1ms and 1h, with a unit: 500ms, 30s or 5m');
    // Examples the flag would refuse are not offered.
    expect(usageError(() => parseDuration('soon', '--ttl', { minimumMs: 1, maximumMs: 3_600_000 })).hint).toBe('use a number with a unit: 500ms, 30s or 5m');
    expect(usageError(() => parseDuration('soon', '--since')).hint).toBe('use a number with a unit: 500ms, 30s, 5m, 24h or 7d');
    expect(usageError(() => parseDuration('1ms', '--wait', { minimumMs: 2, maximumMs: 100 })).hint).toBe('use a duration between 2ms and 100ms, with a unit: 100ms');
  });
});

describe('parseTimeout', () => {
  it('accepts 1ms up to what a Node timer holds, and a bare number as seconds', () => {
    expect(parseTimeout('1ms')).toBe(1);
    expect(parseTimeout('30')).toBe(30_000);
    expect(parseTimeout('24d')).toBe(MAXIMUM_TIMEOUT_MS);
    expect(MAXIMUM_TIMEOUT_MS).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('refuses 0, negative values and more than a timer holds (25d fired at once), naming the range', () => {
    for (const value of ['0', '0s', '0.0001s', '-5s', '25d', '2147483648ms']) {
      const error = usageError(() => parseTimeout(value, '--timeout'));
      expect(error.message).toBe(`--timeout must be between 1ms and 24d, got "${value}"`);
      expect(error.exitCode).toBe(2);
    }
  });
});

describe('formatDuration', () => {
  it('uses the largest unit that divides the value', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(1)).toBe('1ms');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(MAXIMUM_TIMEOUT_MS)).toBe('24d');
  });
});
