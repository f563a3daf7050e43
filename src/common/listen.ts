import { UsageError } from '../errors.js';

/**
 * A listen failure the operator can fix with a flag (port in use, privileged port, an address
 * this machine does not have), as a UsageError naming the fix; anything else unchanged.
 */
export function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new UsageError(`cannot listen on ${where}: the port is already in use`, { hint: 'use another --port, or --port 0 to pick a free one', cause: error });
    case 'EACCES':
      return new UsageError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`, { hint: 'use another --port, or --port 0 to pick a free one', cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UsageError(`cannot listen on ${where}: ${host} does not resolve on this host`, { hint: 'use --host 127.0.0.1, or a name this machine resolves', cause: error });
    case 'EADDRNOTAVAIL':
      return new UsageError(`cannot listen on ${where}: ${host} is not an address of this machine`, { hint: 'use --host 127.0.0.1 (or ::1 where IPv6 is configured)', cause: error });
    default:
      return error;
  }
}
