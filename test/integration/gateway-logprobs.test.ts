/**
 * Token log-probabilities through a real gateway (core + node:http adapter on 127.0.0.1:0) over
 * the real pipeline, driven by the official `openai` client: Chat Completions `logprobs` /
 * `top_logprobs` and legacy Completions `logprobs: N` reach the openai-wire engines (fake vLLM and
 * llama-server, which answer them in their own shapes) and their answers reach the client as the
 * engine wrote them, streamed and not; the Responses API's `include:
 * ["message.output_text.logprobs"]` / `top_logprobs` get them in its own shape; a request routed
 * `auto` prefers an openai-wire model, and one only an anthropic-wire model can answer gets
 * `logprobs: null` (`[]` on Responses) and a header that says so, as does one an engine answers
 * without them (LM Studio ignores the fields; llama-server returns none with `top_logprobs: 0`).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { parseServerSentEvents } from '../../src/wire/sse.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { DEFAULT_ANSWER } from '../helpers/fake-engines/model-behaviour.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway } from '../unit/gateway/harness.js';

const LLAMA_MODEL = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
const VLLM_MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
const CLAUDE = 'claude-sonnet-4-20250514';
const STUDIO_MODEL = 'qwen2.5-7b-instruct';

const client = (url: string): OpenAI => new OpenAI({ baseURL: `${url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

type Json = Record<string, unknown>;

let llama: FakeEngine;
let vllm: FakeEngine;
let anthropic: FakeEngine;
let studio: FakeEngine;
/** Models ranked by priority alone (claude first), so that what a request asks for decides, never the latencies earlier tests left. */
let mixed: TestGateway;
let anthropicOnly: TestGateway;
/** LM Studio, which answers without logprobs, and llama-server. */
let ignoring: TestGateway;

/** The `choices[0].logprobs` of each `data:` chunk of a raw SSE body that carries some. */
function chunkLogprobs(body: Buffer): Json[] {
  return parseServerSentEvents(body.toString('utf8'))
    .filter((event) => event.data.startsWith('{'))
    .map((event) => ((JSON.parse(event.data) as { choices?: Json[] }).choices?.[0]?.['logprobs'] ?? null) as Json | null)
    .filter((logprobs): logprobs is Json => logprobs !== null);
}

/** The evidence of the answer `response` reports, once the gateway settled: it holds the engine's response bytes. */
async function evidenceHoldingUpstream(gateway: TestGateway, response: Response, exchange: { responseBody: Buffer }): Promise<ReturnType<typeof getEvidence>> {
  await gateway.settled();
  const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
  expect(evidence?.response.body?.equals(exchange.responseBody)).toBe(true);
  return evidence;
}

/** The anthropic engine was sent no logprobs field, and the evidence's warnings say why. */
async function expectLogprobsLeftOut(anthropicBefore: number, response: Response): Promise<void> {
  const sent = JSON.parse(inferenceExchanges(anthropic).slice(anthropicBefore)[0]!.requestBody.toString('utf8')) as Json;
  expect(sent).not.toHaveProperty('logprobs');
  expect(sent).not.toHaveProperty('top_logprobs');
  await anthropicOnly.settled();
  const evidence = getEvidence(anthropicOnly.store, response.headers.get('x-syndicate-evidence') ?? '');
  expect(JSON.stringify(evidence?.warnings)).toContain('"setting":"logprobs"');
}

/** The `output_text` part of a Responses answer's message. */
function outputTextOf(answer: OpenAI.Responses.Response): OpenAI.Responses.ResponseOutputText {
  const message = answer.output.find((item): item is OpenAI.Responses.ResponseOutputMessage => item.type === 'message');
  return message?.content[0] as OpenAI.Responses.ResponseOutputText;
}

function choiceOf(body: Buffer): Json {
  return (JSON.parse(body.toString('utf8')) as { choices: Json[] }).choices[0]!;
}

