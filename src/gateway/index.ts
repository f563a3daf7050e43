/**
 * The local gateway: OpenAI- and Anthropic-compatible HTTP in front of the one governed
 * pipeline. The core (`createGateway`) maps a `GatewayCall` to a `GatewayReply` (and a web
 * `Request` to a `Response` through `fetch`); `listenGateway` is the node:http adapter around it; `startGateway` wires both from the data directory.
 */
export { createGateway, DEFAULT_BODY_LIMIT_BYTES, type Gateway, type GatewayCall, type GatewayOptions, type GatewayReply, type InvokeFunction } from './app.js';
export type { AccessLogEntry } from './access-log.js';
export { TokenGuard } from './auth.js';
export { clientErrorOf, errorReply, errorResponse, GatewayRequestError, type ApiFamily } from './errors.js';
export { listenGateway, nodeRequestListener, type GatewayListenOptions, type RunningGateway } from './node-adapter.js';
export { startGateway, type StartedGateway, type StartGatewayOptions } from './server.js';
export { SseChannel, type SseSink } from './sse-channel.js';
