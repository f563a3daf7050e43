import { timingSafeEqual } from 'node:crypto';
import { isSensitivityLevel, type SensitivityLevel } from '../common/vocabulary.js';
import { PolicyRefusalError } from '../errors.js';
import type { PermitKey } from './key.js';

/** The token prefix; a new payload layout gets a new prefix, so old verifiers refuse it. */
export const TOKEN_PREFIX = 'syn1';

/** Longest token we look at; anything longer is refused before decoding. */
const MAXIMUM_TOKEN_LENGTH = 4096;

/**
 * What a permit authorises, signed into the token. Times are milliseconds since the epoch.
 */
export interface PermitPayload {
  v: 1;
  /** `pmt_...`, the id evidence rows and denials refer to. */
  id: string;
  provider: string;
  /** The provider version the permit was issued for; a re-registered provider invalidates it. */
  providerVersion: number;
  model: string;
  /** The most sensitive data the invocation may carry. */
  maxSensitivity: SensitivityLevel;
  session?: string;
  iat: number;
  exp: number;
  /** 128 random bits, base64url; the key under which the permit is consumed. */
  nonce: string;
}

export function encodeToken(key: PermitKey, payload: PermitPayload): string {
  const signingInput = `${TOKEN_PREFIX}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
  return `${signingInput}.${key.sign(signingInput).toString('base64url')}`;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function malformed(message: string): PolicyRefusalError {
  return new PolicyRefusalError('permit_malformed', `permit refused: ${message}`, {
    hint: 'pass the whole token printed by `syndicate permit issue` (it starts with `syn1.`)',
  });
}

interface TokenParts {
  signingInput: string;
  payloadText: string;
  signature: Buffer;
}

function splitToken(token: string): TokenParts {
  if (token.length > MAXIMUM_TOKEN_LENGTH) throw malformed(`the token is longer than ${MAXIMUM_TOKEN_LENGTH} characters`);
  const parts = token.trim().split('.');
  if (parts.length !== 3) throw malformed('a token has three dot-separated parts');
  const [prefix, encodedPayload, encodedSignature] = parts as [string, string, string];
  if (prefix !== TOKEN_PREFIX) throw malformed(`unknown token format "${prefix.slice(0, 16)}" (expected ${TOKEN_PREFIX})`);
  if (!BASE64URL.test(encodedPayload) || !BASE64URL.test(encodedSignature)) throw malformed('the token is not base64url');
  return {
    signingInput: `${prefix}.${encodedPayload}`,
    payloadText: Buffer.from(encodedPayload, 'base64url').toString('utf8'),
    signature: Buffer.from(encodedSignature, 'base64url'),
  };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 512;
}

/** Checks the shape of a decoded payload; returns it typed or explains what is wrong. */
function parsePayload(text: string): PermitPayload | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the payload is not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'the payload is not an object';
  const payload = value as Record<string, unknown>;
  if (payload.v !== 1) return `unsupported payload version ${JSON.stringify(payload.v)}`;
  for (const field of ['id', 'provider', 'model', 'nonce'] as const) {
    if (!isNonEmptyString(payload[field])) return `the payload field "${field}" is missing or not a string`;
  }
  for (const field of ['providerVersion', 'iat', 'exp'] as const) {
    if (!isPositiveInteger(payload[field])) return `the payload field "${field}" is missing or not a positive integer`;
  }
  if (!isSensitivityLevel(payload.maxSensitivity)) return 'the payload field "maxSensitivity" is not a sensitivity level';
  if (payload.session !== undefined && !isNonEmptyString(payload.session)) return 'the payload field "session" is not a string';
  if ((payload.exp as number) <= (payload.iat as number)) return 'the payload expires before it was issued';
  return payload as unknown as PermitPayload;
}

/**
 * Decodes a token and checks its signature in constant time. Throws `permit_malformed` for
 * anything that is not a token and `permit_forged` when the signature does not match.
 */
export function decodeSignedToken(key: PermitKey, token: string): PermitPayload {
  const parts = splitToken(token);
  const expected = key.sign(parts.signingInput);
  if (parts.signature.length !== expected.length || !timingSafeEqual(parts.signature, expected)) {
    throw new PolicyRefusalError('permit_forged', 'permit refused: the signature does not match (forged, tampered with, or signed with another key)', {
      hint: 'issue a new permit with `syndicate permit issue` on this host; permits from another data directory are not valid here',
    });
  }
  const payload = parsePayload(parts.payloadText);
  if (typeof payload === 'string') throw malformed(payload);
  return payload;
}

/**
 * The payload fields a token claims, decoded WITHOUT checking the signature: for denial rows and
 * messages only, never for a decision. Only well-typed fields are returned.
 */
export function peekPermit(token: string): Partial<PermitPayload> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(splitToken(token).payloadText);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const claimed = value as Record<string, unknown>;
  const peeked: Partial<PermitPayload> = {};
  const id = permitId(token);
  if (id !== undefined) peeked.id = id;
  if (isNonEmptyString(claimed.provider)) peeked.provider = claimed.provider;
  if (isPositiveInteger(claimed.providerVersion)) peeked.providerVersion = claimed.providerVersion;
  if (isNonEmptyString(claimed.model)) peeked.model = claimed.model;
  if (isSensitivityLevel(claimed.maxSensitivity)) peeked.maxSensitivity = claimed.maxSensitivity;
  if (isNonEmptyString(claimed.session)) peeked.session = claimed.session;
  if (isPositiveInteger(claimed.exp)) peeked.exp = claimed.exp;
  return peeked;
}

/**
 * The permit id named in a token, decoded WITHOUT checking anything: for denial rows and
 * messages only, never for a decision. Undefined when the token does not decode.
 */
export function permitId(token: string): string | undefined {
  try {
    const parts = splitToken(token);
    const value = JSON.parse(parts.payloadText) as unknown;
    if (value !== null && typeof value === 'object' && 'id' in value) {
      const id = (value as { id: unknown }).id;
      if (typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id)) return id;
    }
  } catch {
    // best effort: a token that does not decode has no id
  }
  return undefined;
}
