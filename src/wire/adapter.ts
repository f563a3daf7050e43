import type { EngineKind, ModelDeviation, ReasoningEffort, Vendor, WireFormat } from '../common/vocabulary.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart, WireWarning } from './canonical.js';

/** What the adapter needs to know about the target to build the wire request. Pure data. */
export interface WireTarget {
  /** Provider base URL as registered, e.g. `http://127.0.0.1:11434/v1` or `https://api.anthropic.com`. */
  baseUrl: string;
  /** The credential, resolved by the caller from the env reference; never logged. */
  apiKey?: string;
  /** Override of the auth header name from the provider record. */
  authHeader?: string;
  /**
   * Max output tokens for a wire that requires them (anthropic) when the request sets none: the
   * pipeline gives the route's `defaultMaxTokens` (the policy's `cost.defaultOutputTokens`, within
   * what the model's context window leaves). Without it the adapter falls back to its own default.
   */
  defaultMaxTokens?: number;
  /** The engine behind the URL, when the record declares one: its quirks (e.g. which embedding encodings it answers). */
  engine?: EngineKind;
  /** The vendor whose own API is behind the URL, when the record declares one: its extensions of the wire (e.g. OpenAI's custom tools). */
  vendor?: Vendor;
  /** The model's task tags from its record: whether it reasons (`reasoning`, `thinking`), for a reasoning effort. */
  modelTags?: readonly string[];
  /** The model's declared deviations: `thinking_always_on` takes adaptive thinking only. */
  modelDeviations?: readonly ModelDeviation[];
  /** The model's declared `reasoningEfforts`: the levels its server takes. */
  modelEfforts?: readonly ReasoningEffort[];
}

/** An HTTP request the transport will send verbatim. `body` is the exact bytes, as text. */
export interface WireHttpRequest {
  method: 'POST' | 'GET';
  url: string;
  headers: Record<string, string>;
  body: string;
  warnings: WireWarning[];
}

/** One server-sent event as framed on the wire (`event:` is absent for OpenAI-style streams). */
export interface ServerSentEvent {
  event?: string;
  data: string;
}

/**
 * Splits a streamed body, fed in arbitrary text chunks, into events: server-sent events, or the
 * lines of an NDJSON stream (each line's JSON as `data`).
 */
export interface StreamFraming {
  /** Feeds a chunk; returns the events it completed. */
  push(text: string): ServerSentEvent[];
  /** Ends the input: the events its end completes, or undefined when it stopped in the middle of one (a cut stream). */
  finish(): ServerSentEvent[] | undefined;
}

/** A decoded upstream error, parsed leniently (bodies may be HTML, empty or truncated). */
export interface WireError {
  status: number;
  message: string;
  errorType?: string;
  isRetryable: boolean;
}

/**
 * The one versioned interface every wire format implements. Pure: no I/O, no clocks.
 * Quirks of a particular engine live inside the adapter that speaks its wire.
 */
export interface WireAdapter {
  readonly specificationVersion: 'v1';
  readonly wire: WireFormat;
  encodeRequest(request: CanonicalRequest, target: WireTarget): WireHttpRequest;
  /** Throws `UpstreamError` (not retryable) when the body is not a valid response. */
  decodeResponse(body: string): CanonicalResponse;
  decodeStreamEvent(event: ServerSentEvent): StreamPart[];
  decodeError(status: number, body: string): WireError;
  /**
   * Embeddings (a request with `embedding`): implemented by wires that have an embeddings endpoint
   * (openai); the router sends embeddings requests to no other. The answer's vectors are in
   * `CanonicalResponse.embeddings`.
   */
  encodeEmbeddingRequest?(request: CanonicalRequest, target: WireTarget): WireHttpRequest;
  decodeEmbeddingResponse?(body: string, request: CanonicalRequest, target: WireTarget): CanonicalResponse;
  /**
   * Text completions (a request with `completion`): implemented by wires that have a completions
   * endpoint (openai); the router sends text completion requests to no other.
   */
  encodeCompletionRequest?(request: CanonicalRequest, target: WireTarget): WireHttpRequest;
  decodeCompletionResponse?(body: string): CanonicalResponse;
  decodeCompletionStreamEvent?(event: ServerSentEvent): StreamPart[];
}
