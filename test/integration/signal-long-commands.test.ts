import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHome } from '../../src/home/home.js';
import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { withStore } from '../helpers/store.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { appendTurn, startSession } from '../../src/sessions/index.js';
import { seedDenial } from '../unit/evidence/seed.js';

/** A home of its own holding a copy of the seeded `home`'s store (closed: no -wal or -shm beside it), listed in `homes` to be removed. */
function copyOfHome(home: string, homes: string[]): string {
  const copy = mkdtempSync(join(tmpdir(), 'syndicate-signal-'));
  homes.push(copy);
  for (const name of ['policy.yaml', 'permit.key', 'gateway.token', 'syndicate.db']) copyFileSync(join(home, name), join(copy, name));
  return copy;
}

/** Runs the CLI on `home`, and sends `signal` once `ready` says the command is at its work. */
async function signalled(home: string, args: string[], signal: 'SIGTERM' | 'SIGINT', ready: () => boolean) {
  const child = execa('node', [BIN, '--json', ...args], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false });
  while (!ready()) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  child.kill(signal);
  return child;
}

/** The store is open (SQLite creates its -shm file beside it): what follows is the command's long read. */
const storeOpen = (home: string) => (): boolean => existsSync(`${resolveHome({ home }).storePath}-shm`);

/**
 * Commands whose work is one long synchronous read or write of the store (`metrics` over a big
 * window, `evidence list` with a big --limit, `evidence prune`) let the event loop run every few
 * hundred rows: a SIGTERM or Ctrl-C received meanwhile stops them (exit 143 / 130) instead of
 * waiting for the end of the work and exiting 0 (or printing the whole result first).
 */
