import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckFailedError } from '../../../src/errors.js';
import { prunesOverBreaks, verifyChain } from '../../../src/evidence/index.js';
import { PRUNE_BATCH_BYTES, PRUNE_BATCH_PAUSE_MS, pruneEvidence, pruneEvidenceYielding } from '../../../src/evidence/retention.js';
import { issuePermit, PermitKey } from '../../../src/permits/index.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { makeTempHome } from '../../helpers/cli.js';
import { seedCompleted, seedDenial } from './seed.js';

const HOUR = 3600 * 1000;
const BIG_BODY = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) + ' the same long context' }] });

describe('pruneEvidence', () => {
  let temporary: ReturnType<typeof makeTempHome>;
  let store: Store;
  beforeEach(() => {
    temporary = makeTempHome();
    store = openStore(`${temporary.home}/evidence.db`);
  });
  afterEach(() => {
    store.close();
    temporary.cleanup();
  });

  const count = (sql: string): number => store.db.prepare(sql).pluck(true).get() as number;
  const ids = (): string[] => store.db.prepare('SELECT id FROM evidence ORDER BY chain_seq').pluck(true).all() as string[];

  it('deletes the old prefix of the chain with its bytes; verify proves the rest from the recorded anchor', () => {
    const old = [seedCompleted(store, { now: Date.now() - 5 * HOUR }), seedDenial(store), seedCompleted(store, { now: Date.now() - 4 * HOUR })];
    // The denial is recorded now: it keeps itself and everything after it (the chain is cut only as a prefix).
    const kept = [seedCompleted(store), seedCompleted(store)];
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 5 });
    const headBefore = (verifyChain(store) as { head: { seq: number; hash: string } }).head;

    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - 3 * HOUR) });
    expect(result).toMatchObject({ dryRun: false, envelopes: 1, fromSeq: 1, throughSeq: 1, keptOlder: 1 });
    expect(ids()).toEqual(old.slice(1).concat(kept));

    const verified = verifyChain(store);
    expect(verified).toMatchObject({ ok: true, rows: 4, head: headBefore, prunedThrough: { throughSeq: 1, throughHash: result.throughHash } });
    // The chain goes on from the same head.
    seedCompleted(store);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 5 });
  });

  it('deletes every chunk and the request blocks no kept envelope uses; shared blocks stay', () => {
    seedCompleted(store, { now: Date.now() - 5 * HOUR }, undefined, BIG_BODY);
    const keptWithSameBlocks = seedCompleted(store, {}, undefined, BIG_BODY);
    const blocksBefore = count('SELECT count(*) FROM evidence_blocks');
    expect(blocksBefore).toBeGreaterThan(0);
    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR) });
    expect(result.envelopes).toBe(1);
    expect(result.chunks).toBeGreaterThan(1);
    // The kept envelope's request is made of the same blocks: none may go.
    expect(result.blocks).toBe(0);
    expect(count('SELECT count(*) FROM evidence_blocks')).toBe(blocksBefore);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
    expect(ids()).toEqual([keptWithSameBlocks]);

    const all = pruneEvidence(store, { olderThan: new Date(Date.now() + HOUR) });
    expect(all).toMatchObject({ envelopes: 1, fromSeq: 2, throughSeq: 2 });
    expect(all.blocks).toBe(blocksBefore);
    expect(count('SELECT count(*) FROM evidence_blocks')).toBe(0);
    expect(count('SELECT count(*) FROM evidence_chunks')).toBe(0);
    // Nothing left but the anchor, which matches the head: intact, zero rows.
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0, head: { seq: 2, hash: all.throughHash } });
  });

  it('a prune stopped after a batch leaves no prompt bytes behind: the next prune deletes the blocks of the chunks it deleted', () => {
    const secretBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'first secret prompt '.repeat(4000) }] });
    seedCompleted(store, { now: Date.now() - 5 * HOUR }, undefined, secretBody);
    seedCompleted(store, { now: Date.now() - 4 * HOUR }, undefined, BIG_BODY);
    seedCompleted(store);
    const stopped = (): never => {
      throw new Error('killed between batches');
    };
    expect(() => pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), batchEnvelopes: 1, onProgress: stopped })).toThrow('killed between batches');
    // The first batch committed: its row and chunks are gone, the chain verifies from its anchor.
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2, prunedThrough: { throughSeq: 1 } });

    const again = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR) });
    expect(again).toMatchObject({ envelopes: 1, fromSeq: 2, throughSeq: 2 });
    expect(count('SELECT count(*) FROM evidence_blocks')).toBe(0);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
  });

  it('a dry run counts and deletes nothing', () => {
    seedCompleted(store, { now: Date.now() - 5 * HOUR });
    seedCompleted(store);
    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), dryRun: true });
    expect(result).toMatchObject({ dryRun: true, envelopes: 1, fromSeq: 1, throughSeq: 1 });
    expect(result.chunks).toBeGreaterThan(0);
    expect(count('SELECT count(*) FROM evidence')).toBe(2);
    expect(count('SELECT count(*) FROM evidence_prunes')).toBe(0);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2 });
  });

  it('deletes expired permits only', () => {
    const key = PermitKey.fromBytes(Buffer.alloc(32, 7));
    const scope = { providerId: 'p', providerVersion: 1, model: 'm', maxSensitivity: 'public' as const };
    issuePermit(store, key, scope, { now: Date.now() - 5 * HOUR, ttlMs: 60_000 });
    issuePermit(store, key, scope, { ttlMs: 60_000 });
    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR) });
    expect(result.permits).toBe(1);
    expect(count('SELECT count(*) FROM permits')).toBe(1);
  });

  it('prunes in batches that each record how far they got; a second prune continues from the first', () => {
    for (let index = 0; index < 7; index += 1) seedCompleted(store, { now: Date.now() - 5 * HOUR + index });
    seedCompleted(store);
    const progress: [number, number][] = [];
    const first = pruneEvidence(store, { olderThan: new Date(Date.now() - 6 * HOUR + 3) });
    expect(first.envelopes).toBe(0);
    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), batchEnvelopes: 3, onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toEqual([
      [3, 7],
      [6, 7],
      [7, 7],
    ]);
    expect(result).toMatchObject({ envelopes: 7, fromSeq: 1, throughSeq: 7 });
    expect(count('SELECT count(*) FROM evidence_prunes')).toBe(1);
    seedCompleted(store);
    const again = pruneEvidence(store, { olderThan: new Date(Date.now() + HOUR) });
    expect(again).toMatchObject({ envelopes: 2, fromSeq: 8, throughSeq: 9 });
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0, prunedThrough: { throughSeq: 9 } });
  });

  it('two prunes at once (a second process): each deletes what the other has not, the chain verifies from the newest anchor', () => {
    for (let index = 0; index < 6; index += 1) seedCompleted(store, { now: Date.now() - 5 * HOUR + index });
    seedCompleted(store);
    let inner: ReturnType<typeof pruneEvidence> | undefined;
    const outer = pruneEvidence(store, {
      olderThan: new Date(Date.now() - HOUR),
      batchEnvelopes: 2,
      // Between the outer prune's first and second batch, another prune runs to the end.
      onProgress: (done) => {
        if (done === 2 && inner === undefined) inner = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), batchEnvelopes: 2 });
      },
    });
    expect(inner).toMatchObject({ envelopes: 4, fromSeq: 3, throughSeq: 6 });
    expect(outer.envelopes).toBe(2);
    expect(count('SELECT count(*) FROM evidence')).toBe(1);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1, prunedThrough: { throughSeq: 6 } });
  });

  it('after a prune, tampering is still found: a kept row re-pointed, the anchor edited, a head recorded in the deleted part', () => {
    seedCompleted(store, { now: Date.now() - 5 * HOUR });
    const beforePrune = (verifyChain(store) as { head: { seq: number; hash: string } }).head;
    seedCompleted(store);
    seedCompleted(store);
    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR) });
    expect(verifyChain(store, { from: beforePrune })).toMatchObject({ ok: true, rows: 2 });
    expect(verifyChain(store, { from: { seq: 0, hash: '0'.repeat(64) } })).toMatchObject({ ok: false, brokenAt: { seq: 0, reason: 'pruned' } });
    expect(verifyChain(store, { from: { seq: 1, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, brokenAt: { seq: 1, reason: 'anchor mismatch' } });

    store.db.prepare('UPDATE evidence_prunes SET through_hash = ?').run('a'.repeat(64));
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 2, reason: 'link broken' } });
    store.db.prepare('UPDATE evidence_prunes SET through_hash = ?').run(result.throughHash);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2 });
    // Deleting a kept row behind retention's back is still a gap.
    store.db.prepare('DELETE FROM evidence WHERE chain_seq = 2').run();
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 2, reason: 'row missing' } });
  });

  describe('a broken chain in the part to prune', () => {
    // What an operator (or an intruder) editing the store by hand leaves: a column changed, the stored hash kept.
    const editRow = (seq: number): void => {
      store.db.prepare("UPDATE evidence SET response_status = 599 WHERE chain_seq = ?").run(seq);
    };

    it('an edited row among those to delete stops the prune before it deletes anything, and verify still finds the edit', () => {
      const old = [1, 2, 3, 4].map((hours) => seedCompleted(store, { now: Date.now() - (10 - hours) * HOUR }));
      seedCompleted(store);
      // The last row the prune would delete: its own stored hash is what the kept chain links to, so
      // once it is gone nothing could show the edit.
      editRow(4);
      expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 4, reason: 'content changed' } });

      const dryRun = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), dryRun: true });
      expect(dryRun).toMatchObject({ envelopes: 4, brokenAt: { seq: 4, evidenceId: old[3], reason: 'content changed' } });

      let thrown: unknown;
      try {
        pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR) });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CheckFailedError);
      expect((thrown as CheckFailedError).exitCode).toBe(1);
      expect((thrown as CheckFailedError).message).toBe(`evidence chain broken at #4 (${old[3]}) (content changed) in the part to prune: nothing was deleted`);
      expect((thrown as CheckFailedError).hint).toContain('--accept-break');
      expect(count('SELECT count(*) FROM evidence')).toBe(5);
      expect(count('SELECT count(*) FROM evidence_prunes')).toBe(0);
      expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 4, reason: 'content changed' } });
    });

    it('a break in a later batch: the batches before it are deleted, nothing from it on', () => {
      for (let hours = 10; hours > 4; hours -= 1) seedCompleted(store, { now: Date.now() - hours * HOUR });
      seedCompleted(store);
      editRow(5);
      expect(() => pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), batchEnvelopes: 2 })).toThrow(
        /^evidence chain broken at #5 \(\S+\) \(content changed\) in the part to prune: the 4 envelopes before it were deleted, nothing from it on$/,
      );
      expect(store.db.prepare('SELECT chain_seq FROM evidence ORDER BY chain_seq').pluck(true).all()).toEqual([5, 6, 7]);
      // What was deleted verified; the edit is still there to be found.
      expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 5, reason: 'content changed' }, prunedThrough: { throughSeq: 4 } });
    });

    it('one envelope deleted before the break reads as one ("the envelope before it was deleted", not "the 1 envelopes")', () => {
      for (let hours = 10; hours > 7; hours -= 1) seedCompleted(store, { now: Date.now() - hours * HOUR });
      seedCompleted(store);
      editRow(2);
      expect(() => pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), batchEnvelopes: 1 })).toThrow(
        /^evidence chain broken at #2 \(\S+\) \(content changed\) in the part to prune: the envelope before it was deleted, nothing from it on$/,
      );
    });

    it('--accept-break deletes them, keeps the break in the prune record, and verify proves the kept chain and reports the break', () => {
      [9, 8, 7].forEach((hours) => seedCompleted(store, { now: Date.now() - hours * HOUR }));
      const kept = [seedCompleted(store), seedCompleted(store)];
      editRow(3);
      store.db.prepare('DELETE FROM evidence WHERE chain_seq = 2').run();

      const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), acceptBreak: true });
      expect(result).toMatchObject({ envelopes: 2, throughSeq: 3, brokenAt: { seq: 2, reason: 'row missing' } });
      expect(ids()).toEqual(kept);
      expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2, prunedThrough: { throughSeq: 3 } });
      expect(prunesOverBreaks(store)).toEqual([{ prunedAt: expect.any(String), throughSeq: 3, brokenAt: { seq: 2, reason: 'row missing' } }]);

      // A later, clean prune keeps the earlier record of the break.
      pruneEvidence(store, { olderThan: new Date(Date.now() + HOUR) });
      expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0 });
      expect(prunesOverBreaks(store)).toHaveLength(1);
    });
  });

  it('bounds each batch by its bytes too: a day of long agent conversations is not proven in one transaction that every other writer waits for', () => {
    // Each turn sends the whole conversation (1 MiB here): stored once, as shared blocks, but
    // proven whole for every envelope — inside the batch's write transaction.
    const conversation = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'the same long conversation so far '.repeat(32 * 1024) }] });
    const turns = Math.ceil((2.5 * PRUNE_BATCH_BYTES) / Buffer.byteLength(conversation));
    for (let turn = 0; turn < turns; turn += 1) seedCompleted(store, { now: Date.now() - 5 * HOUR }, undefined, conversation);
    // Far below the envelopes of one batch (2 000).
    expect(turns).toBeLessThan(200);
    const batches: number[] = [];
    const result = pruneEvidence(store, { olderThan: new Date(Date.now() - HOUR), onProgress: (done) => batches.push(done) });
    expect(result).toMatchObject({ envelopes: turns, throughSeq: turns });
    // Three batches, each proving at most PRUNE_BATCH_BYTES of request bytes.
    expect(batches.length).toBe(3);
    const perBatch = batches.map((done, index) => done - (batches[index - 1] ?? 0));
    for (const envelopes of perBatch) expect(envelopes * Buffer.byteLength(conversation)).toBeLessThanOrEqual(PRUNE_BATCH_BYTES);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0, prunedThrough: { throughSeq: turns } });
  });

  it('a prune that serves writers beside it (`evidence prune`, serve) leaves the write lock free between batches for as long as a waiting writer polls it', async () => {
    for (let envelope = 0; envelope < 4; envelope += 1) seedCompleted(store, { now: Date.now() - 5 * HOUR });
    // When each write transaction begins and ends: the lock is free between one's end and the next's beginning.
    const held: { began: number; ended: number }[] = [];
    const transaction = store.transaction.bind(store);
    vi.spyOn(store, 'transaction').mockImplementation(<T>(work: () => T): T => {
      const began = performance.now();
      try {
        return transaction(work);
      } finally {
        held.push({ began, ended: performance.now() });
      }
    });
    const result = await pruneEvidenceYielding(store, { olderThan: new Date(Date.now() - HOUR), batchEnvelopes: 1 });
    expect(result).toMatchObject({ envelopes: 4, throughSeq: 4 });
    // Four batches, then the blocks and permits: SQLite's busy handler polls every 100 ms at most,
    // so a writer waiting for the lock gets it between two batches instead of after the last one.
    expect(held).toHaveLength(5);
    for (const [index, batch] of held.slice(1, 4).entries()) {
      expect(batch.began - (held[index] as { ended: number }).ended).toBeGreaterThanOrEqual(PRUNE_BATCH_PAUSE_MS - 1);
    }
    expect(PRUNE_BATCH_PAUSE_MS).toBeGreaterThanOrEqual(100);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 0, prunedThrough: { throughSeq: 4 } });
  });
});
