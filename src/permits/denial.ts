import { newId } from '../common/ids.js';
import type { SensitivityLevel } from '../common/vocabulary.js';
import type { SyndicateError } from '../errors.js';
import { peekPermit } from './token.js';

/**
 * A permit refusal shaped for the evidence store's `recordDenial` (structurally its
 * `DenialRecord`), so permits need not depend on evidence.
 */
export interface PermitDenial {
  /** Set for a permit refused outside any request (see `PermitDenialContext.outsideRequest`). */
  kind?: 'permit_check';
  requestId: string;
  caller: string;
  provider?: { id: string; version?: number };
  model?: string;
  permitId?: string;
  /** Kept only when the token can no longer be used (forged, malformed, expired, replayed). */
  permitToken?: string;
  reasonCode: string;
  message: string;
  sensitivity?: SensitivityLevel;
  sessionId?: string;
}

/** Refusals after which the token is worthless, so keeping it in evidence gives nothing away. */
const SPENT_OR_INVALID = new Set(['permit_malformed', 'permit_forged', 'permit_expired', 'permit_replayed']);
const LONGEST_KEPT_TOKEN = 4096;

export interface PermitDenialContext {
  caller: string;
  /**
   * True when no request was made: a permit asked for or checked on its own (`permit issue`,
   * `permit verify`). Its refusal is recorded as a `permit_check`, not as a denied request.
   */
  outsideRequest?: boolean;
  requestId?: string;
  /** What the caller asked for, when it named it (preferred over what the token claims). */
  providerId?: string;
  model?: string;
  sensitivity?: SensitivityLevel;
  sessionId?: string;
}

/**
 * Describes a refused permit (or a refused issuance, with no token) for the evidence store.
 * What the token claims is decoded without trust and used only to label the row. A token that
 * might still be valid (refused as out of scope or for a blocked provider) is never stored.
 */
export function permitDenial(token: string | undefined, refusal: SyndicateError, context: PermitDenialContext): PermitDenial {
  const claimed = token === undefined ? undefined : peekPermit(token);
  const providerId = context.providerId ?? claimed?.provider;
  const model = context.model ?? claimed?.model;
  const sessionId = context.sessionId ?? claimed?.session;
  const keepToken = token !== undefined && token.length <= LONGEST_KEPT_TOKEN && SPENT_OR_INVALID.has(refusal.code);
  return {
    ...(context.outsideRequest === true ? { kind: 'permit_check' as const } : {}),
    requestId: context.requestId ?? newId('req'),
    caller: context.caller,
    ...(providerId === undefined
      ? {}
      : { provider: { id: providerId, ...(claimed?.providerVersion === undefined || providerId !== claimed.provider ? {} : { version: claimed.providerVersion }) } }),
    ...(model === undefined ? {} : { model }),
    ...(claimed?.id === undefined ? {} : { permitId: claimed.id }),
    ...(keepToken ? { permitToken: token } : {}),
    reasonCode: refusal.code,
    message: refusal.message,
    ...(context.sensitivity === undefined ? {} : { sensitivity: context.sensitivity }),
    ...(sessionId === undefined ? {} : { sessionId }),
  };
}
