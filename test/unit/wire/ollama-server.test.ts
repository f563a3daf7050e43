import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import type { StreamPart } from '../../../src/wire/canonical.js';
import {
  isOllamaModelManagement,
  OllamaStreamEncoder,
  parseOllamaChatRequest,
  parseOllamaEmbeddingsRequest,
  parseOllamaEmbedRequest,
  parseOllamaGenerateRequest,
  renderOllamaEmbeddingsResponse,
  renderOllamaError,
  renderOllamaModelManagement,
  renderOllamaResponse,
  type OllamaClock,
  type OllamaModelManagement,
  type ParsedOllamaRequest,
} from '../../../src/wire/ollama/server.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** A clock that moves 10 ms at every reading, from 1000 ms. */
function steppingClock(): OllamaClock {
  let now = 1000;
  return {
    now: () => {
      now += 10;
      return now;
    },
    isoTime: () => '2026-01-02T03:04:05.000Z',
  };
}

/** A request read as something to answer (not a model load or unload). */
function answerable(read: ParsedOllamaRequest | OllamaModelManagement): ParsedOllamaRequest {
  if (isOllamaModelManagement(read)) throw new Error(`expected a request to answer, got a model ${read.action}`);
  return read;
}

function problemsOf(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).problems.map((problem) => problem.pointer);
  }
  throw new Error('expected the request to be refused');
}

describe('parseOllamaChatRequest', () => {
  it('reads messages, images, tools, format and the interpreted options; streams unless told not to', () => {
    const parsed = answerable(
      parseOllamaChatRequest(
        JSON.stringify({
          model: 'auto:latest',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'What is this?', images: [PNG] },
          ],
          tools: [{ type: 'function', function: { name: 'look', parameters: { type: 'object', properties: {} } } }],
          format: 'json',
          options: { temperature: 0.5, top_p: 0.8, num_predict: 100, stop: '###', seed: 3, num_ctx: 4096, top_k: 20 },
          keep_alive: -1,
        }),
      ),
    );
    expect(parsed.request).toEqual({
      model: 'auto',
      stream: true,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', mediaType: 'image/png', data: PNG }] }],
      tools: [{ name: 'look', inputSchema: { type: 'object', properties: {} } }],
      responseFormat: { type: 'json_object' },
      temperature: 0.5,
      topP: 0.8,
      maxTokens: 100,
      stop: ['###'],
      seed: 3,
    });
    expect(parsed.ignoredFields).toEqual(['keep_alive', 'options.num_ctx', 'options.top_k']);
    expect(parsed.showThinking).toBe(true);
  });

  it('keeps stream: false, a schema format, no limit for num_predict -1, and hides reasoning for think: false', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const parsed = answerable(parseOllamaChatRequest(JSON.stringify({ model: 'm', stream: false, format: schema, options: { num_predict: -1 }, think: false, messages: [{ role: 'user', content: 'hi' }] })));
    // Enforced, as Ollama enforces it: an openai-wire server is sent strict: true when the schema fits strict mode.
    expect(parsed.request).toMatchObject({ stream: false, responseFormat: { type: 'json_schema', schema, enforced: true } });
    expect(parsed.request.maxTokens).toBeUndefined();
    expect(parsed.showThinking).toBe(false);
    // `think` is the request's reasoning effort now: false is none, carried by the wire that answers.
    expect(parsed.request.reasoningEffort).toEqual({ effort: 'none', field: 'think' });
    expect(parsed.ignoredFields).toEqual([]);
  });

  it('gives id-less tool calls ids and matches each result to its call: by tool_call_id, by tool_name, else in order', () => {
    const parsed = parseOllamaChatRequest(
      JSON.stringify({
        model: 'm',
        messages: [
          { role: 'user', content: 'weather and time?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { function: { name: 'weather', arguments: { city: 'Paris' } } },
              { function: { name: 'time', arguments: {} } },
              { id: 'call_x', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', content: 'noon', tool_name: 'time' },
          { role: 'tool', content: '25', tool_call_id: 'call_x' },
          { role: 'tool', content: '21' },
        ],
      }),
    );
    const [, assistant, time, rome, paris] = answerable(parsed).request.messages;
    expect(assistant).toEqual({
      role: 'assistant',
      content: [],
      toolCalls: [
        { id: 'call_1_0', name: 'weather', arguments: '{"city":"Paris"}' },
        { id: 'call_1_1', name: 'time', arguments: '{}' },
        { id: 'call_x', name: 'weather', arguments: '{"city":"Rome"}' },
      ],
    });
    expect(time).toMatchObject({ role: 'tool', toolCallId: 'call_1_1', content: [{ type: 'text', text: 'noon' }] });
    expect(rome).toMatchObject({ role: 'tool', toolCallId: 'call_x' });
    expect(paris).toMatchObject({ role: 'tool', toolCallId: 'call_1_0' });
  });

  it('names every field at fault', () => {
    expect(
      problemsOf(() =>
        parseOllamaChatRequest(
          JSON.stringify({
            messages: [{ role: 'wizard' }, { role: 'user', content: 3 }, { role: 'user', content: 'x', images: ['bm90IGFuIGltYWdl'] }, { role: 'tool', content: 'orphan' }],
            format: 'yaml',
            options: { temperature: 'hot', num_predict: 1.5 },
            think: 'very',
            stream: 'yes',
          }),
        ),
      ),
    ).toEqual(['/model', '/messages/0/role', '/messages/1/content', '/messages/2/images/0', '/messages/3', '/stream', '/format', '/options/temperature', '/options/num_predict', '/think']);
    expect(problemsOf(() => parseOllamaChatRequest(JSON.stringify({ model: 'm', messages: 'hi' })))).toEqual(['/messages']);
    expect(problemsOf(() => parseOllamaChatRequest('not json'))).toEqual(['']);
  });
});

