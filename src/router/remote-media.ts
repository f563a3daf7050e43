import { BlockList, isIP } from 'node:net';
import { isHostedClass, type ProviderClass, type SensitivityLevel } from '../common/vocabulary.js';
import type { Policy } from '../policy/types.js';
import type { CanonicalRequest } from '../wire/canonical.js';

/** The most URLs a reason names; the rest are counted. */
const NAMED_URLS = 3;

/**
 * The URLs of the request's images given by reference rather than inline: every URL but a `data:`
 * one, which carries its bytes. Whoever receives such a URL fetches it itself — vLLM downloads
 * http(s) media unless started with `--allowed-media-domains`, llama-server's `handle_media`
 * downloads any URL starting with `http` (`common_remote_get_content`, 10 MB, 10 s) — so it
 * reaches the network from the engine, with whatever its query string carries.
 */
export function remoteMediaUrls(request: CanonicalRequest): string[] {
  const urls: string[] = [];
  for (const message of request.messages) {
    for (const part of message.content) {
      if (part.type === 'image' && part.data === undefined && part.url !== undefined && !/^\s*data:/i.test(part.url)) urls.push(part.url);
    }
  }
  return urls;
}

/**
 * This host and the private networks around it: loopback, "this network", RFC 1918, carrier-grade
 * NAT (tailnets live there), link-local (cloud metadata services answer on 169.254.169.254), and
 * IPv6's loopback, unspecified, unique-local and link-local ranges (IPv4-mapped ones are checked
 * as IPv4 by `BlockList`).
 */
const INTERNAL_NETWORKS = ((): BlockList => {
  const networks = new BlockList();
  for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
    networks.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) networks.addSubnet(network, prefix, 'ipv6');
  return networks;
})();

/**
 * Whether an address (as `dns.lookup` gives it, or a URL's literal) is one of `INTERNAL_NETWORKS`.
 * One that is not an address, or that `BlockList` cannot read, counts as internal: fail closed.
 */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return true;
  try {
    return INTERNAL_NETWORKS.check(bare, family === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return true;
  }
}

/**
 * What a URL's host is, as the URL parser reads it (it has already read `http://2130706433/` as
 * 127.0.0.1): `localhost` (and `*.localhost`) or an address literal in `INTERNAL_NETWORKS`
 * (`internal`), another address literal (`address`), a name to resolve (`name`), or nothing to judge
 * (`none`: no host, as in `file:///…`, or a URL that does not parse).
 */
type MediaHost = { kind: 'internal' | 'address' | 'none' } | { kind: 'name'; name: string };

function mediaHost(url: string): MediaHost {
  let host: string;
  try {
    host = new URL(url.trim()).hostname.toLowerCase();
  } catch {
    return { kind: 'none' };
  }
  if (host === '') return { kind: 'none' };
  if (host === 'localhost' || host.endsWith('.localhost')) return { kind: 'internal' };
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(literal) !== 0) return { kind: isInternalAddress(literal) ? 'internal' : 'address' };
  return { kind: 'name', name: host };
}

/** The distinct host names of these URLs that must be resolved before they may be sent (`MediaHostResolutions`). */
export function mediaHostNames(urls: readonly string[]): string[] {
  const names = new Set<string>();
  for (const url of urls) {
    const host = mediaHost(url);
    if (host.kind === 'name') names.add(host.name);
  }
  return [...names];
}

/** What a media URL's host name resolved to (every address), or why it did not (`ENOTFOUND`, a timeout). */
export type MediaHostResolution = { addresses: readonly string[] } | { failure: string };

/** Each host name of a request's media URLs (`mediaHostNames`) with its resolution (`resolveMediaHosts`). */
export type MediaHostResolutions = ReadonlyMap<string, MediaHostResolution>;

/** Words of the refusal for a name that does not resolve, by which its hint is told apart. */
export const UNRESOLVED_MEDIA_HOST = 'whose host does not resolve here';

/** What the router does with a request's remote media URLs (`remoteMediaVerdict`). */
export interface RemoteMediaVerdict {
  /** Set when every candidate the class rule lets through must be left out (rule `remote_media`): why. */
  refusal?: string;
  /** Set when the policy's opt-in lets them go: what the plan notes (and so the evidence keeps). */
  note?: string;
}

/**
 * Remote media URLs are egress. A URL whose host is this host or its private network — named so
 * (`mediaHost`), or a name resolving to any such address (`hosts`, looked up by `routeRequest`) —
 * is refused for every level and whatever the policy says: an engine would fetch it from inside —
 * the gateway's own port, another local service, a cloud metadata address — and hand what it got to
 * the model and the caller; a hosted vendor cannot reach it at all. So is a name that did not
 * resolve (or was not looked up) where the level would let the URL go: where it points cannot be
 * told, and the engine could not fetch it either. Otherwise, a request some hosted class may
 * receive sends them as it came (a
 * hosted vendor fetches them; its data may leave anyway). One only local providers may receive —
 * its level's classes and the caller's trust tier's, or a plan failed closed — may not have a local
 * engine fetch them, unless the policy allows it for its level (`media.remoteUrls`); restricted
 * data never, whatever the policy says.
 */
