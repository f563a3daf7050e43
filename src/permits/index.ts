/** Permits: issue, verify (single use, constant-time HMAC) and the VerifiedPermit the transport demands. */
export { loadPermitKey, PermitKey, MINIMUM_KEY_BYTES } from './key.js';
export { decodeSignedToken, peekPermit, permitId, TOKEN_PREFIX, type PermitPayload } from './token.js';
export { permitDenial, type PermitDenial, type PermitDenialContext } from './denial.js';
export {
  DEFAULT_PERMIT_TTL_MS,
  MAXIMUM_PERMIT_TTL_MS,
  inspectPermit,
  isVerifiedPermit,
  issuePermit,
  issuePermitForProvider,
  issueVerifiedPermit,
  permitIssueCommand,
  resolveModelId,
  scopeDifferences,
  spendVerifiedPermit,
  verifyPermit,
  VerifiedPermit,
  type IssuedPermit,
  type IssuePermitOptions,
  type PermitExpectation,
  type PermitInspection,
  type PermitInvocation,
  type PermitScope,
  type PermittedProvider,
  type ProviderPermitRequest,
  type ScopeDifference,
  type UnrecordedPermit,
  type VerifyPermitOptions,
} from './permits.js';
