import type { ProviderClass, SensitivityLevel } from '../common/vocabulary.js';
import type { Statement } from 'better-sqlite3';
import { CheckFailedError, StoreError } from '../errors.js';
import { ANY_JSON, readStoredJson, storedJsonMemberSql, type StoredShape } from '../store/json-columns.js';
import type { Store } from '../store/store.js';
import type { WireWarning } from '../wire/canonical.js';
import { isRecord } from '../wire/json.js';
import { evidenceBlocks } from './blocks.js';
import { ChunkLedger, CHUNK_KEY_SPAN, HASHED_COLUMNS, hashedValues, REQUEST_SEQ } from './chain.js';
import { isUncalledRecordedAsDenial, NOTHING_REGISTERED, PROBE_CALLER } from './types.js';
import type {
  ChunkTiming,
  EvidenceKind,
  EvidenceLevelSource,
  EvidenceListRow,
  EvidenceMarker,
  EvidenceRecord,
  EvidenceState,
  EvidenceSummary,
  TokenAccounting,
  ToolCallFidelity,
  VerbatimCapture,
} from './types.js';

export interface ListEvidenceOptions {
  /** Only rows created at or after this time (milliseconds since the epoch). */
  since?: number;
  /** Only rows created before this time (milliseconds since the epoch). */
  until?: number;
  provider?: string;
  state?: EvidenceState;
  /** Only rows of this session (`x-syndicate-session`, or a coding agent's own session header). */
  session?: string;
  /** Only rows the classifier gave one of these levels. */
  sensitivities?: readonly SensitivityLevel[];
  /** Only rows of providers in these classes. */
  providerClasses?: readonly ProviderClass[];
  /** Newest first; default: no limit. */
  limit?: number;
}

const SUMMARY_COLUMNS = `id, chain_seq, request_id, hop, kind, state, created_at, finished_at, provider_id, provider_version,
  provider_class, model, caller, sensitivity, streamed, response_status, first_token_ms, total_ms, input_tokens, output_tokens,
  cached_input_tokens, cache_write_input_tokens, cost_usd, token_accounting, verbatim_capture, tool_call_fidelity, markers_json, error_json, session_id`;

interface SummaryRow {
  id: string;
  chain_seq: number | null;
  request_id: string;
  hop: number;
  kind: string;
  state: string;
  created_at: string;
  finished_at: string | null;
  provider_id: string | null;
  provider_version: number | null;
  provider_class: string | null;
  model: string | null;
  caller: string;
  sensitivity: string | null;
  streamed: number;
  response_status: number | null;
  first_token_ms: number | null;
  total_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_input_tokens: number | null;
  cost_usd: number | null;
  token_accounting: string | null;
  verbatim_capture: string | null;
  tool_call_fidelity: string | null;
  markers_json: string | null;
  error_json: string | null;
  session_id: string | null;
}

interface FullRow extends SummaryRow {
  row_key: number;
  pid: number;
  permit_id: string | null;
  permit_json: string | null;
  permit_token: string | null;
  route_json: string | null;
  request_method: string | null;
  request_url: string | null;
  request_headers_json: string | null;
  response_headers_json: string | null;
  response_started_ms: number | null;
  response_ended_ms: number | null;
  response_complete: number | null;
  warnings_json: string | null;
  prev_hash: string | null;
  hash: string | null;
}

/** Rows without their bytes, newest first. */
export function listEvidence(store: Store, options: ListEvidenceOptions = {}): EvidenceListRow[] {
  return [...evidenceSummaries(store, options)];
}

/**
 * The route's `levelSources` alone, read by SQLite (`evidence list` never parses a whole route); null
 * for a route that is not JSON (edited outside syndicate: `evidence show` says how) or has none.
 */
const LEVEL_SOURCES_COLUMN = `${storedJsonMemberSql('route_json', '$.levelSources')} AS level_sources_json`;

