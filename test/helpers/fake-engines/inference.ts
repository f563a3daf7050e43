import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LM_STUDIO_STREAM_USAGE_VERSION, lmStudioLoadedContext, ollamaLoadedContext, type EngineState, type ResolvedModel } from './engine-state.js';
import { findOllamaModel } from './discovery.js';
import { answerEmbeddings } from './embeddings.js';
import { chatLogprobs, chatLogprobsAsked, releaseAtLeast, type LogprobsAsked } from './logprobs.js';
import { answerOllamaGenerate, answerTextCompletion, isOllamaPromptGenerate, OLLAMA_GENERATE_PATH, TEXT_COMPLETION_ENGINES, TEXT_COMPLETIONS_PATH } from './text-completions.js';
import type { FakeEngineKind } from './index.js';
import {
  contentText,
  countPromptTokens,
  countTokens,
  generate,
  isPlainObject,
  parseJsonObject,
  tokenPieces,
  type ChatRequestView,
  type Generation,
} from './model-behaviour.js';
import { formatSseFrame, splitSseFrames } from './sse.js';
import { cloneJson, loadChunkTemplates, loadJsonTemplate } from './templates.js';
import {
  compactJson,
  goJson,
  jsonHeaders,
  prettyJson,
  randomBase62,
  randomHex,
  randomLowerAlphanumeric,
  serializeBody,
  serializeChunk,
  streamHeaders,
  type Reply,
} from './wire-format.js';

type Json = Record<string, unknown>;

/** The inference endpoints, the only ones faults apply to (Ollama's `/api/generate` with a prompt: not a load). */
export function isInferencePath(kind: FakeEngineKind, path: string, body: Buffer): boolean {
  if (kind === 'anthropic') return path === '/v1/messages';
  if (kind === 'ollama' && path === OLLAMA_GENERATE_PATH) return isOllamaPromptGenerate(body);
  if (kind === 'lmstudio' && path === '/api/v0/chat/completions') return true;
  return path === '/v1/chat/completions' || path === EMBEDDINGS_PATH || (path === TEXT_COMPLETIONS_PATH && TEXT_COMPLETION_ENGINES.has(kind));
}

/** The OpenAI embeddings endpoint of the openai-wire fakes. */
const EMBEDDINGS_PATH = '/v1/embeddings';

/** Answers one inference request the way the engine would (quirks included unless conforming). */
export function answerInference(state: EngineState, path: string, body: Buffer, headers: IncomingHttpHeaders): Reply {
  if (state.kind === 'anthropic') return anthropicMessages(state, body, headers);
  if (path === EMBEDDINGS_PATH) return answerEmbeddings(state, path, body, headers);
  if (path === OLLAMA_GENERATE_PATH) return answerOllamaGenerate(state, path, body);
  return path === TEXT_COMPLETIONS_PATH ? answerTextCompletion(state, path, body) : chatCompletions(state, path, body, headers);
}

// ================================================================== errors

function defaultErrorMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests';
  if (status === 503) return 'Service Unavailable';
  if (status === 408) return 'Request Timeout';
  if (status >= 500) return 'Internal Server Error';
  return `HTTP ${status}`;
}