beforeAll(async () => {
  [llama, vllm, anthropic, studio] = await Promise.all([
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: LLAMA_MODEL }] }),
    startFakeEngine({ kind: 'vllm', models: [{ id: VLLM_MODEL }] }),
    startFakeEngine({ kind: 'anthropic' }),
    startFakeEngine({ kind: 'lmstudio', models: [{ id: STUDIO_MODEL }] }),
  ]);
  const claude = { id: 'claude', class: 'approved_hosted' as const, wire: 'anthropic' as const, baseUrl: anthropic.baseUrl, auth: true, models: [{ id: CLAUDE, priority: 50, price: { inputPerMTok: 3, outputPerMTok: 15 } }] };
  const llamaProvider = { id: 'llama', class: 'local' as const, wire: 'openai' as const, baseUrl: llama.baseUrl, engine: 'llama.cpp' as const, models: [{ id: LLAMA_MODEL, tags: ['completions'] }] };
  const providers = [
    claude,
    llamaProvider,
    { id: 'vllm', class: 'local' as const, wire: 'openai' as const, baseUrl: vllm.baseUrl, engine: 'vllm' as const, models: [{ id: VLLM_MODEL, tags: ['completions'], priority: 10 }] },
  ];
  mixed = await startTestGateway({ providers, policy: testPolicy({ workflows: { interactive: { prefer: ['priority'], latencyBudget: {} }, batch: { prefer: ['priority'], latencyBudget: {} } } }) });
  anthropicOnly = await startTestGateway({ providers: [claude] });
  ignoring = await startTestGateway({
    providers: [llamaProvider, { id: 'studio', class: 'local' as const, wire: 'openai' as const, baseUrl: studio.baseUrl, engine: 'lmstudio' as const, models: [{ id: STUDIO_MODEL, tags: ['completions'] }] }],
  });
});

afterAll(async () => {
  await Promise.all([mixed?.close(), anthropicOnly?.close(), ignoring?.close()]);
  await Promise.all([llama?.close(), vllm?.close(), anthropic?.close(), studio?.close()]);
});

