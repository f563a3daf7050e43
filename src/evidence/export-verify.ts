import { isRecord } from '../wire/json.js';
import { COLUMN_INDEX, exportedLinkHash, GENESIS_HASH, leftOutLinkHash } from './chain.js';
import { decodeBytes, envelopeOfLink, type EncodedBytes, type ExportedLink, type ExportFilter } from './queries.js';

/** Why an exported line does not prove what it says. */
export interface ExportBreak {
  /** 1-based line of the file. */
  line: number;
  evidenceId?: string;
  /** Its chain position, when it has one. */
  seq?: number;
  /**
   * `not an envelope`: the line is not JSON of an exported envelope. `no link`: it carries no
   * `link` (an export made before syndicate wrote one). `content changed`: its link does not hash
   * to its `hash`, or its fields say other than its link. `link broken`: its `prevHash` is not the
   * hash of the envelope chained before it. `row missing`: a chain position between the first and
   * the last exported is not in the file. `anchor mismatch`: the envelope at the head given
   * (`--from`) does not have that hash, or the file does not hold it. `matches the filter`: a line of a
   * position the export's filter left out holds a row that filter selects (an envelope taken out of
   * the file and its link put in its place).
   */
  reason: 'not an envelope' | 'no link' | 'content changed' | 'link broken' | 'row missing' | 'anchor mismatch' | 'matches the filter';
}

export type ExportVerifyResult =
  | {
      ok: true;
      /** Lines read; of them `chained` hold a chain position (the others were in flight: `pending`). */
      envelopes: number;
      chained: number;
      /** The first exported link and the hash it follows (the genesis hash, the last pruned link's, or a link not exported). */
      first?: { seq: number; prevHash: string };
      /** The last exported link: compare it with a head `evidence verify` printed and kept off the machine. */
      head?: { seq: number; hash: string };
      /**
       * A filtered export: the chain positions its filter left out (their links proven, their
       * envelopes not in the file), as ranges `[from, to]`, and the filter each of their lines names.
       */
      leftOut?: { positions: number; ranges: [number, number][]; filter: ExportFilter };
    }
  | { ok: false; envelopes: number; chained: number; brokenAt: ExportBreak };

interface Link {
  line: number;
  id: string;
  seq: number;
  prevHash: string;
  hash: string;
  /** A position the export's filter left out: its link only. */
  leftOut?: true;
}

/**
 * Proves an `evidence export` without the store (`evidence verify --export FILE`), a line at a time
 * (`add`), then `finish`: each line's link hashes to its `hash`, its fields are what its link says,
 * and the chained lines, in chain order, link each to the one before with no position missing
 * between the first and the last. `from` (a head kept off the machine) must be one of them, with
 * its hash. Keeps only each line's position and hashes, so a file of any size is read as it streams.
 */
export class ExportVerifier {
  private readonly links: Link[] = [];
  private envelopes = 0;
  private lines = 0;
  private filter: { json: string; value: ExportFilter } | undefined;
  private failure: ExportBreak | undefined;

  constructor(private readonly from?: { seq: number; hash: string }) {}

  /** One line of the file; false once a line failed (the rest need not be read). */
  add(text: string): boolean {
    if (this.failure !== undefined) return false;
    if (text.trim() === '') return true;
    this.lines += 1;
    const proven = proveLine(text, this.lines);
    if (!('reason' in proven) && proven.leftOut !== undefined) {
      this.failure = this.sameFilter(proven.leftOut.filter, proven);
    } else {
      this.envelopes += 1;
      if ('reason' in proven) this.failure = proven;
    }
    if (this.failure !== undefined || 'reason' in proven) return false;
    if (proven.seq !== undefined) {
      this.links.push({ line: proven.line, id: proven.id, seq: proven.seq, prevHash: proven.prevHash, hash: proven.hash, ...(proven.leftOut === undefined ? {} : { leftOut: true }) });
    }
    return true;
  }

  /** Every line of a left-out position names the same filter: one naming another was edited (or comes from another export). */
  private sameFilter(filter: ExportFilter, link: { line: number; id: string; seq: number | undefined }): ExportBreak | undefined {
    const json = JSON.stringify(filter);
    this.filter ??= { json, value: filter };
    return this.filter.json === json ? undefined : { line: link.line, evidenceId: link.id, ...(link.seq === undefined ? {} : { seq: link.seq }), reason: 'content changed' };
  }

