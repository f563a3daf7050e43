import { StoreError } from '../errors.js';
import { BLOCK_STORAGE_MIN_BYTES } from './blocks.js';
import { CHUNK_KEY_SPAN, ChunkLedger, COLUMN_INDEX, GENESIS_HASH, HASHED_COLUMNS, linkHash, REQUEST_SEQ, type HashedColumn, type RowValues } from './chain.js';
import { FINISH_COLUMNS, type EvidenceStatements } from './statements.js';

/** The response head as buffered: `atMs` is milliseconds since the request was sent. */
export interface BufferedResponseStart {
  status: number;
  headersJson: string;
  atMs: number;
}

/** Captured but not yet written: the next flush, or the finishing transaction, writes it. */
export interface PendingCapture {
  start: BufferedResponseStart | undefined;
  chunks: { seq: number; atMs: number; bytes: Buffer }[];
  end: { atMs: number; complete: boolean } | undefined;
}

/** The values a finishing row gets (besides the chain link), whoever finishes it. */
export interface FinishFields {
  state: 'completed' | 'failed' | 'interrupted';
  finishedAt: string;
  /** Overrides the captured response status when given. */
  status: number | null;
  firstTokenMs: number | null;
  totalMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Of inputTokens: read from the prompt cache, and written to it. */
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
  costUsd: number | null;
  tokenAccounting: string;
  verbatimCapture: string;
  toolCallFidelity: string | null;
  markersJson: string;
  warningsJson: string;
  errorJson: string | null;
}

const FINISH_INDEXES = FINISH_COLUMNS.map((column) => COLUMN_INDEX[column]);

/** A row of nulls, one per hashed column. */
export function emptyRow(): RowValues {
  return new Array<unknown>(HASHED_COLUMNS.length).fill(null);
}

export function setColumn(row: RowValues, column: HashedColumn, value: unknown): void {
  row[COLUMN_INDEX[column]] = value;
}

export function getColumn(row: RowValues, column: HashedColumn): unknown {
  return row[COLUMN_INDEX[column]];
}

/**
 * Inside a transaction: lays the outcome and the next chain link over `row`, hashes it with its
 * chunks, and writes it — an UPDATE of the small columns when the pending row is in the store
 * (refused unless it is still pending), an INSERT otherwise — then advances the chain head.
 * Returns the hash. `row` and `ledger` must describe exactly what the store will hold.
 */
export function sealRow(statements: EvidenceStatements, evidenceId: string, row: RowValues, ledger: ChunkLedger, fields: FinishFields, stored: boolean): string {
  setColumn(row, 'state', fields.state);
  setColumn(row, 'finished_at', fields.finishedAt);
  if (fields.status !== null) setColumn(row, 'response_status', fields.status);
  setColumn(row, 'first_token_ms', fields.firstTokenMs);
  setColumn(row, 'total_ms', fields.totalMs);
  setColumn(row, 'input_tokens', fields.inputTokens);
  setColumn(row, 'output_tokens', fields.outputTokens);
  setColumn(row, 'cached_input_tokens', fields.cachedInputTokens);
  setColumn(row, 'cache_write_input_tokens', fields.cacheWriteInputTokens);
  setColumn(row, 'cost_usd', fields.costUsd);
  setColumn(row, 'token_accounting', fields.tokenAccounting);
  setColumn(row, 'verbatim_capture', fields.verbatimCapture);
  setColumn(row, 'tool_call_fidelity', fields.toolCallFidelity);
  setColumn(row, 'markers_json', fields.markersJson);
  setColumn(row, 'warnings_json', fields.warningsJson);
  setColumn(row, 'error_json', fields.errorJson);
  return linkRow(statements, evidenceId, row, ledger, stored);
}

