import { lstatSync, readlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Symbolic links followed before giving up on a chain (Linux's own limit, ELOOP). */
const MAXIMUM_LINKS_FOLLOWED = 40;

/**
 * Where following `path` leads when it is a symbolic link: each link's target in turn, resolved
 * to an absolute path (the last one is the file itself, or whatever the chain breaks at). Empty
 * when `path` is no link. A link that cannot be read ends the chain: its reader says what is wrong.
 */
export function linkTargets(path: string): string[] {
  const targets: string[] = [];
  let current = path;
  while (targets.length < MAXIMUM_LINKS_FOLLOWED) {
    try {
      if (!lstatSync(current).isSymbolicLink()) break;
      current = resolve(dirname(current), readlinkSync(current));
    } catch {
      break;
    }
    targets.push(current);
  }
  return targets;
}
