/**
 * Who may replace or read the files syndicate trusts: the rules are pure functions of the mode,
 * the owner and the user, so the owner rule is tested here with an injected user id (the suite
 * may run as root, who owns everything it creates).
 */
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
import { GATEWAY_TOKEN_INSECURE, readGatewayToken, resolveHome, type HomePaths } from '../../../src/home/home.js';
import { initializeHome } from '../../../src/home/init.js';
import { TokenGuard } from '../../../src/gateway/auth.js';
import { loadPermitKey, PERMIT_KEY_INSECURE } from '../../../src/permits/key.js';
import { loadPolicy, POLICY_INSECURE } from '../../../src/policy/load.js';

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

/**
 * A file of the home may be a symbolic link (dotfiles managed elsewhere, a key kept on another
 * disk). The directory the link leads to must be as safe as the data directory: whoever can write
 * it can replace the file between the owner check and the read (or plant a link of their own there).
 */
describe('a file of the home that is a link', () => {
  let directory: string;
  let home: HomePaths;
  const uid = process.getuid?.() ?? 0;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-home-links-'));
    home = resolveHome({ home: join(directory, 'home') });
    initializeHome(home);
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  /** Moves the home's file at `path` into `elsewhere` (created with `mode`) and leaves a link to it in its place. */
  function linkInto(path: string, elsewhere: string, mode: number): string {
    mkdirSync(elsewhere, { recursive: true });
    chmodSync(elsewhere, mode);
    const target = join(elsewhere, 'file');
    renameSync(path, target);
    symlinkSync(target, path);
    return target;
  }

  const refusalCode = (load: () => unknown): string | undefined => {
    try {
      load();
    } catch (error) {
      return (error as SyndicateError).code;
    }
    return undefined;
  };

  it('into a directory others can write: the token, the permit key and the policy are refused, and doctor fails them', () => {
    const shared = join(directory, 'shared');
    linkInto(home.gatewayTokenPath, shared, 0o777);
    linkInto(home.permitKeyPath, join(directory, 'shared-key'), 0o770);
    linkInto(home.policyPath, join(directory, 'shared-policy'), 0o707);
    expect(refusalCode(() => readGatewayToken(home.gatewayTokenPath))).toBe(GATEWAY_TOKEN_INSECURE);
    expect(refusalCode(() => loadPermitKey(home.permitKeyPath))).toBe(PERMIT_KEY_INSECURE);
    expect(refusalCode(() => loadPolicy(home.policyPath))).toBe(POLICY_INSECURE);
    for (const check of [checkGatewayToken(home.gatewayTokenPath, uid), checkPermitKey(home.permitKeyPath, uid), checkPolicyFile(home.policyPath, uid)]) {
      expect(check).toMatchObject({ status: 'fail', detail: expect.stringMatching(/is a link to .* can delete and replace/) });
    }
  });

  it('a running gateway whose token file is a link refuses every request once the directory it leads to is opened to others', () => {
    const shared = join(directory, 'token-directory');
    const token = readGatewayToken(home.gatewayTokenPath);
    linkInto(home.gatewayTokenPath, shared, 0o700);
    const changes: string[] = [];
    const guard = new TokenGuard(token, { file: home.gatewayTokenPath, onChange: (change) => changes.push(change.kind) });
    const headers = { header: (name: string) => (name === 'authorization' ? `Bearer ${token}` : undefined) };
    guard.check(headers);
    chmodSync(shared, 0o777);
    guard.checkNow();
    expect(changes).toEqual(['unavailable']);
    expect(() => guard.check(headers)).toThrow(/accepts no token right now/);
  });

  it('through a chain of links, any of whose directories others can write: refused', () => {
    const own = join(directory, 'own');
    const target = linkInto(home.permitKeyPath, own, 0o700);
    const shared = join(directory, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    // home/permit.key -> shared/hop -> own/file: the file and the first directory are safe, the hop is not.
    rmSync(home.permitKeyPath);
    symlinkSync(target, join(shared, 'hop'));
    symlinkSync(join(shared, 'hop'), home.permitKeyPath);
    expect(refusalCode(() => loadPermitKey(home.permitKeyPath))).toBe(PERMIT_KEY_INSECURE);
    expect(checkPermitKey(home.permitKeyPath, uid)).toMatchObject({ status: 'fail', detail: expect.stringContaining(`is a link to ${join(shared, 'hop')}`) });
  });

  it('into a directory only you can write: used as the file itself', () => {
    linkInto(home.gatewayTokenPath, join(directory, 'own-token'), 0o700);
    linkInto(home.permitKeyPath, join(directory, 'own-key'), 0o755);
    expect(readGatewayToken(home.gatewayTokenPath)).toMatch(/^syn_/);
    expect(() => loadPermitKey(home.permitKeyPath)).not.toThrow();
    expect(checkGatewayToken(home.gatewayTokenPath, uid).status).toBe('pass');
    expect(checkPermitKey(home.permitKeyPath, uid).status).toBe('pass');
  });
});
