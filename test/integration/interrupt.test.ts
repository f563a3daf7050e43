import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveHome } from '../../src/home/home.js';
import { BIN, makeTempHome, REPO_ROOT, runCli } from '../helpers/cli.js';
import { withStore } from '../helpers/store.js';
import { seedCompleted } from '../unit/evidence/seed.js';

/** Rows enough for `evidence verify` to take a second or more, written in a few transactions. */
const VERIFY_ROWS = 40_000;

/** True once `pid` has `path` mapped: `evidence verify` maps the store while it walks the chain (and nothing else does). */
function hasMapped(pid: number, path: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes(path);
  } catch {
    return false;
  }
}

describe('evidence verify stopped on a big store', () => {
  for (const [signal, exitCode, said] of [
    ['SIGINT', 130, 'cancelled by the operator (Ctrl-C) before `evidence verify` ended'],
    ['SIGTERM', 143, 'terminated (SIGTERM) before `evidence verify` ended'],
  ] as const) {
    it(`${signal} stops it within a page of rows (it used to walk the whole chain first), exit ${exitCode}, and a later verify still passes`, { timeout: 90_000 }, async () => {
      const { home, cleanup } = makeTempHome('syndicate-verify-interrupt-');
      try {
        expect((await runCli(['init'], { home })).exitCode).toBe(0);
        withStore(home, (store) => {
          const seed = store.db.transaction((count: number) => {
            for (let index = 0; index < count; index += 1) seedCompleted(store);
          });
          for (let done = 0; done < VERIFY_ROWS; done += 5000) seed(5000);
        });
        const storePath = resolveHome({ home }).storePath;
        const child = execa('node', [BIN, 'evidence', 'verify'], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false });
        await expect.poll(() => hasMapped(child.pid!, storePath), { timeout: 15_000, interval: 5 }).toBe(true);
        const signalledAt = Date.now();
        child.kill(signal);
        const ended = await child;
        const tookMs = Date.now() - signalledAt;
        expect(ended.exitCode, ended.stderr).toBe(exitCode);
        expect(ended.stdout).toBe('');
        expect(ended.stderr).toContain(`error: ${said}`);
        expect(ended.stderr).toContain('hint: nothing was changed; run it again');
        expect(ended.stderr).not.toMatch(/\n\s+at /);
        expect(tookMs).toBeLessThan(1_000);

        const verify = await runCli(['evidence', 'verify'], { home, timeoutMs: 60_000 });
        expect(verify.exitCode, verify.stderr).toBe(0);
        expect(verify.stdout).toContain(`evidence chain intact: ${VERIFY_ROWS} rows`);
      } finally {
        cleanup();
      }
    });
  }
});
