/**
 * Provider probes: `provider test` (one minimal request, wire and record checks), `provider
 * capabilities` (the probe battery) and deviation discovery (probes and ordinary invocations).
 * Every probe request goes through the governed pipeline with its own permit and evidence row.
 */
export { probeCapabilities, DEFAULT_JSON_TRIALS, PROBE_PROMPTS, type CapabilitiesOptions, type CapabilityProgress } from './capabilities.js';
export {
  describeDiscovery,
  deviationsFromInvocation,
  discoverFromInvocation,
  listDiscoveries,
  recordDiscoveredDeviations,
  type DeviationDiscovery,
  type RecordDiscoveryOptions,
} from './discovery.js';
export { engineReportedContext, type EngineContextReport, type EngineJsonReader } from './engine-context.js';
export { testProvider, PROVIDER_TEST_PROMPT, type ProviderTestOptions } from './provider-test.js';
export { DEFAULT_PROBE_TIMEOUT_MS, ProbeRunner, probePolicy, type ProbeCall, type ProbeRequest, type ProbeRunnerOptions } from './runner.js';
export * from './types.js';