describe('parseOllamaGenerateRequest', () => {
  it('reads the prompt and images as one user message and system as the system prompt', () => {
    const parsed = answerable(parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 'Describe', system: 'Be brief.', images: [PNG], raw: false, context: [], suffix: '' })));
    expect(parsed.request).toEqual({
      model: 'm',
      stream: true,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image', mediaType: 'image/png', data: PNG }] }],
    });
    expect(parsed.ignoredFields).toEqual([]);
  });

  it('refuses what needs the engine’s own template: template, context (also beside raw or suffix)', () => {
    expect(problemsOf(() => parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 'x', template: 't', context: [1] })))).toEqual(['/template', '/context']);
    expect(problemsOf(() => parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 'x', raw: true, suffix: 's', template: 't', context: [1] })))).toEqual(['/template', '/context']);
    expect(problemsOf(() => parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 3 })))).toEqual(['/prompt']);
    expect(problemsOf(() => parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 'x', raw: 'yes', suffix: 4 })))).toEqual(['/raw', '/suffix']);
  });

  it('reads a suffix as a text completion (fill in the middle): options as for a chat, num_predict the token limit, no messages', () => {
    const parsed = answerable(
      parseOllamaGenerateRequest(
        JSON.stringify({ model: 'm', prompt: 'def f(', suffix: '\n    return x', options: { num_predict: 48, temperature: 0.2, top_p: 0.9, seed: 3, stop: ['<EOT>'], num_ctx: 8192 } }),
      ),
    );
    expect(parsed.request).toEqual({ model: 'm', messages: [], stream: true, completion: { prompt: 'def f(', suffix: '\n    return x' }, maxTokens: 48, temperature: 0.2, topP: 0.9, seed: 3, stop: ['<EOT>'] });
    expect(parsed.ignoredFields).toEqual(['options.num_ctx']);
    expect(parsed.showThinking).toBe(false);
  });

  it('reads raw: true as a text completion without a suffix, and raw with a suffix as fill in the middle; think is named as ignored', () => {
    const raw = answerable(parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: '<|fim_prefix|>a', raw: true, stream: false, think: true, options: { num_predict: -1 } })));
    expect(raw.request).toEqual({ model: 'm', messages: [], stream: false, completion: { prompt: '<|fim_prefix|>a' } });
    expect(raw.ignoredFields).toEqual(['think']);
    const both = answerable(parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 'a', suffix: 'b', raw: true, system: '', images: [], format: '' })));
    expect(both.request.completion).toEqual({ prompt: 'a', suffix: 'b' });
  });

  it('refuses system, images and format beside raw or suffix, naming each: a text completion has none of them', () => {
    const refusal = (body: Record<string, unknown>): InvalidInputError => {
      try {
        parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: 'a', ...body }));
      } catch (error) {
        return error as InvalidInputError;
      }
      throw new Error('expected the request to be refused');
    };
    const withSuffix = refusal({ suffix: 'b', system: 'Be brief.', images: [PNG], format: 'json' });
    expect(withSuffix.problems.map((problem) => `${problem.pointer}: ${problem.message}`)).toEqual([
      '/system: with a `suffix` the prompt is a text completion (fill in the middle), which takes no system prompt',
      '/images: with a `suffix` the prompt is a text completion (fill in the middle), which takes no images',
      '/format: with a `suffix` the prompt is a text completion (fill in the middle), which takes no response format',
    ]);
    expect(refusal({ raw: true, system: 'Be brief.' }).problems.map((problem) => problem.message)).toEqual(['with `raw: true` the prompt is a text completion, which takes no system prompt']);
  });
});

