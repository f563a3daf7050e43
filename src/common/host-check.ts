import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { isLoopbackAddress } from './loopback.js';

/**
 * What a server on loopback checks of a request against web pages (the gateway, `syndicate
 * serve`; the embedded engine, `syndicate engine serve`). DNS rebinding: a page on `evil.example`
 * whose name its attacker re-points at 127.0.0.1 reaches the server as its own origin, so the
 * browser lets its script read the answers; only the `Host` it sends (`evil.example:8089`) tells
 * it apart. Cross-site requests: any page may send a "simple" POST (a `text/plain` body, no
 * preflight) to 127.0.0.1, whose answer it cannot read but whose work is done; only the `Origin`
 * the browser adds tells it apart.
 */
export class HostCheck {
  private readonly names: ReadonlySet<string>;

  /** `allowedNames`: the names the operator allowed (`--allow-host`, for a reverse proxy that keeps the client's `Host`), as `normalizeHostName` takes them. */
  constructor(allowedNames: readonly string[] = []) {
    this.names = new Set([...allowedNames.map(normalizeHostName), withoutTrailingDot(hostname().toLowerCase())]);
  }

  /**
   * Whether `host` (a request's `Host` header) is one the server answers to: none (HTTP/1.0), an IP
   * address (rebinding needs a name), `localhost` and `*.localhost` (which browsers resolve to
   * loopback themselves), this machine's own host name (which /etc/hosts often maps to
   * 127.0.1.1), and the allowed names. Any port.
   */
  allowsHost(host: string | undefined): boolean {
    if (host === undefined) return true;
    const name = hostNameOf(host);
    if (name === undefined) return false;
    return isIP(name) !== 0 || this.answersTo(name);
  }

  /**
   * Whether a browser page on `origin` (a request's `Origin` header) was served from this machine:
   * an http(s) origin whose host is a loopback address or a name `allowsHost` takes. Not `null`
   * (a sandboxed frame, a file, an https page posting to http), not another scheme, not any
   * other address: a page anywhere may be served from an address.
   */
  allowsOrigin(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const name = withoutTrailingDot(url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname);
    return isIP(name) !== 0 ? isLoopbackAddress(name) : this.answersTo(name);
  }

  private answersTo(name: string): boolean {
    return name === 'localhost' || name.endsWith('.localhost') || this.names.has(name);
  }
}

/** The name or address of a `Host` header without its port (an IPv6 address without brackets), lower-cased; undefined when malformed. */
function hostNameOf(host: string): string | undefined {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    if (end === -1 || !/^(:\d*)?$/.test(trimmed.slice(end + 1))) return undefined;
    const address = trimmed.slice(1, end);
    return isIP(address) === 6 ? address : undefined;
  }
  const match = /^([^:]+)(?::\d*)?$/.exec(trimmed);
  return match?.[1] === undefined ? undefined : withoutTrailingDot(match[1]);
}

function withoutTrailingDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * A host name as `--allow-host` takes it (`llm.example.org`, no scheme, port or wildcard),
 * lower-cased; throws a plain Error naming the problem (the CLI turns it into a usage error).
 */
export function normalizeHostName(name: string): string {
  const lower = withoutTrailingDot(name.trim().toLowerCase());
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(lower)) {
    throw new Error(`"${name}" is not a host name: write the name clients reach it by, without scheme, port or wildcard, e.g. llm.example.org`);
  }
  return lower;
}
