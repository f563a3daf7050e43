/**
 * Metrics: Prometheus counters for the running gateway (`GatewayMetrics`), and the operator's
 * summary computed from evidence (`summarizeMetrics`, pure over rows; `computeMetrics` reads them).
 */
import type { Policy } from '../policy/types.js';
import type { Store } from '../store/store.js';
import { readMetricsRows, readModelLoadEvents } from './query.js';
import { summarizeMetrics, type MetricsSummary, type MetricsWindow } from './summary.js';

export { GatewayMetrics, type GatewayApi } from './prometheus.js';
export { readMetricsRows, readModelLoadEvents } from './query.js';
export * from './summary.js';

/** The summary of the evidence in `window`, savings priced at the policy's reference model. */
export function computeMetrics(store: Store, policy: Policy, window: MetricsWindow): MetricsSummary {
  return summarizeMetrics(readMetricsRows(store, window), window, policy.savings, window.session === undefined ? readModelLoadEvents(store, window) : []);
}