describe('chat completions logprobs with the official openai client', () => {
  it('routed auto, goes to an openai-wire model ahead of a higher-priority anthropic one; the answer carries the engine logprobs as it wrote them', async () => {
    // Priority alone would pick claude: asking for logprobs ranks the openai-wire models first, vllm (priority 10) ahead of llama.
    const before = inferenceExchanges(vllm).length;
    const { data: completion, response } = await client(mixed.url)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 2 })
      .withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('vllm');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);

    const exchange = inferenceExchanges(vllm).slice(before)[0]!;
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const upstream = choiceOf(exchange.responseBody)['logprobs'] as { content: Json[] };
    expect(upstream.content.length).toBeGreaterThan(1);
    expect(completion.choices[0]?.logprobs).toEqual(upstream);
    const first = completion.choices[0]?.logprobs?.content?.[0];
    expect(first?.top_logprobs).toHaveLength(2);
    expect(first?.bytes).toEqual([...Buffer.from(first?.token ?? '', 'utf8')]);
    expect(completion.choices[0]?.logprobs?.content?.map((entry) => entry.token).join('')).toBe(DEFAULT_ANSWER);
    const plain = await client(mixed.url).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(plain.response.headers.get('x-syndicate-provider')).toBe('claude');

    const evidence = await evidenceHoldingUpstream(mixed, response, exchange);
    expect(evidence?.response.body?.toString('utf8')).toContain('"top_logprobs":[{"token"');
    expect(evidence?.warnings ?? []).toEqual([]);
  });

  it('streams them: each chunk carries the logprobs of its own delta, as llama-server sent them', async () => {
    const before = inferenceExchanges(llama).length;
    const { data: stream, response } = await client(mixed.url)
      .chat.completions.create({ model: `llama:${LLAMA_MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 1, stream: true })
      .withResponse();
    const received: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) received.push(chunk);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();

    const exchange = inferenceExchanges(llama).slice(before)[0]!;
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toMatchObject({ logprobs: true, top_logprobs: 1, stream: true });
    const upstream = chunkLogprobs(exchange.responseBody);
    expect(upstream.length).toBeGreaterThan(1);
    const withLogprobs = received.filter((chunk) => chunk.choices[0]?.logprobs !== null && chunk.choices[0]?.logprobs !== undefined);
    expect(withLogprobs.map((chunk) => chunk.choices[0]?.logprobs)).toEqual(upstream);
    for (const chunk of withLogprobs) {
      const entries = chunk.choices[0]?.logprobs?.content ?? [];
      expect(entries.map((entry) => entry.token).join('')).toBe(chunk.choices[0]?.delta.content);
      // llama-server's own fields (`id`) come through as it wrote them.
      expect(entries[0]).toHaveProperty('id');
    }

    await evidenceHoldingUpstream(mixed, response, exchange);
  });

  it('only an anthropic-wire model: answered with logprobs null, the header names the fields, the evidence says why', async () => {
    const before = inferenceExchanges(anthropic).length;
    const { data: completion, response } = await client(anthropicOnly.url)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 3 })
      .withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('logprobs, top_logprobs');
    expect(completion.choices[0]?.logprobs).toBeNull();
    await expectLogprobsLeftOut(before, response);
  });

  it('top_logprobs without logprobs: true is a 400 naming the fix, as OpenAI answers it', async () => {
    const error = await client(mixed.url)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], top_logprobs: 2 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('top_logprobs');
  });
});

/** A chat-shaped upstream `logprobs.content` as the Responses API writes it: `{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}`, nothing else. */
function asResponsesLogprobs(content: Json[]): Json[] {
  const entry = (raw: Json): Json => ({ token: raw['token'], logprob: raw['logprob'], bytes: raw['bytes'] });
  return content.map((raw) => ({ ...entry(raw), top_logprobs: ((raw['top_logprobs'] ?? []) as Json[]).map(entry) }));
}

describe('responses logprobs with the official openai client', () => {
  const LOGPROBS = 'message.output_text.logprobs' as const;

  it('routed auto, goes to an openai-wire model ahead of a higher-priority anthropic one; output_text.logprobs holds the engine tokens in the Responses shape', async () => {
    // Priority alone would pick claude: asking for logprobs ranks the openai-wire models first, vllm (priority 10) ahead of llama.
    const before = inferenceExchanges(vllm).length;
    const { data: answer, response } = await client(mixed.url)
      .responses.create({ model: 'auto', input: 'hi', include: [LOGPROBS], top_logprobs: 2 })
      .withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('vllm');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
    const exchange = inferenceExchanges(vllm).slice(before)[0]!;
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const upstream = (choiceOf(exchange.responseBody)['logprobs'] as { content: Json[] }).content;
    expect(upstream.length).toBeGreaterThan(1);

    const part = outputTextOf(answer);
    expect(part.text).toBe(DEFAULT_ANSWER);
    expect(part.logprobs).toEqual(asResponsesLogprobs(upstream));
    expect(part.logprobs?.[0]?.top_logprobs).toHaveLength(2);
    expect(part.logprobs?.map((entry) => entry.token).join('')).toBe(DEFAULT_ANSWER);

    // Without the include, `top_logprobs` alone asks for nothing: named ignored, not preferred, no logprobs.
    const plain = await client(mixed.url).responses.create({ model: 'auto', input: 'hi', top_logprobs: 2 }).withResponse();
    expect(plain.response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(plain.response.headers.get('x-syndicate-ignored-fields')).toBe('top_logprobs');
    expect(outputTextOf(plain.data).logprobs).toEqual([]);

    const evidence = await evidenceHoldingUpstream(mixed, response, exchange);
    expect(evidence?.warnings ?? []).toEqual([]);
  });

  it('streams them: each output_text.delta carries the logprobs of its own text, output_text.done and the final response all of them', async () => {
    const before = inferenceExchanges(llama).length;
    const { data: stream, response } = await client(mixed.url)
      .responses.create({ model: `llama:${LLAMA_MODEL}`, input: 'hi', include: [LOGPROBS], top_logprobs: 1, stream: true })
      .withResponse();
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();

    const exchange = inferenceExchanges(llama).slice(before)[0]!;
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toMatchObject({ logprobs: true, top_logprobs: 1, stream: true });
    const upstream = chunkLogprobs(exchange.responseBody).map((logprobs) => asResponsesLogprobs(logprobs['content'] as Json[]));
    expect(upstream.length).toBeGreaterThan(1);
    const deltas = events.filter((event): event is OpenAI.Responses.ResponseTextDeltaEvent => event.type === 'response.output_text.delta');
    expect(deltas.map((event) => event.logprobs)).toEqual(upstream);
    for (const delta of deltas) expect(delta.logprobs.map((entry) => entry.token).join('')).toBe(delta.delta);
    const all = upstream.flat();
    const done = events.find((event): event is OpenAI.Responses.ResponseTextDoneEvent => event.type === 'response.output_text.done');
    expect(done?.logprobs).toEqual(all);
    const completed = events.find((event): event is OpenAI.Responses.ResponseCompletedEvent => event.type === 'response.completed');
    expect(outputTextOf(completed!.response).logprobs).toEqual(all);

    await evidenceHoldingUpstream(mixed, response, exchange);
  });

  it('only an anthropic-wire model: answered with logprobs [], the header names the fields', async () => {
    const before = inferenceExchanges(anthropic).length;
    const { data: answer, response } = await client(anthropicOnly.url)
      .responses.create({ model: 'auto', input: 'hi', include: [LOGPROBS], top_logprobs: 3 })
      .withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('include, top_logprobs');
    expect(outputTextOf(answer).logprobs).toEqual([]);
    await expectLogprobsLeftOut(before, response);
  });

  it('a top_logprobs out of 0 to 20 is a 400 naming it', async () => {
    const error = await client(mixed.url)
      .responses.create({ model: 'auto', input: 'hi', include: [LOGPROBS], top_logprobs: 21 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('top_logprobs');
  });
});

describe('text completions logprobs with the official openai client', () => {
  it('vLLM: the legacy shape (tokens, token_logprobs, top_logprobs, text_offset) comes back as vLLM wrote it', async () => {
    const before = inferenceExchanges(vllm).length;
    const { data: completion, response } = await client(mixed.url)
      .completions.create({ model: `vllm:${VLLM_MODEL}`, prompt: 'def add(a, b):', logprobs: 2 })
      .withResponse();
    const exchange = inferenceExchanges(vllm).slice(before)[0]!;
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toMatchObject({ logprobs: 2 });
    const upstream = choiceOf(exchange.responseBody)['logprobs'] as Json;
    expect(Object.keys(upstream)).toEqual(['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
    expect(completion.choices[0]?.logprobs).toEqual(upstream);
    expect(completion.choices[0]?.logprobs?.tokens?.join('')).toBe(completion.choices[0]?.text);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBeNull();
  });

  it('streamed from vLLM: each chunk carries its tokens, offsets counted from the start of the completion', async () => {
    const before = inferenceExchanges(vllm).length;
    const stream = await client(mixed.url).completions.create({ model: `vllm:${VLLM_MODEL}`, prompt: 'def add(a, b):', logprobs: 1, stream: true });
    const received: OpenAI.Completions.Completion[] = [];
    for await (const chunk of stream) received.push(chunk);
    const upstream = chunkLogprobs(inferenceExchanges(vllm).slice(before)[0]!.responseBody);
    expect(upstream.length).toBeGreaterThan(1);
    const carried = received.map((chunk) => chunk.choices[0]?.logprobs).filter((logprobs) => logprobs !== null && logprobs !== undefined);
    expect(carried).toEqual(upstream);
    const text = received.map((chunk) => chunk.choices[0]?.text ?? '').join('');
    expect(carried.flatMap((logprobs) => logprobs?.tokens ?? []).join('')).toBe(text);
  });

  it('llama-server: its answer, in the shape it writes, comes back unchanged', async () => {
    const before = inferenceExchanges(llama).length;
    const completion = await client(mixed.url).completions.create({ model: `llama:${LLAMA_MODEL}`, prompt: 'def add(a, b):', logprobs: 1 });
    const upstream = choiceOf(inferenceExchanges(llama).slice(before)[0]!.responseBody)['logprobs'];
    expect(upstream).not.toBeNull();
    expect(completion.choices[0]?.logprobs).toEqual(upstream);
  });

  it('echo, best_of and n are still refused', async () => {
    for (const extra of [{ echo: true }, { best_of: 2 }, { n: 2 }]) {
      const error = await client(mixed.url)
        .completions.create({ model: 'auto', prompt: 'x', logprobs: 1, ...extra })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(Object.keys(extra)[0]);
    }
  });
});

describe('an openai-wire engine that answers without the logprobs asked for', () => {
  /** The evidence of `response` says the engine answered without them, and the engine was asked for them. */
  async function expectUnreturned(response: Response, engine: FakeEngine, before: number, asked: Json): Promise<void> {
    expect(JSON.parse(inferenceExchanges(engine).slice(before)[0]!.requestBody.toString('utf8'))).toMatchObject(asked);
    await ignoring.settled();
    const evidence = getEvidence(ignoring.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(JSON.stringify(evidence?.warnings)).toMatch(/"setting":"logprobs","message":"[^"]*answered without them/);
  }

  it('LM Studio, chat: logprobs null, and the header names logprobs and top_logprobs', async () => {
    const before = inferenceExchanges(studio).length;
    const { data: completion, response } = await client(ignoring.url)
      .chat.completions.create({ model: `studio:${STUDIO_MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 2 })
      .withResponse();
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(completion.choices[0]?.logprobs).toBeNull();
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('logprobs, top_logprobs');
    await expectUnreturned(response, studio, before, { logprobs: true, top_logprobs: 2 });

    // Not asked for: nothing named.
    const plain = await client(ignoring.url).chat.completions.create({ model: `studio:${STUDIO_MODEL}`, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(plain.response.headers.get('x-syndicate-ignored-fields')).toBeNull();
  });

  it('LM Studio, streamed: the header, sent with the first token, names logprobs', async () => {
    const before = inferenceExchanges(studio).length;
    const { data: stream, response } = await client(ignoring.url)
      .chat.completions.create({ model: `studio:${STUDIO_MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, stream: true })
      .withResponse();
    const received: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) received.push(chunk);
    expect(received.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(DEFAULT_ANSWER);
    expect(received.every((chunk) => (chunk.choices[0]?.logprobs ?? null) === null)).toBe(true);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('logprobs');
    await expectUnreturned(response, studio, before, { logprobs: true, stream: true });
  });

  it('LM Studio, text completions: the header names logprobs (its number asks for the alternatives)', async () => {
    const before = inferenceExchanges(studio).length;
    const { data: completion, response } = await client(ignoring.url)
      .completions.create({ model: `studio:${STUDIO_MODEL}`, prompt: 'def add(a, b):', logprobs: 2 })
      .withResponse();
    expect(completion.choices[0]?.logprobs ?? null).toBeNull();
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('logprobs');
    await expectUnreturned(response, studio, before, { logprobs: 2 });
  });

  it('llama-server with top_logprobs 0 returns none: named too; the Responses API names include', async () => {
    const before = inferenceExchanges(llama).length;
    const { data: completion, response } = await client(ignoring.url)
      .chat.completions.create({ model: `llama:${LLAMA_MODEL}`, messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 0 })
      .withResponse();
    expect(completion.choices[0]?.logprobs).toBeNull();
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('logprobs, top_logprobs');
    await expectUnreturned(response, llama, before, { logprobs: true, top_logprobs: 0 });

    const answered = await client(ignoring.url)
      .responses.create({ model: `studio:${STUDIO_MODEL}`, input: 'hi', include: ['message.output_text.logprobs'], stream: true })
      .withResponse();
    for await (const event of answered.data) void event;
    expect(answered.response.headers.get('x-syndicate-ignored-fields')).toBe('include');
  });
});