/** `listEvidence` one row at a time, read as it goes (`evidence list --limit 100000` can pause between rows for a signal). */
export function* evidenceSummaries(store: Store, options: ListEvidenceOptions = {}): Generator<EvidenceListRow, void, undefined> {
  const { where, parameters } = evidenceFilter(options, { presentedState: true });
  const limit = options.limit === undefined ? '' : ' LIMIT ?';
  if (options.limit !== undefined) parameters.push(options.limit);
  const rows = store.db
    .prepare(`SELECT ${SUMMARY_COLUMNS}, ${LEVEL_SOURCES_COLUMN} FROM evidence${where} ORDER BY created_at DESC, rowid DESC${limit}`)
    .iterate(...parameters) as IterableIterator<SummaryRow & { level_sources_json: string | null }>;
  for (const row of rows) yield { ...presented(toSummary(row)), levelSources: readStoredJson(row.level_sources_json, LEVEL_SOURCES, null) };
}

/**
 * `isUncalledRecordedAsDenial` in SQL over the evidence table: a denial row, not a probe's, whose
 * error code is `no_providers` — what `evidence list --state failed` lists and `--state denied` does not.
 */
const UNCALLED_RECORDED_AS_DENIAL_SQL = `(kind = 'denial' AND caller <> '${PROBE_CALLER}' AND coalesce(${storedJsonMemberSql('error_json', '$.code')}, '') = '${NOTHING_REGISTERED}')`;

/**
 * The row as `evidence list` and `show` present it: a request nothing registered could take that an
 * earlier syndicate wrote as a denial is the failed attempt that called nothing it is, as `metrics`
 * counts it, its stored kind and state in `recordedAs`; any other row as stored.
 */
function presented<T extends EvidenceSummary>(summary: T): T {
  const errorCode = summary.error !== null && 'code' in summary.error ? summary.error.code : undefined;
  if (!isUncalledRecordedAsDenial({ kind: summary.kind, errorCode, byProbe: summary.caller === PROBE_CALLER })) return summary;
  return { ...summary, kind: 'invocation', state: 'failed', recordedAs: { kind: summary.kind, state: summary.state } };
}

/** How many rows `listEvidence` would give without a limit. */
export function countEvidence(store: Store, options: Omit<ListEvidenceOptions, 'limit'> = {}): number {
  const { where, parameters } = evidenceFilter(options, { presentedState: true });
  return store.db.prepare(`SELECT COUNT(*) FROM evidence${where}`).pluck(true).get(...parameters) as number;
}

/** Whether any row names this provider id, whatever else it holds. */
export function hasEvidenceOfProvider(store: Store, providerId: string): boolean {
  return store.db.prepare('SELECT 1 FROM evidence WHERE provider_id = ? LIMIT 1').get(providerId) !== undefined;
}

/**
 * The WHERE clause (empty, or with its leading space) and its parameters for the filters of `options`.
 * With `presentedState`, `state` is the state as `evidence list` presents it (`presented`); else as stored (`export`).
 */
