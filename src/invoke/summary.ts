import type { InvocationResult, PassedOver } from './types.js';

/** A candidate the walk passed over as a script reads it (`details.passedOver`, `run --json`'s `passedOver`, the evidence route's): without the hint's fields. */
export function passedOverSummary({ provider, model, reason }: PassedOver): PassedOver {
  return { provider, model, reason };
}

/** One governed invocation as `run --json` and the MCP `complete` tool report it. */
export function invocationSummary(result: InvocationResult) {
  const { response } = result;
  return {
    answer: response.text,
    reasoning: response.reasoning ?? null,
    /** The model's refusal to answer (OpenAI's `refusal`, with `answer` then empty); null when it did not refuse. */
    refusal: response.refusal ?? null,
    toolCalls: response.toolCalls.map(({ id, name, arguments: argumentsText }) => ({ id, name, arguments: argumentsText })),
    finishReason: response.finishReason,
    requestId: result.requestId,
    evidenceId: result.evidenceId,
    permitId: result.permitId,
    provider: result.provider,
    model: result.model,
    sensitivity: result.classification.level,
    tokens: result.usage,
    fidelity: result.fidelity,
    latency: result.latency,
    costUsd: result.costUsd ?? null,
    markers: result.markers,
    warnings: result.warnings,
    attempts: result.attempts,
    /** Candidates of the walk not called (a hold came into force during it): empty when none. */
    passedOver: (result.passedOver ?? []).map(passedOverSummary),
  };
}

export type InvocationSummary = ReturnType<typeof invocationSummary>;
