import { performance } from 'node:perf_hooks';
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `30s`, `5m`, `24h`, `7d` (or a bare number of seconds) into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (match === null) {
    throw new UsageError(`invalid ${what} "${text}"`, { hint: 'use a number with a unit: 500ms, 30s, 5m, 24h or 7d' });
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(amount * (UNITS[unit] ?? 1000));
}

/** Milliseconds since `startedAt` (a `performance.now()` reading), to the microsecond: what evidence records. */
export function elapsedMs(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 1000) / 1000;
}