function evidenceFilter(options: Omit<ListEvidenceOptions, 'limit'>, { presentedState = false } = {}): { where: string; parameters: (string | number)[] } {
  const conditions: string[] = [];
  const parameters: (string | number)[] = [];
  if (options.since !== undefined) {
    conditions.push('created_at >= ?');
    parameters.push(new Date(options.since).toISOString());
  }
  if (options.until !== undefined) {
    conditions.push('created_at < ?');
    parameters.push(new Date(options.until).toISOString());
  }
  const presentedAs = presentedState ? ({ failed: ` OR ${UNCALLED_RECORDED_AS_DENIAL_SQL}`, denied: ` AND NOT ${UNCALLED_RECORDED_AS_DENIAL_SQL}` } as Record<string, string>)[options.state ?? ''] : undefined;
  if (presentedAs !== undefined) {
    conditions.push(`(state = ?${presentedAs})`);
    parameters.push(options.state as string);
  }
  const equal: [column: string, value: string | undefined][] = [
    ['provider_id', options.provider],
    ['state', presentedAs === undefined ? options.state : undefined],
    ['session_id', options.session],
  ];
  for (const [column, value] of equal) {
    if (value === undefined) continue;
    conditions.push(`${column} = ?`);
    parameters.push(value);
  }
  if (options.sensitivities !== undefined) {
    conditions.push(`sensitivity IN (${options.sensitivities.map(() => '?').join(', ') || 'NULL'})`);
    parameters.push(...options.sensitivities);
  }
  if (options.providerClasses !== undefined) {
    conditions.push(`provider_class IN (${options.providerClasses.map(() => '?').join(', ') || 'NULL'})`);
    parameters.push(...options.providerClasses);
  }
  return { where: conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`, parameters };
}

/**
 * The whole envelope, bytes and chunk timings included; undefined when there is no such id.
 * For a row still pending, the response bytes are those captured so far.
 */
export function getEvidence(store: Store, evidenceId: string): EvidenceRecord | undefined {
  const row = selectRow(store, evidenceId);
  if (row === undefined) return undefined;
  const { chunks, unreadable } = storedChunks(store, chunksOfRow(store), row);
  const [first] = unreadable;
  if (first !== undefined) {
    throw new StoreError(`evidence ${row.id}: the bytes of chunk ${first.seq} cannot be read (${first.reason})`, { hint: UNREADABLE_BYTES_HINT });
  }
  return toRecord(row, chunks);
}

/** What to do about an envelope whose bytes cannot be read back. */
export const UNREADABLE_BYTES_HINT = 'the store was changed outside syndicate: `syndicate evidence verify` names the first envelope affected';

/** An envelope as far as it can be read, and why the bytes of a part cannot (see `readEvidence`). */
export interface ReadEnvelope {
  /** A part whose bytes cannot all be read holds those that can (none for the request). */
  record: EvidenceRecord;
  unreadable: UnreadableBodies;
  /** `request chunk 0: missing evidence block; response ...`, or undefined when the envelope is whole. */
  damage: string | undefined;
}

/**
 * The whole envelope like `getEvidence`, except that bytes which cannot be read (deleted or
 * edited outside syndicate) are reported rather than thrown, as `exportEvidence` reports them.
 */
export function readEvidence(store: Store, evidenceId: string): ReadEnvelope | undefined {
  const row = selectRow(store, evidenceId);
  if (row === undefined) return undefined;
  const stored = storedChunks(store, chunksOfRow(store), row);
  return { record: presented(toRecord(row, stored.chunks)), ...unreadableBodies(stored.unreadable) };
}

function selectRow(store: Store, evidenceId: string): FullRow | undefined {
  return store.db.prepare('SELECT * FROM evidence WHERE id = ?').get(evidenceId) as FullRow | undefined;
}

/** `evidence_chunks` columns seq, at_ms, bytes (reassembled from blocks where stored so). */
type StoredChunk = [number, number | null, Buffer];

const CHUNKS_OF_ROW = `SELECT seq, at_ms, bytes, block_ids FROM evidence_chunks WHERE key BETWEEN ? * ${CHUNK_KEY_SPAN} AND ? * ${CHUNK_KEY_SPAN} + ${CHUNK_KEY_SPAN - 1} ORDER BY key`;

function chunksOfRow(store: Store): Statement {
  return store.db.prepare(CHUNKS_OF_ROW).raw(true);
}

/** A stored chunk whose bytes cannot be read back (the store was changed outside syndicate). */
interface UnreadableChunk {
  seq: number;
  /** What is wrong, e.g. `missing evidence block`. */
  reason: string;
}

/**
 * An envelope's chunks in seq order, their bytes whole, and those that cannot be read. Not while
 * a statement of the connection is iterated.
 */
function storedChunks(store: Store, chunksOf: Statement, row: FullRow): { chunks: StoredChunk[]; unreadable: UnreadableChunk[] } {
  const blocks = evidenceBlocks(store.db);
  const stored = chunksOf.all(row.row_key, row.row_key) as [number, number | null, unknown, unknown][];
  const chunks: StoredChunk[] = [];
  const unreadable: UnreadableChunk[] = [];
  for (const [seq, atMs, bytes, blockIds] of stored) {
    const whole = blocks.chunkBytes(bytes, blockIds);
    if (Buffer.isBuffer(whole)) chunks.push([seq, atMs, whole]);
    // Stored as blocks, `chunkBytes` says what is wrong with them; stored whole, the column holds something else than bytes.
    else unreadable.push({ seq, reason: blockIds === null ? `not bytes but ${whole === null ? 'null' : typeof whole}` : String(whole) });
  }
  // The request's method and its bytes are written in one transaction: a method without them means they were deleted.
  if (row.request_method !== null && stored[0]?.[0] !== REQUEST_SEQ) unreadable.unshift({ seq: REQUEST_SEQ, reason: 'missing evidence chunk' });
  return { chunks, unreadable };
}

/** Ids starting with `prefix` (at most two: enough to tell unique from ambiguous). */
export function resolveEvidenceId(store: Store, prefix: string): string[] {
  const rows = store.db
    .prepare('SELECT id FROM evidence WHERE id >= ? AND id < ? ORDER BY id LIMIT 2')
    .all(prefix, `${prefix}\uffff`) as { id: string }[];
  return rows.map((row) => row.id);
}

/** How bytes appear in JSON: UTF-8 text when they are valid UTF-8, otherwise base64. */
export interface EncodedBytes {
  encoding: 'utf8' | 'base64';
  data: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Encodes bytes for JSON so that decoding them gives the identical bytes: `utf8` when the bytes
 * are valid UTF-8 (the usual case for JSON and SSE), `base64` otherwise.
 */
export function encodeBytes(bytes: Buffer): EncodedBytes {
  try {
    return { encoding: 'utf8', data: strictUtf8.decode(bytes) };
  } catch {
    return { encoding: 'base64', data: bytes.toString('base64') };
  }
}

export function decodeBytes(encoded: EncodedBytes): Buffer {
  return encoded.encoding === 'utf8' ? Buffer.from(encoded.data, 'utf8') : Buffer.from(encoded.data, 'base64');
}

/** An envelope with its bytes encoded for JSON (the shape of `show --json` and of each export line). */
export function envelopeToJson(record: EvidenceRecord, unreadable: UnreadableBodies = {}): Record<string, unknown> {
  return {
    ...record,
    request: { ...record.request, body: bodyToJson(record.request.body, unreadable.request) },
    response: { ...record.response, body: bodyToJson(record.response.body, unreadable.response) },
  };
}

/** Why a body's bytes could not be read, per part (see `exportEvidence`). */
export interface UnreadableBodies {
  request?: string;
  response?: string;
}

function bodyToJson(bytes: Buffer | null, unreadable: string | undefined): EncodedBytes | { unreadable: string } | null {
  if (unreadable !== undefined) return { unreadable };
  return bytes === null ? null : encodeBytes(bytes);
}

/** The envelopes to export: `evidence list`'s filters, without its limit. */
export type ExportOptions = Omit<ListEvidenceOptions, 'limit'>;

/** One exported envelope. */
export interface ExportedEnvelope {
  id: string;
  /** The envelope as one line of JSON (no trailing newline). */
  json: string;
  /**
   * Why some of its bytes could not be read (`request chunk 0: missing evidence block`), or
   * undefined when the envelope is whole. The line then holds `{"unreadable": <why>}` in place of
   * each body that could not be read whole (and `response.chunks` times only the chunks read).
   */
  unreadable?: string;
  /**
   * Set on the line of a chain position the export's filter left out (`LeftOutLine`): its link
   * without its fields or bytes, so that the chain can be proven through it.
   */
  leftOut?: true;
}

/**
 * The filter an export was made with, as each line of a position it left out names it (times as
 * ISO 8601): `evidence verify --export` checks that none of those rows is one it selects.
 */
export interface ExportFilter {
  since?: string;
  until?: string;
  provider?: string;
  state?: string;
  session?: string;
  sensitivities?: string[];
  providerClasses?: string[];
}

/**
 * The line of a chain position a filtered export left out, after the envelopes: its place in
 * the chain (`chainSeq`, `prevHash`, `hash`), the filter, and its `link` with the SHA-256 of its
 * bytes (`bytesSha256`) in place of the bytes — no prompt or answer leaves with it.
 */
export interface LeftOutLine {
  leftOut: { chainSeq: number; id: string; prevHash: string; hash: string; filter: ExportFilter };
  link: ExportedLink & { bytesSha256: string };
}

/** The filter of `options` as a filtered export records it; undefined when there is none. */
export function exportFilterOf(options: ExportOptions): ExportFilter | undefined {
  const filter: ExportFilter = {
    ...(options.since === undefined ? {} : { since: new Date(options.since).toISOString() }),
    ...(options.until === undefined ? {} : { until: new Date(options.until).toISOString() }),
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.state === undefined ? {} : { state: options.state }),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.sensitivities === undefined ? {} : { sensitivities: [...options.sensitivities] }),
    ...(options.providerClasses === undefined ? {} : { providerClasses: [...options.providerClasses] }),
  };
  return Object.keys(filter).length === 0 ? undefined : filter;
}

/** Envelopes read per page by `exportEvidence`. */
const EXPORT_PAGE_ROWS = 500;

/**
 * Every envelope, oldest first. Bodies are `{encoding: 'utf8' | 'base64', data}` — see
 * `encodeBytes` — so the bytes round-trip exactly. An envelope whose bytes cannot all be read (a
 * block deleted outside syndicate) is exported all the same, marked (see `ExportedEnvelope`): an
 * auditor can still export a damaged store, and `evidence verify` says what was changed.
 * Reads the store a page of envelopes at a time (a request stored as blocks is reassembled with
 * queries of its own, which an open iteration would not allow).
 */
export function* exportEvidence(store: Store, options: ExportOptions = {}, from?: ChainHead): Generator<ExportedEnvelope> {
  const { where, parameters } = evidenceFilter(options);
  const page = store.db.prepare(
    `SELECT * FROM evidence WHERE ${where === '' ? '' : `${where.slice(' WHERE '.length)} AND `}(created_at > ? OR (created_at = ? AND rowid > ?))
      ORDER BY created_at, rowid LIMIT ${EXPORT_PAGE_ROWS}`,
  );
  const chunksOf = chunksOfRow(store);
  let afterCreatedAt = '';
  let afterRowid = 0;
  // One state of the store for the whole export: a prune meanwhile (`serve`'s retention) deleted
  // the bytes of rows already read, exported as unreadable (exit 1, as if the store were damaged).
  const endSnapshot = store.readSnapshot();
  const filter = exportFilterOf(options);
  // Chain positions exported: a filtered export then carries the links of those it left out between them.
  const exported = new Set<number>();
  try {
    // Checked in the export's snapshot, before anything is written: the file then begins at that head.
    const coveredAfter = from === undefined ? undefined : positionBeforeHead(store, from);
    for (;;) {
      const rows = page.all(...parameters, afterCreatedAt, afterCreatedAt, afterRowid) as FullRow[];
      for (const row of rows) {
        if (filter !== undefined && row.chain_seq !== null) exported.add(row.chain_seq);
        yield exportedEnvelope(row, storedChunks(store, chunksOf, row));
      }
      const last = rows.at(-1);
      if (last === undefined || rows.length < EXPORT_PAGE_ROWS) break;
      afterCreatedAt = last.created_at;
      afterRowid = last.row_key;
    }
    if (filter !== undefined && (exported.size > 0 || coveredAfter !== undefined)) yield* leftOutLines(store, chunksOf, exported, filter, coveredAfter);
  } finally {
    endSnapshot();
  }
}

/** A head `evidence verify` printed (`seq:hash`), kept off the machine. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * The position after which an export `--from` a head covers the chain: before the head's row, so
 * that the file holds it, or, when a prune deleted that row and recorded its hash as the last it
 * deleted, the head itself (the file's first line then links to it). A head the store does not hold
 * with that hash is refused: the chain was rewritten since, or the head is another store's.
 */
function positionBeforeHead(store: Store, head: ChainHead): number {
  const row = store.db.prepare('SELECT hash FROM evidence WHERE chain_seq = ?').get(head.seq) as { hash: string | null } | undefined;
  if (row?.hash === head.hash) return head.seq - 1;
  const pruned = row === undefined ? (store.db.prepare('SELECT 1 FROM evidence_prunes WHERE through_seq = ? AND through_hash = ?').get(head.seq, head.hash) as unknown) : undefined;
  if (pruned !== undefined) return head.seq;
  const prune = row === undefined ? (store.db.prepare('SELECT pruned_at, through_seq FROM evidence_prunes WHERE through_seq >= ? ORDER BY id LIMIT 1').get(head.seq) as { pruned_at: string; through_seq: number } | undefined) : undefined;
  if (prune !== undefined) {
    throw new CheckFailedError(`row #${head.seq} was deleted by \`evidence prune\` on ${prune.pruned_at} (rows up to #${prune.through_seq}): an export --from that head cannot begin at it`, {
      hint: `give a head recorded at or after #${prune.through_seq}, or prove the deleted part with an \`evidence export\` made before the prune (\`evidence verify --export FILE --from\` that head)`,
      details: { from: head, prunedThrough: prune.through_seq },
    });
  }
  throw new CheckFailedError(`the store holds no row #${head.seq} with the hash ${head.hash}: an export --from that head cannot begin at it`, {
    hint:
      row === undefined
        ? 'no row holds that position: it was deleted outside syndicate, or the head was recorded from another store; run `syndicate evidence verify`'
        : 'the row at the head no longer hashes to it: the chain up to it was rewritten, or the head was recorded from another store; run a full `syndicate evidence verify`',
    details: { from: head },
  });
}