describe('a request with nothing to answer: a model load or unload', () => {
  const chat = (fields: Record<string, unknown>): ParsedOllamaRequest | OllamaModelManagement => parseOllamaChatRequest(JSON.stringify({ model: 'auto:latest', ...fields }));

  it('is a load without messages (absent, null or empty) or without a prompt (absent, null or ""), the model as the client named it', () => {
    for (const messages of [undefined, null, []]) expect(chat({ messages })).toEqual({ model: 'auto:latest', action: 'load', ignoredFields: [] });
    for (const prompt of [undefined, null, '']) {
      expect(parseOllamaGenerateRequest(JSON.stringify({ model: 'small', prompt }))).toEqual({ model: 'small', action: 'load', ignoredFields: [] });
      expect(parseOllamaEmbeddingsRequest(JSON.stringify({ model: 'small', prompt }))).toEqual({ model: 'small', action: 'load', ignoredFields: [] });
    }
    // /api/embed without input (absent, null, "" or []): Ollama's EmbedHandler loads the model and answers no vectors.
    for (const input of [undefined, null, '', []]) {
      const read = parseOllamaEmbedRequest(JSON.stringify({ model: 'e', input, truncate: true }));
      expect(read, JSON.stringify(input)).toEqual({ model: 'e', action: 'load', ignoredFields: ['truncate'] });
      expect(renderOllamaModelManagement('embed', read as OllamaModelManagement, 'now')).toBe('{"model":"e","embeddings":[]}');
    }
  });

  it('reads keep_alive as Ollama does: zero unloads; a duration, seconds or a negative number (for ever) is the load’s keep-alive', () => {
    // Ollama's api.Duration: a number is seconds (negative: for ever), a string a Go duration; only a zero one unloads.
    for (const zero of [0, '0', '0s', '0m0s', '-0', 1e-10]) expect(chat({ keep_alive: zero }), String(zero)).toMatchObject({ action: 'unload' });
    expect((chat({ keep_alive: 0 }) as OllamaModelManagement).keepAlive).toBeUndefined();
    const kept: [unknown, string][] = [
      ['5m', '5m'],
      ['1h30m', '1h30m'],
      ['-1m', '-1m'],
      [300, '300'],
      [1.5, '1.5s'],
      [-1, '-1'],
      [-3600, '-1'],
    ];
    for (const [sent, engine] of kept) expect(chat({ keep_alive: sent }), String(sent)).toEqual({ model: 'auto:latest', action: 'load', keepAlive: engine, ignoredFields: [] });
  });

  it('keeps a load’s options for the engine (Ollama loads the model with them); an unload names them as ignored', () => {
    // Ollama's handlers pass req.Options to scheduleRunner, which starts the runner with them (num_ctx: its context).
    expect(chat({ messages: [], options: { num_ctx: 8192, num_gpu: 0 } })).toEqual({ model: 'auto:latest', action: 'load', options: { num_ctx: 8192, num_gpu: 0 }, ignoredFields: [] });
    expect(parseOllamaEmbedRequest(JSON.stringify({ model: 'e', options: { num_ctx: 512 } }))).toEqual({ model: 'e', action: 'load', options: { num_ctx: 512 }, ignoredFields: [] });
    expect(parseOllamaEmbeddingsRequest(JSON.stringify({ model: 'e', prompt: '', options: { num_ctx: 512 } }))).toMatchObject({ options: { num_ctx: 512 } });
    // An empty object asks for nothing; an unload expires the runner before options are read.
    expect(chat({ options: {} })).toEqual({ model: 'auto:latest', action: 'load', ignoredFields: [] });
    expect(chat({ keep_alive: 0, options: { num_ctx: 8192 } })).toEqual({ model: 'auto:latest', action: 'unload', ignoredFields: ['options.num_ctx'] });
    for (const options of ['big', 4096, [1]]) expect(problemsOf(() => chat({ options })), JSON.stringify(options)).toEqual(['/options']);
  });

  it('names the fields a load does not interpret; refuses a missing model, a bad stream and a keep_alive that is not a duration', () => {
    expect(chat({ messages: [], stream: false, options: { num_ctx: 8192 }, format: 'json' })).toMatchObject({ ignoredFields: ['format'] });
    expect(parseOllamaGenerateRequest(JSON.stringify({ model: 'm', prompt: '', system: 'x', keep_alive: '10m' }))).toEqual({ model: 'm', action: 'load', keepAlive: '10m', ignoredFields: ['system'] });
    expect(problemsOf(() => parseOllamaChatRequest(JSON.stringify({ messages: [], stream: 'no', keep_alive: '5' })))).toEqual(['/model', '/stream', '/keep_alive']);
    for (const keepAlive of ['soon', '5', '1d', true, {}]) expect(problemsOf(() => chat({ keep_alive: keepAlive })), JSON.stringify(keepAlive)).toEqual(['/keep_alive']);
  });

  it('answers as Ollama does: done_reason load or unload with an empty message or response; /api/embeddings an empty vector', () => {
    const load: OllamaModelManagement = { model: 'small:latest', action: 'load', ignoredFields: [] };
    const at = '2026-01-02T03:04:05.000Z';
    expect(renderOllamaModelManagement('chat', load, at)).toBe(
      '{"model":"small:latest","created_at":"2026-01-02T03:04:05.000Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"load"}',
    );
    expect(renderOllamaModelManagement('generate', { ...load, action: 'unload' }, at)).toBe(
      '{"model":"small:latest","created_at":"2026-01-02T03:04:05.000Z","response":"","done":true,"done_reason":"unload"}',
    );
    expect(renderOllamaModelManagement('embeddings', load, at)).toBe('{"embedding":[]}');
  });
});

