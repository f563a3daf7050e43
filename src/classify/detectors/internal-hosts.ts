import type { Detector, DetectorMatch } from '../types.js';
import { matchesOf } from '../scan.js';

/**
 * `network.internal-host` and `network.private-address`: names and addresses of the operator's own
 * network -> internal. They tell whoever receives them how that network is laid out (`db1.prod.corp`,
 * `http://10.20.0.5:8080/`), which a hosted provider the policy trusts only with public data should
 * not learn; they name no person and open nothing by themselves, so they are not confidential
 * (home-directory paths are: they carry the user's name).
 *
 * Host names under the zones that never resolve on the public internet: `.internal`, `.corp`,
 * `.lan`, `.intranet`, `.home.arpa` and mDNS `.local`. `.corp`, `.intranet` and `.home.arpa` count
 * wherever such a name stands; `.internal`, `.lan` and `.local` also end code's names
 * (`com.acme.internal`, `this.lan`, `settings.local`, `.env.local`), so there a name counts where
 * only a host stands — in a URL (`https://wiki.lan/`), with a port (`nas.local:5000`), after a user
 * (`admin@bastion.internal`), in a UNC path (`\\files.lan\share`) — or when a label of it has a
 * digit or a hyphen, as host names do and code's names do not (`ip-10-0-1-5.ec2.internal`), or
 * when two labels or more before the zone stand in a sentence as a host does (see `hostInProse`).
 * Zones are read in any case (`ACME.CORP`); a name of capitalised words only (`Acme.Corp`, a .NET
 * namespace) only where a host stands.
 *
 * Addresses of private networks — RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), shared address
 * space (`100.64/10`: tailnets), IPv4 link-local (`169.254/16`), IPv6 unique local (`fc00::/7`)
 * and link-local (`fe80::/10`) — only as a host: in a URL, with a port or after a user. A bare
 * `10.1.2.3` is as often a version number.
 *
 * Not reported: loopback (`localhost`, `127.0.0.1`, `[::1]`: every developer's prompt has them,
 * and they say nothing of a network), and names and addresses that are the same on every machine
 * and in every tutorial: `host.docker.internal` and the other Docker and Podman names,
 * `metadata.google.internal` and `169.254.169.254` (cloud metadata services),
 * `kubernetes.default.svc.cluster.local`.
 */
const ZONE = /\.(?:internal|corp|lan|intranet|local|home\.arpa)(?![\w-]|\.[A-Za-z0-9])/gi;
const IPV4 = /(?<![\w.])(?:10|172|192|100|169)\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w-]|\.[\w-])/g;
/** A bracketed IPv6 address of a private network, read where a URL (`://[`) or a port (`]:`) says a host stands. */
const IPV6 = /^\[(?:f[c-d]|fe[89ab])[0-9a-f]{0,2}:[0-9a-f:.]*(?:%[\w.-]+)?\]$/i;

/** Zones whose names are also the end of code's names: a name there needs a host's context or shape. */
const AMBIGUOUS_ZONES = new Set(['internal', 'lan', 'local']);
const WELL_KNOWN = new Set([
  'host.docker.internal',
  'gateway.docker.internal',
  'kubernetes.docker.internal',
  'host.containers.internal',
  'metadata.google.internal',
  'kubernetes.default.svc.cluster.local',
  'svc.cluster.local',
]);
/**
 * First labels of code's dotted names that end like a zone: a receiver (`this.state.internal`,
 * `chrome.storage.local`, `self.cache.local`) or the top-level domain a Java or Kotlin package
 * name starts with (`org.example.internal`, `io.ktor.util.internal`).
 */
