/** The transport: the only module that sends inference requests upstream (permit-gated, verbatim capture). */
export {
  DEFAULT_TRANSPORT_TIMEOUTS,
  MAX_RESPONSE_BODY_BYTES,
  sendInvocation,
  type CaptureEnd,
  type CaptureSink,
  type CapturedRequest,
  type CapturedResponseStart,
  type SendInvocationOptions,
  type TransportResponse,
  type TransportTimeouts,
} from './transport.js';
export { REDACTED, isSecretRequestHeader, isSecretResponseHeader, redactCredential, redactRequestHeaders, redactResponseHeaders, redactUrl } from './redact.js';
