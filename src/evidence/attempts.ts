import { newId } from '../common/ids.js';
import { isProcessAlive } from '../common/process-alive.js';
import type { GroupCommitter } from '../store/group-commit.js';
import { StoreError } from '../errors.js';
import { storeErrorFrom, type Store } from '../store/store.js';
import { ChunkLedger, REQUEST_SEQ, type RowValues } from './chain.js';
import { emptyRow, getColumn, linkRow, notPending, openAttempts, OpenAttempt, sealRow, setColumn, type FinishFields } from './open-attempt.js';
import { throwIfAttemptFailed } from './recorder.js';
import { statementsFor, type EvidenceStatements } from './statements.js';
import {
  EVIDENCE_MARKERS,
  TOKEN_ACCOUNTING,
  TOOL_CALL_FIDELITY,
  VERBATIM_CAPTURE,
  type AttemptOutcome,
  type AttemptStart,
  type DenialRecord,
  type EvidenceMarker,
  type UncalledAttempt,
} from './types.js';

/** Pending rows older than this are treated as interrupted even if their pid looks alive (pid reuse). */
export const STALE_PENDING_MS = 24 * 60 * 60 * 1000;

/**
 * How long a command opening the store waits for the write lock to recover the rows of processes
 * that died (`recoverInterrupted`'s `lockWaitMs`): longer than a gateway's group commits or a prune
 * batch hold it, far shorter than the busy timeout a command's own writes wait.
 */
export const RECOVERY_LOCK_WAIT_MS = 500;

/**
 * Opens an attempt and returns its evidence id; nothing is written yet. Hand
 * `createRecorder(store, id)` to the transport as its CaptureSink: the `pending` row, with this
 * process's pid, is written in one transaction with the request bytes when the transport hands
 * them over, before it opens the socket — synchronously without a group committer, or in the
 * committer's next batch, the transport waiting for that commit — so it is committed before any
 * byte leaves the host. An attempt that ends before sending anything (refused by the transport,
 * say) is written, finished, by `completeAttempt`.
 */
export function beginAttempt(store: Store, attempt: AttemptStart): string {
  const now = attempt.now ?? Date.now();
  const id = newId('ev', now);
  const row = emptyRow();
  setColumn(row, 'id', id);
  setColumn(row, 'request_id', attempt.requestId);
  setColumn(row, 'hop', attempt.hop);
  setColumn(row, 'kind', attempt.kind);
  setColumn(row, 'state', 'pending');
  setColumn(row, 'pid', process.pid);
  setColumn(row, 'created_at', new Date(now).toISOString());
  setColumn(row, 'provider_id', attempt.provider.id);
  setColumn(row, 'provider_version', attempt.provider.version);
  setColumn(row, 'provider_class', attempt.provider.class);
  setColumn(row, 'model', attempt.model);
  setColumn(row, 'permit_id', attempt.permitId);
  // Plain JSON: the payload and the plan are built by this code in a fixed key order, and the chain
  // hashes the stored text, so a sorted copy per request would buy nothing.
  setColumn(row, 'permit_json', JSON.stringify(attempt.permit));
  setColumn(row, 'permit_token', attempt.permitToken ?? null);
  setColumn(row, 'session_id', attempt.sessionId ?? null);
  setColumn(row, 'caller', attempt.caller);
  setColumn(row, 'sensitivity', attempt.sensitivity);
  setColumn(row, 'route_json', attempt.route === undefined ? null : JSON.stringify(attempt.route));
  setColumn(row, 'streamed', attempt.streamed ? 1 : 0);
  // Prepared now, so the first write on the hot path does not pay for it.
  statementsFor(store);
  openAttempts.set(id, new OpenAttempt(id, row, attempt.writeWithRow));
  return id;
}

