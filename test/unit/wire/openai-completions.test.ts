import { describe, expect, it } from 'vitest';
import { InvalidInputError, UpstreamError } from '../../../src/errors.js';
import { clientErrorFor } from '../../../src/wire/client-errors.js';
import type { CanonicalRequest, StreamPart } from '../../../src/wire/canonical.js';
import { decodeOpenAICompletionResponse, decodeOpenAICompletionStreamEvent, encodeOpenAICompletionRequest } from '../../../src/wire/openai/completions.js';
import { OpenAICompletionStreamEncoder, parseOpenAICompletionRequest, renderOpenAICompletionResponse } from '../../../src/wire/openai/completions-server.js';
import { decodeGatewayRequest } from '../../../src/wire/request-family.js';

function problemsOf(body: unknown): { pointer: string; message: string }[] {
  try {
    parseOpenAICompletionRequest(JSON.stringify(body));
  } catch (error) {
    if (error instanceof InvalidInputError) return error.problems.map(({ pointer, message }) => ({ pointer, message }));
    throw error;
  }
  return [];
}

/** The OpenAI error a gateway client gets for a body: `param` and message. */
function clientError(body: unknown): { param?: string; message: string; kind: string } {
  try {
    parseOpenAICompletionRequest(JSON.stringify(body));
  } catch (error) {
    const { param, message, kind } = clientErrorFor(error);
    return { ...(param === undefined ? {} : { param }), message, kind };
  }
  throw new Error('the body was accepted');
}

