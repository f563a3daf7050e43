/**
 * Evidence envelopes: one row per invocation attempt, probe or denial, with the verbatim bytes,
 * honest fidelity dimensions and a hash chain. Every write is a small transaction of its own
 * (synchronous better-sqlite3 calls), or, given a `GroupCommitter` (the gateway), a unit of its
 * next batch transaction. `approximateTokens` lives in `./tokens.js` (loads a tokenizer);
 * `loadTokenCounter` in `./token-counter.js` loads it on first use.
 */
export {
  beginAttempt,
  completeAttempt,
  completeAttemptGrouped,
  isProcessAlive,
  recordDenial,
  recordUncalledAttempt,
  recoverInterrupted,
  STALE_PENDING_MS,
  type RecoverOptions,
} from './attempts.js';
export { allPrunes, GENESIS_HASH, HASHED_COLUMNS, prunesOverBreaks, verifyChain, verifyChainCancellable, type ChainBreak, type PruneOverBreak, type PruneRecordEntry, type VerifyOptions, type VerifyResult } from './chain.js';
export {
  countEvidence,
  decodeBytes,
  encodeBytes,
  envelopeToJson,
  evidenceSummaries,
  exportEvidence,
  getEvidence,
  hasEvidenceOfProvider,
  readEvidence,
  UNREADABLE_BYTES_HINT,
  listEvidence,
  resolveEvidenceId,
  spentSince,
  type EncodedBytes,
  type ExportedEnvelope,
  type ExportFilter,
  type ExportOptions,
  type LeftOutLine,
  type ListEvidenceOptions,
  type ReadEnvelope,
  type UnreadableBodies,
} from './queries.js';
export {
  createRecorder,
  EvidenceRecorder,
  type CapturedEnd,
  type CapturedRequest,
  type CapturedResponseStart,
  type RecorderSink,
  type CaptureSummary,
  type RecorderOptions,
} from './recorder.js';
export * from './types.js';
