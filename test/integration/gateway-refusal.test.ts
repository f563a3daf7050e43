/**
 * A hosted OpenAI model's refusal (structured outputs: `message.refusal`, `content: null`;
 * streamed as `delta.refusal`) through a real gateway over the real pipeline: the official
 * `openai` client gets the refusal back, whole and streamed, instead of an empty answer; the
 * official `@anthropic-ai/sdk` client gets it as the answer's text with `stop_reason: "refusal"`;
 * the evidence holds the upstream's bytes as received, the refusal in them.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const GPT_MODEL = 'gpt-4o-2024-08-06';
const REFUSAL = "I'm sorry, I cannot assist with that request.";
const fixture = (name: string): string => readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'wire', 'openai', name), 'utf8');

/** What a client asks for: an answer in a strict JSON schema, which OpenAI refuses with `refusal`. */
const request = {
  model: `openai:${GPT_MODEL}`,
  messages: [{ role: 'user' as const, content: 'Fill in the form.' }],
  response_format: {
    type: 'json_schema' as const,
    json_schema: { name: 'form', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } },
  },
};

let openai: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  openai = await startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }], replay: { body: fixture('refusal.json'), stream: fixture('refusal.chunks.txt') } });
  gateway = await startTestGateway({
    providers: [{ id: 'openai', class: 'approved_hosted', wire: 'openai', vendor: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: GPT_MODEL, price: { inputPerMTok: 2.5, outputPerMTok: 10 } }] }],
  });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await openai?.close();
});

/** The upstream response bytes the evidence of the answer holds, once the gateway settled: exactly what the fake sent. */
async function evidenceResponseBody(evidenceId: string | null): Promise<string | undefined> {
  await gateway.settled();
  const body = getEvidence(gateway.store, evidenceId ?? '')?.response.body;
  expect(body?.equals(openai.exchanges.at(-1)!.responseBody)).toBe(true);
  return body?.toString('utf8');
}

describe('an OpenAI refusal through the gateway', () => {
  it('the openai client gets message.refusal (content null, finish stop); the evidence holds the upstream body as received', async () => {
    const { data, response } = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 }).chat.completions.create(request).withResponse();
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: null, refusal: REFUSAL });
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(await evidenceResponseBody(response.headers.get('x-syndicate-evidence'))).toBe(fixture('refusal.json'));
  }, 90_000);

  it('streamed: the openai client gets the refusal in delta.refusal; the evidence holds the upstream stream as received', async () => {
    const { data: stream, response } = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 })
      .chat.completions.create({ ...request, stream: true })
      .withResponse();
    let refusal = '';
    let content = '';
    let finishReason: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      refusal += choice.delta.refusal ?? '';
      content += choice.delta.content ?? '';
      finishReason = choice.finish_reason ?? finishReason;
    }
    expect(refusal).toBe(REFUSAL);
    expect(content).toBe('');
    expect(finishReason).toBe('stop');
    expect(await evidenceResponseBody(response.headers.get('x-syndicate-evidence'))).toBe(fixture('refusal.chunks.txt'));
  }, 90_000);

  it('the anthropic client gets the refusal as text with stop_reason refusal, whole and streamed', async () => {
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const asked = { model: `openai:${GPT_MODEL}`, max_tokens: 256, messages: [{ role: 'user' as const, content: 'Fill in the form.' }] };
    const message = await anthropic.messages.create(asked);
    expect(message.content).toEqual([{ type: 'text', text: REFUSAL }]);
    expect(message.stop_reason).toBe('refusal');
    const streamed = await anthropic.messages.stream(asked).finalMessage();
    expect(streamed.content.map((block) => (block.type === 'text' ? block.text : block.type))).toEqual([REFUSAL]);
    expect(streamed.stop_reason).toBe('refusal');
  }, 90_000);
});
