/** `doctor` on a home whose files another user could have replaced, and on a store it cannot open. */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doctorFailure, runDoctor, storeOpenFailure, type DoctorCheck } from '../../../src/doctor/doctor.js';
import { StoreError } from '../../../src/errors.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { openStore, storeErrorFrom } from '../../../src/store/store.js';
import { registerReferenceProvider } from '../metrics/seed.js';

let directory: string;
let home: HomePaths;
const uid = process.getuid?.() ?? 0;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-doctor-'));
  home = resolveHome({ home: directory });
  initializeHome(home);
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const failed = (checks: { name: string; status: string }[]): string[] => checks.filter((check) => check.status === 'fail').map((check) => check.name);

describe('runDoctor', () => {
  // The end-to-end doctor runs (777 directory, short key, passing home) are in test/integration/cli-basics.test.ts.
  it('fails every directory and file that is not the current user’s (injected: the suite may run as root)', async () => {
    const { checks } = await runDoctor(home, { userId: uid + 1 });
    expect(failed(checks)).toEqual(['data directory', 'permit key', 'gateway token', 'policy file', 'store file permissions']);
    expect(checks.find((check) => check.name === 'permit key')).toMatchObject({ detail: expect.stringContaining(`belongs to uid ${uid}, not to you (uid ${uid + 1})`) });
  });

  it('a home that does not exist: each missing file names the init that creates this home, not the default one', async () => {
    const missing = join(directory, 'not yet');
    const byFlag = await runDoctor(resolveHome({ home: missing }));
    expect(failed(byFlag.checks)).toEqual(['data directory', 'permit key', 'gateway token', 'policy file', 'store']);
    for (const check of byFlag.checks.filter((found) => found.status === 'fail')) {
      expect(check.hint, check.name).toBe(`run \`syndicate init --home '${missing}'\``);
    }
    // $SYNDICATE_HOME is read again by a bare `syndicate init` in the same environment.
    const byEnvironment = await runDoctor(resolveHome({ env: { SYNDICATE_HOME: missing } }));
    expect(byEnvironment.checks.find((check) => check.name === 'store')?.hint).toBe('run `syndicate init`');
  });
});

describe('runDoctor and the embedded engine', () => {
  const previous = process.env['SYNDICATE_ENGINE_DIR'];
  afterEach(() => {
    if (previous === undefined) delete process.env['SYNDICATE_ENGINE_DIR'];
    else process.env['SYNDICATE_ENGINE_DIR'] = previous;
  });

  it('warns about the download a killed `engine install` left, naming it, and leaves it (only `engine install` removes it)', async () => {
    const engineDirectory = join(directory, 'engine');
    process.env['SYNDICATE_ENGINE_DIR'] = engineDirectory;
    const named = (checks: { name: string }[]): unknown => checks.find((check) => check.name === 'embedded engine downloads');
    expect(named((await runDoctor(home)).checks)).toBeUndefined();

    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const scratch = `${engineDirectory}.installing-${dead}`;
    mkdirSync(scratch);
    writeFileSync(join(scratch, '.syndicate-installer.json'), JSON.stringify({ pid: dead, host: hostname() }));
    const { checks } = await runDoctor(home);
    expect(named(checks)).toEqual({
      name: 'embedded engine downloads',
      status: 'warn',
      detail: `left by an \`engine install\` that was killed before it finished: ${scratch}`,
      hint: 'run `syndicate engine install`, which removes them first, or delete them',
    });
    expect(existsSync(scratch)).toBe(true);
  });
});

describe('runDoctor on a store file others could read or write', () => {
  const check = (checks: { name: string }[]): unknown => checks.find((found) => found.name === 'store file permissions');

  it('reports what it found and what it did (warn: had mode 0644, set to 0600); the next run passes', async () => {
    chmodSync(home.storePath, 0o644);
    const { checks } = await runDoctor(home);
    expect(failed(checks)).toEqual([]);
    expect(check(checks)).toMatchObject({
      status: 'warn',
      detail: `${home.storePath} had mode 0644: group or others could read the prompts and responses in it; syndicate set it to 0600`,
    });
    expect(statSync(home.storePath).mode & 0o777).toBe(0o600);
    expect(check((await runDoctor(home)).checks)).toMatchObject({ status: 'pass', detail: `0600 ${home.storePath}` });
  });

  it('a store others could write is set to 0600 too, with the hint to verify the evidence', async () => {
    chmodSync(home.storePath, 0o662);
    expect(check((await runDoctor(home)).checks)).toMatchObject({
      status: 'warn',
      detail: `${home.storePath} had mode 0662: group and others could change it; syndicate set it to 0600`,
      hint: expect.stringContaining('syndicate evidence verify --from'),
    });
  });
});

