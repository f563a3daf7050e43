/**
 * Ollama's `POST /api/generate` with `suffix` (fill in the middle) or `raw: true`, as editor
 * plugins send it (Continue's autocomplete, llama-coder, Twinny), through a real gateway (core +
 * node:http adapter on 127.0.0.1:0) over the real pipeline: read as a text completion, routed as
 * `POST /v1/completions` is, sent upstream to the fake Ollama engine's `/v1/completions` (with a
 * suffix) or its native `/api/generate` with `raw: true` (without), and answered in
 * `/api/generate`'s shape to the official `ollama` client.
 */
import { Ollama, type GenerateResponse } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { ndjsonLines } from '../helpers/ndjson.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const CODER = 'qwen2.5-coder:7b';
const CHAT = 'llama3.2:latest';
const PREFIX = 'def add(a, b):\n    ';
const SUFFIX = '\n\nprint(add(1, 2))\n';

const client = (gateway: TestGateway): Ollama => new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });

const post = (gateway: TestGateway, body: unknown): Promise<Response> =>
  fetch(`${gateway.url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
    body: JSON.stringify(body),
  });

let ollama: FakeEngine;
let main: TestGateway;

beforeAll(async () => {
  ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: CODER, fillInMiddle: true }, { id: CHAT }] });
  main = await startTestGateway({
    providers: [
      {
        id: 'ollama',
        class: 'local',
        wire: 'openai',
        baseUrl: ollama.baseUrl,
        engine: 'ollama',
        models: [
          { id: CODER, tags: ['completions', 'fill-in-middle'], priority: 5 },
          { id: CHAT, tags: ['completions'] },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await main?.close();
  await ollama?.close();
});

/** The newest evidence record of the gateway, whole. */
async function newestEvidence(): Promise<NonNullable<ReturnType<typeof getEvidence>>> {
  await main.settled();
  const summary = listEvidence(main.store, { limit: 1 })[0];
  const evidence = getEvidence(main.store, summary?.id ?? '');
  expect(evidence).toBeDefined();
  return evidence!;
}

describe('POST /api/show for a model that fills in the middle', () => {
  it('says so as Ollama does — the insert capability, a template naming .Suffix (where Continue looks) — and only for such a model', async () => {
    const coder = await client(main).show({ model: `ollama:${CODER}` });
    expect(coder.capabilities).toContain('insert');
    // Continue's Ollama provider: `this.fimSupported = !!body?.template?.includes(".Suffix")`.
    expect(coder.template.includes('.Suffix')).toBe(true);
    // What that promises holds: a suffix sent to it is answered.
    const answer = await client(main).generate({ model: `ollama:${CODER}`, prompt: PREFIX, suffix: SUFFIX, stream: false });
    expect(answer.response).toBe(DEFAULT_ANSWER);
    const chat = await client(main).show({ model: `ollama:${CHAT}` });
    expect(chat.capabilities).not.toContain('insert');
    expect(chat.template.includes('.Suffix')).toBe(false);
  });
});

describe('POST /api/generate with a suffix, from the official ollama client', () => {
  it('fills in the middle as a text completion: the engine gets /v1/completions with prompt, suffix and the options; the client gets Ollama’s answer', async () => {
    const before = inferenceExchanges(ollama).length;
    const answer = await client(main).generate({
      model: 'auto',
      prompt: PREFIX,
      suffix: SUFFIX,
      stream: false,
      options: { num_predict: 64, temperature: 0, top_p: 0.9, seed: 7, stop: ['<|endoftext|>'], num_ctx: 4096 },
    });
    expect(answer).toMatchObject({ model: `ollama:${CODER}`, response: DEFAULT_ANSWER, done: true, done_reason: 'stop', load_duration: 0 });
    expect(Date.parse(String(answer.created_at))).not.toBeNaN();
    expect(answer.prompt_eval_count).toBeGreaterThan(0);
    expect(answer.eval_count).toBeGreaterThan(0);
    expect(answer.total_duration).toBeGreaterThan(0);

    const exchanges = inferenceExchanges(ollama).slice(before);
    expect(exchanges.map((exchange) => exchange.path)).toEqual(['/v1/completions']);
    const exchange = exchanges[0]!;
    expect(exchange.requestBody.toString('utf8')).toBe(
      JSON.stringify({ model: CODER, prompt: PREFIX, suffix: SUFFIX, max_tokens: 64, temperature: 0, top_p: 0.9, seed: 7, stop: ['<|endoftext|>'] }),
    );
    const evidence = await newestEvidence();
    expect(evidence).toMatchObject({ caller: 'gateway', state: 'completed', streamed: false, model: CODER, tokenAccounting: 'exact' });
    expect(evidence.request.url).toBe(`${ollama.baseUrl}/completions`);
    expect(evidence.request.body?.equals(exchange.requestBody)).toBe(true);
    expect(evidence.response.body?.equals(exchange.responseBody)).toBe(true);
    expect(evidence.inputTokens).toBe(answer.prompt_eval_count);
    expect(evidence.outputTokens).toBe(answer.eval_count);
  });

  it('streams a fill-in-the-middle answer as NDJSON: response deltas, then one done: true line with the counters', async () => {
    const before = inferenceExchanges(ollama).length;
    const stream = await client(main).generate({ model: `ollama:${CODER}`, prompt: PREFIX, suffix: SUFFIX, stream: true });
    const chunks: GenerateResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    const final = chunks.at(-1)!;
    expect(chunks.slice(0, -1).every((chunk) => !chunk.done && chunk.model === `ollama:${CODER}`)).toBe(true);
    expect(chunks.map((chunk) => chunk.response).join('')).toBe(DEFAULT_ANSWER);
    expect(final).toMatchObject({ done: true, response: '', done_reason: 'stop', model: `ollama:${CODER}` });
    expect(final.prompt_eval_count).toBeGreaterThan(0);
    expect(final.eval_count).toBeGreaterThan(0);
    expect(final.total_duration).toBeGreaterThanOrEqual(final.eval_duration);

    const exchange = inferenceExchanges(ollama).slice(before)[0]!;
    expect(exchange.path).toBe('/v1/completions');
    expect(exchange.requestBody.toString('utf8')).toBe(JSON.stringify({ model: CODER, prompt: PREFIX, suffix: SUFFIX, stream: true, stream_options: { include_usage: true } }));
    const evidence = await newestEvidence();
    expect(evidence).toMatchObject({ state: 'completed', streamed: true, tokenAccounting: 'exact' });
    expect(evidence.response.body?.equals(exchange.responseBody)).toBe(true);
    expect(evidence.response.body?.toString('utf8')).toContain('"object":"text_completion"');
    expect(evidence.outputTokens).toBe(final.eval_count);
  });

  it('sends a suffix to no model that is not tagged fill-in-middle: the client gets the route refusal, nothing goes upstream', async () => {
    const before = inferenceExchanges(ollama).length;
    const error = await client(main)
      .generate({ model: `ollama:${CHAT}`, prompt: PREFIX, suffix: SUFFIX, stream: false })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 403 });
    expect((error as Error).message).toBe(
      `no provider may receive this public request: ollama:${CHAT}: a text completion with a suffix (fill in the middle) and the model is not tagged fill-in-middle (ollama:${CODER} may take it: name it instead, or let the policy choose (model \`auto\`, no provider named); \`syndicate route --explain --request BODY.json\` (the request's JSON body) shows every rule)`,
    );
    expect(inferenceExchanges(ollama).length).toBe(before);
  });

  it('ends a stream that breaks after bytes were sent with an {"error"} line, never done: true', async () => {
    ollama.setFault('reset-mid-stream', 1);
    const response = await post(main, { model: `ollama:${CODER}`, prompt: PREFIX, suffix: SUFFIX });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = ndjsonLines(await response.text());
    expect(lines.some((line) => line['done'] === false && line['response'] !== '')).toBe(true);
    expect(lines.some((line) => line['done'] === true)).toBe(false);
    expect(Object.keys(lines.at(-1) ?? {})).toEqual(['error']);
    const evidence = await newestEvidence();
    expect(evidence).toMatchObject({ state: 'failed', markers: expect.arrayContaining(['partial_response']) });
    main.pipeline.health = new HealthMonitor();
  });
});

