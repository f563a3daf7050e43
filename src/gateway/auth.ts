import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PolledFile, type FileChange } from '../common/polled-file.js';
import { untrustedFileProblem } from '../home/access.js';
import { GatewayRequestError } from './errors.js';

/**
 * Checks the gateway bearer token: `Authorization: Bearer <token>` (OpenAI clients) or
 * `x-api-key: <token>` (Anthropic clients). Compared in constant time over SHA-256 digests,
 * so neither the content nor the length of the token leaks through timing. Given the token
 * file, it follows it: a rotated token (`syndicate serve --rotate-token`) replaces the old one
 * within a second, and while the file is missing, empty, unreadable or readable or replaceable by another user every request is refused.
 */
export class TokenGuard {
  private expected: Buffer | undefined;
  private readonly file: PolledFile | undefined;

  constructor(
    token: string,
    private readonly options: { file?: string; onChange?: (change: TokenChange) => void; recheckMs?: number; now?: () => number } = {},
  ) {
    if (token.trim() === '') throw new Error('the gateway token is empty');
    this.expected = digest(token.trim());
    this.file = options.file === undefined ? undefined : new PolledFile(options.file, options);
  }

  /** Throws a 401 `GatewayRequestError` unless the headers carry the token (503 while the token file cannot be used). */
  check(headers: HeaderSource): void {
    const change = this.file?.poll();
    if (change !== undefined) this.apply(change);
    if (this.expected === undefined) {
      // Not the file's path or state: the caller is not authenticated. The operator's stderr has both.
      throw new GatewayRequestError('unavailable', 'the gateway accepts no token right now: its token file is missing, empty, unreadable or open to other users (`syndicate serve --rotate-token` on its host writes a new one)', {
        code: 'token_unavailable',
      });
    }
    const presented = presentedToken(headers);
    if (presented === undefined) {
      throw new GatewayRequestError('authentication', 'missing gateway token: send `Authorization: Bearer <token>` or `x-api-key: <token>` (`syndicate serve --print-token` shows it)', {
        code: 'token_missing',
        headers: { 'www-authenticate': 'Bearer realm="syndicate"' },
      });
    }
    if (!timingSafeEqual(digest(presented), this.expected)) {
      throw new GatewayRequestError('authentication', 'invalid gateway token (`syndicate serve --print-token` shows the right one)', {
        code: 'token_invalid',
        headers: { 'www-authenticate': 'Bearer realm="syndicate", error="invalid_token"' },
      });
    }
  }

  /** Looks at the token file now (SIGHUP). */
  checkNow(): void {
    const change = this.file?.poll(true);
    if (change !== undefined) this.apply(change);
  }

  private apply(change: FileChange): void {
    const path = this.file?.path ?? '';
    let token = '';
    let problem = change.unusable;
    if (problem === undefined) {
      try {
        token = readFileSync(path, 'utf8').trim();
        if (token === '') problem = 'is empty';
      } catch (error) {
        problem = `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
      }
    }
    // Readable or replaceable by another user: whoever can read it can call the gateway.
    const untrusted = problem === undefined ? untrustedFileProblem(path, 'secret') : undefined;
    if (untrusted !== undefined) {
      this.expected = undefined;
      this.options.onChange?.({ kind: 'unavailable', path, reason: `${untrusted.detail}; ${untrusted.hint}` });
      return;
    }
    if (problem !== undefined) {
      // Fail closed: an operator who removed the token meant no client to get in with the old one.
      this.expected = undefined;
      this.options.onChange?.({ kind: 'unavailable', path, reason: `${path} ${problem}; \`syndicate serve --rotate-token\` writes a new one` });
      return;
    }
    this.expected = digest(token);
    this.options.onChange?.({ kind: 'reloaded', path });
  }
}

/** What a look at the token file found, for the operator (never the token). */
export type TokenChange = { kind: 'reloaded'; path: string } | { kind: 'unavailable'; path: string; reason: string };

/** Header lookup by lower-case name (repeated headers joined with `, `), as the gateway core has it. */
export interface HeaderSource {
  header(name: string): string | undefined;
}

function presentedToken(headers: HeaderSource): string | undefined {
  const authorization = headers.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1] !== undefined) return match[1].trim();
  }
  const apiKey = headers.header('x-api-key');
  if (apiKey !== undefined && apiKey.trim() !== '') return apiKey.trim();
  return undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
