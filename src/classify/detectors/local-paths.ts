import type { Detector, DetectorMatch } from '../types.js';
import { maskPath } from '../mask.js';
import { casings, LiteralGate, matchesOf } from '../scan.js';

/**
 * `path.local`: paths into a home directory -> confidential. They carry the user's name and
 * point at private files: `/home/…`, `/Users/…` (also `/var/home/…`, WSL `/mnt/c/Users/…`),
 * `/root/…`, `C:\Users\…` (any drive, `\`, `\\` as in JSON, or `/`), `~/…`, `$HOME/…`,
 * `%USERPROFILE%\…`, and `file://` URLs of those.
 *
 * Decided NOT to flag system paths (`/etc/…`, `/usr/…`, `/var/log/…`, `/tmp/…`, `/opt/…`): they
 * name no person and appear in every tutorial ("add a line to /etc/hosts"); what a file under
 * them contains is caught by the other detectors. A path inside a web URL
 * (`https://example.com/home/about`) is not local either.
 *
 * Each alternative of HOME_PATH captures the home directory the path starts in (groups 1-4): what
 * a finding's excerpt shows.
 */
const HOME_PATH =
  /((?:\/(?:var|export|mnt\/[a-z]))?\/(?:home|Users|root)\/)[^\s"'<>|*?`]+|\b([A-Za-z]:(?:\\{1,2}|\/)(?:Users|Documents and Settings)(?:\\{1,2}|\/))[^\s"'<>|*?`]+|(~\/)[^\s"'<>|*?`]+|((?:\$HOME|\$\{HOME\}|%USERPROFILE%|%HOMEPATH%|\$env:USERPROFILE)[\\/])[^\s"'<>|*?`]*/gi;

const GATE = new LiteralGate([
  '/home/', '/Users/', '/root/', '~/', '$HOME', '${HOME}', '%USERPROFILE%', '%HOMEPATH%', '$env:USERPROFILE', 'Documents and Settings',
  ...casings(['users']).flatMap((users) => [`:\\${users}`, `:\\\\${users}`, `:/${users}`]),
]);

function precededByBoundary(text: string, start: number): boolean {
  const before = text[start - 1];
  if (before === undefined) return true;
  if (/[A-Za-z0-9_.~$%-]/.test(before)) return false;
  if (before === '/') return text.slice(Math.max(0, start - 7), start) === 'file://';
  return true;
}

export const localPathsDetector: Detector = {
  id: 'path.local',
  scan(text) {
    if (!GATE.any(text)) return [];
    const matches: DetectorMatch[] = [];
    for (const match of matchesOf(HOME_PATH, text)) {
      const start = match.index;
      if (!precededByBoundary(text, start)) continue;
      // `/home/` and `/Users/` are case-sensitive on the systems that have them; Windows is not.
      if (/^\/(?:var\/|export\/|mnt\/[a-z]\/)?(?:home|users|root)\//i.test(match[0]) && !/\/(?:home|Users|root)\//.test(match[0])) continue;
      const path = match[0].replace(/[.,;:!?)\]}]+$/, '');
      if (path.startsWith('~/') && path.length < 3) continue;
      matches.push({
        detector: 'path.local',
        level: 'confidential',
        reason: 'local file path in a home directory',
        start,
        end: start + path.length,
        excerpt: maskPath(match[1] ?? match[2] ?? match[3] ?? match[4] ?? ''),
      });
    }
    return matches;
  },
};
