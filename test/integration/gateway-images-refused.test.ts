import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

/** A 1×1 PNG. */
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/**
 * A llama-server started without `--mmproj` whose record tags its model `vision` (the fake answers
 * an image part with the captured 500 "image input is not supported"): each image request is
 * refused as the request's (400 `images_not_supported`, naming --mmproj and the tag), and the
 * refusals never hold the engine back from the requests it answers.
 */
describe('images refused by a llama-server without --mmproj', () => {
  let llama: FakeEngine;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    llama = await startFakeEngine({ kind: 'llama.cpp', models: [{ id: 'tiny', contextWindow: 8192 }], mmproj: false });
    gateway = await startTestGateway({
      providers: [{ id: 'llama', class: 'local', wire: 'openai', baseUrl: llama.baseUrl, engine: 'llama.cpp', models: [{ id: 'tiny', tags: ['vision'], capabilityClass: 'small' }] }],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await llama?.close();
  });

  it('answers each image request 400 images_not_supported with the fix, and text requests still go through', async () => {
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const error = await client.chat.completions
        .create({ model: 'llama:tiny', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PNG } }] }], max_tokens: 5 })
        .then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(APIError);
      expect((error as APIError).status).toBe(400);
      expect((error as APIError).code).toBe('images_not_supported');
      expect((error as APIError).message).toContain('llama takes no images for tiny: start llama-server with `--mmproj FILE`');
    }
    const answer = await client.chat.completions.create({ model: 'llama:tiny', messages: [{ role: 'user', content: 'Name a colour.' }], max_tokens: 5 });
    expect(answer.choices[0]?.message.content).toEqual(expect.any(String));
    await gateway.settled();
  });
});
