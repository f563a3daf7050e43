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
  check(headers: Headers): void {
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

function presentedToken(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  if (authorization !== null) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1] !== undefined) return match[1].trim();
  }
  const apiKey = headers.get('x-api-key');
  if (apiKey !== null && apiKey.trim() !== '') return apiKey.trim();
  return undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