describe('reading a client text completions request', () => {
  it('reads prompt, suffix and the sampling settings; a list of one prompt is that prompt; user and penalties are ignored, named', () => {
    const parsed = parseOpenAICompletionRequest(
      JSON.stringify({ model: 'auto', prompt: ['def f(x):'], suffix: '\nreturn y', max_tokens: 16, temperature: 0.2, top_p: 0.9, stop: '\n\n', seed: 7, n: 1, echo: false, best_of: 1, logprobs: null, user: 'u', frequency_penalty: 0.5 }),
    );
    expect(parsed.request).toEqual({
      model: 'auto',
      messages: [],
      stream: false,
      completion: { prompt: 'def f(x):', suffix: '\nreturn y' },
      maxTokens: 16,
      temperature: 0.2,
      topP: 0.9,
      seed: 7,
      stop: ['\n\n'],
    });
    expect(parsed.ignoredFields).toEqual(['frequency_penalty', 'user']);
    expect(parsed.includeUsage).toBe(false);
    const streamed = parseOpenAICompletionRequest('{"model":"m","prompt":"","stream":true,"stream_options":{"include_usage":true}}');
    expect(streamed.request.completion).toEqual({ prompt: '' });
    expect(streamed.includeUsage).toBe(true);
  });

  it('refuses what the gateway does not support with a 400 naming the param', () => {
    expect(clientError({ model: 'm', prompt: 'x', n: 3 })).toEqual({
      kind: 'invalid_request',
      param: 'n',
      message: 'invalid completions request: /n: n = 3 (several choices) is not supported by the gateway (ask for one completion per request (n = 1))',
    });
    expect(clientError({ model: 'm', prompt: 'x', echo: true })).toMatchObject({ param: 'echo', message: 'invalid completions request: /echo: echo: true is not supported by the gateway (leave echo out: the answer is the new text only; the client has the prompt)' });
    expect(clientError({ model: 'm', prompt: 'x', best_of: 2 })).toMatchObject({ param: 'best_of', message: 'invalid completions request: /best_of: best_of = 2 is not supported by the gateway (leave best_of out: one completion is generated per request)' });
    expect(clientError({ model: 'm', prompt: 'x', logprobs: 21 })).toMatchObject({ param: 'logprobs', message: 'invalid completions request: /logprobs: must be at most 20' });
    expect(clientError({ model: 'm', prompt: 'x', logprobs: true })).toMatchObject({ param: 'logprobs', message: 'invalid completions request: /logprobs: must be a number' });
    expect(clientError({ model: 'm', prompt: ['a', 'b'] })).toMatchObject({
      param: 'prompt',
      message: 'invalid completions request: /prompt: holds 2 prompts; several prompts in one request are not supported by the gateway (send one prompt per request)',
    });
    expect(clientError({ model: 'm', prompt: [1, 2, 3] })).toMatchObject({
      param: 'prompt',
      message:
        "invalid completions request: /prompt: is token ids, which the gateway does not take for a text completion: it classifies the prompt as text before routing it, and only the model's tokenizer can read token ids (POST /v1/embeddings takes them, as restricted); send the prompt as text, decoded with the model's tokenizer (llama-server: POST /detokenize)",
    });
    expect(clientError({ model: 'm', prompt: [[1, 2], [3]] })).toMatchObject({ param: 'prompt' });
  });

  it('names every malformed field', () => {
    expect(problemsOf({ prompt: 'x' })).toEqual([{ pointer: '/model', message: 'is required and must be a non-empty string' }]);
    expect(problemsOf({ model: 'm' })).toEqual([{ pointer: '/prompt', message: 'is required and must be a string (or a list of one string)' }]);
    expect(problemsOf({ model: 'm', prompt: [] })).toEqual([{ pointer: '/prompt', message: 'is required and must be a string (or a list of one string)' }]);
    expect(problemsOf({ model: 'm', prompt: 'x', suffix: 3, max_tokens: 0, temperature: 3, stop: [1], stream: 'yes' }).map((problem) => problem.pointer)).toEqual([
      '/suffix',
      '/max_tokens',
      '/temperature',
      '/stop',
      '/stream',
    ]);
  });

  it('route --request tells a completions body from a chat body by its prompt', () => {
    expect(decodeGatewayRequest('{"model":"auto","prompt":"x","n":1,"stop":"\\n"}', 'body.json').family).toBe('openai-completions');
    expect(decodeGatewayRequest('{"model":"auto","messages":[{"role":"user","content":"x"}],"n":1}', 'body.json').family).toBe('openai');
  });

  it('route --request tells an Ollama /api/generate or /api/chat body by the fields only Ollama has', () => {
    // What an editor's autocomplete sends Ollama: a prompt, a suffix, raw and options.
    const fillInMiddle = decodeGatewayRequest('{"model":"qwen2.5-coder:7b","prompt":"def add(a, b):","suffix":"\\n","raw":true,"options":{"num_predict":16}}', 'body.json');
    expect(fillInMiddle.family).toBe('ollama-generate');
    expect(fillInMiddle.request).toMatchObject({ completion: { prompt: 'def add(a, b):', suffix: '\n' }, maxTokens: 16 });
    expect(decodeGatewayRequest('{"model":"llama3.2","prompt":"hi","system":"be brief"}', 'body.json').family).toBe('ollama-generate');
    const chat = decodeGatewayRequest('{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"options":{"temperature":0.2},"keep_alive":"5m"}', 'body.json');
    expect(chat.family).toBe('ollama-chat');
    expect(chat.request).toMatchObject({ temperature: 0.2, messages: [{ role: 'user' }] });
    // A suffix alone is OpenAI's too: without an Ollama-only field the body is a text completions one.
    expect(decodeGatewayRequest('{"model":"auto","prompt":"a","suffix":"b"}', 'body.json').family).toBe('openai-completions');
    // Ollama's model load (no prompt) routes nowhere: a usage error saying so.
    expect(() => decodeGatewayRequest('{"model":"llama3.2","keep_alive":"5m"}', 'body.json', { family: 'ollama-generate' })).toThrow(
      'body.json: the body has no `prompt`: Ollama reads it as a model load, which routes nowhere',
    );
  });
});

