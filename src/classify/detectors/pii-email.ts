import type { Detector, DetectorMatch } from '../types.js';
import { maskEmail } from '../mask.js';

/**
 * `pii.email`: e-mail addresses -> confidential, including `example.com` ones (a prompt cannot
 * prove an address is fake). Not e-mail: `git@github.com:org/repo` (an SSH remote),
 * `package@1.2.3` (a version), `icon@2x.png` (an image variant), `user@localhost`.
 */
const LOCAL_CHARACTER = /[A-Za-z0-9._%+-]/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])/;
const FILE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'ico', 'js', 'mjs', 'ts', 'css', 'map', 'json', 'html']);

/** How far back from an address a URL's `://` is looked for (the address being its userinfo). */
const URL_REACH = 300;

/**
 * Where the run of text holding `start` begins: the last space or line break at or before it, or
 * URL_REACH characters back (-1: the text's start). Read backwards from `start` only that far: `lastIndexOf` read a
 * one-line text (minified JSON of records) back to its start for every address, quadratic in them.
 */
function runStartBefore(text: string, start: number): number {
  const limit = start - URL_REACH;
  for (let index = start; index > limit && index >= 0; index -= 1) {
    const character = text[index];
    if (character === ' ' || character === '\n') return index;
  }
  return Math.max(limit, -1);
}

export const emailDetector: Detector = {
  id: 'pii.email',
  scan(text) {
    const matches: DetectorMatch[] = [];
    let at = text.indexOf('@');
    while (at !== -1) {
      let start = at;
      while (start > 0 && at - start < 64 && LOCAL_CHARACTER.test(text[start - 1] as string)) start -= 1;
      while (start < at && /[.+-]/.test(text[start] as string)) start += 1;
      const domain = DOMAIN.exec(text.slice(at + 1, at + 256));
      if (start < at && domain !== null) {
        const domainText = domain[0];
        const end = at + 1 + domainText.length;
        const local = text.slice(start, at);
        const topLevel = domainText.slice(domainText.lastIndexOf('.') + 1).toLowerCase();
        const sshRemote = text[end] === ':' && /[^\s\d]/.test(text[end + 1] ?? ' ') && (local === 'git' || /^[\w.~-]*\//.test(text.slice(end + 1, end + 80)));
        const runStart = runStartBefore(text, start);
        const urlUserinfo = text.slice(runStart + 1, start).includes('://');
        const imageVariant = /^\d+(?:\.\d+)?x\./.test(domainText) || FILE_EXTENSIONS.has(topLevel);
        if (!sshRemote && !imageVariant && !urlUserinfo) {
          matches.push({
            detector: 'pii.email',
            level: 'confidential',
            reason: 'e-mail address',
            start,
            end,
            excerpt: maskEmail(text.slice(start, end)),
          });
        }
      }
      at = text.indexOf('@', at + 1);
    }
    return matches;
  },
};
