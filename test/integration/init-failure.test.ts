import { execa } from 'execa';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, makeTempHome, parseJsonDocument, runCli, type CliResult } from '../helpers/cli.js';

/** Every path under `directory`, relative to it (directories end in `/`), sorted. */
function tree(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .map((entry) => `${join(entry.parentPath, entry.name).slice(directory.length + 1)}${entry.isDirectory() ? '/' : ''}`)
    .sort();
}

/** `init` with the XDG directories (no --home, no $SYNDICATE_HOME). */
function xdgInit(dataHome: string, configHome: string, user?: number): Promise<CliResult> {
  const env = { XDG_DATA_HOME: dataHome, XDG_CONFIG_HOME: configHome, SYNDICATE_HOME: undefined, HOME: join(dataHome, 'no-home') };
  if (user === undefined) return runCli(['--json', 'init'], { env });
  return execa('node', [BIN, '--json', 'init'], { env: { ...env, NO_COLOR: '1' }, uid: user, gid: user, reject: false, cwd: '/' }).then((result) => ({
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  }));
}

/** `syndicate init` that fails creates nothing: no key, token or policy beside a store it could not make, no directory. */
describe('syndicate init that fails', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  it('on a directory where the store should be: exit 6, and the home holds only what was there', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const store = join(temporary.home, 'syndicate.db');
    mkdirSync(store);
    const result = await runCli(['--json', 'init'], { home: temporary.home });
    expect(result.exitCode).toBe(6);
    expect(parseJsonDocument(result.stdout).error).toMatchObject({ code: 'store_failure', message: `the store ${store} is a directory, not a file` });
    expect(tree(temporary.home)).toEqual(['syndicate.db/']);
  });

  it('on a damaged store: exit 6, the store untouched and nothing beside it', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const store = join(temporary.home, 'syndicate.db');
    writeFileSync(store, 'not a database, and long enough for SQLite to look at its header\n'.repeat(4), { mode: 0o600 });
    const result = await runCli(['--json', 'init'], { home: temporary.home });
    expect(result.exitCode).toBe(6);
    expect(parseJsonDocument(result.stdout).error).toMatchObject({ code: 'store_failure', message: expect.stringContaining('SQLITE_NOTADB') });
    expect(tree(temporary.home)).toEqual(['syndicate.db']);
    expect(readFileSync(store, 'utf8')).toMatch(/^not a database/);
  });

  it('with the XDG directories: the config directory it made for policy.yaml is removed again', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const dataHome = join(temporary.home, 'data');
    const configHome = join(temporary.home, 'config');
    mkdirSync(join(dataHome, 'syndicate', 'syndicate.db'), { recursive: true });
    mkdirSync(configHome);
    const result = await xdgInit(dataHome, configHome);
    expect(result.exitCode).toBe(6);
    expect(parseJsonDocument(result.stdout).error).toMatchObject({ message: `the store ${join(dataHome, 'syndicate', 'syndicate.db')} is a directory, not a file` });
    expect(tree(temporary.home)).toEqual(['config/', 'data/', 'data/syndicate/', 'data/syndicate/syndicate.db/']);
  });

  it('when policy.yaml cannot be written (a read-only config directory): exit 6 naming it, and the store, key and token it had made are removed', async () => {
    const temporary = makeTempHome();
    cleanup = temporary.cleanup;
    const dataHome = join(temporary.home, 'data');
    const configDirectory = join(temporary.home, 'config', 'syndicate');
    mkdirSync(dataHome);
    mkdirSync(configDirectory, { recursive: true });
    // Root writes through any mode: as root, init runs as nobody, for whom the directory (root's, 0755) is read-only.
    const asNobody = process.getuid?.() === 0 ? 65534 : undefined;
    if (asNobody !== undefined) {
      for (const path of [temporary.home, dataHome, join(temporary.home, 'config')]) chownSync(path, asNobody, asNobody);
      chmodSync(configDirectory, 0o755);
    } else {
      chmodSync(configDirectory, 0o555);
    }
    const result = await xdgInit(dataHome, join(temporary.home, 'config'), asNobody);
    chmodSync(configDirectory, 0o755);
    expect(tree(temporary.home)).toEqual(['config/', 'config/syndicate/', 'data/']);
    expect(result.exitCode, result.stderr).toBe(6);
    expect(parseJsonDocument(result.stdout).error).toMatchObject({
      code: 'store_failure',
      message: expect.stringMatching(new RegExp(`^cannot write ${join(configDirectory, 'policy.yaml')}: EACCES`)),
    });
  });
});