describe('parseOllamaEmbeddingsRequest (the older /api/embeddings)', () => {
  it('reads the prompt as one text to embed, never streamed; options are ignored; the answer is the one vector', () => {
    expect(parseOllamaEmbeddingsRequest(JSON.stringify({ model: 'e', prompt: 'one', options: { num_ctx: 512 }, keep_alive: '5m' }))).toEqual({
      request: { model: 'e', messages: [], stream: false, embedding: { input: { kind: 'texts', texts: ['one'] }, encodingFormat: 'float' } },
      ignoredFields: ['keep_alive', 'options.num_ctx'],
      showThinking: false,
    });
    expect(problemsOf(() => parseOllamaEmbeddingsRequest(JSON.stringify({ prompt: ['a'] })))).toEqual(['/model', '/prompt']);
    const response = { id: 'x', model: 'e', text: '', toolCalls: [], finishReason: 'stop' as const, rawFinishReason: 'stop', embeddings: [[0.5, -0.25]], usage: { inputTokens: 2, outputTokens: 0 } };
    expect(renderOllamaEmbeddingsResponse(response)).toBe('{"embedding":[0.5,-0.25]}');
  });
});

describe('parseOllamaEmbedRequest', () => {
  const embed = (fields: Record<string, unknown>): ParsedOllamaRequest => {
    const read = parseOllamaEmbedRequest(JSON.stringify(fields));
    if (isOllamaModelManagement(read)) throw new Error('read as a model load');
    return read;
  };
  it('reads a string or a list into an embeddings request, never streamed; options are ignored', () => {
    expect(parseOllamaEmbedRequest(JSON.stringify({ model: 'e', input: 'one', dimensions: 4, truncate: true, options: { num_ctx: 512 } }))).toEqual({
      request: { model: 'e', messages: [], stream: false, embedding: { input: { kind: 'texts', texts: ['one'] }, encodingFormat: 'float', dimensions: 4, truncate: true } },
      ignoredFields: ['options.num_ctx'],
      showThinking: false,
    });
    expect(embed({ model: 'e', input: ['a', 'b'] }).request.embedding?.input).toEqual({ kind: 'texts', texts: ['a', 'b'] });
  });

  it('reads truncate as Ollama does: true unless the client sends false', () => {
    expect(embed({ model: 'e', input: 'one' }).request.embedding?.truncate).toBe(true);
    expect(embed({ model: 'e', input: 'one', truncate: false }).request.embedding?.truncate).toBe(false);
    expect(problemsOf(() => parseOllamaEmbedRequest(JSON.stringify({ model: 'e', input: 'one', truncate: 'no' })))).toEqual(['/truncate']);
  });

  it('refuses an empty text at its index and embeds whitespace as it is (the rule every embeddings surface applies)', () => {
    expect(problemsOf(() => parseOllamaEmbedRequest(JSON.stringify({ model: 'e', input: ['a', ''] })))).toEqual(['/input/1']);
    expect(problemsOf(() => parseOllamaEmbedRequest(JSON.stringify({ model: 'e', input: 3 })))).toEqual(['/input']);
    expect(embed({ model: 'e', input: ['  ', '\n'] }).request.embedding?.input).toEqual({ kind: 'texts', texts: ['  ', '\n'] });
  });
});

