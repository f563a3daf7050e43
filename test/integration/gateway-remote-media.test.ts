/**
 * An image given by URL in a request only local providers may receive, through a real gateway
 * with the official clients, to a fake vLLM. vLLM fetches http(s) media itself unless started with
 * `--allowed-media-domains` ("to prevent Server-Side Request Forgery", its security doc), so the
 * URL — and what its query string carries — would leave the host from the "local" engine: refused
 * before anything is sent, unless the policy allows it for the level (`media.remoteUrls`).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/queries.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, testPolicy, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const VLLM_MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
const SIGNED_URL = 'https://203.0.113.7/scans/payslip.png?X-Amz-Signature=0f3c9a&X-Amz-Credential=AKIDEXAMPLE';
const INLINE = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const QUESTION = 'What is in this picture?';

let vllm: FakeEngine;
/** The default policy: confidential (every request with an image) goes to local providers only. */
let refusing: TestGateway;
/** `media.remoteUrls: { confidential: allow }`. */
let allowing: TestGateway;

const provider = (): TestProvider => ({ id: 'vllm', class: 'local', wire: 'openai', baseUrl: vllm.baseUrl, engine: 'vllm', models: [{ id: VLLM_MODEL, tags: ['vision'] }] });

beforeAll(async () => {
  vllm = await startFakeEngine({ kind: 'vllm', models: [{ id: VLLM_MODEL }] });
  refusing = await startTestGateway({ providers: [provider()] });
  allowing = await startTestGateway({ providers: [provider()], policy: testPolicy({ media: { remoteUrls: { public: 'refuse', internal: 'refuse', confidential: 'allow', restricted: 'refuse' } } }) });
});

afterAll(async () => {
  await Promise.all([refusing?.close(), allowing?.close()]);
  await vllm?.close();
});

const openAIClient = (gateway: TestGateway): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const anthropicClient = (gateway: TestGateway): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
const posts = (): string[] => vllm.exchanges.filter((exchange) => exchange.method === 'POST').map((exchange) => exchange.requestBody.toString('utf8'));
const caught = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error);

const chat = (url: string): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
  model: 'auto',
  messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }, { type: 'image_url', image_url: { url } }] }],
});
const messages = (source: Anthropic.ImageBlockParam['source']): Anthropic.MessageCreateParamsNonStreaming => ({
  model: 'auto',
  max_tokens: 64,
  messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }, { type: 'image', source }] }],
});

/** The newest denial's recorded error and the rules of each exclusion in its route. */
async function newestDenial(gateway: TestGateway): Promise<{ error: { code: string; message: string }; rules: string[][] }> {
  await gateway.settled();
  const row = listEvidence(gateway.store, { state: 'denied', limit: 1 })[0];
  const evidence = getEvidence(gateway.store, row?.id ?? '');
  const route = evidence?.route as { excluded: { rules: string[] }[] };
  return { error: evidence?.error as { code: string; message: string }, rules: route.excluded.map((exclusion) => exclusion.rules) };
}

describe('a confidential request with an image URL, to a local vLLM', () => {
  it('OpenAI client: a 400 before anything is sent, naming the fix; recorded as a denial without the URL', async () => {
    const before = posts().length;
    const refused = await caught(openAIClient(refusing).chat.completions.create(chat(SIGNED_URL)));
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    const error = (refused as InstanceType<typeof OpenAI.BadRequestError>).error as { type: string; code: string; param: string; message: string };
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'remote_media_url', param: 'messages' });
    expect(error.message).toContain('this confidential request may not be sent: the request gives an image by URL (https://203.0.113.7/…), which the engine would fetch over the network itself');
    expect(error.message).toContain(`(vllm:${VLLM_MODEL}: its image URL alone)`);
    expect(error.message).toContain('send the image inline — a data:image/png;base64,… URL');
    expect(error.message).toContain('`media.remoteUrls`');
    expect(error.message).not.toContain('X-Amz');
    expect(posts()).toHaveLength(before);

    const denial = await newestDenial(refusing);
    expect(denial.error.code).toBe('remote_media_url');
    expect(denial.error.message).not.toContain('X-Amz');
    expect(denial.rules).toEqual([['remote_media']]);
  });

  it('Anthropic client: the same refusal as an invalid_request_error, for a url image source', async () => {
    const before = posts().length;
    const refused = await caught(anthropicClient(refusing).messages.create(messages({ type: 'url', url: SIGNED_URL })));
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('which the engine would fetch over the network itself') },
    });
    expect(posts()).toHaveLength(before);
    expect((await newestDenial(refusing)).error.code).toBe('remote_media_url');
  });

  it('OpenAI client, Responses API: an input_image by URL is refused alike', async () => {
    const before = posts().length;
    const refused = await caught(
      openAIClient(refusing).responses.create({
        model: 'auto',
        input: [{ role: 'user', content: [{ type: 'input_text', text: QUESTION }, { type: 'input_image', image_url: SIGNED_URL, detail: 'auto' }] }],
      }),
    );
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: 'remote_media_url', param: 'messages' });
    expect(posts()).toHaveLength(before);
  });

  it('with the image inline (a data: URL, an Anthropic base64 source) it is forwarded as it came', async () => {
    const answered = await openAIClient(refusing).chat.completions.create(chat(INLINE));
    expect(answered.choices[0]?.message.content).toBeTruthy();
    expect(posts().at(-1)).toContain(INLINE);

    const base64 = INLINE.slice(INLINE.indexOf(',') + 1);
    const message = await anthropicClient(refusing).messages.create(messages({ type: 'base64', media_type: 'image/png', data: base64 }));
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect(posts().at(-1)).toContain(base64);
  });

  it('with the policy opt-in (media.remoteUrls confidential: allow) it is forwarded, and the evidence says the policy allowed it', async () => {
    const answered = await openAIClient(allowing).chat.completions.create(chat(SIGNED_URL));
    expect(answered.choices[0]?.message.content).toBeTruthy();
    expect(JSON.stringify(JSON.parse(posts().at(-1) ?? '{}'))).toContain(SIGNED_URL);

    const message = await anthropicClient(allowing).messages.create(messages({ type: 'url', url: SIGNED_URL }));
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect(posts().at(-1)).toContain(SIGNED_URL);

    await allowing.settled();
    const row = listEvidence(allowing.store, { limit: 1 })[0];
    const evidence = getEvidence(allowing.store, row?.id ?? '');
    expect(evidence?.state).toBe('completed');
    expect((evidence?.route as { notes?: string[] }).notes).toContain(
      'the request gives an image by URL (https://203.0.113.7/…): allowed by the policy (media.remoteUrls confidential: allow), so the engine that takes it may fetch it over the network',
    );
    expect(evidence?.request.body?.toString('utf8')).toContain(SIGNED_URL);
  });
});

