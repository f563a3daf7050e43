import type { UpstreamCondition } from '../errors.js';
import { isRecord, stringField, tryParseJson } from './json.js';

/**
 * Error codes that say a 429 is about the whole account, not the model asked for: its credit,
 * spend limit or plan is exhausted, and no other model of the provider would answer either.
 * OpenAI: `insufficient_quota` (the type, and the code of older answers) and the billing codes
 * under it; Anthropic: `error.details.error_code`; Zhipu GLM: 1113 account in arrears, 1304 daily
 * call quota, 1308 and 1310 plan usage caps, 1309 plan expired, 1313 fair-use restriction.
 */
const ACCOUNT_CODES = new Set([
  'insufficient_quota',
  'credit_balance_exhausted',
  'organization_usage_limit_exceeded',
  'organization_spend_limit_exceeded',
  'project_spend_limit_exceeded',
  'enforced_spend_limit_reached',
  '1113',
  '1304',
  '1308',
  '1309',
  '1310',
  '1313',
]);

/** Zhipu GLM's "model does not exist" (1211); OpenAI's and LM Studio's `model_not_found`. */
const MODEL_NOT_FOUND_CODES = new Set(['model_not_found', '1211']);

/**
 * How engines word "no such model": Ollama `model "x" not found, try pulling it first`, vLLM and
 * OpenAI ``The model `x` does not exist``, llama.cpp's router `model not found`, Zhipu `模型不存在`,
 * and llama-swap (mostlygeek/llama-swap proxy/proxymanager.go and, before it, proxy/metrics_middleware.go: a 400 in plain text, or
 * `{"error": …}` when the request accepts JSON): `could not find suitable inference handler for x`
 * (chat, completions, embeddings: proxyInferenceHandler), `could not find suitable handler for x`
 * (its form and GET handlers), and in releases before those `could not find real modelID for x`.
 */
const MODEL_NOT_FOUND_TEXT = /\bmodel\b[^\n]{0,200}?\b(?:not found|does not exist)\b|could not find (?:suitable (?:inference )?handler|real modelID) for|模型不存在/i;

/**
 * How llama-swap answers a request for a model whose process it could not start (the command exited
 * before its health check passed, the health check timed out, the command could not be run):
 * Process.ProxyRequest's `http.Error(w, "unable to start process: …", 502)`, plain text whatever the
 * request accepts (mostlygeek/llama-swap proxy/process.go). Its other models run as before.
 */
const MODEL_START_FAILED_TEXT = /^unable to start process: /;

/**
 * How engines refuse an input longer than the model takes. llama-server embeds (and reranks) each
 * input in one physical batch: 500 `server_error` ``input (N tokens) is too large to process.
 * increase the physical batch size (current batch size: B)`` (older builds: without the counts),
 * and 400 `exceed_context_size_error` beyond a slot's context (``input (N tokens) is larger than
 * the max context size (M tokens). skipping``; chat: ``the request exceeds the available context
 * size``) — both captured from a real llama-server in test/fixtures/llama.cpp-real/; vLLM and OpenAI
 * 400 ``This model's maximum context length is N tokens. However, you requested M tokens…``
 * (`context_length_exceeded`); Ollama ``input exceeds maximum context length`` (`truncate: false`).
 */
const INPUT_TOO_LONG_TEXT = /\bis too large to process\b[^\n]{0,40}?\bbatch size\b|\bmaximum context length\b/i;
const INPUT_TOO_LONG_CODES = new Set(['exceed_context_size_error', 'context_length_exceeded']);

/**
 * How engines refuse a request's tools: llama-server started without `--jinja` answers 500
 * `server_error` ``tools param requires --jinja flag`` (captured in
 * test/fixtures/engines/llama.cpp/tools-without-jinja.error.json), Ollama 400 ``MODEL does not
 * support tools`` for a model whose template has none.
 */
const TOOLS_NOT_SUPPORTED_TEXT = /\btools param requires --jinja\b|\bdoes not support tools\b/i;

/**
 * How llama-server refuses an image part when it was started without its model's multimodal
 * projector (`--mmproj`): 500 `server_error` ``image input is not supported - hint: if this is
 * unexpected, you may need to provide the mmproj`` (test/fixtures/llama.cpp-real/error-image-unsupported.json).
 */
const IMAGES_NOT_SUPPORTED_TEXT = /\bimage input is not supported\b/i;

