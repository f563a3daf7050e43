export * from './types.js';
export * from './sessions.js';
export * from './compaction.js';
export * from './switch.js';
export {
  describeSessionBreak,
  sessionChainHint,
  verifySessionChains,
  verifyUnlistedImages,
  walkSessionChains,
  walkUnlistedImages,
  type SessionChainBreak,
  type SessionChainsReport,
  type UnlistedImagesReport,
} from './chain.js';