/**
 * The chain positions from the first exported one (or after `coveredAfter`, a head the export
 * began at, when that is earlier) to the last chained at the time of the export that the filter
 * left out, in chain order, each as a `LeftOutLine`: the exported envelopes are then proven chained
 * to one another through them, and to the head `evidence verify` printed then.
 */
function* leftOutLines(store: Store, chunksOf: Statement, exported: ReadonlySet<number>, filter: ExportFilter, coveredAfter?: number): Generator<ExportedEnvelope> {
  const page = store.db.prepare(`SELECT * FROM evidence WHERE chain_seq > ? ORDER BY chain_seq LIMIT ${EXPORT_PAGE_ROWS}`);
  // Not `Math.min(...exported)`: a set of 100 000 positions is too many arguments for one call.
  let after = coveredAfter ?? Number.POSITIVE_INFINITY;
  for (const seq of exported) after = Math.min(after, seq - 1);
  for (;;) {
    const rows = page.all(after) as FullRow[];
    for (const row of rows) {
      if (exported.has(row.chain_seq as number)) continue;
      const stored = storedChunks(store, chunksOf, row);
      const ledger = new ChunkLedger();
      for (const [seq, atMs, bytes] of stored.chunks) ledger.add(seq, atMs, bytes);
      const { chunksJson, bytesDigest } = ledger.seal();
      const line: LeftOutLine = {
        leftOut: { chainSeq: row.chain_seq as number, id: row.id, prevHash: String(row.prev_hash), hash: String(row.hash), filter },
        link: { values: hashedValues(row as unknown as Record<string, unknown>), chunks: JSON.parse(chunksJson) as ExportedLink['chunks'], bytesSha256: bytesDigest },
      };
      const { damage } = unreadableBodies(stored.unreadable);
      yield { id: row.id, json: JSON.stringify(line), leftOut: true, ...(damage === undefined ? {} : { unreadable: damage }) };
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < EXPORT_PAGE_ROWS) return;
    after = last.chain_seq as number;
  }
}

