import { BlockList } from 'node:net';
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
 * Whether a URL names this host or its private network by its host: `localhost` (and `*.localhost`),
 * or an address literal in `INTERNAL_NETWORKS` (the URL parser has already read `http://2130706433/`
 * as 127.0.0.1). A name is not resolved: one that resolves to such an address is not caught here.
 */
function namesInternalHost(url: string): boolean {
  let host: string;
  try {
    host = new URL(url.trim()).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host.startsWith('[') && host.endsWith(']')) return INTERNAL_NETWORKS.check(host.slice(1, -1), 'ipv6');
  return /^[\d.]+$/.test(host) && INTERNAL_NETWORKS.check(host, 'ipv4');
}

/** What the router does with a request's remote media URLs (`remoteMediaVerdict`). */
export interface RemoteMediaVerdict {
  /** Set when every candidate the class rule lets through must be left out (rule `remote_media`): why. */
  refusal?: string;
  /** Set when the policy's opt-in lets them go: what the plan notes (and so the evidence keeps). */
  note?: string;
}

/**
 * Remote media URLs are egress. A URL naming this host or its private network (`namesInternalHost`)
 * is refused for every level and whatever the policy says: an engine would fetch it from inside —
 * the gateway's own port, another local service, a cloud metadata address — and hand what it got to
 * the model and the caller; a hosted vendor cannot reach it at all. Otherwise, a request some
 * hosted class may receive sends them as it came (a
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
): RemoteMediaVerdict {
  if (urls.length === 0) return {};
  const internal = urls.filter(namesInternalHost);
  if (internal.length > 0) {
    const named = `${internal.length === 1 ? 'an image' : `${internal.length} images`} by a URL of this host or its private network (${namedUrls(internal)})`;
    return { refusal: `the request gives ${named}, which an engine would fetch from inside and a hosted API cannot reach: refused whatever media.remoteUrls says` };
  }
  if (!failedClosed && allowedClasses.some((providerClass) => isHostedClass(providerClass))) return {};
  const given = `${urls.length === 1 ? 'an image' : `${urls.length} images`} by URL (${namedUrls(urls)})`;
  const setting = level === 'restricted' ? 'refuse' : (policy.media?.remoteUrls?.[level] ?? 'refuse');
  if (setting === 'allow' && !failedClosed) {
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

/** Each URL as its scheme and host only: the path and query can carry data (a signed URL's token). */
function namedUrls(urls: readonly string[]): string {
  const named = [...new Set(urls.map(schemeAndHost))];
  const shown = named.slice(0, NAMED_URLS).join(', ');
  return named.length > NAMED_URLS ? `${shown} and ${named.length - NAMED_URLS} more` : shown;
}

function schemeAndHost(url: string): string {
  try {
    const parsed = new URL(url.trim());
    return parsed.host === '' ? `${parsed.protocol}…` : `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return 'a URL that does not parse';
  }
}
