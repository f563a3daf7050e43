import { REASONING_EFFORTS, type EngineKind, type ModelDeviation, type ReasoningEffort, type Vendor } from '../common/vocabulary.js';
import type { CanonicalRequest, JsonObject, WireWarning } from './canonical.js';

export { REASONING_EFFORTS, type ReasoningEffort };

export function isReasoningEffort(value: unknown): value is ReasoningEffort {
  return typeof value === 'string' && (REASONING_EFFORTS as readonly string[]).includes(value);
}

/** The client's request field that carried an effort: Chat Completions, Responses, Ollama's native `think`, Anthropic's `output_config.effort`. */
export type ReasoningEffortField = 'reasoning_effort' | 'reasoning.effort' | 'think' | 'output_config.effort';

/**
 * The levels the Messages API takes in `output_config.effort` (platform.claude.com/docs/en/build-with-claude/effort:
 * max, xhigh, high, medium, low; "high ... Equivalent to not setting the parameter"; which a model
 * takes is the API's to say). It has no `none` or `minimal`.
 */
export const ANTHROPIC_OUTPUT_EFFORTS: readonly ReasoningEffort[] = ['low', 'medium', 'high', 'xhigh', 'max'];

/** What a request asks of the model's reasoning, and the client's field that asked it. */
export interface RequestedEffort {
  effort: ReasoningEffort;
  field: ReasoningEffortField | 'thinking';
}

/**
 * Anthropic `thinking` budgets as efforts, the inverse of `THINKING_BUDGETS` (each bound halfway,
 * geometrically, between two budgets of that table): a budget up to 2048 tokens is `low`, up to
 * 8192 `medium`, up to 24 576 `high`, up to 49 152 `xhigh`, more `max`.
 */
export const THINKING_BUDGET_EFFORTS: ReadonlyArray<{ upTo: number; effort: ReasoningEffort }> = [
  { upTo: 2048, effort: 'low' },
  { upTo: 8192, effort: 'medium' },
  { upTo: 24576, effort: 'high' },
  { upTo: 49152, effort: 'xhigh' },
];

/**
 * Efforts as Anthropic `thinking` budgets (`{type: "enabled", budget_tokens}`): `low` is the
 * Messages API's minimum budget (1024), `medium` and `high` each four times the level before,
 * `xhigh` twice `high`, `max` twice `xhigh`. `none` and `minimal` send no thinking (its smallest budget is more than minimal).
 */
export const THINKING_BUDGETS: Readonly<Record<'low' | 'medium' | 'high' | 'xhigh' | 'max', number>> = { low: 1024, medium: 4096, high: 16384, xhigh: 32768, max: 65536 };

/**
 * The effort an Anthropic `thinking` setting stands for: `disabled` is `none`, `enabled` by its
 * budget (`THINKING_BUDGET_EFFORTS`; without one, `medium`); `adaptive` names none (the model
 * decides), so undefined.
 */
export function effortOfThinking(thinking: JsonObject): ReasoningEffort | undefined {
  const type = thinking['type'];
  if (type === 'disabled') return 'none';
  if (type !== 'enabled') return undefined;
  const budget = thinking['budget_tokens'];
  if (typeof budget !== 'number') return 'medium';
  return THINKING_BUDGET_EFFORTS.find((row) => budget <= row.upTo)?.effort ?? 'max';
}

/** The request's effort: the client's own, or its Anthropic `thinking` read as one. */
export function requestedEffort(request: Pick<CanonicalRequest, 'reasoningEffort' | 'thinking'>): RequestedEffort | undefined {
  if (request.reasoningEffort !== undefined) return { ...request.reasoningEffort };
  if (request.thinking === undefined) return undefined;
  const effort = effortOfThinking(request.thinking);
  return effort === undefined ? undefined : { effort, field: 'thinking' };
}

/** What an openai-wire server does with `reasoning_effort`, as its provider record tells. */
export type EffortCarriage =
  /** It takes the field, at these levels (a level it lacks is sent as the nearest it has). */
  | { kind: 'sent'; levels: readonly ReasoningEffort[]; server: string }
  /** It would not act on it (it ignores the field, or refuses it for a model that cannot think): not sent. */
  | { kind: 'not_honoured'; reason: string }
  /** It answers the field with a 400: the router leaves such a model out of a reasoning request. */
  | { kind: 'refused'; reason: string };