/** Inside a transaction: chains `row` after the current head and writes it (see `sealRow`). */
export function linkRow(statements: EvidenceStatements, evidenceId: string, row: RowValues, ledger: ChunkLedger, stored: boolean): string {
  const head = statements.selectHead.get() as { seq: number; hash: string } | undefined;
  const chainSeq = (head?.seq ?? 0) + 1;
  const previousHash = head?.hash ?? GENESIS_HASH;
  setColumn(row, 'chain_seq', chainSeq);
  setColumn(row, 'prev_hash', previousHash);
  if (!stored) assignRowKey(statements, row);
  const hash = linkHash(previousHash, row, ledger);
  if (stored) {
    const result = statements.finish.run(...FINISH_INDEXES.map((index) => row[index]), hash, evidenceId);
    if (result.changes !== 1) throw notPending(statements, evidenceId);
  } else {
    statements.insertRow.run(...row, hash);
  }
  statements.upsertHead.run(chainSeq, hash);
  return hash;
}

/** Inside the write transaction that inserts `row`: gives it the next row_key (its chunks' key range). */
export function assignRowKey(statements: EvidenceStatements, row: RowValues): number {
  const rowKey = statements.nextRowKey.get() as number;
  setColumn(row, 'row_key', rowKey);
  return rowKey;
}

/**
 * `evidence_chunks` key range of the row: `row_key * CHUNK_KEY_SPAN + seq`. A large request body
 * is stored as blocks shared with earlier bodies (an agent's resent conversation; see blocks.ts).
 */
function insertChunk(statements: EvidenceStatements, row: RowValues, evidenceId: string, seq: number, atMs: number | null, bytes: Buffer): void {
  if (seq === REQUEST_SEQ && bytes.byteLength >= BLOCK_STORAGE_MIN_BYTES) {
    statements.insertBlockChunk.run(getColumn(row, 'row_key'), seq, evidenceId, atMs, statements.blocks.write(bytes));
  } else {
    statements.insertChunk.run(getColumn(row, 'row_key'), seq, evidenceId, atMs, bytes);
  }
}

export function notPending(statements: EvidenceStatements, evidenceId: string): StoreError {
  const state = statements.selectState.get(evidenceId) as string | undefined;
  if (state === undefined) {
    return new StoreError(`no evidence row ${evidenceId}`, { hint: 'call beginAttempt before completing an attempt' });
  }
  return new StoreError(`evidence row ${evidenceId} is already ${state}`, {
    hint: 'an attempt is completed once; a row marked interrupted stays interrupted',
  });
}

/**
 * An attempt begun in this process and not yet finished: its row values (the source of truth for
 * what is written and hashed), the chunk ledger, and what is captured but not yet written.
 * The pending row reaches the store with the request bytes, in one transaction, when the
 * transport hands them over — before it opens the socket; an attempt that ends before sending
 * anything is written once, finished, by `completeAttempt`.
 */
export class OpenAttempt {
  readonly id: string;
  readonly row: RowValues;
  /** A background write failed: every later call fails closed with it. */
  failure: unknown;
  /** Cancels the recorder's flush timer; set by the recorder. */
  detach: (() => void) | undefined;
  private written = false;
  private requestCaptured = false;
  private responseSeen = false;
  private finished = false;
  private nextSeq = REQUEST_SEQ + 1;
  private readonly ledger = new ChunkLedger();
  private buffer: PendingCapture = { start: undefined, chunks: [], end: undefined };

  /** Runs inside the transaction of the row's first write, before it (see `AttemptStart.writeWithRow`). */
  private readonly writeWithRow: (() => void) | undefined;

  constructor(id: string, row: RowValues, writeWithRow?: () => void) {
    this.id = id;
    this.row = row;
    this.writeWithRow = writeWithRow;
  }

