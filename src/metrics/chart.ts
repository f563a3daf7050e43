import asciichart from 'asciichart';
import { HOUR_MS, type HourlyRequests } from './summary.js';

/** At most this many columns; longer windows are summed into wider buckets. */
const MAXIMUM_POINTS = 72;

/** The axis labels' width, wider only when the peak has more digits. */
const LABEL_WIDTH = 5;

/**
 * A small terminal chart of answered requests per hour: local (green) and hosted (blue) in one
 * chart with colour; two small charts without. `width`, the terminal's columns when it says: the
 * chart's lines fit in it (hours are summed into wider buckets), where a wrapped line would cut
 * every row of the chart in two. `until`, the window's end (`MetricsWindow.until`): when it falls
 * inside the newest point's hours, a last line says that point counts them so far — it would
 * otherwise read as a drop in traffic.
 */
export function requestsChart(hourly: readonly HourlyRequests[], options: { color: boolean; height?: number; width?: number; until?: string }): string {
  if (hourly.length === 0) return '';
  const group = Math.ceil(hourly.length / maximumPoints(hourly, options.width));
  const local: number[] = [];
  const hosted: number[] = [];
  for (let index = 0; index < hourly.length; index += group) {
    const slice = hourly.slice(index, index + group);
    local.push(slice.reduce((total, bucket) => total + bucket.local, 0));
    hosted.push(slice.reduce((total, bucket) => total + bucket.hosted, 0));
  }
  // asciichart needs at least two points to draw a line.
  if (local.length === 1) {
    local.push(local[0] as number);
    hosted.push(hosted[0] as number);
  }
  const unit = group === 1 ? 'hour' : `${group} hours`;
  const partial = partialNewestPoint(hourly, group, options.until);
  const note = partial === undefined ? '' : `\n${partial}`;
  const draw = (series: number[][], height: number, colors?: string[]): string => {
    // A series of zeros is drawn as one row labelled 0 (asciichart draws a flat range in one row).
    const peak = Math.max(0, ...series.flat());
    return asciichart.plot(series, {
      height: Math.min(height, peak),
      min: 0,
      max: peak,
      format: (value) => String(Math.round(value)).padStart(LABEL_WIDTH),
      ...(colors === undefined ? {} : { colors }),
    });
  };
  if (options.color) {
    const lines = `${asciichart.green}── local${asciichart.reset}  ${asciichart.blue}── hosted${asciichart.reset}`;
    const per = `(requests per ${unit})`;
    // The unit goes on a line of its own where the legend and it do not fit side by side.
    const fits = options.width === undefined || !(options.width > 0) || '── local  ── hosted  '.length + per.length <= options.width;
    const legend = fits ? `${lines}  ${per}` : `${lines}\n${per}`;
    return `${draw([local, hosted], options.height ?? 8, [asciichart.green, asciichart.blue])}\n${legend}${note}`;
  }
  // Without colour two lines in one chart cannot be told apart: one chart each.
  const height = Math.max(2, Math.floor((options.height ?? 8) / 2));
  return [`local requests per ${unit}`, draw([local], height), `hosted requests per ${unit}`, draw([hosted], height)].join('\n') + note;
}

/**
 * `newest point: 21:00–21:37 UTC, so far` when `until` ends the window before the newest point's
 * hours are over (the hour, or the hours summed into it, from its first); undefined otherwise.
 */
function partialNewestPoint(hourly: readonly HourlyRequests[], group: number, until: string | undefined): string | undefined {
  const untilMs = until === undefined ? Number.NaN : Date.parse(until);
  const first = hourly[Math.floor((hourly.length - 1) / group) * group];
  if (first === undefined || Number.isNaN(untilMs)) return undefined;
  const startMs = Date.parse(first.hour);
  if (untilMs >= startMs + group * HOUR_MS) return undefined;
  const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
  return `newest point: ${clock(startMs)}–${clock(untilMs)} UTC, so far`;
}

/**
 * How many points fit: a line is the label, ` ┼` and one column per point. At least two (the
 * fewest asciichart draws); a terminal narrower than that wraps whatever is printed.
 */
function maximumPoints(hourly: readonly HourlyRequests[], width: number | undefined): number {
  if (width === undefined || !(width > 0)) return MAXIMUM_POINTS;
  // The widest label is the peak of one bucket, which is at most every request of the window.
  const everything = hourly.reduce((total, bucket) => total + Math.max(bucket.local, bucket.hosted), 0);
  const label = Math.max(LABEL_WIDTH, String(everything).length);
  return Math.max(2, Math.min(MAXIMUM_POINTS, width - label - 2));
}
