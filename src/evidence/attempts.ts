import { canonicalJson } from '../common/hash.js';
import { newId } from '../common/ids.js';
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import { COLUMN_INDEX, GENESIS_HASH, hashRow, type HashedColumn } from './chain.js';
import { takeOpenRecorder, type PendingCapture } from './recorder.js';
import { FINISH_COLUMNS, statementsFor, type EvidenceStatements, type FinishValues } from './statements.js';
import {
  EVIDENCE_MARKERS,
  TOKEN_ACCOUNTING,
  TOOL_CALL_FIDELITY,
  VERBATIM_CAPTURE,
  type AttemptOutcome,
  type AttemptStart,
  type DenialRecord,
  type EvidenceMarker,
} from './types.js';

/** Pending rows older than this are treated as interrupted even if their pid looks alive (pid reuse). */
export const STALE_PENDING_MS = 24 * 60 * 60 * 1000;

/**
 * Writes the `pending` row of an attempt, with this process's pid, BEFORE the upstream call.
 * Returns the evidence id; hand `createRecorder(store, id)` to the transport as its CaptureSink.
 */
export function beginAttempt(store: Store, attempt: AttemptStart): string {
  const now = attempt.now ?? Date.now();
  const id = newId('ev', now);
  const statements = statementsFor(store);
  write(() =>
    statements.insert.run({
      id,
      chainSeq: null,
      requestId: attempt.requestId,
      hop: attempt.hop,
      kind: attempt.kind,
      state: 'pending',
      pid: process.pid,
      createdAt: new Date(now).toISOString(),
      finishedAt: null,
      providerId: attempt.provider.id,
      providerVersion: attempt.provider.version,
      providerClass: attempt.provider.class,
      model: attempt.model,
      permitId: attempt.permitId,
      permitJson: canonicalJson(attempt.permit),
      permitToken: attempt.permitToken ?? null,
      sessionId: attempt.sessionId ?? null,
      caller: attempt.caller,
      sensitivity: attempt.sensitivity,
      routeJson: attempt.route === undefined ? null : canonicalJson(attempt.route),
      streamed: attempt.streamed ? 1 : 0,
      tokenAccounting: null,
      verbatimCapture: null,
      toolCallFidelity: null,
      markersJson: null,
      warningsJson: null,
      errorJson: null,
      prevHash: null,
    }),
  );
  return id;
}

/**
 * Finishes a pending attempt: folds the captured chunks into the row, writes the outcome and
 * links the row into the hash chain — one transaction. Throws StoreError when the row is not
 * pending (already finished, or marked interrupted).
 */
export function completeAttempt(store: Store, evidenceId: string, outcome: AttemptOutcome): void {
  checkOutcome(outcome);
  // Take over what the recorder still buffers (written below, in the same transaction); a failed
  // background flush surfaces here.
  const handover = takeOpenRecorder(evidenceId)?.drain();
  const now = outcome.now ?? Date.now();
  const statements = statementsFor(store);
  write(() =>
    statements.transaction(() => {
      finishPending(statements, evidenceId, handover, {
        state: outcome.state,
        finishedAt: new Date(now).toISOString(),
        status: outcome.status ?? null,
        firstTokenMs: outcome.firstTokenMs ?? null,
        totalMs: outcome.totalMs,
        inputTokens: outcome.usage?.inputTokens ?? null,
        outputTokens: outcome.usage?.outputTokens ?? null,
        costUsd: outcome.costUsd ?? null,
        tokenAccounting: outcome.tokenAccounting,
        verbatimCapture: outcome.verbatimCapture,
        toolCallFidelity: outcome.toolCallFidelity,
        markersJson: JSON.stringify(outcome.markers),
        warningsJson: JSON.stringify(outcome.warnings),
        errorJson: outcome.error === undefined ? null : JSON.stringify({ code: outcome.error.code, message: outcome.error.message }),
      });
    }),
  );
}

/**
 * Records a refusal (forged / expired / replayed / out-of-scope permit, denied route, blocked
 * provider): a finished `denial` row in state `denied`, no bytes, chained at once.
 */