const CODE_FIRST_LABELS = new Set(['this', 'self', 'cls', 'super', 'window', 'document', 'globalthis', 'global', 'process', 'chrome', 'browser', 'navigator', 'module', 'exports', 'os', 'sys', 'com', 'org', 'net', 'io', 'edu', 'gov', 'dev', 'app', 'me']);
/** What may stand right before a host named in prose: white space, a quote, an opening parenthesis, Markdown's emphasis (not `[`: an array's). */
const PROSE_BEFORE = /^[\s"'`(<*_]?$/;
/** What may follow it: white space, a sentence's punctuation, a closing quote, parenthesis or bracket, Markdown's emphasis. */
const PROSE_AFTER = /^[\s"'`)>\],.:!?*_]?$/;
/** An operator after it (`a.b.local + 1`, `x.y.internal = …`, `… ? … :`), or a keyword before it (`return a.b.local`): an expression's. */
const OPERATOR_AFTER = /^[ \t]*(?:[=+*/%&|^<>]|\?[ \t])/;
const KEYWORD_BEFORE = /\b(?:return|typeof|await|yield|new|delete|import|package|using|namespace)[ \t]+$/;

const HOST_CHARACTER = /[A-Za-z0-9.-]/;

/** Whether what precedes `start` makes the text from there a host: a URL's `//`, a UNC `\\`, or a user's `@`. */
function hostBefore(text: string, start: number): boolean {
  const before = text[start - 1];
  if (before === '@') return true;
  if (before === '/' || before === '\\') return text[start - 2] === before;
  return false;
}

/** Whether a port follows `end` (`:8080`). */
function portAfter(text: string, end: number): boolean {
  return text[end] === ':' && /\d/.test(text[end + 1] ?? '');
}

function privateNetwork(octets: readonly number[]): string | undefined {
  const [a = 0, b = 0] = octets;
  if (octets.some((octet) => octet > 255)) return undefined;
  if (a === 10) return '10.0.0.0/8';
  if (a === 172 && b >= 16 && b <= 31) return '172.16.0.0/12';
  if (a === 192 && b === 168) return '192.168.0.0/16';
  if (a === 100 && b >= 64 && b <= 127) return '100.64.0.0/10';
  if (a === 169 && b === 254 && octets.join('.') !== '169.254.169.254') return '169.254.0.0/16';
  return undefined;
}

/** The longest bracketed address read (`[` to `]` included). */
const BRACKETED_LIMIT = 64;

/** The last `[` at or before `at` that would make a bracketed span ending at `at + 1` at most `limit` long; -1 when there is none. */
function bracketBefore(text: string, at: number, limit: number): number {
  for (let index = at; index >= 0 && at + 1 - index <= limit; index -= 1) if (text[index] === '[') return index;
  return -1;
}

/**
 * Whether a name under `.internal`, `.lan` or `.local` whose labels have neither a digit nor a
 * hyphen (`labels`: the name before its zone) stands in prose as a host: two labels or more
 * before the zone (`db.prod.internal`, `api.svc.cluster.local`; with one it is code's
 * `settings.local` as often), written in one case as host names are (not camelCase), its first
 * label no receiver or package domain of code's (see `CODE_FIRST_LABELS`), and standing as a
 * word of a sentence does: after white space, a quote or a parenthesis, before white space or a
 * sentence's punctuation (not `(`, `[`, `;`: a call, an index, a statement), with no operator
 * after it and no keyword of code before it (`summary.requests.local + 1`, `return opts.cache.local`).
 */
function hostInProse(text: string, start: number, end: number, labels: string): boolean {
  const parts = labels.split('.');
  if (parts.length < 2 || CODE_FIRST_LABELS.has((parts[0] as string).toLowerCase())) return false;
  const name = text.slice(start, end);
  if (name !== name.toLowerCase() && name !== name.toUpperCase()) return false;
  // A parenthesis glued to a word before it is a call's (`f(db.prod.internal)`).
  if (text[start - 1] === '(' && /\w/.test(text[start - 2] ?? '')) return false;
  if (!PROSE_BEFORE.test(text.slice(Math.max(0, start - 1), start)) || !PROSE_AFTER.test(text.slice(end, end + 1))) return false;
  return !OPERATOR_AFTER.test(text.slice(end, end + 8)) && !KEYWORD_BEFORE.test(text.slice(Math.max(0, start - 16), start));
}

export const internalHostsDetector: Detector = {
  id: 'network',
  scan(text) {
    const matches: DetectorMatch[] = [];
    for (const match of matchesOf(ZONE, text)) {
      const zoneEnd = match.index + match[0].length;
      let start = match.index;
      while (start > 0 && HOST_CHARACTER.test(text[start - 1] as string)) start -= 1;
      const name = text.slice(start, zoneEnd);
      // A name's labels start with a letter or digit: `.env.local`, `-x.lan` and `a..corp` are not hosts.
      if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z.]+$/.test(name) || /[$%]/.test(text[start - 1] ?? '')) continue;
      if (WELL_KNOWN.has(name.toLowerCase())) continue;
      const zone = match[0].slice(1).toLowerCase();
      const hostContext = hostBefore(text, start) || portAfter(text, zoneEnd);
      const labels = name.slice(0, name.length - match[0].length);
      // Each label a capitalised word (`Acme.Corp`, `Microsoft.Extensions.Internal`): a .NET namespace or a class's member, not a host.
      if (!hostContext && name.split('.').every((label) => /^(?:[A-Z][a-z0-9]+)+$/.test(label))) continue;
      const hostShape = /[\d-]/.test(labels);
      if (AMBIGUOUS_ZONES.has(zone) && !hostContext && !hostShape && !hostInProse(text, start, zoneEnd, labels)) continue;
      // Glued to a path or identifier on the left (`/opt/app.lan`, `x$a.corp`): not a host on its own.
      if (!hostContext && /[\w/\\]/.test(text[start - 1] ?? '')) continue;
      matches.push({
        detector: 'network.internal-host',
        level: 'internal',
        reason: `internal host name (.${zone}): names a host of the operator's network`,
        start,
        end: zoneEnd,
        excerpt: `…${match[0]}`,
      });
    }
    for (const match of matchesOf(IPV4, text)) {
      const network = privateNetwork(match[0].split('.').map(Number));
      const end = match.index + match[0].length;
      if (network === undefined || !(hostBefore(text, match.index) || portAfter(text, end))) continue;
      matches.push({
        detector: 'network.private-address',
        level: 'internal',
        reason: `private network address (${network}) as a host: names a host of the operator's network`,
        start: match.index,
        end,
        excerpt: `${match[0].slice(0, match[0].indexOf('.') + 1)}…`,
      });
    }
    // `[` is everywhere in code; `://[` and `]:` are not.
    const starts = new Set(matches.map((known) => known.start));
    for (const [marker, offset] of [['://[', 3], [']:', 1]] as const) {
      for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + 1)) {
        // Before `]:`, the `[` is looked for only as far back as an address may start (a `lastIndexOf` read a text without one back to its start at each marker).
        const start = offset === 3 ? at + offset : bracketBefore(text, at, BRACKETED_LIMIT);
        const end = offset === 3 ? text.indexOf(']', start) + 1 : at + offset;
        if (start < 0 || end <= start || end - start > BRACKETED_LIMIT || starts.has(start)) continue;
        const address = text.slice(start, end);
        if (!IPV6.test(address) || !(hostBefore(text, start) || portAfter(text, end))) continue;
        const linkLocal = /^\[fe/i.test(address);
        starts.add(start);
        matches.push({
          detector: 'network.private-address',
          level: 'internal',
          reason: `private network address (${linkLocal ? 'fe80::/10, link-local' : 'fc00::/7, unique local'}) as a host: names a host of the operator's network`,
          start,
          end,
          excerpt: `${address.slice(0, 3)}…]`,
        });
      }
    }
    return matches;
  },
};