function exportedEnvelope(row: FullRow, stored: { chunks: StoredChunk[]; unreadable: UnreadableChunk[] }): ExportedEnvelope {
  const record = toRecord(row, stored.chunks);
  const { unreadable, damage } = unreadableBodies(stored.unreadable);
  // What the chain hashes beyond the envelope's fields, so that `evidence verify --export` proves the line without the store.
  const link: ExportedLink = { values: hashedValues(row as unknown as Record<string, unknown>), chunks: stored.chunks.map(([seq, atMs, bytes]) => [seq, atMs, bytes.length]) };
  return { id: row.id, json: JSON.stringify({ ...envelopeToJson(record, unreadable), link }), ...(damage === undefined ? {} : { unreadable: damage }) };
}

/**
 * An exported envelope's `link`: the values its chain link hashes (every column but `hash`, in
 * HASHED_COLUMNS order, as the store holds them) and its chunk list `[seq, at_ms, length]` (seq 0:
 * the request bytes; 1..: the response's, in arrival order).
 */
export interface ExportedLink {
  values: unknown[];
  chunks: [number, number | null, number][];
}

/**
 * The envelope (as `show --json` and `export` give it) that a link's values and bytes stand for:
 * what `verifyExport` compares an exported line with, so that a line edited anywhere, not only in
 * its link, fails. `bytes` are the request's then the response's, split by the chunk list.
 */
