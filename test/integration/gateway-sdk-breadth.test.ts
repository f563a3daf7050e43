/**
 * What agent code reaches for beyond the basic calls, with the official `openai` and
 * `@anthropic-ai/sdk` clients against a real gateway over fake engines: their built-in retries,
 * the request ids they log, and fields whose meaning the gateway cannot give (refused with a 400
 * naming the field rather than answered as if they had not been sent).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { loadTokenCounter } from '../../src/evidence/token-counter.js';
import { HealthMonitor } from '../../src/router/health.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { parsePrometheusText, startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const OLLAMA_MODEL = 'llama3.2:latest';
const QUESTION = 'What is the capital of France?';

function ollamaProvider(engine: FakeEngine): TestProvider {
  return { id: 'ollama', class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'ollama', models: [{ id: OLLAMA_MODEL, tags: ['tools'], aliases: ['small'] }] };
}

let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  ollama = await startFakeEngine({ kind: 'ollama' });
  gateway = await startTestGateway({ providers: [ollamaProvider(ollama)] });
});

afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
});

/** Each test starts from a healthy engine the gateway holds nothing against. */
function forgetFailures(): void {
  gateway.pipeline.health = new HealthMonitor();
  ollama.setFault('ok');
}

const openAIClient = (maxRetries = 0): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries });
const anthropicClient = (maxRetries = 0): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries });

describe('the SDKs’ own retries of a 503', () => {
  it('an engine held out after a failed call: the 503 carries Retry-After (the wait its message names), in both APIs', async () => {
    forgetFailures();
    // Nothing answers (reset before any byte, on the fresh connection too): the engine is held out for a while.
    ollama.setFault('reset', 2);
    const openAIError = await openAIClient()
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] })
      .catch((caught: unknown) => caught);
    expect(openAIError).toBeInstanceOf(OpenAI.InternalServerError);
    const failure = openAIError as InstanceType<typeof OpenAI.InternalServerError>;
    expect(failure.status).toBe(503);
    const named = /syndicate tries it again in (\d+) s\)$/.exec(failure.message)?.[1];
    expect(named).toBeDefined();
    expect(failure.headers?.get('retry-after')).toBe(named);
    // Held out: this one is refused without a call, and says how long is left.
    const anthropicError = await anthropicClient()
      .messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] })
      .catch((caught: unknown) => caught);
    expect(anthropicError).toBeInstanceOf(Anthropic.InternalServerError);
    const held = anthropicError as InstanceType<typeof Anthropic.InternalServerError>;
    expect(held.status).toBe(503);
    expect(Number(held.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(held.headers?.get('retry-after'))).toBeLessThanOrEqual(Number(named));
    forgetFailures();
  });

  it('an SDK left to retry waits out the hold and is answered, instead of spending its retries while the engine is held out', async () => {
    forgetFailures();
    ollama.setFault('reset', 2);
    const sent = (): number => ollama.exchanges.filter((exchange) => exchange.method === 'POST').length;
    const before = sent();
    // openai-node backs off 0.5 s, then 1 s: both retries would fall inside the hold without Retry-After.
    const completion = await openAIClient(2).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    // The two resets, then the one answered call: no retry was spent on a held engine.
    expect(sent() - before).toBe(3);
    forgetFailures();
    ollama.setFault('reset', 2);
    const message = await anthropicClient(2).messages.create({ model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] });
    expect(message.content[0]).toMatchObject({ type: 'text', text: DEFAULT_ANSWER });
    forgetFailures();
  }, 30_000);
});

describe('an engine answering 503 with Retry-After', () => {
  it('the client’s 503 passes that wait on, and an SDK left to retry waits it and is answered', async () => {
    forgetFailures();
    ollama.setFault({ status: 503, body: 'loading model', headers: { 'retry-after': '2' } }, 1);
    const error = await openAIClient()
      .chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).headers?.get('retry-after')).toBe('2');
    forgetFailures();
    ollama.setFault({ status: 503, body: 'loading model', headers: { 'retry-after': '1' } }, 1);
    const message = await anthropicClient(1).messages.create({ model: 'small', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] });
    expect(message.content[0]).toMatchObject({ type: 'text', text: DEFAULT_ANSWER });
    forgetFailures();
  });
});

