import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { GatewayRequestError } from './errors.js';

/**
 * The gateway's defence against DNS rebinding while it listens on loopback: a page on
 * `evil.example` whose name the attacker re-points at 127.0.0.1 reaches the gateway as its own
 * origin, so the browser lets its script read the answers; only the `Host` it sends
 * (`evil.example:8089`) tells it apart. Taken: no `Host` (HTTP/1.0), an IP address (rebinding
 * needs a name), `localhost` and `*.localhost` (which browsers resolve to loopback themselves),
 * this machine's own host name (which /etc/hosts often maps to 127.0.1.1), and the names the
 * operator allowed (`serve --allow-host`, for a reverse proxy that keeps the
 * client's `Host`). Any port.
 */
export class HostCheck {
  private readonly names: ReadonlySet<string>;

  constructor(allowedNames: readonly string[] = []) {
    this.names = new Set([...allowedNames.map(normalizeHostName), withoutTrailingDot(hostname().toLowerCase())]);
  }

  /** Throws a 403 `host_not_allowed` unless `host` (the request's `Host` header) is one the gateway answers to. */
  check(host: string | undefined): void {
    if (host === undefined || this.allows(host)) return;
    throw new GatewayRequestError(
      'permission',
      `the gateway does not answer to the host "${host.slice(0, 100)}" (Host is checked against DNS rebinding); call it by its address, localhost or [::1], or let a reverse proxy's name in with \`syndicate serve --allow-host NAME\``,
      { code: 'host_not_allowed' },
    );
  }

  private allows(host: string): boolean {
    const name = hostNameOf(host);
    if (name === undefined) return false;
    if (isIP(name) !== 0) return true;
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
 * A host name as `--allow-host` takes it (`gateway.example.org`, no scheme, port or wildcard),
 * lower-cased; throws a plain Error naming the problem (the CLI turns it into a usage error).
 */
export function normalizeHostName(name: string): string {
  const lower = withoutTrailingDot(name.trim().toLowerCase());
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(lower)) {
    throw new Error(`"${name}" is not a host name: write the name clients reach the gateway by, without scheme, port or wildcard, e.g. gateway.example.org`);
  }
  return lower;
}
