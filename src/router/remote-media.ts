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

/** What the router does with a request's remote media URLs (`remoteMediaVerdict`). */
export interface RemoteMediaVerdict {
  /** Set when every candidate the class rule lets through must be left out (rule `remote_media`): why. */
  refusal?: string;
  /** Set when the policy's opt-in lets them go: what the plan notes (and so the evidence keeps). */
  note?: string;
}

/**
 * Remote media URLs are egress. A request some hosted class may receive sends them as it came (a
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
