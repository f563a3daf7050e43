import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';

/**
 * Where the CLI puts its files without --home: the XDG directories, whose variables must be absolute
 * paths (a relative one is ignored, with a warning), or $SYNDICATE_HOME, which may be relative.
 */
describe('the data directory from the environment', () => {
  let temporary: { home: string; cleanup: () => void };
  let userHome: string;
  let workingDirectory: string;
  beforeEach(() => {
    temporary = makeTempHome();
    userHome = join(temporary.home, 'user');
    workingDirectory = join(temporary.home, 'project');
    mkdirSync(userHome);
    mkdirSync(workingDirectory);
  });
  afterEach(() => temporary.cleanup());

  const init = (env: Record<string, string | undefined>) =>
    runCli(['init', '--json'], { cwd: workingDirectory, env: { HOME: userHome, SYNDICATE_HOME: undefined, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined, ...env } });

  it('a relative XDG_DATA_HOME or XDG_CONFIG_HOME is ignored: the defaults under $HOME are used, nothing lands in the current directory, and each is named once on stderr', async () => {
    const result = await init({ XDG_DATA_HOME: 'data', XDG_CONFIG_HOME: './config' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(parseJsonDocument(result.stdout)).toMatchObject({
      ok: true,
      dataDir: join(userHome, '.local', 'share', 'syndicate'),
      configDir: join(userHome, '.config', 'syndicate'),
    });
    expect(readdirSync(workingDirectory)).toEqual([]);
    expect(result.stderr.split('\n').filter((line) => line !== '')).toEqual([
      `warning: ignoring XDG_DATA_HOME="data": the XDG Base Directory spec allows only an absolute path; using ${join(userHome, '.local', 'share')} instead (set an absolute path, or --home / $SYNDICATE_HOME, which may be relative to the current directory)`,
      `warning: ignoring XDG_CONFIG_HOME="./config": the XDG Base Directory spec allows only an absolute path; using ${join(userHome, '.config')} instead (set an absolute path, or --home / $SYNDICATE_HOME, which may be relative to the current directory)`,
    ]);
  });

  it('absolute XDG values are used, without a word', async () => {
    const result = await init({ XDG_DATA_HOME: join(temporary.home, 'data'), XDG_CONFIG_HOME: join(temporary.home, 'config') });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(parseJsonDocument(result.stdout)).toMatchObject({ dataDir: join(temporary.home, 'data', 'syndicate'), configDir: join(temporary.home, 'config', 'syndicate') });
  });

  it('a relative $SYNDICATE_HOME is resolved against the current directory, as before; the XDG variables are then not looked at', async () => {
    const result = await init({ SYNDICATE_HOME: 'state', XDG_DATA_HOME: 'data' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(parseJsonDocument(result.stdout)).toMatchObject({ dataDir: join(workingDirectory, 'state'), configDir: join(workingDirectory, 'state') });
    expect(readdirSync(workingDirectory)).toEqual(['state']);
  });

  it('an empty $SYNDICATE_HOME (`SYNDICATE_HOME=$UNSET_VARIABLE`) is a usage error naming the fix, not the default home; --home still wins over it', async () => {
    for (const value of ['', ' ']) {
      const result = await init({ SYNDICATE_HOME: value });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(parseJsonDocument(result.stdout)).toEqual({
        ok: false,
        error: {
          code: 'usage',
          message: `SYNDICATE_HOME is set but empty (${JSON.stringify(value)}): it names no home`,
          hint: 'set it to a directory, unset it (`unset SYNDICATE_HOME`) to use the XDG directories, or give --home DIR',
        },
      });
      // Nothing was created under the default home it used to fall back to.
      expect(readdirSync(userHome)).toEqual([]);
    }
    const flagged = await runCli(['--home', 'flagged', 'init', '--json'], { cwd: workingDirectory, env: { HOME: userHome, SYNDICATE_HOME: '' } });
    expect(flagged.exitCode, flagged.stderr).toBe(0);
    expect(readdirSync(workingDirectory)).toEqual(['flagged']);
  });
});
