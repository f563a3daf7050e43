import type { Deviation } from '../common/vocabulary.js';

/**
 * Deviations from a wire contract that the adapters tolerate while decoding. Each one is
 * reported in `CanonicalResponse.observations` (or on a stream part) so probes and the
 * invoker can record an undeclared capability deviation instead of hiding it.
 */
export const WIRE_OBSERVATIONS = {
  /** Tool-call `arguments` arrived as a JSON object, not JSON text (Ollama, some llama.cpp builds). */
  toolArgumentsObject: 'tool_arguments_object',
  /** A tool call arrived without an id; the adapter derived one from its position. */
  toolCallIdMissing: 'tool_call_id_missing',
  /** The legacy `function_call` field was used instead of `tool_calls`. */
  legacyFunctionCall: 'legacy_function_call',
  /** `message.content` arrived as an array of parts instead of a string. */
  contentPartsArray: 'content_parts_array',
  /** A usage object arrived without both token counts; usage is treated as absent. */
  usageIncomplete: 'usage_incomplete',
  /**
   * A stream ended cleanly after its finish reason but without the wire's terminal marker
   * (`data: [DONE]`, `message_stop`): ik_llama.cpp without `--send-done`, older
   * text-generation-webui. The answer is taken as complete.
   */
  terminalMarkerMissing: 'terminal_marker_missing',
  /**
   * An embeddings answer held lists of floats where base64 was asked (older Ollama releases ignore
   * `encoding_format`): read as floats, so the vectors are right all the same.
   */
  embeddingEncodingIgnored: 'embedding_encoding_ignored',
  /**
   * An embeddings answer counted 0 input tokens for text that has some (LM Studio answers
   * `prompt_tokens: 0` for every embedding model): the count is treated as absent and made locally.
   */
  usageZero: 'usage_zero',
} as const;
export type WireObservation = (typeof WIRE_OBSERVATIONS)[keyof typeof WIRE_OBSERVATIONS];

/** The capability deviation (DESIGN.md vocabulary) an observation is evidence of, if any. */
export function deviationForObservation(observation: string): Deviation | undefined {
  switch (observation) {
    case WIRE_OBSERVATIONS.toolArgumentsObject:
    case WIRE_OBSERVATIONS.toolCallIdMissing:
    case WIRE_OBSERVATIONS.legacyFunctionCall:
      return 'nonstandard_tool_call_serialization';
    case WIRE_OBSERVATIONS.usageIncomplete:
    case WIRE_OBSERVATIONS.usageZero:
      return 'approximate_token_counts';
    case WIRE_OBSERVATIONS.terminalMarkerMissing:
      return 'partial_streaming_reliability';
    default:
      return undefined;
  }
}