describe('OllamaStreamEncoder', () => {
  const answer: StreamPart[] = [
    { type: 'response-metadata', id: 'x', model: 'up' },
    { type: 'reasoning-delta', text: 'Hmm.' },
    { type: 'text-delta', text: 'Par' },
    { type: 'text-delta', text: 'is.' },
    { type: 'usage', usage: { inputTokens: 12, outputTokens: 3 } },
    { type: 'finish', finishReason: 'length', rawFinishReason: 'length' },
    { type: 'stream-end' },
  ];

  it('writes one JSON line per delta and one done: true line with done_reason and the counters (ns)', () => {
    const encoder = new OllamaStreamEncoder({ endpoint: 'chat', model: 'ollama:m', showThinking: true }, steppingClock());
    const lines = encoder.encodeAll(answer).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { model: 'ollama:m', created_at: '2026-01-02T03:04:05.000Z', message: { role: 'assistant', content: '', thinking: 'Hmm.' }, done: false },
      { model: 'ollama:m', created_at: '2026-01-02T03:04:05.000Z', message: { role: 'assistant', content: 'Par' }, done: false },
      { model: 'ollama:m', created_at: '2026-01-02T03:04:05.000Z', message: { role: 'assistant', content: 'is.' }, done: false },
      {
        model: 'ollama:m',
        created_at: '2026-01-02T03:04:05.000Z',
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'length',
        // Started at 1010, first token at 1020, done at 1030.
        total_duration: 20_000_000,
        load_duration: 0,
        prompt_eval_count: 12,
        prompt_eval_duration: 10_000_000,
        eval_count: 3,
        eval_duration: 10_000_000,
      },
    ]);
    expect(encoder.closed).toBe(true);
    expect(encoder.encodeAll([{ type: 'text-delta', text: 'late' }])).toBe('');
  });

  it('writes `response` for generate, leaves reasoning out for think: false, and sends tool calls whole before the end', () => {
    const generate = new OllamaStreamEncoder({ endpoint: 'generate', model: 'm', showThinking: false }, steppingClock());
    const generated = generate.encodeAll(answer).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(generated.map((line) => line['response'])).toEqual(['Par', 'is.', '']);
    expect(generated.some((line) => 'thinking' in line || 'message' in line)).toBe(false);

    const chat = new OllamaStreamEncoder({ endpoint: 'chat', model: 'm', showThinking: true }, steppingClock());
    const output =
      chat.encodeAll([
        { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', argumentsDelta: '{"city":' },
        { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', argumentsDelta: '' },
      ]) + chat.encodeAll([{ type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' }, { type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls' }, { type: 'stream-end' }]);
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      done: false,
      message: {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_a', function: { index: 0, name: 'weather', arguments: { city: 'Paris' } } },
          { id: 'call_b', function: { index: 1, name: 'time', arguments: {} } },
        ],
      },
    });
    expect(lines[1]).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('ends a broken stream with one {"error"} line and never done: true', () => {
    const encoder = new OllamaStreamEncoder({ endpoint: 'chat', model: 'm', showThinking: true }, steppingClock());
    const started = encoder.encodeAll([{ type: 'text-delta', text: 'Pa' }]);
    expect(JSON.parse(started)).toMatchObject({ done: false });
    expect(encoder.fail({ kind: 'upstream', message: 'the upstream stream broke', code: 'stream_broken' })).toBe('{"error":"the upstream stream broke"}\n');
    expect(encoder.closed).toBe(true);
    expect(encoder.encodeAll([{ type: 'stream-end' }])).toBe('');
    expect(encoder.fail({ kind: 'internal', message: 'again' })).toBe('');
  });
});

