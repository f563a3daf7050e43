export * from './types.js';
export * from './sessions.js';
export * from './compaction.js';
export * from './switch.js';
export { describeSessionBreak, sessionChainHint, verifySessionChains, type SessionChainBreak, type SessionChainsReport } from './chain.js';
