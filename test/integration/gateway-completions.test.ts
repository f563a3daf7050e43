/**
 * `POST /v1/completions` (OpenAI's legacy text completions, with `suffix` to fill in the middle)
 * through a real gateway (core + node:http adapter on 127.0.0.1:0; and `syndicate serve` as a
 * process after `provider add ollama`) over the real pipeline, driven by the official `openai`
 * client's `completions.create`, against fake Ollama, llama-server, vLLM and LM Studio engines that
 * answer `/v1/completions` in their own shapes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { makeTempHome, parseJsonDocument, runCli } from '../helpers/cli.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { DEFAULT_ANSWER } from '../helpers/fake-engines/model-behaviour.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { gatewayRequests, scrapeMetrics, startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const CODER = 'qwen2.5-coder:7b';
const CHAT = 'llama3.2:latest';
const LLAMA_MODEL = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
const VLLM_MODEL = 'Qwen/Qwen2.5-Coder-1.5B';
const CLAUDE = 'claude-sonnet-4-20250514';
const STUDIO_MODEL = 'qwen2.5-7b-instruct';
const STUDIO_EMBEDDING = 'text-embedding-nomic-embed-text-v1.5';

const PREFIX = 'def add(a, b):\n    ';
const SUFFIX = '\n\nprint(add(1, 2))\n';

function ollamaProvider(engine: FakeEngine, tags: { coder: string[]; chat: string[] }): TestProvider {
  return {
    id: 'ollama',
    class: 'local',
    wire: 'openai',
    baseUrl: engine.baseUrl,
    engine: 'ollama',
    models: [
      { id: CODER, tags: tags.coder, priority: 5 },
      { id: CHAT, tags: tags.chat },
    ],
  };
}

const client = (url: string): OpenAI => new OpenAI({ baseURL: `${url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });

let ollama: FakeEngine;
let llama: FakeEngine;
let vllm: FakeEngine;
let anthropic: FakeEngine;
let main: TestGateway;
let untagged: TestGateway;
let anthropicOnly: TestGateway;

beforeAll(async () => {
  [ollama, llama, vllm, anthropic] = await Promise.all([
    startFakeEngine({ kind: 'ollama', models: [{ id: CODER, fillInMiddle: true }, { id: CHAT }] }),
    startFakeEngine({ kind: 'llama.cpp', models: [{ id: LLAMA_MODEL }] }),
    startFakeEngine({ kind: 'vllm', models: [{ id: VLLM_MODEL }] }),
    startFakeEngine({ kind: 'anthropic' }),
  ]);
  main = await startTestGateway({
    providers: [
      ollamaProvider(ollama, { coder: ['completions', 'fill-in-middle'], chat: ['completions'] }),
      { id: 'llama', class: 'local', wire: 'openai', baseUrl: llama.baseUrl, engine: 'llama.cpp', models: [{ id: LLAMA_MODEL, tags: ['completions'] }] },
      { id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: VLLM_MODEL, tags: ['completions'] }] },
    ],
  });
  untagged = await startTestGateway({ providers: [ollamaProvider(ollama, { coder: ['tools'], chat: [] })] });
  anthropicOnly = await startTestGateway({
    providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: anthropic.baseUrl, auth: true, models: [{ id: CLAUDE, tags: ['completions'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] }],
  });
});

afterAll(async () => {
  await Promise.all([main?.close(), untagged?.close(), anthropicOnly?.close()]);
  await Promise.all([ollama?.close(), llama?.close(), vllm?.close(), anthropic?.close()]);
});

describe('POST /v1/completions with the official openai client', () => {
  it('fills in the middle on the Ollama model tagged fill-in-middle: the engine gets prompt and suffix, evidence holds the exact bytes', async () => {
    const before = inferenceExchanges(ollama).length;
    const { data: completion, response } = await client(main.url)
      .completions.create({ model: 'auto', prompt: PREFIX, suffix: SUFFIX, max_tokens: 64, temperature: 0, user: 'editor-1' })
      .withResponse();
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
    expect(response.headers.get('x-syndicate-model')).toBe(CODER);
    expect(response.headers.get('x-syndicate-ignored-fields')).toBe('user');
    expect(completion.object).toBe('text_completion');
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.model).toBe(`ollama:${CODER}`);
    expect(completion.choices).toEqual([{ text: DEFAULT_ANSWER, index: 0, logprobs: null, finish_reason: 'stop' }]);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));

    const exchanges = inferenceExchanges(ollama).slice(before);
    expect(exchanges.map((exchange) => exchange.path)).toEqual(['/v1/completions']);
    const exchange = exchanges[0]!;
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toEqual({ model: CODER, prompt: PREFIX, suffix: SUFFIX, max_tokens: 64, temperature: 0 });
    await main.settled();
    const evidence = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.state).toBe('completed');
    expect(evidence?.request.url).toBe(`${ollama.baseUrl}/completions`);
    expect(evidence?.request.body?.equals(exchange.requestBody)).toBe(true);
    expect(evidence?.response.body?.equals(exchange.responseBody)).toBe(true);
    expect(evidence?.tokenAccounting).toBe('exact');
    expect(evidence?.inputTokens).toBe(completion.usage?.prompt_tokens);
  });

  it('streams a fill-in-the-middle completion: text_completion chunks, usage when asked, [DONE]; evidence keeps the raw SSE and its timings', async () => {
    const before = inferenceExchanges(ollama).length;
    const { data: stream, response } = await client(main.url)
      .completions.create({ model: `ollama:${CODER}`, prompt: PREFIX, suffix: SUFFIX, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    const chunks: OpenAI.Completions.Completion[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe(DEFAULT_ANSWER);
    expect(chunks.every((chunk) => chunk.object === 'text_completion')).toBe(true);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason !== null && chunk.choices[0]?.finish_reason !== undefined)?.choices[0]?.finish_reason).toBe('stop');
    const usage = chunks.at(-1)?.usage;
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(usage?.completion_tokens).toBeGreaterThan(0);

    const exchange = inferenceExchanges(ollama).slice(before)[0]!;
    expect(exchange.path).toBe('/v1/completions');
    expect(JSON.parse(exchange.requestBody.toString('utf8'))).toEqual({ model: CODER, prompt: PREFIX, suffix: SUFFIX, stream: true, stream_options: { include_usage: true } });
    await main.settled();
    const evidenceId = response.headers.get('x-syndicate-evidence') ?? '';
    const evidence = getEvidence(main.store, evidenceId);
    expect(evidence?.streamed).toBe(true);
    expect(evidence?.response.body?.equals(exchange.responseBody)).toBe(true);
    expect(evidence?.response.body?.toString('utf8')).toContain('"object":"text_completion"');
    expect(evidence?.response.chunks.length).toBeGreaterThan(0);
    expect(evidence?.firstTokenMs).toBeGreaterThan(0);
    expect(evidence?.tokenAccounting).toBe('exact');
    expect(evidence?.outputTokens).toBe(usage?.completion_tokens);
  });

  it("continues a prompt on llama-server and vLLM, streamed and not: llama-server's usage rides on its finish chunk", async () => {
    const fromLlama = await client(main.url).completions.create({ model: `llama:${LLAMA_MODEL}`, prompt: PREFIX, max_tokens: 64 });
    expect(fromLlama.choices[0]?.text).toBe(DEFAULT_ANSWER);
    expect(fromLlama.usage?.completion_tokens).toBeGreaterThan(0);

    const { data: stream, response } = await client(main.url).completions.create({ model: `llama:${LLAMA_MODEL}`, prompt: PREFIX, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(DEFAULT_ANSWER);
    await main.settled();
    const evidence = getEvidence(main.store, response.headers.get('x-syndicate-evidence') ?? '');
    expect(evidence?.tokenAccounting).toBe('exact');
    expect(evidence?.response.body?.toString('utf8')).toContain('"timings"');

    const fromVllm = await client(main.url).completions.create({ model: `vllm:${VLLM_MODEL}`, prompt: PREFIX, max_tokens: 64, stop: ['\n\n'] });
    expect(fromVllm.choices[0]?.text).toBe(DEFAULT_ANSWER);
    const sent = JSON.parse(inferenceExchanges(vllm).at(-1)!.requestBody.toString('utf8')) as Record<string, unknown>;
    expect(sent).toEqual({ model: VLLM_MODEL, prompt: PREFIX, max_tokens: 64, stop: ['\n\n'] });
  });

  it('sends a suffix to no model that is not tagged fill-in-middle (llama-server and vLLM refuse it)', async () => {
    const sentBefore = inferenceExchanges(llama).length;
    const error = await client(main.url)
      .completions.create({ model: `llama:${LLAMA_MODEL}`, prompt: PREFIX, suffix: SUFFIX })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(refusal.code).toBe('route_denied');
    expect(refusal.message).toContain(
      `no provider may receive this public request: llama:${LLAMA_MODEL}: a text completion with a suffix (fill in the middle) and the model is not tagged fill-in-middle`,
    );
    expect(inferenceExchanges(llama).length).toBe(sentBefore);
  });

  it('refuses a text completion where no model is tagged completions, naming the tag', async () => {
    const sentBefore = inferenceExchanges(ollama).length;
    const error = await client(untagged.url).completions.create({ model: 'auto', prompt: PREFIX }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(refusal.status).toBe(403);
    expect(refusal.code).toBe('route_denied');
    expect(refusal.message).toBe(
      `403 no provider may receive this public request: ollama:${CODER}: a text completion (POST /v1/completions) and the model is not tagged completions | ollama:${CHAT}: a text completion (POST /v1/completions) and the model is not tagged completions (text completions (POST /v1/completions, or Ollama /api/generate with a suffix or raw) go only to openai-wire models tagged \`completions\`, and with a suffix only to models also tagged \`fill-in-middle\` (\`syndicate provider add ollama|llama.cpp|vllm|lmstudio\` tags the engine models that take them; only Ollama takes a suffix): tag such a model in its provider record, or send the prompt as a chat request (POST /v1/chat/completions, or /api/generate without suffix and raw); \`syndicate route --explain --request BODY.json\` (the request's JSON body) shows every rule)`,
    );
    expect(inferenceExchanges(ollama).length).toBe(sentBefore);
  });

  it('refuses a text completion when only anthropic-wire providers are registered: that wire has no completions endpoint', async () => {
    const error = await client(anthropicOnly.url).completions.create({ model: 'auto', prompt: PREFIX }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const refusal = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(refusal.code).toBe('route_denied');
    expect(refusal.message).toContain(
      `no provider may receive this public request: claude:${CLAUDE}: a text completion (POST /v1/completions) and the anthropic wire has no completions endpoint (a prompt to continue is not translated into a conversation)`,
    );
    expect(inferenceExchanges(anthropic)).toEqual([]);
  });

  it('classifies the suffix as data: a secret after the cursor keeps the request on this host', async () => {
    const { response } = await client(main.url)
      .completions.create({ model: 'auto', prompt: PREFIX, suffix: 'DATABASE_URL = "postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/orders"\n' })
      .withResponse();
    expect(response.headers.get('x-syndicate-sensitivity')).toBe('restricted');
    expect(response.headers.get('x-syndicate-provider')).toBe('ollama');
  });

  it('answers what it does not support with a 400 naming the parameter', async () => {
    const refused = async (body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.BadRequestError>> => {
      const error = await client(main.url)
        .completions.create({ model: 'auto', prompt: PREFIX, ...body } as unknown as OpenAI.CompletionCreateParamsNonStreaming)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      return error as InstanceType<typeof OpenAI.BadRequestError>;
    };
    const several = await refused({ n: 2 });
    expect(several.param).toBe('n');
    expect(several.message).toContain('/n: n = 2 (several choices) is not supported by the gateway');
    expect((await refused({ echo: true })).param).toBe('echo');
    expect((await refused({ logprobs: 21 })).param).toBe('logprobs');
    expect((await refused({ best_of: 3 })).param).toBe('best_of');
    expect((await refused({ prompt: ['one', 'two'] })).param).toBe('prompt');
    expect((await refused({ prompt: [1, 2, 3] })).param).toBe('prompt');
  });

  it('refuses a prompt of token ids with a 400 that says why and what to send instead; nothing reaches an engine', async () => {
    const before = [ollama, llama, vllm].map((engine) => inferenceExchanges(engine).length);
    for (const prompt of [[9707, 11, 1879], [[9707, 11], [1879]]]) {
      const error = await client(main.url)
        .completions.create({ model: `llama:${LLAMA_MODEL}`, prompt })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const refusal = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(refusal.param).toBe('prompt');
      // Why: the classifier reads text only, and a completion's prompt is carried as text.
      expect(refusal.message).toContain("the gateway does not take for a text completion: it classifies the prompt as text before routing it, and only the model's tokenizer can read token ids");
      // What instead, in the message itself: a gateway 400 carries no hint.
      expect(refusal.message).toContain('send the prompt as text, decoded with the model');
      expect(refusal.message).toContain('POST /v1/embeddings takes them, as restricted');
    }
    expect([ollama, llama, vllm].map((engine) => inferenceExchanges(engine).length)).toEqual(before);
  });

  it('ends a stream that breaks after bytes were sent with an error event, never [DONE]', async () => {
    ollama.setFault('reset-mid-stream', 1);
    const response = await fetch(`${main.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `ollama:${CODER}`, prompt: PREFIX, stream: true }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const frames = text.split('\n\n').filter((frame) => frame !== '');
    expect(frames.some((frame) => frame.includes('"object":"text_completion"'))).toBe(true);
    expect(frames.at(-1)).toMatch(/^data: \{"error":\{/);
    expect(text).not.toContain('[DONE]');
  });

  it('lists /v1/completions among its routes in a 404, and answers GET on it with 405 in the OpenAI envelope', async () => {
    const headers = { authorization: `Bearer ${TEST_TOKEN}` };
    const missing = await fetch(`${main.url}/v1/complete`, { method: 'POST', headers, body: '{}' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain('the gateway serves /v1/chat/completions, /v1/completions, /v1/responses');
    const wrongMethod = await fetch(`${main.url}/v1/completions`, { headers });
    expect(wrongMethod.status).toBe(405);
    expect(((await wrongMethod.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('counts text completions in /metrics under api="openai_completions"', async () => {
    // Its own requests, counted from what the earlier tests left: the tests may run in any order.
    const counted = (samples: Map<string, number>, outcome: string): number => gatewayRequests(samples, { api: 'openai_completions', outcome });
    const before = await scrapeMetrics(main);
    await client(main.url).completions.create({ model: `llama:${LLAMA_MODEL}`, prompt: PREFIX, max_tokens: 64 });
    const refusal = await client(main.url).completions.create({ model: `llama:${LLAMA_MODEL}`, prompt: PREFIX, suffix: SUFFIX }).catch((caught: unknown) => caught);
    expect(refusal).toBeInstanceOf(OpenAI.PermissionDeniedError);
    await main.settled();
    const after = await scrapeMetrics(main);
    expect(counted(after, 'completed')).toBe(counted(before, 'completed') + 1);
    expect(counted(after, 'route_denied')).toBe(counted(before, 'route_denied') + 1);
  });
});

describe('provider add lmstudio', () => {
  it('tags its LLMs completions (not its embeddings model, never fill-in-middle); completions.create reaches its /v1/completions through a gateway', async () => {
    const studio = await startFakeEngine({ kind: 'lmstudio', models: [{ id: STUDIO_MODEL }, { id: STUDIO_EMBEDDING, embedding: true, contextWindow: 2048 }] });
    const { home, cleanup } = makeTempHome('syndicate-completions-lmstudio-');
    let gateway: TestGateway | undefined;
    try {
      const added = await runCli(['provider', 'add', 'lmstudio', '--base-url', studio.baseUrl, '--json'], { home });
      expect(added.exitCode, added.stderr).toBe(0);
      const { record } = parseJsonDocument(added.stdout) as { record: { id: string; models: { id: string; kind?: 'embedding'; tags?: string[] }[] } };
      expect(record.models.map((model) => [model.id, model.tags])).toEqual([
        [STUDIO_MODEL, ['tools', 'completions']],
        [STUDIO_EMBEDDING, undefined],
      ]);

      gateway = await startTestGateway({
        providers: [{ id: record.id, class: 'local', wire: 'openai', baseUrl: studio.baseUrl, engine: 'lmstudio', models: record.models.map(({ id, kind, tags }) => ({ id, ...(kind === undefined ? {} : { kind }), ...(tags === undefined ? {} : { tags }) })) }],
      });
      const { data: completion, response } = await client(gateway.url).completions.create({ model: 'auto', prompt: PREFIX, max_tokens: 64 }).withResponse();
      expect(response.headers.get('x-syndicate-model')).toBe(STUDIO_MODEL);
      expect(completion.object).toBe('text_completion');
      expect(completion.choices[0]?.text).toBe(DEFAULT_ANSWER);
      expect(completion.usage?.completion_tokens).toBeGreaterThan(0);

      const { data: stream } = await client(gateway.url).completions.create({ model: 'auto', prompt: PREFIX, stream: true, stream_options: { include_usage: true } }).withResponse();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
      expect(text).toBe(DEFAULT_ANSWER);
      const sent = inferenceExchanges(studio).map((exchange) => [exchange.path, JSON.parse(exchange.requestBody.toString('utf8')) as unknown]);
      expect(sent).toEqual([
        ['/v1/completions', { model: STUDIO_MODEL, prompt: PREFIX, max_tokens: 64 }],
        ['/v1/completions', { model: STUDIO_MODEL, prompt: PREFIX, stream: true, stream_options: { include_usage: true } }],
      ]);

      // A suffix goes to no LM Studio model: its docs list no `suffix`.
      const refused = await client(gateway.url).completions.create({ model: 'auto', prompt: PREFIX, suffix: SUFFIX }).catch((caught: unknown) => caught);
      expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(inferenceExchanges(studio)).toHaveLength(2);
    } finally {
      await gateway?.close();
      await studio.close();
      cleanup();
    }
  }, 90_000);
});

describe('syndicate serve after provider add ollama', () => {
  let home: string;
  let cleanup: (() => void) | undefined;
  let serve: RunningServe | undefined;
  let engine: FakeEngine;
  let tags: [string, string[] | undefined][];

  beforeAll(async () => {
    ({ home, cleanup } = makeTempHome('syndicate-completions-'));
    engine = await startFakeEngine({ kind: 'ollama', models: [{ id: CODER, fillInMiddle: true }, { id: CHAT }] });
    expect((await runCli(['init'], { home })).exitCode).toBe(0);
    const added = await runCli(['provider', 'add', 'ollama', '--base-url', engine.baseUrl, '--json'], { home });
    expect(added.exitCode).toBe(0);
    const document = parseJsonDocument(added.stdout) as { record: { models: { id: string; tags?: string[] }[] } };
    tags = document.record.models.map((model) => [model.id, model.tags]);
    serve = await startServe(['serve', '--port', '0'], { SYNDICATE_HOME: home });
  }, 90_000);

  afterAll(async () => {
    serve?.server.kill('SIGTERM');
    await serve?.server;
    await engine?.close();
    cleanup?.();
  });

  it('tags the coder model fill-in-middle (capability insert) and every chat model completions; fills in the middle through the gateway', async () => {
    expect(tags).toEqual([
      [CODER, ['tools', 'completions', 'fill-in-middle']],
      [CHAT, ['tools', 'completions']],
    ]);
    const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    const gatewayClient = new OpenAI({ baseURL: `${serve!.url}/v1`, apiKey: token, maxRetries: 0 });
    const { data: stream, response } = await gatewayClient.completions.create({ model: 'auto', prompt: PREFIX, suffix: SUFFIX, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(DEFAULT_ANSWER);
    expect(response.headers.get('x-syndicate-model')).toBe(CODER);
    expect(inferenceExchanges(engine).filter((exchange) => exchange.path.startsWith('/v1/')).map((exchange) => exchange.path)).toEqual(['/v1/completions']);
  }, 90_000);

  it('route --explain --request says which models a fill-in-the-middle body may reach, and why the others are left out', async () => {
    const body = join(home, 'completion.json');
    writeFileSync(body, JSON.stringify({ model: 'auto', prompt: PREFIX, suffix: SUFFIX }));
    const result = await runCli(['route', '--explain', '--request', body], { home });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('text completion request with a suffix (fill in the middle): only openai-wire models tagged completions and fill-in-middle');
    expect(result.stdout).toContain(`1. ollama:${CODER} (local`);
    expect(result.stdout).toContain(`- ollama:${CHAT} (local) — a text completion with a suffix (fill in the middle) and the model is not tagged fill-in-middle`);

    // The same request as an editor's autocomplete sends it to Ollama's /api/generate: told by its Ollama-only fields.
    const ollamaBody = join(home, 'ollama-generate.json');
    writeFileSync(ollamaBody, JSON.stringify({ model: 'auto', prompt: PREFIX, suffix: SUFFIX, raw: true, options: { num_predict: 32, temperature: 0.2 } }));
    const [told, named] = await Promise.all([
      runCli(['route', '--json', '--request', ollamaBody], { home }),
      runCli(['route', '--json', '--request', ollamaBody, '--format', 'ollama-generate'], { home }),
    ]);
    for (const routed of [told, named]) {
      expect(routed.exitCode, routed.stderr).toBe(0);
      const plan = (parseJsonDocument(routed.stdout).plan as { candidates: { provider: string; model: string }[] });
      expect(plan.candidates.map((candidate) => `${candidate.provider}:${candidate.model}`)).toEqual([`ollama:${CODER}`]);
    }
  }, 90_000);
});
