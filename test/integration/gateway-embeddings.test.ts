/**
 * `POST /v1/embeddings` through a real gateway (core + node:http adapter on 127.0.0.1:0) over the
 * real pipeline, driven by the official `openai` client — which asks for base64 unless told
 * otherwise, and decodes it itself — against fake Ollama, llama.cpp and OpenAI engines that speak
 * their real embeddings wire (Ollama answering floats whatever was asked, llama-server's captured
 * 501 without `--embeddings`).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence, verifyChain } from '../../src/evidence/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { fakeVector } from '../helpers/fake-engines/embeddings.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { gatewayRequests, scrapeMetrics, startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const OLLAMA_CHAT = 'llama3.2:latest';
const OLLAMA_EMBED = 'nomic-embed-text:latest';
const LLAMA_EMBED = 'nomic-embed-text-v1.5.Q8_0.gguf';
const HOSTED_EMBED = 'text-embedding-3-small';
const DIMENSIONS = 8;

const PUBLIC_TEXT = 'The quick brown fox jumps over the lazy dog.';
/** A connection string with its password: restricted, so it may only be embedded on this host. */
const SECRET_TEXT = 'Our orders live in postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders';

function ollamaProvider(engine: FakeEngine, options: { embedding: boolean } = { embedding: true }): TestProvider {
  return {
    id: 'ollama',
    class: 'local',
    wire: 'openai',
    baseUrl: engine.baseUrl,
    engine: 'ollama',
    models: [{ id: OLLAMA_CHAT }, ...(options.embedding ? [{ id: OLLAMA_EMBED, kind: 'embedding' as const, priority: 5 }] : [])],
  };
}

function llamaProvider(engine: FakeEngine, id = 'llama', priority = 1): TestProvider {
  return { id, class: 'local', wire: 'openai', baseUrl: engine.baseUrl, engine: 'llama.cpp', models: [{ id: LLAMA_EMBED, kind: 'embedding', priority }] };
}

function hostedProvider(engine: FakeEngine): TestProvider {
  return {
    id: 'openai',
    class: 'approved_hosted',
    wire: 'openai',
    baseUrl: engine.baseUrl,
    auth: true,
    models: [
      { id: 'gpt-4o-mini', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } },
      { id: HOSTED_EMBED, kind: 'embedding', priority: 10, price: { inputPerMTok: 20, outputPerMTok: 0 } },
    ],
  };
}

const client = (gateway: TestGateway): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

/** The vectors as the engine made them (float32), as numbers. */
const expected = (model: string, inputs: (string | number[])[]): number[][] => inputs.map((input) => fakeVector(model, input, DIMENSIONS));
/**
 * A vector as floats, read back to float32: Ollama (Go) writes each float32 as its shortest decimal
 * (`0.2166407`), which JSON reads as a nearby double; the gateway passes the engine's numbers on.
 */
const asFloat32 = (vector: readonly number[] | undefined): number[] | undefined => vector?.map((value) => Math.fround(value));

let ollama: FakeEngine;
let llama: FakeEngine;
let llamaWithoutEmbeddings: FakeEngine;
let hosted: FakeEngine;
let ollamaChatOnly: FakeEngine;
let main: TestGateway;
let noLocalEmbedding: TestGateway;
let fallback: TestGateway;

