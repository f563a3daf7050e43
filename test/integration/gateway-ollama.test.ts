/**
 * Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`, `/api/tags`,
 * `/api/show`, `/api/version`) on a real gateway (core + node:http adapter on 127.0.0.1:0) over the real
 * pipeline and fake engines, driven by the official `ollama` client (ollama-js) as local-first
 * tools use it, and by fetch where the exact bytes matter (NDJSON lines, error bodies, defaults).
 */
import { Ollama, type ChatResponse } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import type { AccessLogEntry } from '../../src/gateway/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { fakeVector } from '../helpers/fake-engines/embeddings.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { ndjsonLines } from '../helpers/ndjson.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { gatewayRequests, scrapeMetrics, startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const OLLAMA_MODEL = 'llama3.2:latest';
const OLLAMA_EMBED = 'nomic-embed-text:latest';
const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const DIMENSIONS = 8;
/** A connection string with its password: restricted, so it may only go to a local engine. */
const SECRET_PROMPT = 'Why does postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders refuse connections?';
const QUESTION = 'What is the capital of France?';

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

function ollamaProvider(engine: FakeEngine, options: { embedding?: boolean } = {}): TestProvider {
  return {
    id: 'ollama',
    class: 'local',
    wire: 'openai',
    baseUrl: engine.baseUrl,
    engine: 'ollama',
    models: [
      { id: OLLAMA_MODEL, tags: ['tools', 'vision'], aliases: ['small'], contextWindow: 131_072 },
      ...(options.embedding === true ? [{ id: OLLAMA_EMBED, kind: 'embedding' as const }] : []),
    ],
  };
}

function claudeProvider(engine: FakeEngine): TestProvider {
  return { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] };
}

const client = (gateway: TestGateway, token: string = TEST_TOKEN): Ollama => new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${token}` } });

/** A raw POST as a hand-written Ollama client sends it (no `stream` field: Ollama streams by default). */
const post = (gateway: TestGateway, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}`, ...headers },
    body: JSON.stringify(body),
  });

/** The JSON body the fake engine received last (what the gateway sent upstream). */
function lastUpstreamBody(engine: FakeEngine): Record<string, unknown> {
  return JSON.parse(inferenceExchanges(engine).at(-1)?.requestBody.toString('utf8') ?? 'null') as Record<string, unknown>;
}

const accessLog: AccessLogEntry[] = [];
let ollama: FakeEngine;
let claude: FakeEngine;
let failingOllama: FakeEngine;
let main: TestGateway;
let hostedOnly: TestGateway;
let failing: TestGateway;

beforeAll(async () => {
  [ollama, claude, failingOllama] = await Promise.all([
    startFakeEngine({ kind: 'ollama', models: [{ id: OLLAMA_MODEL }, { id: OLLAMA_EMBED, embedding: true, dimensions: DIMENSIONS }] }),
    startFakeEngine({ kind: 'anthropic' }),
    startFakeEngine({ kind: 'ollama' }),
  ]);
  main = await startTestGateway({ providers: [ollamaProvider(ollama, { embedding: true }), claudeProvider(claude)], onRequestEnd: (entry) => accessLog.push(entry) });
  hostedOnly = await startTestGateway({ providers: [claudeProvider(claude)] });
  failing = await startTestGateway({ providers: [ollamaProvider(failingOllama)] });
});

afterAll(async () => {
  await Promise.all([main?.close(), hostedOnly?.close(), failing?.close()]);
  await Promise.all([ollama?.close(), claude?.close(), failingOllama?.close()]);
});

