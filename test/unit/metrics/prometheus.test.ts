import { describe, expect, it } from 'vitest';
import type { InvocationResult } from '../../../src/invoke/types.js';
import { GatewayMetrics } from '../../../src/metrics/prometheus.js';
import { parsePrometheusText } from '../gateway/harness.js';

/** An answered request as the histograms read it (the other fields play no part in them). */
function answered(latency: InvocationResult['latency']): InvocationResult {
  return {
    provider: { id: 'claude', version: 1, class: 'approved_hosted' },
    model: 'claude-sonnet',
    classification: { level: 'public' },
    latency,
    usage: undefined,
    attempts: [],
  } as unknown as InvocationResult;
}

/** The smallest finite bucket bound of `family` whose cumulative count holds every observation. */
function smallestBoundHoldingAll(samples: Map<string, number>, family: string): number | undefined {
  const count = [...samples.entries()].find(([key]) => key.startsWith(`${family}_count{`))?.[1];
  const bounds = [...samples.entries()]
    .filter(([key, value]) => key.startsWith(`${family}_bucket{`) && !key.includes('le="+Inf"') && value === count)
    .map(([key]) => Number(/le="([^"]+)"/.exec(key)?.[1]));
  return bounds.length === 0 ? undefined : Math.min(...bounds);
}

describe('GatewayMetrics buckets', () => {
  it('tell a request of several minutes, and a gateway share of several seconds (failed earlier hops), from the +Inf bucket', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    // A reasoning model that answered within the default 10-minute limit, after a hop that failed after 5 s.
    metrics.recordSuccess('openai', answered({ firstTokenMs: 420_000, totalMs: 450_000, beforeUpstreamMs: 5_200 }));
    const samples = parsePrometheusText((await metrics.exposition()).body);
    expect(smallestBoundHoldingAll(samples, 'syndicate_gateway_total_seconds')).toBe(600);
    expect(smallestBoundHoldingAll(samples, 'syndicate_gateway_first_token_seconds')).toBe(600);
    expect(smallestBoundHoldingAll(samples, 'syndicate_gateway_before_upstream_seconds')).toBe(10);
  });
});

describe('GatewayMetrics counters an alert watches', () => {
  it('expose every policy reload outcome and every caller refusal at 0 before the first one, so an alert on their increase sees it', async () => {
    const samples = parsePrometheusText((await new GatewayMetrics({ processMetrics: false }).exposition()).body);
    expect(samples.get('syndicate_gateway_policy_reloads_total{outcome="reloaded"}')).toBe(0);
    expect(samples.get('syndicate_gateway_policy_reloads_total{outcome="invalid"}')).toBe(0);
    expect(samples.get('syndicate_gateway_refused_callers_total{reason="token_invalid"}')).toBe(0);
  });
});
