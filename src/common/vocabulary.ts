/**
 * The closed vocabularies of DESIGN.md, each in its exposure or capability order.
 * Every concept that compares levels or classes uses these, never string literals of its own.
 */

export const SENSITIVITY_LEVELS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type SensitivityLevel = (typeof SENSITIVITY_LEVELS)[number];

/** Provider classes ordered by exposure; `blocked` is never called and sits outside the order. */
export const PROVIDER_CLASSES = ['local', 'approved_hosted', 'restricted_hosted', 'blocked'] as const;
export type ProviderClass = (typeof PROVIDER_CLASSES)[number];
export const CALLABLE_PROVIDER_CLASSES = ['local', 'approved_hosted', 'restricted_hosted'] as const;

export const CAPABILITY_CLASSES = ['small', 'medium', 'large', 'frontier'] as const;
export type CapabilityClass = (typeof CAPABILITY_CLASSES)[number];

export const WIRE_FORMATS = ['openai', 'anthropic'] as const;
export type WireFormat = (typeof WIRE_FORMATS)[number];

/**
 * Whose own hosted API serves a provider's base URL, when its wire has extensions the other
 * speakers of that wire lack: `openai` takes `custom` (freeform) tools natively; `anthropic` takes
 * a JSON Schema answer format natively (`output_config.format`, structured outputs).
 */
export const VENDORS = ['openai', 'anthropic'] as const;
export type Vendor = (typeof VENDORS)[number];

export const DEVIATIONS = [
  'approximate_token_counts',
  'partial_streaming_reliability',
  'weak_json_adherence',
  'unsupported_seed_control',
  'nonstandard_tool_call_serialization',
] as const;
export type Deviation = (typeof DEVIATIONS)[number];

/**
 * Request settings one model of a provider refuses with a 400 where its wire format accepts them,
 * declared per model (`models[].deviations`): `forced_tool_choice_unsupported` — a tool choice
 * that forces a tool (Anthropic `{type: "any"}` / `{type: "tool"}`, OpenAI `"required"` / a named
 * function); `thinking_always_on` — a `thinking` setting that turns extended thinking off or sets
 * its budget by hand (`{type: "disabled"}`, `{type: "enabled", budget_tokens}`).
 */
export const MODEL_DEVIATIONS = ['forced_tool_choice_unsupported', 'thinking_always_on'] as const;
export type ModelDeviation = (typeof MODEL_DEVIATIONS)[number];

/**
 * How hard a model should reason before it answers, in OpenAI's levels (its API reference:
 * "none, minimal, low, medium, high, xhigh, and max"; Anthropic's `output_config.effort` takes
 * low to max), the canonical scale every gateway face decodes to and every wire encodes from.
 */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

export const ENGINE_KINDS = ['ollama', 'llama.cpp', 'vllm', 'lmstudio', 'llama-swap', 'node-llama-cpp'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** What a registered model does: answer chat requests, or turn texts into vectors. */
export const MODEL_KINDS = ['chat', 'embedding'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** A model's kind as its record declares it; a record without one declares a chat model. */
export function modelKindOf(model: { kind?: ModelKind | undefined }): ModelKind {
  return model.kind ?? 'chat';
}

export const WORKFLOW_CLASSES = ['interactive', 'batch'] as const;
export type WorkflowClass = (typeof WORKFLOW_CLASSES)[number];

/**
 * A session id as every surface takes it: the gateway's `x-syndicate-session`, `run --session`
 * and a permit's session. It is recorded in evidence and matched by `evidence list --session`.
 */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const SESSION_ID_RULE = '1-128 characters of letters, digits, `.`, `_`, `:` or `-`';

export function sensitivityRank(level: SensitivityLevel): number {
  return SENSITIVITY_LEVELS.indexOf(level);
}

export function maxSensitivity(a: SensitivityLevel, b: SensitivityLevel): SensitivityLevel {
  return sensitivityRank(a) >= sensitivityRank(b) ? a : b;
}

/** The highest of the levels given (null and undefined: none), or undefined when none is given. */
export function highestSensitivity(levels: Iterable<SensitivityLevel | null | undefined>): SensitivityLevel | undefined {
  let highest: SensitivityLevel | undefined;
  for (const level of levels) if (level !== null && level !== undefined) highest = highest === undefined ? level : maxSensitivity(highest, level);
  return highest;
}

/** The levels given, each once, in exposure order (`confidential,restricted` however they were given). */
export function inLevelOrder(levels: Iterable<SensitivityLevel>): SensitivityLevel[] {
  const given = new Set(levels);
  return SENSITIVITY_LEVELS.filter((level) => given.has(level));
}

export function isSensitivityLevel(value: unknown): value is SensitivityLevel {
  return typeof value === 'string' && (SENSITIVITY_LEVELS as readonly string[]).includes(value);
}

/** Exposure rank of a callable class; `blocked` ranks above everything so it is never "stricter". */
export function exposureRank(providerClass: ProviderClass): number {
  return providerClass === 'blocked' ? Number.POSITIVE_INFINITY : PROVIDER_CLASSES.indexOf(providerClass);
}

export function isHostedClass(providerClass: ProviderClass): boolean {
  return providerClass !== 'local';
}

export function capabilityRank(capability: CapabilityClass): number {
  return CAPABILITY_CLASSES.indexOf(capability);
}

/** The task tag of a model that takes a text completion (`POST /v1/completions`). */
export const COMPLETIONS_TAG = 'completions';
/** The task tag of a model that takes a text completion with a `suffix` (fill in the middle). */
export const FILL_IN_MIDDLE_TAG = 'fill-in-middle';