describe('POST /api/chat with the official ollama client', () => {
  it('answers a non-streamed chat from the local engine with Ollama’s counters, recorded as gateway evidence', async () => {
    const logged = accessLog.length;
    const answer = await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: QUESTION }] });
    expect(answer.message).toEqual({ role: 'assistant', content: DEFAULT_ANSWER });
    expect(answer).toMatchObject({ model: `ollama:${OLLAMA_MODEL}`, done: true, done_reason: 'stop', load_duration: 0 });
    expect(Date.parse(String(answer.created_at))).not.toBeNaN();
    expect(answer.prompt_eval_count).toBeGreaterThan(0);
    expect(answer.eval_count).toBeGreaterThan(0);
    expect(answer.total_duration).toBeGreaterThan(0);
    expect(answer.total_duration).toBeGreaterThanOrEqual(answer.eval_duration);
    // Sent upstream on the provider's own wire, the leading system message as the system prompt.
    expect(lastUpstreamBody(ollama)).toMatchObject({ model: OLLAMA_MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: QUESTION }] });
    expect(lastUpstreamBody(ollama)['stream']).not.toBe(true);
    await main.settled();
    const newest = listEvidence(main.store, { limit: 1 })[0];
    expect(newest).toMatchObject({ caller: 'gateway', state: 'completed', streamed: false, provider: { id: 'ollama', class: 'local' }, model: OLLAMA_MODEL });
    expect(accessLog[logged]).toMatchObject({ path: '/api/chat', status: 200, api: 'ollama', streamed: false, provider: 'ollama' });
  });

  it('streams the answer line by line (done: false), ending with one done: true object carrying the counters', async () => {
    const stream = await client(main).chat({ model: 'small', messages: [{ role: 'user', content: QUESTION }], stream: true });
    const chunks: ChatResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    const final = chunks.at(-1) as ChatResponse;
    expect(chunks.slice(0, -1).every((chunk) => !chunk.done && chunk.message.role === 'assistant')).toBe(true);
    expect(chunks.map((chunk) => chunk.message.content).join('')).toBe(DEFAULT_ANSWER);
    expect(final).toMatchObject({ done: true, done_reason: 'stop', model: `ollama:${OLLAMA_MODEL}`, message: { role: 'assistant', content: '' } });
    expect(final.prompt_eval_count).toBeGreaterThan(0);
    expect(final.eval_count).toBeGreaterThan(0);
    expect(final.total_duration).toBeGreaterThan(0);
    await main.settled();
    expect(listEvidence(main.store, { limit: 1 })[0]).toMatchObject({ caller: 'gateway', state: 'completed', streamed: true, provider: { id: 'ollama' } });
  });

  it('times a streamed answer from the upstream call, as a whole one: the wait for the first token is prompt_eval_duration', async () => {
    // The engine waits before it starts the stream: time the gateway must count as the prompt's evaluation.
    ollama.setFault({ slowStreamMs: 40 }, 1, 'streams');
    const chunks: ChatResponse[] = [];
    for await (const chunk of await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }], stream: true })) chunks.push(chunk);
    const final = chunks.at(-1) as ChatResponse;
    await main.settled();
    const evidence = listEvidence(main.store, { limit: 1 })[0];
    expect(evidence?.firstTokenMs).toBeGreaterThan(0);
    expect(final.prompt_eval_duration).toBeGreaterThanOrEqual(Math.floor((evidence?.firstTokenMs ?? 0) * 1e6));
    expect(final.total_duration).toBeGreaterThanOrEqual(Math.floor((evidence?.totalMs ?? 0) * 1e6));
    expect(final.prompt_eval_duration + final.eval_duration).toBe(final.total_duration);
  });

  it('answers an alias with the `:latest` Ollama clients add to a tagless name, as the alias', async () => {
    const answer = await client(main).chat({ model: 'small:latest', messages: [{ role: 'user', content: QUESTION }] });
    expect(answer).toMatchObject({ model: `ollama:${OLLAMA_MODEL}`, done: true, message: { content: DEFAULT_ANSWER } });
  });

  it('streams by default, as Ollama does, as application/x-ndjson; takes the hint headers; names the options no provider saw', async () => {
    const response = await post(
      main,
      '/api/chat',
      {
        model: 'auto:latest',
        messages: [{ role: 'user', content: QUESTION }],
        options: { temperature: 0.2, top_p: 0.9, num_predict: 64, seed: 7, stop: ['\n\n'], num_ctx: 8192 },
        keep_alive: '5m',
      },
      // A public question, held on this host by the hint (confidential: local only by the default policy).
      { 'x-syndicate-sensitivity': 'confidential' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('confidential');
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('keep_alive, options.num_ctx');
    const lines = ndjsonLines(await response.text());
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.filter((line) => line['done'] === true)).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
    expect(lines.map((line) => (line['message'] as { content: string }).content).join('')).toBe(DEFAULT_ANSWER);
    const upstream = lastUpstreamBody(ollama);
    expect(upstream).toMatchObject({ stream: true, temperature: 0.2, top_p: 0.9, seed: 7, stop: ['\n\n'] });
    expect(upstream['max_tokens'] ?? upstream['max_completion_tokens']).toBe(64);
    await main.settled();
    const evidence = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ setting: 'options.num_ctx' }), expect.objectContaining({ setting: 'keep_alive' })]));
  });

  it('does not name an option sent as null as ignored: it asks for nothing, as a top-level field sent as null', async () => {
    const response = await post(main, '/api/chat', {
      model: `ollama:${OLLAMA_MODEL}`,
      stream: false,
      messages: [{ role: 'user', content: QUESTION }],
      options: { temperature: null, num_ctx: null, top_k: null, num_predict: 16 },
      keep_alive: null,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    await main.settled();
    const evidence = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(JSON.stringify(evidence?.warnings ?? [])).not.toContain('options.');
  });

  it('returns tool calls with arguments as an object, and matches the tool result (by tool_name) to its call upstream', async () => {
    const first = await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool] });
    const calls = first.message.tool_calls ?? [];
    expect(calls).toHaveLength(1);
    expect(calls[0]?.function.name).toBe('get_weather');
    expect(typeof calls[0]?.function.arguments).toBe('object');
    expect(calls[0]?.function.arguments).toHaveProperty('city');
    expect(first).toMatchObject({ done: true, done_reason: 'stop' });
    expect(lastUpstreamBody(ollama)['tools']).toEqual([weatherTool]);

    const second = await client(main).chat({
      model: `ollama:${OLLAMA_MODEL}`,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: calls },
        { role: 'tool', content: '{"temperature": 21}', tool_name: 'get_weather' },
      ],
    });
    expect(second.message.content).toBe(DEFAULT_ANSWER);
    const upstream = lastUpstreamBody(ollama)['messages'] as { role: string; tool_call_id?: string; tool_calls?: { id: string; function: { arguments: string } }[] }[];
    const assistant = upstream.find((message) => message.role === 'assistant');
    const result = upstream.find((message) => message.role === 'tool');
    expect(assistant?.tool_calls?.[0]?.id).toBeTruthy();
    expect(JSON.parse(assistant?.tool_calls?.[0]?.function.arguments ?? 'null')).toEqual(calls[0]?.function.arguments);
    expect(result?.tool_call_id).toBe(assistant?.tool_calls?.[0]?.id);
  });

  it('streams a tool call whole, in one done: false object before the final one', async () => {
    const stream = await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], stream: true });
    const chunks: ChatResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const withCalls = chunks.filter((chunk) => (chunk.message.tool_calls ?? []).length > 0);
    expect(withCalls).toHaveLength(1);
    expect(withCalls[0]?.done).toBe(false);
    expect(withCalls[0]?.message.tool_calls?.[0]?.function).toMatchObject({ name: 'get_weather', arguments: { city: expect.any(String) } });
    expect(chunks.at(-1)).toMatchObject({ done: true });
  });

  it('asks the engine for JSON with format: "json", and for a schema with format: {schema}', async () => {
    const json = await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }], format: 'json' });
    expect(lastUpstreamBody(ollama)['response_format']).toEqual({ type: 'json_object' });
    expect(() => JSON.parse(json.message.content) as unknown).not.toThrow();
    const schema = { type: 'object', properties: { capital: { type: 'string' } }, required: ['capital'] };
    await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }], format: schema });
    expect(lastUpstreamBody(ollama)['response_format']).toMatchObject({ type: 'json_schema', json_schema: { schema } });
  });

  it('keeps a prompt holding a database password on the local engine while a hosted provider is registered', async () => {
    const hostedCalls = inferenceExchanges(claude).length;
    const response = await post(main, '/api/chat', { model: 'auto', stream: false, messages: [{ role: 'user', content: SECRET_PROMPT }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(((await response.json()) as ChatResponse).message.content).toBe(DEFAULT_ANSWER);
    expect(inferenceExchanges(claude).length).toBe(hostedCalls);
    expect(inferenceExchanges(ollama).at(-1)?.requestBody.toString('utf8')).toContain('S3cr3t-Pa55w0rd');
  });

  it('refuses by policy with 403 in Ollama’s error shape when only a hosted provider could answer', async () => {
    const hostedCalls = inferenceExchanges(claude).length;
    const error = await client(hostedOnly)
      .chat({ model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 403 });
    const response = await post(hostedOnly, '/api/chat', { model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['error']);
    expect(body['error']).toMatch(/restricted/);
    expect((error as Error).message).toBe(body['error']);
    expect(inferenceExchanges(claude).length).toBe(hostedCalls);
  });

  it('answers 404 {"error"} for an unknown model, and 400 naming the field for a malformed request', async () => {
    const unknown = await post(main, '/api/chat', { model: 'mistral:7b', messages: [{ role: 'user', content: QUESTION }] });
    expect(unknown.status).toBe(404);
    expect(Object.keys((await unknown.json()) as object)).toEqual(['error']);
    const bad = await post(main, '/api/chat', { model: 'auto', messages: [{ role: 'wizard', content: QUESTION }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('/messages/0/role');
  });

  it('ends a stream that breaks after bytes were sent with an {"error"} line, never done: true', async () => {
    failing.pipeline.health = new HealthMonitor();
    failingOllama.setFault('reset-mid-stream', 1);
    const response = await post(failing, '/api/chat', { model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }] });
    expect(response.status).toBe(200);
    const lines = ndjsonLines(await response.text());
    expect(lines.some((line) => line['done'] === false && (line['message'] as { content: string }).content !== '')).toBe(true);
    expect(lines.some((line) => line['done'] === true)).toBe(false);
    expect(Object.keys(lines.at(-1) ?? {})).toEqual(['error']);
    await failing.settled();
    expect(listEvidence(failing.store, { limit: 1 })[0]).toMatchObject({ state: 'failed', markers: expect.arrayContaining(['partial_response']) });

    // The client sees the error line as a thrown error, after the chunks that came before it.
    failing.pipeline.health = new HealthMonitor();
    failingOllama.setFault('reset-mid-stream', 1);
    const stream = await client(failing).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }], stream: true });
    const seen: ChatResponse[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) seen.push(chunk);
      })(),
    ).rejects.toThrow(String(lines.at(-1)?.['error']).slice(0, 20));
    expect(seen.every((chunk) => !chunk.done)).toBe(true);
    failing.pipeline.health = new HealthMonitor();
  });

  it('refuses a request without the gateway token (401 {"error"}), and one with a wrong token', async () => {
    const missing = await fetch(`${main.url}/api/tags`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toMatch(/missing gateway token/);
    const error = await client(main, 'wrong-token')
      .chat({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 401 });
    expect((error as Error).message).toMatch(/invalid gateway token/);
  });
});

