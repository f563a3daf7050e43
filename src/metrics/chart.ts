import asciichart from 'asciichart';
import type { HourlyRequests } from './summary.js';

/** At most this many columns; longer windows are summed into wider buckets. */
const MAXIMUM_POINTS = 72;

/**
 * A small terminal chart of answered requests per hour: local (green) and hosted (blue) in one
 * chart with colour; two small charts without.
 */
export function requestsChart(hourly: readonly HourlyRequests[], options: { color: boolean; height?: number }): string {
  if (hourly.length === 0) return '';
  const group = Math.ceil(hourly.length / MAXIMUM_POINTS);
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
  const draw = (series: number[][], height: number, colors?: string[]): string => {
    // A series of zeros is drawn as one row labelled 0 (asciichart draws a flat range in one row).
    const peak = Math.max(0, ...series.flat());
    return asciichart.plot(series, {
      height: Math.min(height, peak),
      min: 0,
      max: peak,
      format: (value) => String(Math.round(value)).padStart(5),
      ...(colors === undefined ? {} : { colors }),
    });
  };
  if (options.color) {
    const legend = `${asciichart.green}── local${asciichart.reset}  ${asciichart.blue}── hosted${asciichart.reset}  (requests per ${unit})`;
    return `${draw([local, hosted], options.height ?? 8, [asciichart.green, asciichart.blue])}\n${legend}`;
  }
  // Without colour two lines in one chart cannot be told apart: one chart each.
  const height = Math.max(2, Math.floor((options.height ?? 8) / 2));
  return [`local requests per ${unit}`, draw([local], height), `hosted requests per ${unit}`, draw([hosted], height)].join('\n');
}
