/** Migration 9 appends the prompt-cache columns to evidence; envelopes written before it keep verifying. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getEvidence, verifyChain } from '../../../src/evidence/index.js';
import { openStore } from '../../../src/store/store.js';
import { seedCompleted, seedDenial } from '../evidence/seed.js';

describe('migration 9: prompt-cache token columns', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-cache-migration-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('adds the columns to a version-8 store whose chain still verifies, then chains envelopes with cache figures after it', () => {
    const path = join(directory, 'store.db');
    const seeded = openStore(path);
    const ids = [seedCompleted(seeded, { requestId: 'req_0' }), seedDenial(seeded), seedCompleted(seeded, { requestId: 'req_2' })];
    seeded.close();
    // The store as version 8 left it: without the two columns (rows without cache figures hash the same).
    const raw = new Database(path);
    raw.exec('ALTER TABLE evidence DROP COLUMN cached_input_tokens; ALTER TABLE evidence DROP COLUMN cache_write_input_tokens; DELETE FROM schema_migrations WHERE version = 9;');
    raw.close();

    const store = openStore(path);
    try {
      const columns = (store.db.prepare('PRAGMA table_info(evidence)').all() as { name: string }[]).map((column) => column.name);
      expect(columns.slice(-3)).toEqual(['hash', 'cached_input_tokens', 'cache_write_input_tokens']);
      expect(verifyChain(store)).toMatchObject({ ok: true, rows: 3 });
      const cached = seedCompleted(store, { requestId: 'req_after' }, undefined, undefined, { inputTokens: 9, outputTokens: 2, cachedInputTokens: 8 });
      expect(verifyChain(store)).toMatchObject({ ok: true, rows: 4 });
      expect(getEvidence(store, cached)).toMatchObject({ inputTokens: 9, cachedInputTokens: 8, cacheWriteInputTokens: null });
      expect(getEvidence(store, ids[0] ?? '')).toMatchObject({ inputTokens: 5, cachedInputTokens: null });
    } finally {
      store.close();
    }
  });
});
