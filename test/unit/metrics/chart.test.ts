import { describe, expect, it } from 'vitest';
import { requestsChart } from '../../../src/metrics/chart.js';

const hourly = [
  { hour: '2026-01-15T10:00:00.000Z', local: 4, hosted: 0 },
  { hour: '2026-01-15T11:00:00.000Z', local: 1, hosted: 2 },
  { hour: '2026-01-15T12:00:00.000Z', local: 0, hosted: 0 },
];

describe('requestsChart', () => {
  it('draws one plain chart per class without colour, scaled to each peak', () => {
    const text = requestsChart(hourly, { color: false });
    expect(text).not.toContain('\u001b[');
    const [localTitle, ...rest] = text.split('\n');
    expect(localTitle).toBe('local requests per hour');
    expect(rest.find((line) => line.includes('┼') || line.includes('┤'))?.trim().startsWith('4')).toBe(true);
    expect(text).toContain('hosted requests per hour');
    const hostedPart = text.slice(text.indexOf('hosted requests per hour'));
    expect(hostedPart.split('\n')[1]?.trim().startsWith('2')).toBe(true);
  });

  it('draws both lines in one coloured chart with a legend', () => {
    const text = requestsChart(hourly, { color: true });
    expect(text).toContain('\u001b[32m');
    expect(text).toContain('── local');
    expect(text).toContain('── hosted');
    expect(text).toContain('(requests per hour)');
  });

  it('draws a class with no requests as one row labelled 0, not an axis up to 1', () => {
    const allLocal = hourly.map((bucket) => ({ ...bucket, hosted: 0 }));
    const text = requestsChart(allLocal, { color: false });
    const hostedPart = text.slice(text.indexOf('hosted requests per hour')).split('\n').map((line) => line.trimEnd());
    expect(hostedPart).toEqual(['hosted requests per hour', `    0 ┼${'─'.repeat(allLocal.length - 1)}`]);
    // Both lines in one chart: the axis is the local series' range, from 0 to its peak.
    const coloured = requestsChart(allLocal, { color: true }).split('\n');
    expect(coloured[0]?.trim().startsWith('4')).toBe(true);
    expect(coloured.at(-2)?.trim().startsWith('0')).toBe(true);
  });

  it('sums long windows into wider buckets', () => {
    const week = Array.from({ length: 168 }, (_, index) => ({ hour: new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString(), local: 1, hosted: 0 }));
    const text = requestsChart(week, { color: false });
    expect(text).toContain('local requests per 3 hours');
    // 168 hours in buckets of 3: every bucket holds 3 local requests, so the peak label is 3.
    expect(text.split('\n')[1]?.trim().startsWith('3')).toBe(true);
  });

  it('is empty for an empty window', () => {
    expect(requestsChart([], { color: false })).toBe('');
  });
});

describe('requestsChart on a narrow terminal', () => {
  const week = Array.from({ length: 168 }, (_, index) => ({ hour: new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString(), local: index % 5, hosted: index % 3 }));
  const widest = (text: string): number => Math.max(...text.split('\n').map((line) => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length));

  it.each([40, 60, 80])('fits every chart line in %i columns (a wrapped line cuts every row of the chart in two)', (width) => {
    for (const color of [false, true]) {
      const text = requestsChart(week, { color, width });
      expect(text.split('\n').filter((line) => line.includes('┤') || line.includes('┼')).length).toBeGreaterThan(0);
      expect(widest(text)).toBeLessThanOrEqual(width);
    }
  });

  it('keeps 72 points when the width is unknown (not a terminal) or wide enough', () => {
    expect(requestsChart(week, { color: false })).toContain('per 3 hours');
    expect(requestsChart(week, { color: false, width: 200 })).toContain('per 3 hours');
    expect(requestsChart(week, { color: false, width: 0 })).toContain('per 3 hours');
    // 168 hours in 40 columns: 33 points at most, so buckets of 6 hours.
    expect(requestsChart(week, { color: false, width: 40 })).toContain('per 6 hours');
  });

  it('still draws two points on a terminal narrower than the labels', () => {
    const text = requestsChart(week, { color: false, width: 4 });
    expect(text).toContain('per 84 hours');
  });
});

describe('requestsChart: the newest point while its hours are not over', () => {
  const day = Array.from({ length: 5 }, (_, index) => ({ hour: new Date(Date.UTC(2026, 0, 15, 10 + index)).toISOString(), local: 1, hosted: 1 }));

  it('says, on its last line, that the newest point counts its hour so far', () => {
    for (const color of [false, true]) {
      const text = requestsChart(day, { color, until: '2026-01-15T14:37:12.001Z' });
      expect(text.split('\n').at(-1)).toBe('newest point: 14:00–14:37 UTC, so far');
    }
  });

  it('says it from the first hour summed into the newest point', () => {
    const week = Array.from({ length: 168 }, (_, index) => ({ hour: new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString(), local: 1, hosted: 0 }));
    // 168 hours in buckets of 3: the newest point sums 21:00, 22:00 and 23:00 of 7 January.
    const text = requestsChart(week, { color: false, until: '2026-01-07T23:05:00.000Z' });
    expect(text).toContain('per 3 hours');
    expect(text.split('\n').at(-1)).toBe('newest point: 21:00–23:05 UTC, so far');
  });

  it('says nothing once the newest hour is over, or without the window\'s end', () => {
    expect(requestsChart(day, { color: false, until: '2026-01-15T15:00:00.000Z' })).not.toContain('newest point');
    expect(requestsChart(day, { color: false })).not.toContain('newest point');
  });
});
