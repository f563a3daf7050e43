import { userInfo } from 'node:os';
import { UsageError } from '../errors.js';

/**
 * The user's home directory, as `os.homedir()` finds it but from `env`: `$HOME` when set and not
 * empty, else the password database's entry for this user. An empty `$HOME` (`HOME=$UNSET` in a
 * unit file or a script) is not the current directory: joined as it is, `~/.local/share` became
 * `.local/share` under wherever the command ran. A user with no entry and no `$HOME` (a container
 * run with an arbitrary uid, `env -i`) has no home directory at all: a usage error with `hint`,
 * what names the directory instead, rather than node's "uv_os_homedir returned ENOENT" (exit 70).
 */
export function userHomeDirectory(env: Readonly<Record<string, string | undefined>>, hint: string): string {
  const home = env['HOME'];
  if (home !== undefined && home !== '') return home;
  try {
    return userInfo().homedir;
  } catch {
    const uid = typeof process.getuid === 'function' ? `user ${process.getuid()}` : 'this user';
    throw new UsageError(`no home directory: HOME is ${home === undefined ? 'not set' : 'empty'} and ${uid} has no entry in the password database`, { hint });
  }
}