/** The tags that say a model reasons (Ollama's `thinking` capability; `reasoning` for OpenAI's reasoning models). */
export const REASONING_TAGS: readonly string[] = ['reasoning', 'thinking'];

/** The target facts `openAIEffortCarriage` reads: the record's engine and vendor, the model's tags and declared levels. */
export interface EffortTarget {
  engine?: EngineKind;
  vendor?: Vendor;
  modelTags?: readonly string[];
  /** The model's `reasoningEfforts` from its record. */
  modelEfforts?: readonly ReasoningEffort[];
}

/** The levels every OpenAI reasoning model takes (o-series, GPT-5 and GPT-6 alike); a model's record declares more. */
const OPENAI_COMMON_EFFORTS: readonly ReasoningEffort[] = ['low', 'medium', 'high'];
/** vLLM's ChatCompletionRequest: `reasoning_effort: Optional[Literal["low", "medium", "high"]]` (any other value a 400). */
const VLLM_EFFORTS: readonly ReasoningEffort[] = ['low', 'medium', 'high'];
/** Ollama's OpenAI layer (openai/openai.go): "high", "medium", "low" or "none", mapped to `think` (any other value a 400). */
const OLLAMA_EFFORTS: readonly ReasoningEffort[] = ['none', 'low', 'medium', 'high'];

/**
 * Whether (and how) `reasoning_effort` reaches the model behind an openai-wire record:
 * - llama-server: `oaicompat_chat_params_parse` reads no `reasoning_effort` (unknown fields are
 *   copied through and ignored; its thinking is set at launch, `--reasoning-budget`), so it is not
 *   honoured; nor by syndicate's own embedded engine.
 * - a model whose record declares `reasoningEfforts`: those levels (within what its engine takes).
 * - OpenAI's own API (`vendor: openai`): low, medium, high to a model tagged `reasoning`; any other
 *   model (gpt-4o, gpt-4.1) answers the field with 400 "Unsupported parameter", so it is refused.
 * - vLLM: low, medium, high, whatever the model (its chat template decides what they do).
 * - Ollama: none, low, medium, high to a model tagged thinking; one without the thinking
 *   capability answers `think` with 400 "does not support thinking", so it is not sent to it.
 * - Any other server (LM Studio, llama-swap, a hosted one): low, medium, high to a model tagged
 *   reasoning or thinking; otherwise nothing is known of it, so it is not sent.
 */
export function openAIEffortCarriage(target: EffortTarget): EffortCarriage {
  if (target.engine === 'llama.cpp') {
    return { kind: 'not_honoured', reason: "llama-server reads no reasoning_effort (its thinking is set when it starts: --reasoning-budget, the chat template's kwargs)" };
  }
  if (target.engine === 'node-llama-cpp') return { kind: 'not_honoured', reason: "syndicate's embedded engine reads no reasoning effort" };
  const engineLevels = target.engine === 'vllm' ? VLLM_EFFORTS : target.engine === 'ollama' ? OLLAMA_EFFORTS : undefined;
  const server = target.vendor === 'openai' ? 'OpenAI' : target.engine === 'vllm' ? 'vLLM' : target.engine === 'ollama' ? 'Ollama' : 'the server';
  const declared = target.modelEfforts;
  if (declared !== undefined && declared.length > 0) {
    const levels = engineLevels === undefined ? declared : declared.filter((level) => engineLevels.includes(level));
    if (levels.length > 0) return { kind: 'sent', levels, server: `${server} (the model's reasoningEfforts)` };
  }
  const reasons = (target.modelTags ?? []).some((tag) => REASONING_TAGS.includes(tag));
  if (target.vendor === 'openai') {
    return reasons
      ? { kind: 'sent', levels: OPENAI_COMMON_EFFORTS, server }
      : { kind: 'refused', reason: 'OpenAI answers reasoning_effort with 400 "Unsupported parameter" for a model that does not reason, and the model is not tagged reasoning' };
  }
  if (target.engine === 'vllm') return { kind: 'sent', levels: VLLM_EFFORTS, server };
  if (target.engine === 'ollama') {
    return reasons
      ? { kind: 'sent', levels: OLLAMA_EFFORTS, server }
      : { kind: 'not_honoured', reason: 'Ollama refuses a thinking setting for a model without the thinking capability, and the model is not tagged thinking' };
  }
  return reasons
    ? { kind: 'sent', levels: ['low', 'medium', 'high'], server }
    : { kind: 'not_honoured', reason: 'the model is not tagged reasoning or thinking, so its server is not known to take reasoning_effort' };
}

