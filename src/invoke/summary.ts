import { maxTokensFilledIn } from '../wire/anthropic/adapter.js';
import type { CanonicalResponse, WireWarning } from '../wire/canonical.js';
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

/**
 * The warnings `run` prints on stderr: every one the answer came with but the `max_tokens` the
 * anthropic wire filled in for a request without one (the policy's `cost.defaultOutputTokens`,
 * 1024 by default, or what the context window leaves) — noise on every such call — unless the
 * answer was cut at it, when it says so and how to ask for more. `--json`, MCP `complete` and the
 * evidence keep every warning as it was recorded.
 */
export function printedWarnings(result: Pick<InvocationResult, 'warnings' | 'response'>): WireWarning[] {
  return result.warnings.flatMap((warning) => {
    const sent = maxTokensFilledIn(warning);
    if (sent === undefined) return [warning];
    if (result.response.finishReason !== 'length') return [];
    const message = `the answer was cut at ${sent} tokens (stop reason ${result.response.rawFinishReason ?? 'max_tokens'}), the max_tokens sent for want of one (the anthropic wire requires it: the policy's cost.defaultOutputTokens, or less when the context window leaves less): ask for more with --max-tokens`;
    return [{ ...warning, message }];
  });
}

/**
 * How `run` and MCP `complete` say that the provider stopped an answer for its content (Anthropic's
 * `refusal` stop, a `content_filter` finish, Zhipu GLM's `sensitive`), naming its own stop reason.
 */
export function contentStopSentence(response: Pick<CanonicalResponse, 'rawFinishReason'>): string {
  return `the provider stopped the answer for its content (stop reason ${response.rawFinishReason ?? 'content_filter'})`;
}