describe('POST /api/generate with raw: true', () => {
  it('continues the prompt as a text completion (no suffix), on a model tagged completions only', async () => {
    const before = inferenceExchanges(ollama).length;
    const answer = await client(main).generate({ model: `ollama:${CHAT}`, prompt: PREFIX, raw: true, stream: false, options: { num_predict: 32 } });
    expect(answer).toMatchObject({ model: `ollama:${CHAT}`, response: DEFAULT_ANSWER, done: true, done_reason: 'stop' });
    // Without a suffix Ollama's /v1/completions would wrap the prompt in the model's template: its native API, raw.
    const exchange = inferenceExchanges(ollama).slice(before)[0]!;
    expect(exchange.path).toBe('/api/generate');
    expect(exchange.requestBody.toString('utf8')).toBe(JSON.stringify({ model: CHAT, prompt: PREFIX, raw: true, stream: false, options: { num_predict: 32 } }));
    expect((await newestEvidence()).request.url).toBe(`${ollama.url}/api/generate`);
  });

  it('an {"error"} line in the middle of Ollama’s NDJSON ends the client’s stream with an {"error"} line, never done: true; evidence keeps the lines', async () => {
    ollama.setFault({ errorMidStream: 'an error was encountered while running the model: unexpected EOF' }, 1);
    const before = inferenceExchanges(ollama).length;
    const response = await post(main, { model: `ollama:${CHAT}`, prompt: PREFIX, raw: true });
    expect(response.status).toBe(200);
    const lines = ndjsonLines(await response.text());
    expect(lines.some((line) => line['done'] === false && line['response'] !== '')).toBe(true);
    expect(lines.some((line) => line['done'] === true)).toBe(false);
    expect(Object.keys(lines.at(-1) ?? {})).toEqual(['error']);
    const exchange = inferenceExchanges(ollama).slice(before)[0]!;
    expect(exchange.path).toBe('/api/generate');
    const evidence = await newestEvidence();
    expect(evidence).toMatchObject({ state: 'failed', streamed: true, error: { code: 'stream_broken' } });
    expect(evidence.response.body?.equals(exchange.responseBody)).toBe(true);
    expect(evidence.response.body?.toString('utf8')).toContain('{"error":"an error was encountered while running the model: unexpected EOF"}\n');
    main.pipeline.health = new HealthMonitor();
  });

  it('Ollama’s 404 for a model it does not have is the model-level failure, as on its OpenAI-compatible endpoints', async () => {
    const ghost = await startTestGateway({
      providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'ghost:latest', tags: ['completions'] }] }],
    });
    try {
      const response = await fetch(`${ghost.url}/api/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
        body: JSON.stringify({ model: 'ollama:ghost:latest', prompt: PREFIX, raw: true, stream: false }),
      });
      expect(response.status).toBe(503);
      const { error } = (await response.json()) as { error: string };
      expect(error).toContain('ollama:ghost:latest: ollama answered HTTP 404: model "ghost:latest" not found, try pulling it first');
      expect(error).toContain('ollama:ghost:latest is not served by its provider (it answered that the model does not exist)');
      await ghost.settled();
      const evidence = getEvidence(ghost.store, listEvidence(ghost.store, { limit: 1 })[0]?.id ?? '');
      expect(evidence).toMatchObject({ state: 'failed', status: 404, error: { code: 'upstream_http_error' } });
      expect(evidence?.request.url).toBe(`${ollama.url}/api/generate`);
    } finally {
      await ghost.close();
    }
  });

  it('refuses system and images beside raw or suffix, naming the field, before anything is sent; names options and think it does not send', async () => {
    const before = inferenceExchanges(ollama).length;
    const withSystem = await post(main, { model: 'auto', prompt: PREFIX, suffix: SUFFIX, system: 'You are a coder.' });
    expect(withSystem.status).toBe(400);
    expect(((await withSystem.json()) as { error: string }).error).toContain(
      '/system: with a `suffix` the prompt is a text completion (fill in the middle), which takes no system prompt',
    );
    const withImages = await post(main, { model: 'auto', prompt: PREFIX, raw: true, images: ['iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='] });
    expect(withImages.status).toBe(400);
    expect(((await withImages.json()) as { error: string }).error).toContain('/images: with `raw: true` the prompt is a text completion, which takes no images');
    expect(inferenceExchanges(ollama).length).toBe(before);

    const answered = await post(main, { model: `ollama:${CODER}`, prompt: PREFIX, suffix: SUFFIX, stream: false, think: false, keep_alive: '5m', options: { num_ctx: 4096 } });
    expect(answered.status).toBe(200);
    expect(answered.headers.get('x-syndicate-ignored-fields')).toBe('keep_alive, options.num_ctx, think');
  });
});