export function envelopeOfLink(link: ExportedLink, hash: string | null, bytes: Buffer): Record<string, unknown> {
  const row = Object.fromEntries(HASHED_COLUMNS.map((column, index) => [column, link.values[index] ?? null])) as unknown as FullRow;
  row.hash = hash;
  const chunks: StoredChunk[] = [];
  let offset = 0;
  for (const [seq, atMs, length] of link.chunks) {
    chunks.push([seq, atMs, bytes.subarray(offset, offset + length)]);
    offset += length;
  }
  return envelopeToJson(toRecord(row, chunks));
}

/**
 * The unreadable chunks of an envelope by part, and all of them in one line. A part whose bytes
 * cannot all be read is not given at all (`envelopeToJson`): its body says why instead.
 */
function unreadableBodies(chunks: UnreadableChunk[]): { unreadable: UnreadableBodies; damage: string | undefined } {
  const describe = (part: UnreadableChunk[]): string | undefined => (part.length === 0 ? undefined : part.map((chunk) => `chunk ${chunk.seq}: ${chunk.reason}`).join('; '));
  const request = describe(chunks.filter((chunk) => chunk.seq === REQUEST_SEQ));
  const response = describe(chunks.filter((chunk) => chunk.seq !== REQUEST_SEQ));
  const unreadable: UnreadableBodies = { ...(request === undefined ? {} : { request }), ...(response === undefined ? {} : { response }) };
  const parts = [...(request === undefined ? [] : [`request ${request}`]), ...(response === undefined ? [] : [`response ${response}`])];
  return { unreadable, damage: parts.length === 0 ? undefined : parts.join('; ') };
}

