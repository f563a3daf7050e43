import { performance } from 'node:perf_hooks';
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DAY_MS = 86_400_000;

/**
 * The longest duration a flag accepts unless it says otherwise (ten years): a longer look-back
 * or lifetime is a typo, and far beyond it `Date.now() - since` leaves the range of a Date.
 */
export const MAXIMUM_DURATION_MS = 3650 * DAY_MS;

/**
 * The longest timeout: a Node timer holds at most 2^31-1 ms (about 24.8 days) and fires at once
 * when given more; 24 days is the round figure below that bound.
 */
export const MAXIMUM_TIMEOUT_MS = 24 * DAY_MS;

/** Inclusive bounds of a duration flag, in milliseconds, and whether it reads a bare number. */
export interface DurationBounds {
  /** Default 0. */
  minimumMs?: number;
  /** Default `MAXIMUM_DURATION_MS`. */
  maximumMs?: number;
  /**
   * Read a bare number as seconds, as `timeout(1)`, curl and kill do for a wait (`--timeout 30`).
   * Off by default: for a window or a lifetime (`--since 30`, `--ttl 30`, `--older-than 90`) a
   * bare number is a unit left out — 30 days? 30 minutes? — and seconds are rarely what was meant
   * (`evidence prune --older-than 90` would delete everything older than 90 seconds).
   */
  bareNumberIsSeconds?: boolean;
}

/**
 * Parses `250ms`, `30s`, `5m`, `24h`, `7d` (and a bare number of seconds when
 * `bounds.bareNumberIsSeconds`) into milliseconds. Throws a UsageError (exit 2) for anything
 * else — a bare number without that option with the units it could have meant — and one naming
 * the allowed range for a value outside `bounds` (negative values included).
 */
export function parseDuration(text: string, what = 'duration', bounds: DurationBounds = {}): number {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (match === null) {
    throw new UsageError(`invalid ${what} "${text}"`, { hint: `use a number with a unit: ${unitExamples(bounds)}${bareNumberNote(bounds)}` });
  }
  const amount = Number(match[1]);
  const minimum = bounds.minimumMs ?? 0;
  const maximum = bounds.maximumMs ?? MAXIMUM_DURATION_MS;
  const within = (milliseconds: number): boolean => milliseconds >= minimum && milliseconds <= maximum;
  if (match[2] === undefined && amount !== 0 && bounds.bareNumberIsSeconds !== true) {
    const number = match[1] as string;
    // The units this number could have meant, the largest first: a window or lifetime is more often days than seconds.
    const meant = (['d', 'h', 'm', 's'] as const).filter((unit) => within(Math.round(amount * (UNITS[unit] as number))));
    const [likeliest, ...others] = meant;
    if (likeliest !== undefined) {
      // Not "would be N seconds": nothing reads it so (a wait does, with `bareNumberIsSeconds`); which unit was meant is the question.
      throw new UsageError(`${what} "${text.trim()}" has no unit: ${orList(meant.map((unit) => amountIn(number, unit)))}?`, {
        hint: `write the unit: ${what} ${number}${likeliest} for ${amountIn(number, likeliest)}${others.length === 0 ? '' : ` (or ${others.map((unit) => `${number}${unit}`).join(', ')})`}`,
      });
    }
  }
  const unit = match[2] ?? 's';
  const milliseconds = Math.round(amount * (UNITS[unit] ?? 1000));
  // Negated, so that a value too large for a number (NaN, Infinity) is out of range too.
  if (!within(milliseconds)) {
    const range = `between ${formatDuration(minimum)} and ${formatDuration(maximum)}`;
    throw new UsageError(`${what} must be ${range}, got "${text.trim()}"`, {
      hint: `use a duration ${range}, with a unit: ${unitExamples(bounds)}${bareNumberNote(bounds)}`,
    });
  }
  return milliseconds;
}

const UNIT_NAMES: Readonly<Record<'d' | 'h' | 'm' | 's', string>> = { d: 'day', h: 'hour', m: 'minute', s: 'second' };

/** `1 day`, `90 days`, `1.5 days`: the number as written and its unit's name. */
function amountIn(number: string, unit: 'd' | 'h' | 'm' | 's'): string {
  return `${number} ${UNIT_NAMES[unit]}${Number(number) === 1 ? '' : 's'}`;
}

/** `30 days, 30 hours or 30 minutes`. */
function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1) as string}`;
}

function bareNumberNote(bounds: DurationBounds): string {
  return bounds.bareNumberIsSeconds === true ? ' (a bare number is seconds)' : '';
}

const EXAMPLES: readonly [text: string, milliseconds: number][] = [
  ['500ms', 500],
  ['30s', 30_000],
  ['5m', 300_000],
  ['24h', 86_400_000],
  ['7d', 604_800_000],
];

/** `500ms, 30s, 5m, 24h or 7d`, less those outside `bounds` (a permit's at most 1h is not told `7d`). */
function unitExamples(bounds: DurationBounds): string {
  const minimum = bounds.minimumMs ?? 0;
  const maximum = bounds.maximumMs ?? MAXIMUM_DURATION_MS;
  const fitting = EXAMPLES.filter(([, milliseconds]) => milliseconds >= minimum && milliseconds <= maximum).map(([example]) => example);
  const examples = fitting.length === 0 ? [formatDuration(maximum)] : fitting;
  return orList(examples);
}

/**
 * A wait (`run --timeout`, `provider test --timeout`, `engine stop --grace`, `serve
 * --drain-timeout`): at least 1 ms (0 would not wait at all) and at most `MAXIMUM_TIMEOUT_MS`
 * (what a timer can hold); a bare number is seconds, as other tools read a timeout.
 */
export function parseTimeout(text: string, what = '--timeout'): number {
  return parseDuration(text, what, { minimumMs: 1, maximumMs: MAXIMUM_TIMEOUT_MS, bareNumberIsSeconds: true });
}

/** `86400000` -> `1d`, `90000` -> `90s`: the largest unit that divides the value exactly. */
export function formatDuration(milliseconds: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (milliseconds !== 0 && milliseconds % size === 0) return `${milliseconds / size}${unit}`;
  }
  return `${milliseconds}ms`;
}

/** Milliseconds since `startedAt` (a `performance.now()` reading), to the microsecond: what evidence records. */
export function elapsedMs(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 1000) / 1000;
}
