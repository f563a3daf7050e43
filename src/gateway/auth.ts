import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayRequestError } from './errors.js';

/**
 * Checks the gateway bearer token: `Authorization: Bearer <token>` (OpenAI clients) or
 * `x-api-key: <token>` (Anthropic clients). Compared in constant time over SHA-256 digests,
 * so neither the content nor the length of the token leaks through timing.
 */
export class TokenGuard {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.trim() === '') throw new Error('the gateway token is empty');
    this.expected = digest(token.trim());
  }

  /** Throws a 401 `GatewayRequestError` unless the headers carry the token. */
  check(headers: HeaderSource): void {
    const presented = presentedToken(headers);
    if (presented === undefined) {
      throw new GatewayRequestError('authentication', 'missing gateway token: send `Authorization: Bearer <token>` or `x-api-key: <token>`', {
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
}

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
