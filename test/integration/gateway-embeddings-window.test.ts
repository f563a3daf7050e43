/**
 * Embeddings inputs against the embedding model's window, through a real gateway (core + node:http
 * adapter on 127.0.0.1:0) over the real pipeline, with the official `openai` and `ollama` clients,
 * against fake engines speaking their real embeddings wire: llama-server answers an input longer
 * than its physical batch (`-ub`, 512 by default) with its captured HTTP 500, Ollama's
 * `/v1/embeddings` truncates an input to its loaded context. And the one empty-text rule.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { currentProviders } from '../../src/registry/provider-cache.js';
import { HealthMonitor } from '../../src/router/health.js';
import { fakeVector } from '../helpers/fake-engines/embeddings.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { firstTokens } from '../helpers/fake-engines/model-behaviour.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const SMALL_MODEL = 'bge-small-en-v1.5.Q8_0.gguf';
const OLLAMA_EMBED = 'nomic-embed-text:latest';
const BIG_MODEL = 'bge-m3.Q8_0.gguf';
const DIMENSIONS = 8;
/** The text of the llama-server capture (test/fixtures/llama.cpp-real/README.md): 1 054 tokens to its tokenizer. */
const LONG_TEXT = Array.from({ length: 400 }, (_, index) => `word${index}`).join(' ');
const SHORT_TEXT = 'The quick brown fox jumps over the lazy dog.';

/** A llama-server serving one embedding model, whose record declares `contextWindow`. */
function llamaProvider(engine: FakeEngine, id: string, model: string, contextWindow: number, priority: number): TestProvider {
  return { id, class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'llama.cpp', models: [{ id: model, kind: 'embedding', contextWindow, priority }] };
}

function ollamaProvider(engine: FakeEngine, contextWindow: number, priority: number): TestProvider {
  return { id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_EMBED, kind: 'embedding', contextWindow, priority }] };
}

const openai = (gateway: TestGateway): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const ollamaClient = (gateway: TestGateway): Ollama => new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
const caught = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error);
const floats = (vector: readonly number[] | undefined): number[] | undefined => vector?.map((value) => Math.fround(value));

/** The newest denial's evidence: its error and the plan it recorded. */
function newestDenial(gateway: TestGateway): { error: unknown; excluded: { provider: string; model: string; rules: string[]; reasons: string[] }[] } {
  const row = listEvidence(gateway.store, { state: 'denied', limit: 1 })[0];
  const evidence = getEvidence(gateway.store, row?.id ?? '');
  return { error: evidence?.error, excluded: (evidence?.route as { excluded?: { provider: string; model: string; rules: string[]; reasons: string[] }[] }).excluded ?? [] };
}

let small: FakeEngine;
let big: FakeEngine;
let ollama: FakeEngine;
let overstated: FakeEngine;
/** A short-window model ranked first and a long-window one behind it. */
let both: TestGateway;
/** The short-window model alone. */
let smallOnly: TestGateway;
/** llama-server whose record declares its model's 8 192-token window; it embeds at most 512 tokens an input. */
let batchLimited: TestGateway;
/** Ollama (its loaded context 512) ranked first, the long-window llama-server behind it. */
let ollamaFirst: TestGateway;