/**
 * What an upstream's error answer says about the scope of its failure, from its status and body
 * (captured shapes of OpenAI, Anthropic, Zhipu GLM, Ollama, vLLM, llama.cpp and llama-swap). Pure.
 *
 * - 429 concerns the model asked for (`model_rate_limited`: OpenAI, Anthropic and Zhipu limit
 *   requests and tokens per model), unless its code says the account is exhausted
 *   (`account_limited`, see `ACCOUNT_CODES`);
 * - 529 or an `overloaded_error` (Anthropic) is that model's capacity (`model_overloaded`);
 * - 404 or 400 whose code or message says the model does not exist is `model_not_found`; a 404
 *   that names no model (a wrong path: `404 page not found`, `Invalid URL`) is not; llama-server's
 *   501 `not_supported_error` (embeddings asked of a server started without `--embeddings`) is
 *   `embeddings_not_enabled`, held back the same way;
 * - llama-swap's 502 `unable to start process: …` is `model_start_failed`: that model's process,
 *   not the engine, which serves its other models as before;
 * - a 400, 413 or 500 that says the input is longer than the model takes (`INPUT_TOO_LONG_TEXT`,
 *   `INPUT_TOO_LONG_CODES`) is `input_too_long`: the request's, not the provider's health;
 * - a 400 or 500 that says the engine takes no tools (`TOOLS_NOT_SUPPORTED_TEXT`) is
 *   `tools_not_supported`: that request's too — the engine answers every request without tools;
 * - a 400 or 500 that says the engine takes no images (`IMAGES_NOT_SUPPORTED_TEXT`) is
 *   `images_not_supported`, likewise: it answers every request without them;
 * - anything else (other 5xx, 401/403, HTML pages): undefined — nothing says it is about one
 *   model, so the caller keeps treating it as the provider's.
 */
export function upstreamConditionOf(status: number, body: string): UpstreamCondition | undefined {
  const error = errorObject(body);
  if ((status === 400 || status === 413 || status === 500) && (error.codes.some((code) => INPUT_TOO_LONG_CODES.has(code)) || INPUT_TOO_LONG_TEXT.test(error.message ?? ''))) {
    return 'input_too_long';
  }
  if ((status === 400 || status === 500) && TOOLS_NOT_SUPPORTED_TEXT.test(error.message ?? '')) return 'tools_not_supported';
  if ((status === 400 || status === 500) && IMAGES_NOT_SUPPORTED_TEXT.test(error.message ?? '')) return 'images_not_supported';
  if (status === 429) return error.codes.some((code) => ACCOUNT_CODES.has(code)) ? 'account_limited' : 'model_rate_limited';
  if (status === 529 || error.codes.includes('overloaded_error')) return 'model_overloaded';
  if (status === 404 || status === 400) {
    if (error.codes.some((code) => MODEL_NOT_FOUND_CODES.has(code))) return 'model_not_found';
    // Anthropic: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`.
    if (error.codes.includes('not_found_error') && /^model: /.test(error.message ?? '')) return 'model_not_found';
    if (error.message !== undefined && MODEL_NOT_FOUND_TEXT.test(error.message)) return 'model_not_found';
  }
  // llama-server started without `--embeddings` (`not_supported_error`): its chat models answer, the
  // embedding model declared on it is not served.
  if (status === 501 && error.codes.includes('not_supported_error')) return 'embeddings_not_enabled';
  if (status === 502 && MODEL_START_FAILED_TEXT.test(error.message ?? '')) return 'model_start_failed';
  return undefined;
}

/**
 * Error codes of a provider's safety filter refusing a request or its answer: Zhipu GLM's 1301
 * ("the input or generated content may contain unsafe or sensitive content", docs.bigmodel.cn
 * error codes), Azure OpenAI's and Moonshot's `content_filter`.
 */
const CONTENT_FILTERED_CODES = new Set(['1301', 'content_filter']);

/** Whether an upstream's 4xx error answer is its safety filter refusing the request's content (see `CONTENT_FILTERED_CODES`). Pure. */
export function isContentFiltered(status: number, body: string): boolean {
  return status >= 400 && status < 500 && status !== 429 && errorObject(body).codes.some((code) => CONTENT_FILTERED_CODES.has(code));
}

/** The type and code strings and the message of an error body, whichever envelope it uses. */
function errorObject(body: string): { codes: string[]; message: string | undefined } {
  const parsed = tryParseJson(body);
  if (!isRecord(parsed)) return { codes: [], message: body.trim() === '' ? undefined : body };
  const nested = parsed['error'];
  const holder = isRecord(nested) ? nested : parsed;
  const details = holder['details'];
  const codes = [holder['type'], holder['code'], isRecord(details) ? details['error_code'] : undefined, parsed['type'] === 'error' ? undefined : parsed['type']]
    .map((value) => (typeof value === 'number' ? String(value) : value))
    .filter((value): value is string => typeof value === 'string' && value !== '');
  const message = typeof nested === 'string' ? nested : (stringField(holder, 'message') ?? stringField(parsed, 'message') ?? stringField(parsed, 'detail'));
  return { codes, message };
}

/** How a model is not served: it does not exist (`not_found`), or its server serves no embeddings. */
export type NotServedCause = 'not_found' | 'embeddings_not_enabled';

/**
 * Whether a condition says the model asked for is not served as its record declares (held back
 * alone, and the request may go to the next candidate, which it never reached), and how.
 */
export function notServedCause(condition: UpstreamCondition | undefined): NotServedCause | undefined {
  if (condition === 'model_not_found') return 'not_found';
  if (condition === 'embeddings_not_enabled') return 'embeddings_not_enabled';
  return undefined;
}
