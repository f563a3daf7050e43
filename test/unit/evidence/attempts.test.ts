import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  beginAttempt,
  completeAttempt,
  countEvidence,
  createRecorder,
  exportEvidence,
  getEvidence,
  isProcessAlive,
  listEvidence,
  readEvidence,
  recordDenial,
  recordUncalledAttempt,
  recoverInterrupted,
  verifyChain,
} from '../../../src/evidence/index.js';
import { approximateTokens } from '../../../src/evidence/tokens.js';
import { StoreError } from '../../../src/errors.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { DEFAULT_BUSY_TIMEOUT_MS, openStore, type Store } from '../../../src/store/store.js';
import { attemptStart, REQUEST_BODY, seedCompleted, seedDenial, SSE_CHUNKS } from './seed.js';

/** A pid that certainly existed and has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

/**
 * The recorder's clock and timers faked (`performance.now`, `setTimeout`), so flush intervals are
 * exact on a loaded machine; `setImmediate` stays real, as the group committer's batches run on it.
 */
function fakeFlushClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
}

describe('evidence attempts', () => {
  let store: Store;
  beforeEach(() => {
    store = openStore(':memory:');
  });
  afterEach(() => store.close());

  it('writes the pending row with this pid and the request bytes before the call, then completes it with the exact bytes', () => {
    const id = beginAttempt(store, attemptStart());
    const recorder = createRecorder(store, id, { flushIntervalMs: 0 });
    // Nothing has left the host yet, so nothing is written yet.
    expect(getEvidence(store, id)).toBeUndefined();
    recorder.onRequest({ method: 'POST', url: 'http://127.0.0.1:11434/v1/chat/completions', headers: {}, body: REQUEST_BODY });
    // The transport hands the bytes over before it opens the socket: the pending row is there.
    const pending = getEvidence(store, id);
    expect(pending).toMatchObject({ state: 'pending', pid: process.pid, chainSeq: null, hash: null, kind: 'invocation' });
    expect(pending?.request.body?.toString('utf8')).toBe(REQUEST_BODY);
    expect(pending?.response.body).toBeNull();

    const completedId = seedCompleted(store);
    const record = getEvidence(store, completedId);
    expect(record).toMatchObject({
      state: 'completed',
      chainSeq: 1,
      provider: { id: 'ollama', version: 2, class: 'local' },
      status: 200,
      firstTokenMs: 20,
      totalMs: 60,
      inputTokens: 5,
      outputTokens: 3,
      tokenAccounting: 'exact',
      verbatimCapture: 'full',
      toolCallFidelity: 'not_applicable',
      markers: [],
      warnings: [{ setting: 'seed', message: 'not supported' }],
      permitId: 'pm_1',
      permitToken: 'v1.payload.signature',
      route: { candidates: ['ollama:llama3'], reasons: ['local preferred'] },
      streamed: true,
    });
    expect(record?.request.body?.toString('utf8')).toBe(REQUEST_BODY);
    expect(record?.response.body?.toString('utf8')).toBe(SSE_CHUNKS.join(''));
    expect(record?.response.chunks).toEqual(SSE_CHUNKS.map((chunk, index) => ({ atMs: 20 + index * 10, bytes: Buffer.byteLength(chunk) })));
    expect(record?.response.complete).toBe(true);
    // Credentials are redacted even if the transport forgot.
    expect(record?.request.headers).toEqual({ 'content-type': 'application/json', authorization: '[redacted]' });
    // The bytes stay where they were written once: the request at seq 0, the chunks after it.
    const chunks = store.db.prepare('SELECT seq, at_ms, length(bytes) AS length FROM evidence_chunks WHERE evidence_id = ? ORDER BY seq').all(completedId);
    expect(chunks).toEqual([
      { seq: 0, at_ms: null, length: Buffer.byteLength(REQUEST_BODY) },
      ...SSE_CHUNKS.map((chunk, index) => ({ seq: index + 1, at_ms: 20 + index * 10, length: Buffer.byteLength(chunk) })),
    ]);
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
  });

  it('records an attempt that failed before sending anything as one finished row without bytes', () => {
    const id = beginAttempt(store, attemptStart());
    const recorder = createRecorder(store, id);
    completeAttempt(store, id, {
      state: 'failed',
      totalMs: 1,
      tokenAccounting: 'not_available',
      verbatimCapture: recorder.verbatimCapture(),
      toolCallFidelity: 'not_applicable',
      markers: [],
      warnings: [],
      error: { code: 'permit_out_of_scope', message: 'the request does not match the permit' },
    });
    expect(getEvidence(store, id)).toMatchObject({
      state: 'failed',
      chainSeq: 1,
      pid: process.pid,
      verbatimCapture: 'none',
      request: { method: null, body: null },
      response: { body: null, chunks: [] },
      error: { code: 'permit_out_of_scope' },
    });
    // Later events of the finished attempt are ignored; a late request is refused.
    recorder.onChunk(Buffer.from('late'), 5);
    expect(() => recorder.onRequest({ method: 'POST', url: 'http://x/', headers: {}, body: '' })).toThrow(StoreError);
    expect(store.db.prepare('SELECT count(*) AS n FROM evidence_chunks').get()).toEqual({ n: 0 });
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
  });

  it('refuses a request captured after the response started (the order the chain hashes)', () => {
    const id = beginAttempt(store, attemptStart());
    const recorder = createRecorder(store, id, { flushIntervalMs: 10_000 });
    recorder.onResponseStart({ status: 200, headers: {}, atMs: 1 });
    expect(() => recorder.onRequest({ method: 'POST', url: 'http://x/', headers: {}, body: REQUEST_BODY })).toThrow(/captured once, before any response event/);
  });

  it('persists response chunks while the stream is still running', () => {
    const id = beginAttempt(store, attemptStart());
    const recorder = createRecorder(store, id, { flushIntervalMs: 0 });
    recorder.onRequest({ method: 'POST', url: 'http://127.0.0.1:1/v1/chat/completions', headers: {}, body: REQUEST_BODY });
    recorder.onResponseStart({ status: 200, headers: {}, atMs: 5 });
    recorder.onChunk(Buffer.from(SSE_CHUNKS[0] ?? ''), 10);
    // A second connection sees the bytes before the attempt finishes (what survives a SIGKILL).
    const partial = getEvidence(store, id);
    expect(partial?.state).toBe('pending');
    expect(partial?.response.body?.toString()).toBe(SSE_CHUNKS[0]);
    expect(partial?.request.body?.toString()).toBe(REQUEST_BODY);
  });

  it('batches bursts within the flush interval and writes a chunk after a quiet interval at once', () => {
    fakeFlushClock();
    try {
      const id = beginAttempt(store, attemptStart());
      const recorder = createRecorder(store, id, { flushIntervalMs: 30 });
      const stored = (): number => (store.db.prepare('SELECT count(*) AS n FROM evidence_chunks WHERE seq > 0').get() as { n: number }).n;
      const status = (): unknown => (store.db.prepare('SELECT response_status FROM evidence WHERE id = ?').get(id) as { response_status: unknown }).response_status;
      recorder.onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
      recorder.onResponseStart({ status: 200, headers: {}, atMs: 1 });
      recorder.onChunk(Buffer.from('a'), 1);
      recorder.onChunk(Buffer.from('b'), 2);
      expect(stored()).toBe(0);
      expect(status()).toBeNull();
      // Nothing is written within the interval…
      vi.advanceTimersByTime(29);
      expect(stored()).toBe(0);
      // …and at its end the timer writes the burst and the response head together.
      vi.advanceTimersByTime(1);
      expect(stored()).toBe(2);
      expect(status()).toBe(200);
      // After a quiet interval, a chunk is written at once.
      vi.advanceTimersByTime(60);
      recorder.onChunk(Buffer.from('c'), 150);
      expect(stored()).toBe(3);
      expect(getEvidence(store, id)?.response.body?.toString()).toBe('abc');
      recorder.onEnd({ atMs: 95, complete: true });
      vi.advanceTimersByTime(30);
      expect(getEvidence(store, id)?.response.complete).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('with group commit, writes the chunks of every stream in flight in one batch per flush interval', async () => {
    fakeFlushClock();
    try {
      const commits = new GroupCommitter(store);
      const streams = [beginAttempt(store, attemptStart()), beginAttempt(store, attemptStart())].map((id) => ({
        id,
        recorder: createRecorder(store, id, { flushIntervalMs: 500, commits }),
      }));
      for (const { recorder } of streams) await recorder.onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
      const before = { ...commits.stats };
      const stored = (id: string): string | undefined => getEvidence(store, id)?.response.body?.toString();
      // The streams' chunks arrive at different moments, as they would from two engines.
      streams[0]?.recorder.onResponseStart({ status: 200, headers: {}, atMs: 1 });
      streams[0]?.recorder.onChunk(Buffer.from('a'), 1);
      await vi.advanceTimersByTimeAsync(20);
      streams[1]?.recorder.onResponseStart({ status: 200, headers: {}, atMs: 1 });
      streams[1]?.recorder.onChunk(Buffer.from('b'), 1);
      expect(streams.map(({ id }) => stored(id))).toEqual([undefined, undefined]);
      // Still nothing just before the tick, 500 ms after the first chunk.
      await vi.advanceTimersByTimeAsync(479);
      await commits.idle();
      expect(streams.map(({ id }) => stored(id))).toEqual([undefined, undefined]);
      await vi.advanceTimersByTimeAsync(1);
      await commits.idle();
      // Both flushes went through the committer, in one transaction: one commit, not one per stream.
      expect(streams.map(({ id }) => stored(id))).toEqual(['a', 'b']);
      expect({ batches: commits.stats.batches - before.batches, units: commits.stats.units - before.units }).toEqual({ batches: 1, units: 2 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('flushes buffered chunks when the attempt completes, and records a failed attempt honestly', () => {
    const id = beginAttempt(store, attemptStart());
    const recorder = createRecorder(store, id, { flushIntervalMs: 10_000 });
    recorder.onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
    recorder.onResponseStart({ status: 200, headers: {}, atMs: 5 });
    recorder.onChunk(Buffer.from('data: {"a":'), 6);
    recorder.onChunk(Buffer.from('1}\n\n'), 7);
    recorder.onEnd({ atMs: 30_000, complete: false, error: 'idle timeout' });
    expect(recorder.verbatimCapture()).toBe('partial');
    completeAttempt(store, id, {
      state: 'failed',
      totalMs: 30_000,
      tokenAccounting: 'not_available',
      verbatimCapture: recorder.verbatimCapture(),
      toolCallFidelity: 'not_applicable',
      markers: ['timeout', 'partial_response'],
      warnings: [],
      error: { code: 'upstream_timeout', message: 'no data for 30s' },
    });
    const record = getEvidence(store, id);
    expect(record).toMatchObject({
      state: 'failed',
      verbatimCapture: 'partial',
      tokenAccounting: 'not_available',
      inputTokens: null,
      outputTokens: null,
      markers: ['timeout', 'partial_response'],
      error: { code: 'upstream_timeout', message: 'no data for 30s' },
    });
    expect(record?.response.body?.toString()).toBe('data: {"a":1}\n\n');
    expect(record?.response.complete).toBe(false);
  });

  it('refuses to complete a row twice and rejects outcomes outside the vocabulary', () => {
    const id = seedCompleted(store);
    expect(() =>
      completeAttempt(store, id, {
        state: 'completed',
        totalMs: 1,
        tokenAccounting: 'not_available',
        verbatimCapture: 'full',
        toolCallFidelity: 'exact',
        markers: [],
        warnings: [],
      }),
    ).toThrow(StoreError);
    const other = beginAttempt(store, attemptStart());
    expect(() =>
      completeAttempt(store, other, {
        state: 'completed',
        totalMs: 1,
        tokenAccounting: 'exact',
        verbatimCapture: 'full',
        toolCallFidelity: 'exact',
        markers: [],
        warnings: [],
      }),
    ).toThrow(/token_accounting exact without usage/);
  });

  it('records a denial as a finished, chained row without bytes', () => {
    const id = seedDenial(store);
    expect(getEvidence(store, id)).toMatchObject({
      kind: 'denial',
      state: 'denied',
      chainSeq: 1,
      provider: { id: 'anthropic', version: 1, class: 'approved_hosted' },
      error: { code: 'permit_expired', message: 'the permit expired' },
      verbatimCapture: 'none',
      tokenAccounting: 'not_available',
      request: { body: null },
      response: { body: null, chunks: [] },
    });
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 1 });
  });

  it('records an attempt that never called (key not set, nothing left to try) as a failed, chained row without permit or bytes', () => {
    const denial = seedDenial(store);
    const id = recordUncalledAttempt(store, {
      requestId: 'req_uncalled',
      hop: 1,
      kind: 'invocation',
      caller: 'cli',
      provider: { id: 'anthropic', version: 2, class: 'approved_hosted' },
      model: 'claude',
      sensitivity: 'public',
      route: { chosen: { provider: 'anthropic', model: 'claude' } },
      streamed: true,
      markers: ['fallback'],
      error: { code: 'credential_missing', message: 'ANTHROPIC_API_KEY is not set, so anthropic cannot be called' },
    });
    expect(getEvidence(store, id)).toMatchObject({
      kind: 'invocation',
      state: 'failed',
      chainSeq: 2,
      hop: 1,
      provider: { id: 'anthropic', version: 2, class: 'approved_hosted' },
      permitId: null,
      streamed: true,
      markers: ['fallback'],
      error: { code: 'credential_missing' },
      verbatimCapture: 'none',
      tokenAccounting: 'not_available',
      request: { body: null },
      response: { body: null, chunks: [] },
    });
    // The denial written through the same row writer is unchanged.
    expect(getEvidence(store, denial)).toMatchObject({ kind: 'denial', state: 'denied', hop: 0, markers: [], streamed: false });
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2 });
  });

  /** An attempt whose request was sent (so its pending row is in the store), left open. */
  function sent(overrides: Parameters<typeof attemptStart>[0] = {}): string {
    const id = beginAttempt(store, attemptStart(overrides));
    createRecorder(store, id).onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
    return id;
  }

  it('marks rows of dead processes interrupted, keeping their partial bytes, and leaves live ones pending', () => {
    const dead = deadPid();
    expect(isProcessAlive(dead)).toBe(false);
    const orphan = beginAttempt(store, attemptStart());
    const recorder = createRecorder(store, orphan, { flushIntervalMs: 0 });
    recorder.onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
    recorder.onResponseStart({ status: 200, headers: {}, atMs: 3 });
    recorder.onChunk(Buffer.from(SSE_CHUNKS[0] ?? ''), 4);
    store.db.prepare('UPDATE evidence SET pid = ? WHERE id = ?').run(dead, orphan);
    const requestOnly = sent();
    store.db.prepare('UPDATE evidence SET pid = ? WHERE id = ?').run(dead, requestOnly);
    const live = sent();

    expect(recoverInterrupted(store).sort()).toEqual([orphan, requestOnly].sort());
    expect(getEvidence(store, orphan)).toMatchObject({
      state: 'interrupted',
      verbatimCapture: 'partial',
      tokenAccounting: 'not_available',
      markers: ['partial_response'],
      status: 200,
      error: { code: 'interrupted' },
    });
    expect(getEvidence(store, orphan)?.response.body?.toString()).toBe(SSE_CHUNKS[0]);
    expect(getEvidence(store, orphan)?.request.body?.toString()).toBe(REQUEST_BODY);
    expect(getEvidence(store, requestOnly)).toMatchObject({ state: 'interrupted', verbatimCapture: 'partial', markers: [], response: { body: null } });
    expect(getEvidence(store, live)?.state).toBe('pending');
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2 });
    // Idempotent.
    expect(recoverInterrupted(store)).toEqual([]);
  });

  it('treats pending rows older than 24 h as interrupted even when the pid looks alive', () => {
    const old = sent({ now: Date.now() - 25 * 3600 * 1000 });
    const fresh = sent();
    expect(recoverInterrupted(store)).toEqual([old]);
    expect(getEvidence(store, fresh)?.state).toBe('pending');
  });

  it('lists newest first with filters, without bytes', () => {
    const base = Date.now() - 10_000;
    const first = seedCompleted(store, { now: base });
    seedDenial(store);
    const third = seedCompleted(store, { now: base + 5000, provider: { id: 'glm', version: 1, class: 'approved_hosted' } });
    expect(listEvidence(store).map((row) => row.id)[2]).toBe(first);
    expect(listEvidence(store, { provider: 'glm' }).map((row) => row.id)).toEqual([third]);
    expect(listEvidence(store, { state: 'denied' })).toHaveLength(1);
    expect(listEvidence(store, { since: base + 1000 })).toHaveLength(2);
    expect(listEvidence(store, { limit: 1 })).toHaveLength(1);
    expect(listEvidence(store)[0]).not.toHaveProperty('request');
  });

  it("lists each row's level sources as its route recorded them (route.levelSources), null without them", () => {
    const levelSources = [{ detector: 'operator.pattern', reason: "operator pattern 'hosts'", locations: ['messages[0].content[0]'] }];
    const uncalled = (requestId: string, route: unknown): string =>
      recordUncalledAttempt(store, { requestId, hop: 0, kind: 'invocation', caller: 'cli', sensitivity: 'confidential', route, streamed: false, markers: [], error: { code: 'inference_unavailable', message: 'down' } });
    const withSources = uncalled('req_sources', { sensitivity: 'confidential', levelSources, excluded: [] });
    const withoutSources = uncalled('req_none', { chosen: { provider: 'anthropic', model: 'claude' } });
    const edited = uncalled('req_edited', { levelSources });
    store.db.prepare('UPDATE evidence SET route_json = ? WHERE id = ?').run('{not json', edited);
    const denial = seedDenial(store);
    const listed = new Map(listEvidence(store).map((row) => [row.id, row.levelSources]));
    expect(listed.get(withSources)).toEqual(levelSources);
    expect(listed.get(withoutSources)).toBeNull();
    // A route edited outside syndicate is `evidence show`'s to explain: the list still lists the row.
    expect(listed.get(edited)).toBeNull();
    expect(listed.get(denial)).toBeNull();
  });

  it('presents a no_providers row an earlier syndicate wrote as a denial as the failed attempt metrics counts, and exports it as stored', () => {
    // Before `no_providers` was recorded as a failed attempt that called nothing, it was a denial row.
    const old = recordDenial(store, { requestId: 'req_old', caller: 'cli', reasonCode: 'no_providers', message: 'no provider is registered', sensitivity: 'public' });
    const denial = seedDenial(store);
    const listed = listEvidence(store).find((row) => row.id === old);
    expect(listed).toMatchObject({ kind: 'invocation', state: 'failed', recordedAs: { kind: 'denial', state: 'denied' }, error: { code: 'no_providers' } });
    expect(listEvidence(store).find((row) => row.id === denial)).not.toHaveProperty('recordedAs');
    expect(listEvidence(store, { state: 'failed' }).map((row) => row.id)).toEqual([old]);
    expect(listEvidence(store, { state: 'denied' }).map((row) => row.id)).toEqual([denial]);
    expect(countEvidence(store, { state: 'failed' })).toBe(1);
    expect(countEvidence(store, { state: 'denied' })).toBe(1);
    expect(readEvidence(store, old)?.record).toMatchObject({ kind: 'invocation', state: 'failed', recordedAs: { kind: 'denial', state: 'denied' } });
    // The row is kept as written: the chain verifies, and the export (which `verify --export` proves) gives it as stored.
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: 2 });
    const exported = [...exportEvidence(store, { state: 'denied' })].map((line) => JSON.parse(line.json) as { id?: string; kind?: string; state?: string; recordedAs?: unknown });
    expect(exported.find((line) => line.id === old)).toMatchObject({ kind: 'denial', state: 'denied' });
    expect(exported.find((line) => line.id === old)).not.toHaveProperty('recordedAs');
  });

  it('counts approximate tokens with a real tokenizer', () => {
    expect(approximateTokens('')).toBe(0);
    const count = approximateTokens('The quick brown fox jumps over the lazy dog.');
    // o200k_base: one token per word plus the period.
    expect(count).toBe(10);
  });
});