/** An error body in the engine's own error envelope. */
export function errorReply(state: EngineState, path: string, status: number, message = defaultErrorMessage(status), type?: string): Reply {
  const headers = jsonHeaders(state.kind, path);
  switch (state.kind) {
    case 'ollama':
      // The native API (gin's c.JSON): `{"error":"…"}`, compact, no newline; the OpenAI middleware's envelope on /v1.
      if (path.startsWith('/api/')) return { status, headers, body: goJson({ error: message }) };
      return { status, headers, body: `${compactJson({ error: { message, type: type ?? 'api_error', param: null, code: null } })}\n` };
    case 'llama.cpp': {
      if (status === 503 && message === defaultErrorMessage(503)) message = 'Loading model';
      const errorType = type ?? (status === 503 ? 'unavailable_error' : status === 404 ? 'not_found_error' : status >= 500 ? 'server_error' : 'invalid_request_error');
      // Captured: 404 and 503 bodies order their keys message, type, code; the others code, message, type.
      const error = status === 404 || status === 503 ? { message, type: errorType, code: status } : { code: status, message, type: errorType };
      return { status, headers, body: compactJson({ error }) };
    }
    case 'vllm':
      return { status, headers, body: compactJson({ object: 'error', message, type: type ?? (status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError'), param: null, code: status }) };
    case 'lmstudio':
      return { status, headers, body: compactJson({ error: message }) };
    case 'openai': {
      if (status === 429) headers['retry-after'] = '1';
      const errorType = type ?? (status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error');
      const code = status === 429 ? 'rate_limit_exceeded' : null;
      return { status, headers, body: `${prettyJson({ error: { message, type: errorType, param: null, code } }, 4)}\n` };
    }
    case 'anthropic': {
      if (status === 429) headers['retry-after'] = '1';
      const errorType = type ?? anthropicErrorType(status);
      return { status, headers, body: compactJson({ type: 'error', error: { type: errorType, message: status === 529 ? 'Overloaded' : message } }) };
    }
  }
}

function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

// ================================================================== OpenAI-compatible chat completions

/** Request fields OpenAI's chat completions accept; vLLM knows these plus its own sampling extras. */
const OPENAI_FIELDS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'n',
  'stop', 'seed', 'response_format', 'tools', 'tool_choice', 'parallel_tool_calls', 'user', 'logprobs', 'top_logprobs',
  'presence_penalty', 'frequency_penalty', 'logit_bias', 'metadata', 'store', 'service_tier', 'modalities', 'audio',
  'prediction', 'reasoning_effort', 'web_search_options', 'verbosity', 'prompt_cache_key', 'safety_identifier',
  'functions', 'function_call',
]);
const VLLM_EXTRA_FIELDS = new Set([
  'top_k', 'min_p', 'repetition_penalty', 'length_penalty', 'stop_token_ids', 'include_stop_str_in_output',
  'ignore_eos', 'min_tokens', 'skip_special_tokens', 'spaces_between_special_tokens', 'truncate_prompt_tokens',
  'prompt_logprobs', 'allowed_token_ids', 'bad_words', 'echo', 'add_generation_prompt', 'continue_final_message',
  'add_special_tokens', 'documents', 'chat_template', 'chat_template_kwargs', 'mm_processor_kwargs', 'guided_json',
  'guided_regex', 'guided_choice', 'guided_grammar', 'structural_tag', 'guided_decoding_backend',
  'guided_whitespace_pattern', 'priority', 'request_id', 'logits_processors', 'return_tokens_as_token_ids',
  'cache_salt', 'kv_transfer_params', 'vllm_xargs', 'use_beam_search',
]);

/**
 * A `reasoning_effort` the engine refuses: vLLM's request model declares
 * `Optional[Literal["low", "medium", "high"]]`; Ollama's OpenAI layer answers `invalid reasoning
 * value: '%s' (must be "high", "medium", "low", or "none")` (openai/openai.go).
 */
function reasoningEffortProblem(kind: FakeEngineKind, effort: unknown): string | undefined {
  if (effort === undefined || effort === null) return undefined;
  if (kind === 'vllm' && !['low', 'medium', 'high'].includes(String(effort))) return `1 validation error: reasoning_effort: Input should be 'low', 'medium' or 'high'`;
  if (kind === 'ollama' && !['high', 'medium', 'low', 'none'].includes(String(effort))) return `invalid reasoning value: '${String(effort)}' (must be "high", "medium", "low", or "none")`;
  return undefined;
}

/**
 * A tool as the fake model sees it. OpenAI alone takes `custom` (freeform) tools, `{type: "custom",
 * custom: {name, description?, format?}}` (openai-node's `ChatCompletionCustomTool`), called with raw text.
 */
function toolView(kind: FakeEngineKind, tool: Json): ChatRequestView['tools'][number] {
  if (kind === 'openai' && tool['type'] === 'custom' && isPlainObject(tool['custom'])) return { name: String(tool['custom']['name'] ?? 'tool'), parameters: undefined, freeform: true };
  const fn = isPlainObject(tool['function']) ? tool['function'] : {};
  return { name: String(fn['name'] ?? 'tool'), parameters: fn['parameters'] };
}

/**
 * What OpenAI refuses in a custom tool: Chat Completions nests a grammar under `format.grammar`
 * ({type: "grammar", grammar: {syntax, definition}}); the Responses API's flat grammar is refused
 * with "Missing required parameter: 'tools[N].custom.format.grammar'." (captured in
 * Oaklight/llm-rosetta#488, a gpt-5.5 Chat Completions upstream).
 */
function customToolProblem(request: Json): string | undefined {
  const tools = Array.isArray(request['tools']) ? request['tools'] : [];
  for (const [index, tool] of tools.entries()) {
    if (!isPlainObject(tool) || tool['type'] !== 'custom') continue;
    const custom = tool['custom'];
    if (!isPlainObject(custom) || typeof custom['name'] !== 'string') return `Missing required parameter: 'tools[${index}].custom.name'.`;
    const format = custom['format'];
    if (isPlainObject(format) && format['type'] === 'grammar' && !isPlainObject(format['grammar'])) return `Missing required parameter: 'tools[${index}].custom.format.grammar'.`;
  }
  return undefined;
}

function chatRequestView(kind: FakeEngineKind, request: Json): ChatRequestView {
  const messages = Array.isArray(request['messages']) ? request['messages'] : [];
  const streamOptions = isPlainObject(request['stream_options']) ? request['stream_options'] : {};
  const stop = request['stop'];
  const view: ChatRequestView = {
    model: typeof request['model'] === 'string' ? request['model'] : '',
    messages: messages.filter(isPlainObject).map((message) => ({ role: String(message['role'] ?? 'user'), text: contentText(message['content']) })),
    stream: request['stream'] === true,
    includeUsage: streamOptions['include_usage'] === true,
    stop: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.filter((item): item is string => typeof item === 'string') : [],
    tools: (Array.isArray(request['tools']) ? request['tools'] : []).filter(isPlainObject).map((tool) => toolView(kind, tool)),
    toolChoice: 'auto',
  };
  const maxTokens = request['max_completion_tokens'] ?? request['max_tokens'];
  if (typeof maxTokens === 'number') view.maxTokens = maxTokens;
  if (kind === 'llama.cpp' && request['verbose'] === true) view.verbose = true;
  if (typeof request['temperature'] === 'number') view.temperature = request['temperature'];
  if (typeof request['seed'] === 'number') view.seed = request['seed'];
  const format = request['response_format'];
  if (isPlainObject(format) && typeof format['type'] === 'string') {
    const schemaHolder = isPlainObject(format['json_schema']) ? format['json_schema'] : {};
    view.responseFormat = { type: format['type'], schema: schemaHolder['schema'] };
  }
  const choice = request['tool_choice'];
  if (typeof choice === 'string') view.toolChoice = choice;
  else if (isPlainObject(choice) && isPlainObject(choice['function'])) view.toolChoice = String(choice['function']['name']);
  else if (kind === 'openai' && isPlainObject(choice) && choice['type'] === 'custom' && isPlainObject(choice['custom'])) view.toolChoice = String(choice['custom']['name']);
  return view;
}

/**
 * What Ollama's OpenAI-compatible layer says of the first image it cannot decode (openai/openai.go,
 * `decodeImageURL`): it fetches no http(s) URL, and takes only base64 data URLs of the image types
 * it names (or with no media type; newer builds add gif to jpeg, png and webp); undefined when every
 * image is such data.
 */
function hasImagePart(request: Json): boolean {
  const messages = Array.isArray(request['messages']) ? request['messages'] : [];
  return messages.some((message) => isPlainObject(message) && Array.isArray(message['content']) && message['content'].some((part) => isPlainObject(part) && part['type'] === 'image_url'));
}

function ollamaImageRefusal(request: Json): string | undefined {
  const messages = Array.isArray(request['messages']) ? request['messages'].filter(isPlainObject) : [];
  for (const message of messages) {
    const parts = Array.isArray(message['content']) ? message['content'].filter(isPlainObject) : [];
    for (const part of parts) {
      if (part['type'] !== 'image_url') continue;
      const image = part['image_url'];
      const url = typeof image === 'string' ? image : isPlainObject(image) && typeof image['url'] === 'string' ? image['url'] : '';
      if (url.startsWith('http://') || url.startsWith('https://')) return 'image URLs are not currently supported, please use base64 encoded data instead';
      if (!/^data:(?:image\/(?:jpeg|jpg|png|webp|gif))?;base64,/.test(url)) return 'invalid image input';
    }
  }
  return undefined;
}

function chatCompletions(state: EngineState, path: string, body: Buffer, headers: IncomingHttpHeaders): Reply {
  const { kind } = state;
  if (kind === 'openai' && !/^Bearer \S+/.test(headers.authorization ?? '')) {
    return errorReply(state, path, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. YOUR_KEY:), or as the username field (i.e. :YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.");
  }
  const request = parseJsonObject(body);
  if (request === undefined) return errorReply(state, path, kind === 'llama.cpp' ? 500 : 400, invalidJsonMessage(kind));
  if (kind === 'llama.cpp' && !Array.isArray(request['messages'])) {
    const file = request['messages'] === undefined ? 'error-missing-messages.json' : 'error-messages-not-array.json';
    return { status: 400, headers: jsonHeaders(kind, path), body: compactJson(loadJsonTemplate('llama.cpp', file)) };
  }
  const view = chatRequestView(kind, request);
  if (kind === 'openai') {
    const problem = customToolProblem(request);
    if (problem !== undefined) return errorReply(state, path, 400, problem);
  }

  // Unknown request fields: vLLM drops them with only a server-side log line; OpenAI refuses them.
  if (kind === 'vllm' || kind === 'openai') {
    const unknown = Object.keys(request).filter((field) => !OPENAI_FIELDS.has(field) && !(kind === 'vllm' && VLLM_EXTRA_FIELDS.has(field)));
    if (unknown.length > 0) {
      if (kind === 'vllm' && !state.conforming) {
        state.serverLog.push(`WARNING [protocol.py:81] The following fields were present in the request but ignored: {${unknown.map((field) => `'${field}'`).join(', ')}}`);
      } else {
        return kind === 'vllm'
          ? errorReply(state, path, 400, `Unrecognized request argument supplied: ${unknown[0]}`, 'BadRequestError')
          : errorReply(state, path, 400, `Unrecognized request argument supplied: ${unknown[0]}`);
      }
    }
  }

  const effortProblem = reasoningEffortProblem(kind, request['reasoning_effort']);
  if (effortProblem !== undefined) return errorReply(state, path, 400, effortProblem, kind === 'vllm' ? 'BadRequestError' : undefined);

  if (view.messages.length === 0) {
    return errorReply(state, path, 400, kind === 'ollama' ? '[] is too short - \'messages\'' : "'messages' must be a non-empty array");
  }

  // Ollama's OpenAI layer decodes images while it converts the request, before it looks up the model.
  const imageRefusal = kind === 'ollama' && !state.conforming ? ollamaImageRefusal(request) : undefined;
  if (imageRefusal !== undefined) return errorReply(state, path, 400, imageRefusal, 'invalid_request_error');
  // llama-server without --mmproj refuses image parts while it reads the request (error-image-unsupported.json).
  if (kind === 'llama.cpp' && !state.mmproj && hasImagePart(request)) {
    return errorReply(state, path, 500, 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj');
  }

  const model = resolveModel(state, view.model);
  if (model === undefined) {
    switch (kind) {
      case 'lmstudio':
        return lmStudioModelNotFound(state, view.model);
      case 'ollama':
        return errorReply(state, path, 404, `model "${view.model}" not found, try pulling it first`, 'api_error');
      case 'vllm':
        return errorReply(state, path, 404, `The model \`${view.model}\` does not exist.`, 'NotFoundError');
      default:
        return errorReply(state, path, 404, `The model \`${view.model}\` does not exist or you do not have access to it.`, 'invalid_request_error');
    }
  }

  if (kind === 'llama.cpp' && !state.conforming && !state.jinja && view.tools.length > 0) {
    return { status: 500, headers: jsonHeaders(kind, path), body: compactJson(loadJsonTemplate('llama.cpp', 'tools-without-jinja.error.json')) };
  }
  // llama-server refuses a prompt that fills its slot's context before it answers (chat-exceed-context.http).
  const promptTokens = countPromptTokens(view.messages);
  if (kind === 'llama.cpp' && promptTokens >= state.contextSize) {
    return {
      status: 400,
      headers: jsonHeaders(kind, path),
      body: compactJson({
        error: { code: 400, message: `request (${promptTokens} tokens) exceeds the available context size (${state.contextSize} tokens), try increasing it`, type: 'exceed_context_size_error', n_prompt_tokens: promptTokens, n_ctx: state.contextSize },
      }),
    };
  }
  // LM Studio refuses a prompt its loaded context cannot hold (lmstudio-bug-tracker #237, #546; the
  // 400 of 0.4 as clients quote it: tinyhumansai/openhuman #3550); a model it loads on demand gets its default context.
  if (kind === 'lmstudio' && promptTokens >= lmStudioLoadedContext(model)) {
    return {
      status: 400,
      headers: jsonHeaders(kind, path),
      body: compactJson({
        error: `The number of tokens to keep from the initial prompt is greater than the context length (n_keep: ${promptTokens} >= n_ctx: ${lmStudioLoadedContext(model)}). Try to load the model with a larger context length, or provide a shorter prompt.`,
      }),
    };
  }
  // Ollama answers a prompt longer than its runner's num_ctx: it keeps the first few tokens, drops
  // the start of the rest until it fits, and says so only in its own log (runner.go "truncating input prompt").
  if (kind === 'ollama' && promptTokens > ollamaLoadedContext(state, model)) {
    const limit = ollamaLoadedContext(state, model);
    state.serverLog.push(`level=WARN source=runner.go:129 msg="truncating input prompt" limit=${limit} prompt=${promptTokens} keep=4 new=${limit}`);
  }
  if (kind === 'lmstudio' && !state.conforming && view.responseFormat?.type === 'json_object') {
    return { status: 400, headers: jsonHeaders(kind, path), body: compactJson(loadJsonTemplate('lmstudio', 'json-object-rejected.error.json')) };
  }

  if (kind === 'ollama') state.resident.add(model.id);
  const quirky = !state.conforming;
  let seedIgnoredVariant: number | undefined;
  if (kind === 'ollama' && quirky && view.seed !== undefined && (view.temperature ?? 0.8) > 0) {
    seedIgnoredVariant = state.seededSamplingCalls;
    state.seededSamplingCalls += 1;
  }
  const generation = generate(view, {
    answer: state.answer,
    honourJsonSchema: !(kind === 'ollama' && quirky),
    honourJsonObject: true,
    ...(seedIgnoredVariant === undefined ? {} : { seedIgnoredVariant }),
  });
  // llama-server names the model it runs (its -m argument) whatever the request asked for; LM
  // Studio the loaded model that answered a name it does not have (lmstudio-bug-tracker #619).
  const echoedModel = kind === 'llama.cpp' || (kind === 'lmstudio' && view.model !== model.id) ? model.id : view.model === '' ? model.id : view.model;
  let cachedTokens = 0;
  if (kind === 'llama.cpp') {
    // llama.cpp counts the end-of-generation token (or the stop string's tokens) in completion_tokens.
    if (generation.finishReason !== 'length') {
      generation.completionTokens += generation.stopSequence === undefined ? 1 : countTokens(generation.stopSequence);
    }
    const promptText = view.messages.map((message) => `${message.role}\n${message.text}`).join('\n');
    if (state.lastPromptText === promptText) cachedTokens = generation.promptTokens - 1;
    state.lastPromptText = promptText;
  }
  const reasoning = reasoningWire(state);
  if (reasoning !== undefined) generation.completionTokens += countTokens(reasoning.text);
  const context: CompletionContext = {
    state,
    view,
    generation,
    model: echoedModel,
    id: completionId(kind),
    created: Math.floor(Date.now() / 1000),
    toolCallId: toolCallId(kind),
    cachedTokens,
  };
  const logprobsAsked = chatLogprobsAsked(request);
  if (logprobsAsked !== undefined) context.logprobs = logprobsAsked;
  if (view.stream) return { status: 200, headers: streamHeaders(kind), frames: state.replay?.stream === undefined ? streamFrames(context) : replayedFrames(state.replay.stream), terminalFrames: 1 };
  return { status: 200, headers: jsonHeaders(kind, path), body: state.replay?.body ?? serializeBody(kind, completionBody(context, path)) };
}

/** A captured stream as the frames to write, each exactly as captured. */
function replayedFrames(stream: string): string[] {
  return splitSseFrames(stream).map((frame) => frame.raw);
}

/** Where a thinking model's reasoning goes on this engine's wire, if it has any. */
function reasoningWire(state: EngineState): { field: 'reasoning' | 'reasoning_content'; text: string } | undefined {
  if (state.reasoning === undefined || state.kind === 'openai' || state.kind === 'anthropic') return undefined;
  return { field: state.kind === 'ollama' ? 'reasoning' : 'reasoning_content', text: state.reasoning };
}

function invalidJsonMessage(kind: FakeEngineKind): string {
  switch (kind) {
    case 'ollama':
      return 'invalid character looking for beginning of value';
    case 'llama.cpp':
      return '[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - invalid literal; last read: \'\'';
    case 'openai':
      return "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";
    default:
      return 'Invalid JSON in request body';
  }
}

function resolveModel(state: EngineState, requested: string): ResolvedModel | undefined {
  switch (state.kind) {
    case 'ollama':
      return findOllamaModel(state, requested);
    case 'vllm':
    case 'openai':
      return state.models.find((model) => model.id === requested);
    case 'lmstudio': {
      // A downloaded model is loaded on demand (JIT). A name it does not have is answered by the
      // one model loaded when there is exactly one (lmstudio-bug-tracker #366, #619), else refused.
      const named = state.models.find((model) => model.id === requested);
      if (named !== undefined) return named;
      const loaded = state.models.filter((model) => state.resident.has(model.id));
      return loaded.length === 1 ? loaded[0] : undefined;
    }
    default:
      // llama-server serves its one model whatever the request names.
      return state.models.find((model) => model.id === requested) ?? state.models[0];
  }
}

/**
 * LM Studio's 404 for a model it does not have (with none or several loaded), as quoted verbatim in
 * letta-ai/letta#1876 and gitbutlerapp/gitbutler#8706: OpenAI's error envelope indented by four,
 * `code: "model_not_found"`, and the message listing the models it has.
 */
function lmStudioModelNotFound(state: EngineState, requested: string): Reply {
  const message = `Model "${requested}" not found. Please specify a valid model.\n\nYour models:\n\n${state.models.map((model) => model.id).join('\n')}`;
  return { status: 404, headers: jsonHeaders(state.kind, '/v1/chat/completions'), body: prettyJson({ error: { message, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }, 4) };
}

function completionId(kind: FakeEngineKind): string {
  switch (kind) {
    case 'ollama':
      return `chatcmpl-${Math.floor(Math.random() * 999)}`;
    case 'llama.cpp':
      return `chatcmpl-${randomBase62(32)}`;
    case 'vllm':
      return `chatcmpl-${randomHex(16)}`;
    case 'lmstudio':
      return `chatcmpl-${randomLowerAlphanumeric(21)}`;
    default:
      return `chatcmpl-${randomBase62(29)}`;
  }
}

function toolCallId(kind: FakeEngineKind): string {
  switch (kind) {
    case 'ollama':
      return `call_${randomLowerAlphanumeric(8)}`;
    case 'llama.cpp':
      return randomBase62(32);
    case 'vllm':
      return `chatcmpl-tool-${randomHex(16)}`;
    case 'lmstudio':
      return String(100_000_000 + Math.floor(Math.random() * 899_999_999));
    case 'anthropic':
      return `toolu_01${randomBase62(22)}`;
    default:
      return `call_${randomBase62(24)}`;
  }
}

interface CompletionContext {
  state: EngineState;
  view: ChatRequestView;
  generation: Generation;
  model: string;
  id: string;
  created: number;
  toolCallId: string;
  /** llama.cpp prompt-cache hits (usage.prompt_tokens_details.cached_tokens, timings.cache_n). */
  cachedTokens: number;
  /** The request asked for token log-probabilities. */
  logprobs?: LogprobsAsked;
}

/**
 * llama-server's `__verbose` (a request with `verbose: true`): its native /completion result beside
 * the OpenAI-shaped answer, on a whole answer and on a stream's finishing chunk. Captured from
 * llama-server b1-de3ff81 (keys in its order; `generation_settings` left out): `stop_type` is
 * `word` when a stop string ended it, named in `stopping_word`; `eos` or `limit` otherwise.
 */
function llamaVerbose(context: CompletionContext): Json {
  const { generation } = context;
  const stopType = generation.stopSequence !== undefined ? 'word' : generation.finishReason === 'length' ? 'limit' : 'eos';
  return {
    index: 0,
    content: generation.text,
    tokens: [],
    id_slot: 0,
    stop: true,
    model: context.model,
    tokens_predicted: generation.completionTokens,
    tokens_evaluated: generation.promptTokens,
    prompt: context.view.messages.map((message) => message.text).join('\n'),
    has_new_line: generation.text.includes('\n'),
    truncated: false,
    stop_type: stopType,
    stopping_word: generation.stopSequence ?? '',
    tokens_cached: generation.promptTokens + generation.completionTokens,
    timings: llamaTimings(generation, context.cachedTokens),
  };
}

/** llama.cpp's `timings` object, derived from the token counts at fixed speeds. */
function llamaTimings(generation: Generation, cachedTokens: number): Json {
  const promptN = generation.promptTokens - cachedTokens;
  // Rates chosen so the products are never whole numbers: nlohmann would print those as `12.0`, JSON.stringify as `12`.
  const promptMs = promptN * 2.413;
  const predictedMs = generation.completionTokens * 28.257;
  return {
    cache_n: cachedTokens,
    prompt_n: promptN,
    prompt_ms: promptMs,
    prompt_per_token_ms: promptN === 0 ? 0 : promptMs / promptN,
    prompt_per_second: promptMs === 0 ? 0 : (promptN * 1000) / promptMs,
    predicted_n: generation.completionTokens,
    predicted_ms: predictedMs,
    predicted_per_token_ms: generation.completionTokens === 0 ? 0 : predictedMs / generation.completionTokens,
    predicted_per_second: predictedMs === 0 ? 0 : (generation.completionTokens * 1000) / predictedMs,
  };
}

/** Overwrites the token counts of a captured usage object, keeping its key order and extra fields. */
function fillUsage(usage: unknown, generation: Generation, cachedTokens = 0): Json {
  const result = isPlainObject(usage) ? usage : {};
  result['prompt_tokens'] = generation.promptTokens;
  result['completion_tokens'] = generation.completionTokens;
  result['total_tokens'] = generation.promptTokens + generation.completionTokens;
  if (isPlainObject(result['prompt_tokens_details']) && 'cached_tokens' in result['prompt_tokens_details']) {
    result['prompt_tokens_details']['cached_tokens'] = cachedTokens;
  }
  return result;
}

/**
 * The finish reason on the wire. vLLM says `tool_calls` only for calls its tool parser found under
 * an `auto` (or absent) tool choice; a call forced by `required` or a named function is guided
 * decoding, answered with the generation's own `stop` (serving_chat.py: `"tool_calls" if
 * auto_tools_called else output.finish_reason`, `auto_tools_called` only for `auto`/None).
 */
function wireFinishReason(context: CompletionContext): string {
  const { state, view, generation } = context;
  const forced = view.toolChoice !== 'auto' && view.toolChoice !== 'none';
  return state.kind === 'vllm' && !state.conforming && generation.finishReason === 'tool_calls' && forced ? 'stop' : generation.finishReason;
}

/** Tool-call arguments on the wire: JSON text, or (Ollama's quirk) a JSON object. */
function wireArguments(context: CompletionContext): unknown {
  const toolCall = context.generation.toolCall!;
  return context.state.kind === 'ollama' && !context.state.conforming ? toolCall.arguments : argumentsText(context);
}

/** Arguments as JSON text; vLLM's tool parsers write them with Python's json.dumps (", " and ": "). */
function argumentsText(context: CompletionContext): string {
  const toolCall = context.generation.toolCall!;
  return context.state.kind === 'vllm' ? pythonJsonDumps(toolCall.arguments) : toolCall.argumentsJson;
}

/** Python's json.dumps(value, ensure_ascii=False) layout. */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => pythonJsonDumps(item)).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${pythonJsonDumps(item)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

function completionBody(context: CompletionContext, path: string): Json {
  const { state, generation } = context;
  const kind = state.kind;
  const isToolCall = generation.toolCall !== undefined;
  const templateFile =
    kind === 'lmstudio' && path === '/api/v0/chat/completions' && !isToolCall
      ? 'api-v0-chat-completion.json'
      : isToolCall
        ? 'chat-completion-tool-call.json'
        : 'chat-completion.json';
  const body = loadJsonTemplate<Json>(kind, templateFile);
  body['id'] = context.id;
  body['created'] = context.created;
  body['model'] = context.model;
  if (kind === 'lmstudio') body['system_fingerprint'] = context.model;
  const choice = (body['choices'] as Json[])[0]!;
  choice['finish_reason'] = wireFinishReason(context);
  if (kind === 'vllm') choice['stop_reason'] = generation.stopSequence ?? null;
  const message = choice['message'] as Json;
  if (isToolCall && generation.toolCall!.input !== undefined) {
    // openai-node's ChatCompletionMessageCustomToolCall: {id, type: "custom", custom: {name, input}}.
    message['tool_calls'] = [{ id: context.toolCallId, type: 'custom', custom: { name: generation.toolCall!.name, input: generation.toolCall!.input } }];
  } else if (isToolCall) {
    const call = (message['tool_calls'] as Json[])[0]!;
    call['id'] = context.toolCallId;
    const fn = call['function'] as Json;
    fn['name'] = generation.toolCall!.name;
    fn['arguments'] = wireArguments(context);
  } else {
    message['content'] = generation.text;
    const logprobs = context.logprobs === undefined ? undefined : chatLogprobs(state, generation.pieces, context.logprobs);
    if (logprobs !== undefined) choice['logprobs'] = logprobs;
  }
  const reasoning = reasoningWire(state);
  if (reasoning !== undefined) message[reasoning.field] = reasoning.text;
  body['usage'] = fillUsage(body['usage'], generation, context.cachedTokens);
  if (kind === 'llama.cpp') {
    if (state.conforming) delete body['timings'];
    else body['timings'] = llamaTimings(generation, context.cachedTokens);
    if (context.view.verbose === true) body['__verbose'] = llamaVerbose(context);
  }
  if (kind === 'lmstudio' && isPlainObject(body['stats']) && Object.keys(body['stats']).length > 0) {
    const stats = body['stats'];
    stats['stop_reason'] = generation.finishReason === 'length' ? 'maxPredictedTokensReached' : generation.stopSequence !== undefined ? 'stopStringFound' : 'eosFound';
    const modelInfo = body['model_info'] as Json;
    const resolved = resolveModel(state, context.model);
    if (resolved !== undefined) modelInfo['context_length'] = Math.min(4096, resolved.contextWindow);
  }
  return body;
}

interface ChunkTemplates {
  role?: Json;
  content: Json;
  finish: Json;
  usage?: Json;
}

function chunkTemplates(kind: FakeEngineKind): ChunkTemplates {
  const frames = loadChunkTemplates(kind, 'chat-completion.chunks.txt')
    .map((frame) => frame.data)
    .filter(isPlainObject);
  const firstChoice = (frame: Json): Json | undefined => (frame['choices'] as Json[])[0];
  const delta = (frame: Json): Json => (firstChoice(frame)?.['delta'] as Json | undefined) ?? {};
  const content = frames.find((frame) => firstChoice(frame)?.['finish_reason'] === null && typeof delta(frame)['content'] === 'string' && delta(frame)['content'] !== '');
  const finish = frames.find((frame) => typeof firstChoice(frame)?.['finish_reason'] === 'string');
  if (content === undefined || finish === undefined) throw new Error(`${kind}/chat-completion.chunks.txt lacks a content or finish chunk`);
  // A role-only opening chunk (llama.cpp, vLLM, OpenAI); Ollama and LM Studio repeat the role on every content chunk instead.
  const role = frames.find((frame) => {
    const opening = delta(frame);
    return firstChoice(frame)?.['finish_reason'] === null && opening['role'] !== undefined && (opening['content'] === null || opening['content'] === '');
  });
  const usage = frames.find((frame) => (frame['choices'] as Json[]).length === 0);
  const templates: ChunkTemplates = { content, finish };
  if (role !== undefined) templates.role = role;
  if (usage !== undefined) templates.usage = usage;
  return templates;
}

function streamFrames(context: CompletionContext): string[] {
  const { state, view, generation } = context;
  const kind = state.kind;
  const templates = chunkTemplates(kind);
  const chunks: Json[] = [];
  const stamp = (template: Json): Json => {
    const chunk = cloneJson(template);
    chunk['id'] = context.id;
    chunk['created'] = context.created;
    chunk['model'] = context.model;
    if (kind === 'lmstudio') chunk['system_fingerprint'] = context.model;
    // OpenAI sends `usage: null` on every chunk only when usage was asked for.
    if (kind === 'openai' && !view.includeUsage) delete chunk['usage'];
    return chunk;
  };
  const withDelta = (template: Json, delta: Json): Json => {
    const chunk = stamp(template);
    ((chunk['choices'] as Json[])[0]!)['delta'] = delta;
    return chunk;
  };

  const toolCall = generation.toolCall;
  if (templates.role !== undefined) {
    const roleChunk = stamp(templates.role);
    if (toolCall !== undefined && kind === 'openai') {
      const delta = (roleChunk['choices'] as Json[])[0]!['delta'] as Json;
      delta['content'] = null;
      delta['tool_calls'] = [
        toolCall.input === undefined
          ? { index: 0, id: context.toolCallId, type: 'function', function: { name: toolCall.name, arguments: '' } }
          : { index: 0, id: context.toolCallId, type: 'custom', custom: { name: toolCall.name, input: '' } },
      ];
      const refusal = delta['refusal'];
      delete delta['refusal'];
      delta['refusal'] = refusal;
    }
    chunks.push(roleChunk);
  }

  const reasoning = reasoningWire(state);
  if (reasoning !== undefined) {
    for (const piece of tokenPieces(reasoning.text)) {
      // Ollama repeats the role and an empty content beside each reasoning piece; the others send the reasoning alone.
      const delta: Json = kind === 'ollama' ? { role: 'assistant', content: '', reasoning: piece } : { [reasoning.field]: piece };
      chunks.push(withDelta(templates.content, delta));
    }
  }

  if (toolCall === undefined) {
    generation.pieces.forEach((piece, index) => {
      const template = cloneJson(((templates.content['choices'] as Json[])[0]!)['delta'] as Json);
      template['content'] = piece;
      const chunk = withDelta(templates.content, template);
      // One token per chunk, its logprobs beside its delta.
      const logprobs = context.logprobs === undefined ? undefined : chatLogprobs(state, [piece], context.logprobs, index);
      if (logprobs !== undefined) ((chunk['choices'] as Json[])[0]!)['logprobs'] = logprobs;
      chunks.push(chunk);
    });
  } else if (toolCall.input !== undefined) {
    // A custom call's raw input in pieces, `{index, custom: {input}}`, after the role chunk announced it (openai/openai-openapi#576).
    for (const piece of tokenPieces(toolCall.input)) chunks.push(withDelta(templates.content, { tool_calls: [{ index: 0, custom: { input: piece } }] }));
  } else {
    const argumentPieces = tokenPieces(argumentsText(context));
    switch (kind) {
      case 'ollama':
        chunks.push(withDelta(templates.content, { role: 'assistant', content: '', tool_calls: [{ id: context.toolCallId, index: 0, type: 'function', function: { name: toolCall.name, arguments: wireArguments(context) } }] }));
        break;
      case 'llama.cpp':
        // Captured: the first tool-call delta already carries the first argument piece.
        chunks.push(withDelta(templates.content, { tool_calls: [{ index: 0, id: context.toolCallId, type: 'function', function: { name: toolCall.name, arguments: argumentPieces.shift() ?? '' } }] }));
        break;
      case 'vllm':
        chunks.push(withDelta(templates.content, { tool_calls: [{ id: context.toolCallId, type: 'function', index: 0, function: { name: toolCall.name } }] }));
        break;
      case 'lmstudio':
        chunks.push(withDelta(templates.content, { role: 'assistant', tool_calls: [{ index: 0, id: context.toolCallId, type: 'function', function: { name: toolCall.name, arguments: '' } }] }));
        break;
      default:
        break; // OpenAI announced the call in its first chunk
    }
    if (kind !== 'ollama') {
      for (const piece of argumentPieces) {
        const fragment: Json = kind === 'lmstudio'
          ? { role: 'assistant', tool_calls: [{ index: 0, type: 'function', function: { arguments: piece } }] }
          : { tool_calls: [{ index: 0, function: { arguments: piece } }] };
        chunks.push(withDelta(templates.content, fragment));
      }
    }
  }

  const finish = stamp(templates.finish);
  ((finish['choices'] as Json[])[0]!)['finish_reason'] = wireFinishReason(context);
  if (kind === 'vllm') ((finish['choices'] as Json[])[0]!)['stop_reason'] = generation.stopSequence ?? null;
  if (kind === 'llama.cpp' && view.verbose === true) finish['__verbose'] = llamaVerbose(context);
  chunks.push(finish);

  const usageWanted = view.includeUsage && streamsUsage(state);
  if (usageWanted) {
    const usageTemplate = templates.usage ?? { ...cloneJson(templates.finish), choices: [] };
    const usageChunk = stamp(usageTemplate);
    usageChunk['choices'] = [];
    usageChunk['usage'] = fillUsage(usageChunk['usage'], generation, context.cachedTokens);
    if (kind === 'llama.cpp') delete usageChunk['timings'];
    chunks.push(usageChunk);
  }
  if (kind === 'llama.cpp' && !state.conforming) chunks.at(-1)!['timings'] = llamaTimings(generation, context.cachedTokens);

  const frames = chunks.map((chunk) => formatSseFrame(serializeChunk(kind, chunk)));
  if (kind === 'llama.cpp') return [...llamaCppWrites(frames, usageWanted), formatSseFrame('[DONE]')];
  return [...frames, formatSseFrame('[DONE]')];
}

/**
 * How llama-server groups events into HTTP writes (captured): the role chunk and the first delta
 * go out together, then one event per write, then the finish chunk together with the usage chunk.
 */
function llamaCppWrites(frames: string[], hasUsageChunk: boolean): string[] {
  const tailSize = hasUsageChunk ? 2 : 1;
  const head = frames.slice(0, frames.length - tailSize);
  const tail = frames.slice(frames.length - tailSize).join('');
  const writes = head.length >= 2 ? [head[0]! + head[1]!, ...head.slice(2)] : [...head];
  writes.push(tail);
  return writes;
}

// ================================================================== Anthropic Messages

/** The ping payload exactly as captured (Anthropic writes it with a space after the colon). */
const ANTHROPIC_PING = '{"type": "ping"}';

function anthropicError(state: EngineState, status: number, key: string): Reply {
  const errors = loadJsonTemplate<Record<string, Json>>('anthropic', 'errors.json');
  return { status, headers: jsonHeaders('anthropic', '/v1/messages'), body: compactJson(errors[key]) };
}

/**
 * Newer Claude models — Opus 4.1, Sonnet 4.5, Haiku 4.5 and every later version — refuse a request
 * that sets both `temperature` and `top_p`; older ones (Sonnet 4, Opus 4) take both.
 */
function refusesTemperatureWithTopP(model: string): boolean {
  const match = /^claude-(opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?:-\d{8})?$/.exec(model);
  if (match === null) return false;
  const version = Number(match[2]) + Number(match[3] ?? 0) / 10;
  return version >= (match[1] === 'opus' ? 4.1 : 4.5);
}

/**
 * Claude Opus 5.5 and the Fable 5.x models always think (platform.claude.com, "What's new in Claude
 * Opus 5.5", breaking changes; the same on Fable): `thinking` of type `disabled` or `enabled` (a
 * manual budget) and a forced tool choice (`any`, `tool`) are answered with a 400
 * invalid_request_error. The thinking messages are the page's; the forced tool's is the fake's own
 * wording, the page quoting none.
 */
function alwaysThinks(model: string): boolean {
  return /^claude-(opus-5-5|fable-5-\d+)$/.test(model);
}

function alwaysThinkingRefusal(request: Json): string | undefined {
  const thinking = request['thinking'];
  const thinkingType = isPlainObject(thinking) ? thinking['type'] : undefined;
  if (thinkingType === 'disabled' || thinkingType === 'enabled') {
    return `"thinking.type.${thinkingType}" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.`;
  }
  const choice = request['tool_choice'];
  const choiceType = isPlainObject(choice) ? choice['type'] : undefined;
  if (choiceType === 'any' || choiceType === 'tool') return `tool_choice: forced tool use ("type": "${choiceType}") is not supported for this model; use "auto" or "none"`;
  return undefined;
}

/** What the fake Claude thinks when thinking is enabled and the engine was given no reasoning of its own. */
const DEFAULT_THINKING = 'The user wants a short factual answer. I will answer directly.';

/** The fake's signature of a thinking block: Anthropic's are opaque; this one can be checked the same way. */
function thinkingSignature(thinking: string): string {
  return createHash('sha256').update(`fake-anthropic:${thinking}`).digest('base64');
}

/**
 * Whether `data` is the fake's own encrypted reasoning: Anthropic's is opaque ciphertext it checks
 * when a client replays it; the fake's is base64 bytes whose last 32 are the SHA-256 of
 * `fake-anthropic:` and the bytes before them, so a modified block is refused the same way.
 */
function isOwnRedactedThinking(data: unknown): boolean {
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return false;
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length <= 32) return false;
  const tag = createHash('sha256').update('fake-anthropic:').update(bytes.subarray(0, bytes.length - 32)).digest();
  return tag.equals(bytes.subarray(bytes.length - 32));
}

/**
 * What the Messages API refuses when thinking is on: a replayed thinking block whose signature is
 * not its own, a replayed redacted_thinking block whose data is not its own, and a last assistant turn that calls a tool without beginning with its thinking
 * block (messages as the API words them). Undefined when the request is acceptable.
 */
function thinkingProblem(request: Json): string | undefined {
  const messages = Array.isArray(request['messages']) ? request['messages'] : [];
  let lastAssistant = -1;
  for (const [index, message] of messages.entries()) {
    if (!isPlainObject(message) || message['role'] !== 'assistant') continue;
    lastAssistant = index;
    const content = Array.isArray(message['content']) ? message['content'] : [];
    for (const [blockIndex, block] of content.entries()) {
      if (isPlainObject(block) && block['type'] === 'thinking' && block['signature'] !== thinkingSignature(String(block['thinking']))) {
        return `messages.${index}.content.${blockIndex}: Invalid \`signature\` in \`thinking\` block`;
      }
      if (isPlainObject(block) && block['type'] === 'redacted_thinking' && !isOwnRedactedThinking(block['data'])) {
        return `messages.${index}.content.${blockIndex}: Invalid \`data\` in \`redacted_thinking\` block`;
      }
    }
  }
  const last = messages[lastAssistant];
  const content = isPlainObject(last) && Array.isArray(last['content']) ? last['content'] : [];
  const first = content[0];
  const callsTool = content.some((block) => isPlainObject(block) && block['type'] === 'tool_use');
  if (callsTool && !(isPlainObject(first) && (first['type'] === 'thinking' || first['type'] === 'redacted_thinking'))) {
    return (
      `messages.${lastAssistant}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(isPlainObject(first) ? first['type'] : 'text')}\`. ` +
      'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). ' +
      'We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking'
    );
  }
  return undefined;
}

/** Anthropic caches nothing shorter than this (Sonnet and Opus; Haiku's minimum is higher). */
const ANTHROPIC_MIN_CACHEABLE_TOKENS = 1024;

/**
 * Anthropic's prompt caching as its usage reports it: the prompt, in cache order (tools, system,
 * messages), up to the last block carrying `cache_control` is written to the cache the first time
 * (`cache_creation_input_tokens`) and read from it on later requests with the same prefix
 * (`cache_read_input_tokens`); `input_tokens` counts the rest. A prefix under the minimum length is
 * not cached, silently, as the API does. Undefined when the request has no breakpoint.
 */
function promptCacheUsage(state: EngineState, request: Json): { uncached: number; written: number; read: number } | undefined {
  const segments: string[] = [];
  let lastBreakpoint = -1;
  const add = (block: unknown): void => {
    segments.push(typeof block === 'string' ? block : compactJson(block));
    if (isPlainObject(block) && block['cache_control'] !== undefined) lastBreakpoint = segments.length - 1;
  };
  for (const tool of Array.isArray(request['tools']) ? request['tools'] : []) add(tool);
  const system = request['system'];
  if (Array.isArray(system)) system.forEach(add);
  else if (system !== undefined) add(system);
  for (const message of Array.isArray(request['messages']) ? request['messages'] : []) {
    const content = isPlainObject(message) ? message['content'] : undefined;
    if (Array.isArray(content)) content.forEach(add);
    else add(content ?? '');
  }
  if (lastBreakpoint < 0) return undefined;
  const prefix = segments.slice(0, lastBreakpoint + 1).join('');
  const total = countTokens(segments.join(''));
  const prefixTokens = countTokens(prefix);
  if (prefixTokens < ANTHROPIC_MIN_CACHEABLE_TOKENS) return { uncached: total, written: 0, read: 0 };
  const hit = state.promptCache.has(prefix);
  state.promptCache.add(prefix);
  return { uncached: total - prefixTokens, written: hit ? 0 : prefixTokens, read: hit ? prefixTokens : 0 };
}

/**
 * The Messages API's check of tool ids: a `tool_use` block's `id` and a `tool_result`'s
 * `tool_use_id` must match `^[a-zA-Z0-9_-]+$` (its 400: `messages.1.content.0.tool_use.id: String
 * should match pattern '^[a-zA-Z0-9_-]+$'`), so an id another engine gave a call (vLLM's Kimi K2
 * parser: `functions.Bash:0`) is refused.
 */
function toolIdProblem(request: Json): string | undefined {
  const messages = Array.isArray(request['messages']) ? request['messages'] : [];
  for (const [messageIndex, message] of messages.entries()) {
    const content = isPlainObject(message) && Array.isArray(message['content']) ? message['content'] : [];
    for (const [blockIndex, block] of content.entries()) {
      if (!isPlainObject(block)) continue;
      const [field, value] = block['type'] === 'tool_use' ? ['tool_use.id', block['id']] : block['type'] === 'tool_result' ? ['tool_result.tool_use_id', block['tool_use_id']] : [undefined, undefined];
      if (field !== undefined && (typeof value !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(value))) {
        return `messages.${messageIndex}.content.${blockIndex}.${field}: String should match pattern '^[a-zA-Z0-9_-]+$'`;
      }
    }
  }
  return undefined;
}

/** The Messages API's refusal of tool blocks in a request without tools (as the API words it), or undefined. */
function toolBlocksWithoutTools(request: Json): string | undefined {
  if (Array.isArray(request['tools']) && request['tools'].length > 0) return undefined;
  const messages = Array.isArray(request['messages']) ? request['messages'] : [];
  const hasToolBlock = messages.some(
    (message) => isPlainObject(message) && Array.isArray(message['content']) && message['content'].some((block) => isPlainObject(block) && (block['type'] === 'tool_use' || block['type'] === 'tool_result')),
  );
  return hasToolBlock ? 'Requests which include `tool_use` or `tool_result` blocks must define tools.' : undefined;
}

/** The Messages API's refusal of any `tool_choice` (`none` too) in a request without tools (as the API words it), or undefined. */
function toolChoiceWithoutTools(request: Json): string | undefined {
  if (Array.isArray(request['tools']) && request['tools'].length > 0) return undefined;
  const choice = request['tool_choice'];
  if (choice === undefined) return undefined;
  return `tool_choice.${isPlainObject(choice) && typeof choice['type'] === 'string' ? choice['type'] : 'auto'} may only be specified while providing tools`;
}

function anthropicMessages(state: EngineState, body: Buffer, headers: IncomingHttpHeaders): Reply {
  const path = '/v1/messages';
  if (typeof headers['x-api-key'] !== 'string' || headers['x-api-key'] === '') return anthropicError(state, 401, 'missing_api_key');
  if (typeof headers['anthropic-version'] !== 'string' || headers['anthropic-version'] === '') return anthropicError(state, 400, 'missing_version');
  let request: Json;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (!isPlainObject(parsed)) throw new Error('not an object');
    request = parsed;
  } catch {
    return errorReply(state, path, 400, 'There was an error parsing the body of your request', 'invalid_request_error');
  }
  if (typeof request['max_tokens'] !== 'number') return anthropicError(state, 400, 'missing_max_tokens');
  const temperature = request['temperature'];
  if (typeof temperature === 'number' && (temperature < 0 || temperature > 1)) return anthropicError(state, 400, 'temperature_range');
  const requestedModel = typeof request['model'] === 'string' ? request['model'] : '';
  if (!state.models.some((model) => model.id === requestedModel)) {
    return errorReply(state, path, 404, `model: ${requestedModel}`, 'not_found_error');
  }
  if (typeof temperature === 'number' && typeof request['top_p'] === 'number' && refusesTemperatureWithTopP(requestedModel)) {
    return anthropicError(state, 400, 'temperature_top_p');
  }
  const badToolId = toolIdProblem(request);
  if (badToolId !== undefined) return errorReply(state, path, 400, badToolId, 'invalid_request_error');
  const undeclaredTools = toolBlocksWithoutTools(request);
  if (undeclaredTools !== undefined) return errorReply(state, path, 400, undeclaredTools, 'invalid_request_error');
  const choiceWithoutTools = toolChoiceWithoutTools(request);
  if (choiceWithoutTools !== undefined) return errorReply(state, path, 400, choiceWithoutTools, 'invalid_request_error');
  if (alwaysThinks(requestedModel)) {
    const refusal = alwaysThinkingRefusal(request);
    if (refusal !== undefined) return errorReply(state, path, 400, refusal, 'invalid_request_error');
  }

  const messages: Array<{ role: string; text: string }> = [];
  if (request['system'] !== undefined) messages.push({ role: 'system', text: contentText(request['system']) });
  for (const message of Array.isArray(request['messages']) ? request['messages'] : []) {
    if (!isPlainObject(message)) continue;
    const content = message['content'];
    const isToolResult = Array.isArray(content) && content.some((part) => isPlainObject(part) && part['type'] === 'tool_result');
    messages.push({ role: isToolResult ? 'tool_result' : String(message['role'] ?? 'user'), text: contentText(content) });
  }
  if (messages.filter((message) => message.role !== 'system').length === 0) {
    return errorReply(state, path, 400, 'messages: at least one message is required', 'invalid_request_error');
  }
  const toolChoice = isPlainObject(request['tool_choice']) ? request['tool_choice'] : {};
  const view: ChatRequestView = {
    model: requestedModel,
    messages,
    stream: request['stream'] === true,
    includeUsage: true,
    maxTokens: request['max_tokens'],
    stop: Array.isArray(request['stop_sequences']) ? request['stop_sequences'].filter((item): item is string => typeof item === 'string') : [],
    tools: (Array.isArray(request['tools']) ? request['tools'] : [])
      .filter(isPlainObject)
      .map((tool) => ({ name: String(tool['name'] ?? 'tool'), parameters: tool['input_schema'] })),
    toolChoice: toolChoice['type'] === 'tool' ? String(toolChoice['name']) : toolChoice['type'] === 'none' ? 'none' : 'auto',
  };
  if (typeof request['temperature'] === 'number') view.temperature = request['temperature'];
  // Structured outputs: the answer is one text block of JSON valid against the schema.
  const outputFormat = isPlainObject(request['output_config']) ? request['output_config']['format'] : undefined;
  if (isPlainObject(outputFormat) && outputFormat['type'] === 'json_schema') view.responseFormat = { type: 'json_schema', schema: outputFormat['schema'] };
  const thinkingOn = isPlainObject(request['thinking']) && request['thinking']['type'] === 'enabled';
  // The Messages API's own check of a manual budget: it must be at least 1024 and below max_tokens.
  const budget = thinkingOn ? (request['thinking'] as Record<string, unknown>)['budget_tokens'] : undefined;
  if (typeof budget === 'number' && typeof request['max_tokens'] === 'number' && budget >= request['max_tokens']) {
    return errorReply(state, path, 400, '`max_tokens` must be greater than `thinking.budget_tokens`', 'invalid_request_error');
  }
  if (thinkingOn) {
    const problem = thinkingProblem(request);
    if (problem !== undefined) return errorReply(state, path, 400, problem, 'invalid_request_error');
  }
  const thinking = thinkingOn ? (state.reasoning ?? DEFAULT_THINKING) : undefined;
  const generation = generate(view, { answer: state.answer, honourJsonSchema: true, honourJsonObject: true });
  if (thinking !== undefined) generation.completionTokens += countTokens(thinking);
  const cache = promptCacheUsage(state, request);
  const inputTokens = cache === undefined ? generation.promptTokens : cache.uncached;
  const stopReason =
    generation.toolCall !== undefined ? 'tool_use' : generation.finishReason === 'length' ? 'max_tokens' : generation.stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
  const id = `msg_01${randomBase62(22)}`;
  const toolUseId = toolCallId('anthropic');

  if (!view.stream && state.replay?.body !== undefined) return { status: 200, headers: jsonHeaders('anthropic', path), body: state.replay.body };
  if (!view.stream) {
    const message = loadJsonTemplate<Json>('anthropic', generation.toolCall === undefined ? 'message.json' : 'message-tool-use.json');
    message['id'] = id;
    message['model'] = requestedModel;
    if (generation.toolCall === undefined) {
      message['content'] = [{ type: 'text', text: generation.text }];
    } else {
      const block = (message['content'] as Json[])[0]!;
      block['id'] = toolUseId;
      block['name'] = generation.toolCall.name;
      block['input'] = generation.toolCall.arguments;
    }
    if (thinking !== undefined) (message['content'] as Json[]).unshift({ type: 'thinking', thinking, signature: thinkingSignature(thinking) });
    message['stop_reason'] = stopReason;
    message['stop_sequence'] = generation.stopSequence ?? null;
    const usage = message['usage'] as Json;
    usage['input_tokens'] = inputTokens;
    if (cache !== undefined) {
      usage['cache_creation_input_tokens'] = cache.written;
      usage['cache_read_input_tokens'] = cache.read;
    }
    usage['output_tokens'] = generation.completionTokens;
    return { status: 200, headers: jsonHeaders('anthropic', path), body: compactJson(message) };
  }

  if (state.replay?.stream !== undefined) return { status: 200, headers: streamHeaders('anthropic'), frames: replayedFrames(state.replay.stream), terminalFrames: 1 };
  const captured = loadChunkTemplates('anthropic', 'message.chunks.txt');
  const toolCaptured = loadChunkTemplates('anthropic', 'message-tool-use.chunks.txt');
  const byType = (frames: typeof captured, type: string): Json => {
    const frame = frames.find((candidate) => candidate.event === type);
    if (frame === undefined || !isPlainObject(frame.data)) throw new Error(`anthropic chunks lack ${type}`);
    return cloneJson(frame.data);
  };
  const frames: string[] = [];
  const emit = (event: string, data: Json | string): void => {
    frames.push(formatSseFrame(typeof data === 'string' ? data : compactJson(data), event));
  };

  const start = byType(captured, 'message_start');
  const startMessage = start['message'] as Json;
  startMessage['id'] = id;
  startMessage['model'] = requestedModel;
  const startUsage = startMessage['usage'] as Json;
  startUsage['input_tokens'] = inputTokens;
  if (cache !== undefined) {
    startUsage['cache_creation_input_tokens'] = cache.written;
    startUsage['cache_read_input_tokens'] = cache.read;
  }
  emit('message_start', start);

  // With thinking on, the thinking block comes first (index 0) and the answer's block follows.
  const answerIndex = thinking === undefined ? 0 : 1;
  const atAnswerIndex = (frame: Json): Json => ({ ...frame, index: answerIndex });
  if (thinking !== undefined) {
    emit('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
    for (const piece of tokenPieces(thinking)) emit('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: piece } });
    emit('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: thinkingSignature(thinking) } });
    emit('content_block_stop', { type: 'content_block_stop', index: 0 });
  }

  if (generation.toolCall === undefined) {
    emit('content_block_start', atAnswerIndex(byType(captured, 'content_block_start')));
    // Anthropic's ping is written with a space after the colon; keep the captured bytes.
    emit('ping', ANTHROPIC_PING);
    for (const piece of generation.pieces) {
      const delta = atAnswerIndex(byType(captured, 'content_block_delta'));
      (delta['delta'] as Json)['text'] = piece;
      emit('content_block_delta', delta);
    }
  } else {
    const blockStart = atAnswerIndex(byType(toolCaptured, 'content_block_start'));
    const block = blockStart['content_block'] as Json;
    block['id'] = toolUseId;
    block['name'] = generation.toolCall.name;
    emit('content_block_start', blockStart);
    emit('ping', ANTHROPIC_PING);
    for (const piece of ['', ...tokenPieces(generation.toolCall.argumentsJson)]) {
      const delta = atAnswerIndex(byType(toolCaptured, 'content_block_delta'));
      (delta['delta'] as Json)['partial_json'] = piece;
      emit('content_block_delta', delta);
    }
  }
  emit('content_block_stop', atAnswerIndex(byType(captured, 'content_block_stop')));
  const messageDelta = byType(captured, 'message_delta');
  const deltaBody = messageDelta['delta'] as Json;
  deltaBody['stop_reason'] = stopReason;
  deltaBody['stop_sequence'] = generation.stopSequence ?? null;
  (messageDelta['usage'] as Json)['output_tokens'] = generation.completionTokens;
  emit('message_delta', messageDelta);
  emit('message_stop', byType(captured, 'message_stop'));
  return { status: 200, headers: streamHeaders('anthropic'), frames, terminalFrames: 1 };
}

/** Whether the engine sends a usage chunk when `stream_options.include_usage` asks for one: all do but LM Studio before 0.3.18. */
export function streamsUsage(state: EngineState): boolean {
  return state.kind !== 'lmstudio' || state.conforming || releaseAtLeast(state.lmStudioVersion, LM_STUDIO_STREAM_USAGE_VERSION);
}
