import { UsageError } from '../errors.js';
import { parseDuration } from './duration.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/i;

/**
 * A time bound of a look at the evidence (`--since`, `--until`), in milliseconds since the epoch:
 * a duration back from `now` with its unit (`7d`, `24h`), a date (`2026-11-01`: that day's start
 * in UTC), or a date and time with its zone (`2026-11-01T09:30:00Z`, `…+01:00`). A time without a
 * zone is refused (exit 2): whose 09:30 it means is what an audit must not guess.
 */
export function parsePointInTime(text: string, what: string, now = Date.now()): number {
  const trimmed = text.trim();
  const date = DATE.exec(trimmed);
  const dateTime = date === null ? DATE_TIME.exec(trimmed) : null;
  const parts = date ?? dateTime;
  if (parts === null) {
    try {
      return now - parseDuration(text, what, { minimumMs: 1 });
    } catch (error) {
      // A number is a duration whatever is wrong with it (`30`: its unit left out), and its error says the fix.
      if (!(error instanceof UsageError) || /^\s*-?\d+(?:\.\d+)?\s*[a-z]*\s*$/i.test(text)) throw error;
      throw new UsageError(error.message, { hint: `${error.hint ?? 'use a duration with its unit: 24h or 7d'}; or a date (${what} 2026-11-01, that day's start in UTC) or a date and time with its zone (${what} 2026-11-01T09:30:00Z)` });
    }
  }
  const invalid = (): UsageError =>
    new UsageError(`invalid ${what} "${trimmed}": not a date that exists`, { hint: `give a date as YYYY-MM-DD, or a date and time with its zone: ${what} 2026-11-01T00:00:00Z` });
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  if (calendarDay.getUTCFullYear() !== year || calendarDay.getUTCMonth() !== month - 1 || calendarDay.getUTCDate() !== day) throw invalid();
  if (dateTime !== null && dateTime[8] === undefined) {
    throw new UsageError(`${what} "${trimmed}" has no time zone`, {
      hint: `write it in UTC with Z (${what} ${trimmed}Z) or with its offset (${what} ${trimmed}+01:00); evidence times are UTC`,
    });
  }
  const milliseconds = Date.parse(date === null ? trimmed : `${trimmed}T00:00:00Z`);
  if (Number.isNaN(milliseconds)) throw invalid();
  return milliseconds;
}

/**
 * `--since` and `--until` as given (either may be absent), parsed against one `now`; a `--since`
 * not before `--until` is a usage error (exit 2), since no time lies between them.
 */
export function parseTimeRange(given: { since?: string | undefined; until?: string | undefined }, now = Date.now()): { since?: number; until?: number } {
  const since = given.since === undefined ? undefined : parsePointInTime(given.since, '--since', now);
  const until = given.until === undefined ? undefined : parsePointInTime(given.until, '--until', now);
  if (since !== undefined && until !== undefined && since >= until) {
    throw new UsageError(`--since ${given.since ?? ''} is not before --until ${given.until ?? ''}: no time lies between them`, {
      hint: `give --since the earlier time (${new Date(until).toISOString()} is --until's)`,
    });
  }
  return { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
}