describe('renderOllamaResponse and renderOllamaError', () => {
  it('renders a whole answer as one done: true object, tool arguments as an object', () => {
    const body = renderOllamaResponse(
      { id: 'x', model: 'up', text: '', reasoning: 'Think.', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }], finishReason: 'tool_calls', rawFinishReason: 'tool_calls', usage: { inputTokens: 5, outputTokens: 7 } },
      { endpoint: 'chat', model: 'ollama:m', createdAt: '2026-01-02T03:04:05.000Z', showThinking: true, timings: { totalMs: 50, firstTokenMs: 20 } },
    );
    expect(JSON.parse(body)).toEqual({
      model: 'ollama:m',
      created_at: '2026-01-02T03:04:05.000Z',
      message: { role: 'assistant', content: '', thinking: 'Think.', tool_calls: [{ id: 'call_1', function: { index: 0, name: 'weather', arguments: { city: 'Paris' } } }] },
      done: true,
      done_reason: 'stop',
      total_duration: 50_000_000,
      load_duration: 0,
      prompt_eval_count: 5,
      prompt_eval_duration: 20_000_000,
      eval_count: 7,
      eval_duration: 30_000_000,
    });
  });

  it('renders errors as {"error"} with the status of their kind', () => {
    expect(renderOllamaError({ kind: 'permission', message: 'denied', code: 'route_denied' })).toEqual({ status: 403, body: '{"error":"denied"}' });
    expect(renderOllamaError({ kind: 'not_found', message: 'no model' }).status).toBe(404);
  });
});