describe('storeOpenFailure', () => {
  const forbidden = /move it aside|delete it and|run `syndicate init`/;

  it('a read-only directory (SQLITE_READONLY_DIRECTORY) is a permissions problem named with its path, never a reason to move the store aside', () => {
    const sqliteError = new Database.SqliteError('attempt to write a readonly database', 'SQLITE_READONLY_DIRECTORY');
    const check = storeOpenFailure(storeErrorFrom(sqliteError, 'store open failed', home.storePath));
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('SQLITE_READONLY_DIRECTORY');
    expect(check.hint).toContain(`the store ${home.storePath} or its directory ${directory} is not writable by this user`);
    expect(check.hint).toContain(`chmod 700 ${directory}`);
    expect(check.hint).not.toMatch(forbidden);
  });

  it('EACCES and EPERM from the file system (a store of another user) are permissions problems too', () => {
    for (const code of ['EACCES', 'EPERM']) {
      const systemError = Object.assign(new Error(`${code}: operation not permitted, chmod '${home.storePath}'`), { code });
      const failure = storeErrorFrom(systemError, 'store open failed', home.storePath);
      expect(failure).toBeInstanceOf(StoreError);
      expect((failure as StoreError).reason).toBe('access');
      expect(storeOpenFailure(failure).hint).not.toMatch(forbidden);
    }
  });

  it('a damaged store may be restored or moved aside (and kept)', () => {
    const sqliteError = new Database.SqliteError('file is not a database', 'SQLITE_NOTADB');
    expect(storeOpenFailure(storeErrorFrom(sqliteError, 'store open failed', home.storePath)).hint).toMatch(/restore it from a backup; without one, move it aside \(keep it/);
  });
});

describe('savings reference', () => {
  /** Registers `cloud` (a priced model `reference`, an unpriced one) in the home's store and writes a policy whose savings are `savings`. */
  async function homeWithSavings(savings: string): Promise<void> {
    const store = openStore(home.storePath, { mustExist: true });
    try {
      await registerReferenceProvider(store, { inputPerMTok: 1, outputPerMTok: 4 });
    } finally {
      store.close();
    }
    writeFileSync(home.policyPath, `apiVersion: syndicate/v1\nkind: Policy\nsavings: ${savings}\n`, { mode: 0o600 });
  }
  const savingsCheck = async (): Promise<DoctorCheck | undefined> => (await runDoctor(home)).checks.find((check) => check.name === 'savings reference');

  it('a reference named without rates that no registered model prices is a warning naming why and the fix, not a failure', async () => {
    const hint = `in ${home.policyPath}, give savings.inputPerMTok and savings.outputPerMTok, or name a registered provider:model that has a price`;
    const builtIn = '`metrics` prices local tokens at the built-in rates ($2/$10 per MTok in/out)';
    await homeWithSavings('{referenceModel: "clud:reference"}');
    expect(await savingsCheck()).toEqual({
      name: 'savings reference',
      status: 'warn',
      detail: `savings.referenceModel clud:reference has no price metrics can use: no registered provider is "clud" (did you mean "cloud"?); ${builtIn}`,
      hint,
    });
    await homeWithSavings('{referenceModel: "cloud:referense"}');
    expect((await savingsCheck())?.detail).toContain('provider cloud declares no model "referense" (did you mean "reference"?)');
    await homeWithSavings('{referenceModel: "cloud:unpriced"}');
    expect((await savingsCheck())?.detail).toContain("cloud's record gives model unpriced no price");
    await homeWithSavings('{referenceModel: "claude-sonnet"}');
    expect((await savingsCheck())?.detail).toContain('it is not of the form provider:model');
  });

  it('a registered priced reference, or a reference with rates of its own (a label then), is no warning', async () => {
    await homeWithSavings('{referenceModel: "cloud:reference"}');
    expect(await savingsCheck()).toBeUndefined();
    await homeWithSavings('{referenceModel: "elsewhere:model", inputPerMTok: 3, outputPerMTok: 15}');
    expect(await savingsCheck()).toBeUndefined();
  });
});

describe('doctorFailure', () => {
  const pass: DoctorCheck = { name: 'node version', status: 'pass', detail: 'v20.20.2' };
  const warn: DoctorCheck = { name: 'policy references', status: 'warn', detail: 'x', hint: 'fix the provider id' };

  it('nothing failed (warnings are no failure): no error', () => {
    expect(doctorFailure([pass, warn])).toBeUndefined();
  });

  it('one failed check: its name and its own hint, as before', () => {
    expect(doctorFailure([pass, { name: 'store', status: 'fail', detail: 'integrity check: bad', hint: 'restore the store from a backup' }])).toEqual({
      message: '1 of 2 checks failed: store',
      hint: 'restore the store from a backup',
    });
  });

  it('several failed: how many and each by name; one line per hint, naming the checks it fixes; a failed check without a hint is named, not hinted', () => {
    const failure = doctorFailure([
      pass,
      { name: 'permit key', status: 'fail', detail: 'missing', hint: 'run `syndicate init`' },
      { name: 'engine llama', status: 'fail', detail: 'connection refused', hint: 'start it: `syndicate engine start llama`' },
      warn,
      { name: 'gateway token', status: 'fail', detail: 'missing', hint: 'run `syndicate init`' },
      { name: 'odd', status: 'fail', detail: 'no fix known' },
    ]);
    expect(failure).toEqual({
      message: '4 of 6 checks failed: permit key, engine llama, gateway token, odd',
      hint: ['for each failed check:', '  permit key, gateway token: run `syndicate init`', '  engine llama: start it: `syndicate engine start llama`'].join('\n'),
    });
  });

  it('several failed with one hint between them (a home not yet initialised): that hint alone; none with a hint: no hint', () => {
    const missing = (name: string): DoctorCheck => ({ name, status: 'fail', detail: 'missing', hint: 'run `syndicate init`' });
    expect(doctorFailure([missing('permit key'), missing('store')])).toEqual({ message: '2 of 2 checks failed: permit key, store', hint: 'run `syndicate init`' });
    // One hint, but a check failed without one: the hint names its checks.
    expect(doctorFailure([missing('store'), { name: 'odd', status: 'fail', detail: 'x' }])?.hint).toBe('for each failed check:\n  store: run `syndicate init`');
    expect(doctorFailure([{ name: 'odd', status: 'fail', detail: 'x' }])).toEqual({ message: '1 of 1 check failed: odd' });
  });
});