describe('request ids the SDKs read', () => {
  it('are the gateway’s request id: `_request_id` of an answer and a stream, `requestID` of an error, in both SDKs', async () => {
    forgetFailures();
    const completion = await openAIClient().chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }] });
    await gateway.settled();
    const answered = listEvidence(gateway.store, { limit: 1 })[0];
    expect(completion._request_id).toBe(answered?.requestId);

    const { request_id: streamRequestId, response } = await openAIClient()
      .chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }], stream: true })
      .withResponse();
    expect(streamRequestId).toBe(response.headers.get('x-syndicate-request'));

    const message = await anthropicClient().messages.create({ model: 'small', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] });
    await gateway.settled();
    expect(message._request_id).toBe(listEvidence(gateway.store, { limit: 1 })[0]?.requestId);

    ollama.setFault({ status: 500 }, 1);
    const error = await anthropicClient()
      .messages.create({ model: 'small', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    await gateway.settled();
    const failed = listEvidence(gateway.store, { limit: 1 })[0];
    expect(failed?.state).toBe('failed');
    expect((error as InstanceType<typeof Anthropic.InternalServerError>).requestID).toBe(failed?.requestId);
    forgetFailures();
  });
});

describe('fields whose answer no provider here gives', () => {
  const weather = { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
  const sent = (): number => ollama.exchanges.filter((exchange) => exchange.method === 'POST').length;

  async function refusal(body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.BadRequestError>> {
    const before = sent();
    const error = await openAIClient()
      .chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }], ...body } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(sent()).toBe(before);
    return error as InstanceType<typeof OpenAI.BadRequestError>;
  }

  it('the deprecated `functions` / `function_call` are refused with 400 naming `tools` (answered, the client would wait for a function_call that never comes); their defaults pass', async () => {
    forgetFailures();
    const functions = await refusal({ functions: [weather] });
    expect(functions.param).toBe('functions');
    expect(functions.message).toContain('send them as `tools`');
    const forced = await refusal({ function_call: { name: 'get_weather' } });
    expect(forced.param).toBe('function_call');
    expect(forced.message).toContain('`tool_choice`');
    const history = await refusal({
      messages: [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { role: 'user', content: 'And tomorrow?' },
      ],
    });
    expect(history.param).toBe('messages[1].function_call');
    const defaults = await openAIClient().chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }], function_call: 'auto', functions: [] });
    expect(defaults.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
  });

  it('audio output (`modalities: ["audio"]`, `audio`) is refused with 400 instead of a text answer without `message.audio`; `modalities: ["text"]` passes', async () => {
    forgetFailures();
    const audio = await refusal({ modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } });
    expect(audio.param).toBe('audio');
    expect(audio.message).toContain('audio output is not supported');
    expect((await refusal({ modalities: ['audio'] })).param).toBe('modalities');
    const text = await openAIClient().chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }], modalities: ['text'] });
    expect(text.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
  });
});