/**
 * Finishes an attempt: writes what the recorder still buffers and the outcome, and links the row
 * into the hash chain — one transaction, touching only the row's small columns (the bytes were
 * written once, as they came). Throws StoreError when the row is not pending (already finished,
 * or marked interrupted), or when an earlier capture write failed.
 */
export function completeAttempt(store: Store, evidenceId: string, outcome: AttemptOutcome): void {
  write(store, finishing(store, evidenceId, outcome));
}

/**
 * `completeAttempt` through a group committer (the gateway): the finishing write joins the next
 * batch transaction and the returned promise settles once it is committed (rejecting with a
 * StoreError as `completeAttempt` would throw). `deferred`: the caller does not wait for it (an
 * answered request), so it may wait for another request's batch (`GroupCommitter.runDeferred`).
 * An invalid outcome, or an earlier capture failure of the attempt, still throws at once.
 */
export function completeAttemptGrouped(
  commits: GroupCommitter,
  store: Store,
  evidenceId: string,
  outcome: AttemptOutcome,
  options: { deferred?: boolean } = {},
): Promise<void> {
  const work = finishing(store, evidenceId, outcome);
  return options.deferred === true ? commits.runDeferred(() => write(store, work)) : commits.run(() => write(store, work));
}

/** Checks the outcome and takes the attempt out of the open set; returns the finishing write. */
function finishing(store: Store, evidenceId: string, outcome: AttemptOutcome): () => void {
  checkOutcome(outcome);
  const now = outcome.now ?? Date.now();
  const fields: FinishFields = {
    state: outcome.state,
    finishedAt: new Date(now).toISOString(),
    status: outcome.status ?? null,
    firstTokenMs: outcome.firstTokenMs ?? null,
    totalMs: outcome.totalMs,
    inputTokens: outcome.usage?.inputTokens ?? null,
    outputTokens: outcome.usage?.outputTokens ?? null,
    cachedInputTokens: outcome.usage?.cachedInputTokens ?? null,
    cacheWriteInputTokens: outcome.usage?.cacheWriteInputTokens ?? null,
    costUsd: outcome.costUsd ?? null,
    tokenAccounting: outcome.tokenAccounting,
    verbatimCapture: outcome.verbatimCapture,
    toolCallFidelity: outcome.toolCallFidelity,
    markersJson: JSON.stringify(outcome.markers),
    warningsJson: JSON.stringify(outcome.warnings),
    errorJson: outcome.error === undefined ? null : JSON.stringify({ code: outcome.error.code, message: outcome.error.message }),
  };
  const statements = statementsFor(store);
  const attempt = openAttempts.get(evidenceId);
  if (attempt === undefined) {
    // Not begun in this process (or already finished): only the stored row can say.
    return () => statements.transaction(() => finishStored(statements, evidenceId, fields));
  }
  openAttempts.delete(evidenceId);
  attempt.detach?.();
  throwIfAttemptFailed(attempt);
  return () => attempt.finish(statements, fields);
}

/**
 * Records a refusal (forged / expired / replayed / out-of-scope permit, denied route, blocked
 * provider): a finished `denial` row (`permit_check` for a permit refused outside any request) in
 * state `denied`, no bytes, chained at once.
 */
export function recordDenial(store: Store, denial: DenialRecord): string {
  return writeRowWithoutBytes(store, {
    requestId: denial.requestId,
    hop: 0,
    kind: denial.kind ?? 'denial',
    state: 'denied',
    provider: denial.provider,
    model: denial.model,
    permitId: denial.permitId,
    permitToken: denial.permitToken,
    sessionId: denial.sessionId,
    caller: denial.caller,
    sensitivity: denial.sensitivity,
    route: denial.route,
    streamed: false,
    markers: [],
    error: { code: denial.reasonCode, message: denial.message },
    now: denial.now,
  });
}

/**
 * Records an invocation that ended before any call (see `UncalledAttempt`): a finished row in
 * state `failed`, no permit, no bytes (`verbatim_capture` none), chained at once.
 */