export function remoteMediaVerdict(
  urls: readonly string[],
  level: SensitivityLevel,
  allowedClasses: readonly ProviderClass[],
  policy: Policy,
  failedClosed: boolean,
  hosts: MediaHostResolutions = new Map(),
): RemoteMediaVerdict {
  if (urls.length === 0) return {};
  const judged = judgeHosts(urls, hosts);
  if (judged.internal !== undefined) return { refusal: judged.internal };
  // A name that does not resolve is the reason only where the level would let the URL go: where it
  // refuses the URL anyway, a name fixed would still be refused.
  const unresolved: RemoteMediaVerdict = judged.unresolved === undefined ? {} : { refusal: judged.unresolved };
  if (!failedClosed && allowedClasses.some((providerClass) => isHostedClass(providerClass))) return unresolved;
  const given = `${urls.length === 1 ? 'an image' : `${urls.length} images`} by URL (${namedUrls(urls)})`;
  const setting = level === 'restricted' ? 'refuse' : (policy.media?.remoteUrls?.[level] ?? 'refuse');
  if (setting === 'allow' && !failedClosed) {
    if (judged.unresolved !== undefined) return unresolved;
    return { note: `the request gives ${given}: allowed by the policy (media.remoteUrls ${level}: allow), so the engine that takes it may fetch it over the network` };
  }
  const why =
    level === 'restricted'
      ? 'restricted data never leaves this host'
      : failedClosed
        ? 'planning failed closed to local providers'
        : `${level} data may reach ${allowedClasses.length === 0 ? 'no provider class' : allowedClasses.join(', ')} only and the policy does not allow it (media.remoteUrls ${level}: ${setting})`;
  return { refusal: `the request gives ${given}, which the engine would fetch over the network itself: ${why}` };
}

/**
 * Why the URLs may not be sent, whatever the level: some point into this host or its private network
 * (as written, or by what their name resolves to: `internal`); some name could not be resolved
 * (`unresolved`).
 */
function judgeHosts(urls: readonly string[], hosts: MediaHostResolutions): { internal?: string; unresolved?: string } {
  const internal: string[] = [];
  const resolvedInternally = new Map<string, string>();
  const unresolved: string[] = [];
  const failures = new Map<string, string>();
  for (const url of urls) {
    const host = mediaHost(url);
    if (host.kind === 'internal') internal.push(url);
    if (host.kind !== 'name') continue;
    const resolution = hosts.get(host.name) ?? { failure: 'not looked up' };
    if ('failure' in resolution) {
      unresolved.push(url);
      failures.set(host.name, `${host.name}: ${resolution.failure}`);
      continue;
    }
    const blocked = resolution.addresses.filter(isInternalAddress);
    if (blocked.length === 0) continue;
    internal.push(url);
    resolvedInternally.set(host.name, `${host.name} resolves to ${named(blocked)}`);
  }
  if (internal.length > 0) {
    const resolved = resolvedInternally.size === 0 ? '' : `; ${named([...resolvedInternally.values()])}`;
    const given = `${internal.length === 1 ? 'an image' : `${internal.length} images`} by a URL of this host or its private network (${namedUrls(internal)}${resolved})`;
    return { internal: `the request gives ${given}, which an engine would fetch from inside and a hosted API cannot reach: refused whatever media.remoteUrls says` };
  }
  if (unresolved.length === 0) return {};
  const given = `${unresolved.length === 1 ? 'an image' : `${unresolved.length} images`} by a URL ${UNRESOLVED_MEDIA_HOST} (${namedUrls(unresolved)}; ${named([...failures.values()])})`;
  return { unresolved: `the request gives ${given}, so where an engine would fetch it cannot be told: refused whatever media.remoteUrls says` };
}

/** Each URL as its scheme and host only: the path and query can carry data (a signed URL's token). */
function namedUrls(urls: readonly string[]): string {
  return named(urls.map(schemeAndHost));
}

/** Each once, `NAMED_URLS` at most, the rest counted. */
function named(items: readonly string[]): string {
  const distinct = [...new Set(items)];
  const shown = distinct.slice(0, NAMED_URLS).join(', ');
  return distinct.length > NAMED_URLS ? `${shown} and ${distinct.length - NAMED_URLS} more` : shown;
}

function schemeAndHost(url: string): string {
  try {
    const parsed = new URL(url.trim());
    return parsed.host === '' ? `${parsed.protocol}…` : `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return 'a URL that does not parse';
  }
}
