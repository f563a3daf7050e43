import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkLedger, linkHash, SELECT_HASHED } from '../../../src/evidence/chain.js';
import {
  decodeBytes,
  exportEvidence,
  GENESIS_HASH,
  getEvidence,
  HASHED_COLUMNS,
  verifyChain,
  verifyChainCancellable,
  type EncodedBytes,
  type ExportedEnvelope,
} from '../../../src/evidence/index.js';
import { pruneEvidence } from '../../../src/evidence/retention.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { REQUEST_BODY, seedCompleted, seedMany } from './seed.js';

/** A value that differs from `value` in content (and keeps the UNIQUE chain_seq free of clashes). */
function tampered(column: string, value: unknown): unknown {
  if (Buffer.isBuffer(value)) return Buffer.concat([value, Buffer.from([0x00])]);
  if (typeof value === 'number') return column === 'chain_seq' || column === 'row_key' || column === 'key' ? value + 1000 : value + 1;
  if (typeof value === 'string') return `${value}x`;
  return 'tampered';
}

describe('evidence hash chain', () => {
  let store: Store;
  let ids: string[];
  beforeEach(() => {
    store = openStore(':memory:');
    ids = seedMany(store, 6);
  });
  afterEach(() => store.close());

  it('passes on an untouched store and reports the head', () => {
    const result = verifyChain(store);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rows).toBe(6);
    expect(result.head.seq).toBe(6);
    expect(result.head.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifyChainCancellable finds what verifyChain finds, a page at a time, and stops between pages when its signal is aborted', async () => {
    seedMany(store, 2_500);
    expect(await verifyChainCancellable(store, { signal: new AbortController().signal })).toEqual(verifyChain(store));
    store.db.prepare('UPDATE evidence SET model = ? WHERE chain_seq = 2000').run('edited');
    expect(await verifyChainCancellable(store, { signal: new AbortController().signal })).toEqual(verifyChain(store));

    const mmapBefore: unknown = store.db.pragma('mmap_size', { simple: true });
    const controller = new AbortController();
    const progress: number[] = [];
    const stopped = verifyChainCancellable(store, { signal: controller.signal, progressEvery: 500, onProgress: (done) => progress.push(done) });
    // The first page is walked at once; the abort is heard before the second.
    controller.abort(new Error('stop'));
    await expect(stopped).rejects.toThrow('stop');
    expect(progress).toEqual([500, 1000]);
    expect(store.db.pragma('mmap_size', { simple: true })).toBe(mmapBefore);
  });

  it('passes on an empty store', () => {
    const empty = openStore(':memory:');
    expect(verifyChain(empty)).toEqual({ ok: true, rows: 0, head: { seq: 0, hash: '0'.repeat(64) } });
    empty.close();
  });

  it('covers every column of the evidence table except the hash itself', () => {
    const columns = (store.db.prepare('PRAGMA table_info(evidence)').all() as { name: string }[]).map((column) => column.name);
    expect([...HASHED_COLUMNS, 'hash'].sort()).toEqual([...columns].sort());
    // The bytes table: each of its columns is in the link (see the chunk tests below).
    const chunkTable = (store.db.prepare('PRAGMA table_info(evidence_chunks)').all() as { name: string }[]).map((column) => column.name);
    // block_ids stands for bytes kept in evidence_blocks (large request bodies): blocks.test.ts covers it.
    expect(chunkTable).toEqual(['key', 'evidence_id', 'at_ms', 'bytes', 'block_ids']);
  });

  // Every column, one at a time, on a middle row (seq 3, a completed invocation with bytes).
  const columns = [...HASHED_COLUMNS, 'hash'];
  it.each(columns)('detects a change of column %s at that row', (column) => {
    const target = ids[2] ?? '';
    const before = store.db.prepare(`SELECT ${column} AS value FROM evidence WHERE id = ?`).get(target) as { value: unknown };
    const value = tampered(column, before.value);
    store.db.prepare(`UPDATE evidence SET ${column} = ? WHERE id = ?`).run(value, target);
    const result = verifyChain(store);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.brokenAt.seq).toBe(3);
    expect(result.rows).toBe(2);
    if (column === 'chain_seq') expect(result.brokenAt.reason).toBe('row missing');
    else if (column === 'prev_hash') expect(result.brokenAt.reason).toBe('link broken');
    else expect(result.brokenAt).toEqual({ seq: 3, evidenceId: column === 'id' ? `${target}x` : target, reason: 'content changed' });
  });

  it('detects a NULLed column too', () => {
    store.db.prepare('UPDATE evidence SET response_status = NULL WHERE id = ?').run(ids[3]);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 4, reason: 'content changed' } });
  });

  // The bytes: every column of a chunk row of the middle envelope (seq 0 is the request). `seq` is
  // computed from the key (a virtual column), so it cannot be edited on its own.
  const chunkColumns = ['key', 'evidence_id', 'at_ms', 'bytes'] as const;
  it.each(chunkColumns.flatMap((column) => [0, 2].map((seq) => [column, seq] as const)))('detects a change of chunk column %s (chunk %i)', (column, seq) => {
    const target = ids[2] ?? '';
    const before = store.db.prepare(`SELECT ${column} AS value FROM evidence_chunks WHERE evidence_id = ? AND seq = ?`).get(target, seq) as { value: unknown };
    const value = column === 'evidence_id' ? ids[1] : tampered(column, before.value);
    store.db.prepare(`UPDATE evidence_chunks SET ${column} = ? WHERE evidence_id = ? AND seq = ?`).run(value, target, seq);
    expect(verifyChain(store)).toMatchObject({ ok: false, rows: 2, brokenAt: { seq: 3, evidenceId: target, reason: 'content changed' } });
  });

  it('detects a chunk moved to the key range of another envelope', () => {
    const rowKey = (id: string | undefined): number => (store.db.prepare('SELECT row_key FROM evidence WHERE id = ?').get(id) as { row_key: number }).row_key;
    // Chunk 3 of the fourth envelope becomes chunk 9 of the first one.
    const from = rowKey(ids[3]) * 2 ** 24 + 3;
    store.db.prepare('UPDATE evidence_chunks SET key = ? WHERE key = ?').run(rowKey(ids[0]) * 2 ** 24 + 9, from);
    expect(verifyChain(store)).toMatchObject({ ok: false, rows: 0, brokenAt: { seq: 1, evidenceId: ids[0], reason: 'content changed' } });
  });

  it('detects bytes replaced by the same text with another type', () => {
    const row = store.db.prepare('SELECT bytes FROM evidence_chunks WHERE evidence_id = ? AND seq = 0').get(ids[0]) as { bytes: Buffer };
    store.db.prepare('UPDATE evidence_chunks SET bytes = ? WHERE evidence_id = ? AND seq = 0').run(row.bytes.toString('utf8'), ids[0]);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 1, reason: 'content changed' } });
  });

  it('detects a deleted chunk and an added chunk', () => {
    store.db.prepare('DELETE FROM evidence_chunks WHERE evidence_id = ? AND seq = 3').run(ids[3]);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 4, evidenceId: ids[3], reason: 'content changed' } });
    const first = store.db.prepare('SELECT row_key FROM evidence WHERE id = ?').get(ids[0]) as { row_key: number };
    store.db.prepare('INSERT INTO evidence_chunks (key, evidence_id, at_ms, bytes) VALUES (?, ?, 1, ?)').run(first.row_key * 2 ** 24 + 9, ids[0], Buffer.from('data: extra\n\n'));
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 1, evidenceId: ids[0], reason: 'content changed' } });
  });

  it('detects a deleted middle row', () => {
    store.db.prepare('DELETE FROM evidence WHERE id = ?').run(ids[2]);
    expect(verifyChain(store)).toEqual({ ok: false, rows: 2, brokenAt: { seq: 3, reason: 'row missing' } });
  });

  it('detects a deleted newest row through the chain head, and never gives its left-over bytes to a new row', () => {
    const deleted = store.db.prepare('SELECT row_key FROM evidence WHERE id = ?').get(ids[5]) as { row_key: number };
    store.db.prepare('DELETE FROM evidence WHERE id = ?').run(ids[5]);
    expect(verifyChain(store)).toEqual({ ok: false, rows: 5, brokenAt: { seq: 6, reason: 'row missing' } });
    const next = seedCompleted(store);
    const row = store.db.prepare('SELECT row_key FROM evidence WHERE id = ?').get(next) as { row_key: number };
    expect(row.row_key).toBeGreaterThan(deleted.row_key);
    expect(getEvidence(store, next)?.response.chunks).toHaveLength(3);
    expect(verifyChain(store)).toEqual({ ok: false, rows: 5, brokenAt: { seq: 6, reason: 'row missing' } });
  });

  it('detects a rewritten head, a deleted head, and a rebuilt suffix', () => {
    store.db.prepare("UPDATE evidence_chain_head SET hash = iif(substr(hash, 1, 1) = 'f', 'e', 'f') || substr(hash, 2)").run();
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 6, reason: 'head mismatch' } });
    store.db.prepare('DELETE FROM evidence_chain_head').run();
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { reason: 'head mismatch' } });
  });

  it('detects a finished row outside the chain (inserted, or its chain_seq cleared), never a pending one', () => {
    // A copy of a finished row under a new id and no chain position: list, export and metrics would count it.
    const row = store.db.prepare('SELECT * FROM evidence WHERE id = ?').get(ids[4]) as Record<string, unknown>;
    // Another id: its last character changed (to one it is not — a random id may end in `z`).
    const original = String(row['id']);
    const forgedId = `${original.slice(0, -1)}${original.endsWith('z') ? 'y' : 'z'}`;
    const forged = { ...row, id: forgedId, row_key: 1_000_000, chain_seq: null, request_id: 'req_forged', state: 'pending' };
    const insert = (into: Store): void => {
      into.db.prepare(`INSERT INTO evidence (${Object.keys(forged).join(', ')}) VALUES (${Object.keys(forged).map(() => '?').join(', ')})`).run(...Object.values(forged));
    };
    // An in-flight call's row is pending and unchained until the call ends: not a break.
    insert(store);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 6 });
    store.db.prepare("UPDATE evidence SET state = 'completed' WHERE id = ?").run(forged.id);
    expect(verifyChain(store)).toEqual({ ok: false, rows: 6, brokenAt: { seq: 0, evidenceId: forged.id, reason: 'not chained' } });
    store.db.prepare('DELETE FROM evidence WHERE id = ?').run(forged.id);
    // A chained row whose position was cleared breaks the chain where it was, as a deleted row does.
    store.db.prepare('UPDATE evidence SET chain_seq = NULL WHERE id = ?').run(ids[2]);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 3, reason: 'row missing' } });
    // Into an empty chain too.
    const empty = openStore(':memory:');
    try {
      insert(empty);
      expect(verifyChain(empty)).toMatchObject({ ok: true, rows: 0 });
      empty.db.prepare("UPDATE evidence SET state = 'failed' WHERE id = ?").run(forged.id);
      expect(verifyChain(empty)).toEqual({ ok: false, rows: 0, brokenAt: { seq: 0, evidenceId: forged.id, reason: 'not chained' } });
    } finally {
      empty.close();
    }
  });

  it('keeps chaining correctly after verification and new rows', () => {
    seedCompleted(store);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 7 });
  });

  it('hashes the appended prompt-cache columns only when they hold a value (rows written before them keep their links)', () => {
    const row = (id: string | undefined): unknown[] => store.db.prepare(`${SELECT_HASHED} WHERE id = ?`).raw(true).get(id) as unknown[];
    const chunkLedger = (id: string | undefined): ChunkLedger => {
      const ledger = new ChunkLedger();
      for (const chunk of store.db.prepare('SELECT seq, at_ms, bytes FROM evidence_chunks WHERE evidence_id = ? ORDER BY key').raw(true).all(id) as unknown[][]) {
        ledger.addStored(chunk[0], chunk[1], chunk[2]);
      }
      return ledger;
    };
    // Chain format v2 as written before migration 9: the 43 columns up to prev_hash.
    const v2Hash = (values: unknown[], id: string | undefined): string => {
      const { chunksJson, bytesDigest } = chunkLedger(id).seal();
      return createHash('sha256').update(`${String(values[HASHED_COLUMNS.indexOf('prev_hash')])}\n${JSON.stringify(values)}\n${chunksJson}\n${bytesDigest}`).digest('hex');
    };
    const plain = row(ids[0]);
    const stored = plain.pop();
    expect(plain.slice(HASHED_COLUMNS.indexOf('cached_input_tokens'))).toEqual([null, null]);
    expect(v2Hash(plain.slice(0, 43), ids[0])).toBe(stored);
    expect(linkHash(String(plain[HASHED_COLUMNS.indexOf('prev_hash')]), plain, chunkLedger(ids[0]))).toBe(stored);

    const cached = row(ids[2]);
    const cachedStored = cached.pop();
    expect(cached.slice(HASHED_COLUMNS.indexOf('cached_input_tokens'))).toEqual([3, 1]);
    expect(v2Hash(cached, ids[2])).toBe(cachedStored);
    expect(v2Hash(cached.slice(0, 43), ids[2])).not.toBe(cachedStored);
  });

  it('detects prompt-cache figures given to a row written without them', () => {
    store.db.prepare('UPDATE evidence SET cache_write_input_tokens = 0 WHERE id = ?').run(ids[0]);
    expect(verifyChain(store)).toMatchObject({ ok: false, rows: 0, brokenAt: { seq: 1, reason: 'content changed' } });
  });

  describe('from a recorded head', () => {
    const hashAt = (seq: number): string => (store.db.prepare('SELECT hash FROM evidence WHERE chain_seq = ?').pluck(true).get(seq) as string);

    it('checks that row and the ones after it only', () => {
      expect(verifyChain(store, { from: { seq: 3, hash: hashAt(3) } })).toMatchObject({ ok: true, rows: 4, head: { seq: 6 } });
      expect(verifyChain(store, { from: { seq: 0, hash: GENESIS_HASH } })).toMatchObject({ ok: true, rows: 6 });
      // Before the recorded head: proven by the run that printed it, not looked at again.
      store.db.prepare('UPDATE evidence SET caller = ? WHERE chain_seq = 2').run('edited');
      expect(verifyChain(store, { from: { seq: 3, hash: hashAt(3) } })).toMatchObject({ ok: true, rows: 4 });
      expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 2, reason: 'content changed' } });
    });

    it('finds an edit at or after the head, a head this store does not hold and one its row no longer hashes to', () => {
      const recorded = { seq: 3, hash: hashAt(3) };
      expect(verifyChain(store, { from: { seq: 3, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, rows: 0, brokenAt: { seq: 3, reason: 'anchor mismatch' } });
      expect(verifyChain(store, { from: { seq: 0, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, brokenAt: { seq: 0, reason: 'anchor mismatch' } });
      expect(verifyChain(store, { from: { seq: 9, hash: recorded.hash } })).toMatchObject({ ok: false, rows: 0, brokenAt: { seq: 9, reason: 'row missing' } });
      store.db.prepare('UPDATE evidence SET caller = ? WHERE chain_seq = 5').run('edited');
      expect(verifyChain(store, { from: recorded })).toMatchObject({ ok: false, rows: 2, brokenAt: { seq: 5, reason: 'content changed' } });
      store.db.prepare('UPDATE evidence SET caller = ? WHERE chain_seq = 3').run('edited');
      expect(verifyChain(store, { from: recorded })).toMatchObject({ ok: false, rows: 0, brokenAt: { seq: 3, reason: 'content changed' } });
    });

    it('finds the chain rewritten up to the head: the head row, relinked, no longer hashes to the record', () => {
      const recorded = { seq: 3, hash: hashAt(3) };
      // Rewrite row 2 and re-seal rows 2.. as an attacker with the database would (their hashes
      // recomputed): row 3 then points at the new row 2 and its own hash changes.
      const rewritten = hashAt(2).replace(/^./, (digit) => (digit === '0' ? '1' : '0'));
      store.db.prepare('UPDATE evidence SET prev_hash = ? WHERE chain_seq = 3').run(rewritten);
      const row = store.db.prepare(`${SELECT_HASHED} WHERE chain_seq = 3`).raw(true).get() as unknown[];
      row.pop();
      const ledger = new ChunkLedger();
      for (const chunk of store.db.prepare('SELECT seq, at_ms, bytes FROM evidence_chunks WHERE evidence_id = ? ORDER BY key').raw(true).all(row[HASHED_COLUMNS.indexOf('id')]) as unknown[][]) {
        ledger.addStored(chunk[0], chunk[1], chunk[2]);
      }
      store.db.prepare('UPDATE evidence SET hash = ? WHERE chain_seq = 3').run(linkHash(rewritten, row, ledger));
      expect(verifyChain(store, { from: recorded })).toMatchObject({ ok: false, rows: 0, brokenAt: { seq: 3, reason: 'anchor mismatch' } });
    });
  });

  it('reports progress', () => {
    const seen: [number, number][] = [];
    verifyChain(store, { progressEvery: 2, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([
      [2, 6],
      [4, 6],
      [6, 6],
      [6, 6],
    ]);
  });
});

describe('evidence hash chain verified while another process writes the store', () => {
  let directory: string;
  let store: Store;
  let writer: Store;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-chain-'));
    store = openStore(join(directory, 'syndicate.db'));
    writer = openStore(join(directory, 'syndicate.db'));
    seedMany(store, 2_500);
  });
  afterEach(() => {
    store.close();
    writer.close();
    rmSync(directory, { recursive: true, force: true });
  });

  // Rows chained by another connection once the walk is past its first page (a gateway answering
  // meanwhile) were read by the later pages, past the head read first: "head mismatch", exit 1.
  const writingDuringTheWalk = (): { progressEvery: number; onProgress: (done: number) => void } => ({
    progressEvery: 500,
    onProgress: (done) => {
      if (done === 500) seedMany(writer, 3);
    },
  });

  it('verifyChain proves the store as it was when the walk began', () => {
    expect(verifyChain(store, writingDuringTheWalk())).toMatchObject({ ok: true, rows: 2_500, head: { seq: 2_500 } });
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2_503, head: { seq: 2_503 } });
    // The snapshot ended with the walk: the connection writes again.
    seedCompleted(store);
    expect(verifyChain(writer)).toMatchObject({ ok: true, rows: 2_504 });
  });

  it('export reads the store as it was when it began: a prune meanwhile made the bytes of rows already read unreadable', () => {
    const exported: ExportedEnvelope[] = [];
    for (const envelope of exportEvidence(store)) {
      // `serve`'s retention, say, once the export has read its first page of rows.
      if (exported.length === 0) pruneEvidence(writer, { olderThan: new Date(Date.now() + 60_000) });
      exported.push(envelope);
    }
    expect(exported).toHaveLength(2_500);
    expect(exported.filter((envelope) => envelope.unreadable !== undefined)).toEqual([]);
    // The snapshot ended with the export: the prune is seen, and the connection writes again.
    expect([...exportEvidence(store)]).toEqual([]);
    seedCompleted(store);
  });

  it('verifyChainCancellable too, across its pauses', async () => {
    const result = await verifyChainCancellable(store, { signal: new AbortController().signal, ...writingDuringTheWalk() });
    expect(result).toMatchObject({ ok: true, rows: 2_500, head: { seq: 2_500 } });
    seedCompleted(store);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2_504 });
  });
});