export function recordUncalledAttempt(store: Store, attempt: UncalledAttempt): string {
  return writeRowWithoutBytes(store, { ...attempt, state: 'failed' });
}

/** A finished row that carries no bytes (a denial, an attempt that never called), chained at once. */
function writeRowWithoutBytes(
  store: Store,
  fields: {
    requestId: string;
    hop: number;
    kind: 'invocation' | 'probe' | 'denial' | 'permit_check';
    state: 'failed' | 'denied';
    provider?: { id: string; version?: number; class?: string } | undefined;
    model?: string | undefined;
    permitId?: string | undefined;
    permitToken?: string | undefined;
    sessionId?: string | undefined;
    caller: string;
    sensitivity?: string | undefined;
    route?: unknown;
    streamed: boolean;
    markers: EvidenceMarker[];
    error: { code: string; message: string };
    now?: number | undefined;
  },
): string {
  const now = fields.now ?? Date.now();
  const id = newId('ev', now);
  const statements = statementsFor(store);
  const timestamp = new Date(now).toISOString();
  const row = emptyRow();
  setColumn(row, 'id', id);
  setColumn(row, 'request_id', fields.requestId);
  setColumn(row, 'hop', fields.hop);
  setColumn(row, 'kind', fields.kind);
  setColumn(row, 'state', fields.state);
  setColumn(row, 'pid', process.pid);
  setColumn(row, 'created_at', timestamp);
  setColumn(row, 'finished_at', timestamp);
  setColumn(row, 'provider_id', fields.provider?.id ?? null);
  setColumn(row, 'provider_version', fields.provider?.version ?? null);
  setColumn(row, 'provider_class', fields.provider?.class ?? null);
  setColumn(row, 'model', fields.model ?? null);
  setColumn(row, 'permit_id', fields.permitId ?? null);
  setColumn(row, 'permit_token', fields.permitToken ?? null);
  setColumn(row, 'session_id', fields.sessionId ?? null);
  setColumn(row, 'caller', fields.caller);
  setColumn(row, 'sensitivity', fields.sensitivity ?? null);
  setColumn(row, 'route_json', fields.route === undefined ? null : JSON.stringify(fields.route));
  setColumn(row, 'streamed', fields.streamed ? 1 : 0);
  setColumn(row, 'token_accounting', 'not_available');
  setColumn(row, 'verbatim_capture', 'none');
  setColumn(row, 'tool_call_fidelity', 'not_applicable');
  setColumn(row, 'markers_json', JSON.stringify(fields.markers));
  setColumn(row, 'warnings_json', '[]');
  setColumn(row, 'error_json', JSON.stringify(fields.error));
  write(store, () => statements.transaction(() => linkRow(statements, id, row, new ChunkLedger(), false)));
  return id;
}

export { isProcessAlive };

