import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { initialisedHome } from '../helpers/prepared-home.js';
import { startServe } from '../helpers/serve.js';
import { withStore } from '../helpers/store.js';
import { seedCompleted } from '../unit/evidence/seed.js';

const DAY = 24 * 3600 * 1000;

/** The policy's `evidence.retentionDays`: what `evidence prune` alone and a running gateway do with it. */
describe('evidence retention from the policy', () => {
  let home: string;
  let cleanup: () => void;
  let recent: string;

  const writePolicy = (evidence: string): void => writeFileSync(join(home, 'policy.yaml'), `apiVersion: syndicate/v1\nkind: Policy\n${evidence}\n`, { mode: 0o600 });

  // Each test meets init's policy and the three envelopes unpruned, whichever policy or prune an earlier test left.
  beforeEach(async () => {
    ({ home, cleanup } = await initialisedHome('syndicate-retention-'));
    withStore(home, (store) => {
      seedCompleted(store, { now: Date.now() - 100 * DAY });
      seedCompleted(store, { now: Date.now() - 40 * DAY });
      recent = seedCompleted(store, { now: Date.now() - DAY });
    });
  });
  afterEach(() => cleanup());

  it('evidence prune with neither --older-than nor a retention in the policy: exit 2 naming both ways', async () => {
    const { exitCode, stdout } = await runCli(['--json', 'evidence', 'prune'], { home });
    expect(exitCode).toBe(2);
    expect(parseJsonDocument(stdout)['error']).toMatchObject({
      message: 'evidence prune needs --older-than, or evidence.retentionDays in policy.yaml',
      hint: `give a duration (evidence prune --older-than 90d), or set evidence: {retentionDays: 90} in ${join(home, 'policy.yaml')}`,
    });
  });

  it('a retention that is not a whole number of days from 1 is an invalid policy (exit 3) naming the field', async () => {
    writePolicy('evidence:\n  retentionDays: 0');
    const result = await runCli(['evidence', 'prune', '--dry-run'], { home });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('/evidence/retentionDays');
  });

  it('evidence prune alone applies evidence.retentionDays', async () => {
    writePolicy('evidence:\n  retentionDays: 60');
    const result = await runCli(['--json', 'evidence', 'prune', '--dry-run'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(parseJsonDocument(result.stdout)['pruned']).toMatchObject({ dryRun: true, envelopes: 1 });
  });

  it('serve applies it at start (and daily), says so on stderr, and the chain stays verifiable', async () => {
    writePolicy('evidence:\n  retentionDays: 30');
    const { server, stderr, waitForStderr } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
    // Applied beside the requests, once it listens.
    await waitForStderr('evidence retention (30 days)');
    expect(stderr()).toMatch(/evidence retention \(30 days\): deleted 2 envelopes created before \S+ and 0 expired permits; `evidence verify` starts from #2/);
    server.kill('SIGTERM');
    expect((await server).exitCode).toBe(0);
    const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: { id: string }[] };
    expect(listed.evidence.map((row) => row.id)).toEqual([recent]);
    expect((await runCli(['evidence', 'verify'], { home })).exitCode).toBe(0);
  });
});

describe("serve's retention after a policy edit", () => {
  const temporary = makeTempHome('syndicate-retention-edit-');
  const home = temporary.home;
  afterAll(() => temporary.cleanup());

  it('a shorter retention applies when the edit is read, not at the next daily run', async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    let recent = '';
    withStore(home, (store) => {
      seedCompleted(store, { now: Date.now() - 100 * DAY });
      seedCompleted(store, { now: Date.now() - 40 * DAY });
      recent = seedCompleted(store, { now: Date.now() - DAY });
    });
    const writePolicy = (days: number): void =>
      writeFileSync(join(home, 'policy.yaml'), `apiVersion: syndicate/v1\nkind: Policy\nevidence:\n  retentionDays: ${days}\n`, { mode: 0o600 });
    writePolicy(60);
    const { server, stderr, waitForStderr } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
    await waitForStderr('evidence retention (60 days)');
    writePolicy(30);
    server.kill('SIGHUP');
    await waitForStderr('evidence retention (30 days)');
    expect(stderr()).toMatch(/policy reloaded from .*\nevidence retention \(30 days\): deleted 1 envelope created before /);
    let listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: { id: string }[] };
    expect(listed.evidence.map((row) => row.id)).toEqual([recent]);
    // The shortest retention there is: one day (said so, not "1 days"), which the row of a day ago is past.
    writePolicy(1);
    server.kill('SIGHUP');
    await waitForStderr('evidence retention (1 day)');
    expect(stderr()).toMatch(/evidence retention \(1 day\): deleted 1 envelope created before /);
    server.kill('SIGTERM');
    expect((await server).exitCode).toBe(0);
    listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: { id: string }[] };
    expect(listed.evidence).toEqual([]);
    expect((await runCli(['evidence', 'verify'], { home })).exitCode).toBe(0);
  }, 60_000);
});

describe("serve's retention over an edited row", () => {
  const temporary = makeTempHome('syndicate-retention-break-');
  const home = temporary.home;
  afterAll(() => temporary.cleanup());

  it('deletes nothing, says where the chain is broken and what to do; verify still names the row', async () => {
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    let edited = '';
    withStore(home, (store) => {
      edited = seedCompleted(store, { now: Date.now() - 100 * DAY });
      seedCompleted(store, { now: Date.now() - DAY });
      store.db.prepare('UPDATE evidence SET response_status = 599 WHERE id = ?').run(edited);
    });
    writeFileSync(join(home, 'policy.yaml'), 'apiVersion: syndicate/v1\nkind: Policy\nevidence:\n  retentionDays: 30\n', { mode: 0o600 });
    const { server, stderr, waitForStderr } = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
    await waitForStderr('evidence retention could not prune');
    expect(stderr()).toContain(`evidence retention could not prune: evidence chain broken at #1 (${edited}) (content changed) in the part to prune: nothing was deleted (tried again in 1d); deleting those rows would erase the only trace of the edit`);
    server.kill('SIGTERM');
    expect((await server).exitCode).toBe(0);
    const listed = parseJsonDocument((await runCli(['evidence', 'list', '--json'], { home })).stdout) as { evidence: unknown[] };
    expect(listed.evidence).toHaveLength(2);
    const verify = await runCli(['evidence', 'verify'], { home });
    expect(verify.exitCode).toBe(1);
    expect(verify.stderr).toContain(`evidence chain broken at #1 (${edited}): content changed`);
  });
});
