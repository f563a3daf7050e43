import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesCounter, SeriesHistogram } from '../../../src/metrics/series.js';
import { GatewayMetrics } from '../../../src/metrics/prometheus.js';

const BUCKETS = [0.005, 0.01, 0.1, 1, 10];
const LABELS = ['api', 'provider', 'model'] as const;

/** The same families twice: prom-client's own classes and the series ones, in registries of their own. */
function pair(openMetrics = false) {
  const nativeRegistry = new Registry();
  const seriesRegistry = new Registry();
  if (openMetrics) {
    // Typed for the default content type only; the registries are unbound at run time.
    (nativeRegistry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    (seriesRegistry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  }
  const counter = { name: 'test_requests_total', help: 'Requests "quoted" \\ and\nnewline', labelNames: LABELS };
  const histogram = { name: 'test_latency_seconds', help: 'Latency', labelNames: LABELS, buckets: BUCKETS };
  return {
    nativeRegistry,
    seriesRegistry,
    native: { counter: new Counter({ ...counter, labelNames: [...LABELS], registers: [nativeRegistry] }), histogram: new Histogram({ ...histogram, labelNames: [...LABELS], registers: [nativeRegistry] }) },
    series: { counter: new SeriesCounter({ ...counter, registers: [seriesRegistry] }), histogram: new SeriesHistogram({ ...histogram, registers: [seriesRegistry] }) },
  };
}

const observations: [api: string, provider: string, model: string, value: number][] = [
  ['openai', 'ollama', 'qwen3:8b', 0.004],
  ['openai', 'ollama', 'qwen3:8b', 0.005], // on a bound: counted in it (le)
  ['anthropic', 'claude', 'claude-sonnet-4-5', 2.5],
  ['openai', 'ollama', 'qwen3:8b', 42], // above every bound: +Inf only
  ['openai', 'odd "provider"\\', 'model\nwith newline', 0.05],
];

function apply(families: ReturnType<typeof pair>) {
  for (const [api, provider, model, value] of observations) {
    families.native.counter.inc({ api, provider, model }, value);
    families.native.histogram.observe({ api, provider, model }, value);
    families.series.counter.add([api, provider, model], value);
    families.series.histogram.record([api, provider, model], value);
  }
}

describe('SeriesCounter and SeriesHistogram', () => {
  it('expose exactly what prom-client exposes for the same updates (text and JSON)', async () => {
    const families = pair();
    apply(families);
    const expected = await families.nativeRegistry.metrics();
    expect(expected).toContain('test_latency_seconds_bucket{le="+Inf",api="openai",provider="ollama",model="qwen3:8b"} 3');
    expect(await families.seriesRegistry.metrics()).toBe(expected);
    // prom-client's JSON also carries each histogram value's (empty) exemplar slot.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((metric) => ({ ...metric, values: metric.values.map((value) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'exemplar'))) }));
    expect(withoutExemplars(await families.seriesRegistry.getMetricsAsJSON())).toEqual(withoutExemplars(await families.nativeRegistry.getMetricsAsJSON()));
  });

  it('match prom-client in the OpenMetrics format too', async () => {
    const families = pair(true);
    apply(families);
    expect(await families.seriesRegistry.metrics()).toBe(await families.nativeRegistry.metrics());
  });

  it('start empty and are emptied by the registry reset, as prom-client metrics are', async () => {
    const families = pair();
    expect(await families.seriesRegistry.metrics()).toBe(await families.nativeRegistry.metrics());
    apply(families);
    families.nativeRegistry.resetMetrics();
    families.seriesRegistry.resetMetrics();
    expect(await families.seriesRegistry.metrics()).toBe(await families.nativeRegistry.metrics());
  });

  it('keep label tuples apart whatever characters their values hold', async () => {
    const { series } = pair();
    series.counter.add(['a\u0000b', 'c', 'm']);
    series.counter.add(['a', 'b\u0000c', 'm'], 2);
    series.counter.add(['a', 'b\u0000c', 'm'], 3);
    expect((await series.counter.get()).values).toEqual([
      { value: 1, labels: { api: 'a\u0000b', provider: 'c', model: 'm' } },
      { value: 5, labels: { api: 'a', provider: 'b\u0000c', model: 'm' } },
    ]);
  });

  it('refuse a wrong number of label values, a negative or infinite increment and a non-finite observation', () => {
    const { series } = pair();
    expect(() => series.counter.add(['openai', 'ollama'])).toThrow(/expected 3 label values \(api, provider, model\), got 2/);
    expect(() => series.counter.add(['openai', 'ollama', 'm'], -1)).toThrow(/finite amount/);
    expect(() => series.counter.add(['openai', 'ollama', 'm'], Number.NaN)).toThrow(/finite amount/);
    expect(() => series.counter.add(['openai', 'ollama', 'm'], Number.POSITIVE_INFINITY)).toThrow(/finite amount/);
    expect(() => series.histogram.record(['openai', 'ollama', 'm'], Number.NaN)).toThrow(/finite observation/);
  });
});

describe('GatewayMetrics spend gauges', () => {
  it('read today\'s spend and the ceilings at scrape time; a store that cannot say reads +Inf', async () => {
    let spending = { spentTodayUsd: 1.25, ceilings: { perDayUsd: 20, perRequestUsd: undefined as number | undefined } };
    const metrics = new GatewayMetrics({ processMetrics: false, spentTodayUsd: () => spending.spentTodayUsd, costCeilings: () => spending.ceilings });
    const first = (await metrics.exposition()).body;
    expect(first).toContain('syndicate_gateway_spend_today_usd 1.25');
    expect(first).toContain('syndicate_gateway_spend_ceiling_usd{period="day"} 20');
    expect(first).not.toContain('period="request"');
    spending = { spentTodayUsd: Number.POSITIVE_INFINITY, ceilings: { perDayUsd: 20, perRequestUsd: 0.5 } };
    const second = (await metrics.exposition()).body;
    expect(second).toContain('syndicate_gateway_spend_today_usd +Inf');
    expect(second).toContain('syndicate_gateway_spend_ceiling_usd{period="request"} 0.5');
  });
});

describe('event-loop lag gauges', () => {
  it('report the delay beyond the sampling interval: an idle loop reads near zero, not the 100 ms interval', async () => {
    // The yardstick: node's own histogram over the same time at the same 100 ms interval, which
    // reads the interval plus whatever this machine's load adds. A fixed bound (< 0.1 s) cannot
    // tell the two apart once the load adds 0.1 s itself (a loaded run's minimum: 0.107 s).
    const reference = monitorEventLoopDelay({ resolution: 100 });
    reference.enable();
    const metrics = new GatewayMetrics();
    await new Promise((resolve) => setTimeout(resolve, 450));
    const { body } = await metrics.exposition();
    reference.disable();
    const withInterval: Record<string, number> = { min: reference.min / 1e9, mean: reference.mean / 1e9, p50: reference.percentile(50) / 1e9 };
    for (const statistic of ['min', 'mean', 'p50']) {
      const value = Number(new RegExp(`^syndicate_nodejs_eventloop_lag_${statistic}_seconds (\\S+)$`, 'm').exec(body)?.[1]);
      expect(value, statistic).toBeGreaterThanOrEqual(0);
      // The interval below the reading that includes it, less half of it for the two histograms'
      // samples to differ: a gauge that included the interval reads about the yardstick.
      expect(value, `${statistic}: the yardstick read ${withInterval[statistic]}`).toBeLessThan(withInterval[statistic]! - 0.05);
    }
    // A blocked loop still shows: 300 ms of synchronous work lands in max. (Not right after a
    // scrape: the scrape resets the histogram, and node skips the first sample after a reset.)
    await new Promise((resolve) => setTimeout(resolve, 250));
    const until = performance.now() + 300;
    while (performance.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const after = (await metrics.exposition()).body;
    expect(Number(/^syndicate_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(after)?.[1])).toBeGreaterThan(0.15);
  });
});
