import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_STORAGE_MIN_BYTES, blockBoundaries } from '../../../src/evidence/blocks.js';
import { beginAttempt, createRecorder, decodeBytes, exportEvidence, getEvidence, recoverInterrupted, verifyChain } from '../../../src/evidence/index.js';
import { StoreError } from '../../../src/errors.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { attemptStart, seedCompleted, SSE_CHUNKS } from './seed.js';

/** An agent-like conversation body: `turns` messages of varied text, as JSON. */
function conversationBody(turns: number, extra = ''): string {
  const messages = Array.from({ length: turns }, (_, turn) => ({
    role: turn % 2 === 0 ? 'user' : 'assistant',
    content: `Turn ${turn}: ${Array.from({ length: 60 }, (_, word) => `w${(turn * 7919 + word * 104729) % 100003}`).join(' ')} — naïve café ✓`,
  }));
  if (extra !== '') messages.push({ role: 'user', content: extra });
  return JSON.stringify({ model: 'llama3', messages, stream: true });
}

function blocksOf(bytes: Buffer): string[] {
  let start = 0;
  return blockBoundaries(bytes).map((end) => {
    const block = bytes.subarray(start, end).toString('latin1');
    start = end;
    return block;
  });
}

describe('content-defined blocks', () => {
  it('cut the same bytes the same way, between 2 and 64 KiB, covering every byte', () => {
    const bytes = Buffer.from(conversationBody(400));
    const ends = blockBoundaries(bytes);
    expect(blockBoundaries(Buffer.from(bytes))).toEqual(ends);
    expect(ends.at(-1)).toBe(bytes.length);
    ends.slice(0, -1).forEach((end, index) => {
      const size = end - (ends[index - 1] ?? 0);
      expect(size).toBeGreaterThanOrEqual(2048);
      expect(size).toBeLessThanOrEqual(65536);
    });
    expect(blockBoundaries(Buffer.alloc(0))).toEqual([]);
    expect(blockBoundaries(Buffer.alloc(100_000))).toEqual([65536, 100_000]); // no content to cut on: MAX-sized blocks
  });

  it('the next turn of a conversation shares all but a few blocks with the one before', () => {
    const before = blocksOf(Buffer.from(conversationBody(400)));
    const after = blocksOf(Buffer.from(conversationBody(400, 'and now run the tests')));
    const known = new Set(before);
    const fresh = after.filter((block) => !known.has(block));
    expect(before.length).toBeGreaterThan(10);
    expect(fresh.length).toBeLessThanOrEqual(3);
  });
});