beforeAll(async () => {
  [small, big, ollama, overstated] = await Promise.all([
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: SMALL_MODEL, embedding: true, dimensions: DIMENSIONS, contextWindow: 512 }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: BIG_MODEL, embedding: true, dimensions: DIMENSIONS, contextWindow: 8192 }], physicalBatchSize: 8192 }),
    startFakeEngine({ kind: 'ollama', models: [{ id: OLLAMA_EMBED, embedding: true, dimensions: DIMENSIONS, contextWindow: 512 }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: BIG_MODEL, embedding: true, dimensions: DIMENSIONS, contextWindow: 8192 }] }),
  ]);
  // Models ranked by their priority alone, whatever their first tokens were.
  const policy = testPolicy();
  policy.workflows = { ...policy.workflows, interactive: { prefer: ['priority'], latencyBudget: {} } };
  [both, smallOnly, batchLimited, ollamaFirst] = await Promise.all([
    startTestGateway({ policy, providers: [llamaProvider(small, 'small', SMALL_MODEL, 512, 9), llamaProvider(big, 'big', BIG_MODEL, 8192, 1)] }),
    startTestGateway({ policy, providers: [llamaProvider(small, 'small', SMALL_MODEL, 512, 9)] }),
    startTestGateway({ policy, providers: [llamaProvider(overstated, 'overstated', BIG_MODEL, 8192, 9), ollamaProvider(ollama, 512, 1)] }),
    startTestGateway({ policy, providers: [ollamaProvider(ollama, 512, 9), llamaProvider(big, 'big', BIG_MODEL, 8192, 1)] }),
  ]);
});

afterAll(async () => {
  await Promise.all([both?.close(), smallOnly?.close(), batchLimited?.close(), ollamaFirst?.close()]);
  await Promise.all([small?.close(), big?.close(), ollama?.close(), overstated?.close()]);
});