  finish(): ExportVerifyResult {
    const { links, envelopes } = this;
    const broken = (brokenAt: ExportBreak): ExportVerifyResult => ({ ok: false, envelopes, chained: links.filter((link) => link.leftOut !== true).length, brokenAt });
    if (this.failure !== undefined) return broken(this.failure);
    links.sort((left, right) => left.seq - right.seq);
    for (let index = 1; index < links.length; index += 1) {
      const previous = links[index - 1] as Link;
      const link = links[index] as Link;
      if (link.seq !== previous.seq + 1) return broken({ line: 0, seq: previous.seq + 1, reason: 'row missing' });
      if (link.prevHash !== previous.hash) return broken({ line: link.line, evidenceId: link.id, seq: link.seq, reason: 'link broken' });
    }
    const [first] = links;
    const last = links.at(-1);
    // The file begins at the head given (`export --from` it), or right after it (a head whose row a prune deleted).
    const beginsAtHead = this.from !== undefined && first !== undefined && (first.seq === this.from.seq || (first.seq === this.from.seq + 1 && first.prevHash === this.from.hash));
    // A filtered export writes the positions it left out from its first exported envelope on, or from the head it was made
    // `--from`: a file that begins with one anywhere else lost that envelope.
    if (first?.leftOut === true && !beginsAtHead) return broken({ line: 0, seq: first.seq - 1, reason: 'row missing' });
    if (this.from !== undefined) {
      const { seq, hash } = this.from;
      const anchored = links.find((link) => link.seq === seq);
      const follows = anchored === undefined && beginsAtHead;
      if (anchored?.hash !== hash && !follows) return broken({ line: anchored?.line ?? 0, ...(anchored === undefined ? {} : { evidenceId: anchored.id }), seq, reason: 'anchor mismatch' });
    }
    if (first !== undefined && first.seq === 1 && first.prevHash !== GENESIS_HASH) return broken({ line: first.line, evidenceId: first.id, seq: 1, reason: 'link broken' });
    const leftOut = links.filter((link) => link.leftOut === true);
    return {
      ok: true,
      envelopes,
      chained: links.length - leftOut.length,
      ...(first === undefined ? {} : { first: { seq: first.seq, prevHash: first.prevHash } }),
      ...(last === undefined ? {} : { head: { seq: last.seq, hash: last.hash } }),
      ...(this.filter === undefined ? {} : { leftOut: { positions: leftOut.length, ranges: ranges(leftOut.map((link) => link.seq)), filter: this.filter.value } }),
    };
  }
}

type ProvenLine = Omit<Link, 'seq' | 'leftOut'> & { seq: number | undefined; leftOut?: { filter: ExportFilter } };

/** One line proven on its own: its link, and what it says against its link. */
function proveLine(text: string, line: number): ProvenLine | ExportBreak {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { line, reason: 'not an envelope' };
  }
  if (isRecord(parsed) && 'leftOut' in parsed) return proveLeftOut(parsed, line);
  if (!isRecord(parsed) || typeof parsed['id'] !== 'string') return { line, reason: 'not an envelope' };
  const { link, ...envelope } = parsed;
  const id = parsed['id'];
  const seq = typeof parsed['chainSeq'] === 'number' ? parsed['chainSeq'] : undefined;
  const where = { line, evidenceId: id, ...(seq === undefined ? {} : { seq }) };
  if (!isExportedLink(link)) return { ...where, reason: 'no link' };
  const hash = parsed['hash'];
  const prevHash = parsed['prevHash'];
  // A row still in flight is outside the chain: what it says is checked against its link all the same.
  const bytes = bodyBytes(envelope['request'], envelope['response']);
  if (bytes === undefined || bytes.length !== link.chunks.reduce((sum, [, , length]) => sum + length, 0)) return { ...where, reason: 'content changed' };
  if (seq !== undefined && (typeof hash !== 'string' || typeof prevHash !== 'string' || exportedLinkHash(link.values, link.chunks, bytes) !== hash)) {
    return { ...where, reason: 'content changed' };
  }
  if (JSON.stringify(envelopeOfLink(link, typeof hash === 'string' ? hash : null, bytes)) !== JSON.stringify(envelope)) return { ...where, reason: 'content changed' };
  return { line, id, seq, prevHash: String(prevHash), hash: String(hash) };
}

/**
 * The line of a position the export's filter left out (`LeftOutLine`): its link hashes to its
 * `hash` from the SHA-256 of its bytes, it says the position, id and previous hash its values
 * hold, and its row is not one the filter selects (the filter would have exported it).
 */
