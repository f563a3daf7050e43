/**
 * The OpenAI chat completions wire shapes syndicate sends and serves
 * (https://platform.openai.com/docs/api-reference/chat). Only the fields we use.
 */

import type { ReasoningEffort } from '../reasoning.js';
import type { JsonObject } from '../canonical.js';

export type OpenAIContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } };

export interface OpenAIFunctionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A call of a `custom` (freeform) tool: `input` is the raw text, not JSON. */
export interface OpenAICustomToolCall {
  id: string;
  type: 'custom';
  custom: { name: string; input: string };
}

export type OpenAIToolCall = OpenAIFunctionToolCall | OpenAICustomToolCall;

export type OpenAIMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | OpenAIContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface OpenAIFunctionToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: JsonObject; strict?: boolean };
}

/** A custom (freeform) tool as Chat Completions declares it: the grammar nested under `format.grammar` (openai-node's `ChatCompletionCustomTool`). */
export interface OpenAICustomToolDefinition {
  type: 'custom';
  custom: { name: string; description?: string; format?: { type: 'text' } | { type: 'grammar'; grammar: { syntax?: string; definition: string } } };
}

export type OpenAIToolDefinition = OpenAIFunctionToolDefinition | OpenAICustomToolDefinition;

export type OpenAIToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } } | { type: 'custom'; custom: { name: string } };

export type OpenAIResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema: JsonObject; strict?: boolean } };

export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIMessage[];
  tools?: OpenAIToolDefinition[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: OpenAIResponseFormat;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
  /** llama-server: the answer carries `__verbose`, its native result (which names the stop string that ended it). */
  verbose?: boolean;
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  reasoning_effort?: ReasoningEffort;
  logprobs?: boolean;
  top_logprobs?: number;
}

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

export interface OpenAIChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    /** `reasoning_content`: not OpenAI's own; the field llama.cpp, vLLM and DeepSeek use, which chat clients display. */
    message: { role: 'assistant'; content: string | null; reasoning_content?: string; refusal: string | null; tool_calls?: OpenAIToolCall[] };
    /** The upstream's, as it gave them (`CanonicalResponse.logprobs`); null when none came. */
    logprobs: JsonObject | null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage?: OpenAIUsage;
}

/**
 * A tool call's piece of a stream chunk. A custom call's is `{index, id, type: "custom", custom:
 * {name, input}}` and then `{index, custom: {input}}`: the shape OpenAI streams (reported in
 * openai/openai-openapi#576; the spec's chunk schema still names only `function`).
 */
export type OpenAIChunkToolCallDelta =
  | { index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }
  | { index: number; id?: string; type?: 'custom'; custom: { name?: string; input: string } };

export interface OpenAIChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string; reasoning_content?: string; refusal?: string; tool_calls?: OpenAIChunkToolCallDelta[] };
    logprobs: JsonObject | null;
    finish_reason: OpenAIFinishReason | null;
  }>;
  usage?: OpenAIUsage | null;
}
