/**
 * A hosted OpenAI model's refusal (structured outputs: `message.refusal`, `content: null`;
 * streamed as `delta.refusal`) through a real gateway over the real pipeline: the official
 * `openai` client gets the refusal back, whole and streamed, instead of an empty answer; the
 * official `@anthropic-ai/sdk` client gets it as the answer's text with `stop_reason: "refusal"`;
 * the `openai` client's Responses API calls get OpenAI's `refusal` content part and its
 * `response.refusal.*` events; the `ollama` client gets it as the answer's text; the evidence holds
 * the upstream's bytes as received, the refusal in them.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
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

  it('the openai client\'s responses.create gets OpenAI\'s refusal content part; the evidence holds the upstream body as received', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const { data, response } = await client.responses.create({ model: `openai:${GPT_MODEL}`, input: 'Fill in the form.' }).withResponse();
    expect(data.status).toBe('completed');
    expect(data.output).toEqual([{ type: 'message', id: expect.stringMatching(/^msg_/), status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: REFUSAL }] }]);
    expect(data.output_text).toBe('');
    expect(await evidenceResponseBody(response.headers.get('x-syndicate-evidence'))).toBe(fixture('refusal.json'));
  }, 90_000);

  it('streamed: responses.stream gets response.refusal.delta and .done, the refusal part added and done, and the refusal in the final response', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const stream = client.responses.stream({ model: `openai:${GPT_MODEL}`, input: 'Fill in the form.' });
    const deltas: string[] = [];
    const events: string[] = [];
    let done: string | undefined;
    for await (const event of stream) {
      events.push(event.type);
      if (event.type === 'response.refusal.delta') deltas.push(event.delta);
      if (event.type === 'response.refusal.done') done = event.refusal;
      if (event.type === 'response.content_part.added' || event.type === 'response.content_part.done') expect(event.part.type).toBe('refusal');
      expect(event.type).not.toBe('response.output_text.delta');
    }
    expect(deltas.join('')).toBe(REFUSAL);
    expect(done).toBe(REFUSAL);
    expect(events).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...deltas.map(() => 'response.refusal.delta'),
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    // (The client's finalResponse adds `parsed: null` to each content part.)
    const final = await stream.finalResponse();
    expect(final.output).toMatchObject([{ type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: REFUSAL }] }]);
    expect(final.output[0]?.type === 'message' ? final.output[0].content : []).toHaveLength(1);
  }, 90_000);

  it('the ollama client gets the refusal as message.content (Ollama has no refusal field), whole and streamed, chat and generate', async () => {
    const ollama = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    const model = `openai:${GPT_MODEL}`;
    const messages = [{ role: 'user', content: 'Fill in the form.' }];
    expect((await ollama.chat({ model, messages, stream: false })).message.content).toBe(REFUSAL);
    let streamed = '';
    for await (const chunk of await ollama.chat({ model, messages, stream: true })) streamed += chunk.message.content;
    expect(streamed).toBe(REFUSAL);
    expect((await ollama.generate({ model, prompt: 'Fill in the form.', stream: false })).response).toBe(REFUSAL);
    let generated = '';
    for await (const chunk of await ollama.generate({ model, prompt: 'Fill in the form.', stream: true })) generated += chunk.response;
    expect(generated).toBe(REFUSAL);
  }, 90_000);
});