beforeAll(async () => {
  [ollama, llama, llamaWithoutEmbeddings, hosted, ollamaChatOnly] = await Promise.all([
    startFakeEngine({ kind: 'ollama', models: [{ id: OLLAMA_CHAT }, { id: OLLAMA_EMBED, embedding: true, dimensions: DIMENSIONS }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: LLAMA_EMBED, embedding: true, dimensions: DIMENSIONS }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: LLAMA_EMBED, embedding: true, dimensions: DIMENSIONS }], embeddings: false }),
    startFakeEngine({ kind: 'openai', models: [{ id: 'gpt-4o-mini' }, { id: HOSTED_EMBED, embedding: true, dimensions: DIMENSIONS }] }),
    startFakeEngine({ kind: 'ollama' }),
  ]);
  // Models ranked by their priority alone: the hosted embedding model first whenever the level allows it.
  const byPriority = testPolicy();
  byPriority.workflows = { ...byPriority.workflows, interactive: { prefer: ['priority'], latencyBudget: {} } };
  main = await startTestGateway({ providers: [ollamaProvider(ollama), llamaProvider(llama), hostedProvider(hosted)], policy: byPriority });
  noLocalEmbedding = await startTestGateway({ providers: [ollamaProvider(ollamaChatOnly, { embedding: false }), hostedProvider(hosted)] });
  // llama-server started without --embeddings ranks first; Ollama's embedding model is the fallback.
  fallback = await startTestGateway({ providers: [llamaProvider(llamaWithoutEmbeddings, 'llama-noembed', 9), ollamaProvider(ollama)] });
});

afterAll(async () => {
  await Promise.all([main?.close(), noLocalEmbedding?.close(), fallback?.close()]);
  await Promise.all([ollama?.close(), llama?.close(), llamaWithoutEmbeddings?.close(), hosted?.close(), ollamaChatOnly?.close()]);
});

