import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/common/ids.js';
import { parseJsonDocument, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { withStore } from '../helpers/store.js';
import { seedCompleted } from '../unit/evidence/seed.js';

const DAY = 24 * 3600 * 1000;

/** `syndicate evidence prune` as an operator's retention job runs it. */
describe('syndicate evidence prune', () => {
  let home: string;
  let cleanup: () => void;
  let old: string[];
  let recent: string;
  let headBefore: string;

  // Each test meets the three envelopes unpruned, whichever tests pruned before it, and prunes itself when it needs to.
  beforeEach(async () => {
    ({ home, cleanup } = await initialisedHome('syndicate-prune-'));
    withStore(home, (store) => {
      old = [seedCompleted(store, { now: Date.now() - 100 * DAY }), seedCompleted(store, { now: Date.now() - 95 * DAY })];
      recent = seedCompleted(store, { now: Date.now() - DAY });
    });
    const verified = parseJsonDocument((await runCli(['evidence', 'verify', '--json'], { home })).stdout) as { head: { seq: number; hash: string } };
    headBefore = `${verified.head.seq}:${verified.head.hash}`;
  });
  afterEach(() => cleanup());

  const pruneOlderThan90Days = async (): Promise<void> => {
    const result = await runCli(['evidence', 'prune', '--older-than', '90d'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
  };

  it('--dry-run says what would go and changes nothing', async () => {
    const result = await runCli(['evidence', 'prune', '--older-than', '90d', '--dry-run'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^would delete 2 envelopes \(chain #1–#2\) created before \S+, \d+ byte chunks and 0 expired permits$/);
    const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: unknown[] };
    expect(listed.evidence).toHaveLength(3);
  });

  it('deletes the old envelopes; list, show and verify agree; verify starts from the prune anchor', async () => {
    const result = await runCli(['evidence', 'prune', '--older-than', '90d', '--json'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    const { pruned } = parseJsonDocument(result.stdout) as { pruned: Record<string, unknown> };
    expect(pruned).toMatchObject({ dryRun: false, envelopes: 2, fromSeq: 1, throughSeq: 2, throughHash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: { id: string }[] };
    expect(listed.evidence.map((row) => row.id)).toEqual([recent]);
    const gone = await runCli(['evidence', 'show', old[0]!], { home });
    expect(gone.exitCode).not.toBe(0);

    const verify = await runCli(['evidence', 'verify'], { home });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^evidence chain intact from #3: 1 row, head #3 [0-9a-f]{64}$/);
    expect(verify.stderr).toContain(`rows up to #2 were deleted by \`evidence prune\``);
    const json = parseJsonDocument((await runCli(['evidence', 'verify', '--json'], { home })).stdout);
    expect(json).toMatchObject({ ok: true, rows: 1, prunedThrough: { throughSeq: 2, throughHash: pruned.throughHash } });
  });

  it('show of a pruned envelope says which prune deleted it (exit 2, `evidence_pruned`); ids never there are still not found', async () => {
    await pruneOlderThan90Days();
    const { prunedAt, olderThan } = withStore(home, (store) => store.db.prepare('SELECT pruned_at AS prunedAt, older_than AS olderThan FROM evidence_prunes').get()) as {
      prunedAt: string;
      olderThan: string;
    };
    for (const given of [old[0]!, old[1]!.slice(0, 15).toUpperCase()]) {
      const human = await runCli(['evidence', 'show', given], { home });
      expect(human.exitCode, given).toBe(2);
      expect(human.stdout, given).toBe('');
      expect(human.stderr, given).toContain(`error: evidence ${given} was deleted by the prune of ${prunedAt} (envelopes older than ${olderThan})`);
    }
    const json = await runCli(['evidence', 'show', old[0]!, '--json'], { home });
    expect(json.exitCode).toBe(2);
    expect(json.stderr).toBe('');
    expect(parseJsonDocument(json.stdout)).toMatchObject({
      ok: false,
      error: { code: 'evidence_pruned', message: expect.stringContaining(`the prune of ${prunedAt}`), hint: expect.stringContaining('evidence export'), details: { prunedAt, olderThan } },
    });

    // Never there: not an id at all, an id created after the cut-off, a prefix too short to be before it.
    for (const given of ['ev_nope', newId('ev'), newId('ev', Date.parse(olderThan)), 'ev_zz']) {
      const unknown = await runCli(['evidence', 'show', given, '--json'], { home });
      expect(unknown.exitCode, given).toBe(2);
      expect(parseJsonDocument(unknown.stdout), given).toMatchObject({ ok: false, error: { code: 'usage', message: `no evidence row ${given}` } });
    }
    expect((await runCli(['evidence', 'show', recent], { home })).exitCode).toBe(0);
  });

  it('a head recorded before the prune still checks; one inside the deleted part is refused with what to do', async () => {
    await pruneOlderThan90Days();
    const kept = await runCli(['evidence', 'verify', '--from', headBefore], { home });
    expect(kept.exitCode, kept.stderr).toBe(0);
    const inside = await runCli(['evidence', 'verify', '--from', `1:${'a'.repeat(64)}`], { home });
    expect(inside.exitCode).toBe(1);
    expect(inside.stderr).toContain('evidence chain broken at #1: pruned');
    expect(inside.stderr).toMatch(/a head recorded before then cannot be checked any more; run `evidence verify` without --from/);
  });

  it("verify names a prune whose cut-off was edited, and a faked prune (the oldest rows deleted by hand, a record of them inserted)", async () => {
    await pruneOlderThan90Days();
    const { prunedAt, olderThan } = withStore(home, (store) => store.db.prepare('SELECT pruned_at AS prunedAt, older_than AS olderThan FROM evidence_prunes').get()) as {
      prunedAt: string;
      olderThan: string;
    };
    // Moved back a year: `list`, `export` and `metrics` would stop warning of a window the prune reached into.
    const edited = new Date(Date.parse(olderThan) - 365 * DAY).toISOString();
    withStore(home, (store) => store.db.prepare('UPDATE evidence_prunes SET older_than = ?').run(edited));
    const verify = await runCli(['evidence', 'verify', '--json'], { home });
    expect(verify.exitCode).toBe(1);
    expect(parseJsonDocument(verify.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'check_failed',
        message: `evidence chain broken at the prune of ${prunedAt} (record 1: envelopes older than ${edited}, rows up to #2): prune record changed`,
        hint: expect.stringContaining('edited outside syndicate'),
        details: { brokenAt: { seq: 2, reason: 'prune record changed', prune: { id: 1, prunedAt, olderThan: edited, throughSeq: 2 } } },
      },
    });

    // A faked prune of the kept envelope: the rows deleted, a record written as `evidence prune` writes one, without its link.
    withStore(home, (store) => {
      store.db.prepare('UPDATE evidence_prunes SET older_than = ?').run(olderThan);
      const kept = store.db.prepare('SELECT row_key, hash FROM evidence WHERE chain_seq = 3').get() as { row_key: number; hash: string };
      store.db.prepare('DELETE FROM evidence_chunks WHERE evidence_id = ?').run(recent);
      store.db.prepare('DELETE FROM evidence WHERE chain_seq = 3').run();
      store.db
        .prepare('INSERT INTO evidence_prunes (pruned_at, older_than, through_seq, through_hash, envelopes, pid) VALUES (?, ?, 3, ?, 1, ?)')
        .run(new Date().toISOString(), new Date().toISOString(), kept.hash, process.pid);
    });
    const faked = await runCli(['evidence', 'verify'], { home });
    expect(faked.exitCode).toBe(1);
    expect(faked.stderr).toMatch(/evidence chain broken at the prune of \S+ \(record 2: envelopes older than \S+, rows up to #3\): prune record not chained/);
    expect(faked.stderr).toContain('written outside syndicate');
  });

  it('bad durations are usage errors that name the option', async () => {
    const result = await runCli(['evidence', 'prune', '--older-than', 'soon'], { home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('invalid --older-than "soon"');
    const missing = await runCli(['evidence', 'prune'], { home });
    expect(missing.exitCode).toBe(2);
    // No --older-than and no evidence.retentionDays in the policy: both ways are named.
    expect(missing.stderr).toContain('error: evidence prune needs --older-than, or evidence.retentionDays in policy.yaml');
  });

  it('refuses a bare number: `--older-than 90` would have deleted everything older than 90 seconds', async () => {
    const result = await runCli(['evidence', 'prune', '--older-than', '90', '--json'], { home });
    expect(result.exitCode).toBe(2);
    expect(parseJsonDocument(result.stdout)).toEqual({
      ok: false,
      error: {
        code: 'usage',
        message: '--older-than "90" has no unit: 90 days, 90 hours, 90 minutes or 90 seconds?',
        hint: 'write the unit: --older-than 90d for 90 days (or 90h, 90m, 90s)',
      },
    });
    const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: { id: string }[] };
    expect(listed.evidence.map((row) => row.id)).toContain(recent);
  });
});

/** A store edited by hand: prune must not be the tool that erases the edit. */
describe('syndicate evidence prune over an edited row', () => {
  let home: string;
  let cleanup: () => void;
  let edited: string;

  // Each test meets the edited row unpruned: the other test may have deleted it first.
  beforeEach(async () => {
    ({ home, cleanup } = await initialisedHome('syndicate-prune-edited-'));
    withStore(home, (store) => {
      seedCompleted(store, { now: Date.now() - 100 * DAY });
      edited = seedCompleted(store, { now: Date.now() - 95 * DAY });
      seedCompleted(store, { now: Date.now() - DAY });
      store.db.prepare('UPDATE evidence SET response_status = 599 WHERE id = ?').run(edited);
    });
  });
  afterEach(() => cleanup());

  it('--dry-run warns; the prune exits 1 naming the row and deletes nothing; verify still names it', async () => {
    const dryRun = await runCli(['evidence', 'prune', '--older-than', '90d', '--dry-run'], { home });
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stderr).toContain(`the chain is broken at #2 (${edited}) (content changed): a prune would stop there`);

    const refused = await runCli(['evidence', 'prune', '--older-than', '90d', '--json'], { home });
    expect(refused.exitCode).toBe(1);
    expect(parseJsonDocument(refused.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'check_failed',
        message: `evidence chain broken at #2 (${edited}) (content changed) in the part to prune: nothing was deleted`,
        hint: expect.stringContaining('--accept-break'),
        details: { brokenAt: { seq: 2, reason: 'content changed' }, deleted: 0 },
      },
    });
    const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: unknown[] };
    expect(listed.evidence).toHaveLength(3);
    const verify = await runCli(['evidence', 'verify'], { home });
    expect(verify.exitCode).toBe(1);
    expect(verify.stderr).toContain(`evidence chain broken at #2 (${edited}): content changed`);
  });

  it('--accept-break deletes them; verify proves the kept chain and keeps reporting the break the prune deleted', async () => {
    const forced = await runCli(['evidence', 'prune', '--older-than', '90d', '--accept-break'], { home });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^deleted 2 envelopes \(chain #1–#2\)/);
    expect(forced.stderr).toContain(`deleted although the chain was broken at #2 (${edited}) (content changed)`);

    const verify = await runCli(['evidence', 'verify'], { home });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^evidence chain intact from #3: 1 row/);
    expect(verify.stderr).toMatch(new RegExp(`deleted rows up to #2 although their chain was broken at #2 \\(${edited}\\) \\(content changed\\): it was told to \\(--accept-break\\)`));
    const json = parseJsonDocument((await runCli(['evidence', 'verify', '--json'], { home })).stdout);
    expect(json).toMatchObject({ ok: true, rows: 1, prunedBreaks: [{ throughSeq: 2, brokenAt: { seq: 2, evidenceId: edited, reason: 'content changed' } }] });
  });
});