describe('evidence export', () => {
  it('round-trips the bytes exactly, including bytes that are not UTF-8', () => {
    const store = openStore(':memory:');
    const binary = new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0xfe, 0x00, 0x0a, 0xc3]);
    const utf8Id = seedCompleted(store);
    const binaryId = seedCompleted(store, {}, [binary, 'data: ok\n\n']);
    const lines = [...exportEvidence(store)].map((envelope) => envelope.json);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain('\n');
      const envelope = JSON.parse(line) as {
        id: string;
        request: { body: { encoding: 'utf8' | 'base64'; data: string } };
        response: { body: { encoding: 'utf8' | 'base64'; data: string } };
      };
      const stored = getEvidence(store, envelope.id);
      expect(decodeBytes(envelope.request.body).equals(stored?.request.body ?? Buffer.alloc(1))).toBe(true);
      expect(decodeBytes(envelope.response.body).equals(stored?.response.body ?? Buffer.alloc(1))).toBe(true);
      expect(envelope.response.body.encoding).toBe(envelope.id === binaryId ? 'base64' : 'utf8');
    }
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ id: utf8Id, state: 'completed', chainSeq: 1 });
    expect([...exportEvidence(store, { since: Date.now() + 60_000 })]).toEqual([]);
    store.close();
  });

  it('exports an envelope whose response bytes were edited into text, marked in place of its response body', () => {
    const store = openStore(':memory:');
    const edited = seedCompleted(store);
    store.db.prepare("UPDATE evidence_chunks SET bytes = 'not bytes' WHERE evidence_id = ? AND seq = 2").run(edited);
    const [envelope] = [...exportEvidence(store)];
    expect(envelope?.unreadable).toBe('response chunk 2: not bytes but string');
    const line = JSON.parse(envelope?.json ?? '{}') as { request: { body: EncodedBytes }; response: { body: unknown; chunks: unknown[] } };
    expect(line.response.body).toEqual({ unreadable: 'chunk 2: not bytes but string' });
    expect(line.response.chunks).toHaveLength(2);
    expect(decodeBytes(line.request.body).toString('utf8')).toBe(REQUEST_BODY);
    store.close();
  });
});
