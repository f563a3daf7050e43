/**
 * Who may replace or read the files syndicate trusts: the rules are pure functions of the mode,
 * the owner and the user, so the owner rule is tested here with an injected user id (the suite
 * may run as root, who owns everything it creates).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyndicateError } from '../../../src/errors.js';
import {
  checkGatewayToken,
  checkPermitKey,
  checkPolicyFile,
  directoryAccessProblem,
  privateFileAccessProblem,
} from '../../../src/home/checks.js';
import { resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { loadPermitKey } from '../../../src/permits/key.js';

const me = 1000;
const someoneElse = 1001;

describe('directoryAccessProblem', () => {
  it('passes a directory of yours that only you can use (what init creates: 0700)', () => {
    expect(directoryAccessProblem('/d', { mode: 0o700, uid: me }, me)).toBeUndefined();
    expect(directoryAccessProblem('/d', { mode: 0o755, uid: me }, me)).toBeUndefined();
  });

  it('fails a directory group or others can write: they could delete permit.key and plant their own', () => {
    for (const mode of [0o777, 0o770, 0o702, 0o1777]) {
      const problem = directoryAccessProblem('/d', { mode: mode & 0o777, uid: me }, me);
      expect(problem, mode.toString(8)).toMatchObject({ status: 'fail', detail: expect.stringContaining('can delete and replace'), hint: '`chmod 700 /d`' });
    }
  });

  it('fails a directory that belongs to another user, whatever its mode', () => {
    expect(directoryAccessProblem('/d', { mode: 0o700, uid: someoneElse }, me)).toMatchObject({
      status: 'fail',
      detail: '/d belongs to uid 1001, not to you (uid 1000): its owner can replace the permit key, policy and store in it',
    });
  });

  it('fails a directory you cannot write (a read-only data directory makes the store unwritable)', () => {
    expect(directoryAccessProblem('/d', { mode: 0o500, uid: me }, me)).toMatchObject({ status: 'fail', detail: expect.stringContaining('you cannot read, write and enter it'), hint: '`chmod 700 /d`' });
  });
});

describe('privateFileAccessProblem', () => {
  it('passes a 0600 file of yours', () => {
    for (const kind of ['secret', 'policy', 'store'] as const) expect(privateFileAccessProblem('/f', { mode: 0o600, uid: me }, me, kind)).toBeUndefined();
  });

  it('fails a file another user owns, even at 0600: they may have planted it', () => {
    for (const kind of ['secret', 'policy', 'store'] as const) {
      expect(privateFileAccessProblem('/f', { mode: 0o600, uid: someoneElse }, me, kind)).toMatchObject({ status: 'fail', detail: expect.stringContaining('belongs to uid 1001, not to you (uid 1000)') });
    }
    // The store holds the evidence chain: its owner problem is never fixed by deleting it.
    expect(privateFileAccessProblem('/f', { mode: 0o600, uid: someoneElse }, me, 'store')?.hint).toContain('do not delete it');
  });

  it('names a path with a space as one shell word in its hints, in backquotes or not; the detail shows it as it is', () => {
    const file = '/tmp/my home/policy.yaml';
    expect(directoryAccessProblem('/tmp/my home', { mode: 0o777, uid: me }, me)?.hint).toBe("`chmod 700 '/tmp/my home'`");
    expect(privateFileAccessProblem(file, { mode: 0o600, uid: someoneElse }, me, 'policy')).toMatchObject({
      detail: `${file} belongs to uid 1001, not to you (uid 1000): another user may have replaced it`,
      hint: "check its content; keep it as a copy of your own (`cp '/tmp/my home/policy.yaml' '/tmp/my home/policy.yaml'.new && mv '/tmp/my home/policy.yaml'.new '/tmp/my home/policy.yaml' && chmod 600 '/tmp/my home/policy.yaml'`) or delete it and run `syndicate init` for the default policy",
    });
    expect(privateFileAccessProblem('/tmp/my home/permit.key', { mode: 0o666, uid: me }, me, 'secret')?.hint).toBe(
      "`chmod 600 '/tmp/my home/permit.key'`; others could have replaced it: delete '/tmp/my home/permit.key' and run `syndicate init` to create a new one",
    );
  });

  it('fails any file group or others can write', () => {
    for (const kind of ['secret', 'policy', 'store'] as const) {
      expect(privateFileAccessProblem('/f', { mode: 0o620, uid: me }, me, kind)).toMatchObject({ status: 'fail', detail: '/f has mode 0620: its group can change it' });
    }
  });

  it('fails a secret or the store readable by others; a readable policy is only a warning', () => {
    expect(privateFileAccessProblem('/f', { mode: 0o644, uid: me }, me, 'secret')).toMatchObject({ status: 'fail' });
    expect(privateFileAccessProblem('/f', { mode: 0o640, uid: me }, me, 'store')).toMatchObject({ status: 'fail' });
    expect(privateFileAccessProblem('/f', { mode: 0o644, uid: me }, me, 'policy')).toMatchObject({ status: 'warn', hint: '`chmod 600 /f`' });
  });
});

describe('the file checks of a home', () => {
  let directory: string;
  let home: HomePaths;
  const uid = process.getuid?.() ?? 0;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-home-checks-'));
    home = resolveHome({ home: directory });
    initializeHome(home);
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('the permit key check fails exactly as the permit loader refuses: same message, same hint', () => {
    for (const content of ['', '\n', 'YWJj\n', 'not base64!\n']) {
      writeFileSync(home.permitKeyPath, content);
      let refusal: SyndicateError | undefined;
      try {
        loadPermitKey(home.permitKeyPath);
      } catch (error) {
        refusal = error as SyndicateError;
      }
      expect(refusal, JSON.stringify(content)).toBeInstanceOf(SyndicateError);
      const check = checkPermitKey(home.permitKeyPath, uid);
      expect(check.status, JSON.stringify(content)).toBe('fail');
      expect(check.detail).toContain(refusal?.message);
      expect(check.hint).toBe(refusal?.hint);
    }
    writeFileSync(home.permitKeyPath, 'YWJj\n');
    expect(checkPermitKey(home.permitKeyPath, uid).detail).toContain('the permit key has 3 bytes');
  });

  it('the gateway token check fails on an empty token as `serve` does', () => {
    writeFileSync(home.gatewayTokenPath, '\n');
    expect(checkGatewayToken(home.gatewayTokenPath, uid)).toMatchObject({ status: 'fail', detail: expect.stringContaining('is empty') });
  });

  it('the policy check warns on a readable policy that validates, and fails on one another user owns', () => {
    chmodSync(home.policyPath, 0o644);
    expect(checkPolicyFile(home.policyPath, uid)).toMatchObject({ status: 'warn', detail: expect.stringContaining('readable by group or others') });
    chmodSync(home.policyPath, 0o600);
    expect(checkPolicyFile(home.policyPath, uid + 1)).toMatchObject({ status: 'fail', detail: expect.stringContaining(`belongs to uid ${uid}, not to you`) });
  });
});
