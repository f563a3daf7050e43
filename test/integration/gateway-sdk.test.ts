/**
 * The official `openai` and `@anthropic-ai/sdk` clients against a real gateway (core + node:http
 * adapter on 127.0.0.1:0) over the real pipeline and fake engines: what each client sees for
 * answers, streams, tools, refusals, upstream failures, bad tokens, and across wire formats.
 */
import Anthropic from '@anthropic-ai/sdk';
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { listDiscoveries } from '../../src/probes/discovery.js';
import { HealthMonitor } from '../../src/router/health.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { VLLM_CONTEXT_LENGTH_REFUSAL } from '../helpers/openai-bytes.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { parsePrometheusText, startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const OLLAMA_MODEL = 'llama3.2:latest';
const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const SECRET_PROMPT = 'Remember this for me: password: hunter2';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

function ollamaProvider(engine: FakeEngine, id = 'ollama'): TestProvider {
  return { id, class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, tags: ['tools'], aliases: ['small'] }] };
}

function claudeProvider(engine: FakeEngine): TestProvider {
  return { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: engine.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] };
}

const openAIClient = (gateway: TestGateway, apiKey = TEST_TOKEN): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 });
const anthropicClient = (gateway: TestGateway, apiKey = TEST_TOKEN): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0 });

let ollama: FakeEngine;
let claude: FakeEngine;
let failingOllama: FakeEngine;
let main: TestGateway;
let hostedOnly: TestGateway;
let failing: TestGateway;

beforeAll(async () => {
  [ollama, claude, failingOllama] = await Promise.all([
    // Started with OLLAMA_CONTEXT_LENGTH=32768: the screenshots' 4 000 tokens do not fit Ollama's default num_ctx 4096.
    startFakeEngine({ kind: 'ollama', ollamaContextLength: 32768 }),
    startFakeEngine({ kind: 'anthropic' }),
    startFakeEngine({ kind: 'ollama' }),
  ]);
  main = await startTestGateway({ providers: [ollamaProvider(ollama), claudeProvider(claude)] });
  hostedOnly = await startTestGateway({ providers: [claudeProvider(claude)] });
  failing = await startTestGateway({ providers: [ollamaProvider(failingOllama)] });
});

/**
 * The requests `engines` were sent (POSTs): a route also probes the local engines' health
 * (GET /v1/models, /api/ps) whenever its last look is older than the 5 s TTL, which a slow run or
 * another order of the tests makes happen in any test, so a count of every exchange moves.
 */
function sentTo(...engines: FakeEngine[]): number {
  return engines.reduce((sum, engine) => sum + inferenceExchanges(engine).length, 0);
}

/** The failing engine's gateway forgets earlier failures, so each fault test starts from a healthy engine. */
function forgetFailures(): void {
  failing.pipeline.health = new HealthMonitor();
}

afterAll(async () => {
  await Promise.all([main?.close(), hostedOnly?.close(), failing?.close()]);
  await Promise.all([ollama?.close(), claude?.close(), failingOllama?.close()]);
});