describe('fields sent as null, which the SDK types allow', () => {
  it('ask for nothing, so x-syndicate-ignored-fields does not name them; a field with a value still is', async () => {
    forgetFailures();
    const { data, response } = await openAIClient()
      .chat.completions.create({
        model: 'small',
        messages: [{ role: 'user', content: QUESTION }],
        metadata: null,
        audio: null,
        modalities: null,
        frequency_penalty: null,
        presence_penalty: null,
        logit_bias: null,
        service_tier: null,
        store: null,
        prediction: null,
        user: 'agent-7',
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('user');

    const responses = await openAIClient().responses.create({ model: 'small', input: QUESTION, metadata: null, truncation: null, background: null, user: 'agent-7' }).withResponse();
    expect(responses.data.output_text).toBe(DEFAULT_ANSWER);
    expect(responses.response.headers.get('x-syndicate-ignored-fields')).toBe('user');
  });
});

describe('Anthropic client: MCP servers the provider would call', () => {
  it('`mcp_servers` is refused with 400 before the call, like a server tool, instead of an answer without their tools; an empty list passes', async () => {
    forgetFailures();
    const before = ollama.exchanges.filter((exchange) => exchange.method === 'POST').length;
    const error = await anthropicClient()
      .beta.messages.create({
        model: 'small',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'List my open issues' }],
        mcp_servers: [{ type: 'url', url: 'https://mcp.example.com/sse', name: 'issues' }],
        betas: ['mcp-client-2025-04-04'],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).message).toContain('/mcp_servers: MCP servers are not supported through the gateway');
    expect(ollama.exchanges.filter((exchange) => exchange.method === 'POST').length).toBe(before);
    const answered = await anthropicClient().beta.messages.create({ model: 'small', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }], mcp_servers: [] });
    expect(answered.content[0]).toMatchObject({ type: 'text', text: DEFAULT_ANSWER });
  });
});