  /** First thing inside every write transaction: until the row is in the store, the writes that must commit with it. */
  private beforeWrite(): void {
    if (!this.written) this.writeWithRow?.();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Writes the pending row and the request bytes (seq 0) in one transaction. */
  captureRequest(
    statements: EvidenceStatements,
    request: { method: string; url: string; headersJson: string; startedAt: string | null; body: Buffer },
  ): void {
    if (this.finished) throw new StoreError(`evidence row ${this.id} is already finished`, { hint: 'capture the request before completing the attempt' });
    if (this.requestCaptured || this.responseSeen || this.written) {
      throw new TypeError(`the request of ${this.id} must be captured once, before any response event`);
    }
    setColumn(this.row, 'request_method', request.method);
    setColumn(this.row, 'request_url', request.url);
    setColumn(this.row, 'request_headers_json', request.headersJson);
    setColumn(this.row, 'request_started_at', request.startedAt);
    statements.transaction(() => {
      this.beforeWrite();
      assignRowKey(statements, this.row);
      statements.insertRow.run(...this.row, null);
      insertChunk(statements, this.row, this.id, REQUEST_SEQ, null, request.body);
    });
    this.ledger.add(REQUEST_SEQ, null, request.body);
    this.written = true;
    this.requestCaptured = true;
  }

  bufferResponseStart(start: BufferedResponseStart): void {
    this.responseSeen = true;
    this.buffer.start = start;
  }

  bufferChunk(bytes: Buffer, atMs: number): void {
    this.responseSeen = true;
    const seq = this.nextSeq;
    if (seq >= CHUNK_KEY_SPAN) {
      throw new StoreError(`the response of ${this.id} has more than ${CHUNK_KEY_SPAN - 1} chunks, more than an envelope can hold`, {
        hint: 'the call is stopped rather than recorded in part; ask for a shorter answer',
      });
    }
    this.nextSeq += 1;
    this.ledger.add(seq, atMs, bytes);
    this.buffer.chunks.push({ seq, atMs, bytes });
  }

  bufferEnd(end: { atMs: number; complete: boolean }): void {
    this.buffer.end = end;
  }

  get hasBuffered(): boolean {
    return this.buffer.start !== undefined || this.buffer.chunks.length > 0 || this.buffer.end !== undefined;
  }

  /** Writes what is buffered in one transaction (the pending row too, if the request never came). */
  flush(statements: EvidenceStatements): void {
    if (this.finished || !this.hasBuffered) return;
    const pending = this.takeBuffer();
    statements.transaction(() => {
      this.beforeWrite();
      if (this.written) {
        // Another process may have marked the row interrupted: its chain link is sealed, so no
        // chunk may join it any more.
        if (statements.selectState.get(this.id) !== 'pending') throw notPending(statements, this.id);
        if (pending.start !== undefined) {
          statements.captureResponseStart.run(pending.start.status, pending.start.headersJson, pending.start.atMs, this.id);
        }
        if (pending.end !== undefined) statements.captureEnd.run(pending.end.atMs, pending.end.complete ? 1 : 0, this.id);
      } else {
        assignRowKey(statements, this.row);
        statements.insertRow.run(...this.row, null);
      }
      for (const chunk of pending.chunks) insertChunk(statements, this.row, this.id, chunk.seq, chunk.atMs, chunk.bytes);
    });
    this.written = true;
  }

  /** Finishes the row with what is still buffered, in one transaction, and links it into the chain. */
  finish(statements: EvidenceStatements, fields: FinishFields): void {
    if (this.finished) throw notPending(statements, this.id);
    this.finished = true;
    const pending = this.takeBuffer();
    statements.transaction(() => {
      this.beforeWrite();
      sealRow(statements, this.id, this.row, this.ledger, fields, this.written);
      for (const chunk of pending.chunks) insertChunk(statements, this.row, this.id, chunk.seq, chunk.atMs, chunk.bytes);
    });
  }

  /** Moves the buffer out and lays the response head and end over the row values. */
  private takeBuffer(): PendingCapture {
    const pending = this.buffer;
    this.buffer = { start: undefined, chunks: [], end: undefined };
    if (pending.start !== undefined) {
      setColumn(this.row, 'response_status', pending.start.status);
      setColumn(this.row, 'response_headers_json', pending.start.headersJson);
      setColumn(this.row, 'response_started_ms', pending.start.atMs);
    }
    if (pending.end !== undefined) {
      setColumn(this.row, 'response_ended_ms', pending.end.atMs);
      setColumn(this.row, 'response_complete', pending.end.complete ? 1 : 0);
    }
    return pending;
  }
}

/** Attempts begun in this process and not yet finished, by evidence id. */
export const openAttempts = new Map<string, OpenAttempt>();
