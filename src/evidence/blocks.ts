import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../store/store.js';

/** Request chunks at least this long are stored as blocks; smaller ones stay whole in their row. */
export const BLOCK_STORAGE_MIN_BYTES = 64 * 1024;

/** Block sizes: no cut before MIN, a cut wherever the rolling hash says after it (~8 KiB apart on average), at most MAX. */
const MIN_BLOCK_BYTES = 2 * 1024;
export const MAX_BLOCK_BYTES = 64 * 1024;
const CUT_MASK = (1 << 13) - 1;

/**
 * Gear table of the rolling hash: 256 fixed pseudo-random words (mulberry32, fixed seed), so every
 * process and every version cuts the same bytes at the same places — that is what lets the blocks
 * of one turn's body be found again in the next.
 */
const GEAR = (() => {
  const table = new Uint32Array(256);
  let state = 0x5eed_b10c;
  for (let index = 0; index < 256; index += 1) {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    table[index] = (value ^ (value >>> 14)) >>> 0;
  }
  return table;
})();

/**
 * Content-defined cut points (a Gear rolling hash, as in FastCDC): where a block ends depends only
 * on the ~32 bytes before the cut, so inserting or changing bytes in one place moves the cuts of
 * that place alone and the blocks before and after it stay the same. Returns the end offset of
 * every block; the last is `bytes.length`.
 */
export function blockBoundaries(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  let start = 0;
  while (start < bytes.length) {
    const limit = Math.min(bytes.length, start + MAX_BLOCK_BYTES);
    let end = limit;
    let hash = 0;
    for (let index = start + MIN_BLOCK_BYTES; index < limit; index += 1) {
      hash = ((hash << 1) + (GEAR[bytes[index] as number] as number)) >>> 0;
      if ((hash & CUT_MASK) === 0) {
        end = index + 1;
        break;
      }
    }
    ends.push(end);
    start = end;
  }
  return ends;
}

/**
 * The `evidence_blocks` table of one connection: writes a body as blocks, each stored once under
 * its SHA-256, and reassembles a body from its block ids. Writes happen inside the caller's
 * transaction (the chunk row and its new blocks commit together).
 */
export class EvidenceBlocks {
  private readonly selectId: Statement;
  private readonly insert: Statement;
  private readonly selectBytes: Statement;

  constructor(db: SqliteDatabase) {
    this.selectId = db.prepare('SELECT block_id FROM evidence_blocks WHERE sha256 = ?').pluck(true);
    this.insert = db.prepare('INSERT INTO evidence_blocks (sha256, bytes) VALUES (?, ?)');
    this.selectBytes = db.prepare('SELECT bytes FROM evidence_blocks WHERE block_id = ?').pluck(true);
  }

  /** Stores the blocks of `bytes` not stored yet; returns every block id in order, comma-separated. */
  write(bytes: Buffer): string {
    const ids: string[] = [];
    let start = 0;
    for (const end of blockBoundaries(bytes)) {
      const block = bytes.subarray(start, end);
      const digest = createHash('sha256').update(block).digest();
      let id = this.selectId.get(digest) as number | bigint | undefined;
      if (id === undefined) id = this.insert.run(digest, block).lastInsertRowid;
      ids.push(String(id));
      start = end;
    }
    return ids.join(',');
  }

  /** The bytes the blocks add up to; undefined when a block is missing or is not bytes (the store was tampered with). */
  read(blockIds: string): Buffer | undefined {
    const parts: Buffer[] = [];
    for (const id of blockIds.split(',')) {
      const bytes = this.selectBytes.get(Number(id)) as unknown;
      if (!Buffer.isBuffer(bytes)) return undefined;
      parts.push(bytes);
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /**
   * A stored chunk's bytes: its own `bytes`, or those of its blocks when `block_ids` is set. Call
   * only while no statement of this connection is being iterated. A chunk whose blocks cannot be
   * read yields a string saying so, which the chain records as "not bytes" (the link breaks).
   */
  chunkBytes(bytes: unknown, blockIds: unknown): unknown {
    if (blockIds === null || blockIds === undefined) return bytes;
    if (typeof blockIds !== 'string') return `block_ids of type ${typeof blockIds}`;
    return this.read(blockIds) ?? 'missing evidence block';
  }
}

const blocksByDatabase = new WeakMap<SqliteDatabase, EvidenceBlocks>();

/** The connection's `EvidenceBlocks` (statements prepared once per connection). */
export function evidenceBlocks(db: SqliteDatabase): EvidenceBlocks {
  let blocks = blocksByDatabase.get(db);
  if (blocks === undefined) {
    blocks = new EvidenceBlocks(db);
    blocksByDatabase.set(db, blocks);
  }
  return blocks;
}