describe('POST /api/generate', () => {
  it('answers a prompt (with a system prompt) non-streamed and streamed, the text in `response`', async () => {
    const answer = await client(main).generate({ model: `ollama:${OLLAMA_MODEL}`, prompt: QUESTION, system: 'Be brief.' });
    expect(answer).toMatchObject({ response: DEFAULT_ANSWER, done: true, done_reason: 'stop', model: `ollama:${OLLAMA_MODEL}` });
    expect(answer.eval_count).toBeGreaterThan(0);
    expect(lastUpstreamBody(ollama)).toMatchObject({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: QUESTION }] });

    const stream = await client(main).generate({ model: 'small', prompt: QUESTION, stream: true });
    const parts: string[] = [];
    let final: Record<string, unknown> | undefined;
    for await (const chunk of stream) {
      if (chunk.done) final = chunk as unknown as Record<string, unknown>;
      else parts.push(chunk.response ?? '');
    }
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(DEFAULT_ANSWER);
    expect(final).toMatchObject({ done: true, response: '', done_reason: 'stop' });
    expect(final?.['message']).toBeUndefined();
  });

  it('refuses template and context with 400 saying why, before anything is sent (suffix and raw: gateway-ollama-fim.test.ts)', async () => {
    const sent = inferenceExchanges(ollama).length;
    for (const [field, value] of [['template', '{{ .Prompt }}'], ['context', [1, 2, 3]]] as const) {
      const response = await post(main, '/api/generate', { model: 'auto', prompt: QUESTION, [field]: value });
      expect(response.status, field).toBe(400);
      expect(((await response.json()) as { error: string }).error, field).toContain(`/${field}`);
    }
    expect(inferenceExchanges(ollama).length).toBe(sent);
  });
});

