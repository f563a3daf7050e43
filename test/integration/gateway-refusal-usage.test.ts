/**
 * An OpenAI-wire engine that refuses (`message.refusal`, `delta.refusal`) and reports no usage:
 * the gateway counts the tokens locally, and a refusal's words count as output as an answer's
 * text of the same words does — in the evidence, in what the client is given as usage, and in the
 * gateway's token metrics — instead of an answer of ~0 output tokens.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { parseServerSentEvents } from '../../src/wire/sse.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { scrapeMetrics, startTestGateway, TEST_TOKEN, type TestGateway, type TestProvider } from '../unit/gateway/harness.js';

const GPT_MODEL = 'gpt-4o-2024-08-06';
const REFUSAL = "I'm sorry, I cannot assist with that request.";
const fixture = (name: string): string => readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'wire', 'openai', name), 'utf8');

type Json = Record<string, unknown>;

/** The refusal fixture's body without its `usage` (an engine that reports none); `asText`: the same words as the answer's text instead. */
function refusalBody(asText: boolean): string {
  const body = JSON.parse(fixture('refusal.json')) as Json & { choices: { message: Json }[] };
  delete body['usage'];
  if (asText) body.choices[0]!.message = { ...body.choices[0]!.message, content: REFUSAL, refusal: null };
  return JSON.stringify(body);
}

/** The refusal fixture's stream without its usage chunk (nor `usage: null` on the others); `asText`: the same deltas as `content`. */
function refusalStream(asText: boolean): string {
  return parseServerSentEvents(fixture('refusal.chunks.txt'))
    .flatMap((event) => {
      if (event.data === '[DONE]') return [event.data];
      const chunk = JSON.parse(event.data) as Json & { choices: { delta: Json }[] };
      if (chunk.choices.length === 0) return [];
      delete chunk['usage'];
      const delta = chunk.choices[0]!.delta;
      if (asText && typeof delta['refusal'] === 'string') {
        chunk.choices[0]!.delta = { ...delta, content: delta['refusal'], refusal: null };
        if (delta['role'] === 'assistant') chunk.choices[0]!.delta = { role: 'assistant', content: '' };
      }
      return [JSON.stringify(chunk)];
    })
    .map((data) => `data: ${data}\n\n`)
    .join('');
}

let refuses: FakeEngine;
let answers: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [refuses, answers] = await Promise.all([
    startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }], replay: { body: refusalBody(false), stream: refusalStream(false) } }),
    startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }], replay: { body: refusalBody(true), stream: refusalStream(true) } }),
  ]);
  const provider = (id: string, engine: FakeEngine): TestProvider => ({
    id,
    class: 'approved_hosted',
    wire: 'openai',
    vendor: 'openai',
    baseUrl: engine.baseUrl,
    auth: true,
    models: [{ id: GPT_MODEL, price: { inputPerMTok: 2.5, outputPerMTok: 10 } }],
  });
  gateway = await startTestGateway({ providers: [provider('refuses', refuses), provider('answers', answers)] });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([refuses?.close(), answers?.close()]);
});

const messages = [{ role: 'user' as const, content: 'Fill in the form.' }];

/** One call through the official client: what it was given (the refusal, the text, the usage) and the evidence of it. */
async function ask(provider: 'refuses' | 'answers', stream: boolean) {
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
  const model = `${provider}:${GPT_MODEL}`;
  let given: { refusal: string; content: string; completionTokens: number | undefined };
  let evidenceId: string | null;
  if (stream) {
    const { data, response } = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } }).withResponse();
    given = { refusal: '', content: '', completionTokens: undefined };
    for await (const chunk of data) {
      given.refusal += chunk.choices[0]?.delta.refusal ?? '';
      given.content += chunk.choices[0]?.delta.content ?? '';
      given.completionTokens = chunk.usage?.completion_tokens ?? given.completionTokens;
    }
    evidenceId = response.headers.get('x-syndicate-evidence');
  } else {
    const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
    given = { refusal: data.choices[0]?.message.refusal ?? '', content: data.choices[0]?.message.content ?? '', completionTokens: data.usage?.completion_tokens };
    evidenceId = response.headers.get('x-syndicate-evidence');
  }
  await gateway.settled();
  return { given, evidence: getEvidence(gateway.store, evidenceId ?? '') };
}

/** The gateway's output token counter of one provider. */
async function outputTokensCounted(provider: string): Promise<number> {
  const samples = await scrapeMetrics(gateway);
  return [...samples.entries()]
    .filter(([name]) => name.startsWith('syndicate_gateway_tokens_total{') && name.includes(`provider="${provider}"`) && name.includes('direction="output"'))
    .reduce((sum, [, value]) => sum + value, 0);
}

describe('a refusal without usage is counted as output', () => {
  it.each([[false], [true]])('stream %s: the evidence and the client count the refusal as many output tokens as the same words answered as text', async (stream) => {
    const before = await outputTokensCounted('refuses');
    const refused = await ask('refuses', stream);
    const answered = await ask('answers', stream);
    expect(refused.given).toMatchObject({ refusal: REFUSAL, content: '' });
    expect(answered.given).toMatchObject({ refusal: '', content: REFUSAL });
    for (const { evidence } of [refused, answered]) expect(evidence).toMatchObject({ state: 'completed', tokenAccounting: 'approximate' });
    const outputTokens = refused.evidence?.outputTokens ?? 0;
    expect(outputTokens).toBeGreaterThan(0);
    expect(outputTokens).toBe(answered.evidence?.outputTokens);
    expect(refused.evidence?.inputTokens).toBe(answered.evidence?.inputTokens);
    // The usage the client is given (the local count standing in for the engine's) and the gateway's metrics say the same.
    expect(refused.given.completionTokens).toBe(outputTokens);
    expect((await outputTokensCounted('refuses')) - before).toBe(outputTokens);
  }, 90_000);
});
