/**
 * An Anthropic model's refusal (`stop_reason: "refusal"`: Claude's streaming classifiers stopped
 * the answer; the content is what the model wrote before, and no refusal message comes with it)
 * through a real gateway over the real pipeline, to every client the gateway speaks to:
 *
 * - the `openai` client (Chat Completions) gets the text in `content` with `finish_reason:
 *   "content_filter"` — not `message.refusal`, which OpenAI gives the model's own statement of a
 *   refusal: this text is a cut answer, and `content_filter` ("content was omitted due to a flag
 *   from our content filters") is what the API says of one. Its `chat.completions.parse` helper
 *   then throws `ContentFilterFinishReasonError` instead of parsing the cut text as the answer;
 * - the `openai` client's Responses API gets the text with `status: "incomplete"` and
 *   `incomplete_details.reason: "content_filter"`;
 * - the `@anthropic-ai/sdk` client gets the message as Anthropic sent it: `stop_reason: "refusal"`;
 * - the `ollama` client gets the text (Ollama's `done_reason` has no value for it: `stop`).
 * Whole and streamed; the evidence holds the upstream's bytes, `stop_details` included.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { ContentFilterFinishReasonError } from 'openai/core/error';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const CLAUDE_MODEL = 'claude-sonnet-4-5-20250929';
const MODEL = `claude:${CLAUDE_MODEL}`;
/** What the fixture's model wrote before its classifiers stopped it. */
const CUT_TEXT = 'Here is how the first stage of the';
const PROMPT = 'Walk me through the exploit.';
const fixture = (name: string): string => readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'wire', 'anthropic', name), 'utf8');

let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  claude = await startFakeEngine({ kind: 'anthropic', models: [{ id: CLAUDE_MODEL }], replay: { body: fixture('refusal.json'), stream: fixture('refusal.chunks.txt') } });
  gateway = await startTestGateway({
    providers: [{ id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, price: { inputPerMTok: 3, outputPerMTok: 15 } }] }],
  });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await claude?.close();
});

const openai = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: PROMPT }];

describe('an Anthropic refusal (stop_reason refusal) through the gateway', () => {
  it('chat.completions.create: the text in content, refusal null, finish_reason content_filter; the evidence holds the upstream body', async () => {
    const { data, response } = await openai().chat.completions.create({ model: MODEL, messages }).withResponse();
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: CUT_TEXT, refusal: null });
    expect(data.choices[0]?.finish_reason).toBe('content_filter');
    await gateway.settled();
    expect(getEvidence(gateway.store, response.headers.get('x-syndicate-evidence') ?? '')?.response.body?.toString('utf8')).toBe(fixture('refusal.json'));
  }, 90_000);

  it('streamed: content deltas, no refusal delta, the last finish content_filter', async () => {
    const stream = await openai().chat.completions.create({ model: MODEL, messages, stream: true });
    let content = '';
    let refusal = '';
    const finishReasons: string[] = [];
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      refusal += chunk.choices[0]?.delta.refusal ?? '';
      if (chunk.choices[0]?.finish_reason) finishReasons.push(chunk.choices[0].finish_reason);
    }
    expect(content).toBe(CUT_TEXT);
    expect(refusal).toBe('');
    expect(finishReasons).toEqual(['content_filter']);
  }, 90_000);

  it('chat.completions.parse with a JSON schema: the client throws ContentFilterFinishReasonError rather than parsing the cut text', async () => {
    const asked = openai().chat.completions.parse({
      model: MODEL,
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'steps', strict: true, schema: { type: 'object', properties: { steps: { type: 'array', items: { type: 'string' } } }, required: ['steps'], additionalProperties: false } } },
    });
    await expect(asked).rejects.toBeInstanceOf(ContentFilterFinishReasonError);
  }, 90_000);

  it('responses.create and responses.stream: the text, status incomplete, incomplete_details content_filter', async () => {
    const whole = await openai().responses.create({ model: MODEL, input: PROMPT });
    expect(whole).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
    expect(whole.output_text).toBe(CUT_TEXT);
    const stream = openai().responses.stream({ model: MODEL, input: PROMPT });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.incomplete');
    expect(types).not.toContain('response.refusal.delta');
    const final = await stream.finalResponse();
    expect(final).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
    expect(final.output_text).toBe(CUT_TEXT);
  }, 90_000);

  it('the anthropic client gets stop_reason refusal and the text, whole and streamed', async () => {
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const asked = { model: MODEL, max_tokens: 256, messages };
    const message = await anthropic.messages.create(asked);
    expect(message.content).toEqual([{ type: 'text', text: CUT_TEXT }]);
    expect(message.stop_reason).toBe('refusal');
    const streamed = await anthropic.messages.stream(asked).finalMessage();
    expect(streamed.content.map((block) => (block.type === 'text' ? block.text : block.type))).toEqual([CUT_TEXT]);
    expect(streamed.stop_reason).toBe('refusal');
  }, 90_000);

  it('the ollama client gets the text (done_reason stop: Ollama has no other), whole and streamed, chat and generate', async () => {
    const ollama = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    expect(await ollama.chat({ model: MODEL, messages, stream: false })).toMatchObject({ message: { content: CUT_TEXT }, done_reason: 'stop' });
    let streamed = '';
    for await (const chunk of await ollama.chat({ model: MODEL, messages, stream: true })) streamed += chunk.message.content;
    expect(streamed).toBe(CUT_TEXT);
    expect((await ollama.generate({ model: MODEL, prompt: PROMPT, stream: false })).response).toBe(CUT_TEXT);
  }, 90_000);
});