describe('POST /api/embed', () => {
  it('embeds a string and a list through the embeddings pipeline, as Ollama’s vectors', async () => {
    const one = await client(main).embed({ model: `ollama:${OLLAMA_EMBED}`, input: 'The quick brown fox' });
    expect(one.model).toBe(`ollama:${OLLAMA_EMBED}`);
    expect(one.embeddings.map((vector) => vector.map((value) => Math.fround(value)))).toEqual([fakeVector(OLLAMA_EMBED, 'The quick brown fox', DIMENSIONS)]);
    expect(one.prompt_eval_count).toBeGreaterThan(0);
    const many = await client(main).embed({ model: `ollama:${OLLAMA_EMBED}`, input: ['first', 'second'] });
    expect(many.embeddings).toHaveLength(2);
    expect(lastUpstreamBody(ollama)).toMatchObject({ model: OLLAMA_EMBED, input: ['first', 'second'] });
    await main.settled();
    expect(listEvidence(main.store, { limit: 1 })[0]).toMatchObject({ caller: 'gateway', state: 'completed', model: OLLAMA_EMBED });
  });

  it('answers the older /api/embeddings (prompt → one embedding) through the same pipeline: classified, kept local, recorded verbatim', async () => {
    const hostedCalls = inferenceExchanges(claude).length;
    const answer = await client(main).embeddings({ model: `ollama:${OLLAMA_EMBED}`, prompt: SECRET_PROMPT });
    // Ollama's EmbeddingResponse: the vector alone, no model, no counts.
    expect(Object.keys(answer)).toEqual(['embedding']);
    expect(answer.embedding.map((value) => Math.fround(value))).toEqual(fakeVector(OLLAMA_EMBED, SECRET_PROMPT, DIMENSIONS));
    const exchange = inferenceExchanges(ollama).at(-1)!;
    expect(exchange.path).toBe('/v1/embeddings');
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toEqual({ model: OLLAMA_EMBED, input: [SECRET_PROMPT], encoding_format: 'float' });
    expect(inferenceExchanges(claude).length).toBe(hostedCalls);
    await main.settled();
    const evidence = getEvidence(main.store, listEvidence(main.store, { limit: 1 })[0]?.id ?? '');
    expect(evidence).toMatchObject({ caller: 'gateway', state: 'completed', sensitivity: 'restricted', provider: { id: 'ollama', class: 'local' }, model: OLLAMA_EMBED });
    expect(evidence?.request.body?.equals(exchange.requestBody)).toBe(true);
    expect(evidence?.response.body?.equals(exchange.responseBody)).toBe(true);

    const unknown = await post(main, '/api/embeddings', { model: 'mistral:7b', prompt: QUESTION });
    expect(unknown.status).toBe(404);
    expect(Object.keys((await unknown.json()) as object)).toEqual(['error']);
  });
});

