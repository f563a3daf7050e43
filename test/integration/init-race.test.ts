import { execa } from 'execa';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempHome, REPO_ROOT } from '../helpers/cli.js';

const DIST = pathToFileURL(join(REPO_ROOT, 'dist')).href;

/**
 * Runs `initializeHome` (dist) in `workers` processes on `rounds` new homes under `parent`: in each
 * round every worker waits until all are ready, then all initialise the same new home at once.
 * Resolves to each worker's failures (`round: code reason message`), problems and warnings.
 */
async function parallelInits(parent: string, workers: number, rounds: number): Promise<string[][]> {
  const script = `
    import { existsSync, readdirSync, writeFileSync } from 'node:fs';
    const [parent, worker, workers, rounds] = process.argv.slice(1);
    const { initializeHome } = await import('${DIST}/home/init.js');
    const { resolveHome } = await import('${DIST}/home/home.js');
    const failures = [];
    for (let round = 0; round < Number(rounds); round += 1) {
      const barrier = parent + '/barrier-' + round;
      writeFileSync(barrier + '/' + worker, '');
      while (readdirSync(barrier).length < Number(workers)) {}
      try {
        const result = initializeHome(resolveHome({ home: parent + '/home-' + round }));
        for (const finding of [...result.problems, ...result.warnings]) failures.push(round + ': ' + finding.detail);
      } catch (error) {
        failures.push(round + ': ' + (error.code ?? '') + ' ' + (error.reason ?? '') + ' ' + error.message);
      }
    }
    process.stdout.write(JSON.stringify(failures));
  `;
  for (let round = 0; round < rounds; round += 1) mkdirSync(join(parent, `barrier-${round}`));
  const results = await Promise.all(
    Array.from({ length: workers }, (_, worker) =>
      execa(process.execPath, ['--input-type=module', '-e', script, parent, String(worker), String(workers), String(rounds)], { cwd: REPO_ROOT, reject: false }),
    ),
  );
  return results.map((result) => {
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(String(result.stdout)) as string[];
  });
}

describe('parallel `init`s of one new home', () => {
  const { home: parent, cleanup } = makeTempHome('syndicate-init-race-');
  afterAll(() => cleanup());

  it('the store switched to WAL by another process at the same moment is waited for (SQLite answered "database is locked" at once)', { timeout: 90_000 }, async () => {
    const store = join(parent, 'switching', 'syndicate.db');
    mkdirSync(join(parent, 'switching'));
    // A new store in rollback mode whose write lock another process holds, as a second `init`
    // switching it to WAL does: that switch takes the lock inside a read transaction, where
    // SQLite's busy handler never runs.
    const holder = execa(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import Database from 'better-sqlite3';
         const db = new Database(process.argv[1]);
         db.exec('BEGIN IMMEDIATE');
         process.stdout.write('held\\n');
         setTimeout(() => { db.exec('COMMIT'); db.close(); }, 400);`,
        store,
      ],
      { cwd: REPO_ROOT },
    );
    await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
    const opener = await execa(
      process.execPath,
      ['--input-type=module', '-e', `const { openStore } = await import('${DIST}/store/store.js'); openStore(process.argv[1]).close(); process.stdout.write('opened');`, store],
      { cwd: REPO_ROOT, reject: false },
    );
    await holder;
    expect(opener.stderr).toBe('');
    expect(opener.stdout).toBe('opened');
  });

  it('many rounds of 4 inits at the same moment: every one succeeds, and the store is 0600 from the start', { timeout: 90_000 }, async () => {
    const rounds = 60;
    const failures = await parallelInits(parent, 4, rounds);
    expect(failures.flat()).toEqual([]);
    for (let round = 0; round < rounds; round += 1) {
      const home = join(parent, `home-${round}`);
      // A -wal and -shm may stay: the last two connections closing at once each leave them to the other.
      expect(readdirSync(home)).toEqual(expect.arrayContaining(['gateway.token', 'permit.key', 'policy.yaml', 'syndicate.db']));
      expect(statSync(join(home, 'syndicate.db')).mode & 0o777).toBe(0o600);
    }
  });
});