function proveLeftOut(parsed: Record<string, unknown>, line: number): ProvenLine | ExportBreak {
  const leftOut = parsed['leftOut'];
  const link = parsed['link'];
  if (!isRecord(leftOut) || typeof leftOut['id'] !== 'string' || typeof leftOut['chainSeq'] !== 'number' || !isExportFilter(leftOut['filter'])) {
    return { line, reason: 'not an envelope' };
  }
  const { id, chainSeq: seq, filter } = leftOut;
  const where = { line, evidenceId: id, seq };
  const bytesSha256 = isRecord(link) ? link['bytesSha256'] : undefined;
  if (!isExportedLink(link) || typeof bytesSha256 !== 'string') return { ...where, reason: 'no link' };
  const { hash, prevHash } = leftOut;
  const values = link.values;
  const says = values[COLUMN_INDEX.id] === id && values[COLUMN_INDEX.chain_seq] === seq && values[COLUMN_INDEX.prev_hash] === prevHash;
  if (typeof hash !== 'string' || typeof prevHash !== 'string' || !says || leftOutLinkHash(values, link.chunks, bytesSha256) !== hash) {
    return { ...where, reason: 'content changed' };
  }
  if (selectedBy(filter, values)) return { ...where, reason: 'matches the filter' };
  return { line, id, seq, prevHash, hash, leftOut: { filter } };
}

/** Whether the export's filter selects the row of these hashed values (as `evidence export` selects rows). */
function selectedBy(filter: ExportFilter, values: readonly unknown[]): boolean {
  const value = (column: keyof typeof COLUMN_INDEX): unknown => values[COLUMN_INDEX[column]];
  const createdAt = String(value('created_at'));
  const among = (column: keyof typeof COLUMN_INDEX, wanted: readonly string[] | undefined): boolean => wanted === undefined || wanted.includes(value(column) as string);
  const equal = (column: keyof typeof COLUMN_INDEX, wanted: string | undefined): boolean => wanted === undefined || value(column) === wanted;
  return (
    (filter.since === undefined || createdAt >= filter.since) &&
    (filter.until === undefined || createdAt < filter.until) &&
    equal('provider_id', filter.provider) &&
    equal('state', filter.state) &&
    equal('session_id', filter.session) &&
    among('sensitivity', filter.sensitivities) &&
    among('provider_class', filter.providerClasses)
  );
}

function isExportFilter(value: unknown): value is ExportFilter {
  if (!isRecord(value) || Object.keys(value).length === 0) return false;
  const text = (key: string): boolean => value[key] === undefined || typeof value[key] === 'string';
  const texts = (key: string): boolean => value[key] === undefined || (Array.isArray(value[key]) && value[key].every((item) => typeof item === 'string'));
  return ['since', 'until', 'provider', 'state', 'session'].every(text) && ['sensitivities', 'providerClasses'].every(texts);
}

/** Sorted positions as ranges `[from, to]`: 2, 3, 4, 9 → [2, 4], [9, 9]. */
function ranges(seqs: readonly number[]): [number, number][] {
  const result: [number, number][] = [];
  for (const seq of seqs) {
    const last = result.at(-1);
    if (last !== undefined && last[1] === seq - 1) last[1] = seq;
    else result.push([seq, seq]);
  }
  return result;
}

function isExportedLink(value: unknown): value is ExportedLink {
  return (
    isRecord(value) &&
    Array.isArray(value['values']) &&
    Array.isArray(value['chunks']) &&
    value['chunks'].every(
      (chunk) => Array.isArray(chunk) && chunk.length === 3 && Number.isSafeInteger(chunk[0]) && (chunk[1] === null || typeof chunk[1] === 'number') && Number.isSafeInteger(chunk[2]) && chunk[2] >= 0,
    )
  );
}

/** The request's bytes then the response's, as the chain hashes them; undefined when a body is not bytes as export writes them. */
function bodyBytes(request: unknown, response: unknown): Buffer | undefined {
  const parts: Buffer[] = [];
  for (const part of [request, response]) {
    if (!isRecord(part)) return undefined;
    const body = part['body'];
    if (body === null || body === undefined) continue;
    if (!isRecord(body) || (body['encoding'] !== 'utf8' && body['encoding'] !== 'base64') || typeof body['data'] !== 'string') return undefined;
    parts.push(decodeBytes(body as unknown as EncodedBytes));
  }
  return Buffer.concat(parts);
}