describe('the upstream completions wire', () => {
  const request: CanonicalRequest = { model: 'qwen2.5-coder:7b', messages: [], stream: true, completion: { prompt: 'a', suffix: 'b' }, maxTokens: 8, stop: ['\n'] };

  it('posts the prompt and suffix to {baseUrl}/completions, asking for usage in a stream', () => {
    const http = encodeOpenAICompletionRequest(request, { baseUrl: 'http://127.0.0.1:11434/v1' });
    expect(http.url).toBe('http://127.0.0.1:11434/v1/completions');
    expect(http.headers['accept']).toBe('text/event-stream');
    expect(JSON.parse(http.body)).toEqual({ model: 'qwen2.5-coder:7b', prompt: 'a', suffix: 'b', max_tokens: 8, stop: ['\n'], stream: true, stream_options: { include_usage: true } });
  });

  it('reads a text_completion answer and its stream chunks (usage beside the finish, as llama-server sends it)', () => {
    const answer = decodeOpenAICompletionResponse('{"id":"cmpl-1","object":"text_completion","model":"m","choices":[{"text":"x = 1","index":0,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}');
    expect(answer).toMatchObject({ id: 'cmpl-1', text: 'x = 1', finishReason: 'length', usage: { inputTokens: 3, outputTokens: 4 } });
    expect(() => decodeOpenAICompletionResponse('{"choices":[{"message":{"content":"x"}}]}')).toThrow(UpstreamError);
    expect(decodeOpenAICompletionStreamEvent({ data: '{"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"completion_tokens":2,"prompt_tokens":5,"total_tokens":7},"id":"chatcmpl-x"}' })).toEqual([
      { type: 'response-metadata', id: 'chatcmpl-x' },
      { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' },
      { type: 'usage', usage: { inputTokens: 5, outputTokens: 2 } },
    ]);
    expect(decodeOpenAICompletionStreamEvent({ data: '[DONE]' })).toEqual([{ type: 'stream-end' }]);
  });
});

describe('answering a text completions client', () => {
  it('renders a text_completion object', () => {
    const body = renderOpenAICompletionResponse(
      { id: 'up', model: 'm', text: 'x = 1', toolCalls: [], finishReason: 'stop', rawFinishReason: 'stop', usage: { inputTokens: 3, outputTokens: 4 } },
      { id: 'cmpl-1', model: 'ollama:m', created: 1700000000 },
    );
    expect(JSON.parse(body)).toEqual({
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1700000000,
      model: 'ollama:m',
      choices: [{ text: 'x = 1', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  it('streams text chunks, the finish, usage when asked, then [DONE]; a broken stream ends with an error event instead', () => {
    const parts: StreamPart[] = [
      { type: 'text-delta', text: 'x' },
      { type: 'text-delta', text: ' = 1' },
      { type: 'finish', finishReason: 'length', rawFinishReason: 'length' },
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 2 } },
      { type: 'stream-end' },
    ];
    const encoder = new OpenAICompletionStreamEncoder({ id: 'cmpl-1', model: 'm', created: 1, includeUsage: true });
    const frames = encoder.encodeAll(parts).split('\n\n').filter((frame) => frame !== '');
    const envelope = { id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm' };
    expect(frames).toEqual([
      `data: ${JSON.stringify({ ...envelope, choices: [{ text: 'x', index: 0, logprobs: null, finish_reason: null }] })}`,
      `data: ${JSON.stringify({ ...envelope, choices: [{ text: ' = 1', index: 0, logprobs: null, finish_reason: null }] })}`,
      `data: ${JSON.stringify({ ...envelope, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'length' }] })}`,
      `data: ${JSON.stringify({ ...envelope, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}`,
      'data: [DONE]',
    ]);
    expect(encoder.closed).toBe(true);

    const broken = new OpenAICompletionStreamEncoder({ id: 'cmpl-2', model: 'm', created: 1, includeUsage: false });
    broken.encodeAll([{ type: 'text-delta', text: 'x' }]);
    const end = broken.fail({ kind: 'upstream', message: 'the stream broke', code: 'stream_broken' });
    expect(end).toBe('data: {"error":{"message":"the stream broke","type":"upstream_error","param":null,"code":"stream_broken"}}\n\n');
    expect(broken.encodeAll([{ type: 'stream-end' }])).toBe('');
  });
});