describe('a confidential request with an image URL, to a local vLLM that is down', () => {
  it('is refused for its URL (400), not reported unavailable (503): it could not be sent once the engine is back either', async () => {
    const gone = await startFakeEngine({ kind: 'vllm', models: [{ id: VLLM_MODEL }] });
    await gone.close();
    const gateway = await startTestGateway({ providers: [{ ...provider(), baseUrl: gone.baseUrl }] });
    try {
      const refused = await caught(openAIClient(gateway).chat.completions.create(chat(SIGNED_URL)));
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
      expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: 'remote_media_url', param: 'messages' });
      expect((await newestDenial(gateway)).rules).toEqual([['remote_media', 'unhealthy']]);
    } finally {
      await gateway.close();
    }
  });
});

describe('the URL text is classified like the rest of the request', () => {
  it('a credential in its query string makes the request restricted: refused even where the policy allows confidential URLs', async () => {
    const before = posts().length;
    const withToken = 'https://203.0.113.7/scan.png?access_token=ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8';
    const refused = await caught(anthropicClient(allowing).messages.create(messages({ type: 'url', url: withToken })));
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as Error).message).toContain('this restricted request may not be sent');
    expect((refused as Error).message).toContain('restricted data never leaves this host');
    expect((refused as Error).message).not.toContain('ghp_');
    // No policy lets a restricted request's URL be fetched: the hint offers the inline image alone.
    expect((refused as Error).message).toContain('send the image inline');
    expect((refused as Error).message).not.toContain('allow it in the policy');
    expect(posts()).toHaveLength(before);
  });
});

describe('a confidential request with an image URL, to a local vLLM and a local Ollama', () => {
  it("the hint says to send the image inline once, and offers no engine that fetches URLs (the level refuses them all)", async () => {
    const ollama = await startFakeEngine({ kind: 'ollama', models: [{ id: 'llava:7b' }] });
    const gateway = await startTestGateway({
      providers: [provider(), { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'llava:7b', tags: ['vision'] }] }],
    });
    try {
      const refused = await caught(openAIClient(gateway).chat.completions.create(chat(SIGNED_URL)));
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
      const error = (refused as InstanceType<typeof OpenAI.BadRequestError>).error as { code: string; message: string };
      expect(error.code).toBe('remote_media_url');
      // Ollama's exclusion keeps its own reason in the message; the hint is the URL refusal's alone.
      expect(error.message).toContain('ollama:llava:7b: Ollama takes images as base64 data only');
      expect(error.message.split('send the image inline')).toHaveLength(2);
      expect(error.message).not.toContain('send it to a model whose engine takes URLs');
      expect(error.message).toContain('allow it in the policy (`media.remoteUrls`');
    } finally {
      await gateway.close();
      await ollama.close();
    }
  });
});

describe('a request some hosted class may receive', () => {
  it('sends its image URL as before, to a local engine too', async () => {
    const hostedAllowed = defaultPolicy();
    const gateway = await startTestGateway({
      providers: [provider()],
      policy: testPolicy({ sensitivity: { ...hostedAllowed.sensitivity, confidential: ['local', 'approved_hosted'] } }),
    });
    try {
      const answered = await openAIClient(gateway).chat.completions.create(chat(SIGNED_URL));
      expect(answered.choices[0]?.message.content).toBeTruthy();
      expect(JSON.stringify(JSON.parse(posts().at(-1) ?? '{}'))).toContain(SIGNED_URL);
    } finally {
      await gateway.close();
    }
  });
});