describe('long store commands stopped by a signal', () => {
  const seeded = makeTempHome('syndicate-signal-seeded-');
  const homes: string[] = [];
  const ROWS = 60_000;
  beforeAll(async () => {
    expect((await runCli(['init'], { home: seeded.home })).exitCode).toBe(0);
    // Enough rows that each command is still at work when the signal comes, on any machine.
    withStore(seeded.home, (store) => store.transaction(() => {
      for (let index = 0; index < ROWS; index += 1) seedDenial(store);
    }));
  }, 90_000);
  afterAll(() => {
    seeded.cleanup();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  const copiedHome = (): string => copyOfHome(seeded.home, homes);

  for (const [words, name, hint, details] of [
    [['metrics', '--since', '7d'], '`metrics`', 'nothing was changed; run it again, or with a shorter --since', undefined],
    [['evidence', 'list', '--limit', String(ROWS)], '`evidence list`', 'nothing was changed; run it again, or with a smaller --limit', undefined],
    [['evidence', 'prune', '--older-than', '1ms', '--dry-run'], '`evidence prune`', 'a dry run deletes nothing; run it again', { deleted: 0 }],
  ] as const) {
    for (const [signal, exitCode, said] of [
      ['SIGTERM', 143, 'terminated (SIGTERM)'],
      ['SIGINT', 130, 'cancelled by the operator (Ctrl-C)'],
    ] as const) {
      it(`${words.join(' ')}: ${signal} during the read stops it (exit ${exitCode}) before its result`, { timeout: 90_000 }, async () => {
        const home = copiedHome();
        const result = await signalled(home, [...words], signal, storeOpen(home));
        expect(result.exitCode, String(result.stdout)).toBe(exitCode);
        expect(parseJsonDocument(String(result.stdout))).toEqual({
          ok: false,
          error: { code: 'interrupted', message: `${said} before ${name} ended`, hint, ...(details === undefined ? {} : { details }) },
        });
      });
    }
  }

  it('evidence list (its table): SIGTERM once the rows are read stops it while it renders them (exit 143), nothing printed but the error', { timeout: 90_000 }, async () => {
    const home = copiedHome();
    // The preload signals the process as the read ends (its COUNT of the full page): what is left is the table.
    const result = await execa('node', ['--require', join(REPO_ROOT, 'test', 'helpers', 'sigterm-after-evidence-read.cjs'), BIN, 'evidence', 'list', '--limit', String(ROWS)], {
      cwd: REPO_ROOT,
      env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' },
      reject: false,
    });
    expect(result.exitCode, String(result.stderr)).toBe(143);
    expect(String(result.stdout)).toBe('');
    expect(String(result.stderr)).toContain('terminated (SIGTERM) before `evidence list` ended');
  });

  it('evidence prune: SIGTERM between two batches keeps what they deleted, says how much (exit 143), and the chain verifies', { timeout: 90_000 }, async () => {
    const home = copiedHome();
    const storePath = resolveHome({ home }).storePath;
    // Signalled once the first batch has committed: mid-prune, whatever the machine's speed.
    const batchCommitted = (): boolean => {
      if (!existsSync(`${storePath}-shm`)) return false;
      const db = new Database(storePath, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) FROM evidence_prunes').pluck(true).get() as number) > 0;
      } finally {
        db.close();
      }
    };
    const result = await signalled(home, ['evidence', 'prune', '--older-than', '1ms'], 'SIGTERM', batchCommitted);
    expect(result.exitCode, String(result.stdout)).toBe(143);
    const document = parseJsonDocument(String(result.stdout)) as { error: { message: string; hint: string; details: { deleted: number; throughSeq: number } } };
    const { deleted, throughSeq } = document.error.details;
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(ROWS);
    expect(document.error.message).toBe('terminated (SIGTERM) before `evidence prune` ended');
    expect(document.error.hint).toBe(
      `${deleted} envelopes up to chain #${throughSeq} were deleted (each batch commits on its own; the chain stays verifiable), nothing after; run it again to delete the rest`,
    );
    const kept = withStore(home, (store) => store.db.prepare('SELECT count(*) FROM evidence').pluck(true).get() as number);
    expect(kept).toBe(ROWS - deleted);
    const verify = await runCli(['evidence', 'verify', '--json'], { home });
    expect(verify.exitCode, verify.stdout).toBe(0);
    const again = await runCli(['evidence', 'prune', '--older-than', '1ms', '--json'], { home });
    expect(again.exitCode, again.stderr).toBe(0);
    expect((parseJsonDocument(again.stdout) as { pruned: { envelopes: number } }).pruned.envelopes).toBe(ROWS - deleted);
  });
});

/**
 * `evidence verify` proves each stored session's chain after the evidence chain: with many
 * sessions that is the long part, and a signal received during it stops it too (it waited for
 * every session, then for the unlisted images, and the command ended with its result).
 */
describe('evidence verify stopped by a signal while it proves the sessions', () => {
  const seeded = makeTempHome('syndicate-signal-sessions-');
  const homes: string[] = [];
  const SESSIONS = 40_000;
  beforeAll(async () => {
    expect((await runCli(['init'], { home: seeded.home })).exitCode).toBe(0);
    // No evidence rows: once the store is open, the command is at the sessions' chains.
    const policy = defaultPolicy();
    withStore(seeded.home, (store) => store.transaction(() => {
      for (let index = 0; index < SESSIONS; index += 1) {
        const { id } = startSession(store, policy);
        appendTurn(store, id, { prompt: `prompt ${index}`, answer: `answer ${index}`, providerId: 'local', model: 'm', evidenceId: `ev_${index}` });
      }
    }));
  }, 90_000);
  afterAll(() => {
    seeded.cleanup();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  for (const [signal, exitCode, said] of [
    ['SIGTERM', 143, 'terminated (SIGTERM)'],
    ['SIGINT', 130, 'cancelled by the operator (Ctrl-C)'],
  ] as const) {
    it(`${signal} during the sessions' walk stops it (exit ${exitCode}) before its result`, { timeout: 90_000 }, async () => {
      const home = copyOfHome(seeded.home, homes);
      const result = await signalled(home, ['evidence', 'verify'], signal, storeOpen(home));
      expect(result.exitCode, String(result.stdout)).toBe(exitCode);
      expect(parseJsonDocument(String(result.stdout))).toEqual({
        ok: false,
        error: {
          code: 'interrupted',
          message: `${said} before \`evidence verify\` ended`,
          hint: 'nothing was changed; run it again, or `evidence verify --from <seq:hash>` to check only the rows since a head an earlier verify printed',
        },
      });
      // Unsignalled, the same store verifies whole.
      const whole = await runCli(['evidence', 'verify', '--json'], { home });
      expect(whole.exitCode, whole.stdout).toBe(0);
      expect(parseJsonDocument(whole.stdout)).toMatchObject({ sessions: { sessions: SESSIONS, messages: 2 * SESSIONS } });
    });
  }
});
