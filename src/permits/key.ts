import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { ExitCode, SyndicateError } from '../errors.js';
import { pathFacts, refuseUntrustedFile } from '../home/access.js';

/** The refusal of a permit key another user can read or replace (exit 4). */
export const PERMIT_KEY_INSECURE = 'permit_key_insecure';

/** The shortest signing key we accept, in bytes (`syndicate init` writes 32). */
export const MINIMUM_KEY_BYTES = 32;

/**
 * The permit signing key. The secret stays in a private field: it never appears in
 * `JSON.stringify`, `console.log` or error details.
 */
export class PermitKey {
  readonly #secret: Buffer;

  private constructor(secret: Buffer) {
    this.#secret = secret;
  }

  /** A key from raw bytes (tests, or a key held in memory). At least 32 bytes. */
  static fromBytes(secret: Uint8Array): PermitKey {
    if (secret.length < MINIMUM_KEY_BYTES) {
      throw new SyndicateError('permit_key_invalid', ExitCode.store, `the permit key has ${secret.length} bytes; at least ${MINIMUM_KEY_BYTES} are required`, {
        hint: 'remove the key file and run `syndicate init` to create a new one',
      });
    }
    return new PermitKey(Buffer.from(secret));
  }

  /** HMAC-SHA256 of `data` under this key. */
  sign(data: string): Buffer {
    return createHmac('sha256', this.#secret).update(data, 'utf8').digest();
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'PermitKey [redacted]';
  }
}

/**
 * Loads the base64 key file written by `syndicate init`. Refuses a missing or malformed key,
 * and a key another user can read or replace (`refuseUntrustedFile`): a key file of another
 * owner, readable or writable by group or others (mode must be 0600 or stricter), or in a
 * directory of another owner or writable by group or others.
 */
export function loadPermitKey(path: string, options: { accessChecked?: boolean } = {}): PermitKey {
  // One stat: whether the key is there, and its owner and mode for the check below.
  const facts = pathFacts(path);
  if (facts === undefined) {
    throw new SyndicateError('permit_key_missing', ExitCode.store, `no permit key at ${path}`, {
      hint: 'run `syndicate init` to create the data directory and its permit key',
    });
  }
  // Another user who can read it can sign permits; one who can replace it (or its directory) too.
  // `accessChecked`: `doctor`, which reports the key's and its directory's owner and mode as checks of their own.
  if (options.accessChecked !== true) refuseUntrustedFile(path, 'secret', 'permit key', PERMIT_KEY_INSECURE, facts);
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new SyndicateError('permit_key_unreadable', ExitCode.store, `cannot read the permit key at ${path}`, {
      hint: 'check that the data directory belongs to you, or run `syndicate init`',
      cause: error,
    });
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new SyndicateError('permit_key_invalid', ExitCode.store, `the permit key at ${path} is not base64`, {
      hint: 'remove the key file and run `syndicate init` to create a new one',
    });
  }
  return PermitKey.fromBytes(Buffer.from(text, 'base64'));
}