/** What each JSON column of an envelope holds when syndicate wrote it (see `readStoredJson`). */
const MARKERS: StoredShape<EvidenceMarker[]> = {
  description: 'a list of markers',
  accepts: (value): value is EvidenceMarker[] => Array.isArray(value) && value.every((marker) => typeof marker === 'string'),
};
const ERROR: StoredShape<{ code: string; message: string }> = {
  description: 'an error {code, message}',
  accepts: (value): value is { code: string; message: string } => isRecord(value) && typeof value['code'] === 'string' && typeof value['message'] === 'string',
};
const WARNINGS: StoredShape<WireWarning[]> = {
  description: 'a list of warnings {setting, message}',
  accepts: (value): value is WireWarning[] =>
    Array.isArray(value) && value.every((warning) => isRecord(warning) && typeof warning['setting'] === 'string' && typeof warning['message'] === 'string'),
};
const LEVEL_SOURCES: StoredShape<EvidenceLevelSource[]> = {
  description: 'a list of level sources {detector, reason, locations}',
  accepts: (value): value is EvidenceLevelSource[] =>
    Array.isArray(value) &&
    value.every(
      (source) =>
        isRecord(source) &&
        typeof source['detector'] === 'string' &&
        typeof source['reason'] === 'string' &&
        Array.isArray(source['locations']) &&
        source['locations'].every((location) => typeof location === 'string'),
    ),
};
const HEADERS: StoredShape<Record<string, string>> = {
  description: 'headers {name: value}',
  accepts: (value): value is Record<string, string> => isRecord(value) && Object.values(value).every((header) => typeof header === 'string'),
};

function toSummary(row: SummaryRow): EvidenceSummary {
  return {
    id: row.id,
    chainSeq: row.chain_seq,
    requestId: row.request_id,
    hop: row.hop,
    kind: row.kind as EvidenceKind,
    state: row.state as EvidenceState,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    provider: { id: row.provider_id, version: row.provider_version, class: row.provider_class },
    model: row.model,
    caller: row.caller,
    sensitivity: row.sensitivity,
    streamed: row.streamed === 1,
    status: row.response_status,
    firstTokenMs: row.first_token_ms,
    totalMs: row.total_ms,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cachedInputTokens: row.cached_input_tokens,
    cacheWriteInputTokens: row.cache_write_input_tokens,
    costUsd: row.cost_usd,
    tokenAccounting: row.token_accounting as TokenAccounting | null,
    verbatimCapture: row.verbatim_capture as VerbatimCapture | null,
    toolCallFidelity: row.tool_call_fidelity as ToolCallFidelity | null,
    markers: readStoredJson(row.markers_json, MARKERS, []),
    error: readStoredJson(row.error_json, ERROR, null),
    sessionId: row.session_id,
  };
}

