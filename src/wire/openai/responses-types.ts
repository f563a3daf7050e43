/**
 * The OpenAI Responses API (`POST /v1/responses`) as the gateway serves it: the response object
 * and the output items it writes. Only what syndicate emits; the request is read untyped.
 */
import type { FreeformFormat, JsonObject } from '../canonical.js';

export interface ResponsesOutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  /** Only when the request included `message.output_text.logprobs` and the engine returned them. */
  logprobs: ResponsesLogprob[];
}

/** One token of the answer with its likeliest alternatives (`top_logprobs`), as the API writes it. */
export interface ResponsesLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** The model's refusal to answer (OpenAI's own content part for it: `CanonicalResponse.refusal`). */
export interface ResponsesOutputRefusal {
  type: 'refusal';
  refusal: string;
}

export interface ResponsesMessageItem {
  type: 'message';
  id: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: (ResponsesOutputText | ResponsesOutputRefusal)[];
}

export interface ResponsesFunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

/** A call of a `custom` (freeform) tool: `input` is the raw text, not JSON. */
export interface ResponsesCustomToolCallItem {
  type: 'custom_tool_call';
  id: string;
  call_id: string;
  name: string;
  input: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

/** A reasoning item: the model's raw reasoning as `reasoning_text` content (no summary, nothing encrypted). */
export interface ResponsesReasoningItem {
  type: 'reasoning';
  id: string;
  summary: [];
  content: { type: 'reasoning_text'; text: string }[];
  status: 'in_progress' | 'completed' | 'incomplete';
}

export type ResponsesOutputItem = ResponsesReasoningItem | ResponsesMessageItem | ResponsesFunctionCallItem | ResponsesCustomToolCallItem;

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponsesStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export type ResponsesToolEcho =
  | { type: 'function'; name: string; description: string | null; parameters: JsonObject; strict: boolean | null }
  | { type: 'custom'; name: string; description: string | null; format?: FreeformFormat };

export type ResponsesToolChoice = 'auto' | 'none' | 'required' | { type: 'function' | 'custom'; name: string };

export type ResponsesTextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: JsonObject; strict: boolean | null };

export interface ResponsesObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponsesStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: ResponsesOutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: null;
  store: false;
  temperature: number | null;
  text: { format: ResponsesTextFormat };
  tool_choice: ResponsesToolChoice;
  tools: ResponsesToolEcho[];
  top_p: number | null;
  truncation: 'disabled';
  usage?: ResponsesUsage;
  metadata: Record<string, string>;
}
