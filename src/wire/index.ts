import type { WireFormat } from '../common/vocabulary.js';
import type { WireAdapter } from './adapter.js';
import { anthropicAdapter } from './anthropic/adapter.js';
import { openAIAdapter } from './openai/adapter.js';

/** The adapter that speaks `wire`. Adapters are pure: no I/O, no clock, no environment. */
export function wireAdapterFor(wire: WireFormat): WireAdapter {
  switch (wire) {
    case 'openai':
      return openAIAdapter;
    case 'anthropic':
      return anthropicAdapter;
  }
}

export type { ServerSentEvent, WireAdapter, WireError, WireHttpRequest, WireTarget } from './adapter.js';
export type * from './canonical.js';
export { openAIAdapter, OPENAI_STREAM_DONE } from './openai/adapter.js';
export { anthropicAdapter, ANTHROPIC_DEFAULT_MAX_TOKENS } from './anthropic/adapter.js';
export { StreamAccumulator, type StreamFailure } from './stream-accumulator.js';
export { formatServerSentEvent, parseServerSentEvents, ServerSentEventSplitter } from './sse.js';
export { WIRE_OBSERVATIONS, deviationForObservation, type WireObservation } from './observations.js';
export { clientErrorFor, CLIENT_ERROR_STATUS, type ClientError, type ClientErrorKind } from './client-errors.js';
export type { RenderedBody } from './server-common.js';
export {
  parseOpenAIChatRequest,
  renderOpenAIChatResponse,
  renderOpenAIError,
  openAIErrorBody,
  OpenAIStreamEncoder,
  type ParsedOpenAIChatRequest,
  type OpenAIRenderOptions,
  type OpenAIStreamEncoderOptions,
} from './openai/server.js';
export {
  parseAnthropicMessagesRequest,
  renderAnthropicMessageResponse,
  renderAnthropicError,
  anthropicErrorBody,
  AnthropicStreamEncoder,
  type ParsedAnthropicMessagesRequest,
  type AnthropicRenderOptions,
  type AnthropicStreamEncoderOptions,
} from './anthropic/server.js';