describe('POST /v1/embeddings (openai client): an input the window cannot hold', () => {
  it('routes to a model whose window holds the longest input, the evidence naming the input and its tokens', async () => {
    const smallCalls = inferenceExchanges(small).length;
    const { data: answer, response } = await openai(both).embeddings.create({ model: 'auto', input: [SHORT_TEXT, LONG_TEXT], encoding_format: 'float' }).withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('big');
    expect(answer.data.map((item) => item.embedding)).toEqual([SHORT_TEXT, LONG_TEXT].map((text) => fakeVector(BIG_MODEL, text, DIMENSIONS)));
    expect(inferenceExchanges(small).length).toBe(smallCalls);

    await both.settled();
    const route = getEvidence(both.store, response.headers.get('x-syndicate-evidence') ?? '')?.route as { excluded: { provider: string; model: string; reasons: string[] }[] };
    const reason = route.excluded.find((entry) => entry.provider === 'small' && entry.model === SMALL_MODEL)?.reasons[0];
    expect(reason).toMatch(/^context window 512 < (\d+) tokens of input\[1\] \((\d+) estimated, 2 special\)$/);
    const [, total, estimated] = /< (\d+) tokens .*\((\d+) estimated/.exec(reason ?? '') ?? [];
    expect(Number(total)).toBe(Number(estimated) + 2);
    expect(Number(estimated)).toBeGreaterThan(512);

    // Short inputs still go to the model ranked first.
    const { response: short } = await openai(both).embeddings.create({ model: 'auto', input: SHORT_TEXT }).withResponse();
    expect(short.headers.get('x-syndicate-provider')).toBe('small');
  });

  it('refuses with 400 context_length_exceeded naming the input when no model may take it, recorded as a denial; nothing is sent', async () => {
    const calls = inferenceExchanges(small).length;
    const error = await caught(openai(smallOnly).embeddings.create({ model: 'auto', input: [SHORT_TEXT, LONG_TEXT] }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refusal.code).toBe('context_length_exceeded');
    expect(refusal.param).toBe('input');
    expect(refusal.message).toMatch(new RegExp(`an input is too long for every embedding model this public request may use: small:${SMALL_MODEL.replace(/\./g, '\\.')}: context window 512 < \\d+ tokens of input\\[1\\]`));
    expect(refusal.message).toContain('split it into shorter texts (one vector each), or use an embedding model with a larger contextWindow');
    expect(inferenceExchanges(small).length).toBe(calls);

    await smallOnly.settled();
    const denial = newestDenial(smallOnly);
    expect(denial.error).toMatchObject({ code: 'context_length_exceeded' });
    expect(denial.excluded).toEqual([expect.objectContaining({ provider: 'small', model: SMALL_MODEL, rules: ['context_length'], reasons: [expect.stringMatching(/tokens of input\[1\]/)] })]);
  });
});

describe("an engine's own refusal of an input too long (llama-server's physical batch)", () => {
  it('answers 400 with the engine’s words and what to do, records the 500 verbatim, and holds nothing back', async () => {
    batchLimited.pipeline.health = new HealthMonitor();
    const ollamaCalls = inferenceExchanges(ollama).length;
    const error = await caught(openai(batchLimited).embeddings.create({ model: 'auto', input: [SHORT_TEXT, LONG_TEXT] }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(refusal.status).toBe(400);
    expect(refusal.code).toBe('context_length_exceeded');
    expect(refusal.message).toMatch(/overstated answered HTTP 500: input \(\d+ tokens\) is too large to process\. increase the physical batch size \(current batch size: 512\)/);
    expect(refusal.message).toContain('start llama-server with a physical batch as large as the longest input (`-b N -ub N`; 512 tokens now)');
    expect(refusal.message).toContain(`declaring contextWindow: 512 for overstated:${BIG_MODEL} in its provider record`);
    // The input is the caller's to split: no other model is asked (Ollama would truncate it silently).
    expect(inferenceExchanges(ollama).length).toBe(ollamaCalls);

    await batchLimited.settled();
    const exchange = inferenceExchanges(overstated).at(-1)!;
    expect(exchange.status).toBe(500);
    const failed = listEvidence(batchLimited.store, { limit: 1 })[0];
    expect(failed).toMatchObject({ state: 'failed', provider: { id: 'overstated' }, status: 500 });
    expect(getEvidence(batchLimited.store, failed?.id ?? '')?.response.body?.equals(exchange.responseBody)).toBe(true);

    // Not the provider's failure: three in a row (what holds a failing provider back) leave the model
    // routable, and the next input goes to it first.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      expect(await caught(openai(batchLimited).embeddings.create({ model: 'auto', input: LONG_TEXT }))).toBeInstanceOf(OpenAI.BadRequestError);
    }
    expect(batchLimited.pipeline.health.holds(currentProviders(batchLimited.store))).toEqual([]);
    const { response } = await openai(batchLimited).embeddings.create({ model: 'auto', input: SHORT_TEXT }).withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('overstated');
    await batchLimited.settled();
    expect(listEvidence(batchLimited.store, { limit: 5 }).filter((row) => row.requestId === response.headers.get('x-syndicate-request')).map((row) => row.hop)).toEqual([0]);
  });

  it('gives an Ollama client the same 400 in its own envelope', async () => {
    const error = await caught(ollamaClient(batchLimited).embed({ model: `overstated:${BIG_MODEL}`, input: LONG_TEXT }));
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 400 });
    expect((error as Error).message).toMatch(/is too large to process\. increase the physical batch size.*split the input into shorter texts/);
  });
});

describe('POST /api/embed (ollama client): truncate', () => {
  it('by default lets the engine truncate: the model is kept, the route says so, and Ollama embeds the input cut to its window', async () => {
    const sent = inferenceExchanges(ollama).length;
    const answer = await ollamaClient(ollamaFirst).embed({ model: 'auto', input: [SHORT_TEXT, LONG_TEXT] });
    expect(inferenceExchanges(ollama).length).toBe(sent + 1);
    expect(answer.embeddings.map(floats)).toEqual([SHORT_TEXT, firstTokens(LONG_TEXT, 512)].map((text) => fakeVector(OLLAMA_EMBED, text, DIMENSIONS)));
    await ollamaFirst.settled();
    const route = getEvidence(ollamaFirst.store, listEvidence(ollamaFirst.store, { limit: 1 })[0]?.id ?? '')?.route as { chosen: { provider: string; reasons: string[] } };
    expect(route.chosen.provider).toBe('ollama');
    expect(route.chosen.reasons).toContainEqual(expect.stringMatching(/^context window 512 < \d+ tokens of input\[1\] \(\d+ estimated, 2 special\): the engine truncates it \(truncate is not false\)$/));
  });

  it('leaves truncation to Ollama engines: a llama-server window too short for the input is left out whatever truncate says', async () => {
    // llama-server refuses an over-long input (its captured 500) rather than cut it: keeping the
    // short-window model ranked first would fail a request the long-window one can take.
    const smallCalls = inferenceExchanges(small).length;
    const answer = await ollamaClient(both).embed({ model: 'auto', input: [SHORT_TEXT, LONG_TEXT] });
    expect(answer.embeddings.map(floats)).toEqual([SHORT_TEXT, LONG_TEXT].map((text) => fakeVector(BIG_MODEL, text, DIMENSIONS)));
    expect(inferenceExchanges(small).length).toBe(smallCalls);
    await both.settled();
    const route = getEvidence(both.store, listEvidence(both.store, { limit: 1 })[0]?.id ?? '')?.route as { excluded: { provider: string; model: string; reasons: string[] }[] };
    expect(route.excluded.find((entry) => entry.provider === 'small' && entry.model === SMALL_MODEL)?.reasons[0]).toMatch(/^context window 512 < \d+ tokens of input\[1\] \(\d+ estimated, 2 special\)$/);
  });

  it('with truncate: false leaves out a window too short for the input: the long-window model takes it', async () => {
    const sent = inferenceExchanges(ollama).length;
    const answer = await ollamaClient(ollamaFirst).embed({ model: 'auto', input: [SHORT_TEXT, LONG_TEXT], truncate: false });
    expect(answer.embeddings.map(floats)).toEqual([SHORT_TEXT, LONG_TEXT].map((text) => fakeVector(BIG_MODEL, text, DIMENSIONS)));
    expect(inferenceExchanges(ollama).length).toBe(sent);
  });

  it('with truncate: false and the short window named, refuses with 400 naming the input, as a denial', async () => {
    const sent = inferenceExchanges(ollama).length;
    const error = await caught(ollamaClient(ollamaFirst).embed({ model: `ollama:${OLLAMA_EMBED}`, input: [LONG_TEXT, SHORT_TEXT], truncate: false }));
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 400 });
    expect((error as Error).message).toMatch(/an input is too long for every embedding model this public request may use: ollama:nomic-embed-text:latest: context window 512 < \d+ tokens of input\[0\]/);
    expect(inferenceExchanges(ollama).length).toBe(sent);
    await ollamaFirst.settled();
    expect(newestDenial(ollamaFirst).error).toMatchObject({ code: 'context_length_exceeded' });
  });
});

