/**
 * Evidence envelopes: one row per invocation attempt, probe or denial, with the verbatim bytes,
 * honest fidelity dimensions and a hash chain. Synchronous better-sqlite3 calls, one small
 * transaction each. `approximateTokens` lives in `./tokens.js` (loads a tokenizer).
 */
export { beginAttempt, completeAttempt, completeAttemptGrouped, isProcessAlive, recordDenial, recoverInterrupted, STALE_PENDING_MS, type RecoverOptions } from './attempts.js';
export { GENESIS_HASH, HASHED_COLUMNS, verifyChain, type ChainBreak, type VerifyOptions, type VerifyResult } from './chain.js';
export {
  decodeBytes,
  encodeBytes,
  envelopeToJson,
  exportEvidence,
  getEvidence,
  listEvidence,
  resolveEvidenceId,
  spentSince,
  type EncodedBytes,
  type ExportOptions,
  type ListEvidenceOptions,
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
