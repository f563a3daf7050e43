/**
 * An inline image leaves with every byte of it and with the media type its client wrote. With a
 * policy that lets confidential data (images) reach a hosted provider, a key in a PNG's text chunk
 * (deflated or not), a text file sent as an image or a key in the media type is still found
 * (restricted, or fail closed): refused, and the hosted provider receives nothing. A plain image
 * goes as the policy says.
 */
import { deflateSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { pngChunk } from '../helpers/request-options.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, testPolicy, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a', 'hex');
/** A PNG's signature and header chunk, then `chunks`. */
const png = (...chunks: Buffer[]): string => Buffer.concat([PNG_SIGNATURE, Buffer.from('0000000d494844520000000100000001080600000000000000', 'hex'), ...chunks]).toString('base64');
const PLAIN_PNG = png();
const PNG_WITH_KEY = png(Buffer.from(`\0\0\0\x24tEXtComment\0aws_access_key_id = ${KEY}\0\0\0\0`, 'latin1'));
/** The same text in a zTXt chunk: deflated, so no printable run of the bytes shows it. */
const PNG_WITH_COMPRESSED_KEY = png(pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.from(`aws_access_key_id = ${KEY}`))])));
const TEXT_AS_IMAGE = Buffer.from(`[default]\naws_access_key_id = ${KEY}\n`).toString('base64');

let openai: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [openai, claude] = await Promise.all([startFakeEngine({ kind: 'openai' }), startFakeEngine({ kind: 'anthropic' })]);
  const policy = testPolicy();
  gateway = await startTestGateway({
    providers: [
      { id: 'openai', class: 'approved_hosted', wire: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: 'gpt-4o-mini', tags: ['vision'], price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] },
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-20250514', tags: ['vision'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
    ],
    // Images may go to a hosted provider: what else rides in them must not.
    policy: { ...policy, sensitivity: { ...policy.sensitivity, confidential: ['local', 'approved_hosted'] } },
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), claude?.close()]);
});

/** Every byte the engine received, as text (bodies, headers and paths). */
const received = (engine: FakeEngine): string => inferenceExchanges(engine).map((exchange) => `${exchange.path} ${JSON.stringify(exchange.requestHeaders)} ${exchange.requestBody.toString('latin1')}`).join('\n');

const anthropicImage = async (mediaType: string, data: string): Promise<unknown> =>
  new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 }).messages
    .create({ model: 'claude:claude-sonnet-4-20250514', max_tokens: 32, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image', source: { type: 'base64', media_type: mediaType as 'image/png', data } }] }] })
    .catch((error: unknown) => error);

describe("an inline image's bytes and media type", () => {
  it('a plain PNG is confidential and reaches the hosted provider the policy allows', async () => {
    const before = inferenceExchanges(claude).length;
    const answer = await anthropicImage('image/png', PLAIN_PNG);
    expect(answer).not.toBeInstanceOf(Error);
    expect(inferenceExchanges(claude)).toHaveLength(before + 1);
  });

  it.each([
    ['a key in a PNG text chunk is restricted', 'image/png', PNG_WITH_KEY, 'restricted', PNG_WITH_KEY],
    ['a key in a compressed PNG text chunk is restricted', 'image/png', PNG_WITH_COMPRESSED_KEY, 'restricted', PNG_WITH_COMPRESSED_KEY],
    ['a text file sent as an image fails closed', 'image/png', TEXT_AS_IMAGE, 'not a PNG, JPEG, GIF or WebP image', TEXT_AS_IMAGE],
    ['a key in the media type is restricted', `image/png;key=${KEY}`, PLAIN_PNG, 'restricted', KEY],
  ])('%s: refused, Claude never sees it', async (_case, mediaType, data, said, unseen) => {
    const before = inferenceExchanges(claude).length;
    const failure = await anthropicImage(mediaType, data);
    expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((failure as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain(said);
    expect(inferenceExchanges(claude)).toHaveLength(before);
    expect(received(claude)).not.toContain(unseen);
  });

  it('a key in a PNG text chunk of an OpenAI data URL is restricted: refused, the hosted provider never sees it', async () => {
    const before = inferenceExchanges(openai).length;
    const failure = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 }).chat.completions
      .create({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_WITH_KEY}` } }] }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(inferenceExchanges(openai)).toHaveLength(before);
    expect(received(openai)).not.toContain(PNG_WITH_KEY);
  });
});