export interface RecoverOptions {
  now?: number;
  staleAfterMs?: number;
  /** Liveness check, replaceable in tests. Default: `process.kill(pid, 0)`, ESRCH means dead. */
  isAlive?: (pid: number) => boolean;
  /**
   * Waits at most this long for the write lock, instead of the connection's busy timeout, and
   * recovers nothing now (returns []) when another process holds it longer: the rows stay pending
   * (unchained, as while their call ran) for the next process to recover. For recovery done in
   * passing, as a command opens the store: a command that only reads (`evidence verify`, `metrics`)
   * failed busy, and a `run` waited out the busy timeout before its own writes waited for it again.
   */
  lockWaitMs?: number;
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
  if (options.lockWaitMs !== undefined) return recoverIfLockFree(store, options.lockWaitMs, () => recoverInterrupted(store, { ...options, now, lockWaitMs: undefined }));
  const recovered: string[] = [];
  write(store, () =>
    statements.transaction(() => {
      for (const row of dead) {
        // Another process may have recovered or finished it in the meantime.
        const stored = readPending(statements, row.id);
        if (stored === undefined) continue;
        const responseChunks = stored.ledger.count - (stored.hasRequest ? 1 : 0);
        const markers: EvidenceMarker[] = getColumn(stored.row, 'response_started_ms') !== null || responseChunks > 0 ? ['partial_response'] : [];
        sealRow(
          statements,
          row.id,
          stored.row,
          stored.ledger,
          {
            state: 'interrupted',
            finishedAt: new Date(now).toISOString(),
            status: null,
            firstTokenMs: null,
            totalMs: null,
            inputTokens: null,
            outputTokens: null,
            cachedInputTokens: null,
            cacheWriteInputTokens: null,
            costUsd: null,
            tokenAccounting: 'not_available',
            verbatimCapture: stored.ledger.count > 0 ? 'partial' : 'none',
            // Not assessed: the response was never decoded.
            toolCallFidelity: null,
            markersJson: JSON.stringify(markers),
            warningsJson: '[]',
            errorJson: JSON.stringify({
              code: 'interrupted',
              message: `the process (pid ${row.pid}) making this call ended before recording its outcome`,
            }),
          },
          true,
        );
        recovered.push(row.id);
      }
    }),
  );
  return recovered;
}

/**
 * `recover` with the connection's busy timeout set to `lockWaitMs` (restored after): [] when the
 * write lock stayed held by another process that long.
 */
function recoverIfLockFree(store: Store, lockWaitMs: number, recover: () => string[]): string[] {
  const busyTimeoutMs = store.db.pragma('busy_timeout', { simple: true }) as number;
  store.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(lockWaitMs))}`);
  try {
    return recover();
  } catch (error) {
    if (error instanceof StoreError && error.reason === 'busy') return [];
    throw error;
  } finally {
    store.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}

/** A pending row as stored, with its chunks in a ledger; undefined when it is no longer pending. */
function readPending(statements: EvidenceStatements, evidenceId: string): { row: RowValues; ledger: ChunkLedger; hasRequest: boolean } | undefined {
  const row = statements.selectHashed.get(evidenceId) as unknown[] | undefined;
  if (row === undefined) return undefined;
  row.pop();
  if (getColumn(row, 'state') !== 'pending' || getColumn(row, 'chain_seq') !== null) return undefined;
  const ledger = new ChunkLedger();
  let hasRequest = false;
  const rowKey = getColumn(row, 'row_key');
  for (const [seq, atMs, bytes, evidenceIdMatches, blockIds] of statements.selectChunks.all(evidenceId, rowKey, rowKey) as [unknown, unknown, unknown, number, unknown][]) {
    if (seq === REQUEST_SEQ) hasRequest = true;
    ledger.addStored(seq, atMs, statements.blocks.chunkBytes(bytes, blockIds), evidenceIdMatches === 1);
  }
  return { row, ledger, hasRequest };
}

/** Inside a transaction: finishes a pending row from what the store holds (no open attempt). */
function finishStored(statements: EvidenceStatements, evidenceId: string, fields: FinishFields): void {
  const stored = readPending(statements, evidenceId);
  if (stored === undefined) throw notPending(statements, evidenceId);
  sealRow(statements, evidenceId, stored.row, stored.ledger, fields, true);
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
  for (const [name, count] of Object.entries(outcome.usage ?? {})) {
    if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) problems.push(`usage.${name} ${String(count)}`);
  }
  if (problems.length > 0) throw new TypeError(`invalid evidence outcome: ${problems.join(', ')}`);
}

/**
 * Runs an evidence write; a SQLite or file-system failure becomes the StoreError its code calls for
 * (another process holding the store, a store this user cannot write, a full disk), as every other
 * store write does: `doctor`, which the old hint sent the operator to, finds nothing wrong with a
 * store another writer holds.
 */
function write(store: Store, work: () => unknown): void {
  try {
    work();
  } catch (error) {
    throw storeErrorFrom(error, 'evidence write failed', store.path);
  }
}
