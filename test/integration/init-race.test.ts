import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempHome, REPO_ROOT } from '../helpers/cli.js';

const DIST = pathToFileURL(join(REPO_ROOT, 'dist')).href;

/** What one worker's `initializeHome` left in a round's home, read as soon as it returned. */
interface SeenSecrets {
  round: number;
  permitKey: string;
  gatewayToken: string;
}

/**
 * Runs `initializeHome` (dist) in `workers` processes on `rounds` new homes under `parent`: in each
 * round every worker waits until all are ready, then all initialise the same new home at once.
 * Resolves to each worker's failures (`round: code reason message`), problems and warnings, and
 * the permit key and gateway token it read right after its own init returned.
 */
async function parallelInits(parent: string, workers: number, rounds: number): Promise<{ failures: string[]; seen: SeenSecrets[] }[]> {
  const script = `
    import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
    const [parent, worker, workers, rounds] = process.argv.slice(1);
    const { initializeHome } = await import('${DIST}/home/init.js');
    const { resolveHome } = await import('${DIST}/home/home.js');
    const failures = [];
    const seen = [];
    for (let round = 0; round < Number(rounds); round += 1) {
      const barrier = parent + '/barrier-' + round;
      writeFileSync(barrier + '/' + worker, '');
      while (readdirSync(barrier).length < Number(workers)) {}
      try {
        const home = resolveHome({ home: parent + '/home-' + round });
        const result = initializeHome(home);
        seen.push({ round, permitKey: readFileSync(home.permitKeyPath, 'utf8'), gatewayToken: readFileSync(home.gatewayTokenPath, 'utf8') });
        for (const finding of [...result.problems, ...result.warnings]) failures.push(round + ': ' + finding.detail);
      } catch (error) {
        failures.push(round + ': ' + (error.code ?? '') + ' ' + (error.reason ?? '') + ' ' + error.message);
      }
    }
    process.stdout.write(JSON.stringify({ failures, seen }));
  `;
  for (let round = 0; round < rounds; round += 1) mkdirSync(join(parent, `barrier-${round}`), { recursive: true });
  const results = await Promise.all(
    Array.from({ length: workers }, (_, worker) =>
      execa(process.execPath, ['--input-type=module', '-e', script, parent, String(worker), String(workers), String(rounds)], { cwd: REPO_ROOT, reject: false }),
    ),
  );
  return results.map((result) => {
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(String(result.stdout)) as { failures: string[]; seen: SeenSecrets[] };
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
    const workers = await parallelInits(join(parent, 'stores'), 4, rounds);
    expect(workers.flatMap((worker) => worker.failures)).toEqual([]);
    for (let round = 0; round < rounds; round += 1) {
      const home = join(parent, 'stores', `home-${round}`);
      // A -wal and -shm may stay: the last two connections closing at once each leave them to the other.
      expect(readdirSync(home)).toEqual(expect.arrayContaining(['gateway.token', 'permit.key', 'policy.yaml', 'syndicate.db']));
      expect(statSync(join(home, 'syndicate.db')).mode & 0o777).toBe(0o600);
    }
  });

  it('the permit key and gateway token are made by exactly one of them: what each saw when its init returned is what stays (each replaced the others\' before)', { timeout: 90_000 }, async () => {
    const rounds = 20;
    const workers = await parallelInits(join(parent, 'secrets'), 8, rounds);
    expect(workers.flatMap((worker) => worker.failures)).toEqual([]);
    const seen = workers.flatMap((worker) => worker.seen);
    expect(seen).toHaveLength(8 * rounds);
    const differing = seen.filter(({ round, permitKey, gatewayToken }) => {
      const home = join(parent, 'secrets', `home-${round}`);
      return permitKey !== readFileSync(join(home, 'permit.key'), 'utf8') || gatewayToken !== readFileSync(join(home, 'gateway.token'), 'utf8');
    });
    expect(differing.map(({ round }) => `round ${round}`)).toEqual([]);
    for (let round = 0; round < rounds; round += 1) {
      const home = join(parent, 'secrets', `home-${round}`);
      // No temporary file left beside them, and both private.
      expect(readdirSync(home).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      for (const name of ['permit.key', 'gateway.token']) expect(statSync(join(home, name)).mode & 0o777).toBe(0o600);
    }
  });
});
