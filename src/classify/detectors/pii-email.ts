import type { Detector, DetectorMatch } from '../types.js';
import { maskEmail } from '../mask.js';
import { matchesOf } from '../scan.js';

/**
 * `pii.email`: e-mail addresses -> confidential, including `example.com` ones (a prompt cannot
 * prove an address is fake). Not e-mail: `git@github.com:org/repo` (an SSH remote),
 * `package@1.2.3` (a version), `icon@2x.png` (an image variant), `user@localhost`.
 *
 * Also addresses written out so a scraper misses them but a model reads them: `jane.doe (at)
 * example (dot) com`, `jane[at]example[dot]com`, `jane{at}example.com` (any brackets, any case),
 * and `jane at example dot com` when it is clearly an address: the last label after ` dot ` is a
 * top-level domain of OBFUSCATED_TLDS and no word of it is prose's (`look at the example dot com`,
 * `arrive at noon dot com` are not).
 */

/** `[A-Za-z0-9._%+-]`, by character code: read up to 64 times for each `@`. */
function isLocalCharacter(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 46 || code === 95 || code === 37 || code === 43 || code === 45;
}
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

/** Whether a `://` lies in the run of text before the address at `start` (the address being a URL's userinfo), read in place rather than sliced out. */
function urlUserinfoAt(text: string, start: number): boolean {
  for (let index = runStartBefore(text, start) + 1; index + 3 <= start; index += 1) {
    if (text.charCodeAt(index) === 58 && text.charCodeAt(index + 1) === 47 && text.charCodeAt(index + 2) === 47) return true;
  }
  return false;
}

export const emailDetector: Detector = {
  id: 'pii.email',
  scan(text) {
    const matches: DetectorMatch[] = [];
    let at = text.indexOf('@');
    while (at !== -1) {
      let start = at;
      while (start > 0 && at - start < 64 && isLocalCharacter(text.charCodeAt(start - 1))) start -= 1;
      while (start < at && /[.+-]/.test(text[start] as string)) start += 1;
      const domain = DOMAIN.exec(text.slice(at + 1, at + 256));
      if (start < at && domain !== null) {
        const domainText = domain[0];
        const end = at + 1 + domainText.length;
        const local = text.slice(start, at);
        const topLevel = domainText.slice(domainText.lastIndexOf('.') + 1).toLowerCase();
        const sshRemote = text[end] === ':' && /[^\s\d]/.test(text[end + 1] ?? ' ') && (local === 'git' || /^[\w.~-]*\//.test(text.slice(end + 1, end + 80)));
        const imageVariant = /^\d+(?:\.\d+)?x\./.test(domainText) || FILE_EXTENSIONS.has(topLevel);
        if (!sshRemote && !imageVariant && !urlUserinfoAt(text, start)) {
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
    obfuscatedEmails(text, matches);
    return matches;
  },
};

/**
 * The gate of the written-out forms: an `at` closed by a bracket (`(at)`, `[ at ]`, `{AT}`,
 * `<at>`) or a word `dot`. One expression: a LiteralGate of their spellings pivots on `d`, `)`
 * and `T`, common characters, and cost three times as much (2.1 against 0.7 ms per MB of mixed text).
 */
const OBFUSCATION_GATE = /\b(?:at|AT|At) ?[)\]}>]|\b(?:dot|DOT|Dot)\b/;
const LABEL = String.raw`[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`;
const BRACKETED_AT = String.raw`\s?[([{<]\s?at\s?[)\]}>]\s?`;
const BRACKETED_DOT = String.raw`\s?[([{<]\s?dot\s?[)\]}>]\s?`;
/** `local (at) domain`, the domain's dots as written or written out. */
const BRACKETED = new RegExp(String.raw`(?<![A-Za-z0-9._%+-])(?<local>[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9])?)${BRACKETED_AT}(?<domain>${LABEL}(?:(?:\.|${BRACKETED_DOT}|\s+dot\s+)${LABEL}){1,4})(?![A-Za-z0-9-])`, 'gi');
/** `local at domain dot tld`: the `@` as a bare word, every dot written out. */
const SPELLED = new RegExp(String.raw`(?<![A-Za-z0-9._%+-])(?<local>[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9])?)\s+at\s+(?<domain>${LABEL}(?:(?:${BRACKETED_DOT}|\s+dot\s+)${LABEL}){1,4})(?![A-Za-z0-9-])`, 'gi');
const WRITTEN_DOT = new RegExp(String.raw`${BRACKETED_DOT}|\s+dot\s+`, 'gi');
/** The top-level domains a spelled-out address (`at … dot …`) is read with: the common generic ones and the largest countries'. */
const OBFUSCATED_TLDS = new Set([
  'com', 'org', 'net', 'edu', 'gov', 'mil', 'int', 'io', 'co', 'ai', 'dev', 'app', 'info', 'biz', 'me', 'us', 'uk', 'de', 'fr', 'es',
  'it', 'nl', 'be', 'ch', 'at', 'se', 'no', 'dk', 'fi', 'pl', 'cz', 'pt', 'ie', 'ca', 'au', 'nz', 'jp', 'cn', 'in', 'br', 'mx', 'ru', 'eu',
]);
/** Words that are prose around ` at `, never an address's local part or domain label (`look at the example dot com`). */
const PROSE_WORDS = new Set([
  'the', 'a', 'an', 'this', 'that', 'my', 'your', 'our', 'his', 'her', 'their', 'its', 'look', 'looking', 'looked', 'is', 'are', 'was', 'were',
  'be', 'been', 'me', 'us', 'him', 'them', 'it', 'we', 'you', 'they', 'i', 'he', 'she', 'arrive', 'arrived', 'stay', 'stayed', 'meet', 'work',
  'works', 'worked', 'live', 'lives', 'lived', 'and', 'or', 'but', 'not', 'least', 'all', 'once', 'first', 'last', 'home', 'noon', 'night', 'least',
  'point', 'time', 'end', 'start', 'top', 'bottom', 'least', 'most', 'best', 'which', 'what', 'where', 'there', 'here', 'now', 'then', 'still', 'only',
  'even', 'just', 'also', 'up', 'down', 'out', 'in', 'on', 'of', 'to', 'for', 'from', 'by', 'with', 'as', 'so', 'if', 'no', 'yes', 'one', 'two',
]);

function obfuscatedEmails(text: string, matches: DetectorMatch[]): void {
  if (!OBFUSCATION_GATE.test(text)) return;
  for (const [pattern, spelled] of [[BRACKETED, false], [SPELLED, true]] as const) {
    for (const match of matchesOf(pattern, text)) {
      const local = match.groups?.local ?? '';
      const labels = (match.groups?.domain ?? '').split(WRITTEN_DOT).flatMap((part) => part.split('.'));
      const topLevel = (labels.at(-1) ?? '').toLowerCase();
      if (!/^[a-z]{2,24}$/.test(topLevel) || FILE_EXTENSIONS.has(topLevel)) continue;
      if (spelled && (!OBFUSCATED_TLDS.has(topLevel) || [local, ...labels.slice(0, -1)].some((word) => PROSE_WORDS.has(word.toLowerCase())))) continue;
      const start = match.index;
      const end = start + match[0].length;
      if (matches.some((known) => known.start < end && known.end > start)) continue;
      matches.push({
        detector: 'pii.email',
        level: 'confidential',
        reason: 'e-mail address written out (`at`, `dot`)',
        start,
        end,
        excerpt: maskEmail(`${local}@${labels.join('.')}`),
      });
    }
  }
}
