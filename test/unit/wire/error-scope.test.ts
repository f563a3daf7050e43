import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { upstreamConditionOf } from '../../../src/wire/error-scope.js';

/**
 * Error answers as the real services send them (bodies from their documentation and from issues
 * quoting them verbatim): what each says about the scope of its failure.
 */
describe('upstreamConditionOf', () => {
  it.each([
    ['OpenAI per-model rate limit', 429, '{\n    "error": {\n        "message": "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.",\n        "type": "tokens",\n        "param": null,\n        "code": "rate_limit_exceeded"\n    }\n}\n'],
    ['Anthropic rate_limit_error', 429, '{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}'],
    ['Zhipu 1302 concurrency of this model', 429, '{"error":{"code":"1302","message":"您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"}}'],
    ['Zhipu 1305 this model over its traffic limit', 429, '{"error":{"code":"1305","message":"该模型当前访问量过大，请您稍后再试"}}'],
    ['a local engine or proxy saying nothing more', 429, 'Too Many Requests'],
  ])('%s: the model’s own rate limit', (_name, status, body) => {
    expect(upstreamConditionOf(status, body)).toBe('model_rate_limited');
  });

  it.each([
    ['OpenAI quota (older answers)', '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}'],
    ['OpenAI credit exhausted', '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"credit_balance_exhausted"}}'],
    ['OpenAI project spend limit', '{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"project_spend_limit_exceeded"}}'],
    ['Anthropic spend limit', '{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits.","details":{"error_code":"enforced_spend_limit_reached"}}}'],
    ['Zhipu 1113 account in arrears', '{"error":{"code":"1113","message":"您的账户已欠费，请充值后重试。"}}'],
    ['Zhipu 1310 plan cap', '{"error":{"code":"1310","message":"您已达到每周/每月使用上限，您的限额将在 2025-10-01 00:00:00 重置"}}'],
  ])('%s: the whole account', (_name, body) => {
    expect(upstreamConditionOf(429, body)).toBe('account_limited');
  });

  it('Anthropic 529 overloaded_error is that model’s capacity; other 5xx say nothing about a model', () => {
    expect(upstreamConditionOf(529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe('model_overloaded');
    expect(upstreamConditionOf(500, '{"type":"error","error":{"type":"api_error","message":"Internal server error"}}')).toBeUndefined();
    expect(upstreamConditionOf(503, '{"error":{"message":"server busy, please try again.  maximum pending requests exceeded"}}')).toBeUndefined();
    expect(upstreamConditionOf(502, '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>')).toBeUndefined();
  });

  it.each([
    ['OpenAI', 404, '{\n    "error": {\n        "message": "The model `gpt-5-nano` does not exist or you do not have access to it.",\n        "type": "invalid_request_error",\n        "param": null,\n        "code": "model_not_found"\n    }\n}\n'],
    ['Anthropic', 404, '{"type":"error","error":{"type":"not_found_error","message":"model: claude-3-opus-20240229"}}'],
    ['Ollama (OpenAI-compatible)', 404, '{"error":{"message":"model \\"qwen3:8b\\" not found, try pulling it first","type":"api_error","param":null,"code":null}}\n'],
    ['Ollama (native)', 404, '{"error":"model \'qwen3:8b\' not found"}'],
    ['vLLM', 404, '{"object":"error","message":"The model `Qwen/Qwen3-8B` does not exist.","type":"NotFoundError","param":null,"code":404}'],
    ['llama.cpp router', 400, '{"error":{"code":400,"message":"model not found","type":"invalid_request_error"}}'],
    ['llama-swap, a form or GET request', 400, '{"error":"could not find suitable handler for qwen-coder"}'],
    // mostlygeek/llama-swap proxy/proxymanager.go proxyInferenceHandler / sendErrorResponse: JSON when the request accepts it, else plain text.
    ['llama-swap, a chat request accepting JSON', 400, '{"error":"could not find suitable inference handler for qwen-coder"}'],
    ['llama-swap, a streamed chat request (Accept: text/event-stream)', 400, 'could not find suitable inference handler for qwen-coder'],
    ['llama-swap before proxyInferenceHandler', 400, 'could not find real modelID for qwen-coder'],
    ['Zhipu 1211', 400, '{"error":{"code":"1211","message":"模型不存在，请检查模型代码。"}}'],
  ])('%s: a model it does not serve', (_name, status, body) => {
    expect(upstreamConditionOf(status, body)).toBe('model_not_found');
  });

  it('llama.cpp without --embeddings: an embedding model its engine does not serve, for want of a flag rather than a model', () => {
    // Captured from llama-server started without --embeddings: its chat models are served, an embedding model is not.
    const body = readFileSync(new URL('../../fixtures/llama.cpp-real/embeddings-not-enabled.json', import.meta.url), 'utf8');
    expect(upstreamConditionOf(501, body)).toBe('embeddings_not_enabled');
  });

  it.each([
    ['its command exited before the health check passed', 'unable to start process: upstream command exited prematurely but successfully\n'],
    ['its health check timed out', 'unable to start process: health check timed out after 120s\n'],
    ['its command could not be run', "unable to start process: start() failed for command '/opt/llama-server -m /models/x.gguf': exec: no such file or directory\n"],
  ])('llama-swap, a model whose process %s: that model could not start (its other models run)', (_name, body) => {
    // Process.ProxyRequest's http.Error: plain text, 502, whatever the request accepts (mostlygeek/llama-swap proxy/process.go).
    expect(upstreamConditionOf(502, body)).toBe('model_start_failed');
  });

  it('a 502 saying anything else (a reverse proxy whose upstream is gone) stays the provider’s', () => {
    expect(upstreamConditionOf(502, '')).toBeUndefined();
    expect(upstreamConditionOf(502, '<html><body><h1>502 Bad Gateway</h1></body></html>')).toBeUndefined();
    expect(upstreamConditionOf(500, 'unable to start process: health check timed out after 120s')).toBeUndefined();
  });

  it.each([
    // Captured from a real llama-server (test/fixtures/llama.cpp-real/README.md): an input longer than its physical batch, and than a slot's context.
    ['llama-server, an input over the physical batch (-ub)', 500, readFileSync(new URL('../../fixtures/llama.cpp-real/embeddings-input-too-large.json', import.meta.url), 'utf8')],
    ['llama-server, an input over a slot’s context', 400, readFileSync(new URL('../../fixtures/llama.cpp-real/embeddings-exceed-context.json', import.meta.url), 'utf8')],
    ['older llama-server builds, without the counts', 500, '{"error":{"code":500,"message":"input is too large to process. increase the physical batch size","type":"server_error"}}'],
    ['llama-server chat over its context', 400, '{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":4200,"n_ctx":4096}}'],
    ['vLLM', 400, '{"object":"error","message":"This model\'s maximum context length is 512 tokens. However, you requested 1451 tokens in the input for embedding generation. Please reduce the length of the input.","type":"BadRequestError","param":null,"code":400}'],
    ['OpenAI', 400, '{\n    "error": {\n        "message": "This model\'s maximum context length is 8192 tokens, however you requested 9000 tokens (9000 in your prompt; 0 for the completion). Please reduce your prompt; or completion length.",\n        "type": "invalid_request_error",\n        "param": null,\n        "code": "context_length_exceeded"\n    }\n}\n'],
    ['Ollama with truncate: false', 400, '{"error":"input exceeds maximum context length"}'],
  ])('%s: an input too long for the model (the request’s, not the provider’s)', (_name, status, body) => {
    expect(upstreamConditionOf(status, body)).toBe('input_too_long');
  });

  it.each([
    ['llama-server without --jinja (captured)', 500, readFileSync(new URL('../../fixtures/engines/llama.cpp/tools-without-jinja.error.json', import.meta.url), 'utf8')],
    // Ollama's chat handler: `fmt.Sprintf("%s does not support tools", req.Model)`, wrapped in OpenAI's envelope on /v1.
    ['Ollama, a model without tool support', 400, '{"error":{"message":"registry.ollama.ai/library/gemma3:270m does not support tools","type":"invalid_request_error","param":null,"code":null}}'],
  ])('%s: tools the engine does not take (the request’s, not the engine’s health)', (_name, status, body) => {
    expect(upstreamConditionOf(status, body)).toBe('tools_not_supported');
  });

  it('llama-server without --mmproj (captured): images the engine does not take (the request’s, not the engine’s health)', () => {
    const body = readFileSync(new URL('../../fixtures/llama.cpp-real/error-image-unsupported.json', import.meta.url), 'utf8');
    expect(upstreamConditionOf(500, body)).toBe('images_not_supported');
  });

  it.each([
    ['Ollama, a wrong path', 404, '404 page not found'],
    ['OpenAI, a wrong path', 404, '{\n    "error": {\n        "message": "Invalid URL (POST /v1/chat/completion)",\n        "type": "invalid_request_error",\n        "param": null,\n        "code": null\n    }\n}\n'],
    ['Anthropic, a wrong path', 404, '{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}'],
    ['vLLM, a wrong path', 404, '{"detail":"Not Found"}'],
    ['a bad request', 400, '{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate between \\"user\\" and \\"assistant\\""}}'],
    ['Anthropic auth', 401, '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'],
    ['Anthropic permission', 403, '{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}'],
  ])('%s: nothing about a model (the provider’s)', (_name, status, body) => {
    expect(upstreamConditionOf(status, body)).toBeUndefined();
  });
});
