/** `resolveHome`: where syndicate keeps its files, from --home, $SYNDICATE_HOME or the XDG variables. */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveHome } from '../../../src/home/home.js';

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
