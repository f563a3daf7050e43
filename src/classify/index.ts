/**
 * The privacy classifier: `public < internal < confidential < restricted`, decided before any
 * routing, failing closed. See classify.ts for the entry points and detectors/ for each detector.
 */
export { BUILT_IN_INDICATOR_WORDS, classifyRequest, classifyText, isImagePartFinding } from './classify.js';
export { BUILT_IN_DETECTORS, SECRET_RULE_IDS } from './detectors/index.js';
export { maskSecret } from './mask.js';
export { requestParts, type RequestPart } from './request-parts.js';
export type { Classification, ClassifyOptions, Detector, DetectorContext, DetectorMatch, Finding } from './types.js';