describe('evidence across connections (file store)', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-evidence-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('another connection sees streamed chunks before completion and can recover a dead writer', async () => {
    const path = join(directory, 'store.db');
    const writer = openStore(path);
    const reader = openStore(path);
    try {
      fakeFlushClock();
      const id = beginAttempt(writer, attemptStart());
      const recorder = createRecorder(writer, id);
      recorder.onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
      recorder.onResponseStart({ status: 200, headers: {}, atMs: 3 });
      recorder.onChunk(Buffer.from(SSE_CHUNKS[0] ?? ''), 4);
      expect(getEvidence(reader, id)?.response.body).toBeNull();
      // Written within one flush interval (50 ms by default), without any further call.
      vi.advanceTimersByTime(50);
      vi.useRealTimers();
      expect(getEvidence(reader, id)?.response.body?.toString()).toBe(SSE_CHUNKS[0]);
      expect(getEvidence(reader, id)?.status).toBe(200);
      expect(recoverInterrupted(reader, { isAlive: () => false })).toEqual([id]);
      expect(() =>
        completeAttempt(writer, id, {
          state: 'completed',
          totalMs: 1,
          tokenAccounting: 'not_available',
          verbatimCapture: 'full',
          toolCallFidelity: 'not_applicable',
          markers: [],
          warnings: [],
        }),
      ).toThrow(/already interrupted/);
      expect(verifyChain(reader)).toMatchObject({ ok: true, rows: 1 });
    } finally {
      vi.useRealTimers();
      writer.close();
      reader.close();
    }
  });

  it('recovery with lockWaitMs leaves a dead writer\'s row pending while another connection holds the write lock, and keeps its busy timeout', () => {
    const path = join(directory, 'store.db');
    const writer = openStore(path);
    const reader = openStore(path);
    const holder = openStore(path);
    try {
      const id = beginAttempt(writer, attemptStart());
      createRecorder(writer, id, { flushIntervalMs: 0 }).onRequest({ method: 'POST', url: 'http://x/v1/chat/completions', headers: {}, body: REQUEST_BODY });
      holder.db.exec('BEGIN IMMEDIATE');
      // It used to wait out the busy timeout and fail the command opening the store, one that only reads included.
      expect(recoverInterrupted(reader, { isAlive: () => false, lockWaitMs: 0 })).toEqual([]);
      expect(reader.db.pragma('busy_timeout', { simple: true })).toBe(DEFAULT_BUSY_TIMEOUT_MS);
      expect(getEvidence(reader, id)?.state).toBe('pending');
      expect(verifyChain(reader)).toMatchObject({ ok: true, rows: 0 });
      holder.db.exec('ROLLBACK');
      expect(recoverInterrupted(reader, { isAlive: () => false, lockWaitMs: 0 })).toEqual([id]);
      expect(verifyChain(reader)).toMatchObject({ ok: true, rows: 1 });
    } finally {
      writer.close();
      reader.close();
      holder.close();
    }
  });
});
