import { isIP } from 'node:net';
import { decodeTextBytes } from '../common/text-bytes.js';
import { SESSION_ID_PATTERN, SESSION_ID_RULE } from '../common/vocabulary.js';
import { InvalidInputError, UsageError } from '../errors.js';
import { readInputFile } from '../validation/input-file.js';

/**
 * Reads all of stdin as text (UTF-8, or UTF-16 with a byte-order mark); refuses to wait on an
 * interactive terminal, and refuses bytes that are not text (see `decodeTextBytes`) rather than
 * classify and send a mangled or unreadable version of them.
 */
export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY === true) {
    throw new UsageError(`no ${what} given`, { hint: `pass the ${what} as an argument, or pipe it on stdin` });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const decoded = decodeTextBytes(Buffer.concat(chunks));
  if (!decoded.ok) throw new UsageError(`the ${what} on stdin ${decoded.problem}; nothing was classified or sent`, { hint: decoded.hint });
  return decoded.text;
}

/** Reads a text file the operator named (`classify --file`, `route --request`); bytes that are not text are an invalid input file (exit 3). */
export function readTextFile(file: string): string {
  const decoded = decodeTextBytes(readInputFile(file));
  if (!decoded.ok) throw new InvalidInputError(`${file} ${decoded.problem}`, [{ file, pointer: '', message: decoded.problem }], { hint: decoded.hint });
  return decoded.text;
}

/** A flag that must be a whole number of at least 1 (`--max-tokens 512`); undefined when absent. */
export function positiveIntegerOption(value: string | undefined, flag: string, example = 512): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(`${flag} must be a positive whole number, got "${value}"`, { hint: `for example ${flag} ${example}` });
  }
  return number;
}

/** A flag that must be a finite number (`--temperature 0.7`); undefined when absent. */
export function numberOption(value: string | undefined, flag: string, example = 0.7): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`${flag} must be a number, got "${value}"`, { hint: `for example ${flag} ${example}` });
  return number;
}

/** `--port`: a whole number from 0 to 65535, 0 letting the system pick a free port. */
export function portOption(value: string, example: number): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got "${value}"`, { hint: `for example --port ${example}, or --port 0 to pick a free port` });
  }
  return port;
}

/** DNS labels of letters, digits and inner hyphens; the last one not all digits (`999.1.1.1` is no address and no name). */
const HOST_NAME = /^(?=.{1,253}\.?$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*(?=[a-z0-9-]*[a-z-])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/**
 * `--host`: an IP address (an IPv6 one bracketed or not) or a host name, returned as the address
 * to bind (without brackets). A URL or `host:port` is refused here, naming the flags to use
 * instead, rather than failing later as a name that does not resolve.
 */
export function hostOption(value: string): string {
  const trimmed = value.trim();
  const bare = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  if (isIP(bare) !== 0 || (bare === trimmed && HOST_NAME.test(bare))) return bare;
  throw new UsageError(`--host must be an IP address or a host name, got "${value}"`, {
    hint: 'give the address alone, e.g. --host 127.0.0.1 (the default), --host ::1 or --host localhost; the port goes in --port',
  });
}

/**
 * `--session`: an id as the gateway takes it in `x-syndicate-session`; undefined when absent.
 * Checked before anything is routed or recorded: an empty or malformed id is a usage error, not a
 * refusal left in the evidence.
 */
export function sessionOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!SESSION_ID_PATTERN.test(value)) {
    throw new UsageError(`--session must be ${SESSION_ID_RULE}, got ${JSON.stringify(value)}`, {
      hint: 'for example --session ci-build-1234, the id the gateway takes in x-syndicate-session',
    });
  }
  return value;
}
