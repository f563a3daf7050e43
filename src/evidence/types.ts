import type { ProviderClass, SensitivityLevel } from '../common/vocabulary.js';
import type { UnparsedValue } from '../store/json-columns.js';
import type { WireWarning } from '../wire/canonical.js';

export type { UnparsedValue } from '../store/json-columns.js';

/**
 * What an evidence row records: a governed upstream call, a capability probe, a refused request
 * (`denial`), or a permit asked for or checked on its own (`permit issue`, `permit verify`) and
 * refused (`permit_check`: no request was made, so `metrics` does not count it as a denied request).
 */
export const EVIDENCE_KINDS = ['invocation', 'probe', 'denial', 'permit_check'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/**
 * The caller of provider probes (`provider test`, `provider capabilities`). Their calls are kind
 * `probe`; a probe the policy refuses is a `denial` row with this caller, which `metrics` counts
 * apart from denied requests.
 */
export const PROBE_CALLER = 'probe';

/**
 * The error code of a request nothing registered could take (`NoProvidersError`): no policy refused
 * it. Recorded as a failed invocation attempt that called nothing; stores written before that hold it
 * as a denial row (kind `denial`, state `denied`), which `metrics`, `evidence list` and `evidence show`
 * present as the failed attempt it is (`isUncalledRecordedAsDenial`) — the row itself, hash-chained,
 * stays as written, and `export` gives it so.
 */
export const NOTHING_REGISTERED = 'no_providers';

/** Whether a row is a request nothing registered could take that an earlier syndicate wrote as a denial (`NOTHING_REGISTERED`). */
export function isUncalledRecordedAsDenial(row: { kind: string; errorCode: string | null | undefined; byProbe: boolean }): boolean {
  return row.kind === 'denial' && !row.byProbe && row.errorCode === NOTHING_REGISTERED;
}

/**
 * Life of a row. `pending` is written before the upstream call; `completed` / `failed` after it;
 * `interrupted` when the writing process died before finishing (bytes captured so far are kept);
 * `denied` for refusals, which never reach an upstream. Every state but `pending` is chained.
 */
export const EVIDENCE_STATES = ['pending', 'completed', 'failed', 'interrupted', 'denied'] as const;
export type EvidenceState = (typeof EVIDENCE_STATES)[number];

/**
 * `exact`: the upstream reported usage. `approximate`: usage was missing and the tokens were
 * counted locally with a real tokenizer (gpt-tokenizer, cl100k_base — close to, but not the same
 * as, the model's own tokenizer). `not_available`: neither; the token columns are null.
 */
export const TOKEN_ACCOUNTING = ['exact', 'approximate', 'not_available'] as const;
export type TokenAccounting = (typeof TOKEN_ACCOUNTING)[number];

/**
 * `full`: every request and response byte is in the row. `partial`: the response (or the
 * request) was cut short — timeout, reset, crash — and the row holds what arrived. `none`: no
 * bytes at all (denials, or a call that never got to send).
 */
export const VERBATIM_CAPTURE = ['full', 'partial', 'none'] as const;
export type VerbatimCapture = (typeof VERBATIM_CAPTURE)[number];

/**
 * How faithfully tool calls in the response reached the caller.
 * `exact`: every tool call was decoded as sent (arguments valid JSON as received, ids and names intact).
 * `repaired`: tool calls were recovered only after fixing the upstream's serialization (e.g. arguments
 *   as an object instead of JSON text, missing ids, a quirk the adapter knows); the verbatim bytes hold
 *   the original.
 * `not_applicable`: the response carried no tool calls (none offered, or the model answered in text).
 * `lost`: the upstream started tool calls that could not be recovered (truncated stream, unparsable
 *   arguments); the caller did not get them.
 */
export const TOOL_CALL_FIDELITY = ['exact', 'repaired', 'not_applicable', 'lost'] as const;
export type ToolCallFidelity = (typeof TOOL_CALL_FIDELITY)[number];

/**
 * Non-determinism markers: things that make this attempt differ from a clean, repeatable call.
 * `terminal_marker_missing`: a stream ended cleanly after its finish reason without the wire's
 * terminal marker (`[DONE]`, `message_stop`); the answer was taken as complete.
 */
export const EVIDENCE_MARKERS = ['timeout', 'rate_limited', 'partial_response', 'upstream_error', 'retried', 'fallback', 'terminal_marker_missing'] as const;
export type EvidenceMarker = (typeof EVIDENCE_MARKERS)[number];

/** The provider as the attempt used it: the exact registered version. */
export interface EvidenceProvider {
  id: string;
  version: number;
  class: ProviderClass;
}

/** Given to `beginAttempt`; the pending row is written with the request bytes, before the upstream call. */
export interface AttemptStart {
  /** Groups the hops of one logical request (fallback attempts share it). */
  requestId: string;
  /** 0 for the first candidate, 1.. for fallback hops. */
  hop: number;
  kind: 'invocation' | 'probe';
  /** Who asked: `cli`, `gateway:<token id>`, `mcp`, `probe`, ... */
  caller: string;
  sessionId?: string;
  provider: EvidenceProvider;
  model: string;
  permitId: string;
  /** The verified permit's decoded payload (scope, expiry, nonce). */
  permit: Record<string, unknown>;
  /**
   * The signed permit token itself. Storing it is safe: it is single-use and was consumed before
   * the row was written (or in the same transaction, see `writeWithRow`), so it cannot be
   * replayed; keeping it lets an auditor re-check the signature with the permit key later.
   */
  permitToken?: string;
  /**
   * Other writes that must be committed with the row's first write, inside its transaction and
   * before it: the gateway's permit issue and consumption (`UnrecordedPermit.record`), so the
   * request waits for one commit, not two, before its upstream call. If it throws, the row is
   * not written either.
   */
  writeWithRow?: () => void;
  sensitivity: SensitivityLevel;
  /** The route decision and its reasons, as the router explained it. */
  route: unknown;
  streamed: boolean;
  /** Defaults to `Date.now()`. */
  now?: number;
}

/** Passed to `completeAttempt` once the upstream call is over (successfully or not). */
export interface AttemptOutcome {
  state: 'completed' | 'failed';
  /** HTTP status, when the upstream answered. Defaults to the status captured by the recorder. */
  status?: number;
  firstTokenMs?: number;
  totalMs: number;
  /** Cache reads and writes, when the provider reported them, are counted in inputTokens too. */
  usage?: { inputTokens: number; outputTokens: number; cachedInputTokens?: number; cacheWriteInputTokens?: number };
  tokenAccounting: TokenAccounting;
  verbatimCapture: VerbatimCapture;
  toolCallFidelity: ToolCallFidelity;
  markers: EvidenceMarker[];
  warnings: WireWarning[];
  error?: { code: string; message: string };
  costUsd?: number;
  now?: number;
}

/** A refusal: no upstream call happened, so no bytes; recorded and chained at once. */
export interface DenialRecord {
  /**
   * `denial` (the default): a request was refused. `permit_check`: a permit asked for or checked
   * on its own (`permit issue`, `permit verify`) was refused; no request was made.
   */
  kind?: 'denial' | 'permit_check';
  requestId: string;
  caller: string;
  provider?: { id: string; version?: number; class?: ProviderClass };
  model?: string;
  permitId?: string;
  /** The refused token, when there was one (forged or replayed tokens are evidence too). */
  permitToken?: string;
  /** Machine code of the refusal, e.g. `permit_expired`, `route_denied`. */
  reasonCode: string;
  message: string;
  sensitivity?: SensitivityLevel;
  route?: unknown;
  sessionId?: string;
  now?: number;
}

/**
 * An invocation that ended before any call: a candidate that could not be called (its key is not
 * set), or a routed request left with no candidate to try (every one it may use is down). No
 * permit was issued and no byte sent; recorded `failed` and chained at once, so the chain holds
 * what was decided and why.
 */
export interface UncalledAttempt {
  requestId: string;
  hop: number;
  kind: 'invocation' | 'probe';
  caller: string;
  sessionId?: string;
  /** The candidate that could not be called; absent when no candidate was left to try. */
  provider?: EvidenceProvider;
  model?: string;
  sensitivity: SensitivityLevel;
  /** The route decision and its reasons (the exclusions, when no candidate was left). */
  route: unknown;
  streamed: boolean;
  markers: EvidenceMarker[];
  error: { code: string; message: string };
  now?: number;
}

/**
 * One row as `listEvidence` returns it (no bytes). A JSON column whose stored text does not read
 * back as what syndicate writes (the row was edited outside syndicate) is an `UnparsedValue`
 * holding that text verbatim, here and in `EvidenceRecord`.
 */
export interface EvidenceSummary {
  id: string;
  chainSeq: number | null;
  requestId: string;
  hop: number;
  kind: EvidenceKind;
  state: EvidenceState;
  createdAt: string;
  finishedAt: string | null;
  provider: { id: string | null; version: number | null; class: string | null };
  model: string | null;
  caller: string;
  sensitivity: string | null;
  streamed: boolean;
  status: number | null;
  firstTokenMs: number | null;
  totalMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Of inputTokens: read from the prompt cache / written to it, when the provider reported them. */
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
  costUsd: number | null;
  tokenAccounting: TokenAccounting | null;
  verbatimCapture: VerbatimCapture | null;
  toolCallFidelity: ToolCallFidelity | null;
  markers: EvidenceMarker[] | UnparsedValue;
  error: { code: string; message: string } | null | UnparsedValue;
  /** The session the request named (a stored session's id, `x-syndicate-session`, an agent's own session id). */
  sessionId: string | null;
  /**
   * Set when `kind` and `state` are not those stored: a request nothing registered could take that
   * an earlier syndicate wrote as a denial, presented by `evidence list` and `show` as the failed
   * attempt that called nothing it is, as `metrics` counts it (`isUncalledRecordedAsDenial`); these
   * are the stored values (`export` gives the row as stored).
   */
  recordedAs?: { kind: EvidenceKind; state: EvidenceState };
}

/**
 * What set a row's sensitivity, as its route recorded it (`route.levelSources` in `evidence show
 * --json` and `export`): each detector whose findings are at that level with where (never the matched
 * text), or `caller`.
 */
export interface EvidenceLevelSource {
  detector: string;
  reason: string;
  locations: string[];
}

/**
 * One row as `evidence list` lists it: the summary with what set its sensitivity (`route.levelSources`);
 * null when its route recorded none (a probe, a permit check, a row written before they were recorded).
 */
export interface EvidenceListRow extends EvidenceSummary {
  levelSources: EvidenceLevelSource[] | null | UnparsedValue;
}

/** One response chunk's timing: milliseconds since the request was sent, and its length in bytes. */
export interface ChunkTiming {
  atMs: number;
  bytes: number;
}

/** The whole envelope, bytes included (`getEvidence`). */
export interface EvidenceRecord extends EvidenceSummary {
  pid: number;
  permitId: string | null;
  permit: unknown;
  permitToken: string | null;
  route: unknown;
  request: {
    method: string | null;
    url: string | null;
    headers: Record<string, string> | null | UnparsedValue;
    body: Buffer | null;
  };
  response: {
    status: number | null;
    headers: Record<string, string> | null | UnparsedValue;
    startedMs: number | null;
    endedMs: number | null;
    /** Whether the transport saw the response end normally; null when it never reported. */
    complete: boolean | null;
    body: Buffer | null;
    chunks: ChunkTiming[];
  };
  warnings: WireWarning[] | UnparsedValue;
  prevHash: string | null;
  hash: string | null;
}