describe('token logprobs on the Ollama face (logprobs, top_logprobs: Ollama 0.12.11)', () => {
  const TOKENS = [
    { id: 7, token: 'Par', bytes: [80, 97, 114], logprob: -0.5, top_logprobs: [{ id: 7, token: 'Par', bytes: [80, 97, 114], logprob: -0.5 }, { id: 9, token: 'Lyon', bytes: [76, 121, 111, 110], logprob: -1.5 }] },
    { id: 8, token: 'is.', bytes: [105, 115, 46], logprob: -0.25, top_logprobs: [{ id: 8, token: 'is.', bytes: [105, 115, 46], logprob: -0.25 }] },
  ];
  /** The same tokens as Ollama lists them: llama-server's `id` left out, alternatives cut to `top`. */
  const listed = (top: number): unknown[] =>
    TOKENS.map(({ token, bytes, logprob, top_logprobs }) => ({
      token,
      logprob,
      bytes,
      ...(top === 0 ? {} : { top_logprobs: top_logprobs.slice(0, top).map((entry) => ({ token: entry.token, logprob: entry.logprob, bytes: entry.bytes })) }),
    }));

  it('reads logprobs: true with its top_logprobs (0 to 20, 0 asking the engine for none); top_logprobs alone is ignored', () => {
    expect(answerable(parseOllamaChatRequest('{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":3}')).request.logprobs).toEqual({ top: 3 });
    expect(answerable(parseOllamaChatRequest('{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":0}')).request.logprobs).toEqual({});
    const generated = answerable(parseOllamaGenerateRequest('{"model":"m","prompt":"def f(","raw":true,"logprobs":true}'));
    expect(generated.request.completion).toBeDefined();
    expect(generated.request.logprobs).toEqual({});
    const alone = answerable(parseOllamaChatRequest('{"model":"m","messages":[{"role":"user","content":"hi"}],"top_logprobs":3}'));
    expect(alone.request.logprobs).toBeUndefined();
    expect(alone.ignoredFields).toEqual(['top_logprobs']);
    expect(problemsOf(() => parseOllamaChatRequest('{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}'))).toEqual(['/top_logprobs']);
    expect(problemsOf(() => parseOllamaGenerateRequest('{"model":"m","prompt":"x","logprobs":"yes"}'))).toEqual(['/logprobs']);
  });

  it('renders them where Ollama does: /api/chat before the counters, /api/generate after them; none when not asked', () => {
    const response = { id: 'x', model: 'up', text: 'Paris.', toolCalls: [], finishReason: 'stop' as const, rawFinishReason: 'stop', usage: { inputTokens: 5, outputTokens: 2 }, logprobs: { content: TOKENS } };
    const options = { model: 'ollama:m', createdAt: '2026-01-02T03:04:05.000Z', showThinking: true, timings: { totalMs: 50, firstTokenMs: 20 } };
    const chat = renderOllamaResponse(response, { ...options, endpoint: 'chat', logprobs: { top: 1 } });
    expect(Object.keys(JSON.parse(chat) as object)).toEqual(['model', 'created_at', 'message', 'done', 'done_reason', 'logprobs', 'total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']);
    expect((JSON.parse(chat) as { logprobs: unknown }).logprobs).toEqual(listed(1));
    const generate = JSON.parse(renderOllamaResponse(response, { ...options, endpoint: 'generate', logprobs: {} })) as Record<string, unknown>;
    expect(Object.keys(generate).at(-1)).toBe('logprobs');
    expect(generate['logprobs']).toEqual(listed(0));
    expect(JSON.parse(renderOllamaResponse(response, { ...options, endpoint: 'chat' }))).not.toHaveProperty('logprobs');
    // vLLM's legacy completions shape, for a raw /api/generate it answered.
    const legacy = { ...response, logprobs: { text_offset: [0], token_logprobs: [-0.5], tokens: ['Par'], top_logprobs: [{ Par: -0.5, Lyon: -1.5 }] } };
    expect(JSON.parse(renderOllamaResponse(legacy, { ...options, endpoint: 'generate', logprobs: { top: 2 } }))).toMatchObject({
      logprobs: [{ token: 'Par', logprob: -0.5, bytes: [80, 97, 114], top_logprobs: [{ token: 'Par', logprob: -0.5, bytes: [80, 97, 114] }, { token: 'Lyon', logprob: -1.5, bytes: [76, 121, 111, 110] }] }],
    });
  });

  it('streams each line with the logprobs of its own text; reasoning not shown takes its logprobs with it', () => {
    const encoder = new OllamaStreamEncoder({ endpoint: 'chat', model: 'm', showThinking: false, logprobs: { top: 2 } }, steppingClock());
    const output = encoder.encodeAll([
      { type: 'logprobs', logprobs: { content: [{ token: 'Hmm', logprob: -3, bytes: [72, 109, 109] }] } },
      { type: 'reasoning-delta', text: 'Hmm' },
      { type: 'logprobs', logprobs: { content: [TOKENS[0]!] } },
      { type: 'text-delta', text: 'Par' },
      { type: 'logprobs', logprobs: { content: [TOKENS[1]!] } },
      { type: 'text-delta', text: 'is.' },
      { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' },
      { type: 'stream-end' },
    ]);
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line['logprobs'])).toEqual([[listed(2)[0]], [listed(2)[1]], undefined]);
    expect(Object.keys(lines[0]!)).toEqual(['model', 'created_at', 'message', 'done', 'logprobs']);
  });
});
