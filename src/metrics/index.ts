/**
 * Metrics: Prometheus counters for the running gateway (`GatewayMetrics`), and the operator's
 * summary computed from evidence (`summarizeMetrics` / `MetricsAccumulator`, pure over rows;
 * `computeMetrics` reads them from the store one at a time).
 */
import type { Policy } from '../policy/types.js';
import type { Store } from '../store/store.js';
import { firstEvidenceMs, forEachMetricsRow, readModelLoadEvents } from './query.js';
import { savingsReference } from './savings-reference.js';
import { MetricsAccumulator, type MetricsSummary, type MetricsWindow } from './summary.js';

export { GatewayMetrics, type GatewayApi } from './prometheus.js';
export { firstEvidenceMs, forEachMetricsRow, readMetricsRows, readModelLoadEvents } from './query.js';
export * from './summary.js';

/** The summary of the evidence in `window`, savings priced at the policy's reference model. */
export function computeMetrics(store: Store, policy: Policy, window: MetricsWindow): MetricsSummary {
  const first = firstEvidenceMs(store);
  const reference = savingsReference(store, policy.savings);
  const accumulator = new MetricsAccumulator(window, reference.price, first === undefined ? {} : { firstEvidenceMs: first });
  forEachMetricsRow(store, window, (row) => accumulator.add(row));
  const summary = accumulator.summary(window.session === undefined ? readModelLoadEvents(store, window) : []);
  return reference.warning === undefined ? summary : { ...summary, savings: { ...summary.savings, warning: reference.warning } };
}
