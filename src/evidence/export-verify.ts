import { isRecord } from '../wire/json.js';
import { exportedLinkHash, GENESIS_HASH } from './chain.js';
import { decodeBytes, envelopeOfLink, type EncodedBytes, type ExportedLink } from './queries.js';

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
   * (`--from`) does not have that hash, or the file does not hold it.
   */
  reason: 'not an envelope' | 'no link' | 'content changed' | 'link broken' | 'row missing' | 'anchor mismatch';
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
    }
  | { ok: false; envelopes: number; chained: number; brokenAt: ExportBreak };

interface Link {
  line: number;
  id: string;
  seq: number;
  prevHash: string;
  hash: string;
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
  private failure: ExportBreak | undefined;

  constructor(private readonly from?: { seq: number; hash: string }) {}

  /** One line of the file; false once a line failed (the rest need not be read). */
  add(text: string): boolean {
    if (this.failure !== undefined) return false;
    if (text.trim() === '') return true;
    this.envelopes += 1;
    const proven = proveLine(text, this.envelopes);
    if ('reason' in proven) {
      this.failure = proven;
      return false;
    }
    if (proven.seq !== undefined) this.links.push({ ...proven, seq: proven.seq });
    return true;
  }

  finish(): ExportVerifyResult {
    const { links, envelopes } = this;
    const broken = (brokenAt: ExportBreak): ExportVerifyResult => ({ ok: false, envelopes, chained: links.length, brokenAt });
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
    if (first !== undefined && first.seq === 1 && first.prevHash !== GENESIS_HASH) return broken({ line: first.line, evidenceId: first.id, seq: 1, reason: 'link broken' });
    if (this.from !== undefined) {
      const { seq, hash } = this.from;
      const anchored = links.find((link) => link.seq === seq);
      if (anchored?.hash !== hash) return broken({ line: anchored?.line ?? 0, ...(anchored === undefined ? {} : { evidenceId: anchored.id }), seq, reason: 'anchor mismatch' });
    }
    return {
      ok: true,
      envelopes,
      chained: links.length,
      ...(first === undefined ? {} : { first: { seq: first.seq, prevHash: first.prevHash } }),
      ...(last === undefined ? {} : { head: { seq: last.seq, hash: last.hash } }),
    };
  }
}

/** One line proven on its own: its link, and what it says against its link. */
function proveLine(text: string, line: number): (Omit<Link, 'seq'> & { seq: number | undefined }) | ExportBreak {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { line, reason: 'not an envelope' };
  }
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