describe('large request bodies stored as blocks', () => {
  let store: Store;
  beforeEach(() => {
    store = openStore(':memory:');
  });
  afterEach(() => store.close());

  const blockCount = (): number => (store.db.prepare('SELECT count(*) FROM evidence_blocks').pluck().get() as number);
  const storedBytes = (): number => (store.db.prepare('SELECT coalesce(sum(length(bytes)), 0) FROM evidence_blocks').pluck().get() as number);

  it('stores each distinct block once and gives back the exact bytes (show, export), the chain verifying', () => {
    const first = conversationBody(400);
    const second = conversationBody(400, 'and now run the tests');
    expect(Buffer.byteLength(first)).toBeGreaterThan(BLOCK_STORAGE_MIN_BYTES);
    const firstId = seedCompleted(store, { requestId: 'req_a' }, SSE_CHUNKS, first);
    const afterFirst = { blocks: blockCount(), bytes: storedBytes() };
    expect(afterFirst.bytes).toBe(Buffer.byteLength(first));
    const secondId = seedCompleted(store, { requestId: 'req_b' }, SSE_CHUNKS, second);
    // The second body (~190 KB) added only the blocks around its new message.
    expect(blockCount() - afterFirst.blocks).toBeLessThanOrEqual(3);
    expect(storedBytes() - afterFirst.bytes).toBeLessThan(48 * 1024);
    const rows = store.db.prepare('SELECT length(bytes) AS length, block_ids FROM evidence_chunks WHERE seq = 0 ORDER BY key').all() as { length: number; block_ids: string | null }[];
    expect(rows.map((row) => row.length)).toEqual([0, 0]);
    expect(rows.every((row) => /^\d+(,\d+)+$/.test(row.block_ids ?? ''))).toBe(true);

    expect(getEvidence(store, firstId)?.request.body?.toString('utf8')).toBe(first);
    expect(getEvidence(store, secondId)?.request.body?.toString('utf8')).toBe(second);
    const exported = [...exportEvidence(store)].map((envelope) => JSON.parse(envelope.json) as { id: string; request: { body: { encoding: 'utf8' | 'base64'; data: string } } });
    expect(exported.map((envelope) => decodeBytes(envelope.request.body).toString('utf8'))).toEqual([first, second]);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2 });
  });

  it('a writer that died after sending a large body is recovered as interrupted, its bytes reassembled into the link', () => {
    const body = conversationBody(400);
    const id = beginAttempt(store, attemptStart());
    createRecorder(store, id, { flushIntervalMs: 0 }).onRequest({ method: 'POST', url: 'http://127.0.0.1:11434/v1/chat/completions', headers: {}, body });
    expect(recoverInterrupted(store, { isAlive: () => false })).toEqual([id]);
    expect(getEvidence(store, id)).toMatchObject({ state: 'interrupted' });
    expect(getEvidence(store, id)?.request.body?.toString('utf8')).toBe(body);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
  });

  it('a small body stays in its chunk row', () => {
    seedCompleted(store);
    expect(blockCount()).toBe(0);
    expect(store.db.prepare('SELECT block_ids FROM evidence_chunks WHERE seq = 0').pluck().get()).toBeNull();
  });

  it('an edited or deleted block breaks the link of the first envelope that uses it; show refuses a missing block, export marks it', () => {
    const firstId = seedCompleted(store, { requestId: 'req_a' }, SSE_CHUNKS, conversationBody(400));
    seedCompleted(store, { requestId: 'req_b' }, SSE_CHUNKS, conversationBody(400, 'more'));
    const firstBlock = store.db.prepare('SELECT block_id, bytes FROM evidence_blocks ORDER BY block_id LIMIT 1').get() as { block_id: number; bytes: Buffer };

    const edited = Buffer.from(firstBlock.bytes);
    edited[10] = (edited[10] ?? 0) ^ 1;
    store.db.prepare('UPDATE evidence_blocks SET bytes = ? WHERE block_id = ?').run(edited, firstBlock.block_id);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 1, evidenceId: firstId, reason: 'content changed' } });
    store.db.prepare('UPDATE evidence_blocks SET bytes = ? WHERE block_id = ?').run(firstBlock.bytes, firstBlock.block_id);
    expect(verifyChain(store).ok).toBe(true);

    store.db.prepare("UPDATE evidence_chunks SET block_ids = block_ids || ',' || block_ids WHERE evidence_id = ? AND seq = 0").run(firstId);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 1, reason: 'content changed' } });
    store.db.prepare("UPDATE evidence_chunks SET block_ids = substr(block_ids, 1, length(block_ids) / 2) WHERE evidence_id = ? AND seq = 0").run(firstId);
    expect(verifyChain(store).ok).toBe(true);

    store.db.prepare('DELETE FROM evidence_blocks WHERE block_id = ?').run(firstBlock.block_id);
    expect(verifyChain(store)).toMatchObject({ ok: false, brokenAt: { seq: 1, evidenceId: firstId, reason: 'content changed' } });
    expect(() => getEvidence(store, firstId)).toThrow(StoreError);
    // The export goes on: each envelope using the block is there, marked where its request bytes were, and the others are whole.
    const smallId = seedCompleted(store, { requestId: 'req_c' });
    const [damaged, alsoDamaged, whole, ...rest] = [...exportEvidence(store)];
    expect(rest).toEqual([]);
    expect(damaged).toMatchObject({ id: firstId, unreadable: 'request chunk 0: missing evidence block' });
    expect(alsoDamaged?.unreadable).toBe('request chunk 0: missing evidence block');
    expect(whole?.id).toBe(smallId);
    const envelope = JSON.parse(damaged?.json ?? '{}') as { id: string; request: { body: unknown }; response: { body: { encoding: 'utf8' | 'base64'; data: string } } };
    expect(envelope.request.body).toEqual({ unreadable: 'chunk 0: missing evidence block' });
    expect(decodeBytes(envelope.response.body).toString('utf8')).toBe(SSE_CHUNKS.join(''));
    expect(whole?.unreadable).toBeUndefined();
    expect(whole?.json).not.toContain('unreadable');
  });
});