describe('POST /v1/embeddings with the official openai client', () => {
  it('embeds public text on the hosted provider the policy ranks first, with the SDK default (base64) and with floats', async () => {
    const before = inferenceExchanges(hosted).length;
    const { data: answer, response } = await client(main).embeddings.create({ model: 'auto', input: [PUBLIC_TEXT, 'second document'] }).withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('openai');
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('public');
    expect(answer.model).toBe(`openai:${HOSTED_EMBED}`);
    expect(answer.data.map((item) => item.embedding)).toEqual(expected(HOSTED_EMBED, [PUBLIC_TEXT, 'second document']));
    expect(answer.data.map((item) => item.index)).toEqual([0, 1]);
    expect(answer.usage.prompt_tokens).toBeGreaterThan(0);

    const floats = await client(main).embeddings.create({ model: 'auto', input: PUBLIC_TEXT, encoding_format: 'float' });
    expect(floats.data[0]?.embedding).toEqual(expected(HOSTED_EMBED, [PUBLIC_TEXT])[0]);
    expect(inferenceExchanges(hosted).length - before).toBe(2);
    // The hosted fake saw the documents and the key; syndicate asked it for floats both times.
    const sent = JSON.parse(inferenceExchanges(hosted).at(-1)!.requestBody.toString('utf8')) as Record<string, unknown>;
    expect(sent).toEqual({ model: HOSTED_EMBED, input: [PUBLIC_TEXT], encoding_format: 'float' });
  });

  it('keeps a sensitive document on this host: Ollama answers floats to the SDK\'s base64 default, the gateway encodes them', async () => {
    const hostedBefore = inferenceExchanges(hosted).length;
    const { data: answer, response } = await client(main).embeddings.create({ model: 'auto', input: SECRET_TEXT }).withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(response.headers.get('x-syndicate-model')).toBe(OLLAMA_EMBED);
    // Decoded by the SDK from the gateway's base64: the whole vector, not a quarter of it.
    expect(answer.data[0]?.embedding).toEqual(expected(OLLAMA_EMBED, [SECRET_TEXT])[0]);
    expect(inferenceExchanges(hosted).length).toBe(hostedBefore);

    await main.settled();
    const evidence = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    const exchange = inferenceExchanges(ollama).at(-1)!;
    expect(exchange.path).toBe('/v1/embeddings');
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toEqual({ model: OLLAMA_EMBED, input: [SECRET_TEXT], encoding_format: 'float' });
    // Verbatim: the evidence holds exactly the bytes the engine received and sent.
    expect(evidence?.request.body?.equals(exchange.requestBody)).toBe(true);
    expect(evidence?.response.body?.equals(exchange.responseBody)).toBe(true);
    expect(evidence).toMatchObject({
      state: 'completed',
      caller: 'gateway',
      sensitivity: 'restricted',
      provider: { id: 'ollama', class: 'local' },
      model: OLLAMA_EMBED,
      tokenAccounting: 'exact',
    });
    expect(evidence?.inputTokens).toBeGreaterThan(0);
    expect(evidence?.outputTokens).toBe(0);
    expect(evidence?.request.url).toBe(`${ollama.baseUrl}/embeddings`);
    expect(evidence?.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ setting: 'encoding_format' })]));
    expect(verifyChain(main.store)).toMatchObject({ ok: true });
  });

  it('keeps PDF text whose extraction wrapped a card number or an IBAN across a line on this host', async () => {
    // A RAG tool's chunks of an extracted PDF: the typesetter hyphenated the card number, the IBAN wrapped at a space.
    const chunks = [
      'Refund request. Payment was made with the card 4111 1111 11-\n11 1111 on 3 March; please refund it.',
      'Please transfer the deposit to IBAN DE89 3704 0044\n0532 0130 00 before Friday.',
    ];
    for (const chunk of chunks) {
      const hostedBefore = inferenceExchanges(hosted).length;
      const { data: answer, response } = await client(main).embeddings.create({ model: 'auto', input: [PUBLIC_TEXT, chunk] }).withResponse();
      expect(response.headers.get('x-syndicate-sensitivity'), chunk).toBe('confidential');
      expect(response.headers.get('x-syndicate-provider'), chunk).toBe('ollama');
      expect(answer.data).toHaveLength(2);
      expect(inferenceExchanges(hosted).length, chunk).toBe(hostedBefore);
    }
  });

  it('keeps on this host a card number a chunker cut between two inputs of one batch', async () => {
    const hostedBefore = inferenceExchanges(hosted).length;
    const chunks = [PUBLIC_TEXT, 'Refund request: the payment was made with card 4111 1111', '1111 1111 on 3 March; please refund it.'];
    const { response } = await client(main).embeddings.create({ model: 'auto', input: chunks }).withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('confidential');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(inferenceExchanges(hosted).length).toBe(hostedBefore);
  });

  it('keeps a mail whose base64 attachment holds a key across a line of its encoding on this host', async () => {
    // 57 bytes a line of 76 characters: the key's first 12 characters end the first line.
    const attachment = Buffer.from('Notes from the migration; the staging key is AKIAIOSFODNN7EXAMPLE; rotate it.\n').toString('base64');
    const mail = `Subject: migration notes\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${(attachment.match(/.{1,76}/g) ?? []).join('\n')}\n`;
    const hostedBefore = inferenceExchanges(hosted).length;
    const { response } = await client(main).embeddings.create({ model: 'auto', input: [PUBLIC_TEXT, mail] }).withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(inferenceExchanges(hosted).length).toBe(hostedBefore);
  });

  it('keeps a saved page whose form carries a credential in a hidden field on this host', async () => {
    const page = '<form action="/billing" method="post">\n  <input type="hidden" name="authenticity_token" value="Zm9vYmFyYmF6">\n  <input type="hidden" name="api_key" value="a8f5f167f44f4964e6c998dee827110c">\n</form>';
    const hostedBefore = inferenceExchanges(hosted).length;
    const { data: answer, response } = await client(main).embeddings.create({ model: 'auto', input: [PUBLIC_TEXT, page] }).withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(answer.data).toHaveLength(2);
    expect(inferenceExchanges(hosted).length).toBe(hostedBefore);
  });

  it('refuses a batch over the body limit with 413 saying to split the inputs, not to drop images or turns of a conversation', async () => {
    const small = await startTestGateway({ providers: [ollamaProvider(ollama)], bodyLimitBytes: 1024 });
    try {
      const documents = Array.from({ length: 40 }, (_, index) => `${PUBLIC_TEXT} (${index})`);
      const error = await client(small)
        .embeddings.create({ model: 'auto', input: documents })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(error).toMatchObject({ status: 413, code: 'body_too_large' });
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(/limit of 1024 bytes: split the inputs over several requests/);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).not.toMatch(/turns|images/);
      const completion = await client(small)
        .completions.create({ model: 'auto', prompt: 'x'.repeat(2000) })
        .catch((caught: unknown) => caught);
      expect(completion).toMatchObject({ status: 413, code: 'body_too_large' });
      expect((completion as InstanceType<typeof OpenAI.APIError>).message).toMatch(/limit of 1024 bytes: shorten the prompt/);
    } finally {
      await small.close();
    }
  });

  it('keeps token ids local (they cannot be classified): llama.cpp embeds them, as base64 upstream; Ollama, text only, is left out', async () => {
    const tokens = [
      [9906, 1917],
      [791, 4062, 14198],
    ];
    const { data: answer, response } = await client(main).embeddings.create({ model: 'auto', input: tokens }).withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(response.headers.get('x-syndicate-provider')).toBe('llama');
    expect(answer.data.map((item) => item.embedding)).toEqual(expected(LLAMA_EMBED, tokens));
    const sent = JSON.parse(inferenceExchanges(llama).at(-1)!.requestBody.toString('utf8')) as Record<string, unknown>;
    expect(sent).toEqual({ model: LLAMA_EMBED, input: tokens, encoding_format: 'base64' });
    // llama-server counts token ids as they are: usage from its answer.
    expect(answer.usage.prompt_tokens).toBe(5);

    await main.settled();
    const row = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    const route = row?.route as { excluded?: { provider: string; model: string; reasons: string[] }[] } | undefined;
    expect(route?.excluded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ provider: 'ollama', model: OLLAMA_EMBED, rules: ['token_input'], reasons: ['Ollama embeds text only; this input is token ids'] }),
        expect.objectContaining({ provider: 'ollama', model: OLLAMA_CHAT, rules: ['model_kind'], reasons: ['a chat model: embeddings requests go only to models declared kind: embedding'] }),
      ]),
    );
    expect(route?.excluded?.find((entry) => entry.provider === 'openai' && entry.model === HOSTED_EMBED)?.reasons.join(' ')).toMatch(/class approved_hosted may not receive restricted data/);
  });

  it('raises the level on the x-syndicate-sensitivity hint, as for chat', async () => {
    const { response } = await new OpenAI({ baseURL: `${main.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0, defaultHeaders: { 'x-syndicate-sensitivity': 'confidential' } })
      .embeddings.create({ model: 'auto', input: PUBLIC_TEXT })
      .withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('confidential');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
  });

  it('refuses a sensitive document with 403 when no local embedding model exists, saying why', async () => {
    const hostedBefore = inferenceExchanges(hosted).length;
    const error = await client(noLocalEmbedding)
      .embeddings.create({ model: 'auto', input: SECRET_TEXT })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(refusal.status).toBe(403);
    expect(refusal.message).toMatch(/no provider may receive this restricted request/);
    expect(refusal.message).toContain(`ollama:${OLLAMA_CHAT}: a chat model: embeddings requests go only to models declared kind: embedding`);
    expect(refusal.message).toMatch(new RegExp(`openai:${HOSTED_EMBED}: class approved_hosted may not receive restricted data`));
    expect(inferenceExchanges(hosted).length).toBe(hostedBefore);
    expect(inferenceExchanges(ollamaChatOnly).length).toBe(0);
  });

  it('refuses token ids with 403 when no local engine takes them, saying the ids cannot be read and so were treated as restricted', async () => {
    const hostedBefore = inferenceExchanges(hosted).length;
    const error = await client(noLocalEmbedding)
      .embeddings.create({ model: 'auto', input: [[9906, 1917], [791]] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    // Nothing the client sent reads as sensitive: the message says why the level is restricted.
    expect(refusal.message).toContain("no provider may receive this restricted request (token ids (3 in 2 inputs; only the model's tokenizer can read them) cannot be scanned: treated as restricted): ");
    expect(refusal.message).toMatch(new RegExp(`openai:${HOSTED_EMBED}: class approved_hosted may not receive restricted data`));
    expect(inferenceExchanges(hosted).length).toBe(hostedBefore);
  });

  it("falls back within the local class when llama-server was started without --embeddings (its 501), recording both attempts", async () => {
    fallback.pipeline.health = new HealthMonitor();
    const { data: answer, response } = await client(fallback).embeddings.create({ model: 'auto', input: SECRET_TEXT, encoding_format: 'float' }).withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(asFloat32(answer.data[0]?.embedding)).toEqual(expected(OLLAMA_EMBED, [SECRET_TEXT])[0]);
    expect(answer.data[0]?.embedding).not.toEqual(expected(OLLAMA_EMBED, [SECRET_TEXT])[0]);
    await fallback.settled();
    const rows = listEvidence(fallback.store, { limit: 5 }).filter((row) => row.requestId === response.headers.get('x-syndicate-request'));
    expect(rows.map((row) => [row.provider?.id, row.state, row.hop])).toEqual(
      expect.arrayContaining([
        ['llama-noembed', 'failed', 0],
        ['ollama', 'completed', 1],
      ]),
    );
    const failed = getEvidence(fallback.store, rows.find((row) => row.state === 'failed')?.id ?? '');
    expect(failed?.status).toBe(501);
    expect(failed?.response.body?.toString('utf8')).toBe(
      '{"error":{"code":501,"message":"This server does not support embeddings. Start it with `--embeddings`","type":"not_supported_error"}}',
    );
    expect(getEvidence(fallback.store, response.headers.get('x-syndicate-evidence') ?? '')?.markers).toContain('fallback');

    // The 501 says the model is not served as declared: that model is held back on its own, so the next call goes straight to Ollama.
    const { response: next } = await client(fallback).embeddings.create({ model: 'auto', input: SECRET_TEXT, encoding_format: 'float' }).withResponse();
    await fallback.settled();
    const nextRows = listEvidence(fallback.store, { limit: 5 }).filter((row) => row.requestId === next.headers.get('x-syndicate-request'));
    expect(nextRows.map((row) => [row.provider?.id, row.state, row.hop])).toEqual([['ollama', 'completed', 0]]);
  });

  it('tells a caller pinned to the model on llama-server without --embeddings to start it with --embeddings, not to fix the model id', async () => {
    fallback.pipeline.health = new HealthMonitor();
    const pinned = (): Promise<unknown> =>
      client(fallback)
        .embeddings.create({ model: `llama-noembed:${LLAMA_EMBED}`, input: PUBLIC_TEXT })
        .then(() => undefined, (caught: unknown) => caught);
    // The first call gets the 501; the next is held back without a call. Both say what to do.
    for (const error of [await pinned(), await pinned()]) {
      expect((error as { status?: number }).status).toBe(503);
      expect((error as Error).message).toContain('serves no embeddings: start llama-server with `--embeddings`');
      expect((error as Error).message).not.toContain('fix the model id');
    }
  });

  it('answers 400 naming the field for input it cannot read, and nothing is sent or recorded', async () => {
    const before = listEvidence(main.store, { limit: 1000 }).length;
    const post = (body: unknown): Promise<Response> =>
      fetch(`${main.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [body, param] of [
      [{ model: 'auto', input: [] }, 'input'],
      [{ model: 'auto', input: ['fine', 3] }, 'input[1]'],
      [{ model: 'auto', input: [[1, -2]] }, 'input[0][1]'],
      [{ model: 'auto', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
      [{ model: 'auto', input: 'x', dimensions: 0 }, 'dimensions'],
      [{ input: 'x' }, 'model'],
    ] as const) {
      const reply = await post(body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      const error = ((await reply.json()) as { error: { param: string; type: string } }).error;
      expect(error).toMatchObject({ param, type: 'invalid_request_error' });
    }
    await main.settled();
    expect(listEvidence(main.store, { limit: 1000 }).length).toBe(before);
  });

  it('never sends a chat request to an embedding model, nor an embeddings request to a chat model', async () => {
    const chat = await client(main)
      .chat.completions.create({ model: `ollama:${OLLAMA_EMBED}`, messages: [{ role: 'user', content: 'hi' }] })
      .then(() => undefined, (caught: unknown) => caught);
    // The caller's to fix, whatever its data: a 400 on `model` saying what the model is, not a 403.
    expect((chat as { status?: number }).status).toBe(400);
    expect((chat as Error).message).toContain(`ollama:${OLLAMA_EMBED} is an embedding model: it does not take chat requests`);
    const embed = await client(main)
      .embeddings.create({ model: `ollama:${OLLAMA_CHAT}`, input: PUBLIC_TEXT })
      .then(() => undefined, (caught: unknown) => caught);
    expect((embed as { status?: number }).status).toBe(400);
    expect((embed as Error).message).toContain(`ollama:${OLLAMA_CHAT} is a chat model: it does not take embeddings requests`);
  });

  it('names instead only providers with a model of the kind the request needs', async () => {
    // A chat request pinned to an embedding model: llama serves embeddings only; Ollama's own chat
    // model and openai's may take it (the same provider's other model by its full name).
    const chat = await client(main)
      .chat.completions.create({ model: `ollama:${OLLAMA_EMBED}`, messages: [{ role: 'user', content: 'hi' }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect((chat as Error).message).toContain(`(ollama:${OLLAMA_CHAT}, openai may take it: name one of them instead`);
    // An embeddings request pinned to Ollama's chat model: Ollama's own embedding model may take it,
    // named as well as the other providers' (the hosted one first, as the policy ranks it).
    const pinnedToChat = await client(main)
      .embeddings.create({ model: `ollama:${OLLAMA_CHAT}`, input: PUBLIC_TEXT })
      .then(() => undefined, (caught: unknown) => caught);
    expect((pinnedToChat as { status?: number }).status).toBe(400);
    expect((pinnedToChat as Error).message).toContain(`(openai, ollama:${OLLAMA_EMBED}, llama may take it: name one of them instead`);
    // An embeddings request pinned to a chat model: the chat-only Ollama has no embedding model to
    // offer; openai's own embedding model is named, so no model of another kind is asked for.
    const embed = await client(noLocalEmbedding)
      .embeddings.create({ model: 'openai:gpt-4o-mini', input: PUBLIC_TEXT })
      .then(() => undefined, (caught: unknown) => caught);
    expect((embed as { status?: number }).status).toBe(400);
    expect((embed as Error).message).not.toContain('ollama');
    expect((embed as Error).message).toContain(`(openai:${HOSTED_EMBED} may take it: name it instead`);
    expect((embed as Error).message).not.toContain('embeddings requests go only to models declared `kind: embedding`');
  });

  it('counts embeddings in /metrics under api="openai_embeddings", with their tokens', async () => {
    // Its own requests, counted from what the earlier tests left: the tests may run in any order.
    const counted = (samples: Map<string, number>, outcome: string, providerClass?: string): number =>
      gatewayRequests(samples, { api: 'openai_embeddings', outcome, ...(providerClass === undefined ? {} : { class: providerClass }) });
    const inputTokens = `syndicate_gateway_tokens_total{class="local",provider="ollama",model="${OLLAMA_EMBED}",direction="input"}`;
    const before = await scrapeMetrics(main);
    await client(main).embeddings.create({ model: 'auto', input: SECRET_TEXT });
    await client(main).embeddings.create({ model: 'auto', input: PUBLIC_TEXT });
    const refused = await client(main).embeddings.create({ model: `ollama:${OLLAMA_CHAT}`, input: PUBLIC_TEXT }).then(() => undefined, (caught: unknown) => caught);
    expect((refused as { status?: number }).status).toBe(400);
    await main.settled();
    const after = await scrapeMetrics(main);
    expect(counted(after, 'completed', 'local')).toBe(counted(before, 'completed', 'local') + 1);
    expect(counted(after, 'completed', 'approved_hosted')).toBe(counted(before, 'completed', 'approved_hosted') + 1);
    expect(after.get(inputTokens)).toBeGreaterThan(before.get(inputTokens) ?? 0);
    // A chat model named for embeddings is the request's mistake (`model_kind`), not a denial.
    expect(counted(after, 'model_kind')).toBe(counted(before, 'model_kind') + 1);
    expect(counted(after, 'route_denied')).toBe(counted(before, 'route_denied'));
  });
});
