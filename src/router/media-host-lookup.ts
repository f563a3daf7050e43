import { promises as dns } from 'node:dns';
import { mediaHostNames, type MediaHostResolution, type MediaHostResolutions } from './remote-media.js';

/** Resolves a host name to every address it has, as `dns.promises.lookup(name, { all: true, verbatim: true })` does. */
export type HostLookup = (name: string) => Promise<readonly { address: string }[]>;

/** How long a media URL's host name may take to resolve before it counts as not resolving. */
export const MEDIA_HOST_LOOKUP_MS = 2000;

/** The system resolver (`/etc/hosts`, then DNS), as a local engine fetching the URL would use it. */
const systemLookup: HostLookup = (name) => dns.lookup(name, { all: true, verbatim: true });

export interface MediaHostLookupOptions {
  /** The resolver; the system's by default. Injectable for tests. */
  lookup?: HostLookup;
  /** The bound of each lookup (`MEDIA_HOST_LOOKUP_MS` by default). */
  timeoutMs?: number;
}

/**
 * Resolves each distinct host name of these media URLs once (`mediaHostNames`: address literals,
 * `localhost` and host-less URLs need none), all at once, each within the bound. Never rejects: a
 * name that does not resolve, or not in time, gets a `failure`, which the router refuses.
 */
export async function resolveMediaHosts(urls: readonly string[], options: MediaHostLookupOptions = {}): Promise<MediaHostResolutions> {
  const lookup = options.lookup ?? systemLookup;
  const timeoutMs = options.timeoutMs ?? MEDIA_HOST_LOOKUP_MS;
  const names = mediaHostNames(urls);
  return new Map(await Promise.all(names.map(async (name) => [name, await resolveWithin(name, lookup, timeoutMs)] as const)));
}

async function resolveWithin(name: string, lookup: HostLookup, timeoutMs: number): Promise<MediaHostResolution> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<MediaHostResolution>((resolve) => {
    timer = setTimeout(() => resolve({ failure: `no answer within ${timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`}` }), timeoutMs);
  });
  const looked = (async (): Promise<MediaHostResolution> => {
    try {
      const addresses = (await lookup(name)).map((entry) => entry.address);
      return addresses.length === 0 ? { failure: 'no address' } : { addresses };
    } catch (error) {
      return { failure: lookupFailure(error) };
    }
  })();
  try {
    return await Promise.race([looked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** The resolver's error code (`ENOTFOUND`, `EAI_AGAIN`…), else its message. */
function lookupFailure(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}