describe('OpenAI client', () => {
  it('gets a non-streamed answer from the local engine, recorded as gateway evidence', async () => {
    const completion = await openAIClient(main).chat.completions.create({
      model: `ollama:${OLLAMA_MODEL}`,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.model).toBe(`ollama:${OLLAMA_MODEL}`);
    await main.settled();
    const newest = listEvidence(main.store, { limit: 1 })[0];
    expect(newest).toMatchObject({ caller: 'gateway', state: 'completed', provider: { id: 'ollama', class: 'local' }, model: OLLAMA_MODEL });
  });

  it('streams the answer chunk by chunk, ending with a finish reason; the headers name its evidence', async () => {
    const { data: stream, response } = await openAIClient(main)
      .chat.completions.create({
        model: 'small',
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
        stream: true,
      })
      .withResponse();
    const deltas: string[] = [];
    const finishReasons: (string | null)[] = [];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        if (choice.delta.content) deltas.push(choice.delta.content);
        finishReasons.push(choice.finish_reason);
      }
    }
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(DEFAULT_ANSWER);
    expect(finishReasons.at(-1)).toBe('stop');
    await main.settled();
    const newest = listEvidence(main.store, { limit: 1 })[0];
    expect(newest).toMatchObject({ id: response.headers.get('x-syndicate-evidence'), requestId: response.headers.get('x-syndicate-request'), streamed: true });
    expect(response.headers.get('x-syndicate-sensitivity')).toBe(newest?.sensitivity);
  });

  it('is told which request fields no provider saw, in a header and in the evidence warnings', async () => {
    const { data: completion, response } = await openAIClient(main)
      .chat.completions.create({
        model: `ollama:${OLLAMA_MODEL}`,
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
        metadata: { app: 'eval' },
        user: 'agent-7',
      })
      .withResponse();
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('metadata, user');
    await main.settled();
    const evidence = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.warnings).toEqual(
      expect.arrayContaining([
        { setting: 'metadata', message: 'not interpreted by the gateway; not sent to the provider' },
        { setting: 'user', message: 'not interpreted by the gateway; not sent to the provider' },
      ]),
    );
    const sent = JSON.parse(evidence?.request.body?.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(sent).not.toHaveProperty('metadata');
    expect(sent).not.toHaveProperty('user');
    // A request that asks for nothing extra gets no such header.
    const { response: plain } = await openAIClient(main)
      .chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .withResponse();
    expect(plain.headers.get('x-syndicate-ignored-fields')).toBeNull();
  });

  it('receives a tool call with JSON arguments', async () => {
    const completion = await openAIClient(main).chat.completions.create({
      model: `ollama:${OLLAMA_MODEL}`,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function tool call');
    expect(call.function.name).toBe('get_weather');
    expect(typeof JSON.parse(call.function.arguments)).toBe('object');
  });

  it('streams a tool call whose argument deltas join into JSON', async () => {
    const stream = await openAIClient(main).chat.completions.create({
      model: `ollama:${OLLAMA_MODEL}`,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
      stream: true,
    });
    let name = '';
    let argumentsText = '';
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? '';
        argumentsText += call.function?.arguments ?? '';
      }
    }
    expect(name).toBe('get_weather');
    expect(typeof JSON.parse(argumentsText)).toBe('object');
  });

  it('is refused with 403 (PermissionDeniedError) when a secret would have to go to a hosted provider', async () => {
    const before = claude.exchanges.length;
    const error = await openAIClient(hostedOnly)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(refusal.status).toBe(403);
    expect(refusal.message).toContain('no provider may receive this restricted request');
    expect(refusal.code).toBe('route_denied');
    expect(claude.exchanges.length).toBe(before);
    // Control: the same gateway answers a harmless prompt through that hosted provider.
    const completion = await openAIClient(hostedOnly).chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
  });

  it('is refused with 403 for a labelled date of birth (confidential), answered by an approved hosted provider for an internal host name', async () => {
    const before = claude.exchanges.length;
    const error = await openAIClient(hostedOnly)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Fill in the form for Jane Roe, date of birth 12/03/1984.' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(refusal.status).toBe(403);
    expect(refusal.message).toContain('no provider may receive this confidential request');
    expect(refusal.code).toBe('route_denied');
    expect(claude.exchanges.length).toBe(before);
    // `internal` may go to an approved hosted provider (the default policy keeps it from restricted_hosted ones only).
    const completion = await openAIClient(hostedOnly).chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Why does the nightly job time out connecting to db1.prod.corp?' }],
    });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(claude.exchanges.length).toBe(before + 1);
  });

  it('gets 404 NotFoundError naming the models it could use for a model nothing serves; nothing is sent or recorded', async () => {
    await main.settled();
    const rowsBefore = listEvidence(main.store, { limit: 1000 }).length;
    const sentBefore = sentTo(ollama, claude);
    const error = await openAIClient(main)
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const notFound = error as InstanceType<typeof OpenAI.NotFoundError>;
    expect(notFound.code).toBe('model_not_found');
    expect(notFound.param).toBe('model');
    expect(notFound.message).toContain('unknown model "gpt-4o": no registered model or alias matches');
    expect(notFound.message).toContain(`send model "auto" to let the policy choose, or one of: claude:${CLAUDE_MODEL}, ollama:${OLLAMA_MODEL}, small;`);
    // Its request id, as every other answer of the pipeline carries it (what an agent logs).
    expect(notFound.requestID).toMatch(/^req_/);
    expect(notFound.headers.get('request-id')).toBe(notFound.requestID);
    const anthropicError = await anthropicClient(main)
      .messages.create({ model: 'claude-opus-4-1', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(anthropicError).toBeInstanceOf(Anthropic.NotFoundError);
    expect((anthropicError as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect((anthropicError as InstanceType<typeof Anthropic.NotFoundError>).requestID).toMatch(/^req_/);
    expect(sentTo(ollama, claude)).toBe(sentBefore);
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(rowsBefore);
  });

  it('gets 400 context_length_exceeded (what agents compact on), not a permission error, for a prompt no context window holds', async () => {
    const sentBefore = sentTo(ollama, claude);
    // ~40 000 tokens: no 32 768-token window holds it, whatever max_tokens says.
    const longPrompt = 'What is the capital of France? '.repeat(5000);
    const error = await openAIClient(main)
      .chat.completions.create({ model: 'auto', max_tokens: 40_000, messages: [{ role: 'user', content: longPrompt }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const tooLong = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(tooLong.code).toBe('context_length_exceeded');
    expect(tooLong.param).toBe('messages');
    expect(tooLong.message).toMatch(/prompt is too long for every model this public request may use: .*context window 32768 < \d+ tokens of the prompt \(\d+\) and the chat template allowance \(136\)/);
    expect(tooLong.message).toContain('shorten or compact the conversation');
    const anthropicError = await anthropicClient(main)
      .messages.create({ model: 'auto', max_tokens: 40_000, stream: true, messages: [{ role: 'user', content: longPrompt }] })
      .catch((caught: unknown) => caught);
    expect(anthropicError).toBeInstanceOf(Anthropic.BadRequestError);
    expect((anthropicError as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('prompt is too long') } });
    expect(sentTo(ollama, claude)).toBe(sentBefore);
    // The router's decision is on record like any refusal.
    await main.settled();
    expect(listEvidence(main.store, { limit: 1 })[0]).toMatchObject({ kind: 'denial', error: { code: 'context_length_exceeded' } });
  });

  it('gives an Anthropic client "prompt is too long" when the engine refused the prompt as too long, as when no window holds it', async () => {
    forgetFailures();
    const refusal = VLLM_CONTEXT_LENGTH_REFUSAL;
    failingOllama.setFault({ status: 400, body: refusal }, 1);
    const error = await anthropicClient(failing)
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const { message } = ((error as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { message: string } }).error;
    expect(message).toMatch(/^prompt is too long: ollama answered HTTP 400: This model's maximum context length is 4096 tokens/);
    failingOllama.setFault({ status: 400, body: refusal }, 1);
    const openAIError = await openAIClient(failing)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .catch((caught: unknown) => caught);
    // The field to shorten, as for the router's own refusal of a prompt too long for every window.
    expect(openAIError).toBeInstanceOf(OpenAI.BadRequestError);
    expect(openAIError).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' });
  });

  it('sees 503 when the only engine fails with HTTP 500; that one failure does not fail the next request', async () => {
    forgetFailures();
    failingOllama.setFault({ status: 500 }, 1);
    const error = await openAIClient(failing)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const failure = error as InstanceType<typeof OpenAI.InternalServerError>;
    expect(failure.status).toBe(503);
    expect(failure.code).toBe('inference_unavailable');
    expect(failure.message).toContain('inference unavailable, try again later');
    // The engine is running: the message says to look at it, not to start it.
    expect(failure.message).toContain("(ollama answers but its calls fail (HTTP 5xx, broken or malformed answers, timeouts): look at the engine's own log or health endpoint, then retry)");
    expect(failure.message).not.toContain('start the');
    // One bad request (llama.cpp answers some with 500) must not take the engine from everyone.
    const next = await openAIClient(failing).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] });
    expect(next.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
  });

  it('after three failed calls in a row (500, an HTML 502, a reset mid-stream) the engine is out for a while: 503 "engine failing", without reaching it', async () => {
    // On a clock that stands still: the three failures are within the 5 s they must fall in, and the
    // fourth ask within the 5 s hold, however long a loaded machine takes over the four requests.
    const clock = Date.now();
    failing.pipeline.health = new HealthMonitor({ now: () => clock });
    const ask = () => openAIClient(failing).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] });
    failingOllama.setFault({ status: 500 }, 1);
    await expect(ask()).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    failingOllama.setFault({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }, 1);
    await expect(ask()).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    failingOllama.setFault('reset-mid-stream', 1);
    const stream = await openAIClient(failing).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }], stream: true });
    await expect((async () => {
      for await (const chunk of stream) void chunk;
    })()).rejects.toThrow();
    const sent = failingOllama.exchanges.filter((exchange) => exchange.method === 'POST').length;
    const error = await ask().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).message).toMatch(/engine failing: 3 calls in a row failed/);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).message).toMatch(
      /\(ollama answers but its calls fail \(HTTP 5xx, broken or malformed answers, timeouts\): look at the engine's own log or health endpoint; syndicate tries it again in 5 s\)$/,
    );
    expect(failingOllama.exchanges.filter((exchange) => exchange.method === 'POST').length).toBe(sent);
    forgetFailures();
  });

  it('a call that finds nothing answering takes the engine out for a while: the 503 says when the gateway tries it again', async () => {
    forgetFailures();
    // Reset before any byte, twice: a transport that sends again on a fresh connection finds the same.
    failingOllama.setFault('reset', 2);
    const error = await openAIClient(failing)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    failingOllama.setFault('ok');
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).message).toMatch(
      /\(nothing answers at ollama: start the engine or fix the baseUrl in its provider record \(`syndicate doctor` checks each local engine\); syndicate tries it again in [1-5] s\)$/,
    );
    forgetFailures();
  });

  it('sees 429 with the engine’s Retry-After when the only engine is rate-limiting (not a 503 to retry at once)', async () => {
    forgetFailures();
    failingOllama.setFault({ status: 429, headers: { 'retry-after': '7' } }, 1);
    const error = await openAIClient(failing)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const failure = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(failure.status).toBe(429);
    expect(failure.code).toBe('rate_limited');
    expect(failure.headers.get('retry-after')).toBe('7');
    forgetFailures();
    failingOllama.setFault({ status: 429, headers: { 'retry-after-ms': '1500' } }, 1);
    const anthropicError = await anthropicClient(failing)
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError);
    expect((anthropicError as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('2');
    forgetFailures();
  });

  it('is held back by a 429 for exactly its Retry-After (429 with the seconds left, in both APIs, the engine left alone), then answered', async () => {
    // The hold on a clock this test moves: the asks within the wait are within it however long a
    // loaded machine takes between them (on the wall clock, one that took a second found it over).
    let clock = Date.now();
    failing.pipeline.health = new HealthMonitor({ now: () => clock });
    const ask = () => openAIClient(failing).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] });
    failingOllama.setFault({ status: 429, headers: { 'retry-after': '1' } }, 1);
    const first = await ask().catch((caught: unknown) => caught);
    expect(first).toBeInstanceOf(OpenAI.RateLimitError);
    expect((first as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('1');
    const sent = failingOllama.exchanges.filter((exchange) => exchange.method === 'POST').length;

    // Within the wait: 429 again (not 503), with the seconds left, and the engine is not called.
    const held = await ask().catch((caught: unknown) => caught);
    expect(held).toBeInstanceOf(OpenAI.RateLimitError);
    const heldError = held as InstanceType<typeof OpenAI.RateLimitError>;
    expect(heldError.status).toBe(429);
    expect(heldError.code).toBe('rate_limited');
    expect(heldError.headers.get('retry-after')).toBe('1');
    // The one model of that engine is held back (a 429 is the model's own), for the 1 s asked.
    expect(heldError.message).toMatch(/ollama:llama3\.2:latest: model llama3\.2:latest rate-limited for another 1 s \(until [^)]+\): ollama answered HTTP 429/);
    expect(heldError.message).not.toContain('unreachable');
    const anthropicHeld = await anthropicClient(failing)
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(anthropicHeld).toBeInstanceOf(Anthropic.RateLimitError);
    expect((anthropicHeld as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((anthropicHeld as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('1');
    expect(failingOllama.exchanges.filter((exchange) => exchange.method === 'POST').length).toBe(sent);
    // Both refusals are on the chain: failed invocations that called nothing, saying why.
    await failing.settled();
    const refused = listEvidence(failing.store, { limit: 2 });
    expect(refused).toMatchObject([
      { state: 'failed', error: { code: 'rate_limited' } },
      { state: 'failed', error: { code: 'rate_limited' } },
    ]);

    // Once the wait it asked for is over, the engine is used again.
    clock += 1000;
    const answered = await ask();
    expect(answered.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(failingOllama.exchanges.filter((exchange) => exchange.method === 'POST').length).toBe(sent + 1);
  });

  it('is rejected with 401 (AuthenticationError) for a wrong token', async () => {
    const error = await openAIClient(main, 'not-the-token')
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('token_invalid');
  });

  it('gets 400 naming the field at fault', async () => {
    const error = await openAIClient(main)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'robot', content: 'hi' }] } as never)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const failure = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(failure.status).toBe(400);
    expect(failure.param).toBe('messages[0].role');
  });

  it('lists auto, provider:model ids and aliases', async () => {
    const ids: string[] = [];
    for await (const model of openAIClient(main).models.list()) ids.push(model.id);
    expect(ids).toEqual(['auto', `claude:${CLAUDE_MODEL}`, `ollama:${OLLAMA_MODEL}`, 'small']);
  });

  it('retrieves one model by id (provider:model, alias, auto) and gets 404 for an unknown one', async () => {
    const client = openAIClient(main);
    expect(await client.models.retrieve(`ollama:${OLLAMA_MODEL}`)).toMatchObject({ id: `ollama:${OLLAMA_MODEL}`, object: 'model', owned_by: 'ollama' });
    expect(await client.models.retrieve('small')).toMatchObject({ id: 'small', owned_by: 'ollama' });
    expect(await client.models.retrieve('auto')).toMatchObject({ id: 'auto', owned_by: 'syndicate' });
    const missing = await client.models.retrieve('ollama:no-such-model').catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).message).toContain('no model "ollama:no-such-model"');
  });

  it('retrieves a model by every name a chat request takes: its own id without the provider, an Ollama name without its tag', async () => {
    const client = openAIClient(main);
    for (const [id, owner] of [
      [OLLAMA_MODEL, 'ollama'],
      ['llama3.2', 'ollama'],
      ['ollama:llama3.2', 'ollama'],
      [CLAUDE_MODEL, 'claude'],
    ] as const) {
      // The chat routes take the name, so a client checking it first must not be told it does not exist.
      const completion = await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: 'What is the capital of France?' }] });
      expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
      expect(await client.models.retrieve(id)).toEqual({ id, object: 'model', created: expect.any(Number), owned_by: owner });
      expect(await anthropicClient(main).models.retrieve(id)).toMatchObject({ type: 'model', id });
    }
    expect(await anthropicClient(main).models.retrieve('llama3.2')).toMatchObject({ display_name: `${OLLAMA_MODEL} on ollama` });
  });

  it('lists the models at /v1/models/ too (a base URL ending in /), and retrieves ids holding `:` and `/`, encoded or not', async () => {
    const modelIds = ['hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M', 'Qwen/Qwen2.5-1.5B-Instruct'];
    const gateway = await startTestGateway({ providers: [{ ...ollamaProvider(ollama), models: modelIds.map((id) => ({ id })) }] });
    try {
      const expected = ['auto', ...modelIds.map((id) => `ollama:${id}`)];
      const client = openAIClient(gateway);
      const listed = await client.get<{ object: string; data: { id: string }[] }>('/models/');
      expect(listed.object).toBe('list');
      expect(listed.data.map((model) => model.id)).toEqual(expected);
      // In Anthropic's list shape for an Anthropic client, as on /v1/models.
      const anthropicListed = await anthropicClient(gateway).get<{ data: { id: string }[]; has_more: boolean }>('/v1/models/');
      expect(anthropicListed).toMatchObject({ has_more: false, first_id: 'auto' });
      expect(anthropicListed.data.map((model) => model.id)).toEqual(expected);
      for (const id of expected.slice(1)) {
        // The SDK sends `/` as %2F; a hand-written client may send it as is.
        expect(await client.models.retrieve(id)).toMatchObject({ id, object: 'model', owned_by: 'ollama' });
        const raw = await fetch(`${gateway.url}/v1/models/${id}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
        expect(raw.status, id).toBe(200);
        expect(await raw.json()).toMatchObject({ id, object: 'model' });
      }
    } finally {
      await gateway.close();
    }
  });

  it('talks to an Anthropic-wire provider through the canonical model (answer and stream)', async () => {
    const completion = await openAIClient(main).chat.completions.create({
      model: `claude:${CLAUDE_MODEL}`,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(claude.exchanges.at(-1)?.path).toBe('/v1/messages');
    const stream = await openAIClient(main).chat.completions.create({
      model: `claude:${CLAUDE_MODEL}`,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(DEFAULT_ANSWER);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });
});

describe('Anthropic client', () => {
  it('gets a message from the OpenAI-wire local engine (cross-format)', async () => {
    const message = await anthropicClient(main).messages.create({
      model: `ollama:${OLLAMA_MODEL}`,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(message.type).toBe('message');
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(ollama.exchanges.at(-1)?.path).toBe('/v1/chat/completions');
  });

  it('streams from the OpenAI-wire local engine (cross-format)', async () => {
    const stream = anthropicClient(main).messages.stream({
      model: `ollama:${OLLAMA_MODEL}`,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(DEFAULT_ANSWER);
    expect(final.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(final.stop_reason).toBe('end_turn');
  });

  it('sees the ignored-fields header on a stream too (top_k, metadata)', async () => {
    const { data: stream, response } = await anthropicClient(main)
      .messages.create({ model: 'auto', max_tokens: 64, top_k: 5, metadata: { user_id: 'u-1' }, messages: [{ role: 'user', content: 'What is the capital of France?' }], stream: true })
      .withResponse();
    for await (const event of stream) void event;
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('metadata, top_k');
  });

  it('receives a tool_use block', async () => {
    const message = await anthropicClient(main).messages.create({
      model: `ollama:${OLLAMA_MODEL}`,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [{ name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    expect(message.stop_reason).toBe('tool_use');
    const block = message.content.find((item) => item.type === 'tool_use');
    expect(block).toMatchObject({ type: 'tool_use', name: 'get_weather' });
    expect(typeof (block as { input: unknown }).input).toBe('object');
  });

  it('is refused with 403 (PermissionDeniedError) for a secret and only a hosted provider', async () => {
    const error = await anthropicClient(hostedOnly)
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((error as InstanceType<typeof Anthropic.PermissionDeniedError>).status).toBe(403);
    expect((error as InstanceType<typeof Anthropic.PermissionDeniedError>).error).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
  });

  it('sees 503 (overloaded_error) when the engine fails with HTTP 500', async () => {
    forgetFailures();
    failingOllama.setFault({ status: 500 }, 1);
    const error = await anthropicClient(failing)
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.InternalServerError>).status).toBe(503);
    expect((error as InstanceType<typeof Anthropic.InternalServerError>).error).toMatchObject({ error: { type: 'overloaded_error' } });
  });

  it('is rejected with 401 for a wrong x-api-key', async () => {
    const error = await anthropicClient(main, 'wrong')
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('counts tokens locally (messages.countTokens, and the beta path Claude Code calls), growing with the conversation', async () => {
    const client = anthropicClient(main);
    await main.settled();
    const rowsBefore = listEvidence(main.store, { limit: 1000 }).length;
    const short = await client.messages.countTokens({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect(short.input_tokens).toBeGreaterThan(5);
    const { data: long, response } = await client.beta.messages
      .countTokens({
        model: 'auto',
        system: 'You are terse.',
        tools: [{ name: 'write_file', description: 'Write a file', input_schema: { type: 'object', properties: { content: { type: 'string' } } } }],
        messages: [
          { role: 'user', content: 'What is the capital of France?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'write_file', input: { content: 'Paris. '.repeat(300) } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'written' }] },
        ],
      })
      .withResponse();
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 300);
    expect(response.headers.get('x-syndicate-token-count')).toMatch(/^approximate/);
    // Nothing was invoked: a count writes no evidence.
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(rowsBefore);
    const invalid = await client.messages.countTokens({ model: 'auto', messages: [] }).catch((caught: unknown) => caught);
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('refuses to count for a model nothing serves with the 404 messages.create gets (not_found_error), as Anthropic does', async () => {
    const client = anthropicClient(main);
    const body = { model: 'claude-opus-4-1', messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };
    const counted = await client.messages.countTokens(body).catch((caught: unknown) => caught);
    const created = await client.messages.create({ ...body, max_tokens: 64 }).catch((caught: unknown) => caught);
    expect(counted).toBeInstanceOf(Anthropic.NotFoundError);
    expect(created).toBeInstanceOf(Anthropic.NotFoundError);
    const countError = (counted as InstanceType<typeof Anthropic.NotFoundError>).error as { type: string; error: { type: string; message: string } };
    expect(countError).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(countError.error.message).toBe(((created as InstanceType<typeof Anthropic.NotFoundError>).error as { error: { message: string } }).error.message);
    // A model it serves is still counted, by its provider:model name or its alias.
    expect((await client.messages.countTokens({ ...body, model: `claude:${CLAUDE_MODEL}` })).input_tokens).toBeGreaterThan(5);
  });

  it('retrieves one model by id in the Anthropic shape', async () => {
    expect(await anthropicClient(main).models.retrieve(`claude:${CLAUDE_MODEL}`)).toMatchObject({ type: 'model', id: `claude:${CLAUDE_MODEL}` });
    const missing = await anthropicClient(main).models.retrieve('nothing').catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    // In Anthropic's error envelope, as every answer to this client: not OpenAI's.
    expect((missing as InstanceType<typeof Anthropic.NotFoundError>).error).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: expect.stringContaining('no model "nothing" here') },
    });
    const unauthorised = await anthropicClient(main, 'wrong-token').models.list().catch((caught: unknown) => caught);
    expect(unauthorised).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((unauthorised as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    // An OpenAI client on the same routes keeps OpenAI's envelope.
    const openAIMissing = await openAIClient(main).models.retrieve('nothing').catch((caught: unknown) => caught);
    expect((openAIMissing as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ type: 'not_found_error', code: 'model_not_found' });
  });

  it('talks to the Anthropic-wire provider too', async () => {
    const message = await anthropicClient(main).messages.create({
      model: `claude:${CLAUDE_MODEL}`,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });
});

describe('raw HTTP', () => {
  it('requires a token everywhere but /healthz', async () => {
    const health = await fetch(`${main.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', inFlight: 0 });
    for (const path of ['/v1/models', '/metrics', '/v1/chat/completions', '/nowhere']) {
      const response = await fetch(`${main.url}${path}`);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="syndicate"');
      expect(await response.json()).toEqual({
        error: { message: expect.stringContaining('missing gateway token'), type: 'authentication_error', param: null, code: 'token_missing' },
      });
    }
  });

  it('ends a stream that breaks after bytes were sent with an error frame, never [DONE]', async () => {
    forgetFailures();
    failingOllama.setFault('reset-mid-stream', 1);
    const response = await fetch(`${failing.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `ollama:${OLLAMA_MODEL}`, stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const frames = text.split('\n\n').filter((frame) => frame !== '');
    expect(frames.some((frame) => frame.includes('"content"'))).toBe(true);
    expect(text).not.toContain('[DONE]');
    const last = JSON.parse((frames.at(-1) as string).replace(/^data: /, '')) as { error: { type: string; code: string } };
    expect(last.error).toMatchObject({ type: 'upstream_error', code: 'stream_broken' });
    await failing.settled();
    const failed = listEvidence(failing.store, { limit: 1 })[0];
    expect(failed).toMatchObject({ state: 'failed', markers: expect.arrayContaining(['partial_response']) });
  });

  it('ends a broken Anthropic stream with event: error, never message_stop', async () => {
    forgetFailures();
    failingOllama.setFault('reset-mid-stream', 1);
    const response = await fetch(`${failing.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_TOKEN, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: `ollama:${OLLAMA_MODEL}`, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
    const text = await response.text();
    expect(text).toContain('event: content_block_delta');
    expect(text).not.toContain('message_stop');
    expect(text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
  });

  it('records a client that leaves mid-stream as cancelled by the caller, not as an upstream failure, with its first-token time', async () => {
    forgetFailures();
    failingOllama.setFault({ slowStreamMs: 150 }, 1);
    const controller = new AbortController();
    const response = await fetch(`${failing.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    expect((await reader?.read())?.value?.byteLength).toBeGreaterThan(0);
    controller.abort();
    const evidenceId = response.headers.get('x-syndicate-evidence') ?? '';
    await vi.waitFor(() => expect(getEvidence(failing.store, evidenceId)?.state).toBe('failed'), { timeout: 20_000 });
    await failing.settled();
    const record = getEvidence(failing.store, evidenceId);
    expect(record?.markers).toEqual(['partial_response']);
    expect(record?.error).toMatchObject({ code: 'interrupted' });
    expect(record?.firstTokenMs).toBeGreaterThan(0);
    expect(record?.verbatimCapture).toBe('partial');
    forgetFailures();
  });

  it('refuses a body over the limit with 413 in the route family envelope', async () => {
    const small = await startTestGateway({ providers: [ollamaProvider(ollama)], bodyLimitBytes: 1024 });
    try {
      const response = await fetch(`${small.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': TEST_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(2000) }] }),
      });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        type: 'error',
        error: {
          type: 'request_too_large',
          message: "the request body exceeds the gateway's limit of 1024 bytes: send fewer or smaller images and files, or leave the oldest turns out of the conversation",
        },
      });
    } finally {
      await small.close();
    }
  });

  it('takes a request as large as the Messages API takes (an agent session with ~16 MiB of screenshots); refuses one over its 32 MiB with 413', async () => {
    const vision = await startTestGateway({ providers: [{ ...ollamaProvider(ollama), models: [{ id: OLLAMA_MODEL, tags: ['vision'] }] }] });
    try {
      // A real PNG with 3 MiB after its end (decoders stop at IEND): four of them, ~16.8 MB of JSON.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      const screenshot = Buffer.concat([png, Buffer.alloc(3 * 1024 * 1024, 7)]).toString('base64');
      const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: screenshot } };
      const message = await anthropicClient(vision).messages.create({
        model: 'auto',
        max_tokens: 64,
        messages: [{ role: 'user', content: [image, image, image, image, { type: 'text', text: 'What changed between these screenshots?' }] }],
      });
      expect(message.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);

      const tooLarge = await anthropicClient(vision)
        .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: [image, image, image, image, image, image, image, image, image, image, image] }] })
        .catch((caught: unknown) => caught);
      expect(tooLarge).toBeInstanceOf(Anthropic.APIError);
      expect((tooLarge as InstanceType<typeof Anthropic.APIError>).status).toBe(413);
      expect((tooLarge as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'request_too_large', message: expect.stringContaining('33554432 bytes') } });
    } finally {
      await vision.close();
    }
  });

  it('answers 404 and 405 in the OpenAI envelope', async () => {
    const headers = { authorization: `Bearer ${TEST_TOKEN}` };
    const missing = await fetch(`${main.url}/v1/audio/speech`, { method: 'POST', headers, body: '{}' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
    const wrongMethod = await fetch(`${main.url}/v1/chat/completions`, { headers });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    const postHealth = await fetch(`${main.url}/healthz`, { method: 'POST' });
    expect(postHealth.status).toBe(405);
    expect(postHealth.headers.get('allow')).toBe('GET, HEAD');
    // HEAD answers like GET, without a body (load balancers' health checks, `curl -I`).
    const head = await fetch(`${main.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(await head.text()).toBe('');
    expect((await fetch(`${main.url}/v1/models`, { method: 'HEAD' })).status).toBe(401);
    expect((await fetch(`${main.url}/v1/models`, { method: 'HEAD', headers })).status).toBe(200);
    // A model id is the rest of the path, percent-decoded; none at all is the list; a malformed one is refused plainly.
    expect((await fetch(`${main.url}/v1/models/ollama%3A${OLLAMA_MODEL}`, { headers })).status).toBe(200);
    const trailingSlash = await fetch(`${main.url}/v1/models/`, { headers });
    expect(trailingSlash.status).toBe(200);
    expect(((await trailingSlash.json()) as { data: { id: string }[] }).data.map((model) => model.id)).toEqual(['auto', `claude:${CLAUDE_MODEL}`, `ollama:${OLLAMA_MODEL}`, 'small']);
    expect((await fetch(`${main.url}/v1/models/`, { method: 'HEAD', headers })).status).toBe(200);
    const malformed = await fetch(`${main.url}/v1/models/%E0%A4%A`, { headers });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('invalid_model_id');
  });

  it('names only header-safe ignored fields and counts the rest', async () => {
    // Pinned, not `auto`: which model answers `auto` depends on the latencies earlier tests left behind.
    const body = JSON.stringify({ model: `claude:${CLAUDE_MODEL}`, messages: [{ role: 'user', content: 'What is the capital of France?' }], 'evil\r\nx-injected: 1': true, seed: 1, user: 'u' });
    const response = await fetch(`${main.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body });
    expect(response.status).toBe(200);
    // `seed` too: the anthropic wire has none.
    expect(response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('seed, user, 1 more');
    expect(response.headers.get('x-injected')).toBeNull();
  });

  it('rejects a malformed hint header with 400 naming it', async () => {
    const response = await fetch(`${main.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'x-syndicate-sensitivity': 'secret' },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string; code: string } }).error).toMatchObject({ param: 'x-syndicate-sensitivity', code: 'invalid_header' });
  });

  it('reads a hint header sent twice: the same value is that value, two levels the higher one, two workflows or sessions a 400', async () => {
    /** POSTs with the given header lines, repeated names sent as separate lines (node:http, as a proxy adding its own would). */
    const post = (headers: Record<string, string | string[]>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
        const outgoing = httpRequest(`${main.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers } }, (incoming) => {
          let text = '';
          incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: text }));
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    const repeated = await post({ 'x-syndicate-sensitivity': ['confidential', 'Confidential'], 'x-syndicate-workflow': ['batch', 'batch'], 'x-syndicate-session': ['sess-twice', 'sess-twice'] });
    expect(repeated.status, repeated.body).toBe(200);
    expect(repeated.headers['x-syndicate-sensitivity']).toBe('confidential');
    expect(repeated.headers['x-syndicate-provider']).toBe('ollama');
    await main.settled();
    expect(getEvidence(main.store, String(repeated.headers['x-syndicate-evidence']))?.sessionId).toBe('sess-twice');
    // Never lowered: whichever order they come in, the higher level holds.
    for (const levels of [['public', 'restricted'], ['restricted', 'public']]) {
      const raised = await post({ 'x-syndicate-sensitivity': levels });
      expect(raised.status, raised.body).toBe(200);
      expect(raised.headers['x-syndicate-sensitivity']).toBe('restricted');
      expect(raised.headers['x-syndicate-provider']).toBe('ollama');
    }
    const invalid = await post({ 'x-syndicate-sensitivity': ['confidential', 'secret'] });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({ error: { param: 'x-syndicate-sensitivity', message: expect.stringContaining('(got "secret")') } });
    for (const [name, values] of [['x-syndicate-workflow', ['batch', 'interactive']], ['x-syndicate-session', ['sess-a', 'sess-b']]] as const) {
      const conflicting = await post({ [name]: [...values] });
      expect(conflicting.status, name).toBe(400);
      expect(JSON.parse(conflicting.body), name).toMatchObject({ error: { param: name, code: 'invalid_header', message: expect.stringContaining('was sent with different values') } });
    }
  });

  it("groups a coding agent's requests by its own session header (Claude Code's, Codex's) unless x-syndicate-session names one", async () => {
    const sessionOf = async (headers: Record<string, string>): Promise<string | null | undefined> => {
      const { response } = await anthropicClient(main)
        .messages.create({ model: `ollama:${OLLAMA_MODEL}`, max_tokens: 32, messages: [{ role: 'user', content: 'What is the capital of France?' }] }, { headers })
        .withResponse();
      await main.settled();
      return getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '')?.sessionId;
    };
    expect(await sessionOf({ 'x-claude-code-session-id': '6f1d2c3a-0b7e-4c1e-9a55-2f8e1b7c9d10' })).toBe('6f1d2c3a-0b7e-4c1e-9a55-2f8e1b7c9d10');
    expect(await sessionOf({ 'session-id': 'codex-0199a1b2' })).toBe('codex-0199a1b2');
    expect(await sessionOf({ 'x-claude-code-session-id': 'agent-own', 'x-syndicate-session': 'operator-chosen' })).toBe('operator-chosen');
    // Not our header: a value that is no valid session id is ignored, not refused.
    expect(await sessionOf({ 'x-claude-code-session-id': 'has spaces and / slashes' })).toBeNull();
  });

  it('honours the sensitivity hint: a harmless prompt marked confidential never goes hosted', async () => {
    const response = await fetch(`${hostedOnly.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'x-syndicate-sensitivity': 'confidential', 'x-syndicate-session': 'sess-1' },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('confidential');
  });
});

describe('/metrics', () => {
  const completed = `syndicate_gateway_requests_total{api="openai",class="local",provider="ollama",model="${OLLAMA_MODEL}",sensitivity="public",outcome="completed"}`;

  it('parses as Prometheus text and its counters move', async () => {
    const scrape = async (gateway: TestGateway): Promise<Map<string, number>> => {
      const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return parsePrometheusText(await response.text());
    };
    // Not the gateway's first request, whatever test ran before: that one pays one-time costs (0.6-1.5 s before upstream on this VM).
    await openAIClient(main).chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'hi' }] });
    const before = await scrape(main);
    const askedAt = performance.now();
    await openAIClient(main).chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, messages: [{ role: 'user', content: 'hi' }] });
    const answeredInSeconds = (performance.now() - askedAt) / 1000;
    const after = await scrape(main);
    expect(after.get(completed)).toBe((before.get(completed) ?? 0) + 1);
    const histogramCount = `syndicate_gateway_total_seconds_count{api="openai",class="local",provider="ollama",model="${OLLAMA_MODEL}"}`;
    expect(after.get(histogramCount)).toBe((before.get(histogramCount) ?? 0) + 1);
    // The gateway's own time before the engine saw the request: counted once, more than nothing, and
    // (in seconds, not milliseconds) within the time the client waited for the whole answer, not
    // under a fixed bound a loaded machine may pass.
    const added = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(added('syndicate_gateway_before_upstream_seconds_count{api="openai",class="local"}')).toBe(1);
    const beforeUpstream = added('syndicate_gateway_before_upstream_seconds_sum{api="openai",class="local"}');
    expect(beforeUpstream).toBeGreaterThan(0);
    expect(beforeUpstream).toBeLessThan(answeredInSeconds);
    const inputTokens = `syndicate_gateway_tokens_total{class="local",provider="ollama",model="${OLLAMA_MODEL}",direction="input"}`;
    expect(after.get(inputTokens)).toBeGreaterThan(before.get(inputTokens) ?? 0);

    const denials = 'syndicate_gateway_denials_total{api="openai",reason="route_denied"}';
    const deniedBefore = (await scrape(hostedOnly)).get(denials) ?? 0;
    await openAIClient(hostedOnly)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .catch(() => undefined);
    // The refused request is counted under the level that refused it: what an alert on
    // restricted data reaching a hosted class (which must stay 0) is written against.
    const refused = 'syndicate_gateway_requests_total{api="openai",class="",provider="",model="",sensitivity="restricted",outcome="route_denied"}';
    const refusedBefore = (await scrape(hostedOnly)).get(refused) ?? 0;
    await openAIClient(hostedOnly)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: SECRET_PROMPT }] })
      .catch(() => undefined);
    const afterRefusals = await scrape(hostedOnly);
    expect(afterRefusals.get(denials)).toBe(deniedBefore + 2);
    expect(afterRefusals.get(refused)).toBe(refusedBefore + 1);
  });
});

describe('an engine that sends no usage (LM Studio streams before 0.3.18)', () => {
  let studio: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    studio = await startFakeEngine({ kind: 'lmstudio', lmStudioVersion: '0.3.17' });
    gateway = await startTestGateway({
      providers: [{ id: 'studio', class: 'local', wire: 'openai', baseUrl: studio.baseUrl, engine: 'lmstudio', models: [{ id: 'qwen2.5-7b-instruct', tags: ['tools'] }] }],
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await studio?.close();
  });

  it('counts the input locally over what the model read: earlier tool calls and tool definitions too', async () => {
    const client = openAIClient(gateway);
    const userOnly = 'Save the report.';
    const stream = await client.chat.completions.create({
      model: 'studio:qwen2.5-7b-instruct',
      stream: true,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: userOnly },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'write_file', arguments: JSON.stringify({ content: 'quarterly revenue grew '.repeat(200) }) } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'written' },
      ],
    });
    let answer = '';
    for await (const chunk of stream) answer += chunk.choices[0]?.delta.content ?? '';
    expect(answer).toBe(DEFAULT_ANSWER);
    // The row is finished after the last byte reached the client (counting, then the group commit).
    const newest = await vi.waitFor(
      () => {
        const row = listEvidence(gateway.store, { limit: 1 })[0]!;
        expect(row.state).toBe('completed');
        return row;
      },
      { timeout: 20_000, interval: 20 },
    );
    expect(newest).toMatchObject({ provider: { id: 'studio' }, tokenAccounting: 'approximate' });
    // The user's and tool's text alone is a dozen tokens; the 200-fold tool argument is ~600 more.
    expect(newest.inputTokens).toBeGreaterThan(600);
    expect(newest.outputTokens).toBeGreaterThan(0);
  });
});

describe('a max_tokens larger than the context window leaves (Claude Code sends 32k–64k)', () => {
  let engine: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    engine = await startFakeEngine({ kind: 'vllm', models: [{ id: 'm1', contextWindow: 32_768 }] });
    gateway = await startTestGateway({ providers: [{ id: 'fakeoai', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'vllm', models: [{ id: 'm1' }] }] });
  });

  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  const lastSent = (): Record<string, unknown> =>
    JSON.parse(engine.exchanges.filter((exchange) => exchange.path === '/v1/chat/completions').at(-1)?.requestBody.toString('utf8') ?? '{}') as Record<string, unknown>;

  it('is answered by the 32 768-token model, which is sent max_tokens lowered to what its window leaves; evidence and route say so', async () => {
    const { data: message, response } = await anthropicClient(gateway)
      // Not streamed, so the SDK wants a timeout for a max_tokens this large.
      .messages.create({ model: 'fakeoai:m1', max_tokens: 40_000, messages: [{ role: 'user', content: 'hi' }] }, { timeout: 30_000 })
      .withResponse();
    expect(message.content[0]).toMatchObject({ type: 'text', text: DEFAULT_ANSWER });
    // 32 768 - the prompt estimate (2: one cl100k token + 10 %) - the chat template allowance (136).
    expect(lastSent()['max_tokens']).toBe(32_630);
    await gateway.settled();
    const evidence = getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.warnings).toContainEqual({
      setting: 'maxTokens',
      message: 'lowered from 40000 to 32630: the context window of fakeoai:m1 (32768 tokens) holds the prompt but not the requested output',
      fields: [{ setting: 'maxTokens', effect: 'changed' }],
    });
    expect(response.headers.get('x-syndicate-changed-fields')).toBe('max_tokens');
    expect(JSON.stringify(evidence?.route)).toContain('max output lowered from 40000 to 32630 tokens');
    expect(JSON.parse(evidence?.request.body?.toString('utf8') ?? '{}')).toMatchObject({ max_tokens: 32_630 });
  });

  it('streams an answer to a 1 100-token prompt with max_tokens 32 000 through auto', async () => {
    const prompt = 'Summarise the notes from the weekly planning meeting. '.repeat(110);
    const stream = anthropicClient(gateway).messages.stream({ model: 'auto', max_tokens: 32_000, messages: [{ role: 'user', content: prompt }] });
    expect(await stream.finalText()).toBe(DEFAULT_ANSWER);
    // The window less ~1 100 tokens (+10 %) of prompt and the allowance: lowered, though by little.
    const sent = lastSent()['max_tokens'] as number;
    expect(sent).toBeLessThan(32_000);
    expect(sent).toBeGreaterThan(32_768 - 1_500 - 136);
  });
});

describe('an engine that ends its streams without [DONE] / message_stop', () => {
  // ik_llama.cpp without --send-done, older text-generation-webui: the finish reason and usage come,
  // then the response body ends cleanly. The answer is whole; only the terminal marker is missing.
  let quiet: FakeEngine;
  let gateway: TestGateway;
  beforeAll(async () => {
    quiet = await startFakeEngine({ kind: 'ollama' });
    gateway = await startTestGateway({ providers: [ollamaProvider(quiet)] });
  });
  afterAll(async () => {
    await gateway?.close();
    await quiet?.close();
  });

  /** The attempt's evidence once its finish is committed. */
  const evidenceOf = async (evidenceId: string | null) =>
    vi.waitFor(() => {
      const record = getEvidence(gateway.store, evidenceId ?? '');
      expect(record?.state).not.toBe('pending');
      return record;
    }, { timeout: 20_000, interval: 20 });

  it('is a complete answer for every client API, recorded as completed with terminal_marker_missing; the engine stays up', async () => {
    quiet.setFault('omit-terminal-marker');
    const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `ollama:${OLLAMA_MODEL}`, stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
    const text = await chat.text();
    expect(quiet.exchanges.at(-1)?.responseBody.toString()).not.toContain('[DONE]');
    const frames = text.trimEnd().split('\n\n');
    expect(frames.at(-1)).toBe('data: [DONE]');
    expect(text).not.toContain('"error"');
    expect(frames.some((frame) => frame.includes('"finish_reason":"stop"'))).toBe(true);
    const record = await evidenceOf(chat.headers.get('x-syndicate-evidence'));
    expect(record).toMatchObject({ state: 'completed', markers: ['terminal_marker_missing'], verbatimCapture: 'full', tokenAccounting: 'exact', error: null });
    expect(record?.response.body?.equals(quiet.exchanges.at(-1)!.responseBody)).toBe(true);
    // The missing marker is the deviation a probe reports for it, recorded with this evidence.
    await gateway.settled();
    expect(listDiscoveries(gateway.store, 'ollama')).toEqual([expect.objectContaining({ deviation: 'partial_streaming_reliability', source: 'invocation', evidenceId: record?.id })]);

    const streamed = await openAIClient(gateway).chat.completions.create({ model: `ollama:${OLLAMA_MODEL}`, stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    let content = '';
    for await (const chunk of streamed) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe(DEFAULT_ANSWER);

    const message = await anthropicClient(gateway).messages.stream({ model: `ollama:${OLLAMA_MODEL}`, max_tokens: 64, messages: [{ role: 'user', content: 'What is the capital of France?' }] }).finalMessage();
    expect(message).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: DEFAULT_ANSWER }] });

    const response = await openAIClient(gateway).responses.stream({ model: `ollama:${OLLAMA_MODEL}`, input: 'What is the capital of France?' }).finalResponse();
    expect(response).toMatchObject({ status: 'completed', output_text: DEFAULT_ANSWER });

    // Four answers in a row: an engine marked down would have been refused (503) from the second on.
    await gateway.settled();
    const rows = listEvidence(gateway.store, { limit: 4 });
    expect(rows.map((row) => [row.state, row.markers])).toEqual(Array.from({ length: 4 }, () => ['completed', ['terminal_marker_missing']]));
  });

  it('still fails a stream that ends cleanly before any finish reason (cut short): an error frame, never [DONE]', async () => {
    gateway.pipeline.health = new HealthMonitor();
    quiet.setFault('truncate-stream', 1);
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `ollama:${OLLAMA_MODEL}`, stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
    const text = await response.text();
    expect(text).not.toContain('data: [DONE]');
    const last = JSON.parse((text.trimEnd().split('\n\n').at(-1) ?? '').replace(/^data: /, '')) as { error: { code: string } };
    expect(last.error.code).toBe('stream_broken');
    const record = await evidenceOf(response.headers.get('x-syndicate-evidence'));
    expect(record).toMatchObject({ state: 'failed', markers: expect.arrayContaining(['upstream_error', 'partial_response']) });
    expect(record?.markers).not.toContain('terminal_marker_missing');
    expect(record?.error).toMatchObject({ message: expect.stringContaining('or a finish reason') });
    gateway.pipeline.health = new HealthMonitor();
  });
});

describe('a hosted provider that rate-limits or lacks one model: that provider:model is held back alone', () => {
  const OPUS = 'claude-opus-4-1-20250805';
  const HAIKU = 'claude-haiku-4-5-20251001';
  /** Registered, but the provider answers 404 `model: …` for it (retired upstream). */
  const RETIRED = 'claude-3-opus-20240229';
  const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];
  const price = { inputPerMTok: 3, outputPerMTok: 15 };
  let anthropicApi: FakeEngine;
  let local: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    [anthropicApi, local] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }, { id: HAIKU }] }), startFakeEngine({ kind: 'ollama' })]);
    gateway = await startTestGateway({
      providers: [
        // `smart` is served by the hosted opus first (the policy prefers hosted), else by the local engine.
        { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: anthropicApi.baseUrl, auth: true, models: [
            { id: OPUS, aliases: ['smart'], price },
            { id: HAIKU, price },
            { id: RETIRED, aliases: ['classic'], price },
          ],
        },
        { id: 'ollama', class: 'local', wire: 'openai', baseUrl: local.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, aliases: ['smart', 'classic'] }] },
      ],
      policy: testPolicy({ workflows: { interactive: { prefer: ['hosted'], latencyBudget: {} }, batch: { prefer: ['hosted'], latencyBudget: {} } } }),
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([anthropicApi?.close(), local?.close()]);
  });

  /** The models the hosted fake was asked for, in order. */
  const hostedCalls = (): string[] =>
    anthropicApi.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => (JSON.parse(exchange.requestBody.toString('utf8')) as { model: string }).model);

  it('a 429 for one model: its request falls back, the provider’s other model is still called, the held one is skipped, and pinned to it the caller gets 429 naming it', async () => {
    // The hold on a clock that stands still: the seconds left it reports are the 30 asked however
    // long a loaded machine takes between the requests (on the wall clock, two seconds made it 28).
    const clock = Date.now();
    gateway.pipeline.health = new HealthMonitor({ now: () => clock });
    // The calls of this test only: the other one's may have come first.
    const before = hostedCalls().length;
    anthropicApi.setFault({ status: 429, headers: { 'retry-after': '30' } }, 1, { model: OPUS });

    // 1. opus answers 429; the request falls back to the local engine. Both attempts are on the chain.
    const first = await openAIClient(gateway).chat.completions.create({ model: 'smart', messages: question }).withResponse();
    expect(first.data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(first.response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(hostedCalls().slice(before)).toEqual([OPUS]);
    await gateway.settled();
    const [answered, limited] = listEvidence(gateway.store, { limit: 2 });
    expect(limited).toMatchObject({ state: 'failed', provider: { id: 'claude' }, model: OPUS, markers: expect.arrayContaining(['rate_limited']), error: { message: expect.stringContaining('claude answered HTTP 429') } });
    expect(answered).toMatchObject({ state: 'completed', provider: { id: 'ollama' }, model: OLLAMA_MODEL, markers: expect.arrayContaining(['fallback']) });
    expect(answered?.requestId).toBe(limited?.requestId);

    // 2. The provider's other model is not held back: it is called and answers (per provider, this was a 429).
    const haiku = await anthropicClient(gateway).messages.create({ model: `claude:${HAIKU}`, max_tokens: 64, messages: question }).withResponse();
    expect(haiku.data.content).toEqual([expect.objectContaining({ type: 'text', text: DEFAULT_ANSWER })]);
    expect(haiku.response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(hostedCalls().slice(before)).toEqual([OPUS, HAIKU]);

    // 3. The held model is not called again: its next request goes straight to the local engine, and its route says why.
    const again = await openAIClient(gateway).chat.completions.create({ model: 'smart', messages: question }).withResponse();
    expect(again.response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(hostedCalls().slice(before)).toEqual([OPUS, HAIKU]);
    await gateway.settled();
    const direct = getEvidence(gateway.store, again.response.headers.get('x-syndicate-evidence') ?? '');
    expect(direct?.markers).not.toContain('fallback');
    const excluded = (direct?.route as { excluded: { provider: string; model: string; reasons: string[] }[] }).excluded;
    expect(excluded).toEqual([
      expect.objectContaining({
        provider: 'claude',
        model: OPUS,
        rules: ['rate_limited'],
        reasons: [expect.stringMatching(new RegExp(`^model ${OPUS} rate-limited for another 30 s \\(until \\d{4}-.+Z\\), claude's other models stay routable: claude answered HTTP 429`))],
      }),
    ]);

    // 4. Pinned to the held model: 429 (not 503), naming the model and the wait left, in both APIs; nothing sent.
    const pinned = await openAIClient(gateway).chat.completions.create({ model: `claude:${OPUS}`, messages: question }).catch((caught: unknown) => caught);
    expect(pinned).toBeInstanceOf(OpenAI.RateLimitError);
    const pinnedError = pinned as InstanceType<typeof OpenAI.RateLimitError>;
    expect(pinnedError.code).toBe('rate_limited');
    expect(pinnedError.headers.get('retry-after')).toBe('30');
    expect(pinnedError.message).toContain(`claude:${OPUS}: model ${OPUS} rate-limited for another`);
    const pinnedAnthropic = await anthropicClient(gateway).messages.create({ model: `claude:${OPUS}`, max_tokens: 64, messages: question }).catch((caught: unknown) => caught);
    expect(pinnedAnthropic).toBeInstanceOf(Anthropic.RateLimitError);
    expect((pinnedAnthropic as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('30');
    expect(hostedCalls().slice(before)).toEqual([OPUS, HAIKU]);
    gateway.pipeline.health = new HealthMonitor();
  });

  it('a model the provider says does not exist (404 `model: …`): the request falls back instead of failing, the model stays out, the provider’s others do not', async () => {
    // On a clock that stands still, as above: the hold's 30 s are all left whatever the machine's load.
    const clock = Date.now();
    gateway.pipeline.health = new HealthMonitor({ now: () => clock });
    const before = hostedCalls().length;
    const first = await openAIClient(gateway).chat.completions.create({ model: 'classic', messages: question }).withResponse();
    expect(first.response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(hostedCalls().slice(before)).toEqual([RETIRED]);
    await gateway.settled();
    const [, missing] = listEvidence(gateway.store, { limit: 2 });
    expect(missing).toMatchObject({ state: 'failed', model: RETIRED, status: 404, error: { message: `claude answered HTTP 404: model: ${RETIRED}` } });

    const again = await openAIClient(gateway).chat.completions.create({ model: 'classic', messages: question }).withResponse();
    expect(again.response.headers.get('x-syndicate-provider')).toBe('ollama');
    const haiku = await openAIClient(gateway).chat.completions.create({ model: `claude:${HAIKU}`, messages: question }).withResponse();
    expect(haiku.response.headers.get('x-syndicate-provider')).toBe('claude');
    expect(hostedCalls().slice(before)).toEqual([RETIRED, HAIKU]);

    // Pinned to it: unavailable (503), saying the provider does not serve it and when it is tried again.
    const pinned = await openAIClient(gateway).chat.completions.create({ model: `claude:${RETIRED}`, messages: question }).catch((caught: unknown) => caught);
    expect(pinned).toBeInstanceOf(OpenAI.InternalServerError);
    expect((pinned as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect((pinned as InstanceType<typeof OpenAI.InternalServerError>).message).toMatch(
      new RegExp(`claude:${RETIRED} is not served by its provider \\(it answered that the model does not exist\\): fix the model id in the provider record; syndicate tries it again in 30 s`),
    );
    expect(hostedCalls().slice(before)).toEqual([RETIRED, HAIKU]);
    gateway.pipeline.health = new HealthMonitor();
  });
});

describe('an Anthropic model overloaded in the stream (`event: error`, overloaded_error): that model is counted, not its provider', () => {
  const OPUS = 'claude-opus-4-1-20250805';
  const HAIKU = 'claude-haiku-4-5-20251001';
  // What the Messages API streams when the model is overloaded after the response started (its documented error event).
  const OVERLOADED_STREAM =
    `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"${OPUS}","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}\n\n` +
    'event: ping\ndata: {"type": "ping"}\n\n' +
    'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n';
  let anthropicApi: FakeEngine;
  let gateway: TestGateway;

  beforeAll(async () => {
    anthropicApi = await startFakeEngine({ kind: 'anthropic', models: [{ id: OPUS }, { id: HAIKU }], replay: { stream: OVERLOADED_STREAM } });
    gateway = await startTestGateway({
      providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: anthropicApi.baseUrl, auth: true, models: [{ id: OPUS, price: { inputPerMTok: 15, outputPerMTok: 75 } }, { id: HAIKU, price: { inputPerMTok: 1, outputPerMTok: 5 } }] }],
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await anthropicApi?.close();
  });

  const streamed = (model: string): Promise<Response> =>
    fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_TOKEN, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
    });
  const posts = (): number => anthropicApi.exchanges.filter((exchange) => exchange.method === 'POST').length;

  it('three in a row take opus out; haiku, non-streamed, still answers (3 provider failures in a row would have taken claude out)', async () => {
    for (let call = 0; call < 3; call += 1) expect((await streamed(`claude:${OPUS}`)).status).toBe(503);
    expect(posts()).toBe(3);
    const held = await streamed(`claude:${OPUS}`);
    expect(held.status).toBe(503);
    expect(await held.text()).toContain(`model ${OPUS} failing, held back for another`);
    expect(posts()).toBe(3);
    const haiku = await anthropicClient(gateway).messages.create({ model: `claude:${HAIKU}`, max_tokens: 64, messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect(haiku.content).toEqual([expect.objectContaining({ type: 'text', text: DEFAULT_ANSWER })]);
    expect(posts()).toBe(4);
  });
});