/** The level of `levels` nearest `effort` (ties go up); undefined for `none` when `levels` lacks it. */
export function nearestEffort(effort: ReasoningEffort, levels: readonly ReasoningEffort[]): ReasoningEffort | undefined {
  if (levels.includes(effort)) return effort;
  if (effort === 'none') return undefined;
  const rank = REASONING_EFFORTS.indexOf(effort);
  let nearest: ReasoningEffort | undefined;
  for (const level of levels) {
    if (level === 'none') continue;
    const distance = Math.abs(REASONING_EFFORTS.indexOf(level) - rank);
    if (nearest === undefined || distance <= Math.abs(REASONING_EFFORTS.indexOf(nearest) - rank)) nearest = level;
  }
  return nearest;
}

/** The setting of the warning that says the request's effort reached the model in another form (a level mapped, thinking as an effort). */
export const REASONING_MAPPED_SETTING = 'reasoningMapping';

/** The setting of a warning that says an effort was not sent (one from Anthropic `thinking` says `thinking`). */
export const REASONING_UNSENT_SETTING = 'reasoningEffort' satisfies keyof CanonicalRequest;

/** The setting of the warning that says the effort was not sent: the canonical setting it came from. */
export function unsentEffortSetting(requested: RequestedEffort): 'thinking' | typeof REASONING_UNSENT_SETTING {
  return requested.field === 'thinking' ? 'thinking' : REASONING_UNSENT_SETTING;
}

/** The request's effort as its client worded it, for messages: `reasoning_effort "high"`, `thinking budget_tokens 8000`. */
export function describeRequestedEffort(requested: RequestedEffort, thinking: JsonObject | undefined): string {
  if (requested.field !== 'thinking') return `${requested.field} "${requested.effort}"`;
  const budget = thinking?.['budget_tokens'];
  return `thinking type ${String(thinking?.['type'])}${typeof budget === 'number' ? ` budget_tokens ${budget}` : ''} (effort ${requested.effort})`;
}

/**
 * `reasoning_effort` for an openai-wire request, and the warnings that say how the request's
 * effort was carried: sent at the nearest level the server takes, or not sent and why. A model
 * that cannot reason (`refused`) asked for no reasoning (`none`) needs nothing sent and is not told.
 */
export function encodeOpenAIEffort(request: Pick<CanonicalRequest, 'reasoningEffort' | 'thinking'>, target: EffortTarget): { value?: ReasoningEffort; warnings: WireWarning[] } {
  const requested = requestedEffort(request);
  if (requested === undefined) return { warnings: [] };
  const asked = describeRequestedEffort(requested, request.thinking);
  const carriage = openAIEffortCarriage(target);
  if (carriage.kind === 'refused' && requested.effort === 'none') return { warnings: [] };
  if (carriage.kind !== 'sent') return { warnings: [{ setting: unsentEffortSetting(requested), message: `${asked} was not sent: ${carriage.reason}` }] };
  const level = nearestEffort(requested.effort, carriage.levels);
  if (level === undefined) {
    return { warnings: [{ setting: unsentEffortSetting(requested), message: `${asked} was not sent: ${carriage.server} takes reasoning_effort ${carriage.levels.join(', ')} only` }] };
  }
  if (level === requested.effort && requested.field !== 'thinking') return { value: level, warnings: [] };
  const why = level === requested.effort ? '' : ` (${carriage.server} takes ${carriage.levels.join(', ')})`;
  const changed = level === requested.effort ? {} : { fields: [{ setting: 'reasoning' as const, effect: 'changed' as const }] };
  return { value: level, warnings: [{ setting: REASONING_MAPPED_SETTING, message: `${asked} was sent as reasoning_effort "${level}"${why}`, ...changed }] };
}