export function recordDenial(store: Store, denial: DenialRecord): string {
  const now = denial.now ?? Date.now();
  const id = newId('ev', now);
  const statements = statementsFor(store);
  const timestamp = new Date(now).toISOString();
  write(() =>
    statements.transaction(() => {
      const head = statements.selectHead.get() as { seq: number; hash: string } | undefined;
      const chainSeq = (head?.seq ?? 0) + 1;
      const prevHash = head?.hash ?? GENESIS_HASH;
      statements.insert.run({
        id,
        chainSeq,
        requestId: denial.requestId,
        hop: 0,
        kind: 'denial',
        state: 'denied',
        pid: process.pid,
        createdAt: timestamp,
        finishedAt: timestamp,
        providerId: denial.provider?.id ?? null,
        providerVersion: denial.provider?.version ?? null,
        providerClass: denial.provider?.class ?? null,
        model: denial.model ?? null,
        permitId: denial.permitId ?? null,
        permitJson: null,
        permitToken: denial.permitToken ?? null,
        sessionId: denial.sessionId ?? null,
        caller: denial.caller,
        sensitivity: denial.sensitivity ?? null,
        routeJson: denial.route === undefined ? null : canonicalJson(denial.route),
        streamed: 0,
        tokenAccounting: 'not_available',
        verbatimCapture: 'none',
        toolCallFidelity: 'not_applicable',
        markersJson: '[]',
        warningsJson: '[]',
        errorJson: JSON.stringify({ code: denial.reasonCode, message: denial.message }),
        prevHash,
      });
      sealRow(statements, id, chainSeq, prevHash);
    }),
  );
  return id;
}

export interface RecoverOptions {
  now?: number;
  staleAfterMs?: number;
  /** Liveness check, replaceable in tests. Default: `process.kill(pid, 0)`, ESRCH means dead. */
  isAlive?: (pid: number) => boolean;
}

/** True unless the pid certainly does not exist (EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Marks `interrupted` every pending row whose process is gone (or that is older than 24 h),
 * keeping the bytes captured so far (`verbatim_capture` partial, or none when nothing was
 * captured), and chains it. Safe to call from several processes at once. Returns the ids.
 */
export function recoverInterrupted(store: Store, options: RecoverOptions = {}): string[] {
  const statements = statementsFor(store);
  const pending = statements.selectPending.all() as { id: string; pid: number; created_at: string }[];
  if (pending.length === 0) return [];
  const now = options.now ?? Date.now();
  const staleAfter = options.staleAfterMs ?? STALE_PENDING_MS;
  const isAlive = options.isAlive ?? isProcessAlive;
  const dead = pending.filter((row) => now - Date.parse(row.created_at) > staleAfter || !isAlive(row.pid));
  if (dead.length === 0) return [];
  const recovered: string[] = [];
  write(() =>
    statements.transaction(() => {
      for (const row of dead) {
        const current = statements.selectForFinish.get(row.id) as FinishCandidate | undefined;
        // Another process may have recovered or finished it in the meantime.
        if (current === undefined || current.state !== 'pending' || current.chain_seq !== null) continue;
        const hasChunks = statements.selectChunks.get(row.id) !== undefined;
        const markers: EvidenceMarker[] = current.response_started_ms !== null || hasChunks ? ['partial_response'] : [];
        finishPending(statements, row.id, undefined, {
          state: 'interrupted',
          finishedAt: new Date(now).toISOString(),
          status: null,
          firstTokenMs: null,
          totalMs: null,
          inputTokens: null,
          outputTokens: null,
          costUsd: null,
          tokenAccounting: 'not_available',
          verbatimCapture: current.has_request === 1 || hasChunks ? 'partial' : 'none',
          // Not assessed: the response was never decoded.
          toolCallFidelity: null,
          markersJson: JSON.stringify(markers),
          warningsJson: '[]',
          errorJson: JSON.stringify({
            code: 'interrupted',
            message: `the process (pid ${row.pid}) making this call ended before recording its outcome`,
          }),
        });
        recovered.push(row.id);
      }
    }),
  );
  return recovered;
}

interface FinishCandidate {
  state: string;
  chain_seq: number | null;
  pid: number;
  created_at: string;
  has_request: number;
  response_started_ms: number | null;
}

interface FinishFields {
  state: 'completed' | 'failed' | 'interrupted';
  finishedAt: string;
  status: number | null;
  firstTokenMs: number | null;
  totalMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  tokenAccounting: string;
  verbatimCapture: string;
  toolCallFidelity: string | null;
  markersJson: string;
  warningsJson: string;
  errorJson: string | null;
}

/**
 * Inside a transaction: fold the chunks (those already written plus those the recorder handed
 * over) into the row, write the outcome, link it into the chain — one UPDATE. The hash is computed
 * over the stored row with the new values laid over it, so the row is written once; every value
 * written here is an integer, a float, JSON text, a vocabulary word or bytes, which SQLite returns
 * unchanged (the chain tests verify after every write path).
 */
