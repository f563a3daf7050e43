import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. `0.0.0.0` and `::` are *not* loopback. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    const lower = bare.toLowerCase();
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped !== null && mapped[1] !== undefined && mapped[1].startsWith('127.');
  }
  return false;
}

export type LoopbackVerdict =
  | { loopback: true; addresses: string[] }
  | { loopback: false; addresses: string[]; reason: string };

/**
 * Decides whether a URL's host is on this machine: a loopback literal, `localhost`, or a name
 * that resolves *only* to loopback addresses. A name that does not resolve is not loopback.
 */
export async function checkLoopbackUrl(url: string): Promise<LoopbackVerdict> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return { loopback: false, addresses: [], reason: `"${url}" is not a valid URL` };
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) {
    return isLoopbackAddress(bare)
      ? { loopback: true, addresses: [bare] }
      : { loopback: false, addresses: [bare], reason: `${bare} is not a loopback address` };
  }
  if (bare.toLowerCase() === 'localhost') return { loopback: true, addresses: ['127.0.0.1', '::1'] };
  let addresses: string[];
  try {
    addresses = (await lookup(bare, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch {
    return { loopback: false, addresses: [], reason: `${bare} does not resolve on this host` };
  }
  const outside = addresses.filter((address) => !isLoopbackAddress(address));
  if (addresses.length === 0 || outside.length > 0) {
    return { loopback: false, addresses, reason: `${bare} resolves to ${outside.join(', ') || 'nothing'}, not only to loopback` };
  }
  return { loopback: true, addresses };
}