/**
 * Why the model's record refuses the request's reasoning (the router leaves it out, rule
 * `reasoning`); undefined when it does not. Asking a model that cannot reason for none is no refusal.
 */
export function effortRefusal(requested: RequestedEffort, thinking: JsonObject | undefined, target: EffortTarget & { wire: 'openai' | 'anthropic' }): string | undefined {
  if (requested.effort === 'none' || target.wire !== 'openai') return undefined;
  const carriage = openAIEffortCarriage(target);
  return carriage.kind === 'refused' ? `request sets ${describeRequestedEffort(requested, thinking)} and ${carriage.reason}` : undefined;
}

/**
 * An effort as Anthropic thinking, before the request's other settings are weighed (the adapter
 * raises `max_tokens` and drops a temperature around it):
 * - `none`: no thinking (the Messages API's default; a model that always thinks is left out by the router).
 * - a model that always thinks (`thinking_always_on`: adaptive thinking only): `{type: "adaptive"}`
 *   with `output_config.effort` at the nearest level it takes (its `reasoningEfforts`, else low to
 *   max; `minimal` as `low`), as its 400 asks ("Use thinking.type.adaptive and output_config.effort").
 * - any other model: `{type: "enabled", budget_tokens}` from `THINKING_BUDGETS`; `minimal`, under
 *   the smallest budget, sends none.
 */
export function anthropicThinkingForEffort(
  effort: ReasoningEffort,
  target: { modelDeviations?: readonly ModelDeviation[]; modelEfforts?: readonly ReasoningEffort[] },
): { thinking: JsonObject; outputEffort?: ReasoningEffort } | undefined {
  if (effort === 'none') return undefined;
  if (target.modelDeviations?.includes('thinking_always_on') === true) {
    return { thinking: { type: 'adaptive' }, outputEffort: nearestEffort(effort, target.modelEfforts ?? ANTHROPIC_OUTPUT_EFFORTS) ?? 'low' };
  }
  if (effort === 'minimal') return undefined;
  return { thinking: { type: 'enabled', budget_tokens: THINKING_BUDGETS[effort] } };
}

/** An Anthropic client's `output_config.effort` as Anthropic's own API gets it: as given, or the nearest of the model's declared levels. */
export function clientOutputEffort(effort: ReasoningEffort, modelEfforts: readonly ReasoningEffort[] | undefined): ReasoningEffort {
  return modelEfforts === undefined || modelEfforts.length === 0 ? effort : (nearestEffort(effort, modelEfforts) ?? effort);
}

/**
 * How the request's reasoning would reach a candidate, in words, for `route --explain`: the
 * `reasoning_effort` an openai-wire server would get (or why none), or the Anthropic thinking the
 * effort becomes. Undefined when the request sets none, or sends its own thinking to the anthropic wire.
 */
export function describeEffortCarriage(
  request: Pick<CanonicalRequest, 'reasoningEffort' | 'thinking'>,
  target: EffortTarget & { wire: 'openai' | 'anthropic'; modelDeviations?: readonly ModelDeviation[] },
): string | undefined {
  const requested = requestedEffort(request);
  if (requested === undefined) return undefined;
  const asked = describeRequestedEffort(requested, request.thinking);
  if (target.wire === 'openai') {
    const encoded = encodeOpenAIEffort(request, target);
    if (encoded.value !== undefined) return `${asked} sent as reasoning_effort "${encoded.value}"`;
    return encoded.warnings[0]?.message ?? `${asked}: nothing to send`;
  }
  if (requested.field === 'thinking') return undefined;
  if (requested.field === 'output_config.effort' && target.vendor === 'anthropic') return `${asked} sent as output_config.effort "${clientOutputEffort(requested.effort, target.modelEfforts)}"`;
  if (request.thinking !== undefined) return `${asked} not sent (the client's thinking is sent as given)`;
  const mapped = anthropicThinkingForEffort(requested.effort, target);
  if (mapped === undefined) return `${asked} sent as no thinking`;
  return mapped.outputEffort === undefined
    ? `${asked} sent as thinking budget_tokens ${String(mapped.thinking['budget_tokens'])}`
    : `${asked} sent as adaptive thinking, output_config.effort "${mapped.outputEffort}"`;
}
