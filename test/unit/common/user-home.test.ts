/**
 * No home directory at all: `$HOME` unset and a uid with no password entry (a container run with an
 * arbitrary uid, `env -i`), where node's `os.homedir()` and `os.userInfo()` throw
 * "uv_os_homedir returned ENOENT" — mocked here, as the suite cannot drop its own password entry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runDoctor } from '../../../src/doctor/doctor.js';
import { engineDirectory, NODE_LLAMA_CPP_VERSION } from '../../../src/engines/runtime.js';
import { resolveHome } from '../../../src/home/home.js';

vi.mock('node:os', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:os')>();
  const noEntry = (): never => {
    throw Object.assign(new Error('A system error occurred: uv_os_homedir returned ENOENT (no such file or directory)'), { code: 'ERR_SYSTEM_ERROR' });
  };
  return { ...original, default: { ...original, homedir: noEntry, userInfo: noEntry }, homedir: noEntry, userInfo: noEntry };
});

afterEach(() => vi.unstubAllEnvs());

describe('no home directory (HOME unset, no password entry)', () => {
  it('the default home is a usage error naming what to set (it was an internal error, exit 70)', () => {
    expect(() => resolveHome({ env: {} })).toThrow(
      expect.objectContaining({
        exitCode: 2,
        code: 'usage',
        message: expect.stringMatching(/^no home directory: HOME is not set and user \d+ has no entry in the password database$/),
        hint: 'give --home DIR or set SYNDICATE_HOME (or HOME, or absolute XDG_DATA_HOME and XDG_CONFIG_HOME)',
      }),
    );
    expect(() => resolveHome({ env: { HOME: '' } })).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining('HOME is empty') }));
  });

  it('absolute XDG_DATA_HOME and XDG_CONFIG_HOME need none (the home directory was looked up first, and threw)', () => {
    expect(resolveHome({ env: { XDG_DATA_HOME: '/data', XDG_CONFIG_HOME: '/config' } })).toMatchObject({ dataDir: '/data/syndicate', configDir: '/config/syndicate' });
    expect(engineDirectory({ XDG_CACHE_HOME: '/cache' })).toBe(`/cache/syndicate/engine/node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
  });

  it("the embedded engine's directory is a usage error naming SYNDICATE_ENGINE_DIR; `doctor` warns of it and checks the rest", async () => {
    expect(() => engineDirectory({})).toThrow(expect.objectContaining({ exitCode: 2, hint: expect.stringContaining('SYNDICATE_ENGINE_DIR') }));
    vi.stubEnv('HOME', undefined);
    vi.stubEnv('XDG_CACHE_HOME', undefined);
    vi.stubEnv('SYNDICATE_ENGINE_DIR', undefined);
    const directory = mkdtempSync(join(tmpdir(), 'syndicate-no-home-'));
    try {
      const { checks } = await runDoctor(resolveHome({ home: directory }));
      expect(checks.find((check) => check.name === 'embedded engine')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('not looked for: no home directory: HOME is not set'),
        hint: expect.stringContaining('SYNDICATE_ENGINE_DIR'),
      });
      expect(checks.some((check) => check.name === 'store')).toBe(true);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