describe('a stream the client aborts mid-answer (AbortController)', () => {
  const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
  const LONG_ANSWER = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen';
  const COUNT_PROMPT = 'Count to sixteen in words';
  let slowOllama: FakeEngine;
  let claude: FakeEngine;
  let priced: TestGateway;

  beforeAll(async () => {
    [slowOllama, claude] = await Promise.all([startFakeEngine({ kind: 'ollama', answer: LONG_ANSWER }), startFakeEngine({ kind: 'anthropic', answer: LONG_ANSWER })]);
    priced = await startTestGateway({
      providers: [
        ollamaProvider(slowOllama),
        { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      ],
    });
  });

  afterAll(async () => {
    await priced?.close();
    await Promise.all([slowOllama?.close(), claude?.close()]);
  });

  /** Streams through the OpenAI client and aborts once a few words arrived; the cut attempt's evidence. */
  async function abortAfterAFewWords(engine: FakeEngine, model: string, system?: string): Promise<{ received: string; record: ReturnType<typeof getEvidence> }> {
    engine.setFault({ slowStreamMs: 60 });
    const controller = new AbortController();
    const { data: stream, response } = await new OpenAI({ baseURL: `${priced.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 })
      .chat.completions.create(
        { model, messages: [...(system === undefined ? [] : [{ role: 'system' as const, content: system }]), { role: 'user', content: COUNT_PROMPT }], stream: true },
        { signal: controller.signal },
      )
      .withResponse();
    let received = '';
    // openai-node ends the iteration quietly once its signal aborts.
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.split(' ').length > 3) controller.abort();
    }
    const evidenceId = response.headers.get('x-syndicate-evidence') ?? '';
    await vi.waitFor(() => expect(getEvidence(priced.store, evidenceId)?.state).toBe('failed'), { timeout: 10_000 });
    await priced.settled();
    engine.setFault('ok');
    return { received, record: getEvidence(priced.store, evidenceId) };
  }

  it('records the tokens streamed up to the cut and, for a priced model, their cost (in the evidence and /metrics): the daily ceiling counts what was billed', async () => {
    const hosted = await abortAfterAFewWords(claude, `claude:${CLAUDE_MODEL}`);
    expect(hosted.received.length).toBeLessThan(LONG_ANSWER.length);
    expect(hosted.record).toMatchObject({ state: 'failed', error: { code: 'interrupted' }, markers: ['partial_response'], tokenAccounting: 'approximate' });
    // The input as the provider counted it in message_start, the output as far as it was streamed.
    expect(hosted.record?.inputTokens).toBeGreaterThan(0);
    expect(hosted.record?.outputTokens).toBeGreaterThanOrEqual(4);
    expect(hosted.record?.outputTokens).toBeLessThan(16);
    expect(hosted.record?.costUsd).toBeGreaterThan(0);
    // /metrics counts them as the evidence does.
    const metrics = parsePrometheusText(await (await fetch(`${priced.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text());
    expect(metrics.get(`syndicate_gateway_spend_usd_total{provider="claude",model="${CLAUDE_MODEL}"}`)).toBeCloseTo(hosted.record?.costUsd ?? 0, 9);
    expect(metrics.get(`syndicate_gateway_tokens_total{class="approved_hosted",provider="claude",model="${CLAUDE_MODEL}",direction="output"}`)).toBe(hosted.record?.outputTokens);

    const system = 'You are a patient teacher who answers in lowercase English words, one per line.';
    const local = await abortAfterAFewWords(slowOllama, 'small', system);
    expect(local.record).toMatchObject({ state: 'failed', error: { code: 'interrupted' }, tokenAccounting: 'approximate' });
    // Ollama reported nothing before the cut: the input is counted here, the system prompt with the user's text.
    const count = await loadTokenCounter();
    expect(local.record?.inputTokens).toBe(count(system) + 1 + count(COUNT_PROMPT));
    expect(local.record?.outputTokens).toBeGreaterThanOrEqual(4);
    expect(local.record?.outputTokens).toBeLessThan(16);
  });
});

describe('a stream cut after the model started but before any text', () => {
  const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
  // The Messages API's first events (the input counted in message_start, cache reads and writes
  // included), then the connection ends: no text, no message_stop.
  const CUT_STREAM =
    `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_cut","type":"message","role":"assistant","content":[],"model":"${CLAUDE_MODEL}","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1200,"cache_read_input_tokens":800,"output_tokens":1}}}\n\n` +
    'event: ping\ndata: {"type": "ping"}\n\n';
  const price = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 };
  let claude: FakeEngine;
  let cutGateway: TestGateway;

  beforeAll(async () => {
    claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: CLAUDE_MODEL }], replay: { stream: CUT_STREAM } });
    cutGateway = await startTestGateway({
      providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, price }] }],
    });
  });

  afterAll(async () => {
    await cutGateway?.close();
    await claude?.close();
  });

  it('records the input the provider counted in message_start and its cost (billed: the model read the prompt), no output, tokenAccounting approximate', async () => {
    const client = new Anthropic({ baseURL: cutGateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const error = await (async () => {
      const stream = await client.messages.create({ model: `claude:${CLAUDE_MODEL}`, max_tokens: 64, stream: true, messages: [{ role: 'user', content: QUESTION }] });
      for await (const event of stream) expect(event.type).not.toBe('content_block_delta');
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    await cutGateway.settled();
    const [cut] = listEvidence(cutGateway.store, { limit: 1 });
    const record = getEvidence(cutGateway.store, cut?.id ?? '');
    expect(record).toMatchObject({ state: 'failed', error: { code: 'upstream_truncated_stream' }, tokenAccounting: 'approximate', inputTokens: 2000, outputTokens: 0 });
    // 1,200 fresh input tokens at $3/MTok and 800 read from the cache at $0.30/MTok.
    expect(record?.costUsd).toBeCloseTo((1200 * 3 + 800 * 0.3) / 1_000_000, 12);
  });
});

describe('stored chat completions (`store: true`)', () => {
  it('retrieve, delete and messages.list get 404 saying the gateway keeps none, not "no route"', async () => {
    forgetFailures();
    const client = openAIClient();
    const stored = await client.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: QUESTION }], store: true });
    for (const call of [() => client.chat.completions.retrieve(stored.id), () => client.chat.completions.delete(stored.id), () => client.chat.completions.messages.list(stored.id)]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).message).toContain('the gateway keeps no chat completions (`store` is ignored');
    }
  });
});