describe('one rule for empty and whitespace texts', () => {
  it('openai client: an empty text is a 400 naming it; whitespace alone is embedded', async () => {
    const error = await caught(openai(both).embeddings.create({ model: 'auto', input: [SHORT_TEXT, ''] }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input[1]');
    expect((error as Error).message).toContain('/input/1: must not be empty');
    const answer = await openai(both).embeddings.create({ model: 'auto', input: ['   ', '\n'], encoding_format: 'float' });
    expect(answer.data.map((item) => item.embedding)).toEqual(['   ', '\n'].map((text) => fakeVector(SMALL_MODEL, text, DIMENSIONS)));
  });

  it('ollama client: an empty text in a list is a 400 (an input of "" alone is a model load, as in Ollama); whitespace alone is embedded', async () => {
    const error = await caught(ollamaClient(ollamaFirst).embed({ model: 'auto', input: ['first', ''] }));
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 400 });
    expect((error as Error).message).toMatch(/\/input\/1: must not be empty/);
    expect(await ollamaClient(ollamaFirst).embed({ model: 'auto', input: '' })).toEqual({ model: 'auto', embeddings: [] });
    const answer = await ollamaClient(ollamaFirst).embed({ model: 'auto', input: '   ' });
    expect(answer.embeddings.map(floats)).toEqual([fakeVector(OLLAMA_EMBED, '   ', DIMENSIONS)]);
  });
});