/** The envelope from its row and its chunks in seq order (seq 0: the request body; 1..: the response). */
function toRecord(row: FullRow, stored: StoredChunk[]): EvidenceRecord {
  let requestBody: Buffer | null = null;
  const responseParts: Buffer[] = [];
  const chunks: ChunkTiming[] = [];
  for (const [seq, atMs, bytes] of stored) {
    if (seq === REQUEST_SEQ) {
      requestBody = bytes;
    } else {
      responseParts.push(bytes);
      chunks.push({ atMs: atMs ?? 0, bytes: bytes.length });
    }
  }
  let responseBody: Buffer | null = null;
  if (responseParts.length === 1) responseBody = responseParts[0] ?? null;
  else if (responseParts.length > 1) responseBody = Buffer.concat(responseParts);
  else if (row.response_started_ms !== null) responseBody = Buffer.alloc(0);
  return {
    ...toSummary(row),
    pid: row.pid,
    permitId: row.permit_id,
    permit: readStoredJson(row.permit_json, ANY_JSON, null),
    permitToken: row.permit_token,
    route: readStoredJson(row.route_json, ANY_JSON, null),
    request: {
      method: row.request_method,
      url: row.request_url,
      headers: readStoredJson(row.request_headers_json, HEADERS, null),
      body: requestBody,
    },
    response: {
      status: row.response_status,
      headers: readStoredJson(row.response_headers_json, HEADERS, null),
      startedMs: row.response_started_ms,
      endedMs: row.response_ended_ms,
      complete: row.response_complete === null ? null : row.response_complete === 1,
      body: responseBody,
      chunks,
    },
    warnings: readStoredJson(row.warnings_json, WARNINGS, []),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** A running total of `spentSince` for one `since`: what the envelopes chained up to `throughSeq` cost. */
interface SpendTally {
  since: string;
  throughSeq: number;
  spent: number;
}

const spendTallies = new WeakMap<Store, SpendTally>();

/**
 * The newest chained row's sequence number, 0 for an empty chain. The `IS NOT NULL` lets SQLite
 * read it from the end of the partial chain-sequence index; without it, MAX scanned the whole
 * table (1.1 s on 100 000 envelopes).
 */
const CHAIN_HEAD_SEQ = '(SELECT COALESCE(MAX(chain_seq), 0) FROM evidence WHERE chain_seq IS NOT NULL)';

/**
 * What the envelopes created since `?` cost, and the chain's newest sequence number, in one
 * snapshot: a range of the `evidence_priced` index (migration 11; only rows with a cost are in it).
 */
export const DAY_SPEND_SQL =
  `SELECT COALESCE(SUM(cost_usd), 0) AS spent, ${CHAIN_HEAD_SEQ} AS seq FROM evidence WHERE created_at >= ? AND cost_usd IS NOT NULL`;

/**
 * What the envelopes chained after sequence number `?2` and created since `?1` cost, the newest of
 * them, and the chain's newest sequence number: a range of the chain-sequence index.
 */
export const SPEND_CHAINED_SINCE_SQL = `SELECT COALESCE(SUM(CASE WHEN created_at >= ? THEN cost_usd END), 0) AS spent, MAX(chain_seq) AS seq,
  ${CHAIN_HEAD_SEQ} AS head FROM evidence WHERE chain_seq > ?`;

/**
 * Total recorded spend (USD) of attempts started at or after `sinceIso`, for the daily cost
 * ceiling — asked on the request path. The first call for a `sinceIso` sums the priced rows
 * created since then (an index range); later calls add only the envelopes chained since the
 * previous call, read through the chain-sequence index: a cost is written by the same update
 * that chains its row and never changes afterwards, so each call reads the few rows finished
 * meanwhile (by any process), not the whole day (a day of 50 000 envelopes took ~45 ms per
 * request to sum).
 */
export function spentSince(store: Store, sinceIso: string): number {
  const tally = spendTallies.get(store);
  if (tally !== undefined && tally.since === sinceIso) {
    const delta = store.statement(SPEND_CHAINED_SINCE_SQL).get(sinceIso, tally.throughSeq) as { spent: number; seq: number | null; head: number };
    // A chain that went backwards (rows removed by hand) is summed afresh rather than undercounted.
    if (delta.head >= tally.throughSeq) {
      if (delta.seq !== null) {
        tally.spent += delta.spent;
        tally.throughSeq = delta.seq;
      }
      return tally.spent;
    }
  }
  // One statement, one snapshot: a row chained after it has a higher sequence and comes with the next delta.
  const total = store.statement(DAY_SPEND_SQL).get(sinceIso) as { spent: number; seq: number };
  spendTallies.set(store, { since: sinceIso, throughSeq: total.seq, spent: total.spent });
  return total.spent;
}
