/** `resolveHome`: where syndicate keeps its files, from --home, $SYNDICATE_HOME or the XDG variables. */
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineDirectory, NODE_LLAMA_CPP_VERSION } from '../../../src/engines/runtime.js';
import { commandsForHome, resolveHome } from '../../../src/home/home.js';

describe('resolveHome', () => {
  it('ignores a relative XDG_DATA_HOME or XDG_CONFIG_HOME (invalid by the XDG Base Directory spec) and says which', () => {
    const home = resolveHome({ env: { HOME: '/home/me', XDG_DATA_HOME: 'data', XDG_CONFIG_HOME: '~/.config' } });
    expect(home).toMatchObject({ source: 'xdg', dataDir: '/home/me/.local/share/syndicate', configDir: '/home/me/.config/syndicate' });
    expect(home.ignoredVariables).toEqual([
      { name: 'XDG_DATA_HOME', value: 'data', usedInstead: '/home/me/.local/share' },
      { name: 'XDG_CONFIG_HOME', value: '~/.config', usedInstead: '/home/me/.config' },
    ]);
  });

  it('uses absolute XDG values; unset or empty ones mean the defaults, silently', () => {
    expect(resolveHome({ env: { HOME: '/home/me', XDG_DATA_HOME: '/data', XDG_CONFIG_HOME: '' } })).toMatchObject({
      dataDir: '/data/syndicate',
      configDir: '/home/me/.config/syndicate',
      ignoredVariables: [],
    });
  });

  it('resolves a relative $SYNDICATE_HOME or --home against the current directory; the XDG variables are not looked at then', () => {
    const env = { HOME: '/home/me', SYNDICATE_HOME: 'state', XDG_DATA_HOME: 'data' };
    expect(resolveHome({ env })).toMatchObject({ source: 'env', dataDir: resolve('state'), configDir: resolve('state'), ignoredVariables: [] });
    expect(resolveHome({ home: 'elsewhere', env })).toMatchObject({ source: 'flag', storePath: join(resolve('elsewhere'), 'syndicate.db'), ignoredVariables: [] });
  });
});

describe('resolveHome: an empty $HOME', () => {
  it("is not the current directory: the user's home from the password database, as os.homedir() takes it (the home was .local/share/syndicate under wherever the command ran)", () => {
    const home = resolveHome({ env: { HOME: '' } });
    expect(home).toMatchObject({ dataDir: join(userInfo().homedir, '.local', 'share', 'syndicate'), configDir: join(userInfo().homedir, '.config', 'syndicate') });
    expect(isAbsolute(home.storePath)).toBe(true);
    expect(engineDirectory({ HOME: '' })).toBe(join(userInfo().homedir, '.cache', 'syndicate', 'engine', `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`));
  });
});

describe('resolveHome: an empty $SYNDICATE_HOME', () => {
  it('is a usage error (exit 2), not the default home; --home given beside it wins', () => {
    expect(() => resolveHome({ env: { HOME: '/home/me', SYNDICATE_HOME: '' } })).toThrow(expect.objectContaining({ exitCode: 2, message: 'SYNDICATE_HOME is set but empty (""): it names no home' }));
    expect(resolveHome({ home: '/srv/home', env: { HOME: '/home/me', SYNDICATE_HOME: '' } })).toMatchObject({ source: 'flag', dataDir: '/srv/home' });
  });
});

describe('commandsForHome', () => {
  const flagHome = resolveHome({ home: "/srv/it's here" });
  const flag = `--home '/srv/it'\\''s here'`;

  it('inserts --home after every `syndicate` that starts a backquoted command, one shell word even with quotes or $ in the path', () => {
    const hint = 'run `syndicate init`, then `syndicate doctor && syndicate policy check`; token: `$(syndicate serve --print-token)`; `chmod 600 x`';
    expect(commandsForHome(hint, flagHome)).toBe(
      `run \`syndicate ${flag} init\`, then \`syndicate ${flag} doctor && syndicate ${flag} policy check\`; token: \`$(syndicate ${flag} serve --print-token)\`; \`chmod 600 x\``,
    );
    expect(commandsForHome('`syndicate doctor`', resolveHome({ home: '/a/$HOME/b' }))).toBe("`syndicate --home '/a/$HOME/b' doctor`");
  });

  it('leaves a command that names a home already, prose, and every hint under $SYNDICATE_HOME or XDG alone', () => {
    expect(commandsForHome('run `syndicate init --home /x`', flagHome)).toBe('run `syndicate init --home /x`');
    expect(commandsForHome('run `syndicate --home=/x doctor`', flagHome)).toBe('run `syndicate --home=/x doctor`');
    expect(commandsForHome('syndicate started it; point --home elsewhere', flagHome)).toBe('syndicate started it; point --home elsewhere');
    // Commands that read no home (the engine's binaries are per machine): --home would only mislead.
    expect(commandsForHome('run `syndicate engine install --force`', flagHome)).toBe('run `syndicate engine install --force`');
    expect(commandsForHome('e.g. from `syndicate engine make-test-model --out tiny.gguf`; `syndicate completion bash`', flagHome)).toBe(
      'e.g. from `syndicate engine make-test-model --out tiny.gguf`; `syndicate completion bash`',
    );
    expect(commandsForHome('`syndicate engine install --gpu cuda && syndicate engine serve --model m.gguf --register local`', flagHome)).toBe(
      `\`syndicate engine install --gpu cuda && syndicate ${flag} engine serve --model m.gguf --register local\``,
    );
    expect(commandsForHome('`syndicate engine installed`', flagHome)).toBe(`\`syndicate ${flag} engine installed\``);
    const once = commandsForHome('`syndicate doctor`', flagHome);
    expect(commandsForHome(once, flagHome)).toBe(once);
    expect(commandsForHome('run `syndicate init`', resolveHome({ env: { SYNDICATE_HOME: '/srv/home' } }))).toBe('run `syndicate init`');
    expect(commandsForHome('run `syndicate init`', resolveHome({ env: { HOME: '/home/me' } }))).toBe('run `syndicate init`');
  });
});
