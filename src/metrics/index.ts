/**
 * Metrics: the operator's summary computed from evidence (`summarizeMetrics` / `MetricsAccumulator`,
 * pure over rows; `computeMetrics` reads them from the store one at a time). The running gateway's
 * Prometheus counters (`GatewayMetrics`) are in ./prometheus.ts, imported from there: prom-client
 * (~80 modules, ~0.1 s of CPU to load) is not for `syndicate metrics` or the MCP metrics tool.
 */
import type { Policy } from '../policy/types.js';
import type { Store } from '../store/store.js';
import { pausing } from '../common/pausing.js';
import { firstEvidenceMs, forEachMetricsRow, metricsRows, readModelLoadEvents } from './query.js';
import { savingsReference } from './savings-reference.js';
import { MetricsAccumulator, type MetricsSummary, type MetricsWindow } from './summary.js';

export { firstEvidenceMs, forEachMetricsRow, readMetricsRows, readModelLoadEvents } from './query.js';
export * from './summary.js';

/**
 * When a window not yet over ends its hourly series (`MetricsAccumulator`'s `nowMs`): the clock's
 * time unless given. A caller that dates anything else of the same answer (the CLI's chart) passes
 * the one time it read, so both end in the same hour.
 */
export interface MetricsClock {
  nowMs?: number;
}

/** The summary of the evidence in `window`, savings priced at the policy's reference model. */
export function computeMetrics(store: Store, policy: Policy, window: MetricsWindow, clock: MetricsClock = {}): MetricsSummary {
  const summing = startMetrics(store, policy, window, clock);
  forEachMetricsRow(store, window, (row) => summing.accumulator.add(row));
  return summing.summary();
}

/**
 * `computeMetrics` letting the event loop run every few hundred rows: `signal` aborted meanwhile
 * (the CLI's Ctrl-C or SIGTERM over a window of a million rows) stops it there, with its reason.
 */
export async function computeMetricsCancellable(store: Store, policy: Policy, window: MetricsWindow, signal: AbortSignal, clock: MetricsClock = {}): Promise<MetricsSummary> {
  const summing = startMetrics(store, policy, window, clock);
  for await (const row of pausing(metricsRows(store, window), signal)) summing.accumulator.add(row);
  return summing.summary();
}

/** The accumulator the rows of `window` are added to, and what makes the summary of it once they all were. */
function startMetrics(store: Store, policy: Policy, window: MetricsWindow, clock: MetricsClock): { accumulator: MetricsAccumulator; summary: () => MetricsSummary } {
  const first = firstEvidenceMs(store);
  const reference = savingsReference(store, policy.savings);
  const accumulator = new MetricsAccumulator(window, reference.price, {
    ...(clock.nowMs === undefined ? {} : { nowMs: clock.nowMs }),
    ...(first === undefined ? {} : { firstEvidenceMs: first }),
    ...(reference.earlierPrices === undefined ? {} : { earlierReferencePrices: reference.earlierPrices }),
  });
  return {
    accumulator,
    summary: () => {
      const summary = accumulator.summary(window.session === undefined && window.sensitivities === undefined ? readModelLoadEvents(store, window) : []);
      return reference.warning === undefined ? summary : { ...summary, savings: { ...summary.savings, warning: reference.warning } };
    },
  };
}
