/**
 * An image a tool returns (Claude Code reading a screenshot or an image file, a Responses API
 * `function_call_output` holding an `input_image`) reaches a vision model behind an OpenAI-wire
 * engine: the wire takes text only in a tool message, so the image goes in the user turn after the
 * tool results, naming the call it came from — not dropped while the router asked for a vision model.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const MODEL = 'llama3.2:latest';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const DATA_URL = `data:image/png;base64,${PNG}`;

let ollama: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  ollama = await startFakeEngine({ kind: 'ollama' });
  gateway = await startTestGateway({
    providers: [{ id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: MODEL, tags: ['tools', 'vision'] }] }],
  });
});

afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
});

interface SentMessage {
  role: string;
  content: unknown;
  tool_call_id?: string;
}

/** The messages of the last chat request the engine received. */
function lastSentMessages(): SentMessage[] {
  const exchange = ollama.exchanges.filter((candidate) => candidate.path.endsWith('/chat/completions')).at(-1);
  if (exchange === undefined) throw new Error('the engine received no chat request');
  return (JSON.parse(exchange.requestBody.toString()) as { messages: SentMessage[] }).messages;
}

describe('images in tool results, to an openai-wire vision model', () => {
  it('Anthropic client: a tool_result image goes in the user turn after the tool results, with the text the client sent after them', async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const tool = { name: 'screenshot', description: 'Screenshot of the screen', input_schema: { type: 'object' as const, properties: {} } };
    const message = await client.messages.create({
      model: `ollama:${MODEL}`,
      max_tokens: 100,
      tools: [tool],
      messages: [
        { role: 'user', content: 'What is on my screen?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_shot', name: 'screenshot', input: {} }, { type: 'tool_use', id: 'toolu_other', name: 'screenshot', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_shot', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
            { type: 'tool_result', tool_use_id: 'toolu_other', content: 'no second screen' },
            { type: 'text', text: 'Describe it.' },
          ],
        },
      ],
    });
    expect(message.type).toBe('message');

    const sent = lastSentMessages();
    expect(sent.slice(2).map((entry) => entry.role)).toEqual(['tool', 'tool', 'user']);
    expect(sent[2]).toMatchObject({ role: 'tool', tool_call_id: 'toolu_shot', content: '(an image, sent in the next user message)' });
    expect(sent[3]).toMatchObject({ role: 'tool', tool_call_id: 'toolu_other', content: 'no second screen' });
    expect(sent[4]?.content).toEqual([
      { type: 'text', text: 'The image of the result of tool call toolu_shot:' },
      { type: 'image_url', image_url: { url: DATA_URL } },
      { type: 'text', text: 'Describe it.' },
    ]);

    await gateway.settled();
    const summary = listEvidence(gateway.store, { limit: 1 })[0];
    const evidence = getEvidence(gateway.store, summary?.id ?? '');
    expect(JSON.stringify(evidence?.warnings)).toContain('sent in the user turn after the tool results');
  });

  it('Responses API: a function_call_output image ends the input as a user turn of its own', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const response = await client.responses.create({
      model: `ollama:${MODEL}`,
      tools: [{ type: 'function', name: 'view_image', parameters: { type: 'object', properties: { path: { type: 'string' } } }, strict: false }],
      input: [
        { role: 'user', content: 'Look at chart.png' },
        { type: 'function_call', call_id: 'call_view', name: 'view_image', arguments: '{"path":"chart.png"}' },
        { type: 'function_call_output', call_id: 'call_view', output: [{ type: 'input_text', text: 'chart.png, 1x1' }, { type: 'input_image', image_url: DATA_URL, detail: 'auto' }] },
      ],
    });
    expect(response.status).toBe('completed');

    const sent = lastSentMessages();
    expect(sent.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'call_view', content: 'chart.png, 1x1' },
      { role: 'user', content: [{ type: 'text', text: 'The image of the result of tool call call_view:' }, { type: 'image_url', image_url: { url: DATA_URL, detail: 'auto' } }] },
    ]);
  });
});