describe('model listing and version', () => {
  it('lists auto, every provider:model and every alias as Ollama model entries, each name with a tag', async () => {
    const { models } = await client(main).list();
    // Open WebUI adds `:latest` to a tagless name, then looks it up in this list: `auto` could never be chosen.
    expect(models.map((model) => model.name)).toEqual(['auto:latest', `claude:${CLAUDE_MODEL}`, `ollama:${OLLAMA_MODEL}`, `ollama:${OLLAMA_EMBED}`, 'small:latest']);
    for (const model of models) {
      expect(model.model).toBe(model.name);
      expect(model.size).toBe(0);
      expect(model.digest).toMatch(/^[0-9a-f]{64}$/);
      // No record here declares a family: unknown, as Ollama lists it (never the provider's id).
      expect(model.details).toMatchObject({ format: '', family: '', families: null });
    }
    const small = models.find((model) => model.name === 'small:latest');
    expect(small?.digest).toBe(models.find((model) => model.name === `ollama:${OLLAMA_MODEL}`)?.digest);
  });

  it('shows a model’s capabilities from its record and its context window; 404 for an unknown one', async () => {
    const chat = await client(main).show({ model: 'small' });
    expect([...chat.capabilities].sort()).toEqual(['completion', 'tools', 'vision']);
    expect(chat.model_info).toMatchObject({ 'general.architecture': 'syndicate', 'syndicate.context_length': 131_072 });
    // Continue reads the context window only from `num_ctx` in `parameters`, with this pattern per line.
    const numCtx = chat.parameters.split('\n').map((line) => /^(\S+)\s+((?:".*")|\S+)$/.exec(line)).find((match) => match?.[1] === 'num_ctx');
    expect(Number(numCtx?.[2])).toBe(131_072);
    const embed = await client(main).show({ model: `ollama:${OLLAMA_EMBED}` });
    expect(embed.capabilities).toEqual(['embedding']);
    expect((await client(main).show({ model: 'small:latest' })).model_info).toEqual(chat.model_info);
    const auto = await client(main).show({ model: 'auto:latest' });
    expect([...auto.capabilities].sort()).toEqual(['completion', 'embedding', 'tools', 'vision']);
    const error = await client(main)
      .show({ model: 'mistral:7b' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 404 });
  });

  it('shows a model by any name /api/chat answers to (Continue and Zed call show first, with the name the user typed)', async () => {
    const listed = await client(main).show({ model: `ollama:${OLLAMA_MODEL}` });
    for (const name of ['llama3.2', 'llama3.2:latest', 'ollama:llama3.2']) {
      // The chat itself is answered under that name...
      expect((await client(main).chat({ model: name, messages: [{ role: 'user', content: QUESTION }] })).message.content).toBe(DEFAULT_ANSWER);
      // ...so show must not call the model unknown: the same capabilities and context window.
      const shown = await client(main).show({ model: name });
      expect([...shown.capabilities].sort()).toEqual(['completion', 'tools', 'vision']);
      expect(shown.model_info).toMatchObject({ 'syndicate.context_length': 131_072 });
      expect(shown.details).toEqual(listed.details);
    }
    // A name nothing answers to stays a 404, as the chat's.
    await expect(client(main).show({ model: 'llama3.3' })).rejects.toMatchObject({ name: 'ResponseError', status_code: 404 });
    await expect(client(main).chat({ model: 'llama3.3', messages: [{ role: 'user', content: QUESTION }] })).rejects.toMatchObject({ status_code: 404 });
  });

  it('shows a model named as `name` (OllamaKit: Enchanted, Ollamac) with the string fields its model info requires, `license` included', async () => {
    const response = await post(main, '/api/show', { name: 'small:latest' });
    expect(response.status).toBe(200);
    const shown = (await response.json()) as Record<string, unknown>;
    // OKModelInfoResponse: license, template, modelfile and parameters, each a String it cannot decode without.
    for (const field of ['license', 'template', 'modelfile', 'parameters']) expect(typeof shown[field], field).toBe('string');
    expect(shown['license']).toBe('');
  });

  it('answers GET / as Ollama does, without the token: tools (Page Assist) check it before anything else', async () => {
    const root = await fetch(`${main.url}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe('Ollama is running');
    expect((await fetch(`${main.url}/`, { method: 'HEAD' })).status).toBe(200);
  });

  it('answers GET /api/version behind the token', async () => {
    const response = await fetch(`${main.url}/api/version`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ version: '0.12.11' });
    expect(await client(main).version()).toEqual({ version: '0.12.11' });
    expect((await fetch(`${main.url}/api/version`)).status).toBe(401);
  });

  it('redirects an Ollama path with one trailing slash to the route, as Ollama (gin) does: 301 for GET, 307 for other methods; behind the token', async () => {
    const authorization = { authorization: `Bearer ${TEST_TOKEN}` };
    const tags = await fetch(`${main.url}/api/tags/?verbose=true`, { headers: authorization, redirect: 'manual' });
    expect(tags.status).toBe(301);
    expect(tags.headers.get('location')).toBe('/api/tags?verbose=true');
    // A client that follows it (fetch keeps the token on the same origin) gets the list.
    const followed = await fetch(`${main.url}/api/tags/`, { headers: authorization });
    expect(followed.status).toBe(200);
    expect(((await followed.json()) as { models: unknown[] }).models.length).toBeGreaterThan(0);
    const chat = await fetch(`${main.url}/api/chat/`, { method: 'POST', headers: authorization, body: '{}', redirect: 'manual' });
    expect(chat.status).toBe(307);
    expect(chat.headers.get('location')).toBe('/api/chat');
    // A method the route does not take, a path of no route, no token: as before.
    expect((await fetch(`${main.url}/api/tags/`, { method: 'POST', headers: authorization, redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${main.url}/api/nothing/`, { headers: authorization, redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${main.url}/v1/models/`, { headers: authorization, redirect: 'manual' })).status).not.toBe(301);
    expect((await fetch(`${main.url}/api/tags/`, { redirect: 'manual' })).status).toBe(401);
  });

  it('answers the model management Ollama clients offer (Open WebUI’s pull and delete, ollama-js) with a 404 saying where models are managed, not "no route"', async () => {
    const ollamaClient = client(main);
    // Each called in turn and its rejection caught at once (made all up front, the later ones rejected unhandled).
    const attempts: [string, () => Promise<unknown>][] = [
      ['POST /api/pull', () => ollamaClient.pull({ model: 'mistral:7b' })],
      ['POST /api/push', () => ollamaClient.push({ model: 'mistral:7b' })],
      ['POST /api/create', () => ollamaClient.create({ model: 'mine', from: 'llama3.2' })],
      ['POST /api/copy', () => ollamaClient.copy({ source: 'llama3.2', destination: 'mine' })],
      ['DELETE /api/delete', () => ollamaClient.delete({ model: 'llama3.2' })],
    ];
    for (const [route, attempt] of attempts) {
      const error = (await attempt().catch((caught: unknown) => caught)) as { name: string; status_code: number; error: string };
      expect(error, route).toMatchObject({ name: 'ResponseError', status_code: 404 });
      expect(error.error, route).toContain(`${route}: the gateway serves the models its provider records declare and manages none`);
      expect(error.error, route).toContain('`ollama pull NAME`');
      expect(error.error, route).toContain('`syndicate provider add ollama`');
    }
    // Where `ollama create` uploads a model file first: no body to a HEAD, but the status.
    const blob = await fetch(`${main.url}/api/blobs/sha256:${'0'.repeat(64)}`, { method: 'HEAD', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(blob.status).toBe(404);
    // Behind the token as every other route: nothing said to a caller without it.
    const anonymous = await fetch(`${main.url}/api/pull`, { method: 'POST', body: '{"model":"mistral:7b"}' });
    expect(anonymous.status).toBe(401);
  });
});

describe('metrics', () => {
  it('counts Ollama requests under api="ollama" and api="ollama_embeddings" (/api/embed and /api/embeddings)', async () => {
    // Its own requests, counted from what the earlier tests left: the tests may run in any order.
    const completed = (samples: Map<string, number>, api: string): number => gatewayRequests(samples, { api, outcome: 'completed' });
    const restricted = `syndicate_gateway_requests_total{api="ollama",class="local",provider="ollama",model="${OLLAMA_MODEL}",sensitivity="restricted",outcome="completed"}`;
    const before = await scrapeMetrics(main);
    await client(main).chat({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: QUESTION }] });
    await client(main).chat({ model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] });
    await client(main).generate({ model: `ollama:${OLLAMA_MODEL}`, prompt: QUESTION });
    await client(main).embed({ model: `ollama:${OLLAMA_EMBED}`, input: 'The quick brown fox' });
    await client(main).embeddings({ model: `ollama:${OLLAMA_EMBED}`, prompt: QUESTION });
    await main.settled();
    const after = await scrapeMetrics(main);
    expect(completed(after, 'ollama')).toBe(completed(before, 'ollama') + 3);
    expect(completed(after, 'ollama_embeddings')).toBe(completed(before, 'ollama_embeddings') + 2);
    expect(after.get(restricted)).toBe((before.get(restricted) ?? 0) + 1);
  });
});