function finishPending(
  statements: EvidenceStatements,
  evidenceId: string,
  handover: { pending: PendingCapture } | undefined,
  fields: FinishFields,
): void {
  const row = statements.selectHashed.get(evidenceId) as unknown[] | undefined;
  if (row === undefined) {
    throw new StoreError(`no evidence row ${evidenceId}`, { hint: 'call beginAttempt before completing an attempt' });
  }
  row.pop();
  const state = row[COLUMN_INDEX.state];
  if (state !== 'pending' || row[COLUMN_INDEX.chain_seq] !== null) {
    throw new StoreError(`evidence row ${evidenceId} is already ${String(state)}`, {
      hint: 'an attempt is completed once; a row marked interrupted stays interrupted',
    });
  }
  const written = statements.selectChunks.all(evidenceId) as { at_ms: number; bytes: Buffer }[];
  const pending = handover?.pending;
  const chunks = written.map((chunk) => ({ atMs: chunk.at_ms, bytes: chunk.bytes }));
  if (pending !== undefined) chunks.push(...pending.chunks);
  const start = pending?.start;
  const end = pending?.end;
  const stored = (column: HashedColumn): unknown => row[COLUMN_INDEX[column]];
  const responseStartedMs = start?.atMs ?? stored('response_started_ms');
  let responseBody: Buffer | null = null;
  if (chunks.length === 1) responseBody = chunks[0]?.bytes ?? null;
  else if (chunks.length > 0) responseBody = Buffer.concat(chunks.map((chunk) => chunk.bytes));
  else if (responseStartedMs !== null) responseBody = Buffer.alloc(0);
  const head = statements.selectHead.get() as { seq: number; hash: string } | undefined;
  const prevHash = head?.hash ?? GENESIS_HASH;
  const values: FinishValues = {
    state: fields.state,
    finished_at: fields.finishedAt,
    response_status: fields.status ?? start?.status ?? stored('response_status'),
    response_headers_json: start === undefined ? stored('response_headers_json') : JSON.stringify(start.headers),
    response_started_ms: responseStartedMs,
    response_ended_ms: end?.atMs ?? stored('response_ended_ms'),
    response_complete: end === undefined ? stored('response_complete') : end.complete ? 1 : 0,
    response_body: responseBody,
    response_chunks_json: JSON.stringify(chunks.map((chunk) => [chunk.atMs, chunk.bytes.length])),
    first_token_ms: fields.firstTokenMs,
    total_ms: fields.totalMs,
    input_tokens: fields.inputTokens,
    output_tokens: fields.outputTokens,
    cost_usd: fields.costUsd,
    token_accounting: fields.tokenAccounting,
    verbatim_capture: fields.verbatimCapture,
    tool_call_fidelity: fields.toolCallFidelity,
    markers_json: fields.markersJson,
    warnings_json: fields.warningsJson,
    error_json: fields.errorJson,
    chain_seq: (head?.seq ?? 0) + 1,
    prev_hash: prevHash,
  };
  for (const column of FINISH_COLUMNS) row[COLUMN_INDEX[column]] = values[column];
  const hash = hashRow(prevHash, row);
  statements.finish.run({ ...values, hash, id: evidenceId });
  if (written.length > 0) statements.deleteChunks.run(evidenceId);
  statements.upsertHead.run(values.chain_seq, hash);
}

/** Hashes the row exactly as stored and advances the chain head (same transaction). */
function sealRow(statements: EvidenceStatements, evidenceId: string, chainSeq: number, prevHash: string): void {
  const raw = statements.selectHashed.get(evidenceId) as unknown[];
  raw.pop();
  const hash = hashRow(prevHash, raw);
  statements.updateHash.run(hash, evidenceId);
  statements.upsertHead.run(chainSeq, hash);
}

function checkOutcome(outcome: AttemptOutcome): void {
  const problems: string[] = [];
  if (outcome.state !== 'completed' && outcome.state !== 'failed') problems.push(`state ${String(outcome.state)}`);
  if (!TOKEN_ACCOUNTING.includes(outcome.tokenAccounting)) problems.push(`token_accounting ${String(outcome.tokenAccounting)}`);
  if (!VERBATIM_CAPTURE.includes(outcome.verbatimCapture)) problems.push(`verbatim_capture ${String(outcome.verbatimCapture)}`);
  if (!TOOL_CALL_FIDELITY.includes(outcome.toolCallFidelity)) problems.push(`tool_call_fidelity ${String(outcome.toolCallFidelity)}`);
  for (const marker of outcome.markers) if (!EVIDENCE_MARKERS.includes(marker)) problems.push(`marker ${String(marker)}`);
  if (outcome.tokenAccounting === 'not_available' && outcome.usage !== undefined) problems.push('usage given with token_accounting not_available');
  if (outcome.tokenAccounting !== 'not_available' && outcome.usage === undefined) problems.push(`token_accounting ${outcome.tokenAccounting} without usage`);
  if (problems.length > 0) throw new TypeError(`invalid evidence outcome: ${problems.join(', ')}`);
}

function write(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    if (error instanceof Error && error.name === 'SqliteError') {
      throw new StoreError(`evidence write failed: ${error.message}`, { hint: 'run `syndicate doctor` to check the store', cause: error });
    }
    throw error;
  }
}
