/**
 * The router: policy + providers + health -> an ordered, explained candidate list.
 * `planRoute` is pure; `routeRequest` adds classification and the local health probes.
 */
export { fitContext, MIN_OUTPUT_TOKENS, templateAllowance, type ContextFit } from './context-fit.js';
export { fallbackCandidates } from './fallback.js';
export { HealthMonitor, residentFromOllama, sharedHealthMonitor, type EngineProbe, type HealthMonitorOptions } from './health.js';
export { classRuleRefusal, planRoute, selectModels } from './plan.js';
export { matchTasks, requestTexts, requestTraits, type MatchedTask, type RequestTraits } from './request-traits.js';
export {
  estimatePromptTokens,
  routeRequest,
  spentTodayUsd,
  type ClassifyFunction,
  type RouteClassification,
  type RouteFinding,
  type RoutedRequest,
  type RouteRequestOptions,
} from './route-request.js';
export * from './types.js';
