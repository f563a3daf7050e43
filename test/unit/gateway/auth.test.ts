import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FILE_RECHECK_MS } from '../../../src/common/polled-file.js';
import { TokenGuard, type TokenChange } from '../../../src/gateway/auth.js';
import { GatewayRequestError } from '../../../src/gateway/errors.js';

const bearer = (token: string) => ({ header: (name: string) => (name === 'authorization' ? `Bearer ${token}` : undefined) });

/** The HTTP status and code the guard answers `token` with, or 'ok'. */
function verdict(guard: TokenGuard, token: string): string {
  try {
    guard.check(bearer(token));
    return 'ok';
  } catch (error) {
    if (!(error instanceof GatewayRequestError)) throw error;
    return `${error.clientError.kind} ${error.clientError.code}`;
  }
}

describe('TokenGuard following its token file', () => {
  let directory: string;
  let file: string;
  let clock: number;
  let changes: TokenChange[];
  let guard: TokenGuard;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-token-'));
    file = join(directory, 'gateway.token');
    writeFileSync(file, 'syn_old\n', { mode: 0o600 });
    clock = 0;
    changes = [];
    guard = new TokenGuard('syn_old', { file, now: () => clock, onChange: (change) => changes.push(change) });
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('accepts a rotated token only after the recheck interval (or checkNow), and the old one no more', () => {
    writeFileSync(`${file}.tmp`, 'syn_new\n', { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    clock += FILE_RECHECK_MS - 1;
    expect(verdict(guard, 'syn_old')).toBe('ok');
    clock += 1;
    expect(verdict(guard, 'syn_old')).toBe('authentication token_invalid');
    expect(verdict(guard, 'syn_new')).toBe('ok');
    expect(changes).toEqual([{ kind: 'reloaded', path: file }]);
    writeFileSync(file, 'syn_third\n', { mode: 0o600 });
    guard.checkNow();
    expect(verdict(guard, 'syn_third')).toBe('ok');
  });

  it('refuses every request (503, saying nothing of the file) while the token file is missing or empty, until a token is back', () => {
    rmSync(file);
    guard.checkNow();
    expect(verdict(guard, 'syn_old')).toBe('unavailable token_unavailable');
    expect(changes.at(-1)).toMatchObject({ kind: 'unavailable', reason: expect.stringContaining('was removed') });
    writeFileSync(file, '   \n', { mode: 0o600 });
    guard.checkNow();
    expect(verdict(guard, 'syn_old')).toBe('unavailable token_unavailable');
    expect(verdict(guard, '')).toBe('unavailable token_unavailable');
    expect(changes.at(-1)).toMatchObject({ kind: 'unavailable', reason: expect.stringContaining('is empty') });
    try {
      guard.check(bearer('syn_old'));
    } catch (error) {
      expect((error as Error).message).not.toContain(directory);
    }
    writeFileSync(file, 'syn_back\n', { mode: 0o600 });
    guard.checkNow();
    expect(verdict(guard, 'syn_back')).toBe('ok');
  });

  it('without a file keeps the token it was given', () => {
    const fixed = new TokenGuard('syn_fixed');
    expect(verdict(fixed, 'syn_fixed')).toBe('ok');
    expect(verdict(fixed, 'syn_other')).toBe('authentication token_invalid');
  });
});
